// The control commands (docs/control.md), dispatched through a table rather than a chain of ifs.
// Each takes the parsed request and returns the JSON response.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/ControlProtocol.h"
#include "zone/ZoneStore.h"

namespace headwater::sign {
class ZoneSigner;
}

namespace headwater::server {

class SecondaryRegistry;

// What the NOTIFY side offers the commands: per-target state of a zone, and sending again on demand.
struct NotifyControl {
    std::function<nlohmann::json(const std::string& zone)> targets;  // array of target states
    std::function<nlohmann::json(const std::string& zone, const std::optional<std::string>& target)> send;
    std::function<void(const zone::Zone& zone)> changed;  // a new version is served (reload, bump)
};

// Verification of the secondaries (VerifyService::verify): zone name, raw request -> response.
using VerifyControl = std::function<nlohmann::json(const std::string& zone, const nlohmann::json& request)>;

// Reloading the TLS certificate (TlsContext::reload): its description, or why it failed. Unset: no TLS.
using TlsReload = std::function<Result<std::string, std::string>()>;

// Reading the config again and applying it, all or nothing (Reconfigure.h): the response JSON.
using ReconfigureControl = std::function<nlohmann::json()>;

class ControlCommands {
  public:
    using Now = std::function<zone::Clock::time_point()>;
    ControlCommands(zone::ZoneStore& store, Now now, const SecondaryRegistry* secondaries = nullptr,
                    NotifyControl notify = {}, VerifyControl verify = {}, TlsReload tls_reload = {},
                    ReconfigureControl reconfigure = {});

    nlohmann::json handle(const nlohmann::json& request);

    // Reloads every zone (SIGHUP); returns the same JSON as the reload command.
    nlohmann::json reload_all();
    // Reloads the TLS certificate when there are TLS listeners (SIGHUP); the reload-tls command's JSON.
    nlohmann::json reload_tls_now();
    // Reads the config again (SIGHUP); the reconfigure command's JSON.
    nlohmann::json reconfigure_now();

    // Called after every zone reload with its result (the alerts, the zone file writer); added before the
    // first command.
    using ReloadObserver = std::function<void(const zone::Zone&, const zone::ReloadResult&)>;
    void on_reload(ReloadObserver observer) { reload_observers_.push_back(std::move(observer)); }
    // Called after `dnssec rollover` started one (the signature watch then looks again within seconds).
    void on_rollover(std::function<void()> observer) { rollover_observer_ = std::move(observer); }

  private:
    nlohmann::json status(const control::Request& req, const nlohmann::json& request);
    nlohmann::json reload(const control::Request& req, const nlohmann::json& request);
    nlohmann::json bump(const control::Request& req, const nlohmann::json& request);
    nlohmann::json sync(const control::Request& req, const nlohmann::json& request);
    nlohmann::json journal(const control::Request& req, const nlohmann::json& request);
    nlohmann::json secondaries(const control::Request& req, const nlohmann::json& request);
    nlohmann::json notify(const control::Request& req, const nlohmann::json& request);
    nlohmann::json verify(const control::Request& req, const nlohmann::json& request);
    nlohmann::json dnssec(const control::Request& req, const nlohmann::json& request);
    nlohmann::json rollover(zone::Zone& z, sign::ZoneSigner& signer, const nlohmann::json& request);
    nlohmann::json foreign(zone::Zone& z, sign::ZoneSigner& signer);
    nlohmann::json reload_tls(const control::Request& req, const nlohmann::json& request);
    nlohmann::json reconfigure(const control::Request& req, const nlohmann::json& request);

    zone::ZoneStore& store_;
    Now now_;
    const SecondaryRegistry* secondaries_;
    NotifyControl notify_;
    VerifyControl verify_;
    TlsReload tls_reload_;
    std::vector<ReloadObserver> reload_observers_;
    std::function<void()> rollover_observer_;
    ReconfigureControl reconfigure_;
};

std::string format_time(zone::Clock::time_point t);  // RFC 3339, UTC, seconds

}  // namespace headwater::server
