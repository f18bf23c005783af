// TSIG algorithms (RFC 8945 §6, IANA "TSIG Algorithm Names"): the HMAC family. GSS-TSIG is not supported.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "zone/dns/Name.h"

namespace headwater::tsig {

enum class Algorithm : uint8_t { HmacMd5, HmacSha1, HmacSha224, HmacSha256, HmacSha384, HmacSha512 };

inline constexpr std::array<Algorithm, 6> kAllAlgorithms = {Algorithm::HmacMd5,    Algorithm::HmacSha1,
                                                            Algorithm::HmacSha224, Algorithm::HmacSha256,
                                                            Algorithm::HmacSha384, Algorithm::HmacSha512};
inline constexpr Algorithm kDefaultAlgorithm = Algorithm::HmacSha256;

// The short name used in configuration and BIND key files: "hmac-md5", "hmac-sha256".
std::string_view algorithm_text(Algorithm alg);

// The name on the wire (absolute, lower case): "hmac-md5.sig-alg.reg.int." for MD5 (RFC 8945 §6),
// "hmac-sha256." for the others.
const dns::Name& algorithm_name(Algorithm alg);

// From configuration text, case-insensitively, with or without a trailing dot; "hmac-md5.sig-alg.reg.int"
// is accepted as well as "hmac-md5".
std::optional<Algorithm> algorithm_from_text(std::string_view text);

// From the Algorithm Name of a TSIG record (compared case-insensitively).
std::optional<Algorithm> algorithm_from_name(dns::NameView name);

// Octets of the full HMAC output: 16, 20, 28, 32, 48, 64.
std::size_t digest_size(Algorithm alg);

// The shortest truncated MAC accepted: max(10 octets, half the hash) (RFC 8945 §5.2.2.1).
std::size_t min_mac_size(Algorithm alg);

// The names accepted by algorithm_from_text, for error messages: "hmac-md5, hmac-sha1, ...".
std::string_view algorithm_list();

}  // namespace headwater::tsig
