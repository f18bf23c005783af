// A record of a received message written out without name compression (RFC 3597 §4): what a secondary
// serves or a client sends may compress the names inside RDATA, and comparing or storing it needs them
// whole. Shared by the verification of secondaries and by dynamic updates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "zone/dns/Message.h"
#include "zone/dns/RRType.h"

namespace headwater::dns {

// Appends TYPE, CLASS, TTL, RDLENGTH and the RDATA of one record to `out` (which holds its owner name
// already). The RDATA is read from `wire` at [rdata_begin, rdata_begin + rdlen), compressed names inside
// it expanded. False (with `out` partly written) when the RDATA does not read as its type says, or would
// grow past 65535 octets. Empty RDATA in class ANY or NONE is copied as it is (RFC 2136 §2.4-2.5);
// in another class a type with names in its RDATA (NS, CNAME, MX...) must have them.
bool append_uncompressed(std::span<const uint8_t> wire, RRType type, uint16_t rclass, uint32_t ttl,
                         std::size_t rdata_begin, std::size_t rdlen, std::vector<uint8_t>& out);

// The whole record `record` of `message` (owner, TYPE, CLASS, TTL, RDLENGTH, RDATA) without compression;
// empty when its RDATA does not read as above.
std::vector<uint8_t> uncompressed_record(const Message& message, const RecordRef& record);

}  // namespace headwater::dns
