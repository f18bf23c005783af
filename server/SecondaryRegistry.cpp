#include "server/SecondaryRegistry.h"

#include <algorithm>

#include "server/ControlCommands.h"
#include "server/ControlProtocol.h"
#include "zone/base/AsciiText.h"

namespace headwater::server {

using nlohmann::json;

namespace {

// Keeps `info` as the latest for `address` and returns the one it replaced. A new address is kept only while
// there are fewer than `bound` (addresses come from the config or from an operator's command line).
template <typename Info>
std::optional<Info> record_latest(
    std::map<std::string, std::pair<Info, SecondaryRegistry::TimePoint>>& latest, std::string_view address,
    const Info& info, SecondaryRegistry::TimePoint at, std::size_t bound) {
    const auto it = latest.find(std::string(address));
    if (it == latest.end()) {
        if (latest.size() < bound) latest.emplace(std::string(address), std::make_pair(info, at));
        return std::nullopt;
    }
    std::optional<Info> previous = std::move(it->second.first);
    it->second = {info, at};
    return previous;
}

json time_json(const std::optional<std::chrono::system_clock::time_point>& t) {
    return t ? json(format_time(*t)) : json(nullptr);
}

}  // namespace

std::optional<int64_t> serial_lag(dns::Serial served, dns::Serial holds) {
    // RFC 1982 §3.2: the distance is taken modulo 2^32; below 2^31 the peer is behind, above it ahead.
    const uint32_t d = served.value() - holds.value();
    if (d == 0x80000000u) return std::nullopt;
    if (d < 0x80000000u) return static_cast<int64_t>(d);
    return -static_cast<int64_t>(0x100000000ull - d);
}

SecondaryRegistry::SecondaryRegistry(std::size_t max_peers_per_zone)
    : max_peers_(std::max<std::size_t>(1, max_peers_per_zone)) {}

std::string SecondaryRegistry::zone_key(std::string_view zone) {
    std::string key = ascii_lower(zone);
    if (key.empty() || key.back() != '.') key += '.';
    return key;
}

std::string SecondaryRegistry::address_of(std::string_view peer) {
    return std::string(peer.substr(0, peer.rfind('#')));
}

SecondaryState& SecondaryRegistry::peer_locked(std::string_view zone, std::string_view address,
                                               std::string_view key, TimePoint at) {
    auto& peers = zones_[zone_key(zone)];
    PeerId id{std::string(address), key.empty() ? std::string("-") : ascii_lower(key)};
    auto it = peers.find(id);
    if (it == peers.end()) {
        if (peers.size() >= max_peers_) {
            auto oldest = std::min_element(peers.begin(), peers.end(), [](const auto& a, const auto& b) {
                return a.second.last_seen < b.second.last_seen;
            });
            if (auto t = timelines_.find(zone_key(zone)); t != timelines_.end())
                t->second.erase(oldest->first);
            peers.erase(oldest);
        }
        it = peers.emplace(id, SecondaryState{}).first;
        it->second.address = id.first;
        it->second.key = id.second;
    }
    it->second.last_seen = std::max(it->second.last_seen, at);
    return it->second;
}

void SecondaryRegistry::record_soa_query(std::string_view zone, std::string_view address,
                                         std::string_view key, TimePoint at, std::string_view transport,
                                         std::string_view lab, std::string_view outcome) {
    std::lock_guard lock(mutex_);
    SecondaryState& p = peer_locked(zone, address, key, at);
    p.last_soa_query = at;
    if (timeline_max_ == 0) return;
    TimelineEvent e;
    e.kind = TimelineEvent::Kind::SoaQuery;
    e.at = at;
    e.transport = std::string(transport);
    e.lab = std::string(lab);
    e.outcome = std::string(outcome);
    add_event_locked(zone, p, std::move(e));
}

void SecondaryRegistry::enable_timeline(std::size_t max_events) {
    std::lock_guard lock(mutex_);
    timeline_max_ = max_events;
}

void SecondaryRegistry::add_event_locked(std::string_view zone, const SecondaryState& peer,
                                         TimelineEvent event) {
    auto& timeline = timelines_[zone_key(zone)][PeerId{peer.address, peer.key}];
    if (timeline.size() >= timeline_max_)
        timeline.erase(timeline.begin(),
                       timeline.begin() + static_cast<std::ptrdiff_t>(timeline.size() / 4 + 1));
    timeline.push_back(std::move(event));
}

void SecondaryRegistry::record_notify(std::string_view zone, std::string_view address, std::string_view key,
                                      std::optional<dns::Serial> serial, std::string_view outcome,
                                      std::string_view lab, TimePoint at) {
    std::lock_guard lock(mutex_);
    if (timeline_max_ == 0) return;
    TimelineEvent e;
    e.kind = TimelineEvent::Kind::Notify;
    e.at = at;
    e.serial = serial;
    e.outcome = std::string(outcome);
    e.lab = std::string(lab);
    add_event_locked(zone, peer_locked(zone, address, key, at), std::move(e));
}

std::size_t SecondaryRegistry::record_transfer(const xfr::TransferEvent& event, TimePoint at) {
    std::lock_guard lock(mutex_);
    SecondaryState& p = peer_locked(event.zone, event.address.to_string(), event.key, at);
    p.last_transfer = event;
    p.last_transfer_at = at;
    p.failures_in_a_row = event.outcome == xfr::TransferOutcome::Ok ? 0 : p.failures_in_a_row + 1;
    if (timeline_max_ != 0) {
        TimelineEvent e;
        e.kind = TimelineEvent::Kind::Transfer;
        e.at = at;
        e.transfer = event;
        add_event_locked(event.zone, p, std::move(e));
    }
    if (event.outcome == xfr::TransferOutcome::Ok && event.served_serial) {
        p.holds = event.served_serial;
        p.holds_at = at;
    } else if (xfr::is_abort(event.outcome) && event.client_serial) {
        p.holds = event.client_serial;
        p.holds_at = at;
    }
    return p.failures_in_a_row;
}

void SecondaryRegistry::record_ixfr_up_to_date(std::string_view zone, std::string_view address,
                                               std::string_view key, dns::Serial serial, TimePoint at) {
    std::lock_guard lock(mutex_);
    SecondaryState& p = peer_locked(zone, address, key, at);
    p.holds = serial;
    p.holds_at = at;
    if (timeline_max_ != 0) {
        TimelineEvent e;
        e.kind = TimelineEvent::Kind::UpToDate;
        e.at = at;
        e.serial = serial;
        add_event_locked(zone, p, std::move(e));
    }
}

void SecondaryRegistry::forget_zone(std::string_view zone) {
    std::lock_guard lock(mutex_);
    zones_.erase(zone_key(zone));
    timelines_.erase(zone_key(zone));
    verified_.erase(zone_key(zone));
    delegations_.erase(zone_key(zone));
}

std::optional<bool> SecondaryRegistry::record_delegation(std::string_view zone, std::string_view parent,
                                                         const DelegationInfo& info, TimePoint at) {
    std::lock_guard lock(mutex_);
    auto previous = record_latest(delegations_[zone_key(zone)], parent, info, at, max_peers_);
    return previous ? std::optional(previous->ok) : std::nullopt;
}

std::vector<SecondaryRegistry::Delegation> SecondaryRegistry::delegations(std::string_view zone) const {
    std::lock_guard lock(mutex_);
    std::vector<Delegation> out;
    const auto z = delegations_.find(zone_key(zone));
    if (z == delegations_.end()) return out;
    for (const auto& [parent, entry] : z->second) out.push_back({parent, entry.first, entry.second});
    return out;
}

std::optional<bool> SecondaryRegistry::record_verification(std::string_view zone, std::string_view address,
                                                           const VerificationInfo& info, TimePoint at) {
    std::lock_guard lock(mutex_);
    auto previous = record_latest(verified_[zone_key(zone)], address, info, at, max_peers_);
    return previous ? std::optional(previous->in_sync) : std::nullopt;
}

json SecondaryRegistry::verifications_json(std::string_view zone) const {
    std::lock_guard lock(mutex_);
    json out = json::array();
    const auto z = verified_.find(zone_key(zone));
    if (z == verified_.end()) return out;
    for (const auto& [address, entry] : z->second) {
        const auto& [v, at] = entry;
        out.push_back({{"address", address},
                       {"at", format_time(at)},
                       {"status", v.status},
                       {"in_sync", v.in_sync},
                       {"summary", v.summary},
                       {"serial", v.serial ? json(v.serial->value()) : json(nullptr)},
                       {"lag_serials", v.lag ? json(*v.lag) : json(nullptr)},
                       {"method", v.method.empty() ? json(nullptr) : json(v.method)},
                       {"differences", v.differences}});
    }
    return out;
}

std::vector<SecondaryRegistry::Verification> SecondaryRegistry::verifications(std::string_view zone) const {
    std::lock_guard lock(mutex_);
    std::vector<Verification> out;
    const auto z = verified_.find(zone_key(zone));
    if (z == verified_.end()) return out;
    out.reserve(z->second.size());
    for (const auto& [address, entry] : z->second) out.push_back({address, entry.first, entry.second});
    return out;
}

SecondaryRegistry::ZoneView SecondaryRegistry::view(std::string_view zone) const {
    const std::string key = zone_key(zone);
    ZoneView out;
    std::lock_guard lock(mutex_);
    if (const auto z = zones_.find(key); z != zones_.end()) {
        out.peers.reserve(z->second.size());
        for (const auto& [id, state] : z->second) out.peers.push_back(state);
    }
    if (const auto z = verified_.find(key); z != verified_.end()) {
        for (const auto& [address, entry] : z->second)
            out.verifications.push_back({address, entry.first, entry.second});
    }
    if (const auto z = delegations_.find(key); z != delegations_.end()) {
        for (const auto& [parent, entry] : z->second)
            out.delegations.push_back({parent, entry.first, entry.second});
    }
    return out;
}

std::vector<SecondaryState> SecondaryRegistry::with_timelines(std::string_view zone) const {
    std::lock_guard lock(mutex_);
    std::vector<SecondaryState> out;
    const std::string key = zone_key(zone);
    const auto it = zones_.find(key);
    if (it == zones_.end()) return out;
    const auto timelines = timelines_.find(key);
    out.reserve(it->second.size());
    for (const auto& [id, state] : it->second) {
        out.push_back(state);
        if (timelines == timelines_.end()) continue;
        if (auto t = timelines->second.find(id); t != timelines->second.end())
            out.back().timeline = t->second;
    }
    return out;
}

std::vector<SecondaryState> SecondaryRegistry::snapshot(std::string_view zone) const {
    std::lock_guard lock(mutex_);
    std::vector<SecondaryState> out;
    const auto it = zones_.find(zone_key(zone));
    if (it == zones_.end()) return out;
    out.reserve(it->second.size());
    for (const auto& [id, state] : it->second) out.push_back(state);
    return out;
}

json SecondaryRegistry::to_json(std::string_view zone, std::optional<dns::Serial> served,
                                std::optional<TimePoint> served_since, TimePoint now) const {
    json list = json::array();
    for (const SecondaryState& p : snapshot(zone)) {
        std::optional<int64_t> lag;
        if (served && p.holds) lag = serial_lag(*served, *p.holds);
        const bool in_sync = lag && *lag == 0;
        json lag_seconds = nullptr;
        if (in_sync) {
            lag_seconds = 0;
        } else if (lag && served_since) {
            // Behind (or ahead, after a forced backwards reload): at least since the served serial came.
            lag_seconds = std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::seconds>(now - *served_since).count());
        }
        json last_transfer = nullptr;
        if (p.last_transfer) {
            last_transfer = xfr::transfer_json(*p.last_transfer);
            last_transfer["at"] = time_json(p.last_transfer_at);
        }
        list.push_back({
            {"address", p.address},
            {"key", p.key},
            {"holds", control::serial_json(p.holds)},
            {"holds_at", time_json(p.holds_at)},
            {"lag_serials", lag ? json(*lag) : json(nullptr)},
            {"lag_seconds", lag_seconds},
            {"in_sync", in_sync},
            {"last_soa_query", time_json(p.last_soa_query)},
            {"last_transfer", last_transfer},
            {"failures_in_a_row", p.failures_in_a_row},
        });
    }
    return list;
}

}  // namespace headwater::server
