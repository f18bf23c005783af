// A TSIG key: name, algorithm and shared secret (RFC 8945 §3). The secret cannot be copied, is wiped when
// its memory is released, and has no printing function: it only ever leaves through secret(), for the HMAC
// and for `headwaterctl keygen`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tsig/Algorithm.h"
#include "zone/base/Result.h"
#include "zone/dns/Name.h"

namespace headwater::tsig {

// An allocator that overwrites memory before giving it back, so no copy of a secret lingers on the heap
// (also when a vector grows and moves its elements).
template <class T>
struct WipingAllocator {
    using value_type = T;
    WipingAllocator() = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept;
    template <class U>
    bool operator==(const WipingAllocator<U>&) const noexcept {
        return true;
    }
};

void wipe_and_free(void* p, std::size_t size) noexcept;

template <class T>
void WipingAllocator<T>::deallocate(T* p, std::size_t n) noexcept {
    wipe_and_free(p, n * sizeof(T));
}

using SecretBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

class Key {
  public:
    Key(dns::Name name, Algorithm algorithm, SecretBytes secret);
    Key(dns::Name name, Algorithm algorithm, std::span<const uint8_t> secret);

    // From configuration values: a name in presentation form ("xfr-key" is taken as absolute), an algorithm
    // as algorithm_from_text() reads it, and the raw secret.
    static Result<Key, std::string> create(std::string_view name, std::string_view algorithm,
                                           std::span<const uint8_t> secret);
    // A fresh random key whose secret is as long as the algorithm's digest (RFC 8945 §6: the secret should
    // be at least as long as the HMAC output), for `headwaterctl keygen`.
    static Result<Key, std::string> generate(dns::Name name, Algorithm algorithm);

    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    Key(Key&&) noexcept = default;
    Key& operator=(Key&&) noexcept = default;  // the old secret goes through the wiping allocator
    ~Key() = default;

    const dns::Name& name() const { return name_; }
    Algorithm algorithm() const { return algorithm_; }
    std::span<const uint8_t> secret() const { return secret_; }

  private:
    dns::Name name_;
    Algorithm algorithm_;
    SecretBytes secret_;
};

}  // namespace headwater::tsig
