#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/test_zone.h"
#include "xfr/IxfrSource.h"
#include "xfr/TransferPlan.h"
#include "zone/Changeset.h"
#include "zone/Journal.h"
#include "zone/dns/WireReader.h"

using namespace headwater;
using dns::RRType;
using dns::Serial;
using headwater::testing::name;
using Kind = xfr::TransferPlan::Kind;

namespace {

std::string read_text(const std::string& file) {
    std::ifstream f(std::string(HEADWATER_TEST_DATA) + "/ixfr/" + file);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_FALSE(ss.str().empty()) << file;
    return ss.str();
}

zone::ZoneVersionPtr jain(int generation) {
    return headwater::testing::build_zone(read_text("jain.ad.jp.zone.v" + std::to_string(generation)),
                                          "jain.ad.jp.");
}

std::vector<std::vector<uint8_t>> drain(xfr::IxfrSource& src, std::size_t reserve = 0) {
    std::vector<std::vector<uint8_t>> out;
    for (int guard = 0; guard < 10000; ++guard) {
        std::vector<uint8_t> m;
        const auto step = src.next(m, reserve);
        out.push_back(std::move(m));
        if (step == xfr::Step::Done) return out;
    }
    ADD_FAILURE() << "transfer never finished";
    return out;
}

// The SERIAL of an SOA record in a parsed message (its RDATA names may be compressed).
uint32_t soa_serial(const dns::Message& m, const dns::RecordRef& r) {
    dns::WireReader rd(m.wire(), static_cast<std::size_t>(r.rdata.data() - m.wire().data()));
    rd.skip_name();
    rd.skip_name();
    const uint32_t s = rd.u32();
    EXPECT_TRUE(rd.ok());
    return s;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "owner TYPE value" for the records of the RFC example: SOA shows its serial, A its address.
std::vector<std::string> answer_lines(const std::vector<std::vector<uint8_t>>& messages) {
    std::vector<std::string> out;
    for (const auto& w : messages) {
        auto m = dns::Message::parse(w);
        EXPECT_TRUE(m);
        if (!m) continue;
        for (const auto& r : m->records()) {
            if (r.section != dns::Section::Answer) continue;
            std::string line = lower(r.owner.to_string()) + " " + dns::to_string(r.type) + " ";
            if (r.type == RRType::SOA) {
                line += "serial=" + std::to_string(soa_serial(*m, r));
            } else if (r.type == RRType::A && r.rdata.size() == 4) {
                line += std::to_string(r.rdata[0]) + "." + std::to_string(r.rdata[1]) + "." +
                        std::to_string(r.rdata[2]) + "." + std::to_string(r.rdata[3]);
            }
            out.push_back(line);
        }
    }
    return out;
}

// An independent RFC 1995 client: the zone as a set of "owner ttl type rdata" (SOA aside), changed by
// applying an IXFR answer (deletions then additions per step). Only for types without compressed RDATA
// in the changes (A, AAAA, TXT here).
using RecordSet = std::set<std::string>;

std::string key(const std::string& owner, uint32_t ttl, RRType type, std::span<const uint8_t> rdata) {
    std::string k = lower(owner) + " " + std::to_string(ttl) + " " + dns::to_string(type) + " ";
    for (uint8_t b : rdata) k += std::to_string(b) + ",";
    return k;
}

RecordSet record_set(const zone::ZoneVersion& v) {
    RecordSet s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type != RRType::SOA) s.insert(key(r.owner.to_string(), r.ttl, r.type, r.rdata));
    }
    return s;
}

// Returns the serial reached, or 0 on a framing or consistency error.
uint32_t apply_ixfr(RecordSet& zone, const std::vector<std::vector<uint8_t>>& messages) {
    struct Rec {
        bool soa;
        uint32_t serial;
        std::string key;
    };
    std::vector<Rec> recs;
    for (const auto& w : messages) {
        auto m = dns::Message::parse(w);
        if (!m) return 0;
        for (const auto& r : m->records()) {
            if (r.section != dns::Section::Answer) continue;
            if (r.type == RRType::SOA)
                recs.push_back({true, soa_serial(*m, r), {}});
            else
                recs.push_back({false, 0, key(r.owner.to_string(), r.ttl, r.type, r.rdata)});
        }
    }
    if (recs.empty() || !recs[0].soa) return 0;
    const uint32_t final_serial = recs[0].serial;
    if (recs.size() == 1) return final_serial;
    std::size_t i = 1;
    while (true) {
        if (i >= recs.size() || !recs[i].soa) return 0;
        if (recs[i].serial == final_serial && i + 1 == recs.size()) return final_serial;
        for (++i; i < recs.size() && !recs[i].soa; ++i)
            if (zone.erase(recs[i].key) != 1) return 0;
        if (i >= recs.size()) return 0;
        for (++i; i < recs.size() && !recs[i].soa; ++i)
            if (!zone.insert(recs[i].key).second) return 0;
    }
}

dns::Question ixfr_question(std::string_view qname) {
    return dns::Question{name(qname), RRType::IXFR, 1};
}

}  // namespace

// RFC 1995 §7: the incremental answer for a client at serial 1 when the server is at 3.
TEST(IxfrSource, Rfc1995Example) {
    auto v1 = jain(1), v2 = jain(2), v3 = jain(3);
    std::vector<zone::Changeset> chain{zone::diff(*v1, *v2), zone::diff(*v2, *v3)};
    xfr::IxfrSource src(v3, chain, ixfr_question("JAIN.AD.JP."), 4321);
    auto messages = drain(src);
    ASSERT_EQ(messages.size(), 1u);
    auto m = dns::Message::parse(messages[0]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().id, 4321);
    EXPECT_TRUE(m->header().qr());
    EXPECT_TRUE(m->header().flags & dns::flag::AA);
    ASSERT_TRUE(m->question());
    EXPECT_EQ(m->question()->qname.to_string(), "JAIN.AD.JP.");
    EXPECT_EQ(m->question()->qtype, RRType::IXFR);
    const std::vector<std::string> expected = {
        "jain.ad.jp. SOA serial=3",           "jain.ad.jp. SOA serial=1",
        "nezu.jain.ad.jp. A 133.69.136.5",    "jain.ad.jp. SOA serial=2",
        "jain-bb.jain.ad.jp. A 133.69.136.4", "jain-bb.jain.ad.jp. A 192.41.197.2",
        "jain.ad.jp. SOA serial=2",           "jain-bb.jain.ad.jp. A 133.69.136.4",
        "jain.ad.jp. SOA serial=3",           "jain-bb.jain.ad.jp. A 133.69.136.3",
        "jain.ad.jp. SOA serial=3",
    };
    EXPECT_EQ(answer_lines(messages), expected);
    EXPECT_EQ(src.records(), expected.size());

    RecordSet client = record_set(*v1);
    EXPECT_EQ(apply_ixfr(client, messages), 3u);
    EXPECT_EQ(client, record_set(*v3));
}

// RFC 1995 §7: the condensed form of the same answer.
TEST(IxfrSource, Rfc1995CondensedExample) {
    auto v1 = jain(1), v2 = jain(2), v3 = jain(3);
    std::vector<zone::Changeset> chain{zone::diff(*v1, *v2), zone::diff(*v2, *v3)};
    auto condensed = zone::condense(chain);
    ASSERT_TRUE(condensed) << condensed.error();
    xfr::IxfrSource src(v3, {*condensed}, ixfr_question("jain.ad.jp."), 1);
    auto messages = drain(src);
    const std::vector<std::string> expected = {
        "jain.ad.jp. SOA serial=3",           "jain.ad.jp. SOA serial=1",
        "nezu.jain.ad.jp. A 133.69.136.5",    "jain.ad.jp. SOA serial=3",
        "jain-bb.jain.ad.jp. A 133.69.136.3", "jain-bb.jain.ad.jp. A 192.41.197.2",
        "jain.ad.jp. SOA serial=3",
    };
    EXPECT_EQ(answer_lines(messages), expected);
    // It applies cleanly: to the version and by an independent client.
    auto applied = zone::apply(*v1, *condensed);
    ASSERT_TRUE(applied) << applied.error();
    EXPECT_TRUE((*applied)->same_content(*v3));
    RecordSet client = record_set(*v1);
    EXPECT_EQ(apply_ixfr(client, messages), 3u);
    EXPECT_EQ(client, record_set(*v3));
}

TEST(IxfrSource, EmptyChainIsTheSoaAlone) {
    auto v3 = jain(3);
    xfr::IxfrSource src(v3, {}, ixfr_question("jain.ad.jp."), 9);
    auto messages = drain(src);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(answer_lines(messages), (std::vector<std::string>{"jain.ad.jp. SOA serial=3"}));
}

TEST(IxfrSource, LargeChangesSpanMessagesWithinLimits) {
    std::string base =
        "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    std::string big = base;
    big.replace(big.find(" 1 3600"), 7, " 2 3600");
    for (int i = 0; i < 3000; ++i)
        big += "host" + std::to_string(i) + " IN TXT \"" + std::string(100, static_cast<char>('a' + i % 26)) +
               "\"\n";
    std::string back = base;
    back.replace(back.find(" 1 3600"), 7, " 3 3600");
    auto v1 = headwater::testing::build_zone(base, "example.com.");
    auto v2 = headwater::testing::build_zone(big, "example.com.");
    auto v3 = headwater::testing::build_zone(back, "example.com.");
    std::vector<zone::Changeset> chain{zone::diff(*v1, *v2), zone::diff(*v2, *v3)};
    const std::size_t expected_records = 2 + chain[0].record_count() + chain[1].record_count();
    xfr::IxfrSource src(v3, chain, ixfr_question("example.com."), 5);
    auto messages = drain(src, 100);
    ASSERT_GT(messages.size(), 8u);
    std::size_t total = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        EXPECT_LE(messages[i].size() + 100, dns::kMaxTcpMessage);
        auto m = dns::Message::parse(messages[i]);
        ASSERT_TRUE(m) << "message " << i;
        EXPECT_EQ(m->header().id, 5);
        EXPECT_EQ(m->question().has_value(), i == 0);
        EXPECT_GT(m->records().size(), 0u);
        total += m->records().size();
    }
    EXPECT_EQ(total, expected_records);
    EXPECT_EQ(src.records(), expected_records);
    EXPECT_EQ(src.skipped(), 0u);
    RecordSet client = record_set(*v1);
    EXPECT_EQ(apply_ixfr(client, messages), 3u);
    EXPECT_EQ(client, record_set(*v3));
}

TEST(IxfrSource, UdpAnswerIsOneMessageOrNothing) {
    auto v1 = jain(1), v2 = jain(2), v3 = jain(3);
    std::vector<zone::Changeset> chain{zone::diff(*v1, *v2), zone::diff(*v2, *v3)};
    xfr::IxfrOptions udp;
    udp.max_message = 512;
    udp.edns_payload = 1232;
    auto one = xfr::IxfrSource::single_message(v3, chain, ixfr_question("jain.ad.jp."), 77, udp);
    ASSERT_TRUE(one);
    auto m = dns::Message::parse(*one);
    ASSERT_TRUE(m);
    EXPECT_LE(one->size(), 512u);
    EXPECT_TRUE(m->edns().has_value());
    EXPECT_EQ(answer_lines({*one}).size(), 11u);
    // Too small a buffer for the whole answer: nothing (the caller sends the SOA alone).
    udp.max_message = 150;
    EXPECT_FALSE(xfr::IxfrSource::single_message(v3, chain, ixfr_question("jain.ad.jp."), 77, udp));
    udp.max_message = 40;  // not even one record
    EXPECT_FALSE(xfr::IxfrSource::single_message(v3, chain, ixfr_question("jain.ad.jp."), 77, udp));
}

// ---------------------------------------------------------------------------------------------------------
// The plan, RFC 1995 §2-§4, one test per branch.

namespace {
xfr::IxfrRequest request() {
    xfr::IxfrRequest r;
    r.client_serial = Serial(10);
    r.served_serial = Serial(12);
    r.history = zone::ChainInfo{2, 8, 400};
    r.zone_bytes = 10000;
    return r;
}
}  // namespace

TEST(TransferPlan, NoSoaInTheQueryIsFormErr) {
    auto r = request();
    r.client_serial.reset();
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::FormErr);
}

TEST(TransferPlan, UpToDateOrNewerClientGetsTheSoa) {
    auto r = request();
    r.client_serial = Serial(12);
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
    r.client_serial = Serial(13);
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
    // Newer across the wrap (RFC 1982): 5 is newer than a served 0xFFFFFFF0.
    r.served_serial = Serial(0xFFFFFFF0u);
    r.client_serial = Serial(5);
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
    r.udp = true;
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
}

TEST(TransferPlan, SerialNotInHistoryIsAxfrNeverAnError) {
    auto r = request();
    r.history.reset();
    auto p = xfr::plan_ixfr(r);
    EXPECT_EQ(p.kind, Kind::Axfr);
    EXPECT_NE(std::string(p.reason).find("not in history"), std::string::npos);
    // Older across the wrap is still "older": AXFR when unknown.
    r.served_serial = Serial(5);
    r.client_serial = Serial(0xFFFFFFF0u);
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Axfr);
    // Over UDP the zone cannot be sent: the SOA tells the client to use TCP.
    r.udp = true;
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
}

TEST(TransferPlan, UndefinedSerialDistanceIsAxfr) {
    auto r = request();
    r.served_serial = Serial(10 + 0x80000000u);
    r.history.reset();  // no path can lead there in one history
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Axfr);
}

TEST(TransferPlan, LargeHistoryAboveTheRatioIsAxfr) {
    auto r = request();
    r.max_ixfr_ratio = 0.5;
    r.history->bytes = 6000;  // > 0.5 * 10000
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Axfr);
    r.history->bytes = 5000;  // exactly at the ratio: still IXFR
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Ixfr);
    r.history->bytes = 50000;
    r.max_ixfr_ratio.reset();  // unlimited
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Ixfr);
    r.max_ixfr_ratio = 0.5;
    r.udp = true;
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
}

TEST(TransferPlan, TcpIxfr) {
    auto p = xfr::plan_ixfr(request());
    EXPECT_EQ(p.kind, Kind::Ixfr);
    EXPECT_FALSE(p.single_message);
    // The default ratio (1.0, as BIND's 100%): IXFR up to the zone's size.
    auto r = request();
    r.history->bytes = 9999;
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Ixfr);
    r.history->bytes = 10001;
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::Axfr);
}

TEST(TransferPlan, UdpIxfrOnlyIfItCanFit) {
    auto r = request();
    r.udp = true;
    r.udp_limit = 1232;
    auto p = xfr::plan_ixfr(r);
    EXPECT_EQ(p.kind, Kind::Ixfr);
    EXPECT_TRUE(p.single_message);
    // 500 records cannot fit 1232 octets whatever the compression.
    r.history = zone::ChainInfo{3, 500, 4000};
    EXPECT_EQ(xfr::plan_ixfr(r).kind, Kind::SoaOnly);
}

TEST(TransferPlan, ClientSerialComesFromTheAuthoritySoa) {
    auto v1 = jain(1);
    auto make_query = [&](std::string_view owner, bool with_soa) {
        std::vector<uint8_t> q;
        dns::MessageBuilder mb(q, 512);
        mb.header(99, 0);
        mb.question(name("jain.ad.jp."), dns::to_u16(RRType::IXFR), 1);
        if (with_soa) {
            const auto soa = v1->soa();
            // MNAME and RNAME get compressed against the question name.
            (void)mb.push(dns::Section::Authority, name(owner), dns::to_u16(RRType::SOA), 1, soa.ttl,
                          soa.rdata);
        }
        mb.finish();
        return q;
    };
    auto q = make_query("JAIN.AD.JP.", true);
    auto m = dns::Message::parse(q);
    ASSERT_TRUE(m);
    ASSERT_LT(q.size(), 12 + 16 + 12 + v1->soa().rdata.size());  // compression happened
    ASSERT_TRUE(xfr::ixfr_client_serial(*m));
    EXPECT_EQ(xfr::ixfr_client_serial(*m)->value(), 1u);

    auto none = make_query("", false);
    auto mn = dns::Message::parse(none);
    ASSERT_TRUE(mn);
    EXPECT_FALSE(xfr::ixfr_client_serial(*mn));

    auto other = make_query("example.com.", true);
    auto mo = dns::Message::parse(other);
    ASSERT_TRUE(mo);
    EXPECT_FALSE(xfr::ixfr_client_serial(*mo));
}

// ---------------------------------------------------------------------------------------------------------
// Journal -> plan -> chain -> IxfrSource, as the responder will chain them.

namespace {

zone::ZoneVersionPtr generation(uint32_t serial) {
    std::string t = "$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
                    " 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    for (uint32_t i = 0; i < 20; ++i) {
        if ((i + serial) % 3 == 0) continue;
        t += "h" + std::to_string(i) + " " + std::to_string(300 + 60 * ((i * serial) % 2)) +
             " IN A 192.0.2." + std::to_string(i + 10) + "\n";
        if ((i * serial) % 4 == 1)
            t += "h" + std::to_string(i) + " IN TXT \"g" + std::to_string(serial) + "\"\n";
    }
    return headwater::testing::build_zone(t, "example.com.");
}

}  // namespace

TEST(Ixfr, FromEveryEarlierSerialOfTheJournal) {
    const auto dir = std::filesystem::temp_directory_path() / ("hw-ixfr-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto journal = zone::Journal::open(dir / "example.com.journal");
    ASSERT_TRUE(journal) << journal.error();
    std::vector<zone::ZoneVersionPtr> versions;
    for (uint32_t s = 1; s <= 4; ++s) versions.push_back(generation(s));
    for (std::size_t i = 0; i + 1 < versions.size(); ++i)
        ASSERT_TRUE(journal->append(zone::diff(*versions[i], *versions[i + 1]), 0));
    const auto& served = versions.back();

    for (uint32_t client = 1; client <= 4; ++client) {
        xfr::IxfrRequest rq;
        rq.client_serial = Serial(client);
        rq.served_serial = served->serial();
        rq.history = journal->find_chain(Serial(client), served->serial());
        rq.zone_bytes = served->wire_bytes();
        rq.max_ixfr_ratio.reset();
        const auto plan = xfr::plan_ixfr(rq);
        if (client == 4) {
            EXPECT_EQ(plan.kind, Kind::SoaOnly);
            continue;
        }
        ASSERT_EQ(plan.kind, Kind::Ixfr) << plan.reason;
        auto chain = journal->chain(Serial(client), served->serial());
        ASSERT_TRUE(chain) << chain.error();
        xfr::IxfrSource src(served, std::move(chain).value(), ixfr_question("example.com."), 1);
        auto messages = drain(src);
        RecordSet zone = record_set(*versions[client - 1]);
        EXPECT_EQ(apply_ixfr(zone, messages), 4u) << "from " << client;
        EXPECT_EQ(zone, record_set(*served)) << "from " << client;
    }
    // An older serial the history does not know (before 1, across the wrap): AXFR.
    xfr::IxfrRequest rq;
    rq.client_serial = Serial(0xFFFFFF00u);
    rq.served_serial = served->serial();
    rq.history = journal->find_chain(*rq.client_serial, served->serial());
    EXPECT_EQ(xfr::plan_ixfr(rq).kind, Kind::Axfr);
    std::filesystem::remove_all(dir);
}
