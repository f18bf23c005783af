#include "tsig/Key.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <type_traits>

#include "tsig/KeyStore.h"

// ---- watching freed memory ----------------------------------------------------------------------
// This test binary replaces the global operator new/delete with malloc/free plus one check: when the
// block registered in g_watched is freed, record whether it was all zeros at that moment. That is how a
// test can see that a secret is wiped before its memory goes back to the heap, without reading freed
// memory.
namespace {
std::atomic<const void*> g_watched{nullptr};
std::atomic<std::size_t> g_watched_size{0};
std::atomic<int> g_watched_state{0};  // 0 not freed, 1 freed wiped, 2 freed with data left

void check_watched(void* p) noexcept {
    if (p == nullptr || p != g_watched.load()) return;
    const auto* bytes = static_cast<const unsigned char*>(p);
    bool zero = true;
    for (std::size_t i = 0; i < g_watched_size.load(); ++i) zero = zero && bytes[i] == 0;
    g_watched_state = zero ? 1 : 2;
    g_watched = nullptr;
}
}  // namespace

void* operator new(std::size_t n) {
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    check_watched(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    check_watched(p);
    std::free(p);
}

namespace headwater::tsig {
namespace {

static_assert(!std::is_copy_constructible_v<Key>, "a secret must not be copied");
static_assert(!std::is_copy_assignable_v<Key>, "a secret must not be copied");
static_assert(std::is_nothrow_move_constructible_v<Key>);
static_assert(std::is_nothrow_move_assignable_v<Key>);

dns::Name name(std::string_view text) {
    return dns::Name::from_text(text).value();
}

std::vector<uint8_t> secret_bytes() {
    return {0x5e, 0xc2, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d};
}

void watch(std::span<const uint8_t> secret) {
    g_watched_state = 0;
    g_watched_size = secret.size();
    g_watched = secret.data();
}

TEST(Key, SecretIsWipedWhenTheKeyIsDestroyed) {
    const auto raw = secret_bytes();
    {
        Key key(name("k."), Algorithm::HmacSha256, raw);
        ASSERT_TRUE(std::equal(raw.begin(), raw.end(), key.secret().begin(), key.secret().end()));
        watch(key.secret());
    }
    EXPECT_EQ(g_watched_state.load(), 1) << "the secret's memory was freed without being wiped";
}

TEST(Key, OldSecretIsWipedWhenAssignedOver) {
    Key a(name("a."), Algorithm::HmacSha256, secret_bytes());
    Key b(name("b."), Algorithm::HmacSha1, std::vector<uint8_t>{1, 2, 3});
    watch(a.secret());
    a = std::move(b);
    EXPECT_EQ(g_watched_state.load(), 1);
    EXPECT_EQ(a.name().to_string(), "b.");
    EXPECT_EQ(a.secret().size(), 3u);
}

TEST(Key, MovingKeepsTheSameBufferAndLeavesNothingBehind) {
    Key a(name("a."), Algorithm::HmacSha256, secret_bytes());
    const uint8_t* data = a.secret().data();
    Key b(std::move(a));
    EXPECT_EQ(b.secret().data(), data);
    EXPECT_TRUE(a.secret().empty());  // NOLINT(bugprone-use-after-move): moved-from holds nothing
}

TEST(Key, CreateFromConfigurationValues) {
    const auto raw = secret_bytes();
    auto k = Key::create("XFR-Key", "HMAC-SHA512.", raw);
    ASSERT_TRUE(k) << k.error();
    EXPECT_EQ(k->name().to_string(), "XFR-Key.");
    EXPECT_EQ(k->algorithm(), Algorithm::HmacSha512);
    EXPECT_EQ(
        Key::create("k", "hmac-sha3", raw).error(),
        "unknown algorithm \"hmac-sha3\" (known: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, "
        "hmac-sha512)");
    EXPECT_EQ(Key::create("k", "hmac-sha256", {}).error(), "the secret is empty");
    EXPECT_FALSE(Key::create("a..b", "hmac-sha256", raw));
}

TEST(Key, GenerateMakesDigestSizedRandomSecrets) {
    for (Algorithm alg : kAllAlgorithms) {
        auto a = Key::generate(name("k."), alg);
        auto b = Key::generate(name("k."), alg);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(a->secret().size(), digest_size(alg));
        EXPECT_FALSE(
            std::equal(a->secret().begin(), a->secret().end(), b->secret().begin(), b->secret().end()));
    }
}

TEST(KeyStore, FindIsCaseInsensitiveAndDuplicatesAreRefused) {
    KeyStore store;
    ASSERT_TRUE(store.add(Key(name("xfr-key."), Algorithm::HmacSha256, secret_bytes())));
    ASSERT_TRUE(store.add(Key(name("other.example."), Algorithm::HmacMd5, secret_bytes())));
    EXPECT_EQ(store.size(), 2u);
    auto dup = store.add(Key(name("XFR-KEY."), Algorithm::HmacSha1, secret_bytes()));
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error(), "duplicate key \"XFR-KEY.\"");

    auto found = store.find(name("Xfr-Key."));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->algorithm(), Algorithm::HmacSha256);
    EXPECT_EQ(store.find(name("OTHER.example."))->algorithm(), Algorithm::HmacMd5);
    EXPECT_FALSE(store.find(name("xfr-key.example.")));
    EXPECT_FALSE(store.find(name("missing.")));
}

TEST(KeyStore, SharedKeysOutliveTheStore) {
    std::shared_ptr<const Key> kept;
    {
        KeyStore store;
        ASSERT_TRUE(store.add(Key(name("k."), Algorithm::HmacSha256, secret_bytes())));
        kept = store.find(name("k."));
    }
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->secret().size(), 16u);
}

}  // namespace
}  // namespace headwater::tsig
