#include "server/ControlCommands.h"

#include <array>
#include <ctime>
#include <string_view>

#include <spdlog/spdlog.h>

#include "server/ControlProtocol.h"

namespace headwater::server {

using nlohmann::json;

namespace {

json serial_json(const std::optional<dns::Serial>& s) {
    return s ? json(s->value()) : json(nullptr);
}

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

ControlCommands::ControlCommands(zone::ZoneStore& store, Now now) : store_(store), now_(std::move(now)) {}

json ControlCommands::handle(const json& request) {
    using Command = json (ControlCommands::*)(const json&);
    struct Entry {
        std::string_view name;
        Command run;
    };
    static constexpr std::array kCommands = {
        Entry{"status", &ControlCommands::status},
        Entry{"reload", &ControlCommands::reload},
    };
    auto parsed = control::parse_request(request);
    if (!parsed) return control::error_response("malformed request: " + parsed.error());
    for (const auto& c : kCommands)
        if (c.name == parsed->command) return (this->*c.run)(request);
    std::string known;
    for (const auto& c : kCommands) known += (known.empty() ? "" : ", ") + std::string(c.name);
    return control::error_response("unknown command \"" + parsed->command + "\" (known: " + known + ")");
}

namespace {

// The zones a request names: one (by name, any case, trailing dot optional) or all.
dns::Result<std::vector<std::shared_ptr<zone::Zone>>, std::string> select_zones(const zone::ZoneStore& store,
                                                                                const json& request) {
    auto parsed = control::parse_request(request);
    if (!parsed->zone) return store.zones();
    auto name = dns::Name::from_text(*parsed->zone);
    if (!name) return dns::unexpected("bad zone name \"" + *parsed->zone + "\": " + name.error());
    auto z = store.find_exact(*name);
    if (!z) return dns::unexpected("unknown zone \"" + name->to_string() + "\"");
    return std::vector<std::shared_ptr<zone::Zone>>{z};
}

}  // namespace

json ControlCommands::status(const json& request) {
    auto zones = select_zones(store_, request);
    if (!zones) return control::error_response(zones.error());
    json list = json::array();
    for (const auto& z : *zones) {
        const zone::ZoneStatus s = z->status();
        list.push_back({
            {"name", z->settings().name.to_string()},
            {"serial", serial_json(s.serial)},
            {"records", s.records},
            {"file", z->settings().file.string()},
            {"loaded_at", s.loaded_at ? json(format_time(*s.loaded_at)) : json(nullptr)},
            {"last_reload", s.last_reload ? json(format_time(*s.last_reload)) : json(nullptr)},
            {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)},
            {"ixfr_from", serial_json(s.ixfr_from)},
        });
    }
    return {{"ok", true}, {"zones", list}};
}

json ControlCommands::reload(const json& request) {
    auto zones = select_zones(store_, request);
    if (!zones) return control::error_response(zones.error());
    const bool force = control::parse_request(request)->force;
    bool all_ok = true;
    json list = json::array();
    for (const auto& z : *zones) {
        const zone::ReloadResult r = z->reload(now_(), force);
        json entry = {
            {"name", z->settings().name.to_string()},
            {"outcome", outcome_name(r.outcome)},
            {"serial", serial_json(r.serial)},
            {"old_serial", serial_json(r.old_serial)},
        };
        if (!r.note.empty()) entry["note"] = r.note;
        const std::string name = z->settings().name.to_string();
        switch (r.outcome) {
            case zone::ReloadOutcome::Updated:
                spdlog::info("reload zone={} outcome=updated serial={} old_serial={}", name,
                             r.serial->value(),
                             r.old_serial ? std::to_string(r.old_serial->value()) : std::string("-"));
                break;
            case zone::ReloadOutcome::Unchanged:
                spdlog::info("reload zone={} outcome=unchanged serial={}", name,
                             r.serial ? r.serial->value() : 0u);
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
    if (!all_ok) out["error"] = "reload failed for some zones; the previous versions are still served";
    return out;
}

json ControlCommands::reload_all() {
    return reload(json{{"command", "reload"}});
}

}  // namespace headwater::server
