// Signing a zone version (RFC 4035 §2): from the unsigned version the operator's file gave, the version
// secondaries receive, with the DNSKEY RRset, the NSEC or NSEC3 chain and an RRSIG per key over every
// RRset the zone is authoritative for. Pure: the keys, the time and the randomness are parameters.
//
// Incremental by construction: given the previous signed version, an RRset that is the same as there keeps
// its signatures while they are good for longer than the refresh window, so a one-record change makes a
// few new signatures (the changed set, the SOA, the NSEC records around it) and the IXFR stays that small.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"
#include "zone/sign/DenialChain.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::sign {

enum class Denial : uint8_t { Nsec, Nsec3 };

// A [[dnssec_policy]] as the signer uses it (times in seconds).
struct SigningPolicy {
    std::string name = "default";
    DnssecAlgorithm algorithm = DnssecAlgorithm::EcdsaP256Sha256;
    bool split_keys = false;  // "ksk+zsk": the KSK signs the DNSKEY RRset, the ZSK everything else
    Denial denial = Denial::Nsec;
    Nsec3Settings nsec3;
    uint32_t signature_validity = 14 * 86400;
    uint32_t signature_refresh = 7 * 86400;  // re-sign a signature this long before it expires
    uint32_t signature_jitter = 12 * 3600;  // expirations spread over this much, so refreshes come in batches
    uint32_t dnskey_ttl = 3600;
    uint32_t inception_offset = 3600;  // inception this far in the past, for validators with a slow clock
    // Rollovers (ZskRollover.h): how long a ZSK signs (0: no automatic rollover), and how long serving a
    // version takes when the zone knows no secondary to ask.
    uint32_t zsk_lifetime = 0;
    uint32_t propagation_delay = 300;
    uint32_t ksk_lifetime = 0;  // the same for the KSK or CSK (SepRollover.h)
    // How long a resolver may hold the parent's DS RRset, when the operator confirms it (`dnssec
    // ds-seen`) rather than Headwater asking the parent servers, which tell.
    uint32_t parent_ds_ttl = 86400;
    uint32_t ds_check_interval = 3600;  // how often the zone's parent servers are asked for the DS
};

// One key as the signer uses it: published in the DNSKEY RRset, and signing the DNSKEY RRset (a KSK or
// CSK), the rest of the zone (a ZSK or CSK), both, or neither (published only).
struct SigningKey {
    DnssecKey key;
    bool signs_keys = true;
    bool signs_zone = true;
    bool cds = false;  // its CDS and CDNSKEY are published: the parent is asked for its DS (RFC 7344)
};

struct SignOptions {
    uint32_t now = 0;      // seconds since 1970
    uint64_t seed = 0;     // for the expiration jitter
    unsigned threads = 1;  // signing threads
    bool reuse = true;     // false: every signature made anew (`headwaterctl dnssec sign`)
};

struct SignedZone {
    zone::ZoneVersionPtr version;
    std::size_t signatures_made = 0;
    std::size_t signatures_kept = 0;
    std::size_t signatures = 0;        // in the version
    uint32_t earliest_expiration = 0;  // of every signature in the version
    uint32_t next_refresh = 0;         // when the earliest ones are due (earliest_expiration - refresh)
};

// The window past the refresh time within which signatures are renewed together (so that jittered
// expirations make batches, not one new version per signature).
uint32_t refresh_batch(const SigningPolicy& p);

// The first DNSSEC record of `source` (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY) as an error
// message: a zone the server signs is edited unsigned.
Result<void, std::string> check_unsigned(const zone::ZoneVersion& source);

// The unsigned version a signed one was made from: the same records without the DNSSEC ones above.
zone::ZoneVersionPtr strip_dnssec(const zone::ZoneVersion& signed_version);

Result<SignedZone, std::string> sign_zone(const zone::ZoneVersion& source, const zone::ZoneVersion* previous,
                                          std::span<const SigningKey> keys, const SigningPolicy& policy,
                                          const SignOptions& options);

// What sign_changes needs of the signing before: the unsigned version it signed and what it made of it,
// with the same keys and policy as this one.
struct PreviousSigning {
    const zone::ZoneVersion* source = nullptr;
    const zone::ZoneVersion* signed_version = nullptr;
    uint32_t now = 0;                  // its SignOptions::now
    uint32_t earliest_expiration = 0;  // of its signatures (an earlier time is safe)
    std::size_t signatures = 0;        // in signed_version
};

struct SignedChanges {
    SignedZone zone;
    zone::Changeset changes;  // from previous.signed_version to zone.version
};

// `source` signed from the previous signing by touching only the RRsets that differ from previous.source,
// the SOA among them: the same version sign_zone would make with previous.signed_version to reuse from,
// without a pass over the whole zone to derive it (a one-record reload of a large zone). Nothing when the
// change is not one it derives locally, and the caller signs the whole zone: a change of the set of
// names or of the types at a name (the denial chain changes), at the apex, at or below a zone cut, of NS,
// DS or DNAME (the zone's shape changes), of the SOA's negative TTL (the denial records' TTL), or any
// signature of the previous version due for refresh (sign_zone would make it anew).
Result<std::optional<SignedChanges>, std::string> sign_changes(const zone::ZoneVersion& source,
                                                               const PreviousSigning& previous,
                                                               std::span<const SigningKey> keys,
                                                               const SigningPolicy& policy,
                                                               const SignOptions& options);

}  // namespace headwater::sign
