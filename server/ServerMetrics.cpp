#include "server/ServerMetrics.h"

#include <algorithm>
#include <array>

#include "server/MetricsText.h"
#include "zone/base/AsciiText.h"

namespace headwater::server {

namespace {

using Type = MetricFamily::Type;

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

double ms_to_seconds(int64_t ms) {
    return static_cast<double>(ms) / 1000.0;
}

// The header RCODE names (RFC 6895 §2.3); the unassigned ones by number.
std::string rcode_label(std::size_t slot) {
    static constexpr std::array<std::string_view, 11> kNames = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                                "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                                "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (slot < kNames.size()) return std::string(kNames[slot]);
    return "RCODE" + std::to_string(slot);
}

struct ZoneFamilies {
    MetricFamily served{"headwater_zone_served", Type::Gauge,
                        "1 when the zone has a version to serve, 0 when queries for it get SERVFAIL."};
    MetricFamily serial{"headwater_zone_serial", Type::Gauge, "The SOA serial served."};
    MetricFamily records{"headwater_zone_records", Type::Gauge, "Records in the served version."};
    MetricFamily loaded{"headwater_zone_loaded_timestamp_seconds", Type::Gauge,
                        "When the served version started being served (Unix time)."};
    MetricFamily reload_ok{"headwater_zone_last_reload_success_timestamp_seconds", Type::Gauge,
                           "The last reload (or start-up load) that did not fail (Unix time)."};
    MetricFamily reload_failures{"headwater_zone_reload_failures_total", Type::Counter,
                                 "Reloads that failed since start-up (the previous version stayed served)."};
    MetricFamily journal{"headwater_zone_journal_bytes", Type::Gauge,
                         "Size of the zone's IXFR journal entries on disk."};
};

struct PeerFamilies {
    MetricFamily serial{"headwater_secondary_serial", Type::Gauge,
                        "The serial the secondary is known to hold (from its last transfer or IXFR)."};
    MetricFamily lag{"headwater_secondary_lag_serials", Type::Gauge,
                     "Served serial minus the secondary's (RFC 1982); 0 in sync, negative when ahead."};
    MetricFamily lag_seconds{"headwater_secondary_lag_seconds", Type::Gauge,
                             "How long the secondary has at least been behind the served serial; 0 in sync."};
    MetricFamily transfer_at{"headwater_secondary_last_transfer_timestamp_seconds", Type::Gauge,
                             "When the secondary's last transfer ended or was refused (Unix time)."};
    MetricFamily transfer_ok{"headwater_secondary_last_transfer_ok", Type::Gauge,
                             "1 when the secondary's last transfer ended ok, 0 when refused or broken off."};
    MetricFamily transfer_duration{"headwater_secondary_last_transfer_duration_seconds", Type::Gauge,
                                   "Duration of the secondary's last transfer."};
    MetricFamily transfer_bytes{"headwater_secondary_last_transfer_bytes", Type::Gauge,
                                "Octets sent in the secondary's last transfer."};
    MetricFamily failures{"headwater_secondary_transfer_failures_in_a_row", Type::Gauge,
                          "Transfers in a row that were refused or broken off; 0 after an ok one."};
};

struct VerifyFamilies {
    MetricFamily at{"headwater_secondary_verification_timestamp_seconds", Type::Gauge,
                    "When the secondary was last verified (Unix time)."};
    MetricFamily in_sync{"headwater_secondary_in_sync", Type::Gauge,
                         "1 when the last verification found the secondary serving our version, 0 (drift) "
                         "otherwise."};
    MetricFamily status{"headwater_secondary_verification_status", Type::Gauge,
                        "The last verification's status (in-sync, behind, ahead, differs, unreachable, "
                        "broken) as a label; always 1."};
    MetricFamily serial{"headwater_secondary_verified_serial", Type::Gauge,
                        "The serial the secondary answered at its last verification."};
    MetricFamily lag{"headwater_secondary_verified_lag_serials", Type::Gauge,
                     "Served serial minus the serial the secondary answered at its last verification."};
    MetricFamily differences{"headwater_secondary_differences", Type::Gauge,
                             "RRsets that differed at the last verification."};
    MetricFamily delegation_ok{"headwater_delegation_ok", Type::Gauge,
                               "1 when the parent server's referral lists exactly the apex NS names with "
                               "matching glue, 0 otherwise."};
    MetricFamily delegation_at{"headwater_delegation_check_timestamp_seconds", Type::Gauge,
                               "When the delegation was last checked at the parent server (Unix time)."};
};

struct NotifyFamilies {
    MetricFamily acknowledged{"headwater_notify_acknowledged_serial", Type::Gauge,
                              "The last serial the NOTIFY target acknowledged."};
    MetricFamily acknowledged_at{"headwater_notify_acknowledged_timestamp_seconds", Type::Gauge,
                                 "When the NOTIFY target last acknowledged (Unix time)."};
    MetricFamily pending{"headwater_notify_pending", Type::Gauge,
                         "1 while a NOTIFY to the target is scheduled or waiting for its answer."};
    MetricFamily acks{"headwater_notify_acknowledged_total", Type::Counter,
                      "NOTIFYs the target acknowledged, one per serial."};
    MetricFamily failures{"headwater_notify_failures_total", Type::Counter,
                          "NOTIFYs given up on (an error answer, or no answer after every retry)."};
};

void render_zone(const zone::Zone& z, ZoneFamilies& f) {
    const std::string& name = z.name_text();
    const MetricLabels labels = {{"zone", name}};
    const auto v = z.current();
    const auto c = z.counters();
    f.served.add(labels, int64_t{v ? 1 : 0});
    if (v) {
        f.serial.add(labels, uint64_t{v->serial().value()});
        f.records.add(labels, uint64_t{v->size()});
    }
    if (c.loaded_at_ms != 0) f.loaded.add(labels, ms_to_seconds(c.loaded_at_ms));
    if (c.last_reload_ok_ms != 0) f.reload_ok.add(labels, ms_to_seconds(c.last_reload_ok_ms));
    f.reload_failures.add(labels, c.reload_failures);
    if (const auto* j = z.journal()) f.journal.add(labels, uint64_t{j->bytes()});
}

void render_peers(const zone::Zone& z, const std::vector<SecondaryState>& peers, PeerFamilies& f,
                  std::chrono::system_clock::time_point now) {
    const std::string& name = z.name_text();
    const auto v = z.current();
    const int64_t since_ms = z.counters().loaded_at_ms;
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    for (const SecondaryState& p : peers) {
        const MetricLabels labels = {{"zone", name}, {"secondary", p.address}, {"key", p.key}};
        if (p.holds) {
            f.serial.add(labels, uint64_t{p.holds->value()});
            if (v) {
                if (auto lag = serial_lag(v->serial(), *p.holds)) {
                    f.lag.add(labels, *lag);
                    const int64_t behind_ms =
                        *lag == 0 || since_ms == 0 ? 0 : std::max<int64_t>(0, now_ms - since_ms);
                    f.lag_seconds.add(labels, ms_to_seconds(behind_ms));
                }
            }
        }
        if (p.last_transfer) {
            const auto& t = *p.last_transfer;
            const std::string type = ascii_lower(dns::to_string(t.type));
            if (p.last_transfer_at) f.transfer_at.add(labels, unix_seconds(*p.last_transfer_at));
            f.transfer_ok.add({{"zone", name},
                               {"secondary", p.address},
                               {"key", p.key},
                               {"type", type},
                               {"outcome", xfr::outcome_name(t.outcome)}},
                              int64_t{t.outcome == xfr::TransferOutcome::Ok ? 1 : 0});
            f.transfer_duration.add(labels, std::chrono::duration<double>(t.duration).count());
            f.transfer_bytes.add(labels, uint64_t{t.bytes});
            f.failures.add(labels, uint64_t{p.failures_in_a_row});
        }
    }
}

void render_verifications(const zone::Zone& z, const SecondaryRegistry::ZoneView& view, VerifyFamilies& f) {
    const std::string& name = z.name_text();
    for (const auto& ver : view.verifications) {
        const MetricLabels labels = {{"zone", name}, {"secondary", ver.address}};
        f.at.add(labels, unix_seconds(ver.at));
        f.in_sync.add(labels, int64_t{ver.info.in_sync ? 1 : 0});
        f.status.add({{"zone", name}, {"secondary", ver.address}, {"status", ver.info.status}}, int64_t{1});
        if (ver.info.serial) f.serial.add(labels, uint64_t{ver.info.serial->value()});
        if (ver.info.lag) f.lag.add(labels, *ver.info.lag);
        f.differences.add(labels, uint64_t{ver.info.differences});
    }
    for (const auto& d : view.delegations) {
        const MetricLabels labels = {{"zone", name}, {"parent", d.parent}};
        f.delegation_ok.add(labels, int64_t{d.info.ok ? 1 : 0});
        f.delegation_at.add(labels, unix_seconds(d.at));
    }
}

void write_all(std::string& out, std::initializer_list<MetricFamily*> families) {
    for (MetricFamily* f : families) f->flush(out);
}

}  // namespace

struct ServerMetrics::Buffers {
    ZoneFamilies zones;
    PeerFamilies peers;
    VerifyFamilies verified;
    NotifyFamilies notify;
};

ServerMetrics::ServerMetrics(TimePoint started) : started_(started), buffers_(std::make_unique<Buffers>()) {}

ServerMetrics::~ServerMetrics() = default;

void ServerMetrics::count_transfer(const xfr::TransferEvent& event) {
    std::lock_guard lock(mutex_);
    auto& c = transfers_[{event.zone, ascii_lower(dns::to_string(event.type)),
                          std::string(xfr::outcome_name(event.outcome))}];
    ++c.transfers;
    c.bytes += event.bytes;
}

void ServerMetrics::count_notify(const NotifyEvent& event) {
    std::lock_guard lock(mutex_);
    auto& c = notifies_[{event.zone, event.target, event.key}];
    if (event.acknowledged)
        ++c.acknowledged;
    else
        ++c.given_up;
}

std::string ServerMetrics::render(const zone::ZoneStore& store, const SecondaryRegistry& secondaries,
                                  const std::vector<NotifyZoneState>& notify, TimePoint now) const {
    const auto started = std::chrono::steady_clock::now();
    const std::lock_guard lock(render_mutex_);
    Buffers& b = *buffers_;  // every family is flushed (written, then emptied) below
    std::string out;
    out.reserve(std::max(std::size_t{1} << 16, last_size_ + last_size_ / 8));
    render_state(store, secondaries, now, b, out);
    render_notify(notify, b, out);
    render_traffic(out);
    MetricFamily render_time{"headwater_metrics_render_seconds", Type::Gauge,
                             "Time this scrape took to render everything above."};
    render_time.add({}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    render_time.flush(out);
    last_size_ = out.size();
    return out;
}

void ServerMetrics::render_state(const zone::ZoneStore& store, const SecondaryRegistry& secondaries,
                                 TimePoint now, Buffers& b, std::string& out) const {
    ZoneFamilies& zones = b.zones;
    PeerFamilies& peers = b.peers;
    VerifyFamilies& verified = b.verified;
    for (const auto& z : store.zones()) {
        render_zone(*z, zones);
        const auto view = secondaries.view(z->name_text());
        render_peers(*z, view.peers, peers, now);
        render_verifications(*z, view, verified);
    }
    write_all(out, {&zones.served, &zones.serial, &zones.records, &zones.loaded, &zones.reload_ok,
                    &zones.reload_failures, &zones.journal});
    write_all(out, {&peers.serial, &peers.lag, &peers.lag_seconds, &peers.transfer_at, &peers.transfer_ok,
                    &peers.transfer_duration, &peers.transfer_bytes, &peers.failures});
    write_all(out, {&verified.at, &verified.in_sync, &verified.status, &verified.serial, &verified.lag,
                    &verified.differences, &verified.delegation_ok, &verified.delegation_at});
}

void ServerMetrics::render_notify(const std::vector<NotifyZoneState>& notify, Buffers& b,
                                  std::string& out) const {
    NotifyFamilies& f = b.notify;
    for (const auto& zone : notify) {
        for (const auto& t : zone.targets) {
            const std::string target = t.address.to_string();
            const std::string key = t.key_name.empty() ? "-" : t.key_name;
            const MetricLabels labels = {{"zone", zone.zone}, {"target", target}, {"key", key}};
            if (t.acknowledged_serial) f.acknowledged.add(labels, uint64_t{t.acknowledged_serial->value()});
            if (t.acknowledged_unix) f.acknowledged_at.add(labels, uint64_t{*t.acknowledged_unix});
            f.pending.add(labels, int64_t{t.pending() ? 1 : 0});
        }
    }
    {
        std::lock_guard lock(mutex_);
        for (const auto& [k, c] : notifies_) {
            const auto& [zone, target, key] = k;
            const MetricLabels labels = {{"zone", zone}, {"target", target}, {"key", key}};
            f.acks.add(labels, c.acknowledged);
            f.failures.add(labels, c.given_up);
        }
    }
    write_all(out, {&f.acknowledged, &f.acknowledged_at, &f.pending, &f.acks, &f.failures});
}

void ServerMetrics::render_traffic(std::string& out) const {
    MetricFamily transfers{"headwater_transfers_total", Type::Counter,
                           "Transfer requests for served zones by type asked and outcome (ok, or why refused "
                           "or broken off)."};
    MetricFamily transfer_bytes{"headwater_transfer_bytes_total", Type::Counter,
                                "Octets sent in transfers, by type asked and outcome."};
    {
        std::lock_guard lock(mutex_);
        for (const auto& [k, c] : transfers_) {
            const auto& [zone, type, outcome] = k;
            const MetricLabels labels = {{"zone", zone}, {"type", type}, {"outcome", outcome}};
            transfers.add(labels, c.transfers);
            transfer_bytes.add(labels, c.bytes);
        }
    }
    MetricFamily queries{"headwater_queries_total", Type::Counter,
                         "Queries answered, by transport and the answer's header RCODE (transfers are "
                         "counted in headwater_transfers_total)."};
    MetricFamily dropped{"headwater_queries_dropped_total", Type::Counter,
                         "Queries not answered: unreadable without a header, a response, or too long."};
    for (const auto transport : {QueryTransport::Udp, QueryTransport::Tcp, QueryTransport::Tls}) {
        const std::string_view tname = transport == QueryTransport::Udp   ? "udp"
                                       : transport == QueryTransport::Tcp ? "tcp"
                                                                          : "tls";
        for (std::size_t slot = 0; slot < QueryCounters::kDropped; ++slot) {
            const uint64_t n = queries_.total(transport, slot);
            // The usual RCODEs always (a rate needs the series before the first one); others once seen.
            if (n > 0 || slot <= 5) queries.add({{"transport", tname}, {"rcode", rcode_label(slot)}}, n);
        }
        dropped.add({{"transport", tname}}, queries_.total(transport, QueryCounters::kDropped));
    }
    MetricFamily alerts{"headwater_alerts_total", Type::Counter,
                        "Webhook alerts delivered (a 2xx answer) and failed (given up after every retry, or "
                        "dropped)."};
    if (alerts_ != nullptr) {
        alerts.add({{"outcome", "delivered"}}, alerts_->delivered());
        alerts.add({{"outcome", "failed"}}, alerts_->failed());
    }
    MetricFamily start{"headwater_start_time_seconds", Type::Gauge, "When the server started (Unix time)."};
    start.add({}, unix_seconds(started_));
    write_all(out, {&transfers, &transfer_bytes, &queries, &dropped, &alerts, &start});
}

}  // namespace headwater::server
