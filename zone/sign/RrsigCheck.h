// Whether one RRSIG authenticates one RRset with one of a zone's DNSKEYs at a given time: the checks of
// RFC 4035 §5.3 a validator makes, for telling whether what a secondary serves would validate. Pure:
// the keys, the records and the time are parameters.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "zone/ZoneVersion.h"
#include "zone/dns/Name.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::sign {

enum class RrsigVerdict : uint8_t {
    Valid,
    Malformed,     // RDATA too short, or the signer field is not a name
    NotCovering,   // another owner or class than the RRset's (RFC 4035 §5.3.1)
    WrongType,     // the type covered is not the RRset's type (RFC 4035 §5.3.1)
    WrongLabels,   // the labels field exceeds the owner's labels (RFC 4035 §5.3.1)
    WrongSigner,   // the signer is not the zone apex (RFC 4035 §5.3.1)
    NotYetValid,   // now is before the inception (RFC 4035 §5.3.1)
    Expired,       // now is after the expiration (RFC 4035 §5.3.1)
    NoKey,         // no zone key (RFC 4034 §2.1.1) with the key tag and algorithm (RFC 4035 §5.3.1)
    BadSignature,  // no such key's signature verifies over the RRset (RFC 4035 §5.3.3)
};

// "valid", "malformed", "not-covering", "wrong-type", "wrong-labels", "wrong-signer", "not-yet-valid",
// "expired", "no-key", "bad-signature".
std::string_view to_string(RrsigVerdict v);

struct RrsigCheck {
    RrsigVerdict verdict = RrsigVerdict::Malformed;
    uint16_t key_tag = 0;
    uint8_t algorithm = 0;
    uint32_t expiration = 0;  // the RDATA's field (seconds since 1970 modulo 2^32)
};

// Seconds from `now` (seconds since 1970) to a 32-bit RRSIG time field, in RFC 1982 serial arithmetic
// (RFC 4034 §3.1.5: the field wraps in 2106; it means the instant nearest to now). Negative: past.
int64_t rrsig_seconds_from(uint32_t field, int64_t now);

// Checks `rrsig` (an RRSIG record) over `rrset` (the records of one owner, type and class, any order,
// duplicates allowed: as a secondary's answer or transfer gives them) for the zone `apex`, against `keys`
// (the zone's apex DNSKEY RRset; several may share a tag: each is tried) at `now`. In the order of the
// enum. The RRset is signed in canonical form and order with the RRSIG's original TTL (RFC 4034 §3.1.8.1,
// §6); an owner with more labels than the labels field is a wildcard expansion, signed as
// "*." + the rightmost labels (RFC 4035 §5.3.2). An empty `rrset` is NotCovering.
RrsigCheck check_rrsig(dns::NameView apex, std::span<const zone::RecordView> rrset,
                       const zone::RecordView& rrsig, std::span<const DnssecKey> keys, int64_t now);

}  // namespace headwater::sign
