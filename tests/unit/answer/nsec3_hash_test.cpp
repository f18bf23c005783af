#include "zone/answer/Nsec3Hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace headwater;

namespace {

dns::Name name(std::string_view t) {
    return dns::Name::from_text(t).value();
}

std::string hash_text(std::string_view owner, uint16_t iterations, const std::vector<uint8_t>& salt) {
    return answer::base32hex(answer::nsec3_hash(name(owner), iterations, salt));
}

}  // namespace

TEST(Nsec3Hash, Base32HexFollowsRfc4648) {
    // RFC 4648 §10 test vectors, in lower case and without padding.
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "co"},
        {"fo", "cpng"},
        {"foo", "cpnmu"},
        {"foob", "cpnmuog"},
        {"fooba", "cpnmuoj1"},
        {"foobar", "cpnmuoj1e8"},
    };
    for (const auto& [in, out] : vectors) {
        const std::vector<uint8_t> bytes(in.begin(), in.end());
        EXPECT_EQ(answer::base32hex(bytes), out) << in;
    }
}

TEST(Nsec3Hash, MatchesRfc5155AppendixA) {
    // RFC 5155 Appendix A: SHA-1, 12 additional iterations, salt aabbccdd.
    const std::vector<uint8_t> salt = {0xaa, 0xbb, 0xcc, 0xdd};
    const std::pair<const char*, const char*> vectors[] = {
        {"example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
        {"a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
        {"ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"},
        {"ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
        {"w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
        {"*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
        {"x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"},
        {"y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
        {"x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"},
        {"xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"},
    };
    for (const auto& [owner, hash] : vectors) EXPECT_EQ(hash_text(owner, 12, salt), hash) << owner;
    // The name is hashed in canonical (lower-case) form.
    EXPECT_EQ(hash_text("A.EXAMPLE.", 12, salt), "35mthgpgcu1qg68fab165klnsnk3dpvl");
}

TEST(Nsec3Hash, NoSaltNoIterations) {
    // RFC 9276 parameters (ldns-nsec3-hash -t 0 example.com.).
    EXPECT_EQ(hash_text("example.com.", 0, {}), "onib9mgub9h0rml3cdf5bgrj59dkjhvk");
}

TEST(Nsec3Hash, OwnerIsOneLabelUnderTheApex) {
    const std::vector<uint8_t> salt = {0xaa, 0xbb, 0xcc, 0xdd};
    const auto owner = answer::nsec3_owner(name("x.w.example."), name("example."), 12, salt);
    ASSERT_FALSE(owner.empty());
    EXPECT_EQ(dns::NameView(owner).to_string(), "b4um86eghhds6nea196smvmlo4ors995.example.");
    // A 33-octet label under a 225-octet apex would pass 255 octets.
    std::string long_apex;
    for (int i = 0; i < 4; ++i) long_apex += std::string(55, 'a') + ".";
    EXPECT_TRUE(answer::nsec3_owner(name("x." + long_apex), name(long_apex), 0, {}).empty());
}
