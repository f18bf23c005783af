#include "zone/answer/Nsec3Hash.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace headwater::answer {

Nsec3Digest nsec3_hash(dns::NameView name, uint16_t iterations, std::span<const uint8_t> salt) {
    // RFC 5155 §5: the owner name in canonical form, i.e. with its letters lower-cased.
    std::vector<uint8_t> wire(name.wire().begin(), name.wire().end());
    for (auto& c : wire) c = dns::ascii_lower(c);

    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx) throw std::runtime_error("OpenSSL: cannot allocate a digest context");
    Nsec3Digest digest{};
    std::span<const uint8_t> input(wire);
    for (uint32_t k = 0; k <= iterations; ++k) {
        unsigned int len = 0;
        if (EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1 ||
            EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
            EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1 ||
            EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 || len != digest.size())
            throw std::runtime_error("OpenSSL: SHA-1 failed");
        input = digest;
    }
    return digest;
}

std::string base32hex(std::span<const uint8_t> data) {
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuv";
    std::string out;
    out.reserve((data.size() * 8 + 4) / 5);
    uint32_t buffer = 0;
    int bits = 0;
    for (const uint8_t byte : data) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(kAlphabet[(buffer >> bits) & 31]);
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
    return out;
}

std::vector<uint8_t> nsec3_owner(dns::NameView name, dns::NameView apex, uint16_t iterations,
                                 std::span<const uint8_t> salt) {
    const std::string label = base32hex(nsec3_hash(name, iterations, salt));
    if (1 + label.size() + apex.size() > dns::kMaxNameLength) return {};
    std::vector<uint8_t> owner;
    owner.reserve(1 + label.size() + apex.size());
    owner.push_back(static_cast<uint8_t>(label.size()));
    owner.insert(owner.end(), label.begin(), label.end());
    owner.insert(owner.end(), apex.wire().begin(), apex.wire().end());
    return owner;
}

}  // namespace headwater::answer
