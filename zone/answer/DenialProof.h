// Which NSEC or NSEC3 records prove that a name or an RRset does not exist in a signed zone (RFC 4035
// §3.1.3, §3.1.4; RFC 5155 §7.2). It only chooses records of the version; the caller puts each, with
// the RRSIGs covering it, in the authority section of the answer.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "zone/ZoneVersion.h"

namespace headwater::answer {

class DenialProof {
  public:
    // NSEC3 when the zone has an NSEC3 chain of its NSEC3PARAM, else NSEC, else nothing (no proof). A
    // proof that is not `wanted` (no DO bit, an unsigned zone) chooses nothing and costs nothing.
    DenialProof(const zone::ZoneVersion& v, bool wanted);

    // The records chosen so far (record numbers of the version), each once, in the order chosen.
    const std::vector<std::size_t>& records() const { return records_; }

    // `qname` does not exist, nor does a wildcard at `encloser`, its closest existing ancestor
    // (RFC 4035 §3.1.3.2; RFC 5155 §7.2.2: closest encloser, next closer name, wildcard).
    void name_error(dns::NameView qname, dns::NameView encloser);
    // `name` exists (maybe as an empty non-terminal) but has no RRset of the type asked for, or is a
    // delegation without DS (RFC 4035 §3.1.3.1, §3.1.4.1; RFC 5155 §7.2.3, and §7.2.4 when, under
    // Opt-Out, the name has no NSEC3 of its own).
    void no_data(dns::NameView name);
    // A wildcard at `*.encloser` answered for `qname`: the proof that `qname` itself does not exist
    // (RFC 4035 §3.1.3.3; RFC 5155 §7.2.6: the next closer name is covered).
    void wildcard_answer(dns::NameView qname, dns::NameView encloser);
    // The wildcard at `*.encloser` exists but has no RRset of the type (RFC 4035 §3.1.3.4;
    // RFC 5155 §7.2.5).
    void wildcard_no_data(dns::NameView qname, dns::NameView encloser);

  private:
    enum class Kind : uint8_t { None, Nsec, Nsec3 };

    void add(std::optional<std::size_t> record);
    // The NSEC at or before `qname`, and the one at or before `wildcard` (its wire form; none when empty).
    void add_nsec_pair(dns::NameView qname, std::span<const uint8_t> wildcard);
    std::vector<uint8_t> hashed(dns::NameView name) const;
    std::optional<std::size_t> nsec3_matching(dns::NameView name) const;
    std::optional<std::size_t> nsec3_covering(dns::NameView name) const;
    // The closest ancestor of `qname`, starting at `from`, that has an NSEC3 of its own (RFC 5155 §7.2.1).
    dns::NameView closest_provable_encloser(dns::NameView from) const;

    const zone::ZoneVersion& v_;
    Kind kind_ = Kind::None;
    std::vector<std::size_t> records_;
};

// `*.name` in wire form; empty when it would be longer than a name may be.
std::vector<uint8_t> wildcard_of(dns::NameView name);
// The ancestor of `qname` one label longer than `encloser` (RFC 5155 §1.3, "next closer name");
// `encloser` must be a proper ancestor of `qname`.
dns::NameView next_closer(dns::NameView qname, dns::NameView encloser);

}  // namespace headwater::answer
