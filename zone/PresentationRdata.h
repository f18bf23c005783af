// RDATA from presentation format for the types ldns 1.8.3 reads wrongly or not at all, written here so
// that Headwater stores what BIND and Knot store for the same text:
// - IPSECKEY (RFC 4025 §3): ldns leaves a relative gateway name uncompleted ("gw" becomes "gw.", "@"
//   becomes "@.") — a secondary would copy the wrong name;
// - NSAP-PTR (RFC 1706 §6): ldns stores the name as a character-string, not as a domain name;
// - A6 (RFC 2874 §3.1): ldns refuses valid records;
// - ATMA (ATM Forum, type 34): ldns drops the format octet;
// - AMTRELAY (RFC 8777 §4) and TALINK (IANA type 58, two names): ldns has no mnemonic for them;
// - the RFC 3597 §5 generic form (\# len hex) of every type: ldns re-reads the octets as its own fields
//   of the type and cuts what does not fit (NSAP-PTR keeps one label, SINK one octet).
//
// Pure: no ldns here. The caller (MasterFile.cpp) gives the tokens after the type and a function that
// turns a name token into absolute wire form (completing relative names with $ORIGIN, "@" the origin).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::zone {

// Turns one name token into uncompressed absolute wire form, or an error message.
using NameParser = std::function<Result<std::vector<uint8_t>, std::string>(std::string_view)>;

// An IPv4 or IPv6 address in text (inet_pton's syntax) appended in wire form (4 or 16 octets).
bool read_address(std::string_view text, bool v6, std::vector<uint8_t>& out);

// The numbers of the mnemonics above that ldns does not know (AMTRELAY, TALINK), for the type token.
std::optional<uint16_t> presentation_type(std::string_view mnemonic);

// Whether RDATA of `type` in presentation format is read here rather than by ldns.
bool reads_presentation_rdata(uint16_t type);

// Appends the RDATA written in RFC 3597 §5 generic form to `out`: `tokens` are those after "\#" (the
// length, then hex in any number of tokens). The octets must be valid RDATA of a known type where that
// can be checked (the names of the types rdata_names lists, well-formed and uncompressed; the length of
// A and AAAA), as RFC 3597 §5 asks.
Result<void, std::string> read_generic_rdata(uint16_t type, std::span<const std::string_view> tokens,
                                             std::vector<uint8_t>& out);

// Appends the wire RDATA of `type` read from `tokens` (every token after the type) to `out`.
Result<void, std::string> read_presentation_rdata(uint16_t type, std::span<const std::string_view> tokens,
                                                  const NameParser& parse_name, std::vector<uint8_t>& out);

}  // namespace headwater::zone
