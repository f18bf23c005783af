// Base64 (RFC 4648 §4, the standard alphabet with '=' padding), for TSIG secrets in configuration and BIND
// key files. Here in zone/dns so that conf/ and tsig/, which must not depend on each other, share it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::dns {

std::string base64_encode(std::span<const uint8_t> data);

// Strict decoding: only the standard alphabet, padded to a multiple of 4 characters, '=' only at the end,
// and the unused bits of the last group zero (so every secret has exactly one spelling). ASCII whitespace
// between characters is skipped, as BIND does for secrets split over several lines. Errors read like
// "invalid character '%' at position 7".
Result<std::vector<uint8_t>, std::string> base64_decode(std::string_view text);

}  // namespace headwater::dns
