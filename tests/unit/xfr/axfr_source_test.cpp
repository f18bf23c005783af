#include "xfr/AxfrSource.h"

#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "zone/dns/WireReader.h"

using namespace headwater;
using dns::RRType;
using headwater::testing::name;

namespace {

std::string zone_text(int records) {
    std::string t =
        "$TTL 300\n@ IN SOA ns1 hostmaster 42 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    for (int i = 0; i < records; ++i)
        t += "host" + std::to_string(i) + " IN TXT \"" + std::string(100, static_cast<char>('a' + i % 26)) +
             "\"\n";
    return t;
}

struct Drained {
    std::vector<std::vector<uint8_t>> messages;
};

Drained drain(xfr::AxfrSource& src, std::size_t reserve = 0) {
    Drained d;
    for (int guard = 0; guard < 10000; ++guard) {
        std::vector<uint8_t> out;
        const auto step = src.next(out, reserve);
        d.messages.push_back(std::move(out));
        if (step == xfr::Step::Done) return d;
    }
    ADD_FAILURE() << "transfer never finished";
    return d;
}

}  // namespace

TEST(AxfrSource, SmallZoneIsOneMessageFramedBySoa) {
    auto v = headwater::testing::build_zone(zone_text(3), "example.com.");
    xfr::AxfrSource src(v, dns::Question{name("Example.COM."), RRType::AXFR, 1}, 77);
    auto d = drain(src);
    ASSERT_EQ(d.messages.size(), 1u);
    auto m = dns::Message::parse(d.messages[0]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().id, 77);
    EXPECT_TRUE(m->header().flags & dns::flag::AA);
    ASSERT_TRUE(m->question());
    EXPECT_EQ(m->question()->qname.to_string(), "Example.COM.");
    const auto& recs = m->records();
    ASSERT_EQ(recs.size(), v->size() + 1);  // every record once, the SOA twice
    EXPECT_EQ(recs.front().type, RRType::SOA);
    EXPECT_EQ(recs.back().type, RRType::SOA);
    for (std::size_t i = 1; i + 1 < recs.size(); ++i) EXPECT_NE(recs[i].type, RRType::SOA);
    EXPECT_EQ(src.records(), recs.size());
}

TEST(AxfrSource, LargeZoneSpansMessagesWithinLimits) {
    const int n = 3000;  // ~350 KB of TXT
    auto v = headwater::testing::build_zone(zone_text(n), "example.com.");
    xfr::AxfrSource src(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    auto d = drain(src, 100);
    ASSERT_GT(d.messages.size(), 4u);
    std::size_t total = 0;
    for (std::size_t i = 0; i < d.messages.size(); ++i) {
        const auto& w = d.messages[i];
        EXPECT_LE(w.size() + 100, dns::kMaxTcpMessage);  // the reserve is respected
        auto m = dns::Message::parse(w);
        ASSERT_TRUE(m) << "message " << i;
        // RFC 5936 §2.2.1: the question only in the first message here.
        EXPECT_EQ(m->question().has_value(), i == 0);
        EXPECT_GT(m->records().size(), 0u);
        if (i == 0) {
            EXPECT_EQ(m->records().front().type, RRType::SOA);
        }
        if (i + 1 == d.messages.size()) {
            EXPECT_EQ(m->records().back().type, RRType::SOA);
        }
        total += m->records().size();
    }
    EXPECT_EQ(total, v->size() + 1);
    EXPECT_EQ(src.messages(), d.messages.size());
}

TEST(AxfrSource, SnapshotSurvivesTheZoneMovingOn) {
    auto z = headwater::testing::make_zone(zone_text(10), "example.com.");
    xfr::AxfrSource src(z->current(), dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    // A reload swaps in a new version while the transfer is in flight.
    z->install(headwater::testing::build_zone(zone_text(1), "example.com."), zone::Clock::time_point());
    auto d = drain(src);
    auto m = dns::Message::parse(d.messages.back());
    ASSERT_TRUE(m);
    EXPECT_EQ(m->records().size(), 3u + 10u + 1u);
}

namespace {

// Every answer record of a transfer as it would be stored: owner (uncompressed, case kept), type, class,
// TTL, RDLENGTH and RDATA with the names that RFC 1035 types may compress expanded again.
std::vector<std::vector<uint8_t>> answer_records(const std::vector<std::vector<uint8_t>>& messages) {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& w : messages) {
        auto m = dns::Message::parse(w);
        EXPECT_TRUE(m);
        if (!m) continue;
        for (const auto& r : m->records()) {
            if (r.section != dns::Section::Answer) continue;
            std::vector<uint8_t> rdata;
            std::vector<uint8_t> name_wire;
            dns::WireReader rd(m->wire(), static_cast<std::size_t>(r.rdata.data() - m->wire().data()));
            auto read_name = [&] {
                rd.name(name_wire);
                rdata.insert(rdata.end(), name_wire.begin(), name_wire.end());
            };
            switch (r.type) {
                case RRType::NS:
                case RRType::CNAME:
                    read_name();
                    break;
                case RRType::MX: {
                    const uint16_t pref = rd.u16();
                    rdata = {static_cast<uint8_t>(pref >> 8), static_cast<uint8_t>(pref)};
                    read_name();
                    break;
                }
                case RRType::SOA: {
                    read_name();
                    read_name();
                    const auto fixed = rd.bytes(20);
                    rdata.insert(rdata.end(), fixed.begin(), fixed.end());
                    break;
                }
                default:
                    rdata.assign(r.rdata.begin(), r.rdata.end());
            }
            EXPECT_TRUE(rd.ok());
            std::vector<uint8_t> rec(r.owner.wire().begin(), r.owner.wire().end());
            const uint16_t type = dns::to_u16(r.type);
            const uint8_t fixed[10] = {
                static_cast<uint8_t>(type >> 8),         static_cast<uint8_t>(type),
                static_cast<uint8_t>(r.rclass >> 8),     static_cast<uint8_t>(r.rclass),
                static_cast<uint8_t>(r.ttl >> 24),       static_cast<uint8_t>(r.ttl >> 16),
                static_cast<uint8_t>(r.ttl >> 8),        static_cast<uint8_t>(r.ttl),
                static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
            rec.insert(rec.end(), std::begin(fixed), std::end(fixed));
            rec.insert(rec.end(), rdata.begin(), rdata.end());
            out.push_back(std::move(rec));
        }
    }
    return out;
}

// What an AXFR of `v` must carry (RFC 5936 §2.2): the SOA, every other record once, the SOA again.
std::vector<std::vector<uint8_t>> expected_records(const zone::ZoneVersion& v) {
    std::vector<std::vector<uint8_t>> out;
    auto add = [&](std::size_t i) { out.emplace_back(v.record(i).wire.begin(), v.record(i).wire.end()); };
    add(v.soa_index());
    for (std::size_t i = 0; i < v.size(); ++i)
        if (i != v.soa_index()) add(i);
    add(v.soa_index());
    return out;
}

// Names in several cases, names in RDATA that compress, and enough TXT to need many messages.
std::string mixed_zone_text(int records) {
    std::string t =
        "$TTL 300\n@ IN SOA NS1 Hostmaster 42 3600 900 86400 60\n@ IN NS ns1\n@ IN NS Ns2.Other.Example.\n"
        "@ IN MX 10 Mail\nns1 IN A 192.0.2.1\nMail IN A 192.0.2.2\nwww IN CNAME Mail.example.COM.\n";
    for (int i = 0; i < records; ++i) {
        const std::string owner = (i % 3 == 0 ? "Host" : "host") + std::to_string(i);
        t += owner + " IN TXT \"" + std::string(80 + i % 50, static_cast<char>('a' + i % 26)) + "\"\n";
        if (i % 7 == 0) t += owner + " IN MX " + std::to_string(i % 20) + " mail\n";
    }
    return t;
}

// Equal record lists, or a failure naming the first difference (the lists are long).
::testing::AssertionResult same_records(const std::vector<std::vector<uint8_t>>& got,
                                        const std::vector<std::vector<uint8_t>>& want) {
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
        if (got[i] != want[i])
            return ::testing::AssertionFailure()
                   << "record " << i << " differs: got " << zone::decode_record(got[i]).owner.to_string()
                   << " type " << dns::to_u16(zone::decode_record(got[i]).type) << ", want "
                   << zone::decode_record(want[i]).owner.to_string() << " type "
                   << dns::to_u16(zone::decode_record(want[i]).type);
    if (got.size() != want.size())
        return ::testing::AssertionFailure() << got.size() << " records, want " << want.size();
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(AxfrSource, CachedMessagesCarryExactlyTheStoredRecords) {
    auto v = headwater::testing::build_zone(mixed_zone_text(4000), "example.com.");
    xfr::AxfrSource src(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 9);
    auto d = drain(src, xfr::kRenderedTsigReserve);
    EXPECT_TRUE(src.from_cache());
    ASSERT_GT(d.messages.size(), 4u);
    for (const auto& w : d.messages) {
        EXPECT_LE(w.size() + xfr::kRenderedTsigReserve, dns::kMaxTcpMessage);  // room for any TSIG
        EXPECT_EQ(dns::Message::parse_header(w)->flags & dns::flag::TC, 0);    // never TC over TCP
    }
    EXPECT_TRUE(same_records(answer_records(d.messages), expected_records(*v)));
    EXPECT_EQ(src.records(), v->size() + 1);
    EXPECT_EQ(src.messages(), d.messages.size());
}

TEST(AxfrSource, LiveRenderingCarriesTheSameRecords) {
    auto v = headwater::testing::build_zone(mixed_zone_text(4000), "example.com.");
    // A reserve beyond what the cache leaves, or a smaller size limit, renders every message afresh.
    xfr::AxfrSource big_tsig(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 9);
    auto d1 = drain(big_tsig, xfr::kRenderedTsigReserve + 1);
    EXPECT_FALSE(big_tsig.from_cache());
    for (const auto& w : d1.messages)
        EXPECT_LE(w.size() + xfr::kRenderedTsigReserve + 1, dns::kMaxTcpMessage);
    EXPECT_TRUE(same_records(answer_records(d1.messages), expected_records(*v)));

    xfr::AxfrSource small(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 9, 16384);
    auto d2 = drain(small);
    EXPECT_FALSE(small.from_cache());
    for (const auto& w : d2.messages) EXPECT_LE(w.size(), 16384u);
    EXPECT_TRUE(same_records(answer_records(d2.messages), expected_records(*v)));
}

TEST(AxfrSource, QuestionIsTheClientsAndAnswerNamesKeepTheZonesCase) {
    auto v = headwater::testing::build_zone(mixed_zone_text(10), "example.com.");
    // An IXFR answered in AXFR form echoes its own question (RFC 1995 §4, RFC 5936 §2.2.1).
    xfr::AxfrSource src(v, dns::Question{name("eXAMPLE.Com."), RRType::IXFR, 1}, 4242);
    auto d = drain(src, 0);
    ASSERT_TRUE(src.from_cache());
    ASSERT_EQ(d.messages.size(), 1u);
    auto m = dns::Message::parse(d.messages[0]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().id, 4242);
    EXPECT_EQ(m->header().flags, dns::flag::QR | dns::flag::AA);
    ASSERT_TRUE(m->question());
    const auto qwire = m->question()->qname.wire();
    const dns::Name asked = name("eXAMPLE.Com.");
    const auto want = asked.wire();
    EXPECT_EQ(std::vector<uint8_t>(qwire.begin(), qwire.end()),
              std::vector<uint8_t>(want.begin(), want.end()));
    EXPECT_EQ(m->question()->qtype, RRType::IXFR);
    // The SOA's owner is the zone's spelling, not a pointer into the client's question.
    EXPECT_EQ(m->records().front().owner.to_string(), "example.com.");
    EXPECT_TRUE(same_records(answer_records(d.messages), expected_records(*v)));
}

TEST(AxfrSource, ConcurrentTransfersShareOneRendering) {
    auto v = headwater::testing::build_zone(mixed_zone_text(3000), "example.com.");
    xfr::AxfrSource a(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    xfr::AxfrSource b(v, dns::Question{name("EXAMPLE.COM."), RRType::AXFR, 1}, 2);
    std::vector<std::vector<uint8_t>> ma, mb;
    bool done_a = false, done_b = false;
    // Interleaved, b a message behind a, as two connections would go.
    for (int guard = 0; guard < 10000 && !(done_a && done_b); ++guard) {
        if (!done_a) {
            ma.emplace_back();
            done_a = a.next(ma.back(), 60) == xfr::Step::Done;
        }
        if (!done_b && guard > 0) {
            mb.emplace_back();
            done_b = b.next(mb.back(), 60) == xfr::Step::Done;
        }
    }
    ASSERT_TRUE(done_a && done_b);
    EXPECT_TRUE(a.from_cache() && b.from_cache());
    ASSERT_EQ(ma.size(), mb.size());
    for (std::size_t i = 0; i < ma.size(); ++i) {
        ASSERT_EQ(ma[i].size(), mb[i].size());
        // Only the ID and the question's case differ.
        const std::size_t same_from = i == 0 ? dns::kHeaderSize + v->apex().size() : 2;
        EXPECT_TRUE(std::equal(ma[i].begin() + static_cast<std::ptrdiff_t>(same_from), ma[i].end(),
                               mb[i].begin() + static_cast<std::ptrdiff_t>(same_from)))
            << "message " << i;
    }
    EXPECT_TRUE(same_records(answer_records(mb), expected_records(*v)));
    // A later transfer of the same version copies what is there.
    xfr::AxfrSource c(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    auto d = drain(c, 60);
    ASSERT_EQ(d.messages.size(), ma.size());
    for (std::size_t i = 0; i < ma.size(); ++i) EXPECT_TRUE(d.messages[i] == ma[i]) << "message " << i;
}
