// Verification by sample, for secondaries that refuse transfers: the questions to ask, chosen
// from what we serve and from the journal, and the check of each answer against the served version.
// Pure code: the caller sends the queries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xfr/verify/ZoneCompare.h"
#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/Message.h"
#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"

namespace headwater::verify {

struct SampleQuery {
    enum class Expect : uint8_t {
        Answer,    // authoritative answer with exactly `records`
        NoData,    // the name exists, not with this type (RFC 2308 §2.2)
        NxDomain,  // the name does not exist (RFC 2308 §2.1)
        Referral,  // below a zone cut: a referral whose NS RRset is `records` (RFC 1034 §4.3.2)
    };
    dns::Name name;
    dns::RRType type{};
    Expect expect = Expect::Answer;
    std::vector<WireRecord> records;  // expected RRset, canonical order
    std::string reason;               // "apex", "changed", "removed" or "random"
};

std::string_view to_string(SampleQuery::Expect expect);  // "answer" / "nodata" / "nxdomain" / "referral"

// The questions for one check: every apex RRset; every (name, type) added, changed or removed by
// `recent` (journal changesets, oldest first; newest changes are taken first when they are many), at
// most `max_changed`; then `random_count` further RRsets drawn from the zone by a PRNG seeded with
// `seed` (the same seed and version give the same sample on every platform: splitmix64, no <random>
// distribution). No (name, type) twice. Glue and other records below a zone cut are not sampled (a
// secondary only refers); a cut is asked as a Referral, its DS as an Answer (the parent's side). When the
// random draws keep finding RRsets already taken, the rest are taken in zone order from a random record,
// so a small zone is covered whole.
//
// Expectations come from `served`: Answer when the RRset exists; else NoData when the name exists
// (empty non-terminals included); else the wildcard of the closest encloser when there is one (RFC 4592:
// Answer with its RRset owned by the name, or NoData); else NxDomain. A name at or below a cut expects a
// Referral with the cut's NS RRset (a changed glue record too). Not asked, because the answer is not one
// these checks compare: RRSIG and NSEC3 types (servers answer direct RRSIG queries differently; NSEC3
// owners are hashes), another type at a name that owns a CNAME (the answer is the CNAME and its chain),
// names below a DNAME, NSEC and RRSIG at a cut. Reasons: "apex", "changed" (the RRset exists now),
// "removed" (it does not), "random".
std::vector<SampleQuery> select_sample(const zone::ZoneVersion& served,
                                       std::span<const zone::Changeset> recent, std::size_t random_count,
                                       uint64_t seed, std::size_t max_changed = 64);

struct SampleResult {
    bool match = false;
    std::string detail;  // why it does not match ("rcode NXDOMAIN, expected NOERROR"); empty on a match
    std::vector<WireRecord> theirs;  // the RRset the secondary gave (uncompressed, canonical order)
};

// Checks a secondary's response to q (already parsed; TC responses are the caller's business: retry
// over TCP). In this order: the question (when the response has one) is q's; the RCODE (extended
// RCODE included) is NXDOMAIN for NxDomain, NOERROR otherwise; no record the check reads is malformed;
// AA is set (except for a referral, RFC 1034 §4.3.2 step 3b); no CNAME at q.name unless q asks for CNAME.
// Then: Answer: the answer section's RRset at q.name of q.type equals q.records (compare_zone's case and TTL
// rules; other RRsets in the answer, a CNAME's target for instance, are ignored). NoData, NxDomain: no
// record of q.type at q.name, and an SOA in the authority section (RFC 2308 §3; its content is not
// compared: serials are checked on their own). Referral: the authority section's NS RRset owned by the
// cut equals q.records; an authoritative answer instead is a mismatch too ("serves the child zone
// too?": a secondary serving parent and child looks the same as one that lost the delegation).
// `theirs` holds what was compared: the answer RRset, the CNAME, or the referral's NS RRset.
SampleResult check_answer(const SampleQuery& q, const dns::Message& response);

}  // namespace headwater::verify
