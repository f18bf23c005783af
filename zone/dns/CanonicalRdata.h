// The canonical form of RDATA (RFC 4034 §6.2): the domain names inside the RDATA of the types that list
// names (rdata_names::walk) lower-cased, every other octet as it is. It decides which records of an RRset
// are duplicates (RFC 2181 §5, names compared without regard to case, RFC 4343) and the canonical order
// of RDATA within an RRset (RFC 4034 §6.3).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "zone/dns/RRType.h"

namespace headwater::dns {

// Appends the canonical form of `rdata` of `type` to `out`. RDATA that does not parse as its type is
// appended as it is (it is then compared octet by octet). The next name of an NSEC keeps its case
// (RFC 6840 §5.1 takes NSEC off the list of RFC 4034 §6.2; RRSIG stays on it).
void append_canonical_rdata(RRType type, std::span<const uint8_t> rdata, std::vector<uint8_t>& out);

// Like append_canonical_rdata, but every name rdata_names::walk finds is lower-cased, NSEC's too: for
// telling whether two servers serve the same data, where the case of a name is never a difference.
void append_case_folded_rdata(RRType type, std::span<const uint8_t> rdata, std::vector<uint8_t>& out);

// The case of compare_canonical_rdata where an upper-case letter is the first difference.
int compare_canonical_rdata_by_copy(RRType type, std::span<const uint8_t> a, std::span<const uint8_t> b);

// Compares two RDATA of one type in canonical form, as left-justified octet strings where a missing octet
// sorts first (RFC 4034 §6.3). Returns <0, 0, >0. Inline: a zone's sort calls it for every two records of
// one RRset, and nearly always the octets decide.
inline int compare_canonical_rdata(RRType type, std::span<const uint8_t> a, std::span<const uint8_t> b) {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    std::size_t at = 0;
    while (at < n && a[at] == b[at]) ++at;
    if (at == n) return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
    // Lower-casing keeps every octet in place, and where the names are depends only on the octets before
    // them: up to the first difference both canonical forms are equal too. If neither octet there is an
    // upper-case letter, lower-casing cannot change them, and the octet order is the canonical order.
    const auto upper = [](uint8_t c) { return c >= 'A' && c <= 'Z'; };
    if (!upper(a[at]) && !upper(b[at])) return a[at] < b[at] ? -1 : 1;
    return compare_canonical_rdata_by_copy(type, a, b);
}

// Whether RDATA of a type whose names rdata_names::walk finds has the type's layout, every name complete
// and uncompressed (true for the other types).
bool names_well_formed(RRType type, std::span<const uint8_t> rdata);

// Whether the RDATA of `type` can differ from its canonical form (the type holds names RFC 4034 §6.2
// lower-cases, NSEC excepted).
bool has_canonical_names(RRType type);

}  // namespace headwater::dns
