#include "server/Reconfigure.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "conf/ConfigLoader.h"
#include "server/CatalogZones.h"
#include "server/ControlProtocol.h"
#include "server/ZoneSet.h"

namespace headwater::server {

namespace {

using json = nlohmann::json;

json refused(const std::string& why) {
    spdlog::error("reconfigure refused, nothing changed: {}", why);
    return control::error_response(why);
}

// [server] keys a running server cannot change: sockets, threads, identity, paths, limits the listeners
// were built with. Any difference refuses the reconfigure (all or nothing).
std::string restart_only_changes(const conf::ServerConfig& a, const conf::ServerConfig& b) {
    std::string out;
    auto check = [&out](bool same, const char* key) {
        if (!same) out += std::string(out.empty() ? "" : ", ") + "server." + key;
    };
    check(a.listen == b.listen, "listen");
    check(a.listen_tls == b.listen_tls, "listen_tls");
    check(a.control_socket == b.control_socket, "control_socket");
    check(a.state_dir == b.state_dir, "state_dir");
    check(a.user == b.user && a.group == b.group, "user/group");
    check(a.udp_threads == b.udp_threads && a.tcp_threads == b.tcp_threads, "udp_threads/tcp_threads");
    check(a.tcp_idle_timeout_ms == b.tcp_idle_timeout_ms && a.tcp_max_connections == b.tcp_max_connections &&
              a.tcp_max_per_client == b.tcp_max_per_client &&
              a.tcp_write_timeout_ms == b.tcp_write_timeout_ms && a.max_transfers == b.max_transfers &&
              a.max_query_size == b.max_query_size && a.notify_max_in_flight == b.notify_max_in_flight &&
              a.shutdown_grace_ms == b.shutdown_grace_ms,
          "limits (tcp_*, max_transfers, max_query_size, notify_max_in_flight, shutdown_grace)");
    check(a.tls_certificate == b.tls_certificate && a.tls_key == b.tls_key &&
              a.tls_client_ca == b.tls_client_ca,
          "tls_* (reload-tls re-reads the files)");
    check(a.transfer_log == b.transfer_log, "transfer_log");
    check(a.metrics_listen == b.metrics_listen, "metrics_listen");
    check(a.lab == b.lab, "lab");
    return out;
}

// What reconfigure cannot apply to a running server, beyond the [server] table: the webhook alerts (the
// AlertService is built once) and the [[lab]] faults (`headwaterctl lab set|clear` changes those live).
// Said, so that an edit is never silently left unapplied.
std::string restart_only_changes(const conf::Config& a, const conf::Config& b) {
    std::string out = restart_only_changes(a.server, b.server);
    if (!(a.alerts == b.alerts)) out += std::string(out.empty() ? "" : ", ") + "[[alert]]";
    if (!(a.labs == b.labs))
        out += std::string(out.empty() ? "" : ", ") +
               "[[lab]] (`headwaterctl lab set|clear` changes faults live)";
    return out;
}

const conf::DnssecPolicyConfig* policy_named(const conf::Config& config, const std::string& name) {
    for (const auto& p : config.dnssec_policies)
        if (p.name == name) return &p;
    return nullptr;
}

// Whether a zone's Zone object can stay: everything make_zone builds it from is the same, the contents
// of the [[dnssec_policy]] it names included (a policy changed under the same name needs a new signer).
bool same_zone_settings(const conf::Config& before, const conf::ZoneConfig& a, const conf::Config& after,
                        const conf::ZoneConfig& b) {
    if (!(a.file == b.file && a.serial_policy == b.serial_policy &&
          a.journal_max_changesets == b.journal_max_changesets &&
          a.journal_max_bytes == b.journal_max_bytes && a.zonefile_sync_ms == b.zonefile_sync_ms &&
          a.dnssec_policy == b.dnssec_policy && a.foreign_dnskeys == b.foreign_dnskeys))
        return false;
    const auto* pa = policy_named(before, a.dnssec_policy);
    const auto* pb = policy_named(after, b.dnssec_policy);
    return pa == nullptr ? pb == nullptr : pb != nullptr && *pa == *pb;
}

bool same_notify(const conf::ZoneConfig& a, const conf::ZoneConfig& b) {
    if (a.notify.size() != b.notify.size() || a.notify_retries != b.notify_retries ||
        a.notify_retry_interval_ms != b.notify_retry_interval_ms || a.notify_delay_ms != b.notify_delay_ms)
        return false;
    for (std::size_t i = 0; i < a.notify.size(); ++i)
        if (!(a.notify[i].address == b.notify[i].address) || a.notify[i].key != b.notify[i].key ||
            a.notify[i].source != b.notify[i].source)
            return false;
    return true;
}

struct NewSet {
    SharedString state_dir;                          // zone_state_dir of the new config
    std::vector<std::shared_ptr<zone::Zone>> zones;  // in config order
    std::set<std::string> announce;                  // zones whose targets must hear of what is served
    json added = json::array();
    json changed = json::array();
    std::vector<std::string> errors;
    // Running zones whose settings changed: their files are checked with the rest, but their replacements
    // are opened last (open_rebuilt), once nothing else can refuse the reconfigure. A replacement journals
    // its file against the running zone's history, which a refusal after it could not take back.
    struct Rebuilt {
        std::size_t at;                       // its place in `zones` (null until opened)
        std::shared_ptr<zone::Zone> running;  // retired once its replacement is opened
        const conf::ZoneConfig* config;       // in the running config (null: not there)
        std::size_t next;                     // its index in the new config (which still grows)
        bool replacement_loaded = false;
    };
    std::vector<Rebuilt> rebuilt;
    std::size_t rebuilt_opened = 0;  // rebuilt[0, this) went through open_rebuilt
};

// The running zones and their settings, found for the new config's zones. Matched by place first: a
// reconfigure mostly adds or removes a few zones of a config whose order stays, and with 100k zones
// hashing every name (and parsing it for the store) was a good part of the time. The catalogs come after
// the member zones in both configs (add_catalog_zones), so a catalog's place counts from the members'
// end. A zone not at its old place is looked up by name, in a map built then.
class RunningZones {
  public:
    // `members`: how many of the new config's zones are not catalogs.
    RunningZones(const Reconfigurable& t, std::size_t members)
        : store_(t.store),
          configs_(t.config.zones),
          zones_(t.store.zones()),
          old_members_(t.config.zones.size() - t.config.catalogs.size()),
          new_members_(members) {}

    struct Found {
        std::shared_ptr<zone::Zone> zone;          // null: not served now
        const conf::ZoneConfig* config = nullptr;  // null: not in the running config
    };
    // The new config's zone `i`, named `name` (normalised); asked once each, in the new config's order.
    Found find(std::size_t i, const std::string& name) {
        const bool catalog = i >= new_members_;
        const std::size_t was = catalog ? old_members_ + (i - new_members_) : i;  // its place, if it kept it
        if (was < (catalog ? configs_.size() : old_members_) && configs_[was].name == name) {
            ++in_place_;
            if (was < zones_.size() && zones_[was]->name_text() == name) return {zones_[was], &configs_[was]};
            return {served(name), &configs_[was]};
        }
        // Every running member found at its place already: a member past them is new, unless it was a
        // catalog (names are unique within each config, not across the two).
        if (!catalog && i >= old_members_ && in_place_ == old_members_ && !was_catalog(name)) return {};
        if (by_name_.empty()) {
            by_name_.reserve(configs_.size());
            for (const auto& zc : configs_) by_name_.emplace(zc.name, &zc);
        }
        const auto it = by_name_.find(name);
        return {served(name), it == by_name_.end() ? nullptr : it->second};
    }
    // Whether every running zone was found at its place (so none was removed).
    bool all_in_place() const { return in_place_ == configs_.size(); }
    const std::vector<std::shared_ptr<zone::Zone>>& served_now() const { return zones_; }

  private:
    std::shared_ptr<zone::Zone> served(const std::string& name) const {
        auto parsed = dns::Name::from_text(name);
        return parsed ? store_.find_exact(*parsed) : nullptr;
    }
    bool was_catalog(const std::string& name) const {
        return std::any_of(configs_.begin() + static_cast<std::ptrdiff_t>(old_members_), configs_.end(),
                           [&](const conf::ZoneConfig& zc) { return zc.name == name; });
    }
    const zone::ZoneStore& store_;
    const std::vector<conf::ZoneConfig>& configs_;
    const std::vector<std::shared_ptr<zone::Zone>> zones_;  // the store's, in config order
    const std::size_t old_members_;                         // configs_ before its catalogs
    const std::size_t new_members_;
    std::unordered_map<std::string_view, const conf::ZoneConfig*> by_name_;
    std::size_t in_place_ = 0;
};

// One zone of the new set: the running one when nothing it was built from changed, else a new one opened
// from its file (or state_dir). A catalog whose membership changed is reloaded from its new file.
void add_zone(const Reconfigurable& t, RunningZones& running_zones, std::size_t i, const conf::Config& next,
              bool catalog, zone::Clock::time_point now, NewSet& set) {
    const conf::ZoneConfig& zc = next.zones[i];
    auto [running, old] = running_zones.find(i, zc.name);
    if (running && old != nullptr && same_zone_settings(t.config, *old, next, zc)) {
        if (!same_notify(*old, zc)) set.announce.insert(zc.name);
        if (catalog) {
            const auto before = running->current() ? running->current()->serial().value() : 0;
            const auto r = running->reload(now);
            if (r.outcome == zone::ReloadOutcome::Error)
                return set.errors.push_back("catalog " + zc.name + ": " + r.error);
            if (r.serial && r.serial->value() != before) set.announce.insert(zc.name);
        }
        set.zones.push_back(std::move(running));
        return;
    }
    if (running) {
        // Strict, like a new zone: its file must load. (Read twice, but a rebuild is rare.)
        if (auto loaded = zone::load_zone_file(running->settings().name, zc.file); !loaded)
            return set.errors.push_back("zone " + zc.name + ": " + loaded.error().to_string());
        set.rebuilt.push_back({set.zones.size(), std::move(running), old, i});
        set.changed.push_back(zc.name);
        set.announce.insert(zc.name);
        set.zones.emplace_back();
        return;
    }
    auto z = make_zone(next, zc, dns::Name::from_text(zc.name).value(), set.state_dir);
    const auto r = z->open(now, zone::FirstSnapshot::Deferred);
    if (t.opened) t.opened(*z);
    // Strict: a zone file that does not load refuses the reconfigure, even when state_dir could serve it.
    if (r.outcome == zone::ReloadOutcome::Error)
        return set.errors.push_back("zone " + zc.name + ": " + r.error);
    set.added.push_back(zc.name);
    set.announce.insert(zc.name);
    set.zones.push_back(std::move(z));
}

// The rebuilt zones not opened yet, opened: each running one is retired first, since its deferred
// snapshot, not written yet, must not land over its replacement's files. The first that fails stops it:
// the others are not opened only to be undone.
void open_rebuilt(const Reconfigurable& t, const conf::Config& next, NewSet& set,
                  zone::Clock::time_point now) {
    for (; set.rebuilt_opened < set.rebuilt.size(); ++set.rebuilt_opened) {
        auto& r = set.rebuilt[set.rebuilt_opened];
        r.running->retire();
        const conf::ZoneConfig& zc = next.zones[r.next];
        auto z = make_zone(next, zc, r.running->settings().name, set.state_dir);
        const auto opened = z->open(now, zone::FirstSnapshot::Deferred);
        if (t.opened) t.opened(*z);
        if (opened.outcome == zone::ReloadOutcome::Error) {
            set.errors.push_back("zone " + zc.name + ": " + opened.error);
            ++set.rebuilt_opened;
            return;
        }
        r.replacement_loaded = true;
        set.zones[r.at] = std::move(z);
    }
}

// A refused reconfigure leaves the running zones served, but those it rebuilt were retired. One whose
// replacement did not load (or was never opened) has its history untouched (a failed load changes
// nothing): it carries on. One whose replacement loaded finds the new file journaled against its
// history, so it is opened again from the running config on the state files as they now are, and takes
// its place. That open finds the running file's serial behind the journaled one when the new file's was
// higher (the usual case): the running file is then served as a new history (a forced reload), as it was
// before, rather than the refused file's version.
void restore_rebuilt(Reconfigurable& t, const NewSet& set, const RunningZones& running,
                     zone::Clock::time_point now) {
    if (set.rebuilt.empty()) return;
    std::vector<std::shared_ptr<zone::Zone>> zones = running.served_now();
    bool reopened = false;
    for (const auto& r : set.rebuilt) {
        if (!r.replacement_loaded || r.config == nullptr) {  // (no running config: not reached in practice)
            r.running->unretire();
            continue;
        }
        auto z = make_zone(t.config, *r.config, r.running->settings().name, set.state_dir);
        if (const auto opened = z->open(now, zone::FirstSnapshot::Deferred);
            opened.outcome == zone::ReloadOutcome::Error) {
            const auto forced = z->reload(now, true);
            spdlog::warn("reconfigure refused: zone {} opened again from the running config ({}){}",
                         r.config->name, opened.error,
                         forced.outcome == zone::ReloadOutcome::Error
                             ? ": " + forced.error
                             : ": its file is served as a new history");
        }
        if (t.opened) t.opened(*z);
        std::replace(zones.begin(), zones.end(), r.running, z);
        reopened = true;
    }
    if (reopened) (void)t.store.replace(std::move(zones));
    // An unretired zone's deferred snapshot may have been passed over while it was retired.
    t.snapshots.wanted();
}

std::string first_errors(const std::vector<std::string>& errors) {
    constexpr std::size_t kShown = 20;
    std::string out = std::to_string(errors.size()) + " zone(s) do not load:";
    for (std::size_t i = 0; i < errors.size() && i < kShown; ++i) out += "\n" + errors[i];
    if (errors.size() > kShown) out += "\n... and " + std::to_string(errors.size() - kShown) + " more";
    return out;
}

}  // namespace

json reconfigure(Reconfigurable& t, zone::Clock::time_point now) {
    auto loaded = conf::load_config(t.config.path);
    if (!loaded) return refused(loaded.error().message);
    conf::Config next = std::move(*loaded);
    if (auto fixed = restart_only_changes(t.config, next); !fixed.empty())
        return refused("these settings need a restart: " + fixed);
    auto keys = build_keys(next);
    if (!keys) return refused(keys.error());

    // Catalogs last: their files are written only once every member is known to load.
    const std::size_t members = next.zones.size();
    RunningZones running(t, members);
    NewSet set;
    set.state_dir = zone_state_dir(next);
    // From the first rebuilt zone opened on, a refusal gives the running zones back first.
    auto undo_and_refuse = [&](const std::string& why) {
        restore_rebuilt(t, set, running, now);
        return refused(why);
    };
    for (std::size_t i = 0; i < members; ++i) add_zone(t, running, i, next, false, now, set);
    if (!set.errors.empty()) return refused(first_errors(set.errors));
    // The rebuilt members before the catalogs: a running catalog is reloaded in place with its new
    // membership, which nothing after that may refuse.
    open_rebuilt(t, next, set, now);
    if (!set.errors.empty()) return undo_and_refuse(first_errors(set.errors));
    if (auto catalogs = add_catalog_zones(next); !catalogs) return undo_and_refuse(catalogs.error());
    auto notify = notify_zones(next, **keys);  // the catalogs' targets too
    if (!notify) return undo_and_refuse(notify.error());
    for (std::size_t i = members; i < next.zones.size(); ++i) add_zone(t, running, i, next, true, now, set);
    if (set.errors.empty()) open_rebuilt(t, next, set, now);
    if (!set.errors.empty()) return undo_and_refuse(first_errors(set.errors));

    // Everything is built: swap. Only the NOTIFY sockets can still fail, so they go first; the new Notifier
    // announces the zones that are new or rebuilt, or whose targets changed.
    if (auto swapped = t.notifier.replace(std::move(*notify), set.zones, set.announce); !swapped)
        return undo_and_refuse(swapped.error());
    // Removed: none when every running zone was found at its place.
    json removed = json::array();
    std::unordered_set<std::string_view> kept;  // views into `next`, which outlives them
    std::vector<std::shared_ptr<zone::Zone>> dropped;
    if (!running.all_in_place()) {
        kept.reserve(next.zones.size());
        for (const auto& zc : next.zones) kept.insert(zc.name);
        // The store holds the running config's zones, one each, in its order (catalogs included).
        for (const auto& z : running.served_now()) {
            if (kept.count(z->name_text()) != 0) continue;
            removed.push_back(z->name_text());
            dropped.push_back(z);
        }
    }
    (void)t.store.replace(set.zones);  // names are unique: the config loader checked
    // A zone no longer served leaves the server's write-backs: the updates its file lags behind are
    // written now. (A rebuilt zone merged them in from state_dir when it loaded, and wrote its file.)
    for (const auto& z : dropped) {
        z->retire();  // a later re-add opens a new Zone on its files
        if (auto w = z->write_back_if_due(now, true); !w)
            spdlog::error("sync zone={} outcome=error error=\"{}\"", z->name_text(), w.error());
    }
    if (!set.added.empty() || !set.changed.empty()) t.snapshots.wanted();
    // The per-zone options come from the new config; the hooks (UPDATE callbacks, lab faults) stay.
    xfr::ResponderOptions options = responder_options(next);
    const xfr::ResponderOptions current = t.responder.options();
    options.on_update = current.on_update;
    options.on_zone_changed = current.on_zone_changed;
    options.lab = current.lab;
    t.responder.set_policy(transfer_acls(next), *keys, std::move(options));
    next.server = t.config.server;
    t.config = std::move(next);
    if (t.applied) t.applied(t.config, *keys);
    spdlog::info("reconfigure: {} zone(s) served, {} added, {} removed, {} rebuilt", set.zones.size(),
                 set.added.size(), removed.size(), set.changed.size());
    return json{{"ok", true},
                {"zones", set.zones.size()},
                {"added", set.added},
                {"removed", removed},
                {"changed", set.changed}};
}

}  // namespace headwater::server
