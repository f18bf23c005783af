// DNSSEC keys: the published test vectors of RFC 6605 (ECDSA P-256) and RFC 8080 (Ed25519) read from
// BIND's file format, their key tags, a deterministic Ed25519 signature reproduced octet for octet, and
// keys we generate surviving the round trip through the files.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_zone.h"
#include "zone/base/FileText.h"
#include "zone/dns/Base64.h"
#include "zone/sign/DnssecKey.h"
#include "zone/sign/KeyFiles.h"
#include "zone/sign/Rrsig.h"

namespace headwater::sign {
namespace {

using testing::build_zone;
using testing::name;

// RFC 6605 §6.1.
constexpr const char* kP256Public =
    "example.net. 3600 IN DNSKEY 257 3 13 (\n"
    "        GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
    "        krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n";
constexpr const char* kP256Private =
    "Private-key-format: v1.2\n"
    "Algorithm: 13 (ECDSAP256SHA256)\n"
    "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";

// RFC 8080 §6.1.
constexpr const char* kEd25519Public =
    "example.com. 3600 IN DNSKEY 257 3 15 (\n"
    "             l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= )\n";
constexpr const char* kEd25519Private =
    "Private-key-format: v1.2\n"
    "Algorithm: 15 (ED25519)\n"
    "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n";

TEST(DnssecKey, Rfc6605KeyHasItsPublishedKeyTag) {
    auto k = parse_key_files(name("example.net."), kP256Public, kP256Private);
    ASSERT_TRUE(k) << k.error();
    EXPECT_EQ(k->key.tag(), 55648);  // the DS record of RFC 6605 §6.1
    EXPECT_EQ(k->key.algorithm(), DnssecAlgorithm::EcdsaP256Sha256);
    EXPECT_TRUE(k->key.is_sep());
}

TEST(DnssecKey, Rfc8080SignatureIsReproducedExactly) {
    auto k = parse_key_files(name("example.com."), kEd25519Public, kEd25519Private);
    ASSERT_TRUE(k) << k.error();
    EXPECT_EQ(k->key.tag(), 3613);
    // RFC 8080 §6.1: example.com. 3600 IN MX 10 mail.example.com., RRSIG MX 15 2 3600 1440021600
    // 1438207200 3613 example.com.
    const auto zone =
        build_zone("@ 3600 IN SOA ns hm 1 2 3 4 5\n@ 3600 IN NS ns\n@ 3600 IN MX 10 mail.example.com.\n",
                   "example.com.");
    const auto mx = zone->find_rrset(name("example.com."), dns::RRType::MX);
    ASSERT_EQ(mx.end - mx.begin, 1u);
    const dns::Name apex = name("example.com.");
    RrsigFields f{dns::RRType::MX, DnssecAlgorithm::Ed25519, 2, 3600, 1440021600, 1438207200, 3613, apex};
    std::vector<uint8_t> data;
    append_rrsig_head(f, data);
    const std::vector<zone::RecordView> rrset{zone->record(mx.begin)};
    append_signed_rrset(rrset, 3600, data);
    std::vector<uint8_t> sig;
    auto signer = k->key.signer();
    ASSERT_TRUE(signer.sign(data, sig));
    EXPECT_EQ(dns::base64_encode(sig),
              "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==");
    EXPECT_TRUE(k->key.verify(data, sig));
}

TEST(DnssecKey, MismatchedPrivateKeyIsRefused) {
    // The Ed25519 public key with another private key.
    const std::string other =
        "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\n"
        "PrivateKey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    auto k = parse_key_files(name("example.com."), kEd25519Public, other);
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().find("does not match"), std::string::npos) << k.error();
}

TEST(DnssecKey, KeyForAnotherZoneIsRefused) {
    auto k = parse_key_files(name("example.org."), kEd25519Public, kEd25519Private);
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().find("not for example.org."), std::string::npos) << k.error();
}

class GeneratedKey : public ::testing::TestWithParam<DnssecAlgorithm> {};

TEST_P(GeneratedKey, SignsVerifiesAndSurvivesTheKeyFiles) {
    auto k = DnssecKey::generate(GetParam(), kKskFlags);
    ASSERT_TRUE(k) << k.error();
    const std::vector<uint8_t> data{1, 2, 3, 4, 5};
    std::vector<uint8_t> sig;
    auto signer = k->signer();
    ASSERT_TRUE(signer.sign(data, sig));
    EXPECT_TRUE(k->verify(data, sig));
    const std::vector<uint8_t> other{1, 2, 3, 4, 6};
    EXPECT_FALSE(k->verify(other, sig));

    const auto zone = name("Example.COM.");
    auto back = parse_key_files(zone, public_key_text(zone, *k, 3600, 1700000000),
                                private_key_text(*k, active_from(1700000000)));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->key.tag(), k->tag());
    EXPECT_EQ(back->key.dnskey_rdata(), k->dnskey_rdata());
    EXPECT_EQ(back->timing, active_from(1700000000));
    EXPECT_TRUE(back->key.verify(data, sig));
    std::vector<uint8_t> sig2;
    auto signer2 = back->key.signer();
    ASSERT_TRUE(signer2.sign(data, sig2));
    EXPECT_TRUE(k->verify(data, sig2));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, GeneratedKey,
                         ::testing::Values(DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::EcdsaP384Sha384,
                                           DnssecAlgorithm::Ed25519, DnssecAlgorithm::RsaSha256));

TEST(KeyFiles, WrittenWithBindNamesAndAPrivateFileOnlyTheOwnerReads) {
    const auto dir = std::filesystem::temp_directory_path() / ("hw-keyfiles-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto k = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags);
    ASSERT_TRUE(k);
    auto base = write_key_files(dir, name("example.com."), *k, 3600, active_from(1700000000));
    ASSERT_TRUE(base) << base.error();
    char expected[64];
    std::snprintf(expected, sizeof expected, "Kexample.com.+013+%05u", static_cast<unsigned>(k->tag()));
    EXPECT_EQ(base->filename().string(), expected);
    const auto perms = std::filesystem::status(base->string() + ".private").permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);
    auto back = read_key_files(name("example.com."), *base);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->key.tag(), k->tag());
    EXPECT_FALSE(back->key.is_sep());

    // A rollover step rewrites the timing lines; the key and the other lines stay.
    KeyTiming retired = active_from(1700000000);
    retired.inactive = 1700086400;
    retired.remove = 1700172800;
    retired.sync_publish = 1700000100;
    ASSERT_TRUE(write_key_timing(*base, *k, retired));
    auto again = read_key_files(name("example.com."), *base);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(again->timing, retired);
    EXPECT_EQ(again->key.dnskey_rdata(), k->dnskey_rdata());
    const auto text = read_file_text(base->string() + ".private");
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("Inactive: 20231115221320\n"), std::string::npos) << *text;
    EXPECT_NE(text->find("Delete: 20231116221320\n"), std::string::npos) << *text;
    std::filesystem::remove_all(dir);
}

// BIND's reading of the timing lines: no line at all is a key published and active; a successor is
// published without Activate; Inactive stops the signing, Delete the publishing.
TEST(KeyTiming, StatesOverARollover) {
    const KeyTiming none;
    EXPECT_TRUE(none.published(0));
    EXPECT_TRUE(none.active(0));

    KeyTiming successor;
    successor.created = 100;
    successor.publish = 100;
    EXPECT_FALSE(successor.published(99));
    EXPECT_TRUE(successor.published(100));
    EXPECT_FALSE(successor.active(100));
    EXPECT_TRUE(successor.incoming(100));
    successor.activate = 200;
    EXPECT_FALSE(successor.active(199));
    EXPECT_TRUE(successor.active(200));
    EXPECT_FALSE(successor.incoming(200));

    KeyTiming old = active_from(0);
    old.inactive = 200;
    EXPECT_TRUE(old.active(199));
    EXPECT_FALSE(old.active(200));
    EXPECT_TRUE(old.retired(200));
    EXPECT_TRUE(old.published(200));
    old.remove = 300;
    EXPECT_TRUE(old.retired(299));
    EXPECT_FALSE(old.published(300));
    EXPECT_FALSE(old.retired(300));
    EXPECT_FALSE(old.active(300));
}

TEST(KeyFiles, BindTimingLinesAreReadAndAZeroTimeIsUnset) {
    auto k = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags);
    ASSERT_TRUE(k);
    const auto zone = name("example.com.");
    std::string priv = private_key_text(*k, KeyTiming{});
    priv += "Created: 20260101000000\nPublish: 20260102000000\nActivate: 0\nRevoke: 20270101000000\n";
    auto back = parse_key_files(zone, public_key_text(zone, *k, 3600, 0), priv);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->timing.created, 1767225600);
    EXPECT_EQ(back->timing.publish, 1767312000);
    EXPECT_FALSE(back->timing.activate);
    EXPECT_FALSE(back->timing.inactive);
    EXPECT_TRUE(back->timing.incoming(1767312000));
}

}  // namespace
}  // namespace headwater::sign
