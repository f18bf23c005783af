// HMAC and the few other primitives TSIG needs. Hmac.cpp is the only tsig/ file that includes OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "tsig/Algorithm.h"

namespace headwater::tsig {

// A MAC as computed: the full digest of the algorithm (at most 64 octets, SHA-512).
struct Mac {
    std::array<uint8_t, 64> bytes{};
    std::size_t size = 0;
    std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// Incremental HMAC (RFC 2104) over OpenSSL's EVP_MAC. Failures inside OpenSSL (an algorithm disabled by the
// system's crypto policy, out of memory) throw std::runtime_error: they are not something a DNS peer can
// cause, and there is no meaningful answer to send without the MAC.
class Hmac {
  public:
    Hmac(Algorithm alg, std::span<const uint8_t> secret);
    ~Hmac();
    Hmac(const Hmac&) = delete;
    Hmac& operator=(const Hmac&) = delete;
    Hmac(Hmac&&) noexcept;
    Hmac& operator=(Hmac&&) noexcept;

    void update(std::span<const uint8_t> data);
    void update_u16(uint16_t v);
    void update_u32(uint32_t v);
    void update_u48(uint64_t v);
    // Ends the computation; the object must not be used afterwards.
    Mac finish();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Whether OpenSSL computes this HMAC here (a system crypto policy may disable MD5 or SHA-1). The server
// checks its configured keys with it at load time, so a refused algorithm is a configuration error rather
// than an exception on the first signed request.
bool hmac_available(Algorithm alg);

// Compares in time independent of the contents (CRYPTO_memcmp), so a forger learns nothing from timing.
// Different sizes compare unequal.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Overwrites memory in a way the compiler may not elide (OPENSSL_cleanse).
void secure_wipe(void* data, std::size_t size);

// Fills `out` from OpenSSL's CSPRNG; false when it is not seeded (then `out` must not be used).
bool random_bytes(std::span<uint8_t> out);

}  // namespace headwater::tsig
