#include "xfr/verify/ZoneCompare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "support/test_zone.h"
#include "zone/dns/CanonicalRdata.h"

using namespace headwater;
using dns::RRType;
using headwater::testing::build_zone;
using headwater::testing::name;
using verify::RRsetDifference;
using verify::WireRecord;

namespace {

// What the comparison compares of RDATA (dns::append_case_folded_rdata).
std::vector<uint8_t> case_folded(RRType type, std::span<const uint8_t> rdata) {
    std::vector<uint8_t> out;
    dns::append_case_folded_rdata(type, rdata, out);
    return out;
}

constexpr std::string_view kZone = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
        IN NS   ns2.example.net.
        IN MX   10 mail
        IN MX   20 mail2
        IN TXT  "v=spf1 -all"
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
mail2   IN A    192.0.2.26
www     IN CNAME @
_sip._tcp IN SRV 0 5 5060 sip
sip     IN A    192.0.2.60
        IN AAAA 2001:db8::60
sub     IN NS   ns.sub
ns.sub  IN A    192.0.2.99
)";

// The records of a master text as a secondary's transfer would hand them over.
std::vector<WireRecord> records(std::string_view text, std::string_view origin = "example.com.") {
    return headwater::testing::wire_records(text, origin);
}

// The served version's records, as a faithful secondary would transfer them.
std::vector<WireRecord> copy_of(const zone::ZoneVersion& v) {
    std::vector<WireRecord> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto w = v.record(i).wire;
        out.emplace_back(w.begin(), w.end());
    }
    return out;
}

std::string replace(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

std::string describe(const RRsetDifference& d) {
    return std::string(verify::to_string(d.kind)) + " " + d.owner.to_string() + " " + dns::to_string(d.type);
}

std::vector<std::string> describe(const std::vector<RRsetDifference>& diffs) {
    std::vector<std::string> out;
    out.reserve(diffs.size());
    for (const auto& d : diffs) out.push_back(describe(d));
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(ZoneCompare, KindNames) {
    EXPECT_EQ(verify::to_string(RRsetDifference::Kind::Missing), "missing");
    EXPECT_EQ(verify::to_string(RRsetDifference::Kind::Extra), "extra");
    EXPECT_EQ(verify::to_string(RRsetDifference::Kind::Different), "different");
}

TEST(ZoneCompare, IdenticalZonesHaveNoDifferences) {
    const auto served = build_zone(kZone, "example.com.");
    auto theirs = copy_of(*served);
    EXPECT_TRUE(verify::compare_zone(*served, theirs).empty());
    // In any order (a transfer's order is the sender's), and from the master text unsorted.
    std::mt19937 rng(7);
    std::shuffle(theirs.begin(), theirs.end(), rng);
    EXPECT_TRUE(verify::compare_zone(*served, theirs).empty());
    EXPECT_TRUE(verify::compare_zone(*served, records(kZone)).empty());
}

TEST(ZoneCompare, AlteredRemovedAndExtraRRsets) {
    const auto served = build_zone(kZone, "example.com.");
    std::string text(kZone);
    text = replace(text, "mail2   IN A    192.0.2.26", "mail2   IN A    192.0.2.27");  // altered
    text = replace(text, "        IN AAAA 2001:db8::60\n", "");                        // removed
    text += "extra   IN TXT  \"not ours\"\n";                                          // extra
    const auto diffs = verify::compare_zone(*served, records(text));
    EXPECT_EQ(describe(diffs), (Strings{"extra extra.example.com. TXT", "different mail2.example.com. A",
                                        "missing sip.example.com. AAAA"}));
    ASSERT_EQ(diffs.size(), 3U);

    // The records on each side, original bytes.
    const auto& altered = diffs[1];
    ASSERT_EQ(altered.served.size(), 1U);
    ASSERT_EQ(altered.theirs.size(), 1U);
    EXPECT_EQ(zone::record_to_text(altered.served[0]), "mail2.example.com. 3600 IN A 192.0.2.26");
    EXPECT_EQ(zone::record_to_text(altered.theirs[0]), "mail2.example.com. 3600 IN A 192.0.2.27");
    EXPECT_EQ(diffs[2].kind, RRsetDifference::Kind::Missing);
    EXPECT_EQ(diffs[2].served.size(), 1U);
    EXPECT_TRUE(diffs[2].theirs.empty());
    EXPECT_EQ(diffs[0].kind, RRsetDifference::Kind::Extra);
    EXPECT_TRUE(diffs[0].served.empty());
    EXPECT_EQ(diffs[0].theirs.size(), 1U);
}

TEST(ZoneCompare, OneRecordMissingFromALargerRRsetMakesItDifferent) {
    const auto served = build_zone(kZone, "example.com.");
    const auto text = replace(std::string(kZone), "        IN MX   20 mail2\n", "");
    const auto diffs = verify::compare_zone(*served, records(text));
    EXPECT_EQ(describe(diffs), (Strings{"different example.com. MX"}));
    ASSERT_EQ(diffs.size(), 1U);
    EXPECT_EQ(diffs[0].served.size(), 2U);
    EXPECT_EQ(diffs[0].theirs.size(), 1U);
}

TEST(ZoneCompare, TtlOnlyChangeIsDifferent) {
    const auto served = build_zone(kZone, "example.com.");
    const auto text = replace(std::string(kZone), "ns1     IN A    192.0.2.53", "ns1  60 IN A    192.0.2.53");
    const auto diffs = verify::compare_zone(*served, records(text));
    EXPECT_EQ(describe(diffs), (Strings{"different ns1.example.com. A"}));
    ASSERT_EQ(diffs.size(), 1U);
    EXPECT_EQ(zone::decode_record(diffs[0].served[0]).ttl, 3600U);
    EXPECT_EQ(zone::decode_record(diffs[0].theirs[0]).ttl, 60U);
}

TEST(ZoneCompare, CaseOfOwnersAndRdataNamesIsNotADifference) {
    const auto served = build_zone(kZone, "example.com.");
    std::string text(kZone);
    text = replace(text, "$ORIGIN example.com.", "$ORIGIN EXAMPLE.Com.");
    text = replace(text, "ns1     IN A", "NS1     IN A");
    text = replace(text, "IN MX   10 mail", "IN MX   10 MAIL");
    text = replace(text, "IN NS   ns2.example.net.", "IN NS   NS2.Example.NET.");
    text = replace(text, "IN SRV 0 5 5060 sip", "IN SRV 0 5 5060 SIP");
    text = replace(text, "ns1 hostmaster", "NS1 HostMaster");
    text = replace(text, "www     IN CNAME @", "WWW     IN CNAME Example.COM.");
    EXPECT_TRUE(verify::compare_zone(*served, records(text, "EXAMPLE.Com.")).empty());
}

TEST(ZoneCompare, CaseInTextRdataIsADifference) {
    const auto served = build_zone(kZone, "example.com.");
    const auto text = replace(std::string(kZone), "\"v=spf1 -all\"", "\"V=SPF1 -all\"");
    EXPECT_EQ(describe(verify::compare_zone(*served, records(text))),
              (Strings{"different example.com. TXT"}));
}

TEST(ZoneCompare, DuplicatesInTheirsCountOnce) {
    const auto served = build_zone(kZone, "example.com.");
    std::string text(kZone);
    text += "mail2   IN A    192.0.2.26\n";  // an exact duplicate
    text += "MAIL2   IN A    192.0.2.26\n";  // a duplicate but for the owner's case
    text += "@       IN MX   10 Mail\n";     // a duplicate but for the case of a name in RDATA
    EXPECT_TRUE(verify::compare_zone(*served, records(text)).empty());

    // Listed once when the RRset differs for another reason.
    text += "mail2   IN A    192.0.2.29\n";
    const auto diffs = verify::compare_zone(*served, records(text));
    EXPECT_EQ(describe(diffs), (Strings{"different mail2.example.com. A"}));
    ASSERT_EQ(diffs.size(), 1U);
    ASSERT_EQ(diffs[0].theirs.size(), 2U);
    EXPECT_EQ(zone::record_to_text(diffs[0].theirs[0]), "mail2.example.com. 3600 IN A 192.0.2.26");
    EXPECT_EQ(zone::record_to_text(diffs[0].theirs[1]), "mail2.example.com. 3600 IN A 192.0.2.29");
}

TEST(ZoneCompare, OtherClassIsExtra) {
    const auto served = build_zone(kZone, "example.com.");
    std::string text(kZone);
    text += "mail2   CH TXT  \"chaos\"\n";
    text += "mail2   CH A    192.0.2.26\n";
    const auto diffs = verify::compare_zone(*served, records(text));
    EXPECT_EQ(describe(diffs), (Strings{"extra mail2.example.com. A", "extra mail2.example.com. TXT"}));
    ASSERT_EQ(diffs.size(), 2U);
    EXPECT_EQ(zone::decode_record(diffs[0].theirs.at(0)).rclass, 3U);
}

TEST(ZoneCompare, EmptyAndMalformedRecordsAreSkipped) {
    const auto served = build_zone(kZone, "example.com.");
    auto theirs = copy_of(*served);
    theirs.emplace_back();                                 // what uncompressed_record gives for a bad record
    theirs.push_back(WireRecord{3, 'f', 'o', 'o', 0, 0});  // truncated
    // Trailing octet: not exactly one record. A record the zone lacks, so that reading it anyway would
    // show as a difference.
    WireRecord longer = records("extra 3600 IN TXT \"not ours\"").at(0);
    longer.push_back(0);
    theirs.push_back(longer);
    EXPECT_TRUE(verify::compare_zone(*served, theirs).empty());
    longer.pop_back();  // the same record whole is compared
    theirs.push_back(longer);
    EXPECT_EQ(describe(verify::compare_zone(*served, theirs)), (Strings{"extra extra.example.com. TXT"}));
}

TEST(ZoneCompare, EmptyTransferMissesEverything) {
    const auto served = build_zone(kZone, "example.com.");
    const auto diffs = verify::compare_zone(*served, {});
    // One per RRset, in canonical order, all missing.
    ASSERT_FALSE(diffs.empty());
    EXPECT_EQ(describe(diffs.front()), "missing example.com. NS");
    std::size_t records = 0;
    for (const auto& d : diffs) {
        EXPECT_EQ(d.kind, RRsetDifference::Kind::Missing);
        records += d.served.size();
    }
    EXPECT_EQ(records, served->size());
    for (std::size_t k = 1; k < diffs.size(); ++k) {
        const int c = dns::canonical_compare(diffs[k - 1].owner, diffs[k].owner);
        EXPECT_TRUE(c < 0 || (c == 0 && dns::to_u16(diffs[k - 1].type) < dns::to_u16(diffs[k].type)));
    }
}

TEST(ZoneCompare, DifferentSerialShowsAsDifferentSoa) {
    const auto served = build_zone(kZone, "example.com.");
    const auto text = replace(std::string(kZone), "2026112601", "2026112600");
    EXPECT_EQ(describe(verify::compare_zone(*served, records(text))),
              (Strings{"different example.com. SOA"}));
}

TEST(ZoneCompare, CanonicalRdataLowersNamesOnlyWhereRfc4034Says) {
    const auto mx = records(
        "@ 300 IN MX 10 MAIL.Example.COM.\n@ 300 IN TXT \"ABC\"\n"
        "@ 300 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _SIP._UDP.EXAMPLE.COM.\n");
    ASSERT_EQ(mx.size(), 3U);
    const auto view = zone::decode_record(mx[0]);
    const auto canon = case_folded(RRType::MX, view.rdata);
    EXPECT_EQ(canon.size(), view.rdata.size());
    EXPECT_EQ(std::string(canon.begin() + 2, canon.end()), std::string("\x04mail\x07") +
                                                               "example\x03"
                                                               "com" +
                                                               '\0');
    // TXT holds no names: unchanged.
    const auto txt = zone::decode_record(mx[1]);
    const auto same = case_folded(RRType::TXT, txt.rdata);
    EXPECT_TRUE(std::equal(same.begin(), same.end(), txt.rdata.begin(), txt.rdata.end()));
    // NAPTR: the flags/services strings keep their case, the replacement name does not.
    const auto naptr = zone::decode_record(mx[2]);
    const auto n = case_folded(naptr.type, naptr.rdata);
    const std::string s(n.begin(), n.end());
    EXPECT_NE(s.find("SIP+D2U"), std::string::npos);
    EXPECT_NE(s.find("\x04_sip\x04_udp\x07"
                     "example"),
              std::string::npos);
    // RDATA that does not parse as its type is compared as it is.
    const std::vector<uint8_t> bad = {0, 10, 0xC0, 0x0C};  // MX with a compression pointer
    EXPECT_EQ(case_folded(RRType::MX, bad), bad);
}

TEST(ZoneCompare, SameRecordsIgnoresOrderCaseAndDuplicates) {
    const auto a = records("www 300 IN CNAME Host.example.com.\nwww 300 IN A 192.0.2.1\n");
    const auto b =
        records("WWW 300 IN A 192.0.2.1\nwww 300 IN CNAME host.EXAMPLE.com.\nwww 300 IN A 192.0.2.1\n");
    EXPECT_TRUE(verify::same_records(a, b));
    const auto c = records("www 301 IN A 192.0.2.1\nwww 300 IN CNAME host.example.com.\n");
    EXPECT_FALSE(verify::same_records(a, c));
    EXPECT_FALSE(verify::same_records(a, std::span(a).first(1)));
    // Malformed bytes compare as bytes.
    const std::vector<WireRecord> bad = {WireRecord{1, 2, 3}};
    EXPECT_TRUE(verify::same_records(bad, bad));
    EXPECT_FALSE(verify::same_records(bad, a));
}

TEST(ZoneCompare, LargeZoneLinearWalk) {
    // 20 000 names, one altered near the end, theirs reversed: exactly one difference.
    std::string text(kZone);
    for (int k = 0; k < 20000; ++k)
        text += "h" + std::to_string(k) + " IN A 198.51.100." + std::to_string(k % 250) + "\n";
    const auto served = build_zone(text, "example.com.");
    auto theirs = copy_of(*served);
    std::reverse(theirs.begin(), theirs.end());
    EXPECT_TRUE(verify::compare_zone(*served, theirs).empty());
    const auto altered = replace(text, "h19999 IN A 198.51.100.249", "h19999 IN A 198.51.100.1");
    EXPECT_EQ(describe(verify::compare_zone(*served, records(altered))),
              (Strings{"different h19999.example.com. A"}));
}
