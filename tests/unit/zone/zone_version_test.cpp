#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

#include "zone/Changeset.h"
#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

using namespace headwater;
using dns::Name;
using dns::RRType;

namespace {

Name n(std::string_view t) {
    return Name::from_text(t).value();
}

Result<zone::ZoneVersionPtr, zone::LoadError> build(std::string_view text,
                                                    std::string_view origin = "example.com.") {
    zone::ZoneBuilder b(n(origin));
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    if (!loaded) return unexpected(loaded.error());
    return b.build();
}

constexpr std::string_view kHead =
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 7 3600 900 86400 60\n"
    "@ IN NS ns1\n";

}  // namespace

TEST(ZoneVersion, SortsCanonicallyAndReadsTheSerial) {
    auto v = build(std::string(kHead) +
                   "zz IN A 192.0.2.3\n"
                   "B IN A 192.0.2.2\n"
                   "a IN A 192.0.2.1\n"
                   "ns1 IN A 192.0.2.53\n");
    ASSERT_TRUE(v) << v.error().to_string();
    const auto& z = **v;
    EXPECT_EQ(z.serial().value(), 7u);
    ASSERT_EQ(z.size(), 6u);
    EXPECT_EQ(z.record(0).owner.to_string(), "example.com.");
    EXPECT_EQ(z.record(0).type, RRType::NS);  // type order at the apex: NS (2) before SOA (6)
    EXPECT_EQ(z.soa().type, RRType::SOA);
    EXPECT_EQ(z.record(2).owner.to_string(), "a.example.com.");
    EXPECT_EQ(z.record(3).owner.to_string(), "B.example.com.");  // case kept, ordered case-insensitively
    EXPECT_EQ(z.record(5).owner.to_string(), "zz.example.com.");
    EXPECT_EQ(z.negative_ttl(), 60u);
}

TEST(ZoneVersion, RenderedSoaAnswerIsWhatTheBuilderWrites) {
    // Mixed case in the apex and names in and out of the zone: the rendered record must be byte for byte
    // what MessageBuilder::push gives after the same question, compression pointers included.
    auto v = build(
        "$TTL 300\n"
        "@ IN SOA NS1 hostmaster.other.example. 7 3600 900 86400 60\n"
        "@ IN NS NS1\n",
        "Example.COM.");
    ASSERT_TRUE(v) << v.error().to_string();
    const auto& z = **v;
    const zone::RecordView soa = z.soa();
    auto render = [&](bool rendered) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, 512);
        mb.header(0x1234, dns::flag::QR | dns::flag::AA);
        mb.question(z.apex(), dns::to_u16(RRType::SOA), 1);
        const dns::Pushed p = rendered ? mb.push_rendered(dns::Section::Answer, z.soa_answer(), 1)
                                       : mb.push(dns::Section::Answer, soa.owner, dns::to_u16(RRType::SOA),
                                                 soa.rclass, soa.ttl, soa.rdata);
        EXPECT_EQ(p, dns::Pushed::Ok);
        mb.finish();
        return out;
    };
    const auto expected = render(false);
    EXPECT_EQ(render(true), expected);
    EXPECT_LT(z.soa_answer().size(), soa.wire.size());  // owner and NS1 point into the question
    auto parsed = dns::Message::parse(expected);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->records().size(), 1u);
    EXPECT_EQ(parsed->records()[0].type, RRType::SOA);
}

TEST(ZoneVersion, DropsExactDuplicates) {
    auto v = build(std::string(kHead) + "a IN A 192.0.2.1\na IN A 192.0.2.1\na IN A 192.0.2.2\n");
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)->find_rrset(n("a.example.com."), RRType::A).end -
                  (*v)->find_rrset(n("a.example.com."), RRType::A).begin,
              2u);
}

TEST(ZoneVersion, FindsNamesRrsetsAndEmptyNonTerminals) {
    auto v = build(std::string(kHead) + "a.b.c IN A 192.0.2.1\nx IN TXT hello\nx IN A 192.0.2.9\n");
    ASSERT_TRUE(v);
    const auto& z = **v;
    EXPECT_FALSE(z.find_name(n("X.example.com.")).empty());
    EXPECT_EQ(z.find_name(n("x.example.com.")).end - z.find_name(n("x.example.com.")).begin, 2u);
    EXPECT_EQ(z.record(z.find_rrset(n("x.example.com."), RRType::TXT).begin).type, RRType::TXT);
    EXPECT_TRUE(z.find_rrset(n("x.example.com."), RRType::AAAA).empty());
    EXPECT_TRUE(z.find_name(n("b.c.example.com.")).empty());
    EXPECT_TRUE(z.name_exists(n("b.c.example.com.")));  // empty non-terminal
    EXPECT_TRUE(z.name_exists(n("c.example.com.")));
    EXPECT_FALSE(z.name_exists(n("d.example.com.")));
    EXPECT_FALSE(z.name_exists(n("z.a.b.c.example.com.")));
}

TEST(ZoneVersion, SameContentDetectsChanges) {
    auto a = build(std::string(kHead) + "a IN A 192.0.2.1\n");
    auto b = build(std::string(kHead) + "a IN A 192.0.2.1\n");
    auto c = build(std::string(kHead) + "a IN A 192.0.2.2\n");
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE((*a)->same_content(**b));
    EXPECT_FALSE((*a)->same_content(**c));
}

TEST(ZoneBuilder, RejectsOutOfZoneDataWithItsLine) {
    auto v = build(std::string(kHead) + "ok IN A 192.0.2.1\nwww.example.org. IN A 192.0.2.1\n");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().line, 5u);
    EXPECT_NE(v.error().message.find("out-of-zone"), std::string::npos);
}

TEST(ZoneBuilder, RequiresExactlyOneSoaAtTheApex) {
    auto none = build("$TTL 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no SOA"), std::string::npos);

    auto two = build(std::string(kHead) + "@ IN SOA ns1 other 8 3600 900 86400 60\n");
    ASSERT_FALSE(two);
    EXPECT_NE(two.error().message.find("more than one SOA"), std::string::npos);
    EXPECT_EQ(two.error().line, 4u);

    auto below = build(std::string(kHead) + "sub IN SOA ns1 hostmaster 1 1 1 1 1\n");
    ASSERT_FALSE(below);
    EXPECT_EQ(below.error().line, 4u);
}

TEST(ZoneBuilder, RequiresNsAtTheApex) {
    auto v = build("$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 900 86400 60\nns1 IN A 192.0.2.1\n");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message.find("no NS"), std::string::npos);
}

TEST(ZoneBuilder, CnameMustBeAlone) {
    auto v = build(std::string(kHead) + "www IN CNAME a\nwww IN A 192.0.2.1\n");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().line, 5u);
    EXPECT_NE(v.error().message.find("CNAME and other data"), std::string::npos);

    auto two = build(std::string(kHead) + "www IN CNAME a\nwww IN CNAME b\n");
    ASSERT_FALSE(two);
    EXPECT_NE(two.error().message.find("more than one CNAME"), std::string::npos);

    // RFC 4035 §2.5: RRSIG and NSEC may share a name with a CNAME.
    auto signed_cname = build(std::string(kHead) +
                              "www IN CNAME a\n"
                              "www IN NSEC zz.example.com. CNAME RRSIG NSEC\n");
    EXPECT_TRUE(signed_cname) << signed_cname.error().to_string();

    auto at_apex = build(std::string(kHead) + "@ IN CNAME elsewhere.example.org.\n");
    EXPECT_FALSE(at_apex);
}

TEST(ZoneBuilder, RejectsOtherClasses) {
    auto v = build(std::string(kHead) + "txt CH TXT hello\n");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().line, 4u);
}

namespace {

// Owner names below example.com. from arbitrary octets: labels of 1..12 octets drawn from a small
// alphabet that includes 0x00, 0x01, 0x02, '.', upper and lower case, 0x7f and 0xff, 1..4 labels deep.
std::vector<uint8_t> random_owner(std::mt19937& rng) {
    static constexpr uint8_t kAlphabet[] = {0x00, 0x01, 0x02, '-', '.', '0',  '9', 'A',
                                            'a',  'B',  'b',  'Z', 'z', 0x7f, 0xff};
    std::vector<uint8_t> w;
    const int labels = 1 + static_cast<int>(rng() % 4);
    for (int l = 0; l < labels; ++l) {
        const int len = 1 + static_cast<int>(rng() % 12);
        w.push_back(static_cast<uint8_t>(len));
        for (int k = 0; k < len; ++k) w.push_back(kAlphabet[rng() % sizeof kAlphabet]);
    }
    const Name apex = n("example.com.");
    w.insert(w.end(), apex.wire().begin(), apex.wire().end());
    return w;
}

void add_apex(zone::ZoneBuilder& b) {
    const auto apex = n("example.com.");
    const Name ns1 = n("ns1.example.com.");
    const auto soa = ns1.wire();
    std::vector<uint8_t> soa_rdata(soa.begin(), soa.end());
    soa_rdata.insert(soa_rdata.end(), soa.begin(), soa.end());
    soa_rdata.resize(soa_rdata.size() + 20, 1);
    ASSERT_TRUE(b.add(apex.wire(), dns::to_u16(RRType::SOA), 1, 300, soa_rdata, "t", 1));
    ASSERT_TRUE(b.add(apex.wire(), dns::to_u16(RRType::NS), 1, 300, soa, "t", 2));
}

}  // namespace

TEST(ZoneBuilder, SortsAnyOctetsInCanonicalOrder) {
    // Each path of the sort: one std::sort (300 records), the radix pass on one thread (5000) and on two
    // (60000). Names with octets 0 and 1 (escaped in the sort key), upper and lower case, shared prefixes
    // longer than the key's inline 16 octets, duplicates.
    for (const std::size_t count : {std::size_t{300}, std::size_t{5000}, std::size_t{60000}}) {
        std::mt19937 rng(static_cast<unsigned>(count));
        zone::ZoneBuilder b(n("example.com."));
        add_apex(b);
        std::vector<std::vector<uint8_t>> owners;
        // What was added (owner case folded), besides the apex SOA and NS.
        std::set<std::tuple<std::string, uint16_t, std::vector<uint8_t>>> added_records;
        const std::vector<uint8_t> long_label(40, 'q');
        for (std::size_t i = 0; i < count; ++i) {
            std::vector<uint8_t> owner;
            if (i % 5 == 0 && !owners.empty()) {
                owner = owners[rng() % owners.size()];  // another record at a known name
            } else if (i % 7 == 0) {
                owner = {static_cast<uint8_t>(long_label.size())};
                owner.insert(owner.end(), long_label.begin(), long_label.end());
                const auto rest = random_owner(rng);
                owner.insert(owner.end(), rest.begin(), rest.end());
            } else {
                owner = random_owner(rng);
            }
            owners.push_back(owner);
            const uint8_t rdata[4] = {10, 0, static_cast<uint8_t>(rng() % 3),
                                      static_cast<uint8_t>(rng() % 3)};
            const uint16_t type = (rng() % 2) ? dns::to_u16(RRType::A) : dns::to_u16(RRType::TXT);
            const auto added = b.add(owner, type, 1, 300, rdata, "t", i + 3);
            ASSERT_TRUE(added) << added.error();
            std::string key;
            for (uint8_t c : owner) key.push_back(static_cast<char>(dns::ascii_lower(c)));
            added_records.emplace(key, type, std::vector<uint8_t>(std::begin(rdata), std::end(rdata)));
        }
        auto v = b.build();
        ASSERT_TRUE(v) << v.error().to_string();
        const auto& z = **v;
        for (std::size_t i = 1; i < z.size(); ++i)
            ASSERT_LT(zone::compare_records(z.record(i - 1), z.record(i)), 0)
                << "records " << i - 1 << ", " << i;
        // Every distinct record is there once.
        std::set<std::tuple<std::string, uint16_t, std::vector<uint8_t>>> distinct;
        for (std::size_t i = 0; i < z.size(); ++i) {
            const auto r = z.record(i);
            std::string key;
            for (uint8_t c : r.owner.wire()) key.push_back(static_cast<char>(dns::ascii_lower(c)));
            distinct.emplace(key, dns::to_u16(r.type), std::vector<uint8_t>(r.rdata.begin(), r.rdata.end()));
        }
        EXPECT_EQ(distinct.size(), z.size());
        // ... and nothing added is lost: the zone is the apex SOA and NS plus the distinct records added.
        EXPECT_EQ(distinct.size(), added_records.size() + 2);
        for (const auto& record : added_records) EXPECT_EQ(distinct.count(record), 1u);
    }
}

TEST(ZoneBuilder, KeepsTheFirstOfTwoDuplicates) {
    // Same owner (in another case), type and RDATA: the later one is dropped, TTL and spelling included.
    auto v = build(std::string(kHead) + "Dup IN A 192.0.2.1\nother IN A 192.0.2.2\n" +
                   "$TTL 60\ndup IN A 192.0.2.1\n");
    ASSERT_TRUE(v);
    const auto r = (*v)->find_rrset(n("dup.example.com."), RRType::A);
    ASSERT_EQ(r.end - r.begin, 1u);
    EXPECT_EQ((*v)->record(r.begin).ttl, 300u);
    EXPECT_EQ((*v)->record(r.begin).owner.to_string(), "Dup.example.com.");
}

TEST(ZoneBuilder, RejectsMalformedOwnerNames) {
    zone::ZoneBuilder b(n("example.com."));
    const uint8_t rdata[4] = {192, 0, 2, 1};
    const std::vector<uint8_t> unterminated = {3, 'w', 'w', 'w'};
    const std::vector<uint8_t> long_label = {64, 'a'};
    EXPECT_FALSE(b.add(unterminated, 1, 1, 300, rdata, "t", 1));
    EXPECT_FALSE(b.add(long_label, 1, 1, 300, rdata, "t", 2));
    EXPECT_FALSE(b.add({}, 1, 1, 300, rdata, "t", 3));
    // More labels than a 255-octet name can hold, ending in the apex: refused before anything is indexed.
    std::vector<uint8_t> too_long;
    for (int i = 0; i < 150; ++i) too_long.insert(too_long.end(), {1, 'a'});
    const Name apex = n("example.com.");  // wire() is a view: the Name must outlive it
    too_long.insert(too_long.end(), apex.wire().begin(), apex.wire().end());
    const auto refused = b.add(too_long, 1, 1, 300, rdata, "t", 4);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), "invalid owner name");
}

TEST(ZoneVersion, DnssecLookups) {
    // Placeholder signatures: the version never checks them.
    const std::string text = std::string(kHead) +
                             "@ IN DNSKEY 257 3 13 AAAA\n"
                             "@ IN RRSIG SOA 13 2 300 20300101000000 20200101000000 1 example.com. AAAA\n"
                             "@ IN RRSIG NS 13 2 300 20300101000000 20200101000000 1 example.com. AAAA\n"
                             "@ IN NSEC b.example.com. NS SOA RRSIG NSEC DNSKEY\n"
                             "b IN A 192.0.2.1\n"
                             "b IN RRSIG A 13 3 300 20300101000000 20200101000000 1 example.com. AAAA\n"
                             "b IN RRSIG A 13 3 300 20300101000000 20200101000000 2 example.com. AAAA\n"
                             "b IN RRSIG NSEC 13 3 300 20300101000000 20200101000000 1 example.com. AAAA\n"
                             "b IN NSEC example.com. A RRSIG NSEC\n"
                             "ns1 IN A 192.0.2.53\n";
    auto v = build(text);
    ASSERT_TRUE(v) << v.error().to_string();
    const auto& z = **v;
    EXPECT_TRUE(z.is_signed());
    EXPECT_EQ(z.find_rrsigs(n("b.example.com."), RRType::A).end -
                  z.find_rrsigs(n("b.example.com."), RRType::A).begin,
              2u);
    const auto nsec_sig = z.find_rrsigs(n("b.example.com."), RRType::NSEC);
    ASSERT_EQ(nsec_sig.end - nsec_sig.begin, 1u);
    EXPECT_TRUE(z.find_rrsigs(n("b.example.com."), RRType::TXT).empty());
    // The NSEC at or before a name: its own, the one covering it, and none before the apex (wraps).
    const auto owner_of = [&](std::string_view name) {
        const auto i = z.nsec_at_or_before(n(name));
        return i ? z.record(*i).owner.to_string() : std::string("-");
    };
    EXPECT_EQ(owner_of("b.example.com."), "b.example.com.");
    EXPECT_EQ(owner_of("a.example.com."), "example.com.");
    EXPECT_EQ(owner_of("zzz.example.com."), "b.example.com.");  // ns1 has no NSEC here: b's is the last
    EXPECT_EQ(owner_of("com."), "b.example.com.");
    EXPECT_FALSE(z.nsec3_params());
    EXPECT_FALSE(z.nsec3_at_or_before(n("example.com.")));

    // Without a DNSKEY at the apex the same records are plain data.
    auto unsigned_zone = build(std::string(kHead) + "@ IN NSEC example.com. NS SOA NSEC\n");
    ASSERT_TRUE(unsigned_zone);
    EXPECT_FALSE((*unsigned_zone)->is_signed());
    EXPECT_FALSE((*unsigned_zone)->nsec_at_or_before(n("example.com.")));
}
