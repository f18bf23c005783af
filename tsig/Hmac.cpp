// The only tsig/ file that includes OpenSSL: EVP_MAC "HMAC" (OpenSSL 3), CRYPTO_memcmp,
// OPENSSL_cleanse and RAND_bytes.
#include "tsig/Hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <string>

namespace headwater::tsig {

namespace {

const char* digest_name(Algorithm alg) {
    switch (alg) {
        case Algorithm::HmacMd5:
            return "MD5";
        case Algorithm::HmacSha1:
            return "SHA1";
        case Algorithm::HmacSha224:
            return "SHA224";
        case Algorithm::HmacSha256:
            return "SHA256";
        case Algorithm::HmacSha384:
            return "SHA384";
        case Algorithm::HmacSha512:
            return "SHA512";
    }
    return "SHA256";
}

// Fetching an implementation walks OpenSSL's provider tables; do it once for the process.
EVP_MAC* hmac_implementation() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) throw std::runtime_error("OpenSSL: HMAC is not available");
    return mac;
}

}  // namespace

struct Hmac::Impl {
    EVP_MAC_CTX* ctx = nullptr;
    Algorithm alg{};
    ~Impl() { EVP_MAC_CTX_free(ctx); }
};

Hmac::Hmac(Algorithm alg, std::span<const uint8_t> secret) : impl_(std::make_unique<Impl>()) {
    impl_->alg = alg;
    impl_->ctx = EVP_MAC_CTX_new(hmac_implementation());
    if (impl_->ctx == nullptr) throw std::runtime_error("OpenSSL: cannot allocate an HMAC context");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(alg)), 0),
        OSSL_PARAM_construct_end(),
    };
    // A zero-length key is legal HMAC, but EVP_MAC_init wants a non-null pointer for it.
    static constexpr uint8_t kEmpty[1] = {0};
    const uint8_t* key = secret.empty() ? kEmpty : secret.data();
    if (EVP_MAC_init(impl_->ctx, key, secret.size(), params) != 1)
        throw std::runtime_error(std::string("OpenSSL: cannot start HMAC-") + digest_name(alg) +
                                 " (disabled by the system's crypto policy?)");
}

Hmac::~Hmac() = default;
Hmac::Hmac(Hmac&&) noexcept = default;
Hmac& Hmac::operator=(Hmac&&) noexcept = default;

void Hmac::update(std::span<const uint8_t> data) {
    if (data.empty()) return;
    if (EVP_MAC_update(impl_->ctx, data.data(), data.size()) != 1)
        throw std::runtime_error("OpenSSL: HMAC update failed");
}

void Hmac::update_u16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    update(b);
}

void Hmac::update_u32(uint32_t v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    update(b);
}

void Hmac::update_u48(uint64_t v) {
    const uint8_t b[6] = {static_cast<uint8_t>(v >> 40), static_cast<uint8_t>(v >> 32),
                          static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8),  static_cast<uint8_t>(v)};
    update(b);
}

Mac Hmac::finish() {
    Mac mac;
    std::size_t len = 0;
    if (EVP_MAC_final(impl_->ctx, mac.bytes.data(), &len, mac.bytes.size()) != 1 ||
        len != digest_size(impl_->alg))
        throw std::runtime_error("OpenSSL: HMAC final failed");
    mac.size = len;
    return mac;
}

bool hmac_available(Algorithm alg) {
    try {
        const uint8_t probe[1] = {0};
        Hmac h(alg, probe);
        h.update(probe);
        (void)h.finish();
        return true;
    } catch (const std::runtime_error&) {
        return false;
    }
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void secure_wipe(void* data, std::size_t size) {
    if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

bool random_bytes(std::span<uint8_t> out) {
    if (out.empty()) return true;
    if (out.size() > static_cast<std::size_t>(INT32_MAX)) return false;
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

}  // namespace headwater::tsig
