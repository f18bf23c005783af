// The ZSK pre-publish rollover (RFC 7583 §3.2.1), timed by what the secondaries serve rather than by a
// guessed propagation delay. Pure: the keys, what each secondary serves, the served serial and the time
// are parameters; the caller carries out the one step it returns, records it, and asks again.
//
// The steps of one rollover, each waiting for the one before to have propagated:
//   1. Generate: a successor ZSK is published in the DNSKEY RRset, not signing (Publish set, no Activate).
//   2. Once every secondary serves a serial carrying it, and the DNSKEY TTL has passed since (so that no
//      resolver holds a DNSKEY RRset without it): Activate: the successor signs, the old ZSK stops
//      (Inactive) but stays published.
//   3. Once every secondary serves the serial re-signed with the successor, and the zone's largest TTL
//      has passed since (so that no cached signature was made by the old key): Remove: the old ZSK leaves
//      the DNSKEY RRset (Delete).
// A zone with no secondaries known waits `propagation_delay` after serving each step instead.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "zone/sign/KeyTiming.h"

namespace headwater::sign {

// What one secondary of the zone serves, as the secondaries ledger last saw it.
struct ServedSerial {
    std::string peer;                // its address, as the status shows it
    std::optional<uint32_t> serial;  // absent: not seen serving the zone
};

// A step of a rollover as served: the first serial that carried it, when it was served, and when every
// secondary was first seen serving that serial or a later one.
struct StepRecord {
    std::optional<uint32_t> serial;
    std::time_t served = 0;
    std::optional<std::time_t> propagated;

    bool operator==(const StepRecord&) const = default;
};

struct RolloverKey {
    uint16_t tag = 0;
    bool sep = false;  // a KSK or CSK: not part of a ZSK rollover
    KeyTiming timing;
    StepRecord published;  // a successor: the version that first published it
    StepRecord retired;    // an old key: the version that first went without its signatures
    // A KSK or CSK successor (SepRollover.h): when the parent was first seen serving its DS (every parent
    // server, or the operator's `dnssec ds-seen`), and that DS RRset's TTL.
    std::optional<std::time_t> ds_seen;
    uint32_t ds_ttl = 0;
    // When a rollover of ours generated it (a KSK or CSK successor): keys imported or generated
    // otherwise are never taken for a rollover's successor.
    std::optional<std::time_t> generated;

    bool operator==(const RolloverKey&) const = default;
};

struct RolloverSettings {
    uint32_t zsk_lifetime = 0;       // seconds a ZSK signs before its successor takes over; 0: never
    uint32_t ksk_lifetime = 0;       // the same for the KSK or CSK
    uint32_t dnskey_ttl = 3600;      // how long a resolver may hold the DNSKEY RRset
    uint32_t max_ttl = 86400;        // the zone's largest TTL: how long a signature may be cached
    uint32_t propagation_delay = 0;  // with no secondaries known: how long serving a version takes
};

// What the parent zone's servers serve for the zone's DS, as last asked (server/ParentDs.h).
struct ParentDs {
    std::vector<std::string> servers;  // the parent servers configured; none: only `dnssec ds-seen`
    bool answered = false;             // every server has answered since the rollover began waiting
    std::vector<uint16_t> tags;        // the keys every parent server serves a matching DS for
    uint32_t ttl = 0;                  // the largest TTL of those DS RRsets
    std::string summary;               // what each server served, or why it did not answer
};

struct RolloverInput {
    std::string zone;  // its name as the operator's commands take it, for the status ("example.com.")
    std::vector<RolloverKey> keys;
    RolloverSettings settings;
    // The serial served, when the served version was signed with the keys as they are now; absent while
    // a re-signing after a key change is pending.
    std::optional<uint32_t> signed_serial;
    std::vector<ServedSerial> secondaries;  // empty: none known (propagation_delay applies)
    std::time_t now = 0;
    bool start_now = false;  // an operator's `dnssec rollover ZONE zsk|ksk`
    ParentDs parent;         // KSK and CSK rollovers only
};

enum class RolloverAction : uint8_t {
    None,      // nothing to do now: see `wake` and `status`
    Record,    // keep `updated` (a step's serial or propagation), then ask again
    Generate,  // a new ZSK, published now and not active (`sep`: a new KSK or CSK, published and active)
    Activate,  // `tag` active now (`sep`: its CDS/CDNSKEY published now); `retire` inactive now; then
               // sign every RRSIG anew
    Remove,    // `tag` removed from the DNSKEY RRset now (`sep`: and `sync_end`'s CDS/CDNSKEY withdrawn)
};

struct RolloverDecision {
    RolloverAction action = RolloverAction::None;
    uint16_t tag = 0;
    bool sep = false;                    // a KSK or CSK rollover step (SepRollover.h)
    std::vector<uint16_t> retire;        // Activate: the keys it replaces
    std::optional<uint16_t> sync_end;    // Remove (sep): the successor, whose CDS/CDNSKEY are withdrawn
    std::optional<uint16_t> needs_ds;    // waiting for the parent to serve a DS for this key
    std::optional<RolloverKey> updated;  // Record: the key with its new records
    std::optional<std::time_t> wake;     // when to ask again at the latest (a secondary's change, sooner)
    std::string status;                  // what the rollover does or waits for, for logs and status
};

RolloverDecision plan_zsk_rollover(const RolloverInput& in);

// The common part of every step: the serial that first carries `key`'s step `step` (published or
// retired) is recorded, then its propagation to every secondary (or propagation_delay), then `hold`
// seconds pass. Returns what to do or wait for, or nothing once the hold is over.
std::optional<RolloverDecision> pending_step(const RolloverInput& in, const RolloverKey& key,
                                             StepRecord RolloverKey::*step, uint32_t hold,
                                             const char* hold_what);

// "2026-12-05 14:00:00 UTC", as the status texts write times.
std::string rollover_time_text(std::time_t t);

}  // namespace headwater::sign
