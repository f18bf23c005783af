// Base64 lives in zone/dns (shared by conf/ and tsig/); TSIG owns its tests.
#include <gtest/gtest.h>

#include <string>

#include "zone/dns/Base64.h"

namespace headwater::dns {
namespace {

std::vector<uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

std::string decode_error(std::string_view text) {
    auto r = base64_decode(text);
    EXPECT_FALSE(r.has_value()) << "decoded: " << text;
    return r ? std::string() : r.error();
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : cases) {
        EXPECT_EQ(base64_encode(bytes(plain)), encoded);
        auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded) << encoded << ": " << decoded.error();
        EXPECT_EQ(*decoded, bytes(plain));
    }
}

TEST(Base64, AllByteValuesRoundTrip) {
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    for (size_t n = 0; n <= all.size(); n += 17) {
        std::vector<uint8_t> part(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
        auto decoded = base64_decode(base64_encode(part));
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, part);
    }
}

TEST(Base64, WhitespaceBetweenCharactersIsSkipped) {
    auto d = base64_decode(" Zm9v\n YmFy \t");
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(*d, bytes("foobar"));
}

TEST(Base64, StrictErrors) {
    EXPECT_EQ(decode_error("Zm9v!"), "invalid character '!' at position 4");
    EXPECT_EQ(decode_error("Zm9"), "length is not a multiple of 4 characters (missing '=' padding?)");
    EXPECT_EQ(decode_error("Zg"), "length is not a multiple of 4 characters (missing '=' padding?)");
    EXPECT_EQ(decode_error("Z==="), "misplaced '=' at position 1");
    EXPECT_EQ(decode_error("Zm=v"), "data after the '=' padding at position 3");
    EXPECT_EQ(decode_error("Zg==Zg=="), "data after the '=' padding at position 4");
    EXPECT_EQ(decode_error("Zh=="), "non-zero bits before the '=' padding");
    EXPECT_EQ(decode_error("Zm9="), "non-zero bits before the '=' padding");
    EXPECT_EQ(decode_error("Zm9v-_"), "invalid character '-' at position 4");  // base64url is not base64
    EXPECT_EQ(decode_error(std::string("Zm9v\0", 5)), "invalid character byte 0 at position 4");
}

}  // namespace
}  // namespace headwater::dns
