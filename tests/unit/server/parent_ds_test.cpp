// Tests for the reading of the parent's DS answers (server/ParentDs.h): a DS counts for a key only when
// its tag, algorithm and digest match, and only when every parent server serves it.
#include <gtest/gtest.h>

#include "server/ParentDs.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::server {
namespace {

dns::Endpoint endpoint(const char* text) {
    return dns::Endpoint::parse(text, 53).value();
}

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

}  // namespace
}  // namespace headwater::server
