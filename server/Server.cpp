#include "server/Server.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

#include "conf/ConfigLoader.h"
#include "server/AlertService.h"
#include "server/CatalogZones.h"
#include "server/ControlCommands.h"
#include "server/ControlProtocol.h"
#include "server/ControlServer.h"
#include "server/DnsListeners.h"
#include "server/DnssecSigning.h"
#include "server/LabService.h"
#include "server/MetricsServer.h"
#include "server/Notifier.h"
#include "server/NotifierSlot.h"
#include "server/Privileges.h"
#include "server/Reconfigure.h"
#include "server/SecondaryRegistry.h"
#include "server/ServerMetrics.h"
#include "server/TlsContext.h"
#include "server/TransferLog.h"
#include "server/UdpWorkers.h"
#include "server/VerifyService.h"
#include "server/ZoneSet.h"
#include "tsig/KeyStore.h"
#include "xfr/Responder.h"

namespace headwater::server {

namespace asio = boost::asio;

struct Server::Impl {
    conf::Config config;
    std::shared_ptr<const tsig::KeyStore> keys;
    zone::ZoneStore store;
    std::string zones_not_loaded;  // the start-up summary of the zones whose files did not load, or empty
    std::unique_ptr<xfr::Responder> responder;
    SecondaryRegistry secondaries;
    TransferLog transfer_log;              // JSON lines, when server.transfer_log is set
    std::unique_ptr<TlsContext> tls;       // when server.listen_tls is set
    ServerMetrics metrics;                 // GET /metrics, when server.metrics_listen is set
    std::unique_ptr<AlertService> alerts;  // the [[alert]] webhooks (none: alerts go nowhere)
    std::unique_ptr<LabService> lab;       // when server.lab is set (docs/lab.md)

    // Everything the listeners report about a peer: the log line, the secondaries view, the JSON log.
    void on_peer_event(const PeerEvent& e);
    // A transfer that ended or was refused: its log line, the secondaries view, the transfer log.
    void on_transfer(const xfr::TransferEvent& t, std::chrono::system_clock::time_point now);

    // Dynamic updates: every one logged (and in the transfer log); a zone an update changed is announced
    // by NOTIFY through `zone_changed`, set while the Notifier exists (UDP and TCP threads call it).
    void on_update(const xfr::UpdateEvent& e);
    void on_zone_updated(const zone::Zone& z);
    void set_zone_changed(std::function<void(const zone::Zone&)> f);
    std::mutex zone_changed_mutex;
    std::function<void(const zone::Zone&)> zone_changed;
};

void Server::Impl::on_update(const xfr::UpdateEvent& e) {
    const std::string line = xfr::update_log_line(e);
    if (e.rcode == dns::Rcode::NoError)
        spdlog::info("{}", line);
    else
        spdlog::warn("{}", line);
    auto json = log_event("update", std::chrono::system_clock::now());
    json["zone"] = e.zone;
    json["client"] = e.address + ":" + std::to_string(e.port);
    json["transport"] = std::string(xfr::transport_name(e.transport));
    json["key"] = e.key;
    json["rule"] = e.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.rule);
    json["rcode"] = dns::to_string(e.rcode);
    json["serial"] = e.serial ? nlohmann::json(e.serial->value()) : nlohmann::json(nullptr);
    json["changed"] = e.changed;
    json["reason"] = e.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.reason);
    (void)transfer_log.write(json);
}

void Server::Impl::on_zone_updated(const zone::Zone& z) {
    std::lock_guard lock(zone_changed_mutex);
    if (zone_changed) zone_changed(z);
}

void Server::Impl::set_zone_changed(std::function<void(const zone::Zone&)> f) {
    std::lock_guard lock(zone_changed_mutex);
    zone_changed = std::move(f);
}

void Server::Impl::on_peer_event(const PeerEvent& e) {
    const auto now = std::chrono::system_clock::now();
    const xfr::Response& r = *e.answer;
    if (e.transfer) {
        on_transfer(*e.transfer, now);
        return;
    }
    if (r.up_to_date && r.event && r.event->client_serial)
        secondaries.record_ixfr_up_to_date(r.event->zone, e.address, r.event->key, *r.event->client_serial,
                                           now);
    if (r.soa_query)
        secondaries.record_soa_query(r.zone, e.address, r.key, now, xfr::transport_name(r.transport), r.lab,
                                     r.kind == xfr::Response::Kind::Drop ? "dropped"
                                     : r.lab.empty()                     ? "answered"
                                                                         : "tc");
}

void Server::Impl::on_transfer(const xfr::TransferEvent& event, std::chrono::system_clock::time_point now) {
    spdlog::info("{}", xfr::transfer_log_line(event));
    std::optional<xfr::TransferEvent> renamed;
    if (xfr::is_refusal(event.outcome)) {
        // Only zones we serve: the name in a refusal may come straight from the query, in whatever case
        // the client wrote it; the registry, the metrics' labels and the alerts take the zone's own name
        // (one series per zone, however the question is spelled).
        auto name = dns::Name::from_text(event.zone);
        const auto zone = name ? store.find_exact(*name) : nullptr;
        if (!zone) return;
        if (zone->name_text() != event.zone) {
            renamed = event;
            renamed->zone = zone->name_text();
        }
    }
    const xfr::TransferEvent& t = renamed ? *renamed : event;
    const std::size_t failures = secondaries.record_transfer(t, now);
    metrics.count_transfer(t);
    alerts->transfer_result(
        t.zone, t.address.to_string(), t.key, failures,
        std::string(xfr::outcome_name(t.outcome)) + (t.detail.empty() ? "" : ": " + t.detail));
    auto line = log_event("transfer", now);
    line.update(xfr::transfer_json(t));
    (void)transfer_log.write(line);
}

namespace {

// Opens `zones` on every core: with thousands of small zones a start is mostly parsing files and system
// calls, one zone at a time (a few per zone, and every one saved counts 100k times). Large files build one
// at a time (zone::load_zone_file) while small ones go on opening beside them.
// The snapshots of zones with no state yet are left to DeferredSnapshots, once every zone is served.
std::vector<zone::ReloadResult> open_zones(const std::vector<std::shared_ptr<zone::Zone>>& zones) {
    // Every zone's state files are in one directory (ZoneSet's make_zone): made and listed once for all,
    // so that no zone looks for it (or for its files) on its own.
    zone::StateFiles files;
    if (!zones.empty() && !zones.front()->settings().state_dir.empty()) {
        const std::string& dir = zones.front()->settings().state_dir.str();
        std::error_code ec;  // a directory that cannot be made: each zone reports it when it opens
        std::filesystem::create_directories(dir, ec);
        files = zone::StateFiles::list(dir);
    }
    std::mutex large_build;
    const auto open = [&](std::size_t i) {
        try {
            return zones[i]->open(zone::Clock::now(), zone::FirstSnapshot::Deferred, {&files, &large_build});
        } catch (const std::exception& e) {
            // On a helper thread nothing would catch it (main() does for the main thread): the zone is not
            // served, as with any other load error, and says why.
            zone::ReloadResult failed;
            failed.outcome = zone::ReloadOutcome::Error;
            failed.error = std::string("internal error while loading: ") + e.what();
            return failed;
        }
    };
    std::vector<zone::ReloadResult> results(zones.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < zones.size();)
            results[k] = open(k);
    };
    const std::size_t threads =
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), zones.size() / 64 + 1);
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();
    for (auto& h : helpers) h.join();
    return results;
}

// Loads every configured zone into a fresh store. A zone whose file does not load (missing, unreadable,
// a syntax error, data outside the zone) does not keep the others off the air: it is served from the
// state directory when the version served before the restart is there, and is otherwise in the store
// with no version (queries and transfers get SERVFAIL) until a reload loads it. Like BIND and Knot, the
// server starts even when no zone loads: the control socket is what an operator fixes it through, and
// `--check-config` is the gate for a deploy that must not start broken. Only a config error (here a zone
// name the config loader let through) stops start-up. Returns the summary of the zones not loaded, for
// the log once the server is up; empty when every zone loaded.
Result<std::string, std::string> load_zones(const conf::Config& config, zone::ZoneStore& store) {
    std::vector<std::string> not_served;
    std::vector<std::string> from_state;
    std::vector<std::shared_ptr<zone::Zone>> zones;
    zones.reserve(config.zones.size());
    std::unordered_set<std::string> stems;  // two Zones of one name would open the same state files at once
    const SharedString state_dir = zone_state_dir(config);
    for (const auto& zc : config.zones) {
        auto name = dns::Name::from_text(zc.name);
        if (!name) return unexpected("zone " + zc.name + ": " + name.error());
        if (!stems.insert(zone::zone_file_stem(*name)).second)
            return unexpected("zone " + zc.name + ": configured twice");
        zones.push_back(make_zone(config, zc, std::move(*name), state_dir));
    }
    const std::vector<zone::ReloadResult> opened = open_zones(zones);
    for (std::size_t i = 0; i < zones.size(); ++i) {
        auto& z = zones[i];
        const auto& zc = config.zones[i];
        const auto& r = opened[i];
        const std::string& zone_name = z->name_text();
        if (!r.note.empty()) spdlog::warn("zone={} {}", zone_name, r.note);
        for (const std::string& w : r.warnings) spdlog::warn("zone={} {}", zone_name, w);
        if (r.outcome == zone::ReloadOutcome::Error) {
            if (auto v = z->current()) {
                // The version served before the restart is at hand: a broken file is a reload error,
                // not a reason to stop serving the zone.
                spdlog::error(
                    "zone={} serving serial={} from the state directory; the zone file is not loaded: {}",
                    zone_name, v->serial().value(), r.error);
                from_state.push_back(zone_name + " (serial " + std::to_string(v->serial().value()) + ")");
            } else {
                spdlog::error("zone={} not served (SERVFAIL until a reload loads it): {}", zone_name,
                              r.error);
                not_served.push_back(zone_name);
            }
        } else if (spdlog::should_log(spdlog::level::info)) {  // 100k zones: not even the arguments
            spdlog::info("zone={} loaded serial={} records={} wire_bytes={} ixfr_from={} file={}", zone_name,
                         z->current()->serial().value(), z->current()->size(), z->current()->wire_bytes(),
                         z->journal() && z->journal()->first_serial()
                             ? std::to_string(z->journal()->first_serial()->value())
                             : std::string("-"),
                         zc.file);
        }
    }
    // One index for all: added one by one, 100k zones rehash it again and again. It cannot refuse two zones
    // of one name: `stems` above ruled them out.
    (void)store.replace(std::move(zones));
    // Building a version briefly needs the records twice (parsed order and canonical order); hand the
    // freed half back to the system instead of keeping it as heap slack for the server's lifetime.
    malloc_trim(0);

    if (not_served.empty() && from_state.empty()) return std::string();
    // With hundreds of zones the names are in the lines above and in `headwaterctl status`; a few suffice.
    auto some = [](const std::vector<std::string>& names) {
        constexpr std::size_t kShown = 10;
        std::string out;
        for (std::size_t i = 0; i < names.size() && i < kShown; ++i) out += (i ? ", " : "") + names[i];
        if (names.size() > kShown) out += ", and " + std::to_string(names.size() - kShown) + " more";
        return out;
    };
    std::string summary = "started with " + std::to_string(not_served.size() + from_state.size()) + " of " +
                          std::to_string(config.zones.size()) + " zones not loaded from their files";
    if (!not_served.empty()) summary += "; not served: " + some(not_served);
    if (!from_state.empty()) summary += "; served from the state directory: " + some(from_state);
    summary += "; fix the files and run `headwaterctl reload` (details: `headwaterctl status`)";
    return summary;
}

// The certificate in use: info, or a warning when it has expired or expires within two weeks (a
// secondary checking it strictly would stop transferring).
void log_tls_certificate(const TlsContext& tls, std::string_view what) {
    constexpr int kWarnDays = 14;
    if (tls.days_left() < kWarnDays)
        spdlog::warn("{} {}: renew it, then `headwaterctl reload-tls`", what, tls.description());
    else
        spdlog::info("{} {}", what, tls.description());
}

// The TLS listeners' settings: a client certificate is asked for when some ACL looks at one, or when a
// client CA is configured (mutual TLS).
TlsSettings tls_settings(const conf::Config& config) {
    TlsSettings s;
    s.certificate = config.server.tls_certificate;
    s.key = config.server.tls_key;
    s.client_ca = config.server.tls_client_ca;
    s.request_client_certificate =
        !s.client_ca.empty() ||
        std::any_of(config.acls.begin(), config.acls.end(),
                    [](const conf::AclConfig& a) { return !a.tls_pins.empty() || !a.tls_names.empty(); });
    return s;
}

// The NOTIFY targets of a zone as the control commands show them (status, secondaries, notify).
nlohmann::json notify_targets_json(const Notifier& notifier, const std::string& zone) {
    nlohmann::json out = nlohmann::json::array();
    auto name = dns::Name::from_text(zone);
    if (!name) return out;
    auto state = notifier.snapshot(*name);
    if (!state) return out;
    auto unix_time = [](const std::optional<uint64_t>& t) {
        return t ? nlohmann::json(
                       format_time(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*t))))
                 : nlohmann::json(nullptr);
    };
    for (const auto& t : state->targets) {
        out.push_back({
            {"target", t.address.to_string()},
            {"key", t.key_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.key_name)},
            {"source", t.source ? nlohmann::json(t.source->to_string()) : nlohmann::json(nullptr)},
            {"status", std::string(xfr::to_string(t.status))},
            {"serial", t.serial ? nlohmann::json(t.serial->value()) : nlohmann::json(nullptr)},
            {"tries", t.tries},
            {"acknowledged_serial", t.acknowledged_serial ? nlohmann::json(t.acknowledged_serial->value())
                                                          : nlohmann::json(nullptr)},
            {"acknowledged_at", unix_time(t.acknowledged_unix)},
            {"error", t.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.last_error)},
            {"pending", t.pending()},
        });
    }
    return out;
}

// The verification settings of every zone, with their keys resolved in `keys` (built from the same config).
std::vector<VerifyZone> verify_zones(const conf::Config& config, const tsig::KeyStore& keys) {
    std::vector<VerifyZone> out;
    for (const auto& zc : config.zones) {
        // A zone that sets none of it is left out (a verify request starts from VerifyZone's defaults);
        // most of many zones do, and their names are not parsed.
        if (zc.secondaries.empty() && zc.notify.empty() && zc.verify_key.empty() &&
            zc.verify_interval_s == 0 && zc.parent.empty() && zc.verify_sample == VerifyZone{}.sample &&
            std::chrono::seconds(zc.signature_warn_s) == VerifyZone{}.signature_warn)
            continue;
        VerifyZone vz;
        vz.zone = dns::Name::from_text(zc.name).value();
        vz.secondaries = zc.secondaries;
        for (const auto& t : zc.notify) vz.notify_targets.push_back(t.address);
        if (!zc.verify_key.empty()) vz.key = keys.find(dns::Name::from_text(zc.verify_key).value());
        vz.interval = std::chrono::seconds(zc.verify_interval_s);
        vz.sample = zc.verify_sample;
        vz.parents = zc.parent;
        vz.signature_warn = std::chrono::seconds(zc.signature_warn_s);
        out.push_back(std::move(vz));
    }
    return out;
}

// server.listen without the wildcards: a wildcard (0.0.0.0, ::) names no address a parent could list.
std::vector<dns::IpAddress> own_addresses(const conf::Config& config) {
    std::vector<dns::IpAddress> out;
    for (const auto& ep : config.server.listen) {
        const auto b = ep.address.bytes();
        if (std::any_of(b.begin(), b.end(), [](uint8_t x) { return x != 0; })) out.push_back(ep.address);
    }
    return out;
}

// Lab mode must never go unnoticed: one warning for the mode, one per fault.
void log_lab_mode(const xfr::FaultSet& faults) {
    spdlog::warn(
        "LAB MODE (server.lab = true): this server misbehaves on purpose towards the peers "
        "`headwaterctl lab list` names; never run it as a production primary");
    for (const auto& e : faults.entries())
        spdlog::warn("lab: fault from the configuration: zone={} peer={} fault=\"{}\"", e.zone, e.peer.text(),
                     e.fault.text());
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>, std::string> Server::create(conf::Config configured) {
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(configured);  // one copy of the zones' settings, however many zones
    // Catalogs (RFC 9432) are zones from here on: config.zones lists them with their generated files.
    if (auto catalogs = add_catalog_zones(impl->config); !catalogs) return unexpected(catalogs.error());
    const conf::Config& config = impl->config;
    auto loaded = load_zones(config, impl->store);
    if (!loaded) return unexpected(loaded.error());
    impl->zones_not_loaded = std::move(*loaded);
    impl->alerts = std::make_unique<AlertService>(config.alerts);
    if (!config.alerts.empty()) impl->metrics.count_alerts(impl->alerts.get());
    auto keys = build_keys(config);
    if (!keys) return unexpected(keys.error());
    xfr::ResponderOptions options = responder_options(config);
    options.on_update = [impl = impl.get()](const xfr::UpdateEvent& e) { impl->on_update(e); };
    options.on_zone_changed = [impl = impl.get()](const zone::Zone& z) { impl->on_zone_updated(z); };
    impl->keys = *keys;
    if (!config.server.listen_tls.empty()) {
        auto tls = TlsContext::create(tls_settings(config));
        if (!tls) return unexpected(tls.error());
        impl->tls = std::move(*tls);
        log_tls_certificate(*impl->tls, "TLS certificate");
    }
    if (config.server.lab) {
        const auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::system_clock::now().time_since_epoch())
                                                      .count());
        auto faults = lab_faults(config, now_ms);
        if (!faults) return unexpected(faults.error());
        impl->lab = std::make_unique<LabService>(impl->store, impl->secondaries, std::move(*faults));
        options.lab = impl->lab->board();
        log_lab_mode(*impl->lab->board()->current());
    }
    impl->responder = std::make_unique<xfr::Responder>(impl->store, transfer_acls(config), *keys, options);
    if (!config.server.transfer_log.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(config.server.transfer_log.parent_path(), ec);
        if (auto opened = impl->transfer_log.open(config.server.transfer_log); !opened)
            return unexpected("server.transfer_log: " + opened.error());
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

namespace {

ListenerOptions listener_options(const conf::ServerConfig& cfg) {
    ListenerOptions lo;
    lo.tcp_idle_timeout = std::chrono::milliseconds(cfg.tcp_idle_timeout_ms);
    lo.tcp_max_connections = cfg.tcp_max_connections;
    lo.tcp_max_per_client = cfg.tcp_max_per_client;
    lo.tcp_write_timeout = std::chrono::milliseconds(cfg.tcp_write_timeout_ms);
    lo.max_transfers = cfg.max_transfers;
    lo.max_query_size = cfg.max_query_size;
    return lo;
}

// Each NOTIFY conclusion as a line of the transfer log (docs/operations.md).
void log_notify_events(Notifier& notifier, TransferLog& transfer_log, SecondaryRegistry& secondaries,
                       ServerMetrics& metrics, AlertService& alerts) {
    notifier.on_event([&transfer_log, &secondaries, &metrics, &alerts](const NotifyEvent& e) {
        if (!e.withheld) {  // held back on purpose (lab mode): neither a success nor a failure
            metrics.count_notify(e);
            alerts.notify_result(e.zone, e.target, e.key, e.acknowledged, e.serial.value(), e.error);
        }
        // The lab timeline (kept only in lab mode): the target's address without its port.
        std::string lab = e.withheld ? e.error : std::string();
        if (e.hint_serial) lab = "lab: notify-serial " + std::to_string(*e.hint_serial);  // the hint sent
        if (auto to = dns::Endpoint::parse(e.target, 53))
            secondaries.record_notify(e.zone, to->address.to_string(), e.key, e.serial,
                                      e.acknowledged ? "ack" : (e.withheld ? "skipped" : "error"), lab,
                                      std::chrono::system_clock::now());
        auto line = log_event("notify", std::chrono::system_clock::now());
        line["zone"] = e.zone;
        line["target"] = e.target;
        line["key"] = e.key;
        line["serial"] = e.serial.value();
        line["tries"] = e.tries;
        line["outcome"] = e.acknowledged ? "ack" : (e.withheld ? "withheld" : "error");
        line["error"] = e.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.error);
        if (e.hint_serial) line["hint_serial"] = *e.hint_serial;  // lab mode: not the serial served
        (void)transfer_log.write(line);
    });
}

// What the control commands need of the Notifier in use: announce a new version, show and send NOTIFYs.
NotifyControl notify_control(NotifierSlot& slot, const zone::ZoneStore& store) {
    NotifyControl control;
    control.changed = [&slot](const zone::Zone& z) {
        auto notifier = slot.current();
        if (auto v = z.current(); v && notifier->has_zone(v->apex()))
            notifier->zone_changed(v->apex(), v->serial(), v->soa().wire);
    };
    control.targets = [&slot](const std::string& zone) { return notify_targets_json(*slot.current(), zone); };
    control.send = [&slot, &store](const std::string& zone, const std::optional<std::string>& target) {
        auto notifier = slot.current();
        auto name = dns::Name::from_text(zone);
        auto sent = notifier->notify(*name, target);
        if (!sent) return control::error_response(sent.error());
        // Where it goes: the target asked for, or every target of the zone (docs/control.md).
        nlohmann::json targets = nlohmann::json::array();
        if (target) {
            targets.push_back(*target);
        } else if (auto state = notifier->snapshot(*name)) {
            for (const auto& t : state->targets) targets.push_back(t.address.to_string());
        }
        auto z = store.find_exact(*name);
        auto v = z ? z->current() : nullptr;
        return nlohmann::json{{"ok", true},
                              {"name", zone},
                              {"serial", v ? nlohmann::json(v->serial().value()) : nlohmann::json(nullptr)},
                              {"targets", targets}};
    };
    return control;
}

// Each verified secondary as a line of the transfer log.
VerifyService::ReportSink log_verify_reports(TransferLog& transfer_log) {
    return [&transfer_log](const VerifyReport& report, bool scheduled) {
        for (const auto& s : report.secondaries) {
            auto line = log_event("verify", std::chrono::system_clock::now());
            line["zone"] = report.zone;
            line["served"] = report.served.value();
            line["scheduled"] = scheduled;
            line.update(to_json(s));
            (void)transfer_log.write(line);
        }
    };
}

// The signature watch runs on the control thread, like the control commands; a rollover started by
// `dnssec rollover` makes it look again within seconds.
void start_signature_watch(asio::io_context& control_io, SignatureWatch& signatures,
                           ControlCommands& commands) {
    asio::post(control_io, [&signatures] { signatures.start(); });
    commands.on_rollover([&signatures] { signatures.poke(); });
}

// SIGHUP reloads every zone, then the config (reconfigure: all of it or, on any error, nothing) and, with
// TLS listeners, the certificate and key (what a certificate renewal's `systemctl reload` expects), on
// the control thread like the control commands.
void reload_on_sighup(asio::signal_set& hup, ControlCommands& commands) {
    hup.async_wait([&hup, &commands](const boost::system::error_code& ec, int) {
        if (ec) return;
        spdlog::info("SIGHUP: reloading every zone, the config and the TLS certificate");
        (void)commands.reload_all();
        (void)commands.reconfigure_now();
        (void)commands.reload_tls_now();
        malloc_trim(0);
        reload_on_sighup(hup, commands);
    });
}

// `headwaterctl reload-tls`: the certificate, key and client CA read again; new connections use them.
TlsReload tls_reload(TlsContext* tls) {
    if (tls == nullptr) return {};
    return [tls]() -> Result<std::string, std::string> {
        auto reloaded = tls->reload();
        if (reloaded)
            log_tls_certificate(*tls, "reload-tls: new TLS connections use");
        else
            spdlog::error("reload-tls failed, TLS connections still use {}: {}", tls->description(),
                          reloaded.error());
        return reloaded;
    };
}

// The parts a SIGTERM/SIGINT stops; the main io_context (`dns_io`) is stopped once the transfers in
// flight are done or shutdown_grace is over.
// Dynamic updates left for zonefile_sync: written back to their zone files when due, checked every half
// second on the control thread; `all` at shutdown writes whatever is pending.
void write_back_due(const zone::ZoneStore& store, bool all) {
    for (const auto& z : store.zones()) {
        auto w = z->write_back_if_due(zone::Clock::now(), all);
        if (!w)
            spdlog::error("sync zone={} outcome=error error=\"{}\"", z->name_text(), w.error());
        else if (*w)
            spdlog::info("sync zone={} file={}", z->name_text(), z->settings().file);
    }
}

// The zone files dynamic updates left behind, written on the control thread: checked every half second
// (zonefile_sync delays, retries of a failed write), and soon after an update (wanted(): due at once by
// default). A pass writes everything due. After an update the next pass waits kUpdateGap, or nine times
// as long as the last pass took when that is longer: the first update after a quiet spell is in its file
// within milliseconds, while a burst costs a few whole-file writes a second and at most a tenth of a
// core, however large the zone. An update's answer never waits for the file: the journal already made
// it durable, and a reload in between merges. Only the zones an update named are looked at (by name: a
// reconfigure may have replaced the Zone since), and kept until nothing is pending for them: with 100k
// zones, walking all of them twice a second was a steady cost for nothing.
class WriteBacks {
  public:
    static constexpr std::chrono::milliseconds kUpdateGap{100};

    WriteBacks(asio::io_context& io, const zone::ZoneStore& store)
        : io_(io), store_(store), timer_(io), soon_(io) {
        watch();
    }
    void wanted(const zone::Zone& z) {  // any thread
        {
            const std::lock_guard lock(mutex_);
            named_.insert(z.name_text());
        }
        if (posted_.exchange(true, std::memory_order_acq_rel)) return;
        asio::post(io_, [this] {
            const auto wait = next_pass_ - std::chrono::steady_clock::now();
            if (wait <= std::chrono::steady_clock::duration::zero()) return pass();
            soon_.expires_after(wait);
            soon_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec) pass();
            });
        });
    }

    // A zone whose file a reload, a start or a reconfigure merged with updates but could not write: the
    // write-back it left pending is retried like an update's.
    void retry(const zone::Zone& z) {
        if (z.write_back_pending()) wanted(z);
    }

  private:
    void pass() {
        posted_.store(false, std::memory_order_release);  // an update from now on asks again (wanted())
        const auto start = std::chrono::steady_clock::now();
        std::set<std::string> names;
        {
            const std::lock_guard lock(mutex_);
            names.swap(named_);
        }
        std::vector<std::string> pending;
        for (const auto& name : names) {
            auto parsed = dns::Name::from_text(name);
            auto z = parsed ? store_.find_exact(*parsed) : nullptr;
            if (!z) continue;  // no longer served: reconfigure wrote its file when it dropped it
            auto w = z->write_back_if_due(zone::Clock::now(), false);
            if (!w)
                spdlog::error("sync zone={} outcome=error error=\"{}\"", z->name_text(), w.error());
            else if (*w)
                spdlog::info("sync zone={} file={}", z->name_text(), z->settings().file);
            if (z->write_back_pending()) pending.push_back(name);  // later (zonefile_sync), or a retry
        }
        {
            const std::lock_guard lock(mutex_);
            named_.insert(pending.begin(), pending.end());
        }
        const auto end = std::chrono::steady_clock::now();
        next_pass_ = end + std::max<std::chrono::steady_clock::duration>(kUpdateGap, 9 * (end - start));
    }
    // Always armed, whatever the zones' zonefile_sync: a pending write-back may be due later.
    void watch() {
        timer_.expires_after(std::chrono::milliseconds(500));
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            bool any = false;
            {
                const std::lock_guard lock(mutex_);
                any = !named_.empty();
            }
            if (any && std::chrono::steady_clock::now() >= next_pass_) pass();  // inside the gap: soon_ comes
            watch();
        });
    }

    asio::io_context& io_;
    const zone::ZoneStore& store_;
    asio::steady_timer timer_;
    asio::steady_timer soon_;
    std::atomic<bool> posted_{false};
    std::chrono::steady_clock::time_point next_pass_;  // control thread
    std::mutex mutex_;
    std::set<std::string> named_;  // zones an update changed that may still owe their file
};

// What follows a dynamic update that changed a zone: NOTIFY (coalesced by notify_delay), then the file.
std::function<void(const zone::Zone&)> after_update(const NotifyControl& notifications,
                                                    WriteBacks& write_backs) {
    return [&notifications, &write_backs](const zone::Zone& z) {
        notifications.changed(z);
        write_backs.wanted(z);
    };
}

// Secondaries may have missed changes made while we were down: they are told what is served now. A zone
// whose file merged updates at start-up but could not be written has its write-back to retry.
void announce_at_start(const zone::ZoneStore& store, const NotifyControl& notifications,
                       WriteBacks& write_backs) {
    for (const auto& z : store.zones()) {
        notifications.changed(*z);
        write_backs.retry(*z);
    }
}

// The reconfigure command. The verification's zones (secondaries, interval, key) and the signature
// watch's (parent, multi_signer, signature_warn) follow the config; a zone it opened that merged updates
// into a file it could not write retries the write, as after a reload.
ReconfigureControl reconfigure_control(Reconfigurable reconfigurable, WriteBacks& write_backs,
                                       VerifyService& verifier, SignatureWatch& signatures) {
    reconfigurable.applied = [&verifier, &signatures](const conf::Config& c,
                                                      const std::shared_ptr<const tsig::KeyStore>& k) {
        verifier.replace(verify_zones(c, *k), k);
        signatures.configure(c);  // on the control thread, the watch's own
    };
    reconfigurable.opened = [&write_backs](const zone::Zone& z) { write_backs.retry(z); };
    return [reconfigurable]() mutable { return reconfigure(reconfigurable, zone::Clock::now()); };
}

struct Stoppable {
    asio::io_context& dns_io;
    asio::io_context& control_io;
    DnsListeners& listeners;
    UdpWorkers& udp;
    NotifierSlot& notifier;
    ControlServer& control;
    asio::signal_set& hup;
    SignatureWatch& signatures;
    std::chrono::milliseconds grace_period;
};

// Stops taking queries, then waits for the transfers in flight: the grace timer runs for the whole grace
// period unless the last transfer to end cancels it first. DnsListeners calls back on whichever TCP
// thread ends that transfer, so the callback only posts the cancel to `dns_io` (the timer's only thread).
void stop_on_signal(asio::signal_set& term, asio::steady_timer& grace, const Stoppable& parts) {
    term.async_wait([&grace, parts](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        spdlog::info("signal {}: no new queries; letting {} transfer(s) finish (up to {} ms)", sig,
                     parts.listeners.active_transfers(), parts.grace_period.count());
        parts.listeners.stop_accepting();
        parts.udp.stop();
        parts.notifier.stop();
        asio::post(parts.control_io, [parts] {
            parts.control.stop();
            parts.hup.cancel();
            parts.signatures.stop();
        });
        grace.expires_after(parts.grace_period);
        grace.async_wait([parts](const boost::system::error_code&) {
            if (const std::size_t left = parts.listeners.active_transfers(); left > 0)
                spdlog::warn("grace period over, cutting {} transfer(s)", left);
            parts.dns_io.stop();
        });
        parts.listeners.when_transfers_done(
            [&grace, &dns_io = parts.dns_io] { asio::post(dns_io, [&grace] { grace.cancel(); }); });
    });
}

// The webhooks: drifts from the verifier, reload results from the commands (and the zones whose files did
// not load at start-up, a failed reload like any other); transfers and NOTIFYs report in on_transfer and
// log_notify_events.
void start_alerts(AlertService& alerts, const zone::ZoneStore& store, VerifyService& verifier,
                  ControlCommands& commands) {
    alerts.start();
    verifier.on_drift(
        [&alerts](const std::string& zone, const std::string& secondary, bool starts,
                  const std::string& summary) { alerts.drift(zone, secondary, starts, summary); });
    commands.on_reload([&alerts](const zone::Zone& z, const zone::ReloadResult& r) {
        alerts.reload_result(z.name_text(),
                             r.outcome == zone::ReloadOutcome::Error ? r.error : std::string());
    });
    for (const auto& z : store.zones()) {
        if (auto error = z->status().last_error; !error.empty()) alerts.reload_result(z->name_text(), error);
    }
}

// The NOTIFY sender behind a slot: reconfigure replaces it with one for the new zones and targets. Each
// new Notifier reports to the transfer log, the metrics, the alerts and the lab timeline, and obeys the lab
// faults.
Result<std::unique_ptr<NotifierSlot>, std::string> start_notifier(asio::io_context& dns_io,
                                                                  Server::Impl& impl) {
    auto setup = notify_zones(impl.config, *impl.keys);
    if (!setup) return unexpected(setup.error());
    auto slot = std::make_unique<NotifierSlot>(
        dns_io, impl.config.server.notify_max_in_flight, [impl = &impl](Notifier& n) {
            log_notify_events(n, impl->transfer_log, impl->secondaries, impl->metrics, *impl->alerts);
            if (impl->lab) n.use_lab(impl->lab->board());
        });
    if (auto started = slot->start(std::move(*setup)); !started) return unexpected(started.error());
    return slot;
}

// The control socket: the `lab` command goes to the lab service (or is refused outside lab mode), every
// other one to the commands.
Result<std::unique_ptr<ControlServer>, std::string> open_control(asio::io_context& control_io,
                                                                 const conf::ServerConfig& cfg,
                                                                 ControlCommands& commands, LabService* lab) {
    ControlServerOptions options;
    options.offloaded_commands = {"verify"};  // seconds of network I/O: never hold up a reload
    return ControlServer::open(
        control_io, cfg.control_socket,
        [&commands, lab](const nlohmann::json& req) {
            if (req.is_object() && req.value("command", "") == "lab") {
                const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch());
                return lab ? lab->handle(req, static_cast<uint64_t>(now.count())) : lab_disabled_response();
            }
            return commands.handle(req);
        },
        options);
}

// GET /metrics when server.metrics_listen is set: bound now (before the privileges are dropped), served on
// its own thread.
Result<void, std::string> start_metrics(MetricsServer& http, const conf::ServerConfig& cfg) {
    if (!cfg.metrics_listen) return {};
    if (auto opened = http.open(*cfg.metrics_listen); !opened) return opened;
    http.start();
    spdlog::info("metrics on http://{}/metrics", cfg.metrics_listen->to_string());
    return {};
}

void log_serving(const conf::ServerConfig& cfg, const zone::ZoneStore& store, std::size_t udp_threads,
                 std::size_t tcp_threads, const std::string& zones_not_loaded) {
    std::string listening;
    for (const auto& ep : cfg.listen) listening += (listening.empty() ? "" : ", ") + ep.to_string();
    for (const auto& ep : cfg.listen_tls) listening += ", TLS " + ep.to_string();
    const auto& zones = store.zones();
    const auto served =
        std::count_if(zones.begin(), zones.end(), [](const auto& z) { return z->current() != nullptr; });
    spdlog::info(
        "headwater serving {} of {} zone(s) on {} (UDP on {} thread(s), TCP on {}); control socket {}",
        served, zones.size(), listening, udp_threads, tcp_threads, cfg.control_socket.string());
    if (!zones_not_loaded.empty()) {
        if (served == 0)
            spdlog::error("no zone is served: {}", zones_not_loaded);
        else
            spdlog::error("{}", zones_not_loaded);
    }
}

// Binds UDP and TCP on server.listen, and TLS on server.listen_tls when there is a TLS context; all of
// them count queries for the metrics.
Result<void, std::string> open_listeners(const conf::ServerConfig& cfg, UdpWorkers& udp,
                                         DnsListeners& listeners, const TlsContext* tls,
                                         ServerMetrics& metrics) {
    udp.count_queries(&metrics.queries());
    udp.report_every_soa_query(cfg.lab);  // the lab report counts each one
    listeners.count_queries(&metrics.queries());
    if (auto opened = udp.open(cfg.listen); !opened) return opened;
    if (auto opened = listeners.open(cfg.listen); !opened) return opened;
    if (tls != nullptr) return listeners.open_tls(cfg.listen_tls, *tls);
    return {};
}

// Runs the control thread and the TCP threads around `dns_io` (this thread) until the shutdown stops it.
// A bug escaping a TCP handler must end the server the way one on the DNS thread does (main() reports
// it, exit 70), not std::terminate on a worker thread: the first one is kept and rethrown here.
void run_threads(asio::io_context& dns_io, asio::io_context& tcp_io, std::size_t tcp_threads,
                 asio::io_context& control_io) {
    std::thread control_thread([&] { control_io.run(); });
    std::mutex tcp_failure_mutex;
    std::exception_ptr tcp_failure;
    std::vector<std::thread> tcp_workers;
    for (std::size_t i = 0; i < tcp_threads; ++i)
        tcp_workers.emplace_back([&] {
            try {
                tcp_io.run();
            } catch (...) {
                std::lock_guard lock(tcp_failure_mutex);
                if (!tcp_failure) tcp_failure = std::current_exception();
                asio::post(dns_io, [&dns_io] { dns_io.stop(); });
            }
        });
    dns_io.run();
    // The transfers have finished or had their grace period: whatever is left on TCP goes.
    tcp_io.stop();
    for (auto& t : tcp_workers) t.join();
    control_io.stop();
    control_thread.join();
    if (tcp_failure) std::rethrow_exception(tcp_failure);
}

}  // namespace

int Server::run() {
    const auto& cfg = impl_->config.server;
    const auto fail = [](std::string_view what, const std::string& why) {
        spdlog::critical("{}{}", what, why);
        return 1;
    };
    asio::io_context dns_io(1);
    asio::io_context control_io(1);
    // TCP connections on threads of their own (server.tcp_threads), each connection on a strand: several
    // transfers at once use several cores (the HMAC pass over each stream is most of a transfer's CPU).
    const std::size_t tcp_threads = thread_count(cfg.tcp_threads);
    asio::io_context tcp_io(static_cast<int>(tcp_threads));

    // on_peer_event is called from the UDP and TCP threads: the registry, log and spdlog are thread-safe.
    auto peer_events = [impl = impl_.get()](const PeerEvent& e) { impl->on_peer_event(e); };
    UdpWorkers udp(*impl_->responder, peer_events, thread_count(cfg.udp_threads), cfg.max_query_size);
    DnsListeners listeners(tcp_io, *impl_->responder, listener_options(cfg), peer_events);
    if (auto opened = open_listeners(cfg, udp, listeners, impl_->tls.get(), impl_->metrics); !opened)
        return fail("", opened.error());
    // NOTIFY (RFC 1996): its own sockets on the DNS thread; sending never waits on serving or vice versa.
    auto started_notifier = start_notifier(dns_io, *impl_);
    if (!started_notifier) return fail("notify: ", started_notifier.error());
    NotifierSlot& notifier = **started_notifier;
    const NotifyControl notifications = notify_control(notifier, impl_->store);
    WriteBacks write_backs(control_io, impl_->store);
    impl_->set_zone_changed(after_update(notifications, write_backs));
    announce_at_start(impl_->store, notifications, write_backs);

    DeferredSnapshots snapshots(impl_->store);
    // Verification of the secondaries: its own thread, so a silent secondary delays nothing else.
    VerifyService verifier(impl_->store, impl_->keys, verify_zones(impl_->config, *impl_->keys),
                           own_addresses(impl_->config), impl_->secondaries,
                           log_verify_reports(impl_->transfer_log));
    // DNSSEC re-signing, rollovers, expiry warnings: started below, made here for reconfigure to update.
    SignatureWatch signatures(control_io, impl_->store, impl_->config, notifications.changed,
                              &impl_->secondaries);
    ControlCommands commands(
        impl_->store, [] { return zone::Clock::now(); }, &impl_->secondaries, notifications,
        [&verifier](const std::string& zone, const nlohmann::json& request) {
            return verifier.verify(zone, request);
        },
        tls_reload(impl_->tls.get()),
        reconfigure_control(
            Reconfigurable{impl_->store, *impl_->responder, notifier, impl_->config, snapshots}, write_backs,
            verifier, signatures));
    commands.on_reload(
        [&write_backs](const zone::Zone& z, const zone::ReloadResult&) { write_backs.retry(z); });
    start_alerts(*impl_->alerts, impl_->store, verifier, commands);
    verifier.start();
    // GET /metrics on a thread of its own; rendering reads the zones and the registry one zone at a time.
    MetricsServer metrics_http([impl = impl_.get(), &notifier] {
        return impl->metrics.render(impl->store, impl->secondaries, notifier.current()->snapshot(),
                                    std::chrono::system_clock::now());
    });
    if (auto started = start_metrics(metrics_http, cfg); !started) return fail("", started.error());
    auto control = open_control(control_io, cfg, commands, impl_->lab.get());
    if (!control) return fail("control socket: ", control.error());
    // Least privilege (server.user): every socket is bound now; nothing after this needs root.
    if (auto dropped = drop_privileges(cfg); !dropped) return fail("", dropped.error());
    snapshots.wanted();  // as the service user: the files are its own

    start_signature_watch(control_io, signatures, commands);
    // Signals: SIGHUP on the control thread, SIGTERM/SIGINT on the DNS thread.
    asio::signal_set hup(control_io, SIGHUP);
    reload_on_sighup(hup, commands);
    asio::signal_set term(dns_io, SIGTERM, SIGINT);
    asio::steady_timer grace(dns_io);
    stop_on_signal(term, grace,
                   Stoppable{dns_io, control_io, listeners, udp, notifier, **control, hup, signatures,
                             std::chrono::milliseconds(cfg.shutdown_grace_ms)});

    udp.start();
    log_serving(cfg, impl_->store, udp.threads(), tcp_threads, impl_->zones_not_loaded);
    run_threads(dns_io, tcp_io, tcp_threads, control_io);
    impl_->set_zone_changed({});  // the Notifier goes before the UDP workers
    write_back_due(impl_->store, true);
    listeners.close_all();
    control->reset();
    spdlog::info("headwater stopped");
    return 0;
}

int check_config(const std::filesystem::path& file) {
    auto cfg = conf::load_config(file);
    if (!cfg) {
        std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
        return 1;
    }
    int status = 0;
    std::size_t broken = 0;
    for (const auto& zc : cfg->zones) {
        auto name = dns::Name::from_text(zc.name);
        if (!name) {
            std::fprintf(stderr, "zone %s: %s\n", zc.name.c_str(), name.error().c_str());
            status = 1;
            ++broken;
            continue;
        }
        // Every zone is checked; each broken one is named, since its error names only the file (which
        // may be an $INCLUDE shared by several zones).
        auto v = zone::load_zone_file(*name, zc.file);
        if (!v) {
            std::fprintf(stderr, "zone %s: %s\n", name->to_string().c_str(), v.error().to_string().c_str());
            status = 1;
            ++broken;
            continue;
        }
        for (const std::string& w : v->warning_lines())
            std::fprintf(stderr, "zone %s: warning: %s\n", name->to_string().c_str(), w.c_str());
        // A zone Headwater signs must come unsigned (the server would refuse the file).
        if (auto unsigned_source =
                zc.dnssec_policy.empty() ? Result<void, std::string>() : sign::check_unsigned(*v->version);
            !unsigned_source) {
            std::fprintf(stderr, "zone %s: %s: %s\n", name->to_string().c_str(), zc.file.c_str(),
                         unsigned_source.error().c_str());
            status = 1;
            ++broken;
            continue;
        }
        std::printf("zone %s: serial %u, %zu records, OK\n", zc.name.c_str(), v->version->serial().value(),
                    v->version->size());
    }
    if (broken > 0)
        std::fprintf(stderr,
                     "%zu of %zu zone(s) broken: the server would start without them (each served from the "
                     "state directory if it was served before, else not at all)\n",
                     broken, cfg->zones.size());
    // The TLS files must load as the server would load them.
    if (status == 0 && !cfg->server.listen_tls.empty()) {
        if (auto tls = TlsContext::create(tls_settings(*cfg)); !tls) {
            std::fprintf(stderr, "%s: %s\n", file.string().c_str(), tls.error().c_str());
            status = 1;
        }
    }
    // Lab faults must read as the server would read them.
    if (status == 0 && cfg->server.lab) {
        if (auto faults = lab_faults(*cfg, 0); !faults) {
            std::fprintf(stderr, "%s: %s\n", file.string().c_str(), faults.error().c_str());
            status = 1;
        }
    }
    // server.user must exist here too: a unit file is checked before it is started.
    if (status == 0) {
        if (auto id = resolve_identity(cfg->server); !id) {
            std::fprintf(stderr, "%s: %s\n", file.string().c_str(), id.error().c_str());
            status = 1;
        }
    }
    if (status == 0) std::printf("%s: OK\n", file.string().c_str());
    return status;
}

}  // namespace headwater::server
