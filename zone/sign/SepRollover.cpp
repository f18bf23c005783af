#include "zone/sign/SepRollover.h"

#include <algorithm>

namespace headwater::sign {

namespace {

std::time_t activated(const RolloverKey& k) {
    return k.timing.activate.value_or(k.timing.created);
}

const RolloverKey* newest(const std::vector<const RolloverKey*>& keys) {
    return *std::ranges::max_element(keys, {}, [](const RolloverKey* k) { return activated(*k); });
}

std::string tag_text(const RolloverKey& k) {
    return std::to_string(k.tag);
}

// Step 3's wait for the parent: its DS for the successor, then that DS's TTL (a resolver may hold the
// old DS RRset that long). Nothing once both are over.
std::optional<RolloverDecision> parent_pending(const RolloverInput& in, const RolloverKey& successor) {
    RolloverDecision d;
    d.sep = true;
    if (!successor.ds_seen) {
        const ParentDs& p = in.parent;
        if (!p.servers.empty() && p.answered && std::ranges::count(p.tags, successor.tag) > 0) {
            d.action = RolloverAction::Record;
            d.updated = successor;
            d.updated->ds_seen = in.now;
            d.updated->ds_ttl = p.ttl;
            d.status = "key " + tag_text(successor) + ": every parent server serves its DS (TTL " +
                       std::to_string(p.ttl) + " s)";
            return d;
        }
        d.needs_ds = successor.tag;
        if (p.servers.empty())
            d.status = "waiting: the parent's DS for key " + tag_text(successor) +
                       " (its CDS/CDNSKEY are published; no parent servers configured: confirm with "
                       "`headwaterctl dnssec ds-seen " +
                       (in.zone.empty() ? std::string("ZONE") : in.zone) + " " + tag_text(successor) + "`)";
        else
            d.status = "waiting: the parent's DS for key " + tag_text(successor) + " (" +
                       (p.answered ? (p.summary.empty() ? std::string("not served yet") : p.summary)
                                   : std::string("asking the parent servers")) +
                       ")";
        return d;
    }
    const std::time_t due = *successor.ds_seen + static_cast<std::time_t>(successor.ds_ttl);
    if (in.now < due) {
        d.wake = due;
        d.status = "waiting: the parent's DS TTL (" + std::to_string(successor.ds_ttl) +
                   " s) after its DS for key " + tag_text(successor) + " was seen, until " +
                   rollover_time_text(due);
        return d;
    }
    return std::nullopt;
}

// Step 3: the old key leaves once the parent points at the successor and nothing the old key signed
// can be needed any more.
RolloverDecision retire_step(const RolloverInput& in, const RolloverKey& old, const RolloverKey& successor,
                             bool csk) {
    const uint32_t hold = csk ? in.settings.max_ttl : in.settings.dnskey_ttl;
    const auto served =
        pending_step(in, old, &RolloverKey::retired, hold, csk ? "the zone's largest TTL" : "the DNSKEY TTL");
    if (served && served->action == RolloverAction::Record) {
        RolloverDecision d = *served;
        d.sep = true;
        return d;
    }
    if (auto parent = parent_pending(in, successor)) {
        // Both wait: both are shown, and the later wake time is the one worth waking at.
        if (parent->action == RolloverAction::None && served) {
            parent->status += "; " + served->status;
            if (served->wake && (!parent->wake || *served->wake > *parent->wake)) parent->wake = served->wake;
            if (!served->wake && !parent->needs_ds) parent->wake.reset();
        }
        return *parent;
    }
    if (served) {
        RolloverDecision d = *served;
        d.sep = true;
        return d;
    }
    RolloverDecision d;
    d.sep = true;
    d.action = RolloverAction::Remove;
    d.tag = old.tag;
    d.sync_end = successor.tag;
    d.status = "key " + tag_text(old) + " removed from the DNSKEY RRset; the CDS/CDNSKEY withdrawn";
    return d;
}

RolloverDecision take_over(const RolloverKey& successor, const std::vector<const RolloverKey*>& active,
                           std::string status) {
    RolloverDecision d;
    d.sep = true;
    d.action = RolloverAction::Activate;
    d.tag = successor.tag;
    for (const RolloverKey* k : active)
        if (k != &successor) d.retire.push_back(k->tag);
    d.status = std::move(status);
    return d;
}

}  // namespace

RolloverDecision plan_sep_rollover(const RolloverInput& in) {
    const std::time_t now = in.now;
    const RolloverSettings& s = in.settings;
    const bool csk = std::ranges::none_of(
        in.keys, [now](const RolloverKey& k) { return !k.sep && k.timing.published(now); });
    const std::string role = csk ? "CSK" : "KSK";
    std::vector<const RolloverKey*> active;
    std::vector<const RolloverKey*> retired;
    for (const RolloverKey& k : in.keys) {
        if (!k.sep) continue;
        if (k.timing.active(now)) active.push_back(&k);
        if (k.timing.retired(now)) retired.push_back(&k);
    }
    RolloverDecision d;
    d.sep = true;
    if (active.empty()) {
        d.status = "no active " + role;
        return d;
    }
    // The successor is the newest key a rollover of ours generated (keys made in the same second as the
    // old one included).
    std::vector<const RolloverKey*> ours;
    for (const RolloverKey* k : active)
        if (k->generated) ours.push_back(k);
    const RolloverKey& successor = ours.empty() ? *newest(active) : *newest(ours);
    if ((!retired.empty() || active.size() > 1) && !successor.generated) {
        d.status = "the " + role + "s' own timing decides (no " + role + " rollover of ours is under way)";
        return d;
    }
    if (!retired.empty()) {
        // A crash between step 2's two key writes left the old key retired and the successor without its
        // CDS: step 2 is finished.
        if (!successor.timing.sync_publish || *successor.timing.sync_publish > now)
            return take_over(successor, active,
                             "key " + tag_text(successor) + ": CDS/CDNSKEY published (an interrupted step)");
        return retire_step(in, *retired.front(), successor, csk);
    }
    if (active.size() > 1) {
        // The successor's CDS was written, the old key's Inactive not: step 2 is finished.
        if (successor.timing.sync_publish && *successor.timing.sync_publish <= now)
            return take_over(successor, active,
                             "key " + tag_text(successor) + " takes over (an interrupted step)");
        RolloverDecision ready =
            take_over(successor, active,
                      "key " + tag_text(successor) + ": CDS/CDNSKEY published for the parent; the old " +
                          role + " signs only the DNSKEY RRset from now");
        if (auto p = pending_step(in, successor, &RolloverKey::published, s.dnskey_ttl, "the DNSKEY TTL")) {
            p->sep = true;
            return *p;
        }
        return ready;
    }
    if (in.start_now) {
        d.action = RolloverAction::Generate;
        d.status = role + " rollover started by the operator: a successor is published";
        return d;
    }
    if (s.ksk_lifetime == 0) {
        d.status = "no automatic " + role + " rollover (ksk_lifetime is not set)";
        return d;
    }
    const RolloverKey& oldest =
        **std::ranges::min_element(active, {}, [](const RolloverKey* k) { return activated(*k); });
    const std::time_t due = activated(oldest) + static_cast<std::time_t>(s.ksk_lifetime) -
                            static_cast<std::time_t>(s.dnskey_ttl) -
                            static_cast<std::time_t>(s.propagation_delay);
    if (now < due) {
        d.wake = due;
        d.status =
            "next " + role + " rollover (key " + tag_text(oldest) + ") starts " + rollover_time_text(due);
        return d;
    }
    d.action = RolloverAction::Generate;
    d.status = "key " + tag_text(oldest) + " reached ksk_lifetime: a successor is published";
    return d;
}

}  // namespace headwater::sign
