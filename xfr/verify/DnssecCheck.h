// The DNSSEC side of verifying a secondary of a signed zone: does it serve the DNSKEY RRset we serve,
// and do the RRSIGs it serves validate against our keys (RFC 4035 §5.3) for long enough? A resolver
// that reaches a secondary with another key set or a bad or stale signature fails validation (RFC 4035
// §5.5: SERVFAIL) even when every record is the same as ours. Pure code: the caller asks the questions
// and hands in the parsed answers or the transferred copy, and the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "xfr/verify/VerifySample.h"
#include "xfr/verify/ZoneCompare.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/Message.h"
#include "zone/dns/Name.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::verify {

// One RRSIG that does not validate, or one RRset served without any.
struct SignatureProblem {
    dns::Name owner;
    dns::RRType type{};    // the type covered
    uint16_t key_tag = 0;  // the RRSIG's; 0 for "unsigned"
    std::string problem;   // a sign::RrsigVerdict name ("bad-signature", "expired", ...) or "unsigned"
    uint32_t expiration = 0;
};

struct DnssecResult {
    bool dnskey_match = false;
    std::string dnskey_error;                // why their DNSKEY RRset was not read; empty when it was
    std::vector<uint16_t> missing_tags;      // key tags of the DNSKEYs we serve that they do not, ascending
    std::vector<uint16_t> extra_tags;        // of the DNSKEYs they serve that we do not
    std::size_t rrsets_checked = 0;          // RRsets whose RRSIGs were verified
    std::size_t signatures_checked = 0;      // RRSIGs verified
    std::size_t signatures_dated = 0;        // RRSIGs whose dates were read (the verified ones included)
    std::size_t signatures_bad = 0;          // RRSIGs that do not validate, and RRsets served without RRSIG
    std::vector<SignatureProblem> problems;  // the first max_listed of them
    std::optional<int64_t> earliest_expiry;  // seconds since 1970, of every RRSIG dated
    std::size_t expiring = 0;                // RRSIGs still valid that expire within warn_within
    uint32_t warn_within = 0;                // seconds

    // The secondary serves our keys and nothing that fails validation (an expiring signature is a
    // warning: it validates now).
    bool ok() const { return dnskey_match && signatures_bad == 0; }
};

class DnssecCheck {
  public:
    // Whether the checks apply: the version we serve has a DNSKEY RRset at the apex (a zone we sign, or
    // one loaded signed).
    static bool applies(const zone::ZoneVersion& served);

    // `served`'s apex DNSKEY RRset is the reference, and its keys verify (a key of an algorithm we cannot
    // verify with is compared but verifies nothing: its signatures come out "no-key"). `now` in seconds
    // since 1970; RRSIGs valid for less than `warn_within` seconds more count as expiring.
    DnssecCheck(const zone::ZoneVersion& served, int64_t now, uint32_t warn_within, std::size_t max_listed);

    // Their answer to "<apex> DNSKEY" asked with DO (RFC 4035 §3.2.1): the DNSKEY RRset compared with
    // ours by RDATA (order and TTL aside), then its RRSIGs checked as check_response does.
    void check_dnskey_answer(const dns::Message& response);
    // The DNSKEY question got no usable answer.
    void dnskey_failed(std::string why);

    // The RRsets of the answer and authority sections owned at or below the apex, each with the RRSIGs
    // covering it, from a response to a question asked with DO. Not checked: the NS RRset of a delegation
    // (a referral's, unsigned: RFC 4035 §2.2), a CNAME next to a DNAME (synthesized, unsigned: RFC 6672
    // §5.3.1), the additional section (glue). An RRset checked before (the SOA of every negative answer)
    // is not checked again.
    void check_response(const dns::Message& response);

    // A transferred copy (AXFR records, any order): the RRsets the Answer questions of `sample` name
    // (select_sample: the apex and a bounded draw) checked with their RRSIGs; every other RRSIG of the
    // copy only dated (expired: bad; expiring: counted), so a full copy costs no more cryptography than
    // the sample does. Every element must be one well-formed record.
    void check_copy(std::span<const WireRecord> records, std::span<const SampleQuery> sample);

    const DnssecResult& result() const { return result_; }

  private:
    void check_rrset(std::span<const zone::RecordView> rrset, std::span<const zone::RecordView> rrsigs);
    void date(uint32_t expiration);
    void add_problem(SignatureProblem p);

    dns::Name apex_;
    int64_t now_;
    std::size_t max_listed_;
    std::vector<std::vector<uint8_t>> served_dnskeys_;  // RDATA, sorted
    std::vector<sign::DnssecKey> keys_;
    std::set<std::pair<std::string, uint16_t>> checked_;  // (owner key, type) done
    DnssecResult result_;
};

}  // namespace headwater::verify
