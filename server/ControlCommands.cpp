#include "server/ControlCommands.h"

#include <array>
#include <ctime>
#include <string_view>

#include <spdlog/spdlog.h>

#include "server/ControlProtocol.h"
#include "server/KeyRollover.h"
#include "server/SecondaryRegistry.h"
#include "zone/sign/ZoneSigner.h"

namespace headwater::server {

using nlohmann::json;

namespace {

std::string_view outcome_name(zone::ReloadOutcome o) {
    switch (o) {
        case zone::ReloadOutcome::Updated:
            return "updated";
        case zone::ReloadOutcome::Unchanged:
            return "unchanged";
        case zone::ReloadOutcome::Error:
            return "error";
    }
    return "error";
}

}  // namespace

std::string format_time(zone::Clock::time_point t) {
    const std::time_t tt = zone::Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ControlCommands::ControlCommands(zone::ZoneStore& store, Now now, const SecondaryRegistry* secondaries,
                                 NotifyControl notify, VerifyControl verify, TlsReload tls_reload,
                                 ReconfigureControl reconfigure)
    : store_(store),
      now_(std::move(now)),
      secondaries_(secondaries),
      notify_(std::move(notify)),
      verify_(std::move(verify)),
      tls_reload_(std::move(tls_reload)),
      reconfigure_(std::move(reconfigure)) {}

json ControlCommands::handle(const json& request) {
    // Commands get the envelope parsed once, and the raw object for their own members.
    using Command = json (ControlCommands::*)(const control::Request&, const json&);
    struct Entry {
        std::string_view name;
        Command run;
    };
    static constexpr std::array kCommands = {
        Entry{"status", &ControlCommands::status},
        Entry{"reload", &ControlCommands::reload},
        Entry{"bump", &ControlCommands::bump},
        Entry{"journal", &ControlCommands::journal},
        Entry{"secondaries", &ControlCommands::secondaries},
        Entry{"notify", &ControlCommands::notify},
        Entry{"verify", &ControlCommands::verify},
        Entry{"dnssec", &ControlCommands::dnssec},
        Entry{"reload-tls", &ControlCommands::reload_tls},
        Entry{"sync", &ControlCommands::sync},
        Entry{"reconfigure", &ControlCommands::reconfigure},
    };
    auto parsed = control::parse_request(request);
    if (!parsed) return control::error_response("malformed request: " + parsed.error());
    for (const auto& c : kCommands)
        if (c.name == parsed->command) return (this->*c.run)(*parsed, request);
    std::string known;
    for (const auto& c : kCommands) known += (known.empty() ? "" : ", ") + std::string(c.name);
    return control::error_response("unknown command \"" + parsed->command + "\" (known: " + known + ")");
}

namespace {

// The zones a request names: one (by name, any case, trailing dot optional) or all.
Result<std::vector<std::shared_ptr<zone::Zone>>, std::string> select_zones(const zone::ZoneStore& store,
                                                                           const control::Request& req) {
    if (!req.zone) return store.zones();
    auto name = dns::Name::from_text(*req.zone);
    if (!name) return unexpected("bad zone name \"" + *req.zone + "\": " + name.error());
    auto z = store.find_exact(*name);
    if (!z) return unexpected("unknown zone \"" + name->to_string() + "\"");
    return std::vector<std::shared_ptr<zone::Zone>>{z};
}

}  // namespace

json ControlCommands::status(const control::Request& req, const json& /*request*/) {
    auto zones = select_zones(store_, req);
    if (!zones) return control::error_response(zones.error());
    json list = json::array();
    for (const auto& z : *zones) {
        const zone::ZoneStatus s = z->status();
        // Where what is served came from: its file, or the state directory because the file has not
        // loaded since start-up; null when nothing is (queries and transfers get SERVFAIL).
        json served_from = nullptr;
        if (s.serial) served_from = s.file_loaded ? "file" : "state";
        list.push_back({
            {"name", z->settings().name.to_string()},
            {"serial", control::serial_json(s.serial)},
            {"served_from", served_from},
            {"records", s.records},
            {"file", z->settings().file},
            {"loaded_at", s.loaded_at ? json(format_time(*s.loaded_at)) : json(nullptr)},
            {"last_reload", s.last_reload ? json(format_time(*s.last_reload)) : json(nullptr)},
            {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)},
            {"ixfr_from", control::serial_json(s.ixfr_from)},
            {"notify", notify_.targets ? notify_.targets(z->settings().name.to_string()) : json::array()},
        });
    }
    return {{"ok", true}, {"zones", list}};
}

json ControlCommands::reload(const control::Request& req, const json& /*request*/) {
    auto zones = select_zones(store_, req);
    if (!zones) return control::error_response(zones.error());
    const bool force = req.force;
    bool all_ok = true;
    json list = json::array();
    for (const auto& z : *zones) {
        const zone::ReloadResult r = z->reload(now_(), force);
        for (const auto& observer : reload_observers_) observer(*z, r);
        json entry = {
            {"name", z->settings().name.to_string()},
            {"outcome", outcome_name(r.outcome)},
            {"serial", control::serial_json(r.serial)},
            {"old_serial", control::serial_json(r.old_serial)},
        };
        if (!r.note.empty()) entry["note"] = r.note;
        const std::string name = z->settings().name.to_string();
        if (!r.warnings.empty()) entry["warnings"] = r.warnings;
        for (const std::string& w : r.warnings) spdlog::warn("reload zone={} {}", name, w);
        switch (r.outcome) {
            case zone::ReloadOutcome::Updated:
                if (notify_.changed) notify_.changed(*z);
                // read=parts: only the parts of the file that changed were parsed (zone/ZoneFileIndex.h).
                spdlog::info("reload zone={} outcome=updated serial={} old_serial={} read={}", name,
                             r.serial->value(),
                             r.old_serial ? std::to_string(r.old_serial->value()) : std::string("-"),
                             r.by_parts ? "parts" : "whole");
                break;
            case zone::ReloadOutcome::Unchanged:
                spdlog::info("reload zone={} outcome=unchanged serial={} read={}", name,
                             r.serial ? r.serial->value() : 0u, r.by_parts ? "parts" : "whole");
                break;
            case zone::ReloadOutcome::Error:
                spdlog::error("reload zone={} outcome=error serving={} error=\"{}\"", name,
                              r.serial ? std::to_string(r.serial->value()) : std::string("nothing"), r.error);
                entry["error"] = r.error;
                all_ok = false;
                break;
        }
        list.push_back(std::move(entry));
    }
    json out = {{"ok", all_ok}, {"zones", list}};
    if (!all_ok)
        out["error"] =
            "reload failed for some zones; the previous versions are still served (a zone that never "
            "loaded stays unserved)";
    return out;
}

namespace {

// bump and journal act on exactly one zone.
Result<std::shared_ptr<zone::Zone>, std::string> one_zone(const zone::ZoneStore& store,
                                                          const control::Request& req) {
    if (!req.zone) return unexpected(std::string("a zone name is required"));
    auto zones = select_zones(store, req);
    if (!zones) return unexpected(zones.error());
    return zones->front();
}

}  // namespace

json ControlCommands::bump(const control::Request& req, const json& request) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    std::optional<zone::SerialPolicy> policy;
    std::optional<dns::Serial> set;
    if (auto it = request.find("policy"); it != request.end() && !it->is_null()) {
        if (!it->is_string())
            return control::error_response("malformed request: \"policy\" must be a string");
        policy = zone::parse_serial_policy(it->get<std::string>());
        if (!policy)
            return control::error_response("unknown serial policy \"" + it->get<std::string>() +
                                           "\" (known: keep, increment, unixtime, dateserial)");
    }
    if (auto it = request.find("set"); it != request.end() && !it->is_null()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() > 0xFFFFFFFFu)
            return control::error_response("malformed request: \"set\" must be a serial (0..4294967295)");
        set = dns::Serial(static_cast<uint32_t>(it->get<uint64_t>()));
    }
    if (policy && set) return control::error_response("give either a policy or a serial to set, not both");
    const auto r = (*z)->bump(now_(), policy, set);
    if (r.outcome == zone::ReloadOutcome::Updated && notify_.changed) notify_.changed(**z);
    const std::string name = (*z)->settings().name.to_string();
    json out = {{"ok", r.outcome == zone::ReloadOutcome::Updated},
                {"name", name},
                {"old_serial", control::serial_json(r.old_serial)},
                {"serial", control::serial_json(r.serial)}};
    if (!r.note.empty()) out["note"] = r.note;
    if (r.outcome == zone::ReloadOutcome::Error) {
        out["error"] = r.error;
        spdlog::error("bump zone={} outcome=error error=\"{}\"", name, r.error);
    } else {
        spdlog::info("bump zone={} serial={} old_serial={}{}", name, r.serial->value(), r.old_serial->value(),
                     r.note.empty() ? std::string() : " note=\"" + r.note + "\"");
    }
    return out;
}

// The served version (dynamic updates included) written to the zone file now.
json ControlCommands::sync(const control::Request& req, const json& /*request*/) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    const std::string name = (*z)->settings().name.to_string();
    auto written = (*z)->write_back();
    if (!written) {
        spdlog::error("sync zone={} outcome=error error=\"{}\"", name, written.error());
        return json{{"ok", false}, {"name", name}, {"error", written.error()}};
    }
    const auto v = (*z)->current();
    spdlog::info("sync zone={} serial={} file={}", name, v->serial().value(), (*z)->settings().file);
    return json{
        {"ok", true}, {"name", name}, {"serial", v->serial().value()}, {"file", (*z)->settings().file}};
}

json ControlCommands::journal(const control::Request& req, const json& /*request*/) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    const zone::Journal* j = (*z)->journal();
    json entries = json::array();
    if (j) {
        for (const auto& e : j->entries()) {
            entries.push_back(
                {{"from", e.from.value()},
                 {"to", e.to.value()},
                 {"when", format_time(zone::Clock::from_time_t(static_cast<std::time_t>(e.when)))},
                 {"removed", e.removed},
                 {"added", e.added},
                 {"bytes", e.bytes}});
        }
    }
    const auto status = (*z)->status();
    // A zone never changed has no journal file yet, but its history has a place.
    const auto path = (*z)->journal_path();
    return {{"ok", true},
            {"name", (*z)->settings().name.to_string()},
            {"serial", control::serial_json(status.serial)},
            {"ixfr_from", control::serial_json(status.ixfr_from)},
            {"journal", path ? json(path->string()) : json(nullptr)},
            {"entries", entries}};
}

json ControlCommands::secondaries(const control::Request& req, const json& /*request*/) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    const std::string name = (*z)->settings().name.to_string();
    const auto status = (*z)->status();
    json out = {{"ok", true}, {"name", name}, {"serial", control::serial_json(status.serial)}};
    out["secondaries"] =
        secondaries_ ? secondaries_->to_json(name, status.serial, status.loaded_at, now_()) : json::array();
    out["notify"] = notify_.targets ? notify_.targets(name) : json::array();
    out["verification"] = secondaries_ ? secondaries_->verifications_json(name) : json::array();
    return out;
}

json ControlCommands::verify(const control::Request& req, const json& request) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    if (!verify_) return control::error_response("verification is not available");
    return verify_((*z)->settings().name.to_string(), request);
}

json ControlCommands::notify(const control::Request& req, const json& request) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    std::optional<std::string> target;
    if (auto it = request.find("target"); it != request.end() && !it->is_null()) {
        if (!it->is_string())
            return control::error_response("malformed request: \"target\" must be a string");
        target = it->get<std::string>();
    }
    if (!notify_.send) return control::error_response("NOTIFY is not available");
    return notify_.send((*z)->settings().name.to_string(), target);
}

json ControlCommands::reconfigure(const control::Request&, const json&) {
    return reconfigure_now();
}

json ControlCommands::reconfigure_now() {
    if (!reconfigure_) return control::error_response("reconfigure is not available");
    return reconfigure_();
}

json ControlCommands::reload_all() {
    return reload(control::Request{"reload", std::nullopt, false}, json());
}

namespace {

json time_json(const std::optional<zone::Clock::time_point>& t) {
    return t ? json(format_time(*t)) : json(nullptr);
}

json key_json(const sign::ZoneSigner::KeyInfo& k) {
    return {
        {"tag", k.tag},
        {"algorithm", std::string(sign::config_name(k.algorithm))},
        {"flags", k.flags},
        {"role", k.role},
        {"state", k.state},
        {"created", k.created != 0 ? json(format_time(zone::Clock::from_time_t(k.created))) : json(nullptr)},
        {"file", k.file},
        {"dnskey", k.dnskey},
        {"ds", k.ds.empty() ? json(nullptr) : json(k.ds)},
        {"cds", k.cds}};
}

// What a zone's rollovers do or wait for, and when the watch looks again.
json rollover_json(const std::string& status, std::optional<zone::Clock::time_point> next) {
    return {{"status", status.empty() ? json(nullptr) : json(status)}, {"next", time_json(next)}};
}

}  // namespace

// `dnssec status|sign|ds|import`: a zone's keys and signatures, a full re-signing, the records for the
// parent, a key pair taken over from BIND or ldns files (docs/control.md).
json ControlCommands::dnssec(const control::Request& req, const json& request) {
    auto z = one_zone(store_, req);
    if (!z) return control::error_response(z.error());
    const auto action_it = request.find("action");
    const std::string action =
        action_it != request.end() && action_it->is_string() ? action_it->get<std::string>() : "";
    const std::string name = (*z)->settings().name.to_string();
    auto signer = std::dynamic_pointer_cast<sign::ZoneSigner>((*z)->settings().signer);
    const zone::ZoneStatus st = (*z)->status();
    if (action == "status") {
        json out = {
            {"ok", true},
            {"name", name},
            {"serial", control::serial_json(st.serial)},
            {"signed_by", signer ? "headwater" : (st.earliest_signature_expiration ? "elsewhere" : nullptr)},
            {"earliest_expiration", time_json(st.earliest_signature_expiration)}};
        if (!signer) return out;
        const auto& p = signer->policy();
        out["policy"] = p.name;
        out["denial"] = p.denial == sign::Denial::Nsec3 ? "nsec3" : "nsec";
        out["signatures"] = {{"made", st.signatures_made},
                             {"kept", st.signatures_kept},
                             {"next_refresh", time_json(st.next_signature_refresh)}};
        auto keys = signer->keys(now_());
        if (!keys) return control::error_response(keys.error());
        json list = json::array();
        for (const auto& k : *keys) list.push_back(key_json(k));
        out["keys"] = list;
        const auto rollover = signer->rollover_status();
        out["rollover"] = rollover_json(
            rollover.status,
            rollover.wake ? std::optional(zone::Clock::from_time_t(*rollover.wake)) : std::nullopt);
        return out;
    }
    if (!signer) return control::error_response(name + " has no dnssec_policy: Headwater does not sign it");
    if (action == "ds") {
        auto keys = signer->keys(now_());
        if (!keys) return control::error_response(keys.error());
        json ds = json::array(), dnskey = json::array();
        // The keys a DS may name now: active KSKs and CSKs (not a retired or removed one a rollover left).
        for (const auto& k : *keys) {
            if (k.state != "active" || k.role == "zsk") continue;
            if (!k.ds.empty()) ds.push_back(k.ds);
            dnskey.push_back(k.dnskey);
        }
        return {{"ok", true}, {"name", name}, {"ds", ds}, {"dnskey", dnskey}};
    }
    json out = {{"ok", true}, {"name", name}};
    if (action == "rollover" || action == "ds-seen") return rollover(**z, *signer, request);
    if (action == "foreign") return foreign(**z, *signer);
    if (action == "import") {
        const auto file = request.find("file");
        if (file == request.end() || !file->is_string())
            return control::error_response("dnssec import needs the key file (\"file\")");
        auto imported = signer->import(file->get<std::string>(), now_());
        if (!imported) return control::error_response(imported.error());
        out["key"] = key_json(*imported);
    } else if (action != "sign") {
        return control::error_response("unknown dnssec action \"" + action +
                                       "\" (known: status, sign, ds, import, rollover, ds-seen, foreign)");
    }
    // sign: every signature made anew; import: the new key's signatures made, the others kept.
    const auto r = (*z)->resign(now_(), action == "sign");
    if (r.outcome == zone::ReloadOutcome::Error) return control::error_response(r.error);
    if (r.outcome == zone::ReloadOutcome::Updated && notify_.changed) notify_.changed(**z);
    spdlog::info("dnssec {} zone={} serial={} {}", action, name, r.serial ? r.serial->value() : 0u, r.note);
    out["old_serial"] = control::serial_json(r.old_serial);
    out["serial"] = control::serial_json(r.serial);
    if (!r.note.empty()) out["note"] = r.note;
    return out;
}

namespace {

// The role `dnssec rollover` names, checked against the zone's keys: "zsk" needs a ZSK, "ksk" a KSK beside
// one, "csk" a CSK alone.
Result<RolloverRole, std::string> rollover_role(const std::string& role,
                                                const std::vector<sign::RolloverKey>& keys, std::time_t t,
                                                const std::string& zone) {
    const bool zsk =
        std::ranges::any_of(keys, [t](const auto& k) { return !k.sep && k.timing.published(t); });
    if (role == "zsk" && zsk) return RolloverRole::Zsk;
    if ((role == "ksk" && zsk) || (role == "csk" && !zsk)) return RolloverRole::Sep;
    if (role == "zsk" || role == "ksk")
        return unexpected(zone + " has no ZSK (its CSK signs the zone): `dnssec rollover " + zone + " csk`");
    if (role == "csk")
        return unexpected(zone + " has a KSK and a ZSK, no CSK: `dnssec rollover " + zone + " ksk`");
    return unexpected(std::string("dnssec rollover needs the key role: zsk, ksk or csk"));
}

}  // namespace

// `dnssec rollover ZONE zsk|ksk|csk` starts a rollover now; `dnssec ds-seen ZONE TAG` says the parent
// serves the new DS of a KSK or CSK rollover. Either is moved on as far as it can go at once; the rest
// follows on the signature watch's timer as the secondaries (and the parent) catch up.
json ControlCommands::rollover(zone::Zone& z, sign::ZoneSigner& signer, const json& request) {
    if (!z.current())
        return control::error_response(z.name_text() + " is not served (its file has not loaded)");
    const zone::Clock::time_point now = now_();
    std::optional<RolloverRole> start;
    if (request.value("action", std::string()) == "ds-seen") {
        const auto tag = request.find("tag");
        if (tag == request.end() || !tag->is_number_unsigned() || tag->get<uint64_t>() > 0xFFFF)
            return control::error_response("dnssec ds-seen needs the key tag of the new KSK or CSK");
        if (auto r = signer.confirm_ds(static_cast<uint16_t>(tag->get<uint64_t>()), now); !r)
            return control::error_response(r.error());
    } else {
        auto keys = signer.rollover_keys(now);
        if (!keys) return control::error_response(keys.error());
        auto role = rollover_role(request.value("role", std::string()), *keys, zone::Clock::to_time_t(now),
                                  z.name_text());
        if (!role) return control::error_response(role.error());
        start = *role;
    }
    const RolloverPass pass = drive_key_rollover(z, signer, {secondaries_, notify_.changed}, now, start);
    if (!pass.error.empty()) return control::error_response(pass.error);
    if (rollover_observer_) rollover_observer_();
    const auto st = z.status();
    return {{"ok", true},
            {"name", z.name_text()},
            {"serial", control::serial_json(st.serial)},
            {"rollover", rollover_json(pass.status, pass.wake)}};
}

// `dnssec foreign ZONE`: the other signers' keys (multi-signer), the foreign_dnskeys file read again first
// (an edit is published at once, not at the next pass of the signature watch).
json ControlCommands::foreign(zone::Zone& z, sign::ZoneSigner& signer) {
    const auto now = now_();
    auto changed = signer.reload_foreign_file(now);
    if (!changed) return control::error_response(changed.error());
    if (*changed && z.current()) {
        const auto r = z.resign(now, false);
        if (r.outcome == zone::ReloadOutcome::Error) return control::error_response(r.error);
        if (r.outcome == zone::ReloadOutcome::Updated && notify_.changed) notify_.changed(z);
    }
    json list = json::array();
    for (const auto& k : signer.foreign_keys())
        list.push_back({{"tag", k.tag},
                        {"flags", k.flags},
                        {"algorithm", k.algorithm},
                        {"role", (k.flags & sign::kSecureEntryPoint) != 0 ? "ksk" : "zsk"},
                        {"source", k.source},
                        {"dnskey", k.dnskey}});
    return {{"ok", true},
            {"name", z.name_text()},
            {"serial", control::serial_json(z.status().serial)},
            {"file", signer.foreign_file().empty() ? json(nullptr) : json(signer.foreign_file().string())},
            {"foreign", list}};
}

json ControlCommands::reload_tls(const control::Request&, const json&) {
    if (!tls_reload_) return control::error_response("no TLS listener (server.listen_tls is empty)");
    auto reloaded = tls_reload_();
    if (!reloaded)
        return control::error_response(reloaded.error() +
                                       "; TLS connections still use the previous certificate");
    json out = control::ok_response();
    out["certificate"] = *reloaded;
    return out;
}

json ControlCommands::reload_tls_now() {
    if (!tls_reload_) return control::ok_response();
    return reload_tls(control::Request{"reload-tls", std::nullopt, false}, json());
}

}  // namespace headwater::server
