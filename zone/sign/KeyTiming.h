// When a key is in the zone and when it signs: BIND's key timing metadata (the Publish, Activate, Inactive
// and Delete lines of a v1.3 .private file), so a key moved to or from BIND keeps its place in a
// rollover. A time that is absent has not been decided yet (a successor's Activate is set once its
// DNSKEY has propagated); a key with no timing at all (ldns-keygen writes none) is published and active.
#pragma once

#include <ctime>
#include <optional>

namespace headwater::sign {

struct KeyTiming {
    std::time_t created = 0;              // 0: unknown
    std::optional<std::time_t> publish;   // in the DNSKEY RRset from then
    std::optional<std::time_t> activate;  // signs from then
    std::optional<std::time_t> inactive;  // signs no more from then (still published: its signatures
                                          // may be cached)
    std::optional<std::time_t> remove;    // out of the DNSKEY RRset from then ("Delete:")
    // CDS/CDNSKEY for the key published from / withdrawn from (RFC 7344; "SyncPublish:", "SyncDelete:").
    std::optional<std::time_t> sync_publish;
    std::optional<std::time_t> sync_delete;

    // A key with no Publish line is published from its Activate (or always, with neither), as BIND
    // reads such files.
    bool published(std::time_t now) const {
        const bool in = publish ? *publish <= now : (!activate || *activate <= now);
        return in && !(remove && *remove <= now);
    }
    bool active(std::time_t now) const {
        const bool on = activate ? *activate <= now : !publish;
        return on && !(inactive && *inactive <= now) && published(now);
    }
    // Published and not yet active, the state of a successor waiting for its DNSKEY to propagate.
    bool incoming(std::time_t now) const { return published(now) && !activate; }
    // Active once, no more, and still published: its signatures may still be cached.
    bool retired(std::time_t now) const { return inactive && *inactive <= now && published(now); }

    bool operator==(const KeyTiming&) const = default;
};

}  // namespace headwater::sign
