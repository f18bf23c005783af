#include "zone/sign/ZskRollover.h"

#include <algorithm>

#include "zone/dns/Serial.h"

namespace headwater::sign {

namespace {

// RFC 1982: `have` is `need` or a later serial.
bool at_or_past(uint32_t have, uint32_t need) {
    const dns::Serial h(have);
    const dns::Serial n(need);
    return h == n || h > n;
}

std::string lagging_text(const std::vector<ServedSerial>& secondaries, uint32_t need) {
    std::string out;
    for (const ServedSerial& s : secondaries) {
        if (s.serial && at_or_past(*s.serial, need)) continue;
        out += out.empty() ? "" : "; ";
        out +=
            s.peer + (s.serial ? " serves " + std::to_string(*s.serial) : std::string(" serves nothing yet"));
        out += ", needs " + std::to_string(need);
    }
    return out;
}

}  // namespace

std::optional<RolloverDecision> pending_step(const RolloverInput& in, const RolloverKey& key,
                                             StepRecord RolloverKey::*step, uint32_t hold,
                                             const char* hold_what) {
    const std::time_t now = in.now;
    const StepRecord& rec = key.*step;
    const std::string tag = std::to_string(key.tag);
    RolloverDecision d;
    if (!rec.serial) {
        if (!in.signed_serial) {
            d.status = "waiting: the zone is being signed with key " + tag + "'s new state";
            return d;
        }
        d.action = RolloverAction::Record;
        d.updated = key;
        ((*d.updated).*step).serial = *in.signed_serial;
        ((*d.updated).*step).served = now;
        d.status = "key " + tag + ": serial " + std::to_string(*in.signed_serial) + " served";
        return d;
    }
    if (!rec.propagated) {
        std::time_t seen = now;
        if (in.secondaries.empty()) {
            seen = rec.served + static_cast<std::time_t>(in.settings.propagation_delay);
            if (now < seen) {
                d.wake = seen;
                d.status = "waiting: propagation_delay (no secondaries known) after serial " +
                           std::to_string(*rec.serial) + ", until " + rollover_time_text(seen);
                return d;
            }
        } else if (const std::string lagging = lagging_text(in.secondaries, *rec.serial); !lagging.empty()) {
            d.status = "waiting: " + lagging;
            return d;
        }
        d.action = RolloverAction::Record;
        d.updated = key;
        ((*d.updated).*step).propagated = seen;
        d.status = "key " + tag + ": serial " + std::to_string(*rec.serial) + " served by every secondary";
        return d;
    }
    const std::time_t due = *rec.propagated + static_cast<std::time_t>(hold);
    if (now < due) {
        d.wake = due;
        d.status = "waiting: " + std::string(hold_what) + " (" + std::to_string(hold) + " s) after serial " +
                   std::to_string(*rec.serial) + " propagated, until " + rollover_time_text(due);
        return d;
    }
    return std::nullopt;
}

namespace {

RolloverDecision advance(const RolloverInput& in, const RolloverKey& key, StepRecord RolloverKey::*step,
                         uint32_t hold, const char* hold_what, RolloverDecision ready) {
    if (auto d = pending_step(in, key, step, hold, hold_what)) return *d;
    return ready;
}

}  // namespace

std::string rollover_time_text(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

RolloverDecision plan_zsk_rollover(const RolloverInput& in) {
    const std::time_t now = in.now;
    const RolloverSettings& s = in.settings;
    const RolloverKey* incoming = nullptr;
    const RolloverKey* retired = nullptr;
    std::vector<const RolloverKey*> active;
    for (const RolloverKey& k : in.keys) {
        if (k.sep) continue;
        if (k.timing.incoming(now)) incoming = &k;
        if (k.timing.retired(now)) retired = &k;
        if (k.timing.active(now)) active.push_back(&k);
    }

    // Step 2: the successor signs once its DNSKEY cannot be missing from any cached DNSKEY RRset.
    if (incoming != nullptr) {
        RolloverDecision ready;
        ready.action = RolloverAction::Activate;
        ready.tag = incoming->tag;
        for (const RolloverKey* k : active) ready.retire.push_back(k->tag);
        ready.status = "key " + std::to_string(incoming->tag) + " signs from now";
        return advance(in, *incoming, &RolloverKey::published, s.dnskey_ttl, "the DNSKEY TTL", ready);
    }
    // Step 3: the old key leaves once no signature it made can be cached.
    if (retired != nullptr) {
        RolloverDecision ready;
        ready.action = RolloverAction::Remove;
        ready.tag = retired->tag;
        ready.status = "key " + std::to_string(retired->tag) + " removed from the DNSKEY RRset";
        return advance(in, *retired, &RolloverKey::retired, s.max_ttl, "the zone's largest TTL", ready);
    }

    // A crash between the two key writes of step 2 leaves the successor and the old key both active
    // (valid: both sign): step 2 is finished, the successor alone signs from now.
    if (active.size() > 1) {
        const RolloverKey* newest = *std::ranges::max_element(
            active, {}, [](const RolloverKey* k) { return k->timing.activate.value_or(k->timing.created); });
        if (newest->published.serial) {
            RolloverDecision finish;
            finish.action = RolloverAction::Activate;
            finish.tag = newest->tag;
            for (const RolloverKey* k : active)
                if (k != newest) finish.retire.push_back(k->tag);
            finish.status =
                "key " + std::to_string(newest->tag) + " signs alone from now (an interrupted step)";
            return finish;
        }
    }

    RolloverDecision d;
    if (active.empty()) {
        d.status = "no active ZSK (a CSK signs the zone)";
        return d;
    }
    if (in.start_now) {
        d.action = RolloverAction::Generate;
        d.status = "ZSK rollover started by the operator: a successor is published";
        return d;
    }
    if (s.zsk_lifetime == 0) {
        d.status = "no automatic ZSK rollover (zsk_lifetime is not set)";
        return d;
    }
    // The successor is published early enough to be active when the lifetime ends, if the secondaries
    // follow within propagation_delay.
    const RolloverKey& oldest = **std::ranges::min_element(
        active, {}, [](const RolloverKey* k) { return k->timing.activate.value_or(k->timing.created); });
    const std::time_t activated = oldest.timing.activate.value_or(oldest.timing.created);
    const std::time_t due = activated + static_cast<std::time_t>(s.zsk_lifetime) -
                            static_cast<std::time_t>(s.dnskey_ttl) -
                            static_cast<std::time_t>(s.propagation_delay);
    if (now < due) {
        d.wake = due;
        d.status =
            "next ZSK rollover (key " + std::to_string(oldest.tag) + ") starts " + rollover_time_text(due);
        return d;
    }
    d.action = RolloverAction::Generate;
    d.status = "key " + std::to_string(oldest.tag) + " reached zsk_lifetime: a successor is published";
    return d;
}

}  // namespace headwater::sign
