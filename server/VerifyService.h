// Verification of the secondaries as a service: on demand for `headwaterctl verify`, and every
// verify_interval for the zones that configure one. It owns its own thread and io_context, so a slow or
// silent secondary never delays queries, transfers or control commands other than the verify itself.
// Each result goes to the secondaries registry and to the report sink (the transfer log); a drift is
// logged as a warning once when it starts and once when it ends.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "server/DelegationVerifier.h"
#include "server/SecondaryVerifier.h"
#include "tsig/KeyStore.h"
#include "zone/ZoneStore.h"

namespace headwater::server {

class SecondaryRegistry;

struct VerifyZone {
    dns::Name zone;
    std::vector<dns::Endpoint> secondaries;  // configured; empty: the NOTIFY targets are checked on demand
    std::vector<dns::Endpoint> notify_targets;
    std::shared_ptr<const tsig::Key> key;  // verify_key; null: unsigned
    std::chrono::seconds interval{0};      // 0: only on demand
    std::size_t sample = 100;
    std::vector<dns::Endpoint> parents;  // the parent zone's servers: the delegation check
    // A signed zone's secondaries: an RRSIG they serve that expires sooner than this is reported
    // (zone[].signature_warn, the same window the signing watch warns with).
    std::chrono::seconds signature_warn{7 * 86400};

    // The same settings (a key by its name, algorithm and secret: a reconfigure builds new Key objects).
    bool same_as(const VerifyZone& other) const;
};

class VerifyService {
  public:
    using ReportSink = std::function<void(const VerifyReport&, bool scheduled)>;
    // A drift that starts (starts = true) or ends, once each: zone, secondary ("addr:port"), summary.
    using DriftSink = std::function<void(const std::string& zone, const std::string& secondary, bool starts,
                                         const std::string&)>;

    // `own_addresses`: server.listen without wildcards (the hidden primary, which a delegation must not
    // name).
    VerifyService(const zone::ZoneStore& store, std::shared_ptr<const tsig::KeyStore> keys,
                  std::vector<VerifyZone> zones, std::vector<dns::IpAddress> own_addresses,
                  SecondaryRegistry& registry, ReportSink sink);
    ~VerifyService();  // stops

    VerifyService(const VerifyService&) = delete;
    VerifyService& operator=(const VerifyService&) = delete;

    // Called on the verify thread for every drift that starts or ends; set before start().
    void on_drift(DriftSink sink) { drift_sink_ = std::move(sink); }

    // Starts the thread and the periodic checks.
    void start();
    void stop();

    // A reconfigure's zones and keys take over, and `verify` requests use them. When any zone's settings
    // changed, the periodic checks start again from the new ones (each zone's first one soon, as at
    // start-up); otherwise they go on as they were. Any thread.
    void replace(std::vector<VerifyZone> zones, std::shared_ptr<const tsig::KeyStore> keys);

    // The `verify` control command (docs/control.md): blocks the caller until done. Members of `request`:
    // "secondaries" (array of "addr[:port]"), "key" (a configured key name), "sample", "timeout_ms",
    // "transfer" (bool), "delegation" (bool: check the delegation at the parent servers instead), "parents"
    // (array of "addr[:port]", replacing the zone's `parent`).
    nlohmann::json verify(const std::string& zone, const nlohmann::json& request);

  private:
    boost::asio::awaitable<void> schedule(VerifyZone zone, uint64_t generation);
    void spawn_schedules_locked();
    // A copy of a zone's settings (the default when it has none) and the keys, as of now.
    std::pair<VerifyZone, std::shared_ptr<const tsig::KeyStore>> settings_of(const dns::Name& zone) const;
    Result<VerifyRequest, std::string> prepare(const VerifyZone& zone) const;
    void record(const VerifyReport& report, bool scheduled);
    void record(const DelegationReport& report);
    nlohmann::json verify_delegation_now(VerifyZone vz, const nlohmann::json& request);

    const zone::ZoneStore& store_;
    mutable std::mutex mutex_;  // keys_, zones_: replace() and verify() may come from different threads
    std::shared_ptr<const tsig::KeyStore> keys_;
    // By SecondaryRegistry::zone_key; only zones with settings (most of 100k zones have none: they cost
    // nothing here).
    std::unordered_map<std::string, VerifyZone> zones_;
    // Bumped by replace(): a periodic check of an older generation ends at its next wake-up.
    std::atomic<uint64_t> generation_{0};
    std::vector<dns::IpAddress> own_addresses_;
    SecondaryRegistry& registry_;
    ReportSink sink_;
    DriftSink drift_sink_;
    boost::asio::io_context io_;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::thread thread_;
};

}  // namespace headwater::server
