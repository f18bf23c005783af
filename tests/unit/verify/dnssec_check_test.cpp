// The DNSSEC side of verifying a secondary: a copy of a signed zone as we serve it checks out; an extra
// or a missing DNSKEY is named by key tag; a damaged signature, an RRset served without its RRSIG, an
// expired RRSIG outside the sample and signatures close to expiry are each counted; a referral's NS
// RRset is not expected to be signed; an RRset met in several answers is checked once.
#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "xfr/verify/DnssecCheck.h"
#include "xfr/verify/VerifySample.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/SignZone.h"

namespace headwater {
namespace {

using dns::RRType;
using testing::build_zone;
using testing::name;
using verify::DnssecCheck;
using verify::WireRecord;

constexpr uint32_t kNow = 1764892800;  // signing time
constexpr uint32_t kWeek = 7 * 86400;

class DnssecCheckTest : public ::testing::Test {
  protected:
    DnssecCheckTest() {
        const auto source = build_zone(
            "$TTL 300\n@ 3600 IN SOA ns1 hm 1 7200 3600 1209600 600\n@ NS ns1\nns1 A 192.0.2.1\n"
            "www A 192.0.2.80\nmail A 192.0.2.25\nsub NS ns.sub\nns.sub A 192.0.2.9\n",
            "example.com.");
        keys_.push_back({sign::DnssecKey::generate(sign::DnssecAlgorithm::Ed25519, sign::kKskFlags).value()});
        sign::SignOptions o;
        o.now = kNow;
        served_ = sign_zone(*source, nullptr, keys_, sign::SigningPolicy{}, o).value().version;
        for (std::size_t i = 0; i < served_->size(); ++i) {
            const auto w = served_->record(i).wire;
            copy_.emplace_back(w.begin(), w.end());
        }
        sample_ = verify::select_sample(*served_, {}, 100, 1);
    }

    // Index in copy_ of the first record at `owner` of `type` (for RRSIG: covering `covered`).
    std::size_t find(std::string_view owner, RRType type, RRType covered = RRType::A) const {
        for (std::size_t i = 0; i < copy_.size(); ++i) {
            const auto r = zone::decode_record(copy_[i]);
            if (!(r.owner == name(owner)) || r.type != type) continue;
            if (type == RRType::RRSIG && sign::read_rrsig(r.rdata)->covered != covered) continue;
            return i;
        }
        ADD_FAILURE() << owner;
        return 0;
    }

    // A response with these answer and authority records, AA set.
    static std::vector<uint8_t> respond(std::string_view qname, RRType qtype,
                                        const std::vector<WireRecord>& answer,
                                        const std::vector<WireRecord>& authority = {},
                                        uint16_t flags = dns::flag::AA) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, dns::kMaxTcpMessage);
        mb.header(1, static_cast<uint16_t>(dns::flag::QR | flags));
        mb.question(name(qname), dns::to_u16(qtype), 1);
        for (const auto& r : answer) EXPECT_EQ(mb.push_wire(dns::Section::Answer, r), dns::Pushed::Ok);
        for (const auto& r : authority) EXPECT_EQ(mb.push_wire(dns::Section::Authority, r), dns::Pushed::Ok);
        mb.finish();
        return out;
    }

    std::vector<WireRecord> rrset_with_sigs(std::string_view owner, RRType type) const {
        std::vector<WireRecord> out;
        for (const auto& w : copy_) {
            const auto r = zone::decode_record(w);
            if (!(r.owner == name(owner))) continue;
            if (r.type == type || (r.type == RRType::RRSIG && sign::read_rrsig(r.rdata)->covered == type))
                out.push_back(w);
        }
        return out;
    }

    DnssecCheck check(int64_t now = kNow, uint32_t warn = kWeek) const { return {*served_, now, warn, 10}; }

    std::vector<sign::SigningKey> keys_;
    zone::ZoneVersionPtr served_;
    std::vector<WireRecord> copy_;
    std::vector<verify::SampleQuery> sample_;
};

TEST_F(DnssecCheckTest, AppliesToSignedZonesOnly) {
    EXPECT_TRUE(DnssecCheck::applies(*served_));
    EXPECT_FALSE(
        DnssecCheck::applies(*build_zone("@ 3600 IN SOA ns hm 1 2 3 4 5\n@ NS ns\n", "example.com.")));
}

TEST_F(DnssecCheckTest, OurOwnCopyChecksOut) {
    auto c = check();
    const auto wire =
        respond("example.com.", RRType::DNSKEY, rrset_with_sigs("example.com.", RRType::DNSKEY));
    c.check_dnskey_answer(dns::Message::parse(wire).value());
    c.check_copy(copy_, sample_);
    const auto& r = c.result();
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.dnskey_match);
    EXPECT_TRUE(r.missing_tags.empty() && r.extra_tags.empty());
    EXPECT_EQ(r.signatures_bad, 0u);
    EXPECT_EQ(r.expiring, 0u);
    // Apex SOA, NS, DNSKEY, NSEC; A and NSEC at ns1, www, mail; DS-less sub: its NSEC only. Every RRSIG
    // dated.
    EXPECT_GE(r.signatures_checked, 10u);
    std::size_t rrsigs = 0;
    for (const auto& w : copy_) rrsigs += zone::decode_record(w).type == RRType::RRSIG ? 1 : 0;
    EXPECT_EQ(r.signatures_dated, rrsigs);
    ASSERT_TRUE(r.earliest_expiry);
    EXPECT_GT(*r.earliest_expiry, int64_t{kNow} + kWeek);
}

TEST_F(DnssecCheckTest, ExtraAndMissingKeysAreNamedByTag) {
    auto other = sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kZskFlags).value();
    auto theirs = rrset_with_sigs("example.com.", RRType::DNSKEY);
    const auto first = zone::decode_record(theirs.front());
    // Their DNSKEY RRset: the other key instead of ours (same owner, TTL).
    std::vector<uint8_t> w(first.owner.wire().begin(), first.owner.wire().end());
    const auto rdata = other.dnskey_rdata();
    for (const uint16_t v :
         {uint16_t{48}, uint16_t{1}, uint16_t{0}, uint16_t{3600}, static_cast<uint16_t>(rdata.size())}) {
        w.push_back(static_cast<uint8_t>(v >> 8));
        w.push_back(static_cast<uint8_t>(v));
    }
    w.insert(w.end(), rdata.begin(), rdata.end());
    std::vector<WireRecord> answer;
    for (const auto& rec : theirs)
        if (zone::decode_record(rec).type == RRType::RRSIG) answer.push_back(rec);
    answer.push_back(w);
    auto c = check();
    c.check_dnskey_answer(dns::Message::parse(respond("example.com.", RRType::DNSKEY, answer)).value());
    const auto& r = c.result();
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.dnskey_match);
    EXPECT_EQ(r.missing_tags, std::vector<uint16_t>{keys_.front().key.tag()});
    EXPECT_EQ(r.extra_tags, std::vector<uint16_t>{other.tag()});
    // Our RRSIG does not cover their RRset.
    ASSERT_FALSE(r.problems.empty());
    EXPECT_EQ(r.problems.front().type, RRType::DNSKEY);
    EXPECT_EQ(r.problems.front().problem, "bad-signature");
}

TEST_F(DnssecCheckTest, DnskeyQuestionUnansweredIsNoMatch) {
    auto c = check();
    c.dnskey_failed("no answer: timeout");
    EXPECT_FALSE(c.result().ok());
    EXPECT_EQ(c.result().dnskey_error, "no answer: timeout");
    auto refused = check();
    refused.check_dnskey_answer(
        dns::Message::parse(respond("example.com.", RRType::DNSKEY, {}, {}, 0)).value());
    EXPECT_EQ(refused.result().dnskey_error, "not authoritative (AA clear)");
}

TEST_F(DnssecCheckTest, DamagedSignatureInTheCopyIsBad) {
    auto copy = copy_;
    copy[find("www.example.com.", RRType::RRSIG)].back() ^= 0x01;
    auto c = check();
    c.check_copy(copy, sample_);
    const auto& r = c.result();
    EXPECT_EQ(r.signatures_bad, 1u);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].owner.to_string(), "www.example.com.");
    EXPECT_EQ(r.problems[0].type, RRType::A);
    EXPECT_EQ(r.problems[0].problem, "bad-signature");
    EXPECT_EQ(r.problems[0].key_tag, keys_.front().key.tag());
}

TEST_F(DnssecCheckTest, ExpiredOutsideTheSampleAndExpiringAreCounted) {
    // Three weeks on: every signature (14 days, some jitter) has expired; none sampled.
    auto c = check(int64_t{kNow} + 21 * 86400);
    c.check_copy(copy_, {});
    EXPECT_EQ(c.result().signatures_checked, 0u);
    EXPECT_EQ(c.result().signatures_bad, c.result().signatures_dated);
    EXPECT_EQ(c.result().problems.size(), 10u);  // max_listed
    EXPECT_EQ(c.result().problems[0].problem, "expired");
    // Ten days on, with the sample: all valid, all within a week of expiring.
    auto soon = check(int64_t{kNow} + 10 * 86400);
    soon.check_copy(copy_, sample_);
    EXPECT_EQ(soon.result().signatures_bad, 0u);
    EXPECT_EQ(soon.result().expiring, soon.result().signatures_dated);
}

TEST_F(DnssecCheckTest, UnsignedAnswerIsBadButReferralNsIsNot) {
    auto c = check();
    // www A without its RRSIG.
    std::vector<WireRecord> www{copy_[find("www.example.com.", RRType::A)]};
    c.check_response(dns::Message::parse(respond("www.example.com.", RRType::A, www)).value());
    EXPECT_EQ(c.result().signatures_bad, 1u);
    ASSERT_EQ(c.result().problems.size(), 1u);
    EXPECT_EQ(c.result().problems[0].problem, "unsigned");
    // A referral: the NS RRset of the cut, unsigned, and the NSEC proving no DS, signed.
    auto authority = rrset_with_sigs("sub.example.com.", RRType::NSEC);
    authority.push_back(copy_[find("sub.example.com.", RRType::NS)]);
    c.check_response(dns::Message::parse(respond("a.sub.example.com.", RRType::A, {}, authority, 0)).value());
    EXPECT_EQ(c.result().signatures_bad, 1u);
    EXPECT_EQ(c.result().rrsets_checked, 2u);
    // The same RRset again is not checked twice.
    c.check_response(dns::Message::parse(respond("a.sub.example.com.", RRType::A, {}, authority, 0)).value());
    EXPECT_EQ(c.result().rrsets_checked, 2u);
}

}  // namespace
}  // namespace headwater
