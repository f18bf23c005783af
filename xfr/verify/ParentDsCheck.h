// The DNSSEC half of the delegation check: does the DS RRset a parent server serves for the zone point
// at a key the zone signs its DNSKEY RRset with? A DS that matches no such key, with no other DS that
// does, breaks the chain of trust: validating resolvers answer SERVFAIL for the whole zone (RFC 4035
// §5.2). Pure: the caller asks the parent and hands in the DS RDATAs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zone/ZoneVersion.h"

namespace headwater::verify {

struct ParentDsCheck {
    std::vector<uint16_t> served;    // the key tags of the parent's DS records
    std::vector<uint16_t> matching;  // those whose digest matches a key that signs our DNSKEY RRset
    bool ok = true;                  // false: DS records, none of them matching (bogus)
    std::string note;                // what is worth saying even when ok (no DS: insecure; a stale DS)
    std::string problem;             // why not ok
};

// Whether `served` (a signed version) is signed at all: only then is the parent's DS worth checking.
bool has_dnskey(const zone::ZoneVersion& served);

// The parent's DS RDATAs read against the DNSKEY RRset of `served` and the keys its RRSIGs over that
// RRset name (RFC 4034 §5.2: a DS matches by key tag, algorithm and the digest over owner and DNSKEY).
ParentDsCheck check_parent_ds(const zone::ZoneVersion& served, const std::vector<std::vector<uint8_t>>& ds);

}  // namespace headwater::verify
