#include "tsig/Algorithm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tsig/Hmac.h"

namespace headwater::tsig {
namespace {

std::string hex(std::span<const uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::span<const uint8_t> bytes_of(const char* s) {
    return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)};
}

TEST(Algorithm, TextNamesCaseAndTrailingDot) {
    EXPECT_EQ(algorithm_from_text("hmac-sha256"), Algorithm::HmacSha256);
    EXPECT_EQ(algorithm_from_text("HMAC-SHA256."), Algorithm::HmacSha256);
    EXPECT_EQ(algorithm_from_text("hmac-md5"), Algorithm::HmacMd5);
    EXPECT_EQ(algorithm_from_text("HMAC-MD5.SIG-ALG.REG.INT"), Algorithm::HmacMd5);
    EXPECT_EQ(algorithm_from_text("hmac-md5.sig-alg.reg.int."), Algorithm::HmacMd5);
    EXPECT_EQ(algorithm_from_text("hmac-sha1"), Algorithm::HmacSha1);
    EXPECT_EQ(algorithm_from_text("hmac-sha224"), Algorithm::HmacSha224);
    EXPECT_EQ(algorithm_from_text("hmac-sha384"), Algorithm::HmacSha384);
    EXPECT_EQ(algorithm_from_text("hmac-sha512"), Algorithm::HmacSha512);
    EXPECT_FALSE(algorithm_from_text("hmac-sha256-128"));
    EXPECT_FALSE(algorithm_from_text("sha256"));
    EXPECT_FALSE(algorithm_from_text(""));
    EXPECT_FALSE(algorithm_from_text("."));
    EXPECT_FALSE(algorithm_from_text("gss-tsig"));
}

TEST(Algorithm, WireNamesRoundTrip) {
    EXPECT_EQ(algorithm_name(Algorithm::HmacMd5).to_string(), "hmac-md5.sig-alg.reg.int.");
    EXPECT_EQ(algorithm_name(Algorithm::HmacSha256).to_string(), "hmac-sha256.");
    for (Algorithm a : kAllAlgorithms) {
        EXPECT_EQ(algorithm_from_name(algorithm_name(a)), a);
        EXPECT_EQ(algorithm_from_text(algorithm_text(a)), a);
        auto upper = dns::Name::from_text(std::string(algorithm_name(a).to_string()));
        std::string text = upper->to_string();
        for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(algorithm_from_name(*dns::Name::from_text(text)), a) << text;
    }
    EXPECT_FALSE(algorithm_from_name(*dns::Name::from_text("hmac-md5.")));
}

TEST(Algorithm, DigestAndMinimumSizes) {
    EXPECT_EQ(digest_size(Algorithm::HmacMd5), 16u);
    EXPECT_EQ(digest_size(Algorithm::HmacSha1), 20u);
    EXPECT_EQ(digest_size(Algorithm::HmacSha224), 28u);
    EXPECT_EQ(digest_size(Algorithm::HmacSha256), 32u);
    EXPECT_EQ(digest_size(Algorithm::HmacSha384), 48u);
    EXPECT_EQ(digest_size(Algorithm::HmacSha512), 64u);
    // RFC 8945 §5.2.2.1: max(10 octets, half the hash).
    EXPECT_EQ(min_mac_size(Algorithm::HmacMd5), 10u);
    EXPECT_EQ(min_mac_size(Algorithm::HmacSha1), 10u);
    EXPECT_EQ(min_mac_size(Algorithm::HmacSha224), 14u);
    EXPECT_EQ(min_mac_size(Algorithm::HmacSha256), 16u);
    EXPECT_EQ(min_mac_size(Algorithm::HmacSha384), 24u);
    EXPECT_EQ(min_mac_size(Algorithm::HmacSha512), 32u);
}

// Known-answer tests from RFC 2202 (MD5, SHA-1) and RFC 4231 (SHA-2), test case 2 ("Jefe").
TEST(Hmac, KnownAnswers) {
    const auto key = bytes_of("Jefe");
    const auto data = bytes_of("what do ya want for nothing?");
    const std::pair<Algorithm, const char*> cases[] = {
        {Algorithm::HmacMd5, "750c783e6ab0b503eaa86e310a5db738"},
        {Algorithm::HmacSha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
        {Algorithm::HmacSha224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
        {Algorithm::HmacSha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {Algorithm::HmacSha384,
         "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
        {Algorithm::HmacSha512,
         "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcae"
         "ab1a34d4a6"
         "b4b636e070a38bce737"},
    };
    for (const auto& [alg, expected] : cases) {
        Hmac h(alg, key);
        h.update(data.subspan(0, 5));  // in pieces: the incremental interface
        h.update(data.subspan(5));
        EXPECT_EQ(hex(h.finish().view()), expected) << algorithm_text(alg);
    }
}

TEST(Hmac, AllAlgorithmsAvailableHere) {
    for (Algorithm alg : kAllAlgorithms) EXPECT_TRUE(hmac_available(alg)) << algorithm_text(alg);
}

TEST(Hmac, ConstantTimeEqual) {
    const uint8_t a[] = {1, 2, 3};
    const uint8_t b[] = {1, 2, 4};
    EXPECT_TRUE(constant_time_equal(a, a));
    EXPECT_FALSE(constant_time_equal(a, b));
    EXPECT_FALSE(constant_time_equal(std::span(a, 2), a));
    EXPECT_TRUE(constant_time_equal({}, {}));
}

TEST(Hmac, RandomBytesDiffer) {
    uint8_t a[32] = {};
    uint8_t b[32] = {};
    ASSERT_TRUE(random_bytes(a));
    ASSERT_TRUE(random_bytes(b));
    EXPECT_FALSE(constant_time_equal(a, b));
}

}  // namespace
}  // namespace headwater::tsig
