// Webhook alerts ([[alert]] in the config, docs/operations.md "Alerts"): a drift that starts or ends, a
// secondary whose transfers failed N times in a row, a NOTIFY target given up on, a zone whose reload
// failed. Each incident is sent once, when it starts (and a drift once more when it ends), never once per
// check: the callers report every result and this class keeps the state that tells a new incident from
// the same one again.
//
// Sending never blocks the caller: an alert is queued to the service's own thread and io_context, which
// POSTs it with Boost.Beast (TLS through OpenSSL for https://), retrying with doubling waits. A webhook
// that hangs or is unreachable costs only its own coroutines; at most kMaxPending alerts per webhook wait
// at once, past that the newest is dropped with a warning.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "conf/Config.h"

namespace headwater::server {

struct Alert {
    std::string event;    // drift_start, drift_end, transfer_failures, notify_giveup, reload_failed
    std::string zone;     // "example.com."
    std::string subject;  // the secondary or NOTIFY target ("addr:port", "addr"); empty for a reload
    std::string summary;  // one line for a human
    std::chrono::system_clock::time_point at;
    nlohmann::json details = nlohmann::json::object();  // more members of the JSON body
};

// The request body for `format` ("json" or "text"). JSON: {"event","zone","subject","summary","time",
// ...details}; text: {"text": "headwater: <event> zone <zone> <subject>: <summary>"}, the form Slack and
// Microsoft Teams incoming webhooks take.
std::string alert_body(const Alert& alert, const std::string& format);

class AlertService {
  public:
    explicit AlertService(std::vector<conf::AlertConfig> hooks);
    ~AlertService();  // stops
    AlertService(const AlertService&) = delete;
    AlertService& operator=(const AlertService&) = delete;

    void start();
    // Alerts not delivered yet are dropped (logged).
    void stop();

    // The incidents. Any thread; none blocks.
    void drift(const std::string& zone, const std::string& secondary, bool starts,
               const std::string& summary);
    // After each transfer of a served zone: `failures_in_a_row` as the registry counts them.
    void transfer_result(const std::string& zone, const std::string& secondary, const std::string& key,
                         std::size_t failures_in_a_row, const std::string& detail);
    void notify_result(const std::string& zone, const std::string& target, const std::string& key,
                       bool acknowledged, uint32_t serial, const std::string& error);
    // After each reload (and the start-up load) of a zone: `error` empty when it did not fail.
    void reload_result(const std::string& zone, const std::string& error);

    // Called with every alert as it is raised, once per webhook that wants it, before it is queued (the
    // unit tests check the incident rules with it; no network needed). Set before the first incident.
    void on_alert(std::function<void(const Alert&)> observer) { observer_ = std::move(observer); }

    // Alerts delivered (2xx) and given up on, over all webhooks (for the metrics and tests).
    uint64_t delivered() const;
    uint64_t failed() const;

    struct State;

  private:
    void send(const Alert& alert, std::size_t only_hook = SIZE_MAX);

    std::shared_ptr<State> state_;
    std::function<void(const Alert&)> observer_;
    std::mutex mutex_;                                                            // the incident state below
    std::set<std::tuple<std::string, std::string, std::string>> notify_failing_;  // zone, target, key
    std::set<std::string> reload_failing_;                                        // zones
};

}  // namespace headwater::server
