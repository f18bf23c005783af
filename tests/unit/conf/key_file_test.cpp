// BIND key files (what tsig-keygen prints), read by the config loader for [[key]] file = "...".
#include "conf/KeyFile.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zone/dns/Base64.h"

namespace headwater::conf {
namespace {

std::vector<uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

std::string file_error(std::string_view text) {
    auto r = parse_key_file(text);
    EXPECT_FALSE(r.has_value()) << "parsed:\n" << text;
    return r ? std::string() : r.error();
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
    auto secret = dns::base64_decode((*keys)[1].secret);
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
}  // namespace headwater::conf
