#include <gtest/gtest.h>

#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

using namespace headwater;
using dns::Name;
using dns::RRType;

namespace {

Name n(std::string_view t) {
    return Name::from_text(t).value();
}

dns::Result<zone::ZoneVersionPtr, zone::LoadError> build(std::string_view text,
                                                         std::string_view origin = "example.com.") {
    zone::ZoneBuilder b(n(origin));
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    if (!loaded) return dns::unexpected(loaded.error());
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
