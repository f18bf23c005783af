#include "xfr/verify/VerifySample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "support/test_zone.h"
#include "zone/Changeset.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/dns/UncompressedRecord.h"

using namespace headwater;
using dns::Rcode;
using dns::RRType;
using dns::Section;
using headwater::testing::build_zone;
using headwater::testing::name;
using verify::SampleQuery;
using verify::WireRecord;
using Expect = SampleQuery::Expect;

namespace {

constexpr std::string_view kV1 = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
        IN NS   ns2.example.net.
        IN MX   10 mail
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
mail2   IN A    192.0.2.26
www     IN CNAME @
_sip._tcp IN SRV 0 5 5060 sip
sip     IN A    192.0.2.60
        IN AAAA 2001:db8::60
old     IN TXT  "going"
alias   IN A    192.0.2.5
sub     IN NS   ns.sub
        IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub  IN A    192.0.2.99
*.wild  IN A    192.0.2.77
gone.wild IN TXT "here for now"
away    IN DNAME elsewhere.example.net.
)";

// v1 with: old removed (name gone), sip AAAA removed (name stays), new added, mail2 changed, glue
// changed, gone.wild removed (a wildcard covers the name), alias turned from A into a CNAME.
std::string v2_text() {
    std::string t(kV1);
    auto swap = [&](std::string_view from, std::string_view to) {
        const auto at = t.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        t.replace(at, from.size(), to);
    };
    swap("2026112601", "2026112602");
    swap("old     IN TXT  \"going\"\n", "");
    swap("        IN AAAA 2001:db8::60\n", "");
    swap("mail2   IN A    192.0.2.26", "mail2   IN A    192.0.2.27\nnew     IN A    192.0.2.30");
    swap("ns.sub  IN A    192.0.2.99", "ns.sub  IN A    192.0.2.98");
    swap("gone.wild IN TXT \"here for now\"\n", "");
    swap("alias   IN A    192.0.2.5", "alias   IN CNAME mail");
    return t;
}

std::string describe(const SampleQuery& q) {
    return q.name.to_string() + " " + dns::to_string(q.type) + " " +
           std::string(verify::to_string(q.expect)) + " " + q.reason;
}

std::vector<std::string> describe(const std::vector<SampleQuery>& qs) {
    std::vector<std::string> out;
    out.reserve(qs.size());
    for (const auto& q : qs) out.push_back(describe(q));
    return out;
}

using Strings = std::vector<std::string>;

const SampleQuery* find(const std::vector<SampleQuery>& qs, std::string_view qname, RRType type) {
    for (const auto& q : qs)
        if (q.name.view() == name(qname).view() && q.type == type) return &q;
    return nullptr;
}

std::vector<WireRecord> rrset(const zone::ZoneVersion& v, std::string_view owner, RRType type) {
    std::vector<WireRecord> out;
    const auto r = v.find_rrset(name(owner), type);
    for (std::size_t i = r.begin; i < r.end; ++i) {
        const auto w = v.record(i).wire;
        out.emplace_back(w.begin(), w.end());
    }
    return out;
}

// A zone big enough for random samples to differ.
std::string big_zone() {
    std::string t(kV1);
    for (int k = 0; k < 500; ++k)
        t += "h" + std::to_string(k) + " IN A 198.51.100." + std::to_string(k % 250) + "\n";
    return t;
}

// A response to q: header flags, rcode, answer, authority, additional.
std::vector<uint8_t> respond(const SampleQuery& q, uint16_t flags, Rcode rcode,
                             const std::vector<WireRecord>& answer,
                             const std::vector<WireRecord>& authority = {},
                             const std::vector<WireRecord>& additional = {}) {
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, dns::kMaxTcpMessage);
    mb.header(0x1234, static_cast<uint16_t>(dns::flag::QR | flags));
    mb.set_rcode(rcode);
    mb.question(q.name, dns::to_u16(q.type), 1);
    for (const auto& r : answer) EXPECT_EQ(mb.push_wire(Section::Answer, r), dns::Pushed::Ok);
    for (const auto& r : authority) EXPECT_EQ(mb.push_wire(Section::Authority, r), dns::Pushed::Ok);
    for (const auto& r : additional) EXPECT_EQ(mb.push_wire(Section::Additional, r), dns::Pushed::Ok);
    mb.finish();
    return out;
}

verify::SampleResult check(const SampleQuery& q, const std::vector<uint8_t>& wire) {
    auto m = dns::Message::parse(wire);
    EXPECT_TRUE(m.has_value());
    if (!m) return {};
    return verify::check_answer(q, *m);
}

// A record in wire form from text, e.g. "mail.example.com. 3600 IN A 192.0.2.1".
WireRecord record(std::string_view line) {
    return headwater::testing::wire_records(line).at(0);
}

class VerifySampleTest : public ::testing::Test {
  protected:
    VerifySampleTest() : v1_(build_zone(kV1, "example.com.")), v2_(build_zone(v2_text(), "example.com.")) {
        recent_.push_back(zone::diff(*v1_, *v2_));
        sample_ = verify::select_sample(*v2_, recent_, 0, 1);
    }
    const SampleQuery& query(std::string_view qname, RRType type) {
        const SampleQuery* q = find(sample_, qname, type);
        EXPECT_NE(q, nullptr) << qname << " " << dns::to_string(type);
        static const SampleQuery none;
        return q != nullptr ? *q : none;
    }

    zone::ZoneVersionPtr v1_, v2_;
    std::vector<zone::Changeset> recent_;
    std::vector<SampleQuery> sample_;
};

}  // namespace

TEST(VerifySample, ExpectNames) {
    EXPECT_EQ(verify::to_string(Expect::Answer), "answer");
    EXPECT_EQ(verify::to_string(Expect::NoData), "nodata");
    EXPECT_EQ(verify::to_string(Expect::NxDomain), "nxdomain");
    EXPECT_EQ(verify::to_string(Expect::Referral), "referral");
}

TEST_F(VerifySampleTest, ApexRRsetsThenChangedNamesNewestFirst) {
    EXPECT_EQ(describe(sample_), (Strings{
                                     "example.com. NS answer apex",
                                     "example.com. SOA answer apex",
                                     "example.com. MX answer apex",
                                     // alias A was removed but alias is now a CNAME: not asked
                                     "alias.example.com. CNAME answer changed",
                                     "mail2.example.com. A answer changed",
                                     "new.example.com. A answer changed",
                                     "old.example.com. TXT nxdomain removed",
                                     "sip.example.com. AAAA nodata removed",
                                     "ns.sub.example.com. A referral changed",
                                     "gone.wild.example.com. TXT nodata removed",
                                 }));
    // Expected records come from the served version.
    EXPECT_EQ(query("example.com.", RRType::SOA).records, rrset(*v2_, "example.com.", RRType::SOA));
    EXPECT_EQ(query("example.com.", RRType::NS).records, rrset(*v2_, "example.com.", RRType::NS));
    EXPECT_EQ(query("mail2.example.com.", RRType::A).records, rrset(*v2_, "mail2.example.com.", RRType::A));
    // The glue's question expects the referral to sub.
    EXPECT_EQ(query("ns.sub.example.com.", RRType::A).records, rrset(*v2_, "sub.example.com.", RRType::NS));
    EXPECT_TRUE(query("old.example.com.", RRType::TXT).records.empty());
}

TEST_F(VerifySampleTest, ChangedNamesAreCappedNewestFirst) {
    // A second, newer change: only it fits under max_changed = 1.
    const auto v3 = build_zone(
        [&] {
            std::string t = v2_text();
            t.replace(t.find("2026112602"), 10, "2026112603");
            return t + "newest  IN TXT \"x\"\n";
        }(),
        "example.com.");
    recent_.push_back(zone::diff(*v2_, *v3));
    const auto s = verify::select_sample(*v3, recent_, 0, 1, 1);
    EXPECT_EQ(describe(s),
              (Strings{"example.com. NS answer apex", "example.com. SOA answer apex",
                       "example.com. MX answer apex", "newest.example.com. TXT answer changed"}));
    const auto none = verify::select_sample(*v3, recent_, 0, 1, 0);
    EXPECT_EQ(none.size(), 3U);
}

TEST_F(VerifySampleTest, SameSeedSameSampleOtherSeedOtherSample) {
    const auto big = build_zone(big_zone(), "example.com.");
    const auto a = verify::select_sample(*big, {}, 20, 42);
    const auto b = verify::select_sample(*big, {}, 20, 42);
    const auto c = verify::select_sample(*big, {}, 20, 43);
    EXPECT_EQ(describe(a), describe(b));
    EXPECT_NE(describe(a), describe(c));
    EXPECT_EQ(a.size(), 3U + 20U);
    // No (name, type) twice.
    std::set<std::string> seen;
    for (const auto& q : a) EXPECT_TRUE(seen.insert(describe(q)).second) << describe(q);
    for (std::size_t k = 3; k < a.size(); ++k) EXPECT_EQ(a[k].reason, "random");
}

TEST_F(VerifySampleTest, SmallZoneIsCoveredWholeWithoutGlue) {
    const auto s = verify::select_sample(*v2_, {}, 1000, 7);
    std::vector<std::string> got = describe(s);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (Strings{
                       "*.wild.example.com. A answer random",
                       "_sip._tcp.example.com. SRV answer random",
                       "alias.example.com. CNAME answer random",
                       "away.example.com. DNAME answer random",
                       "example.com. MX answer apex",
                       "example.com. NS answer apex",
                       "example.com. SOA answer apex",
                       "mail.example.com. A answer random",
                       "mail2.example.com. A answer random",
                       "new.example.com. A answer random",
                       "ns1.example.com. A answer random",
                       "sip.example.com. A answer random",
                       "sub.example.com. DS answer random",
                       "sub.example.com. NS referral random",
                       "www.example.com. CNAME answer random",
                   }));
    // The delegation: the NS RRset as a referral, the DS as the parent's answer; no glue.
    EXPECT_EQ(find(s, "ns.sub.example.com.", RRType::A), nullptr);
    EXPECT_EQ(find(s, "sub.example.com.", RRType::NS)->records, rrset(*v2_, "sub.example.com.", RRType::NS));
    EXPECT_EQ(find(s, "sub.example.com.", RRType::DS)->records, rrset(*v2_, "sub.example.com.", RRType::DS));
}

TEST_F(VerifySampleTest, ApexAlwaysPresentWhateverTheSeed) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
        const auto s = verify::select_sample(*v2_, {}, 3, seed);
        ASSERT_GE(s.size(), 3U);
        EXPECT_EQ(describe(s[0]), "example.com. NS answer apex");
        EXPECT_EQ(describe(s[1]), "example.com. SOA answer apex");
        EXPECT_EQ(describe(s[2]), "example.com. MX answer apex");
        EXPECT_EQ(s.size(), 6U);
    }
}

TEST(VerifySample, DataBelowADnameIsNotAsked) {
    const auto v = build_zone(std::string(kV1) + "x.away IN A 192.0.2.1\n", "example.com.");
    const auto s = verify::select_sample(*v, {}, 1000, 1);
    EXPECT_EQ(find(s, "x.away.example.com.", RRType::A), nullptr);
    EXPECT_NE(find(s, "away.example.com.", RRType::DNAME), nullptr);
}

TEST(VerifySample, SignedZoneDoesNotAskForSignaturesOrHashes) {
    std::string t(kV1);
    t += "@ IN RRSIG SOA 13 2 3600 20300101000000 20200101000000 12345 example.com. "
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    t += "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom IN NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3ton A\n";
    const auto v = build_zone(t, "example.com.");
    const auto s = verify::select_sample(*v, {}, 1000, 1);
    for (const auto& q : s) {
        EXPECT_NE(q.type, RRType::RRSIG) << describe(q);
        EXPECT_NE(q.type, RRType::NSEC3) << describe(q);
    }
    EXPECT_EQ(s.size(), 3U + 14U);
}

// ---------------------------------------------------------------------------------------------------------
// check_answer

TEST_F(VerifySampleTest, AnswerWithCompressedRdataMatches) {
    for (const RRType type : {RRType::MX, RRType::SOA, RRType::NS}) {
        const auto& q = query("example.com.", type);
        const auto wire = respond(q, dns::flag::AA, Rcode::NoError, q.records);
        // MessageBuilder compresses the names in MX, SOA and NS RDATA: the check must expand them.
        const auto m = dns::Message::parse(wire).value();
        ASSERT_EQ(m.records().size(), q.records.size());
        std::size_t sent = 0, stored = 0;
        for (std::size_t k = 0; k < q.records.size(); ++k) {
            sent += m.records()[k].rdata.size();
            stored += zone::decode_record(q.records[k]).rdata.size();
        }
        EXPECT_LT(sent, stored) << dns::to_string(type);
        const auto r = verify::check_answer(q, m);
        EXPECT_TRUE(r.match) << dns::to_string(type) << ": " << r.detail;
        EXPECT_TRUE(r.detail.empty());
        EXPECT_EQ(r.theirs, q.records);
    }
}

TEST_F(VerifySampleTest, CaseOfNamesDoesNotMatter) {
    const auto& q = query("example.com.", RRType::MX);
    const auto wire =
        respond(q, dns::flag::AA, Rcode::NoError, {record("EXAMPLE.com. 3600 IN MX 10 MAIL.Example.COM.")});
    EXPECT_TRUE(check(q, wire).match);
}

TEST_F(VerifySampleTest, CompressedSrvTargetIsExpanded) {
    // _sip._tcp.example.com. SRV 0 5 5060 sip.example.com. by hand, the target "sip" + a pointer to the
    // question's "example.com." (RFC 2052 servers compressed it).
    const SampleQuery q = [&] {
        const auto s = verify::select_sample(*v2_, {}, 1000, 7);
        return *find(s, "_sip._tcp.example.com.", RRType::SRV);
    }();
    std::vector<uint8_t> wire = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0};
    const std::string qname(
        "\x04_sip\x04_tcp\x07"
        "example\x03"
        "com",
        22);
    wire.insert(wire.end(), qname.begin(), qname.end());
    wire.push_back(0);
    wire.insert(wire.end(), {0, 33, 0, 1});  // QTYPE SRV, QCLASS IN
    const std::vector<uint8_t> answer = {0xC0, 12, 0, 33, 0,    1,    0, 0,   0x0E, 0x10, 0,    12,
                                         0,    0,  0, 5,  0x13, 0xC4, 3, 's', 'i',  'p',  0xC0, 22};
    wire.insert(wire.end(), answer.begin(), answer.end());
    const auto m = dns::Message::parse(wire).value();
    ASSERT_EQ(m.records().size(), 1U);
    EXPECT_EQ(dns::uncompressed_record(m, m.records()[0]), q.records.at(0));
    const auto r = verify::check_answer(q, m);
    EXPECT_TRUE(r.match) << r.detail;
}

TEST_F(VerifySampleTest, MismatchesSayWhy) {
    const auto& q = query("mail2.example.com.", RRType::A);
    // Not authoritative.
    auto r = check(q, respond(q, 0, Rcode::NoError, q.records));
    EXPECT_FALSE(r.match);
    EXPECT_EQ(r.detail, "not authoritative (AA clear)");
    // Wrong rcode.
    r = check(q, respond(q, dns::flag::AA, Rcode::NXDomain, {}, rrset(*v2_, "example.com.", RRType::SOA)));
    EXPECT_FALSE(r.match);
    EXPECT_EQ(r.detail, "rcode NXDOMAIN, expected NOERROR");
    r = check(q, respond(q, 0, Rcode::Refused, {}));
    EXPECT_EQ(r.detail, "rcode REFUSED, expected NOERROR");
    // Other data: the old address, as a secondary that missed the change serves it.
    const auto old = rrset(*v1_, "mail2.example.com.", RRType::A);
    r = check(q, respond(q, dns::flag::AA, Rcode::NoError, old));
    EXPECT_FALSE(r.match);
    EXPECT_EQ(r.detail, "answer differs");
    EXPECT_EQ(r.theirs, old);
    // Another TTL.
    r = check(q, respond(q, dns::flag::AA, Rcode::NoError, {record("mail2 60 IN A 192.0.2.27")}));
    EXPECT_EQ(r.detail, "answer differs");
    // Nothing of the type.
    r = check(q, respond(q, dns::flag::AA, Rcode::NoError, {}, rrset(*v2_, "example.com.", RRType::SOA)));
    EXPECT_EQ(r.detail, "no A in the answer");
    // A CNAME instead.
    r = check(q, respond(q, dns::flag::AA, Rcode::NoError,
                         {record("mail2 3600 IN CNAME mail"), record("mail 3600 IN A 192.0.2.25")}));
    EXPECT_EQ(r.detail, "CNAME at the name, expected A");
    ASSERT_EQ(r.theirs.size(), 1U);
    EXPECT_EQ(zone::decode_record(r.theirs[0]).type, RRType::CNAME);
    // Another question.
    SampleQuery other = q;
    other.name = name("mail.example.com.");
    r = check(q, respond(other, dns::flag::AA, Rcode::NoError, q.records));
    EXPECT_EQ(r.detail, "answers another question (mail.example.com. A)");
}

TEST_F(VerifySampleTest, OtherRRsetsInTheAnswerAreIgnored) {
    const auto& q = query("alias.example.com.", RRType::CNAME);
    // The CNAME and what it points to (a server may add the target's addresses).
    auto answer = q.records;
    answer.push_back(record("mail 3600 IN A 192.0.2.25"));
    const auto r = check(q, respond(q, dns::flag::AA, Rcode::NoError, answer));
    EXPECT_TRUE(r.match) << r.detail;
    EXPECT_EQ(r.theirs, q.records);
}

TEST_F(VerifySampleTest, NegativeAnswers) {
    const auto soa = rrset(*v2_, "example.com.", RRType::SOA);
    const auto& nx = query("old.example.com.", RRType::TXT);
    EXPECT_TRUE(check(nx, respond(nx, dns::flag::AA, Rcode::NXDomain, {}, soa)).match);
    // A secondary that missed the removal still answers.
    auto r = check(nx, respond(nx, dns::flag::AA, Rcode::NoError, {record("old 3600 IN TXT \"going\"")}));
    EXPECT_EQ(r.detail, "rcode NOERROR, expected NXDOMAIN");
    ASSERT_EQ(r.theirs.size(), 1U);
    r = check(nx, respond(nx, dns::flag::AA, Rcode::NXDomain, {}));
    EXPECT_EQ(r.detail, "no SOA in the authority section");
    r = check(nx, respond(nx, 0, Rcode::NXDomain, {}, soa));
    EXPECT_EQ(r.detail, "not authoritative (AA clear)");

    const auto& nodata = query("sip.example.com.", RRType::AAAA);
    EXPECT_TRUE(check(nodata, respond(nodata, dns::flag::AA, Rcode::NoError, {}, soa)).match);
    r = check(nodata,
              respond(nodata, dns::flag::AA, Rcode::NoError, {record("sip 3600 IN AAAA 2001:db8::60")}, soa));
    EXPECT_FALSE(r.match);
    EXPECT_EQ(r.detail, "AAAA in the answer, expected NODATA");
    r = check(nodata, respond(nodata, dns::flag::AA, Rcode::NXDomain, {}, soa));
    EXPECT_EQ(r.detail, "rcode NXDOMAIN, expected NOERROR");
}

TEST_F(VerifySampleTest, Referrals) {
    const auto& q = query("ns.sub.example.com.", RRType::A);
    const auto ns = rrset(*v2_, "sub.example.com.", RRType::NS);
    const auto glue = rrset(*v2_, "ns.sub.example.com.", RRType::A);
    auto r = check(q, respond(q, 0, Rcode::NoError, {}, ns, glue));
    EXPECT_TRUE(r.match) << r.detail;
    EXPECT_EQ(r.theirs, ns);
    // A referral with another NS set.
    r = check(q, respond(q, 0, Rcode::NoError, {}, {record("sub 3600 IN NS ns.example.org.")}));
    EXPECT_EQ(r.detail, "referral differs");
    // An authoritative answer instead: the secondary serves the name itself.
    r = check(q, respond(q, dns::flag::AA, Rcode::NoError, glue));
    EXPECT_FALSE(r.match);
    EXPECT_EQ(r.detail, "no referral: answered authoritatively (serves the child zone too?)");
    EXPECT_EQ(r.theirs, glue);
    r = check(q, respond(q, 0, Rcode::NoError, {}));
    EXPECT_EQ(r.detail, "no referral (no NS RRset in the authority section)");
    // NS records of another owner in the authority section are not the referral.
    r = check(q, respond(q, 0, Rcode::NoError, {}, rrset(*v2_, "example.com.", RRType::NS)));
    EXPECT_EQ(r.detail, "no referral (no NS RRset in the authority section)");
}

TEST_F(VerifySampleTest, WildcardAnswerIsSynthesisedForTheName) {
    // A removed name below *.wild: a TXT question is NODATA (the wildcard has no TXT), an A question
    // gets the wildcard's A owned by the name (RFC 4592 §4.1).
    const auto s = verify::select_sample(*v2_, recent_, 0, 1);
    const auto* q = find(s, "gone.wild.example.com.", RRType::TXT);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->expect, Expect::NoData);

    const auto v3 = build_zone(
        [&] {
            std::string t = v2_text();
            t.replace(t.find("2026112602"), 10, "2026112603");
            return t + "gone2.wild IN A 192.0.2.1\n";
        }(),
        "example.com.");
    std::vector<zone::Changeset> back = {zone::diff(*v3, *v2_)};
    const auto s2 = verify::select_sample(*v2_, back, 0, 1);
    const auto* a = find(s2, "gone2.wild.example.com.", RRType::A);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->expect, Expect::Answer);
    EXPECT_EQ(a->reason, "removed");
    ASSERT_EQ(a->records.size(), 1U);
    EXPECT_EQ(a->records[0], record("gone2.wild 3600 IN A 192.0.2.77"));
}

// ---------------------------------------------------------------------------------------------------------
// uncompressed_record

namespace {

// A response with one answer record whose RDATA is `rdata` (type `type`), after the question
// "www.example.com. A" at offset 12 ("example.com." at 16).
std::vector<uint8_t> crafted(uint16_t type, std::vector<uint8_t> rdata) {
    std::vector<uint8_t> wire = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0};
    const std::string qname(
        "\x03www\x07"
        "example\x03"
        "com",
        16);
    wire.insert(wire.end(), qname.begin(), qname.end());
    wire.push_back(0);
    wire.insert(wire.end(), {0, 1, 0, 1});
    const std::vector<uint8_t> head = {
        0xC0, 12,   static_cast<uint8_t>(type >> 8),         static_cast<uint8_t>(type),        0, 1, 0, 0,
        0x0E, 0x10, static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
    wire.insert(wire.end(), head.begin(), head.end());
    wire.insert(wire.end(), rdata.begin(), rdata.end());
    return wire;
}

}  // namespace

TEST(UncompressedRecord, ExpandsOwnerAndRdataNames) {
    // MX 10 mail.<pointer to example.com.>
    const auto wire = crafted(15, {0, 10, 4, 'm', 'a', 'i', 'l', 0xC0, 16});
    const auto m = dns::Message::parse(wire).value();
    ASSERT_EQ(m.records().size(), 1U);
    EXPECT_EQ(dns::uncompressed_record(m, m.records()[0]), record("www 3600 IN MX 10 mail"));
    // SOA: both names compressed, then the five numbers.
    const std::vector<uint8_t> soa = {3, 'n', 's', '1', 0xC0, 16, 0xC0, 16, 0, 0, 0, 1, 0, 0,
                                      0, 2,   0,   0,   0,    3,  0,    0,  0, 4, 0, 0, 0, 5};
    const auto w2 = crafted(6, soa);
    const auto m2 = dns::Message::parse(w2).value();
    EXPECT_EQ(dns::uncompressed_record(m2, m2.records()[0]),
              record("www 3600 IN SOA ns1 example.com. 1 2 3 4 5"));
}

TEST(UncompressedRecord, OtherTypesAreCopied) {
    // TXT: a 0xC0 octet in it is data, not a pointer.
    const auto wire = crafted(16, {2, 0xC0, 16});
    const auto m = dns::Message::parse(wire).value();
    const auto w = dns::uncompressed_record(m, m.records()[0]);
    ASSERT_FALSE(w.empty());
    const auto v = zone::decode_record(w);
    EXPECT_EQ(v.type, RRType::TXT);
    EXPECT_EQ(std::vector<uint8_t>(v.rdata.begin(), v.rdata.end()), (std::vector<uint8_t>{2, 0xC0, 16}));
    EXPECT_EQ(v.owner.to_string(), "www.example.com.");
}

TEST(UncompressedRecord, MalformedIsEmpty) {
    auto empty_for = [](uint16_t type, std::vector<uint8_t> rdata) {
        const auto wire = crafted(type, std::move(rdata));
        const auto m = dns::Message::parse(wire);
        EXPECT_TRUE(m.has_value());
        if (!m) return false;
        return dns::uncompressed_record(*m, m->records()[0]).empty();
    };
    // The answer's RDATA starts at offset 45.
    EXPECT_TRUE(empty_for(5, {}));  // a CNAME without its name: empty RDATA only in class ANY and NONE
    EXPECT_TRUE(empty_for(5, {0xC0, 45}));                  // CNAME pointing at itself
    EXPECT_TRUE(empty_for(5, {0xC0, 47, 0xC0, 45}));        // a pointer forward to a pointer back: a loop
    EXPECT_TRUE(empty_for(5, {0xC0, 0xFF}));                // beyond the message
    EXPECT_TRUE(empty_for(5, {0xFF, 0xFF}));                // pointer to offset 16383
    EXPECT_TRUE(empty_for(5, {3, 'w', 'w'}));               // a label past the RDATA
    EXPECT_TRUE(empty_for(5, {3, 'w', 'w', 'w', 0, 0}));    // octets after the name
    EXPECT_TRUE(empty_for(15, {0, 10}));                    // MX without an exchange
    EXPECT_TRUE(empty_for(6, {0xC0, 16, 0xC0, 16, 0, 0}));  // SOA cut short
    EXPECT_TRUE(empty_for(33, {0, 0, 0, 5, 0x13, 0xC4, 0xC0, 99}));  // SRV target beyond
    EXPECT_FALSE(empty_for(5, {0xC0, 16}));                          // a valid pointer, for contrast

    // A record that is not from this message: its RDATA lies in another one.
    const auto wire = crafted(5, {0xC0, 16});
    const auto m = dns::Message::parse(wire).value();
    const auto other_wire = crafted(5, {0xC0, 16});
    const auto other = dns::Message::parse(other_wire).value();
    EXPECT_TRUE(dns::uncompressed_record(m, other.records()[0]).empty());
    EXPECT_FALSE(dns::uncompressed_record(m, m.records()[0]).empty());
}
