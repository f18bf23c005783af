// The numbers behind GET /metrics (docs/operations.md, "Metrics"): counters the serving threads add to
// (queries by RCODE, transfers by type and outcome, NOTIFY conclusions), and the rendering of those plus
// the state the server already keeps (each zone's version and reload bookkeeping, what each secondary
// holds, the last verification, the NOTIFY targets) in the Prometheus text format.
//
// Rendering never holds a lock that queries take for more than one zone: zones are read through their
// atomics (Zone::current, Zone::counters), the secondaries registry one zone at a time (a short copy
// under its mutex), the NOTIFY state as one copy. It runs on the metrics thread, not a serving one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "server/AlertService.h"
#include "server/Notifier.h"
#include "server/QueryCounters.h"
#include "server/SecondaryRegistry.h"
#include "xfr/TransferEvent.h"
#include "zone/ZoneStore.h"

namespace headwater::server {

class ServerMetrics {
  public:
    using TimePoint = std::chrono::system_clock::time_point;

    explicit ServerMetrics(TimePoint started = std::chrono::system_clock::now());
    ~ServerMetrics();
    ServerMetrics(const ServerMetrics&) = delete;
    ServerMetrics& operator=(const ServerMetrics&) = delete;

    // Counted by the UDP workers and TCP listeners.
    QueryCounters& queries() { return queries_; }
    // Every transfer that ended or was refused, for a served zone (Server::Impl::on_transfer).
    void count_transfer(const xfr::TransferEvent& event);
    // Every NOTIFY conclusion (acknowledged or given up).
    void count_notify(const NotifyEvent& event);
    // Alerts delivered and given up on, read at each scrape (null: none configured). Set before serving.
    void count_alerts(const AlertService* alerts) { alerts_ = alerts; }

    // The whole exposition. `notify` is Notifier::snapshot() (empty when nothing is notified).
    std::string render(const zone::ZoneStore& store, const SecondaryRegistry& secondaries,
                       const std::vector<NotifyZoneState>& notify, TimePoint now) const;

  private:
    struct Buffers;  // the per-zone families' sample text, kept between scrapes (ServerMetrics.cpp)
    void render_state(const zone::ZoneStore& store, const SecondaryRegistry& secondaries, TimePoint now,
                      Buffers& b, std::string& out) const;
    void render_notify(const std::vector<NotifyZoneState>& notify, Buffers& b, std::string& out) const;
    void render_traffic(std::string& out) const;

    struct NotifyCounts {
        uint64_t acknowledged = 0, given_up = 0;
    };
    struct TransferCounts {
        uint64_t transfers = 0, bytes = 0;
    };
    // zone, type ("axfr"/"ixfr"), outcome (TransferOutcome's name) -> counts
    using TransferKey = std::tuple<std::string, std::string, std::string>;
    // zone, target ("addr:port"), key -> counts
    using NotifyKey = std::tuple<std::string, std::string, std::string>;

    TimePoint started_;
    const AlertService* alerts_ = nullptr;
    QueryCounters queries_;
    mutable std::mutex mutex_;  // the maps below: transfers and NOTIFYs are few, a mutex is cheap there
    std::map<TransferKey, TransferCounts> transfers_;
    std::map<NotifyKey, NotifyCounts> notifies_;
    // One scrape renders at a time, into buffers that keep their capacity: with thousands of zones the
    // text is megabytes, and growing it afresh each scrape (page faults, copies) cost more than writing it.
    mutable std::mutex render_mutex_;
    std::unique_ptr<Buffers> buffers_;
    mutable std::size_t last_size_ = 0;  // the previous scrape's length, reserved for the next
};

}  // namespace headwater::server
