// Tests for the parent DS check (xfr/verify/ParentDsCheck.h): a DS must name a key that signs the DNSKEY
// RRset; a published key that signs nothing there, or a key of no one, is not enough.
#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "xfr/verify/ParentDsCheck.h"
#include "zone/sign/SignZone.h"

namespace headwater {
namespace {

using testing::build_zone;

TEST(ParentDsCheck, ADsMustNameAKeyThatSignsTheDnskeyRrset) {
    const auto source = build_zone(
        "$TTL 300\n@ IN SOA ns1 hm 1 7200 3600 1209600 600\n@ NS ns1\nns1 A 192.0.2.1\n", "example.com.");
    std::vector<sign::SigningKey> keys;
    keys.push_back(
        {sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kKskFlags).value()});
    // Published only (a successor not signing yet): its DS would break the chain.
    keys.push_back(
        {sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kKskFlags).value(), false,
         false});
    sign::SignOptions o;
    o.now = 1764892800;
    const auto served = sign::sign_zone(*source, nullptr, keys, sign::SigningPolicy{}, o).value().version;
    ASSERT_TRUE(verify::has_dnskey(*served));
    const auto apex = served->apex().wire();
    const auto active = sign::ds_rdata(apex, keys[0].key.dnskey_rdata());
    const auto published = sign::ds_rdata(apex, keys[1].key.dnskey_rdata(), 4);
    auto stranger_key =
        sign::DnssecKey::generate(sign::DnssecAlgorithm::EcdsaP256Sha256, sign::kKskFlags).value();
    const auto stranger = sign::ds_rdata(apex, stranger_key.dnskey_rdata());

    auto r = verify::check_parent_ds(*served, {active});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.matching, std::vector<uint16_t>{keys[0].key.tag()});
    EXPECT_TRUE(r.note.empty()) << r.note;

    r = verify::check_parent_ds(*served, {published, stranger});
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.matching.empty());
    EXPECT_NE(r.problem.find("matches no key that signs the DNSKEY RRset"), std::string::npos) << r.problem;

    r = verify::check_parent_ds(*served, {stranger, active});
    EXPECT_TRUE(r.ok);
    EXPECT_NE(r.note.find("stale"), std::string::npos) << r.note;

    // Multi-signer (RFC 8901 §8): the other signer's KSK is published here and its DS is at the parent.
    r = verify::check_parent_ds(*served, {active, published});
    EXPECT_TRUE(r.ok);
    EXPECT_NE(r.note.find("another signer's"), std::string::npos) << r.note;
    EXPECT_EQ(r.note.find("stale"), std::string::npos) << r.note;

    // A digest type the check cannot compute is said so, not taken for a mismatch.
    auto unknown = active;
    unknown[3] = 3;
    r = verify::check_parent_ds(*served, {unknown});
    EXPECT_TRUE(r.ok) << r.problem;
    EXPECT_NE(r.note.find("digest type"), std::string::npos) << r.note;
    r = verify::check_parent_ds(*served, {unknown, stranger});
    EXPECT_FALSE(r.ok) << "the DS it can check matches nothing";

    r = verify::check_parent_ds(*served, {});
    EXPECT_TRUE(r.ok);
    EXPECT_NE(r.note.find("insecure"), std::string::npos);

    EXPECT_FALSE(verify::has_dnskey(*source));
}

}  // namespace
}  // namespace headwater
