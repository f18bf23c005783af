// The server's side of key rollovers (zone/sign/ZskRollover.h): a zone's rollover is driven step by step
// from what the secondaries ledger says each secondary serves, on the control thread (the signature watch
// on its timer, `headwaterctl dnssec rollover` at once). Each step is written to the key files before the
// zone is re-signed with it, and every step is logged.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "zone/Zone.h"
#include "zone/sign/ZoneSigner.h"

namespace headwater::server {

class SecondaryRegistry;

// The secondaries whose serial a rollover step waits for: the peers that have transferred the zone
// (the secondaries view), and the zone's configured public secondaries as verify last saw them.
std::vector<sign::ServedSerial> rollover_secondaries(const SecondaryRegistry* registry,
                                                     const std::string& zone);

// The planner's input for the zone now (start_now false); an error when the key directory cannot be read
// or rollover.state written.
Result<sign::RolloverInput, std::string> rollover_input(const zone::Zone& z, sign::ZoneSigner& signer,
                                                        std::vector<sign::RolloverKey> keys,
                                                        const SecondaryRegistry* registry,
                                                        zone::Clock::time_point now);

struct RolloverPass {
    std::optional<zone::Clock::time_point> wake;  // when the rollover asked to be looked at again
    bool waiting = false;              // a rollover is under way (it also moves when a secondary catches up)
    std::optional<uint16_t> needs_ds;  // a KSK or CSK rollover waits for the parent's DS of this key
    std::string status;                // what it does or waits for
    std::string error;                 // a step that failed (the keys stay as they were)
};

enum class RolloverRole : uint8_t { Zsk, Sep };  // Sep: the KSK, or the CSK

struct RolloverContext {
    const SecondaryRegistry* registry = nullptr;
    std::function<void(const zone::Zone&)> changed;  // each new version served (NOTIFY)
};

// Moves the zone's rollovers (ZSK, and KSK or CSK) on as far as they can go now; `start` starts one of
// that role (an operator's request).
RolloverPass drive_key_rollover(zone::Zone& z, sign::ZoneSigner& signer, const RolloverContext& context,
                                zone::Clock::time_point now, std::optional<RolloverRole> start);

}  // namespace headwater::server
