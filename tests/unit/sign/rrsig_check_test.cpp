// Checking an RRSIG against a zone's DNSKEYs at a given time (RFC 4035 §5.3): the published signature of
// RFC 8080 §6.1 verifies with a key read from its DNSKEY alone; a changed record, another signer, a time
// outside the validity, an unknown key tag, another type and a wrong labels field are each told apart;
// case, order and duplicates of the records do not matter (RFC 4034 §6); wildcard expansions verify;
// and every signature sign_zone makes verifies with public-only keys of each algorithm.
#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "zone/dns/Base64.h"
#include "zone/sign/DnssecKey.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/RrsigCheck.h"
#include "zone/sign/SignZone.h"

namespace headwater::sign {
namespace {

using dns::RRType;
using testing::build_zone;
using testing::name;
using testing::wire_records;

// RFC 8080 §6.1: the DNSKEY, and the RRSIG over example.com. 3600 IN MX 10 mail.example.com.
constexpr const char* kDnskey =
    "example.com. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n";
constexpr const char* kSignature =
    "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==";
constexpr uint32_t kInception = 1438207200;
constexpr uint32_t kExpiration = 1440021600;
constexpr int64_t kDuring = 1439000000;
constexpr uint16_t kTag = 3613;

std::vector<DnssecKey> rfc8080_keys() {
    const auto records = wire_records(kDnskey);
    std::vector<DnssecKey> keys;
    keys.push_back(DnssecKey::from_dnskey(zone::decode_record(records.at(0)).rdata).value());
    return keys;
}

// An RRSIG record at `owner` with these fields and signature.
std::vector<uint8_t> rrsig_record(std::string_view owner, const RrsigFields& f, std::string_view signature) {
    std::vector<uint8_t> rdata;
    append_rrsig_head(f, rdata);
    const auto sig = dns::base64_decode(signature).value();
    rdata.insert(rdata.end(), sig.begin(), sig.end());
    const dns::Name o = name(owner);
    std::vector<uint8_t> w(o.wire().begin(), o.wire().end());
    for (const uint16_t v :
         {uint16_t{46}, uint16_t{1}, uint16_t{0}, uint16_t{3600}, static_cast<uint16_t>(rdata.size())}) {
        w.push_back(static_cast<uint8_t>(v >> 8));
        w.push_back(static_cast<uint8_t>(v));
    }
    w.insert(w.end(), rdata.begin(), rdata.end());
    return w;
}

struct Case {
    std::vector<std::vector<uint8_t>> records;  // the RRset's
    std::vector<uint8_t> rrsig;

    RrsigCheck check(std::span<const DnssecKey> keys, int64_t now,
                     std::string_view apex = "example.com.") const {
        std::vector<zone::RecordView> rrset;
        for (const auto& r : records) rrset.push_back(zone::decode_record(r));
        const dns::Name a = name(apex);
        return check_rrsig(a, rrset, zone::decode_record(rrsig), keys, now);
    }
};

Case rfc8080_case(std::string_view mx = "example.com. 3600 IN MX 10 mail.example.com.\n",
                  std::string_view signer = "example.com.", uint16_t tag = kTag, RRType covered = RRType::MX,
                  uint8_t labels = 2) {
    const dns::Name s = name(signer);
    const RrsigFields f{covered, DnssecAlgorithm::Ed25519, labels, 3600, kExpiration, kInception, tag, s};
    return {wire_records(mx), rrsig_record("example.com.", f, kSignature)};
}

TEST(RrsigCheck, PublishedSignatureVerifiesWithThePublicKeyAlone) {
    const auto keys = rfc8080_keys();
    ASSERT_EQ(keys.front().tag(), kTag);
    const auto r = rfc8080_case().check(keys, kDuring);
    EXPECT_EQ(r.verdict, RrsigVerdict::Valid) << to_string(r.verdict);
    EXPECT_EQ(r.key_tag, kTag);
    EXPECT_EQ(r.algorithm, 15);
    EXPECT_EQ(r.expiration, kExpiration);
}

TEST(RrsigCheck, CaseOrderAndDuplicatesOfTheRecordsDoNotMatter) {
    // RFC 4034 §6.2: owner and the MX exchange lower-cased; RFC 2181 §5: a duplicate is the same record.
    const auto c = rfc8080_case(
        "EXAMPLE.com. 3600 IN MX 10 MAIL.Example.COM.\nexample.com. 3600 IN MX 10 mail.example.com.\n");
    std::vector<uint8_t> upper_owner = c.rrsig;
    upper_owner[1] = 'E';  // the RRSIG's own owner in upper case too
    EXPECT_EQ((Case{c.records, upper_owner}.check(rfc8080_keys(), kDuring).verdict), RrsigVerdict::Valid);
}

TEST(RrsigCheck, TamperedRdataIsABadSignature) {
    const auto r =
        rfc8080_case("example.com. 3600 IN MX 20 mail.example.com.\n").check(rfc8080_keys(), kDuring);
    EXPECT_EQ(r.verdict, RrsigVerdict::BadSignature) << to_string(r.verdict);
}

TEST(RrsigCheck, AnExtraRecordIsABadSignature) {
    const auto r = rfc8080_case(
                       "example.com. 3600 IN MX 10 mail.example.com.\n"
                       "example.com. 3600 IN MX 20 backup.example.com.\n")
                       .check(rfc8080_keys(), kDuring);
    EXPECT_EQ(r.verdict, RrsigVerdict::BadSignature);
}

TEST(RrsigCheck, TamperedSignatureIsABadSignature) {
    auto c = rfc8080_case();
    c.rrsig.back() ^= 0x01;
    EXPECT_EQ(c.check(rfc8080_keys(), kDuring).verdict, RrsigVerdict::BadSignature);
}

TEST(RrsigCheck, WrongSignerIsToldApart) {
    const auto c = rfc8080_case("example.com. 3600 IN MX 10 mail.example.com.\n", "example.net.");
    EXPECT_EQ(c.check(rfc8080_keys(), kDuring).verdict, RrsigVerdict::WrongSigner);
    // The signer must be the zone we check, even when the signature itself is good.
    EXPECT_EQ(rfc8080_case().check(rfc8080_keys(), kDuring, "com.").verdict, RrsigVerdict::WrongSigner);
}

TEST(RrsigCheck, ValidityWindowIsInclusiveAndOutsideItIsExpiredOrNotYetValid) {
    const auto c = rfc8080_case();
    const auto keys = rfc8080_keys();
    EXPECT_EQ(c.check(keys, kInception).verdict, RrsigVerdict::Valid);
    EXPECT_EQ(c.check(keys, kExpiration).verdict, RrsigVerdict::Valid);
    EXPECT_EQ(c.check(keys, int64_t{kExpiration} + 1).verdict, RrsigVerdict::Expired);
    EXPECT_EQ(c.check(keys, int64_t{kInception} - 1).verdict, RrsigVerdict::NotYetValid);
    // Years later the expiration is still in the past (RFC 1982 arithmetic within 68 years).
    EXPECT_EQ(c.check(keys, int64_t{kExpiration} + 20LL * 365 * 86400).verdict, RrsigVerdict::Expired);
}

TEST(RrsigCheck, SecondsFromFollowSerialArithmetic) {
    EXPECT_EQ(rrsig_seconds_from(100, 40), 60);
    EXPECT_EQ(rrsig_seconds_from(40, 100), -60);
    // After 2106 the field has wrapped: 10 means 10 seconds past the wrap.
    EXPECT_EQ(rrsig_seconds_from(10, int64_t{1} << 32), 10);
    EXPECT_EQ(rrsig_seconds_from(0xFFFFFFF0u, (int64_t{1} << 32) + 5), -21);
}

TEST(RrsigCheck, WrongKeyTagFindsNoKey) {
    const auto c = rfc8080_case("example.com. 3600 IN MX 10 mail.example.com.\n", "example.com.", kTag + 1);
    EXPECT_EQ(c.check(rfc8080_keys(), kDuring).verdict, RrsigVerdict::NoKey);
    EXPECT_EQ(rfc8080_case().check({}, kDuring).verdict, RrsigVerdict::NoKey);
}

TEST(RrsigCheck, KeyWithoutTheZoneFlagIsNotUsed) {
    // RFC 4035 §5.3.1: flags 0 (not a zone key) changes the tag, so search by the tag of that key.
    const auto wires = wire_records(kDnskey);  // the record the RDATA view points into
    const auto rdata = zone::decode_record(wires.at(0)).rdata;
    std::vector<uint8_t> no_zone_flag(rdata.begin(), rdata.end());
    no_zone_flag[0] = 0;
    no_zone_flag[1] = 0;
    std::vector<DnssecKey> keys{DnssecKey::from_dnskey(no_zone_flag).value()};
    const auto c =
        rfc8080_case("example.com. 3600 IN MX 10 mail.example.com.\n", "example.com.", keys.front().tag());
    EXPECT_EQ(c.check(keys, kDuring).verdict, RrsigVerdict::NoKey);
}

TEST(RrsigCheck, CoveredTypeLabelsAndOwnerMustFit) {
    const auto keys = rfc8080_keys();
    EXPECT_EQ(rfc8080_case("example.com. 3600 IN MX 10 mail.example.com.\n", "example.com.", kTag, RRType::A)
                  .check(keys, kDuring)
                  .verdict,
              RrsigVerdict::WrongType);
    EXPECT_EQ(
        rfc8080_case("example.com. 3600 IN MX 10 mail.example.com.\n", "example.com.", kTag, RRType::MX, 3)
            .check(keys, kDuring)
            .verdict,
        RrsigVerdict::WrongLabels);
    EXPECT_EQ(
        rfc8080_case("other.example.com. 3600 IN MX 10 mail.example.com.\n").check(keys, kDuring).verdict,
        RrsigVerdict::NotCovering);
    auto empty = rfc8080_case();
    empty.records.clear();
    EXPECT_EQ(empty.check(keys, kDuring).verdict, RrsigVerdict::NotCovering);
    // RDATA of 10 octets: shorter than the fixed fields of an RRSIG.
    auto truncated = rfc8080_case();
    const std::size_t header = name("example.com.").wire().size() + 10;
    truncated.rrsig.resize(header + 10);
    truncated.rrsig[header - 2] = 0;
    truncated.rrsig[header - 1] = 10;
    EXPECT_EQ(truncated.check(keys, kDuring).verdict, RrsigVerdict::Malformed);
}

constexpr uint32_t kNow = 1764892800;

// Every RRSIG of a zone sign_zone signed, checked with keys made from the DNSKEY RRset it publishes.
void expect_signed_zone_validates(DnssecAlgorithm algorithm) {
    const auto source = build_zone(
        "$TTL 300\n@ 3600 IN SOA ns1 hm 1 7200 3600 1209600 600\n@ NS ns1\nns1 A 192.0.2.1\n"
        "*.wild TXT \"w\"\nwww CNAME ns1\n",
        "example.com.");
    std::vector<SigningKey> signing;
    signing.push_back({DnssecKey::generate(algorithm, kKskFlags).value(), true, true});
    SignOptions o;
    o.now = kNow;
    auto signed_zone = sign_zone(*source, nullptr, signing, SigningPolicy{}, o);
    ASSERT_TRUE(signed_zone) << signed_zone.error();
    const auto& v = *signed_zone->version;
    const dns::Name apex = name("example.com.");
    std::vector<DnssecKey> keys;
    const auto dnskeys = v.find_rrset(apex, RRType::DNSKEY);
    for (std::size_t i = dnskeys.begin; i < dnskeys.end; ++i)
        keys.push_back(DnssecKey::from_dnskey(v.record(i).rdata).value());
    ASSERT_EQ(keys.size(), 1u);
    std::size_t checked = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto sig = v.record(i);
        if (sig.type != RRType::RRSIG) continue;
        const auto set = v.find_rrset(sig.owner, read_rrsig(sig.rdata)->covered);
        std::vector<zone::RecordView> rrset;
        for (std::size_t j = set.begin; j < set.end; ++j) rrset.push_back(v.record(j));
        const auto r = check_rrsig(apex, rrset, sig, keys, kNow);
        EXPECT_EQ(r.verdict, RrsigVerdict::Valid) << sig.owner.to_string() << " " << to_string(r.verdict);
        ++checked;
    }
    EXPECT_GT(checked, 5u);

    // A wildcard expansion (RFC 4035 §5.3.2): the answer for a.wild carries the RRSIG of *.wild.
    const auto wild = v.find_rrset(name("*.wild.example.com."), RRType::TXT);
    const auto wild_sigs = v.find_rrsigs(name("*.wild.example.com."), RRType::TXT);
    ASSERT_FALSE(wild.empty());
    ASSERT_FALSE(wild_sigs.empty());
    const dns::Name expanded = name("a.b.wild.example.com.");
    zone::RecordView txt = v.record(wild.begin);
    txt.owner = expanded;
    zone::RecordView sig = v.record(wild_sigs.begin);
    sig.owner = expanded;
    const std::vector<zone::RecordView> expanded_set{txt};
    EXPECT_EQ(check_rrsig(apex, expanded_set, sig, keys, kNow).verdict, RrsigVerdict::Valid);
}

TEST(RrsigCheck, SignedZonesValidateWithPublicOnlyKeysOfEveryAlgorithm) {
    for (const auto a : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::EcdsaP384Sha384,
                         DnssecAlgorithm::Ed25519, DnssecAlgorithm::RsaSha256}) {
        SCOPED_TRACE(std::string(config_name(a)));
        expect_signed_zone_validates(a);
    }
}

TEST(DnssecKey, FromDnskeyRefusesWhatCannotBeAKey) {
    EXPECT_FALSE(DnssecKey::from_dnskey(std::vector<uint8_t>{1, 0, 3}));
    EXPECT_FALSE(DnssecKey::from_dnskey(std::vector<uint8_t>{1, 0, 3, 16, 1, 2, 3}));  // Ed448: not ours
    EXPECT_FALSE(DnssecKey::from_dnskey(std::vector<uint8_t>{1, 0, 2, 15, 1, 2, 3}));  // protocol 2
    EXPECT_FALSE(DnssecKey::from_dnskey(std::vector<uint8_t>{1, 0, 3, 13, 1, 2, 3}));  // P-256 too short
    EXPECT_FALSE(DnssecKey::from_dnskey(std::vector<uint8_t>{1, 0, 3, 8, 3, 1, 0}));   // RSA, no modulus
    const auto k = DnssecKey::generate(DnssecAlgorithm::RsaSha256, kZskFlags).value();
    const auto copy = DnssecKey::from_dnskey(k.dnskey_rdata());
    ASSERT_TRUE(copy) << copy.error();
    EXPECT_EQ(copy->tag(), k.tag());
    std::vector<uint8_t> sig;
    auto signer = copy->signer();
    EXPECT_FALSE(signer.sign(std::vector<uint8_t>{1, 2, 3}, sig));  // no private part
}

}  // namespace
}  // namespace headwater::sign
