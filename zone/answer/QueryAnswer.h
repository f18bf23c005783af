// The answer to one ordinary query from one zone version, written into a message whose header, question
// and EDNS are already set: RFC 1034 §4.3.2 (exact matches, CNAME and DNAME chains, wildcards, referrals,
// negative answers) and, for a query with the DO bit to a signed zone, the RRSIGs and NSEC/NSEC3 proofs
// of RFC 4035 §3.1. No I/O; the Responder owns the rest of the message (TC, TSIG).
#pragma once

#include <optional>

#include "zone/ZoneVersion.h"
#include "zone/answer/DenialProof.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::answer {

class QueryAnswer {
  public:
    // `dnssec_ok`: the query's EDNS DO bit (RFC 3225). DNSSEC records are added only when the zone is
    // signed as well (ZoneVersion::is_signed).
    QueryAnswer(const zone::ZoneVersion& v, dns::MessageBuilder& mb, bool dnssec_ok);

    // Fills the answer, authority and additional sections, AA and the rcode. Returns true when the answer
    // or authority section did not fit: the caller sets TC (RFC 2181 §9), also when only RRSIGs were
    // left out (RFC 4035 §3.1.1).
    bool build(dns::NameView qname, dns::RRType qtype);

  private:
    enum class Step : uint8_t { Done, Follow };

    Step resolve();
    Step redirect_by_dname(dns::NameView owner, zone::ZoneVersion::Range dname);
    Step answer_missing_name();
    Step follow(dns::NameView target);
    void finish_sections();

    bool push(dns::Section section, const zone::RecordView& rec, dns::NameView owner, uint32_t ttl);
    void push_range(dns::Section section, zone::ZoneVersion::Range range,
                    std::optional<dns::NameView> owner = std::nullopt);
    // An RRset and, with DNSSEC, the RRSIGs covering it; `owner` rewrites both for a wildcard expansion
    // (the RRSIG as stored otherwise: its labels field tells the validator, RFC 4035 §5.3.4).
    void push_rrset(dns::Section section, zone::ZoneVersion::Range rrset,
                    std::optional<dns::NameView> owner = std::nullopt);
    // All records of a name (qtype ANY); a wildcard's own NSEC is not synthesised for another name.
    void push_any(zone::ZoneVersion::Range names, std::optional<dns::NameView> owner = std::nullopt);
    void push_glue(zone::ZoneVersion::Range ns);

    const zone::ZoneVersion& v_;
    dns::MessageBuilder& mb_;
    const bool dnssec_ok_;
    const bool dnssec_;  // DO, and a signed zone
    DenialProof proof_;
    dns::RRType qtype_{};
    dns::Name current_;  // the name being resolved: the query name, then each name a chain leads to
    bool truncated_ = false;
    bool negative_ = false;  // NXDOMAIN or NODATA: the SOA goes in the authority section
    std::optional<dns::Name> cut_;
    zone::ZoneVersion::Range cut_ns_;
};

}  // namespace headwater::answer
