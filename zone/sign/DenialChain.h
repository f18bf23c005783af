// The authenticated denial of existence records a signer adds to a zone: the NSEC chain (RFC 4034 §4,
// RFC 4035 §2.3) or the NSEC3 chain with its NSEC3PARAM (RFC 5155 §7.1), from the zone's shape. Pure
// functions: the records come out in wire form, unsigned.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "zone/sign/ZoneShape.h"

namespace headwater::sign {

// Records built by the signer, packed like a ZoneVersion's (owner, type, class, TTL, RDLENGTH, RDATA).
class RecordList {
  public:
    void add(std::span<const uint8_t> owner, dns::RRType type, uint32_t ttl, std::span<const uint8_t> rdata);
    std::size_t size() const { return offsets_.size(); }
    zone::RecordView record(std::size_t i) const {
        return zone::decode_record(std::span(data_).subspan(offsets_[i]));
    }

  private:
    std::vector<uint8_t> data_;
    std::vector<std::size_t> offsets_;
};

struct Nsec3Settings {
    uint16_t iterations = 0;    // RFC 9276 §3.1: 0
    std::vector<uint8_t> salt;  // RFC 9276 §3.1: empty
    bool opt_out = false;       // RFC 5155 §6: insecure delegations left out of the chain
};

// The type bitmap field of NSEC and NSEC3 (RFC 4034 §4.1.2) for `types` (any order, duplicates allowed).
std::vector<uint8_t> type_bitmap(std::vector<uint16_t> types);

// The NSEC chain over the apex, the authoritative names and the delegation points, each NSEC naming the
// next and listing the types there (RRSIG and NSEC included; at a delegation only NS, DS, RRSIG, NSEC).
// `apex_types` are types the signer adds at the apex (DNSKEY). `ttl`: RFC 9077, the SOA's negative TTL.
void add_nsec_chain(const zone::ZoneVersion& v, const std::vector<Node>& nodes,
                    std::span<const uint16_t> apex_types, uint32_t ttl, RecordList& out);

// The NSEC3 chain (the hashed owners of the same names plus the empty non-terminals above them; with
// opt-out, delegations without DS and the empty non-terminals only they need are left out) and the
// NSEC3PARAM at the apex. Fails only if two names hash alike (then the salt must change).
Result<void, std::string> add_nsec3_chain(const zone::ZoneVersion& v, const std::vector<Node>& nodes,
                                          std::span<const uint16_t> apex_types, uint32_t ttl,
                                          const Nsec3Settings& settings, RecordList& out);

}  // namespace headwater::sign
