// Compares what we serve with what a secondary serves: by RRset, from a full copy of the
// secondary's zone (AXFR). Pure code: the records come in as bytes, the differences go out as values.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"

namespace headwater::verify {

// A record in uncompressed wire form: owner, type, class, TTL, RDLENGTH, RDATA (zone::RecordView::wire).
using WireRecord = std::vector<uint8_t>;

// One RRset (owner, type) that is not the same on both sides.
struct RRsetDifference {
    enum class Kind : uint8_t {
        Missing,    // we serve it, the secondary does not
        Extra,      // the secondary serves it, we do not
        Different,  // both serve it with other records or TTLs
    };
    Kind kind = Kind::Different;
    dns::Name owner;
    dns::RRType type{};
    std::vector<WireRecord> served;  // our records of the RRset, canonical order; empty when Extra
    std::vector<WireRecord> theirs;  // the secondary's, canonical order; empty when Missing
};

std::string_view to_string(RRsetDifference::Kind kind);  // "missing" / "extra" / "different"

// The RRsets that differ between `served` and `theirs` (the records of a secondary's AXFR, any order, the
// closing SOA already dropped), ordered canonically by owner then type. Owner names compare without
// regard to case; so do the names inside RDATA of the types RFC 4034 §6.2 lists. A TTL difference makes
// an RRset Different (resolvers would cache it differently). Records of another class are Extra.
// Duplicates in `theirs` (equal under these rules) count once (RFC 2181 §5: an RRset has none).
// Every element of `theirs` must be one well-formed record (what uncompressed_record returns); empty or
// malformed elements are skipped, so the caller counts and reports those itself.
// One sort of `theirs` and one merge with the served version: fine for a million records.
std::vector<RRsetDifference> compare_zone(const zone::ZoneVersion& served,
                                          std::span<const WireRecord> theirs);

// True when `a` and `b` hold the same records under compare_zone's rules (owner, class, type, TTL and
// RDATA; names compared without regard to case; order and duplicates ignored). Every element must be
// a well-formed record; a malformed one makes the sets differ unless the same bytes are on both sides.
bool same_records(std::span<const WireRecord> a, std::span<const WireRecord> b);

}  // namespace headwater::verify
