#include "server/LabService.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "server/ControlProtocol.h"
#include "server/TransferLog.h"

namespace headwater::server {

using nlohmann::json;
using Clock = std::chrono::system_clock;

namespace {

// Each peer keeps this many timeline events (the oldest quarter goes when full).
constexpr std::size_t kTimelineEvents = 2000;

Clock::time_point from_ms(uint64_t ms) {
    return Clock::time_point(std::chrono::milliseconds(ms));
}

std::string string_member(const json& request, const char* name) {
    const auto it = request.find(name);
    return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string_view kind_name(TimelineEvent::Kind k) {
    switch (k) {
        case TimelineEvent::Kind::SoaQuery:
            return "soa";
        case TimelineEvent::Kind::Transfer:
            return "transfer";
        case TimelineEvent::Kind::UpToDate:
            return "up-to-date";
        case TimelineEvent::Kind::Notify:
            return "notify";
    }
    return "soa";
}

json event_json(const TimelineEvent& e, Clock::time_point since) {
    json j = {{"at", format_time_ms(e.at)},
              {"t_ms", std::chrono::duration_cast<std::chrono::milliseconds>(e.at - since).count()},
              {"kind", kind_name(e.kind)}};
    if (!e.lab.empty()) j["lab"] = e.lab;
    switch (e.kind) {
        case TimelineEvent::Kind::SoaQuery:
            j["transport"] = e.transport;
            j["outcome"] = e.outcome;
            break;
        case TimelineEvent::Kind::Transfer: {
            const xfr::TransferEvent& t = *e.transfer;
            j["transfer"] = xfr::transfer_json(t);
            j["outcome"] = std::string(xfr::outcome_kind(t.outcome));
            if (!j.contains("lab") && t.detail.rfind("lab: ", 0) == 0) j["lab"] = t.detail;
            break;
        }
        case TimelineEvent::Kind::UpToDate:
            j["serial"] = control::serial_json(e.serial);
            j["outcome"] = "up-to-date";
            break;
        case TimelineEvent::Kind::Notify:
            j["serial"] = control::serial_json(e.serial);
            j["outcome"] = e.outcome;
            break;
    }
    return j;
}

// What the events say the peer did: the counts, the retry gaps and the fallbacks.
json summary_json(const std::vector<const TimelineEvent*>& events) {
    std::size_t soa_udp = 0, soa_tcp = 0, notifies = 0, ok = 0, refused = 0, aborted = 0, axfr = 0, ixfr = 0;
    std::size_t ixfr_to_axfr = 0, udp_to_tcp = 0;
    json gaps = json::array();
    std::optional<Clock::time_point> last_attempt;
    bool failed_ixfr = false, udp_soa_faulted = false;
    for (const TimelineEvent* e : events) {
        if (e->kind == TimelineEvent::Kind::Notify) ++notifies;
        if (e->kind == TimelineEvent::Kind::SoaQuery) {
            if (e->transport == "udp") {
                ++soa_udp;
                udp_soa_faulted = udp_soa_faulted || e->outcome != "answered";
            } else {
                ++soa_tcp;
                if (udp_soa_faulted) ++udp_to_tcp;  // asked again over TCP after a TC or a silence
                udp_soa_faulted = false;
            }
        }
        if (e->kind != TimelineEvent::Kind::Transfer) continue;
        const xfr::TransferEvent& t = *e->transfer;
        const bool asked_ixfr = t.type == dns::RRType::IXFR;
        (asked_ixfr ? ixfr : axfr) += 1;
        if (t.outcome == xfr::TransferOutcome::Ok)
            ++ok;
        else if (xfr::is_refusal(t.outcome))
            ++refused;
        else
            ++aborted;
        if (!asked_ixfr && failed_ixfr) ++ixfr_to_axfr;  // an AXFR right after a failed IXFR: the fallback
        failed_ixfr = asked_ixfr && t.outcome != xfr::TransferOutcome::Ok;
        if (last_attempt)
            gaps.push_back(
                std::chrono::duration_cast<std::chrono::milliseconds>(e->at - *last_attempt).count());
        last_attempt = e->at;
    }
    return {{"notifies", notifies},     {"soa_udp", soa_udp},    {"soa_tcp", soa_tcp},
            {"transfers_ok", ok},       {"refused", refused},    {"aborted", aborted},
            {"axfr_requests", axfr},    {"ixfr_requests", ixfr}, {"ixfr_to_axfr", ixfr_to_axfr},
            {"udp_to_tcp", udp_to_tcp}, {"retry_gaps_ms", gaps}};
}

}  // namespace

Result<xfr::FaultSet, std::string> lab_faults(const conf::Config& config, uint64_t now_ms) {
    xfr::FaultSet set;
    for (std::size_t i = 0; i < config.labs.size(); ++i) {
        const conf::LabConfig& lc = config.labs[i];
        const std::string where = "lab[" + std::to_string(i) + "]";
        auto peer = xfr::FaultPeer::parse(lc.peer);
        if (!peer) return unexpected(where + ".peer: " + peer.error());
        auto fault = xfr::parse_fault(lc.fault);
        if (!fault) return unexpected(where + ".fault: " + fault.error());
        set.set(xfr::FaultEntry{lc.zone, *peer, *fault, now_ms});
    }
    return set;
}

json lab_disabled_response() {
    return control::error_response(
        "lab mode is off: set server.lab = true in the configuration to use \"lab\" (never on a production "
        "primary)");
}

json faults_json(const xfr::FaultSet& set) {
    json out = json::array();
    for (const auto& e : set.entries())
        out.push_back({{"zone", e.zone},
                       {"peer", e.peer.text()},
                       {"fault", e.fault.text()},
                       {"since", format_time_ms(from_ms(e.since_ms))}});
    return out;
}

LabService::LabService(const zone::ZoneStore& store, SecondaryRegistry& registry, xfr::FaultSet initial)
    : store_(store), registry_(registry) {
    registry_.enable_timeline(kTimelineEvents);
    board_->replace(std::make_shared<const xfr::FaultSet>(std::move(initial)));
}

json LabService::handle(const json& request, uint64_t now_ms) {
    const std::string action = string_member(request, "action");
    if (action == "set") return set(request, now_ms);
    if (action == "clear") return clear(request);
    if (action == "list") return list(request);
    if (action == "report") return report(request, now_ms);
    return control::error_response("lab: unknown action \"" + action +
                                   "\" (known: set, clear, list, report)");
}

Result<std::string, std::string> LabService::zone_of(const json& request) const {
    const std::string text = string_member(request, "zone");
    if (text.empty()) return unexpected(std::string("a zone name is required"));
    auto name = dns::Name::from_text(text);
    if (!name) return unexpected("zone \"" + text + "\": " + name.error());
    auto zone = store_.find_exact(*name);
    if (!zone) return unexpected("zone \"" + text + "\" is not served here");
    return SecondaryRegistry::zone_key(zone->name_text());
}

json LabService::set(const json& request, uint64_t now_ms) {
    auto zone = zone_of(request);
    if (!zone) return control::error_response(zone.error());
    auto peer = xfr::FaultPeer::parse(string_member(request, "peer"));
    if (!peer) return control::error_response(peer.error());
    auto fault = xfr::parse_fault(string_member(request, "fault"));
    if (!fault) return control::error_response(fault.error());
    std::lock_guard lock(update_mutex_);
    auto next = std::make_shared<xfr::FaultSet>(*board_->current());
    next->set(xfr::FaultEntry{*zone, *peer, *fault, now_ms});
    board_->replace(next);
    spdlog::warn("lab: fault set: zone={} peer={} fault=\"{}\"", *zone, peer->text(), fault->text());
    json out = control::ok_response();
    out["faults"] = faults_json(*next);
    return out;
}

json LabService::clear(const json& request) {
    std::string zone;
    if (!string_member(request, "zone").empty()) {
        auto z = zone_of(request);
        if (!z) return control::error_response(z.error());
        zone = *z;
    }
    std::optional<xfr::FaultPeer> peer;
    if (const std::string text = string_member(request, "peer"); !text.empty()) {
        auto p = xfr::FaultPeer::parse(text);
        if (!p) return control::error_response(p.error());
        peer = *p;
    }
    std::lock_guard lock(update_mutex_);
    auto next = std::make_shared<xfr::FaultSet>(*board_->current());
    const std::size_t removed = next->clear(zone, peer);
    board_->replace(next);
    spdlog::warn("lab: {} fault(s) cleared (zone={} peer={})", removed, zone.empty() ? "*" : zone,
                 peer ? peer->text() : "*");
    json out = control::ok_response();
    out["cleared"] = removed;
    out["faults"] = faults_json(*next);
    return out;
}

json LabService::list(const json&) const {
    json out = control::ok_response();
    out["faults"] = faults_json(*board_->current());
    return out;
}

json LabService::report(const json& request, uint64_t now_ms) const {
    auto zone = zone_of(request);
    if (!zone) return control::error_response(zone.error());
    const auto set = board_->current();
    // The timeline starts when the zone's first current fault was set, or at "since_ms" when given (a
    // report after `lab clear`); with neither, everything recorded.
    uint64_t since_ms = 0;
    std::vector<const xfr::FaultEntry*> faults;
    for (const auto& e : set->entries()) {
        if (e.zone != *zone) continue;
        faults.push_back(&e);
        since_ms = since_ms == 0 ? e.since_ms : std::min(since_ms, e.since_ms);
    }
    if (const auto it = request.find("since_ms"); it != request.end() && it->is_number_unsigned())
        since_ms = it->get<uint64_t>();
    std::optional<xfr::FaultPeer> only;
    if (const std::string text = string_member(request, "peer"); !text.empty()) {
        auto p = xfr::FaultPeer::parse(text);
        if (!p) return control::error_response(p.error());
        only = *p;
    }
    const auto since = from_ms(since_ms);
    json peers = json::array();
    for (const SecondaryState& s : registry_.with_timelines(*zone)) {
        auto address = dns::IpAddress::parse(s.address);
        if (only && (!address || !only->matches(*address, s.key))) continue;
        std::vector<const TimelineEvent*> events;
        for (const auto& e : s.timeline)
            if (e.at >= since) events.push_back(&e);
        if (events.empty()) continue;
        json applied = json::array();
        for (const auto* f : faults)
            if (address && f->peer.matches(*address, s.key)) applied.push_back(f->fault.text());
        json list = json::array();
        for (const auto* e : events) list.push_back(event_json(*e, since));
        peers.push_back({{"address", s.address},
                         {"key", s.key},
                         {"faults", applied},
                         {"holds", control::serial_json(s.holds)},
                         {"summary", summary_json(events)},
                         {"events", list}});
    }
    json out = control::ok_response();
    out["zone"] = *zone;
    out["since"] = format_time_ms(since);
    out["now"] = format_time_ms(from_ms(now_ms));
    out["duration_ms"] = now_ms > since_ms ? now_ms - since_ms : 0;
    auto z = store_.find_exact(dns::Name::from_text(*zone).value());
    const auto version = z ? z->current() : nullptr;
    out["served"] = version ? json(version->serial().value()) : json(nullptr);
    out["faults"] = faults_json(*set);
    out["peers"] = peers;
    out["verified"] = registry_.verifications_json(*zone);
    return out;
}

}  // namespace headwater::server
