#include "tsig/Key.h"

#include <new>

#include "tsig/Hmac.h"

namespace headwater::tsig {

void wipe_and_free(void* p, std::size_t size) noexcept {
    secure_wipe(p, size);
    ::operator delete(p);
}

Key::Key(dns::Name name, Algorithm algorithm, SecretBytes secret)
    : name_(std::move(name)), algorithm_(algorithm), secret_(std::move(secret)) {}

Key::Key(dns::Name name, Algorithm algorithm, std::span<const uint8_t> secret)
    : name_(std::move(name)), algorithm_(algorithm), secret_(secret.begin(), secret.end()) {}

Result<Key, std::string> Key::create(std::string_view name, std::string_view algorithm,
                                     std::span<const uint8_t> secret) {
    auto n = dns::Name::from_text(name);
    if (!n) return unexpected("invalid key name \"" + std::string(name) + "\": " + n.error());
    auto alg = algorithm_from_text(algorithm);
    if (!alg)
        return unexpected("unknown algorithm \"" + std::string(algorithm) +
                          "\" (known: " + std::string(algorithm_list()) + ")");
    if (secret.empty()) return unexpected(std::string("the secret is empty"));
    return Key(std::move(n).value(), *alg, secret);
}

Result<Key, std::string> Key::generate(dns::Name name, Algorithm algorithm) {
    SecretBytes secret(digest_size(algorithm));
    if (!random_bytes(secret)) return unexpected(std::string("the random number generator failed"));
    return Key(std::move(name), algorithm, std::move(secret));
}

}  // namespace headwater::tsig
