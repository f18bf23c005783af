// Base64 and BIND key files live in zone/dns (shared by conf/ and tsig/); TSIG owns their tests.
#include <gtest/gtest.h>

#include <string>

#include "zone/dns/Base64.h"
#include "zone/dns/KeyFile.h"

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

std::string file_error(std::string_view text) {
    auto r = parse_key_file(text);
    EXPECT_FALSE(r.has_value()) << "parsed:\n" << text;
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

TEST(KeyFile, TsigKeygenOutput) {
    auto keys = parse_key_file(R"(key "xfr-key" {
	algorithm hmac-sha256;
	secret "q7wz5Nb+QxVPkrg8KQeb4Yh6Vk+X2K7GZ0Yrx2K6l5o=";
};
)");
    ASSERT_TRUE(keys) << keys.error();
    ASSERT_EQ(keys->size(), 1u);
    EXPECT_EQ((*keys)[0].name, "xfr-key");
    EXPECT_EQ((*keys)[0].algorithm, "hmac-sha256");
    EXPECT_EQ((*keys)[0].secret, "q7wz5Nb+QxVPkrg8KQeb4Yh6Vk+X2K7GZ0Yrx2K6l5o=");
    EXPECT_EQ((*keys)[0].line, 1u);
}

TEST(KeyFile, SeveralKeysCommentsAndUnquotedValues) {
    auto keys = parse_key_file(R"(# provider A
// provider B
/* a block
   comment */ key first.example. { algorithm "hmac-md5"; secret c2VjcmV0; };
key "Second" {   # trailing comment
    secret "YWJj
            ZGVm";   // split over lines
    algorithm hmac-sha512;
};key third{algorithm hmac-sha1;secret"eHl6";};
)");
    ASSERT_TRUE(keys) << keys.error();
    ASSERT_EQ(keys->size(), 3u);
    EXPECT_EQ((*keys)[0].name, "first.example.");
    EXPECT_EQ((*keys)[0].algorithm, "hmac-md5");
    EXPECT_EQ((*keys)[0].secret, "c2VjcmV0");
    EXPECT_EQ((*keys)[0].line, 4u);
    EXPECT_EQ((*keys)[1].name, "Second");
    EXPECT_EQ((*keys)[1].algorithm, "hmac-sha512");
    EXPECT_EQ((*keys)[1].line, 5u);
    auto secret = base64_decode((*keys)[1].secret);
    ASSERT_TRUE(secret) << secret.error();
    EXPECT_EQ(*secret, bytes("abcdef"));
    EXPECT_EQ((*keys)[2].name, "third");
    EXPECT_EQ((*keys)[2].line, 9u);
}

TEST(KeyFile, EmptyFileHasNoKeys) {
    auto keys = parse_key_file("# nothing here\n\n");
    ASSERT_TRUE(keys);
    EXPECT_TRUE(keys->empty());
}

TEST(KeyFile, ErrorsNameTheLine) {
    EXPECT_EQ(file_error("options { };"), "line 1: expected a 'key' statement, found 'options'");
    EXPECT_EQ(file_error("key {"), "line 1: expected the key name after 'key', found '{'");
    EXPECT_EQ(file_error("key k\n algorithm"), "line 2: expected '{' after the key name, found 'algorithm'");
    EXPECT_EQ(file_error("key k {\n algorithm hmac-sha256\n secret \"YQ==\";\n};"),
              "line 3: expected ';' after the algorithm, found 'secret'");
    EXPECT_EQ(file_error("key k {\n algorithm hmac-sha256;\n secret \"YQ==\";\n}"),
              "line 4: expected ';' after the closing '}' of key \"k\", found the end of the file");
    EXPECT_EQ(file_error("key k {\n algorithm hmac-sha256;\n};"), "line 1: key \"k\" has no secret");
    EXPECT_EQ(file_error("key k {\n secret \"YQ==\";\n};"), "line 1: key \"k\" has no algorithm");
    EXPECT_EQ(file_error("key k {\n algorithm a;\n algorithm b;\n};"),
              "line 3: 'algorithm' given twice in key \"k\" (first at line 2)");
    EXPECT_EQ(file_error("key k {\n creator x;\n};"),
              "line 2: unknown clause 'creator' in key \"k\" (known: algorithm, secret)");
    EXPECT_EQ(file_error("key k {\n secret \"YQ==;\n};"), "line 2: unterminated quoted string");
    EXPECT_EQ(file_error("/* open\n\nkey k"), "line 1: unterminated /* comment");
    EXPECT_EQ(file_error("key a { algorithm hmac-sha1; secret \"YQ==\"; };\n"
                         "key A. { algorithm hmac-sha1; secret \"YQ==\"; };"),
              "line 2: duplicate key \"A.\" (first at line 1)");
    EXPECT_EQ(file_error("key k { algorithm ; secret \"YQ==\"; };"),
              "line 1: expected a value after 'algorithm', found ';'");
}

}  // namespace
}  // namespace headwater::dns
