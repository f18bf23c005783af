#include "server/KeyRollover.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/SecondaryRegistry.h"
#include "zone/sign/SepRollover.h"

namespace headwater::server {

namespace {

// A remembered secondary not seen for this long no longer holds rollovers back (a secondary gone for
// good would otherwise stop them forever).
constexpr std::time_t kForgetSecondaryAfter = 7 * 86400;

sign::RolloverSettings settings_of(const sign::SigningPolicy& p) {
    sign::RolloverSettings s;
    s.zsk_lifetime = p.zsk_lifetime;
    s.ksk_lifetime = p.ksk_lifetime;
    s.dnskey_ttl = p.dnskey_ttl;
    s.propagation_delay = p.propagation_delay;
    return s;
}

// A rollover is under way: a successor waits to sign, an old key to leave, or two KSKs or CSKs are
// both active (SepRollover.h).
bool under_way(const std::vector<sign::RolloverKey>& keys, std::time_t t) {
    // A KSK or CSK rollover is ours only with a successor we generated (SepRollover.h).
    const bool ours = std::ranges::any_of(
        keys, [t](const sign::RolloverKey& k) { return k.sep && k.generated && k.timing.active(t); });
    std::size_t active_sep = 0;
    for (const sign::RolloverKey& k : keys) {
        if (!k.sep && (k.timing.incoming(t) || k.timing.retired(t))) return true;
        if (k.sep && k.timing.retired(t) && ours) return true;
        if (k.sep && k.timing.active(t)) ++active_sep;
    }
    return ours && active_sep > 1;
}

}  // namespace

// What the planner decides from: the keys, the policy's times, the zone's largest TTL while a key is
// retired, the serial served if it was signed with the keys as they are, and every secondary.
Result<sign::RolloverInput, std::string> rollover_input(const zone::Zone& z, sign::ZoneSigner& signer,
                                                        std::vector<sign::RolloverKey> keys,
                                                        const SecondaryRegistry* registry,
                                                        zone::Clock::time_point now) {
    sign::RolloverInput in;
    in.zone = z.name_text();
    in.now = zone::Clock::to_time_t(now);
    in.keys = std::move(keys);
    in.settings = settings_of(signer.policy());
    // Multi-signer: a successor must be in every signer's DNSKEY RRset before it signs, which nothing here
    // checks yet; only the operator starts rollovers then (docs/dnssec.md).
    if (!signer.foreign_keys().empty()) in.settings.zsk_lifetime = in.settings.ksk_lifetime = 0;
    const zone::ZoneVersionPtr served = z.current();
    const std::time_t t = in.now;
    if (served &&
        std::ranges::any_of(in.keys, [t](const sign::RolloverKey& k) { return k.timing.retired(t); }))
        in.settings.max_ttl = signer.largest_ttl(served);
    if (const auto serial = z.signed_with_current_keys()) in.signed_serial = serial->value();
    in.secondaries = rollover_secondaries(registry, z.name_text());
    // The ledger is in memory: a secondary seen before a restart still counts, with the serial it held
    // then, until it shows up again; a restart never lets a step skip a lagging secondary.
    auto unseen =
        signer.remember_secondaries(in.secondaries, now, kForgetSecondaryAfter, under_way(in.keys, t));
    if (!unseen) return unexpected(unseen.error());
    in.secondaries.insert(in.secondaries.end(), unseen->begin(), unseen->end());
    return in;
}

std::vector<sign::ServedSerial> rollover_secondaries(const SecondaryRegistry* registry,
                                                     const std::string& zone) {
    std::vector<sign::ServedSerial> out;
    if (registry == nullptr) return out;
    const SecondaryRegistry::ZoneView view = registry->view(zone);
    // A peer is a secondary once it has held the zone (a transfer, or an IXFR answered "up to date"):
    // an operator's `dig SOA` or a refused stranger is not one to wait for.
    for (const SecondaryState& p : view.peers) {
        if (!p.holds) continue;
        sign::ServedSerial s;
        s.peer = p.address + (p.key == "-" ? "" : " (key " + p.key + ")");
        s.serial = p.holds->value();
        out.push_back(std::move(s));
    }
    for (const SecondaryRegistry::Verification& v : view.verifications) {
        sign::ServedSerial s;
        s.peer = v.address;
        if (v.info.serial) s.serial = v.info.serial->value();
        out.push_back(std::move(s));
    }
    return out;
}

namespace {

// The two planners' word for this pass, as one: the step to take, or what both wait for.
sign::RolloverDecision plan_both(sign::RolloverInput in, std::optional<RolloverRole> start) {
    in.start_now = start == RolloverRole::Zsk;
    sign::RolloverDecision zsk = sign::plan_zsk_rollover(in);
    if (zsk.action != sign::RolloverAction::None) return zsk;
    in.start_now = start == RolloverRole::Sep;
    sign::RolloverDecision sep = sign::plan_sep_rollover(in);
    if (sep.action != sign::RolloverAction::None) return sep;
    // A CSK zone has no ZSK rollover to speak of.
    if (!std::ranges::any_of(
            in.keys, [t = in.now](const sign::RolloverKey& k) { return !k.sep && k.timing.published(t); }))
        return sep;
    sep.status = zsk.status + "; " + sep.status;
    if (zsk.wake && (!sep.wake || *zsk.wake < *sep.wake)) sep.wake = zsk.wake;
    return sep;
}

}  // namespace

RolloverPass drive_key_rollover(zone::Zone& z, sign::ZoneSigner& signer, const RolloverContext& context,
                                zone::Clock::time_point now, std::optional<RolloverRole> start) {
    RolloverPass pass;
    const std::string& name = z.name_text();
    const std::time_t t = zone::Clock::to_time_t(now);
    auto resign = [&]() -> bool {
        const auto r = z.resign(now, false);
        if (r.outcome == zone::ReloadOutcome::Error) {
            pass.error = "re-signing failed: " + r.error;
            return false;
        }
        if (r.outcome == zone::ReloadOutcome::Updated) {
            spdlog::info("zone={} dnssec rollover: serial {} -> {} ({})", name, r.old_serial->value(),
                         r.serial->value(), r.note);
            if (context.changed) context.changed(z);
        }
        return true;
    };
    const sign::SigningPolicy& policy = signer.policy();
    const bool automatic =
        (policy.zsk_lifetime != 0 || policy.ksk_lifetime != 0) && signer.foreign_keys().empty();
    // A few steps can follow each other at once (a step recorded, then the next one due); the bound only
    // guards against a planner that would not settle.
    for (int step = 0; step < 12 && pass.error.empty(); ++step) {
        auto keys = signer.rollover_keys(now);
        if (!keys) {
            pass.error = keys.error();
            break;
        }
        const bool moving = under_way(*keys, t);
        if (!moving && !automatic && !start) {
            // Nothing can happen: no planner, and no secondaries to remember (most signed zones).
            pass.status = "no automatic rollover (zsk_lifetime and ksk_lifetime are not set)";
            break;
        }
        auto input = rollover_input(z, signer, std::move(*keys), context.registry, now);
        if (!input) {
            pass.error = input.error();
            break;
        }
        input->parent = signer.parent_ds();
        const sign::RolloverDecision d = plan_both(*input, start);
        pass.status = d.status;
        pass.needs_ds = d.needs_ds;
        pass.wake = d.wake ? std::optional(zone::Clock::from_time_t(*d.wake)) : std::nullopt;
        // Waiting for secondaries, the parent or the re-signing: the watch polls.
        // (Not for a time to wake at, nor for the parent's DS: the parent's answer pokes the watch.)
        pass.waiting = moving && d.action == sign::RolloverAction::None && !d.wake && !d.needs_ds;
        if (d.action == sign::RolloverAction::None) {
            if (input->signed_serial || !moving || !resign()) break;
            continue;  // signed with the keys as they are now: ask again
        }
        spdlog::info("zone={} dnssec rollover: {}", name, d.status);
        if (d.action == sign::RolloverAction::Generate && start && d.sep == (*start == RolloverRole::Sep))
            start.reset();  // the operator's rollover has begun (not one its lifetime started meanwhile)
        if (auto applied = signer.apply_rollover(d, now); !applied) {
            pass.error = applied.error();
            break;
        }
        if (d.action != sign::RolloverAction::Record && !resign()) break;
    }
    // Timing set outside a rollover of ours (an imported key's Activate or Delete) takes effect when it
    // is due, not at the next refresh.
    if (pass.error.empty() && signer.timing_passed(now)) {
        spdlog::info("zone={} dnssec: a key timing boundary passed: signing with the keys it gives", name);
        (void)resign();
    }
    if (const auto next = signer.next_timing_event(now)) {
        const auto at = zone::Clock::from_time_t(*next);
        if (!pass.wake || at < *pass.wake) pass.wake = at;
    }
    if (!pass.error.empty()) {
        spdlog::error("zone={} dnssec rollover: {}", name, pass.error);
        pass.status = "failed: " + pass.error;
    }
    signer.set_rollover_status(
        {pass.status, pass.wake ? std::optional(zone::Clock::to_time_t(*pass.wake)) : std::nullopt});
    return pass;
}

}  // namespace headwater::server
