// RRSIG records (RFC 4034 §3): the RDATA fields before the signature, and the octets a signature covers
// (RFC 4034 §3.1.8.1: those fields, then every record of the RRset in canonical form and order, each with
// the original TTL).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/sign/DnssecAlgorithm.h"

namespace headwater::sign {

struct RrsigFields {
    dns::RRType covered{};
    DnssecAlgorithm algorithm{};
    uint8_t labels = 0;  // RFC 4034 §3.1.3: the owner's labels, a leading "*" not counted
    uint32_t original_ttl = 0;
    uint32_t expiration = 0;  // seconds since 1970, modulo 2^32 (RFC 4034 §3.1.5)
    uint32_t inception = 0;
    uint16_t key_tag = 0;
    dns::NameView signer;  // the zone apex; written lower-case (canonical form, RFC 4034 §6.2)
};

// The labels field for an owner.
uint8_t rrsig_labels(dns::NameView owner);

// Appends the RDATA up to and without the signature.
void append_rrsig_head(const RrsigFields& f, std::vector<uint8_t>& out);

// Appends what is signed after the head: each record of `rrset` (one owner, type and class, in canonical
// order, without duplicates, as a ZoneVersion holds them) in canonical form with `original_ttl`.
void append_signed_rrset(std::span<const zone::RecordView> rrset, uint32_t original_ttl,
                         std::vector<uint8_t>& out);

// An RRSIG record as a version stores it (owner, TYPE, CLASS IN, TTL, RDLENGTH, RDATA): its length, and
// the record written at `out` (that many octets), returning where it ends.
std::size_t rrsig_record_size(std::span<const uint8_t> owner, std::span<const uint8_t> rdata);
uint8_t* write_rrsig_record(uint8_t* out, std::span<const uint8_t> owner, uint32_t ttl,
                            std::span<const uint8_t> rdata);

// The fields of RRSIG RDATA that decide whether it can be kept: covered type, algorithm, expiration,
// inception, key tag. Nothing for RDATA too short to be an RRSIG.
struct RrsigSummary {
    dns::RRType covered{};
    uint8_t algorithm = 0;
    uint32_t expiration = 0;
    uint32_t inception = 0;
    uint16_t key_tag = 0;
};
std::optional<RrsigSummary> read_rrsig(std::span<const uint8_t> rdata);

}  // namespace headwater::sign
