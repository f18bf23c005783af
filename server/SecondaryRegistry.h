// What each secondary holds: per zone, per peer (address and TSIG key), the last SOA query, the last
// transfer and the serial the peer is known to hold, and from that its lag behind the served serial
// (what `headwaterctl secondaries` shows). Thread-safe: the DNS listeners record, the control socket
// reads. No clock of its own: every time is passed in, so tests use fixed times.
//
// A peer is its address without the port plus its key: a secondary opens a new source port for every
// query, and two keys from one address are two configurations (two providers behind one NAT, say).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "xfr/TransferEvent.h"
#include "zone/dns/Serial.h"

namespace headwater::server {

// Lab mode: one thing a peer did or was sent, for `headwaterctl lab report` (kept only once
// enable_timeline() was called, a bounded number per peer).
struct TimelineEvent {
    enum class Kind : uint8_t { SoaQuery, Transfer, UpToDate, Notify };
    Kind kind = Kind::SoaQuery;
    std::chrono::system_clock::time_point at{};
    std::string transport;                       // SoaQuery: "udp", "tcp", "tls"
    std::string lab;                             // the faults applied to it; empty when none
    std::optional<xfr::TransferEvent> transfer;  // Transfer
    std::optional<dns::Serial> serial;           // UpToDate: what the peer holds; Notify: the serial sent
    std::string outcome;  // Notify: "ack", "error", "skipped"; SoaQuery: "dropped", "tc", "answered"
};

struct SecondaryState {
    std::string address;  // without the port
    std::string key;      // TSIG key name (lower case), "-" when unsigned
    std::optional<dns::Serial> holds;
    std::optional<std::chrono::system_clock::time_point> holds_at;  // when we last learnt `holds`
    std::optional<std::chrono::system_clock::time_point> last_soa_query;
    std::optional<xfr::TransferEvent> last_transfer;
    std::optional<std::chrono::system_clock::time_point> last_transfer_at;
    // Transfers in a row that did not end ok (refused or broken off); 0 after an ok one.
    std::size_t failures_in_a_row = 0;
    std::chrono::system_clock::time_point last_seen{};  // newest event of any kind
    // Lab mode only, oldest first, and only in with_timelines(): kept apart from the rest (timelines_),
    // so the copies that views, metrics and `secondaries` take stay small.
    std::vector<TimelineEvent> timeline;
};

// The last verification of one public secondary (written by VerifyService).
struct VerificationInfo {
    std::string status;  // "in-sync", "behind", "ahead", "differs", "unreachable", "broken"
    bool in_sync = false;
    std::string summary;
    std::optional<dns::Serial> serial;
    std::optional<int64_t> lag;
    std::string method;  // "axfr", "sample" or empty
    std::size_t differences = 0;
};

// The last delegation check at one parent server (written by VerifyService).
struct DelegationInfo {
    std::string status;  // "ok", "mismatch", "not-a-referral", "unreachable"
    bool ok = false;
    std::string summary;  // the problems, "; "-separated; empty when ok
};

// RFC 1982 §3.2 difference served - holds: positive when the peer is behind, negative when it holds a
// newer serial (after a forced backwards reload), empty at exactly 2^31 where the order is undefined.
std::optional<int64_t> serial_lag(dns::Serial served, dns::Serial holds);

class SecondaryRegistry {
  public:
    using TimePoint = std::chrono::system_clock::time_point;

    // Peers kept per zone: past this, the peer seen least recently is forgotten, so a scan from many
    // addresses (each refused) cannot grow memory without bound.
    explicit SecondaryRegistry(std::size_t max_peers_per_zone = 1024);

    // An SOA query at the zone apex. It says nothing reliable about what the peer holds (a secondary
    // may poll before it has any copy, and a resolver asks the same question), so `holds` is untouched.
    // `transport` and `lab` (the faults applied, "dropped"/"tc" in `outcome`) go to the lab timeline.
    void record_soa_query(std::string_view zone, std::string_view address, std::string_view key, TimePoint at,
                          std::string_view transport = "udp", std::string_view lab = {},
                          std::string_view outcome = "answered");

    // Lab mode: keep the last `max_events` events of each peer (TimelineEvent); 0 keeps none (default).
    void enable_timeline(std::size_t max_events);
    // A NOTIFY to a target at `address` (no port) with `key`: its serial and how it ended.
    void record_notify(std::string_view zone, std::string_view address, std::string_view key,
                       std::optional<dns::Serial> serial, std::string_view outcome, std::string_view lab,
                       TimePoint at);

    // A transfer request, answered (ok or aborted) or refused, under its zone, address and key. An ok
    // transfer means the peer was sent the served serial: holds = served_serial. An aborted IXFR's client
    // serial is what the peer said it holds (RFC 1995 §3): holds = client_serial. An AXFR that failed and
    // a refused request tell nothing. Returns the peer's failures in a row after this one (0 after an ok
    // transfer), so the caller can alert once when they reach a threshold.
    std::size_t record_transfer(const xfr::TransferEvent& event, TimePoint at);

    // An IXFR answered with the single current SOA because the client already holds `serial`
    // (RFC 1995 §2): holds = serial. Not a transfer: last_transfer is untouched.
    void record_ixfr_up_to_date(std::string_view zone, std::string_view address, std::string_view key,
                                dns::Serial serial, TimePoint at);

    // The result of checking the secondary at `address` ("addr:port"): replaces the previous one. Returns
    // whether the previous one was in sync (nullopt: none recorded), so the caller can tell when a drift
    // starts or ends.
    std::optional<bool> record_verification(std::string_view zone, std::string_view address,
                                            const VerificationInfo& info, TimePoint at);
    // {"address","at","status","in_sync","summary","serial","lag_serials","method","differences"} per
    // checked secondary, ordered by address.
    nlohmann::json verifications_json(std::string_view zone) const;
    // The same, as values: address ("addr:port"), the result and when it was recorded.
    struct Verification {
        std::string address;
        VerificationInfo info;
        TimePoint at;
    };
    std::vector<Verification> verifications(std::string_view zone) const;

    // The result of checking the delegation at the parent server `parent` ("addr:port"): replaces the
    // previous one; returns whether that one was ok (nullopt: none), like record_verification.
    std::optional<bool> record_delegation(std::string_view zone, std::string_view parent,
                                          const DelegationInfo& info, TimePoint at);
    struct Delegation {
        std::string parent;
        DelegationInfo info;
        TimePoint at;
    };
    std::vector<Delegation> delegations(std::string_view zone) const;

    // Everything above about one zone, copied under one lock (a metrics scrape, zone by zone).
    struct ZoneView {
        std::vector<SecondaryState> peers;  // ordered by address then key
        std::vector<Verification> verifications;
        std::vector<Delegation> delegations;
    };
    ZoneView view(std::string_view zone) const;

    // Drops a zone no longer served.
    void forget_zone(std::string_view zone);

    // The peers of a zone, ordered by address then key.
    std::vector<SecondaryState> snapshot(std::string_view zone) const;
    // The same with each peer's lab timeline (`headwaterctl lab report`).
    std::vector<SecondaryState> with_timelines(std::string_view zone) const;

    // The `secondaries` array of the control response (docs/control.md): per peer address, key, holds,
    // lag_serials, lag_seconds, in_sync, last_soa_query, last_transfer. `served` is the zone's serial
    // now and `served_since` when that serial started being served (lag_seconds counts from there: the
    // time the peer has at least been behind). Notify targets are not here: the caller adds a "notify"
    // member next to "secondaries" in the response.
    nlohmann::json to_json(std::string_view zone, std::optional<dns::Serial> served,
                           std::optional<TimePoint> served_since, TimePoint now) const;

    // Zone names compare case-insensitively with or without the final dot: "Example.COM" is "example.com.".
    static std::string zone_key(std::string_view zone);
    // "192.0.2.1#5300" -> "192.0.2.1" (DnsListeners' peer text); text without '#' is returned as is.
    static std::string address_of(std::string_view peer);

  private:
    using PeerId = std::pair<std::string, std::string>;  // address, key
    SecondaryState& peer_locked(std::string_view zone, std::string_view address, std::string_view key,
                                TimePoint at);

    void add_event_locked(std::string_view zone, const SecondaryState& peer, TimelineEvent event);

    std::size_t max_peers_;
    std::size_t timeline_max_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, std::map<PeerId, SecondaryState>, std::less<>> zones_;
    std::map<std::string, std::map<PeerId, std::vector<TimelineEvent>>, std::less<>> timelines_;  // lab mode
    std::map<std::string, std::map<std::string, std::pair<VerificationInfo, TimePoint>>, std::less<>>
        verified_;
    std::map<std::string, std::map<std::string, std::pair<DelegationInfo, TimePoint>>, std::less<>>
        delegations_;
};

}  // namespace headwater::server
