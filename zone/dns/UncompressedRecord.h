// A record of a received message written out without name compression (RFC 3597 §4): what a secondary
// serves or a client sends may compress the names inside RDATA, and comparing or storing it needs them
// whole. Shared by the verification of secondaries and by dynamic updates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "zone/dns/RRType.h"

namespace headwater::dns {

// Appends TYPE, CLASS, TTL, RDLENGTH and the RDATA of one record to `out` (which holds its owner name
// already). The RDATA is read from `wire` at [rdata_begin, rdata_begin + rdlen), compressed names inside
// it expanded. False (with `out` partly written) when the RDATA does not read as its type says, or would
// grow past 65535 octets. Empty RDATA is copied as it is (class ANY and NONE records of RFC 2136 §2.5).
bool append_uncompressed(std::span<const uint8_t> wire, RRType type, uint16_t rclass, uint32_t ttl,
                         std::size_t rdata_begin, std::size_t rdlen, std::vector<uint8_t>& out);

}  // namespace headwater::dns
