// The NSEC3 hash of an owner name (RFC 5155 §5) and its base32hex spelling (RFC 4648 §7), as NSEC3
// owner labels are written (RFC 5155 §3.3). Pure functions; the only xfr/ code that sees OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zone/dns/Name.h"

namespace headwater::answer {

// Hash algorithm 1, SHA-1 (RFC 5155 §11), the only one defined.
inline constexpr uint8_t kNsec3Sha1 = 1;
using Nsec3Digest = std::array<uint8_t, 20>;

// IH(salt, x, 0) = H(x || salt), IH(salt, x, k) = H(IH(salt, x, k-1) || salt), applied `iterations`
// extra times to the name in canonical wire form (lower case, RFC 4034 §6.2).
Nsec3Digest nsec3_hash(dns::NameView name, uint16_t iterations, std::span<const uint8_t> salt);

// RFC 4648 §7 "base32hex" in lower case without padding: 32 characters for a SHA-1 digest.
std::string base32hex(std::span<const uint8_t> data);

// The NSEC3 owner name for `name` in the zone at `apex`: base32hex(hash) as one label under the apex.
// Empty when it would be longer than a name may be.
std::vector<uint8_t> nsec3_owner(dns::NameView name, dns::NameView apex, uint16_t iterations,
                                 std::span<const uint8_t> salt);

}  // namespace headwater::answer
