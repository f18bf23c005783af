// Tests for the reading of the parent's DS answers (server/ParentDs.h): a DS counts for a key only when
// its tag, algorithm and digest (SHA-1, SHA-256 or SHA-384) match, and only when every parent server
// serves it. And for the authentication of another signer's DNSKEY answer: it counts only when an RRSIG
// over the RRset is by a pinned key, valid at the time given, and verifies over the RRset as served.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/ParentDs.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/sign/DnssecKey.h"
#include "zone/sign/Rrsig.h"

namespace headwater::server {
namespace {

dns::Endpoint endpoint(const char* text) {
    return dns::Endpoint::parse(text, 53).value();
}

constexpr int64_t kNow = 1764892800;  // 2025-12-05: a fixed clock, so the validity windows are exact
constexpr int64_t kDay = 86400;
constexpr uint32_t kTtl = 3600;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A key pair whose tag differs from every one of `others`: two random keys share a tag once in 65536
// draws, and then a key that is not pinned would be tried as the pinned one (bad-signature, not no-key).
sign::DnssecKey key_with_own_tag(const std::vector<const sign::DnssecKey*>& others,
                                 uint16_t flags = sign::kKskFlags) {
    for (;;) {
        auto k = sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, flags).value();
        if (std::ranges::none_of(others, [&](const sign::DnssecKey* o) { return o->tag() == k.tag(); }))
            return k;
    }
}

// The RDATA of an RRSIG by `key` over the DNSKEY RRset `dnskeys` of `zone`, valid from `inception` to
// `expiration`: the signed data as RFC 4034 §3.1.8.1 defines it, built with the signer's own primitives.
std::vector<uint8_t> rrsig_over_dnskeys(const dns::Name& zone, std::vector<std::vector<uint8_t>> dnskeys,
                                        const sign::DnssecKey& key, int64_t inception, int64_t expiration) {
    // RFC 4034 §6.3: the records in canonical order; DNSKEY RDATA holds no names, so octet order.
    std::ranges::sort(dnskeys);
    std::vector<std::vector<uint8_t>> wires;
    wires.reserve(dnskeys.size());
    for (const auto& rdata : dnskeys) {
        std::vector<uint8_t> w(zone.wire().begin(), zone.wire().end());
        for (const uint16_t v : {dns::to_u16(dns::RRType::DNSKEY), uint16_t{1}, uint16_t{0},
                                 static_cast<uint16_t>(kTtl), static_cast<uint16_t>(rdata.size())}) {
            w.push_back(static_cast<uint8_t>(v >> 8));
            w.push_back(static_cast<uint8_t>(v));
        }
        w.insert(w.end(), rdata.begin(), rdata.end());
        wires.push_back(std::move(w));
    }
    std::vector<zone::RecordView> rrset;
    rrset.reserve(wires.size());
    for (const auto& w : wires) rrset.push_back(zone::decode_record(w));
    const sign::RrsigFields f{dns::RRType::DNSKEY,
                              key.algorithm(),
                              sign::rrsig_labels(zone.view()),
                              kTtl,
                              static_cast<uint32_t>(expiration),
                              static_cast<uint32_t>(inception),
                              key.tag(),
                              zone.view()};
    std::vector<uint8_t> rdata;
    sign::append_rrsig_head(f, rdata);
    std::vector<uint8_t> data = rdata;
    sign::append_signed_rrset(rrset, kTtl, data);
    auto signer = key.signer();
    const auto signed_ok = signer.sign(data, rdata);
    EXPECT_TRUE(signed_ok) << signed_ok.error();
    return rdata;
}

// An authoritative answer for `zone` DNSKEY holding `dnskeys` and `rrsigs` (RRSIG RDATAs) at the apex.
std::vector<uint8_t> dnskey_response(const dns::Name& zone, const std::vector<std::vector<uint8_t>>& dnskeys,
                                     const std::vector<std::vector<uint8_t>>& rrsigs) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, dns::kMaxTcpMessage);
    mb.header(1, dns::flag::QR | dns::flag::AA);
    mb.question(zone.view(), dns::to_u16(dns::RRType::DNSKEY), 1);
    for (const auto& rdata : dnskeys)
        EXPECT_EQ(
            mb.push(dns::Section::Answer, zone.view(), dns::to_u16(dns::RRType::DNSKEY), 1, kTtl, rdata),
            dns::Pushed::Ok);
    for (const auto& rdata : rrsigs)
        EXPECT_EQ(mb.push(dns::Section::Answer, zone.view(), dns::to_u16(dns::RRType::RRSIG), 1, kTtl, rdata),
                  dns::Pushed::Ok);
    mb.finish();
    return buf;
}

// authenticate_dnskeys over the response in wire form, as fetch_dnskeys reads it off the network.
std::string authenticate(const std::vector<uint8_t>& wire, const dns::Name& zone,
                         const std::vector<std::vector<uint8_t>>& pinned, int64_t now) {
    const auto parsed = dns::Message::parse(wire);
    EXPECT_TRUE(parsed);
    if (!parsed) return "the test's response does not parse";
    return authenticate_dnskeys(*parsed, zone.view(), pinned, now);
}

// Another signer's zone: its KSK (pinned by the operator), its ZSK (served, not pinned) and a key of
// nobody the operator named.
struct OtherSigner {
    dns::Name zone = dns::Name::from_text("example.com.").value();
    sign::DnssecKey ksk = key_with_own_tag({});
    sign::DnssecKey zsk = key_with_own_tag({&ksk}, sign::kZskFlags);
    sign::DnssecKey stranger = key_with_own_tag({&ksk, &zsk});
    std::vector<std::vector<uint8_t>> served{ksk.dnskey_rdata(), zsk.dnskey_rdata()};
    std::vector<std::vector<uint8_t>> pinned{ksk.dnskey_rdata()};
};

TEST(ParentDs, AKeyCountsOnceEveryServerServesAMatchingDs) {
    const auto zone = dns::Name::from_text("example.com.").value();
    auto old_key = sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kKskFlags);
    auto new_key = sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kKskFlags);
    ASSERT_TRUE(old_key && new_key);
    const std::vector<std::vector<uint8_t>> keys{old_key->dnskey_rdata(), new_key->dnskey_rdata()};
    const auto old_ds = sign::ds_rdata(zone.wire(), keys[0]);
    const auto new_ds = sign::ds_rdata(zone.wire(), keys[1], 4);  // SHA-384 at the parent
    ASSERT_FALSE(new_ds.empty());

    ParentDsAnswer a{endpoint("192.0.2.53"), {old_ds, new_ds}, 3600, {}};
    ParentDsAnswer b{endpoint("192.0.2.54"), {old_ds}, 7200, {}};
    auto seen = match_parent_ds({a, b}, zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{old_key->tag()});
    EXPECT_EQ(seen.ttl, 7200u);
    EXPECT_NE(seen.summary.find("192.0.2.54:53 serves DS " + std::to_string(old_key->tag())),
              std::string::npos)
        << seen.summary;

    b.ds.push_back(new_ds);
    seen = match_parent_ds({a, b}, zone.wire(), keys);
    std::vector<uint16_t> both{old_key->tag(), new_key->tag()};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(seen.tags, both);

    // A DS with the new key's tag but another digest is not the new key's.
    auto forged = new_ds;
    forged.back() ^= 1;
    b.ds = {old_ds, forged};
    seen = match_parent_ds({a, b}, zone.wire(), keys);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{old_key->tag()});

    // A server that did not answer: not answered, whatever the others say.
    b.error = "no answer: timeout after 3000 ms";
    seen = match_parent_ds({a, b}, zone.wire(), keys);
    EXPECT_FALSE(seen.answered);
    EXPECT_NE(seen.summary.find("timeout"), std::string::npos);
}

TEST(ParentDs, DnskeyAnswerSignedByAPinnedKeyIsAccepted) {
    const OtherSigner o;
    const auto sig = rrsig_over_dnskeys(o.zone, o.served, o.ksk, kNow - kDay, kNow + 14 * kDay);
    const auto wire = dnskey_response(o.zone, o.served, {sig});
    EXPECT_EQ(authenticate(wire, o.zone, o.pinned, kNow), "");
    // Any one of the pinned keys will do: the operator pins every other signer's KSK.
    EXPECT_EQ(authenticate(wire, o.zone, {o.stranger.dnskey_rdata(), o.ksk.dnskey_rdata()}, kNow), "");
}

TEST(ParentDs, DnskeyAnswerWithAnExpiredSignatureIsRefused) {
    // RFC 4035 §5.3.1: the validation time must not be after the expiration.
    const OtherSigner o;
    const auto sig = rrsig_over_dnskeys(o.zone, o.served, o.ksk, kNow - 30 * kDay, kNow - kDay);
    const auto wire = dnskey_response(o.zone, o.served, {sig});
    const std::string why = authenticate(wire, o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, std::to_string(o.ksk.tag()) + " expired")) << why;
    // The same answer within its window is accepted: the time alone refused it.
    EXPECT_EQ(authenticate(wire, o.zone, o.pinned, kNow - 2 * kDay), "");
}

TEST(ParentDs, DnskeyAnswerWithASignatureNotYetValidIsRefused) {
    // RFC 4035 §5.3.1: the validation time must not be before the inception.
    const OtherSigner o;
    const auto sig = rrsig_over_dnskeys(o.zone, o.served, o.ksk, kNow + kDay, kNow + 30 * kDay);
    const auto wire = dnskey_response(o.zone, o.served, {sig});
    const std::string why = authenticate(wire, o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, std::to_string(o.ksk.tag()) + " not-yet-valid")) << why;
    EXPECT_EQ(authenticate(wire, o.zone, o.pinned, kNow + 2 * kDay), "");
}

TEST(ParentDs, DnskeyAnswerSignedByAKeyThatIsNotPinnedIsRefused) {
    // The stranger serves itself in the RRset it signs: a self-signed RRset proves nothing, only a
    // pinned key does (RFC 4035 §5.3.1: the RRSIG's tag and algorithm must name a trusted key).
    const OtherSigner o;
    const std::vector<std::vector<uint8_t>> served{o.stranger.dnskey_rdata(), o.zsk.dnskey_rdata()};
    const auto sig = rrsig_over_dnskeys(o.zone, served, o.stranger, kNow - kDay, kNow + 14 * kDay);
    const std::string why = authenticate(dnskey_response(o.zone, served, {sig}), o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, std::to_string(o.stranger.tag()) + " no-key")) << why;
}

TEST(ParentDs, DnskeyRrsetAlteredAfterSigningIsRefused) {
    // RFC 4035 §5.3.3: the signature must verify over the RRset as received.
    const OtherSigner o;
    const auto sig = rrsig_over_dnskeys(o.zone, o.served, o.ksk, kNow - kDay, kNow + 14 * kDay);

    auto altered = o.served;
    altered[1].back() ^= 1;  // one bit of the ZSK's public key
    std::string why = authenticate(dnskey_response(o.zone, altered, {sig}), o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, std::to_string(o.ksk.tag()) + " bad-signature")) << why;

    // A key slipped in beside the signed ones.
    auto extended = o.served;
    extended.push_back(o.stranger.dnskey_rdata());
    why = authenticate(dnskey_response(o.zone, extended, {sig}), o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, std::to_string(o.ksk.tag()) + " bad-signature")) << why;
}

TEST(ParentDs, DnskeyAnswerWithoutRrsigIsRefused) {
    const OtherSigner o;
    const std::string why = authenticate(dnskey_response(o.zone, o.served, {}), o.zone, o.pinned, kNow);
    EXPECT_TRUE(contains(why, "no RRSIG")) << why;
}

TEST(ParentDs, DnskeyAnswerIsRefusedWhenNothingIsPinned) {
    // Without a pinned key nothing can be authenticated: refused, even with a good signature.
    const OtherSigner o;
    const auto sig = rrsig_over_dnskeys(o.zone, o.served, o.ksk, kNow - kDay, kNow + 14 * kDay);
    const std::string why = authenticate(dnskey_response(o.zone, o.served, {sig}), o.zone, {}, kNow);
    EXPECT_TRUE(contains(why, "foreign_dnskeys")) << why;
}

TEST(ParentDs, ASha1DsMatchesItsKey) {
    // RFC 4034 §5.1.4: digest type 1 is SHA-1, 20 octets.
    const auto zone = dns::Name::from_text("example.com.").value();
    const auto key = key_with_own_tag({});
    const std::vector<std::vector<uint8_t>> keys{key.dnskey_rdata()};
    const auto sha1 = sign::ds_rdata(zone.wire(), keys[0], 1);
    ASSERT_EQ(sha1.size(), 4u + 20u);
    ASSERT_EQ(sha1[3], 1);

    auto seen = match_parent_ds({{endpoint("192.0.2.53"), {sha1}, 3600, {}}}, zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{key.tag()});

    // Both digests of the key: still the one key, once.
    seen = match_parent_ds({{endpoint("192.0.2.53"), {sha1, sign::ds_rdata(zone.wire(), keys[0])}, 3600, {}}},
                           zone.wire(), keys);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{key.tag()});

    auto forged = sha1;
    forged.back() ^= 1;
    seen = match_parent_ds({{endpoint("192.0.2.53"), {forged}, 3600, {}}}, zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_TRUE(seen.tags.empty());
}

TEST(ParentDs, OfSeveralDsWithTheKeysTagOnlyAMatchingDigestCounts) {
    // RFC 4034 §5: the key tag only narrows the search; the DS is the key's when its algorithm and
    // digest are the key's.
    const auto zone = dns::Name::from_text("example.com.").value();
    const auto key = key_with_own_tag({});
    const std::vector<std::vector<uint8_t>> keys{key.dnskey_rdata()};
    const auto sha256 = sign::ds_rdata(zone.wire(), keys[0]);
    auto forged_sha256 = sha256;
    forged_sha256.back() ^= 1;
    auto forged_sha1 = sign::ds_rdata(zone.wire(), keys[0], 1);
    forged_sha1.back() ^= 1;
    auto forged_sha384 = sign::ds_rdata(zone.wire(), keys[0], 4);
    forged_sha384[10] ^= 1;
    auto other_algorithm = sha256;  // the right digest, but naming RSASHA256 (8) for an ECDSA key
    other_algorithm[2] = 8;
    const std::string tag = std::to_string(key.tag());

    auto seen = match_parent_ds({{endpoint("192.0.2.53"), {forged_sha256, sha256, forged_sha1}, 3600, {}}},
                                zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{key.tag()});
    EXPECT_TRUE(contains(seen.summary, "serves DS " + tag + "," + tag + "," + tag)) << seen.summary;

    // None matches: answered, no key, and the status still says what is served.
    seen = match_parent_ds(
        {{endpoint("192.0.2.53"), {forged_sha256, forged_sha1, forged_sha384, other_algorithm}, 3600, {}}},
        zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_TRUE(seen.tags.empty());
    EXPECT_TRUE(contains(seen.summary, "serves DS " + tag + "," + tag + "," + tag + "," + tag))
        << seen.summary;
}

TEST(ParentDs, ADsOfAnUnsupportedDigestTypeIsIgnored) {
    // Digest type 3 (GOST R 34.11-94, RFC 5933) is not one we compute (RFC 4034 §5.1.3 names the
    // digest's type; ours are 1, 2 and 4): such a DS never matches, and does not spoil the matching one
    // beside it.
    const auto zone = dns::Name::from_text("example.com.").value();
    const auto key = key_with_own_tag({});
    const std::vector<std::vector<uint8_t>> keys{key.dnskey_rdata()};
    const auto sha256 = sign::ds_rdata(zone.wire(), keys[0]);
    ASSERT_TRUE(sign::ds_rdata(zone.wire(), keys[0], 3).empty());
    auto gost = sha256;
    gost[3] = 3;

    auto seen = match_parent_ds({{endpoint("192.0.2.53"), {gost, sha256}, 3600, {}}}, zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_EQ(seen.tags, std::vector<uint16_t>{key.tag()});

    seen = match_parent_ds({{endpoint("192.0.2.53"), {gost}, 3600, {}}}, zone.wire(), keys);
    EXPECT_TRUE(seen.answered);
    EXPECT_TRUE(seen.tags.empty());
    EXPECT_TRUE(contains(seen.summary, "serves DS " + std::to_string(key.tag()))) << seen.summary;
}

}  // namespace
}  // namespace headwater::server
