// A simulated signed zone for the rollover planners' tests (zone/sign/ZskRollover.h, SepRollover.h): it
// carries out each decision as the server would (a key change is written, then the zone is signed anew,
// making a new serial), with secondaries and a parent that follow when the test says so.
#pragma once

#include <algorithm>

#include "zone/sign/KeyFiles.h"
#include "zone/sign/SepRollover.h"
#include "zone/sign/ZskRollover.h"

namespace headwater::sign {

inline constexpr std::time_t kStart = 1'800'000'000;
inline constexpr uint32_t kDay = 86400;

inline RolloverKey key_of(uint16_t tag, bool sep, KeyTiming timing) {
    RolloverKey k;
    k.tag = tag;
    k.sep = sep;
    k.timing = timing;
    return k;
}

struct SimulatedZone {
    std::vector<RolloverKey> keys;
    RolloverSettings settings;
    uint32_t serial = 100;
    bool signed_with_current_keys = true;
    std::vector<ServedSerial> secondaries{{"198.51.100.10", 100}, {"203.0.113.20", 100}};
    ParentDs parent;
    std::time_t now = kStart;
    uint16_t next_tag = 2000;

    // A KSK (1000) and a ZSK (1001), or a CSK (1000) alone.
    explicit SimulatedZone(bool csk = false) {
        keys.push_back(key_of(1000, true, active_from(kStart - 10 * kDay)));
        if (!csk) keys.push_back(key_of(1001, false, active_from(kStart - 10 * kDay)));
        settings.zsk_lifetime = 30 * kDay;
        settings.ksk_lifetime = 365 * kDay;
        settings.dnskey_ttl = 3600;
        settings.max_ttl = 7200;
        settings.propagation_delay = 600;
    }

    RolloverInput input(bool start_now) const {
        RolloverInput in;
        in.zone = "sim.example.";
        in.keys = keys;
        in.settings = settings;
        if (signed_with_current_keys) in.signed_serial = serial;
        in.secondaries = secondaries;
        in.now = now;
        in.start_now = start_now;
        in.parent = parent;
        return in;
    }
    RolloverDecision plan(bool start_now = false) const { return plan_zsk_rollover(input(start_now)); }
    RolloverDecision plan_sep(bool start_now = false) const { return plan_sep_rollover(input(start_now)); }

    RolloverKey& key(uint16_t tag) {
        return *std::ranges::find_if(keys, [tag](const RolloverKey& k) { return k.tag == tag; });
    }

    // Carries out `d`; a key change leaves the zone to be re-signed (sign()).
    void apply(const RolloverDecision& d) {
        switch (d.action) {
            case RolloverAction::None:
                return;
            case RolloverAction::Record:
                key(d.updated->tag) = *d.updated;
                return;
            case RolloverAction::Generate: {
                KeyTiming t;
                t.created = now;
                t.publish = now;
                if (d.sep) t.activate = now;
                keys.push_back(key_of(next_tag++, d.sep, t));
                if (d.sep) keys.back().generated = now;
                break;
            }
            case RolloverAction::Activate:
                if (d.sep)
                    key(d.tag).timing.sync_publish = now;
                else
                    key(d.tag).timing.activate = now;
                for (const uint16_t old : d.retire) key(old).timing.inactive = now;
                break;
            case RolloverAction::Remove:
                key(d.tag).timing.remove = now;
                if (d.sync_end) key(*d.sync_end).timing.sync_delete = now;
                break;
        }
        signed_with_current_keys = false;
    }
    void sign() {
        ++serial;
        signed_with_current_keys = true;
    }
    void secondaries_serve(uint32_t s) {
        for (auto& sec : secondaries) sec.serial = s;
    }
};

}  // namespace headwater::sign
