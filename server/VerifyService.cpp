#include "server/VerifyService.h"

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

#include "server/AsioSupport.h"
#include "server/ControlProtocol.h"
#include "server/SecondaryRegistry.h"

namespace headwater::server {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kRecentChangesets = 10;  // journal entries whose names are sampled as "changed"
constexpr std::chrono::seconds kFirstCheckDelay{5};

// A request's list of server addresses (`member`, each "addr[:port]", port 53 by default); nullopt when the
// member is absent or null (the configured list stays). `what` names one entry in an error.
Result<std::optional<std::vector<dns::Endpoint>>, std::string> endpoints_member(const nlohmann::json& request,
                                                                                std::string_view member,
                                                                                std::string_view what) {
    const auto it = request.find(member);
    if (it == request.end() || it->is_null()) return std::optional<std::vector<dns::Endpoint>>();
    const std::string malformed = "malformed request: \"" + std::string(member) + "\" must ";
    if (!it->is_array()) return unexpected(malformed + "be an array");
    std::vector<dns::Endpoint> out;
    for (const auto& s : *it) {
        if (!s.is_string()) return unexpected(malformed + "hold strings");
        auto ep = dns::Endpoint::parse(s.get<std::string>(), 53);
        if (!ep) return unexpected(std::string(what) + " \"" + s.get<std::string>() + "\": " + ep.error());
        out.push_back(*ep);
    }
    return std::optional(std::move(out));
}

// The journal's newest changesets, oldest first, leading to the served serial.
std::vector<zone::Changeset> recent_changes(const zone::Zone& z, dns::Serial served) {
    const auto* journal = z.journal();
    if (journal == nullptr) return {};
    auto entries = journal->entries();
    // Dynamic updates may have journaled entries past the served serial (not durable yet): left out.
    while (!entries.empty() && entries.back().to != served) entries.pop_back();
    if (entries.empty()) return {};
    const std::size_t first = entries.size() > kRecentChangesets ? entries.size() - kRecentChangesets : 0;
    auto chain = journal->chain(entries[first].from, served);
    return chain ? std::move(*chain) : std::vector<zone::Changeset>{};
}

// The caller leaves out zones with nothing set (verify_zones).
std::unordered_map<std::string, VerifyZone> by_zone_key(std::vector<VerifyZone> zones) {
    std::unordered_map<std::string, VerifyZone> out;
    out.reserve(zones.size());
    for (auto& z : zones) {
        std::string key = SecondaryRegistry::zone_key(z.zone.to_string());
        out.insert_or_assign(std::move(key), std::move(z));
    }
    return out;
}

}  // namespace

bool VerifyZone::same_as(const VerifyZone& o) const {
    const auto same_key = [](const std::shared_ptr<const tsig::Key>& a,
                             const std::shared_ptr<const tsig::Key>& b) {
        if (!a || !b) return !a && !b;
        const auto sa = a->secret();
        const auto sb = b->secret();
        return a->name() == b->name() && a->algorithm() == b->algorithm() &&
               std::equal(sa.begin(), sa.end(), sb.begin(), sb.end());
    };
    return zone == o.zone && secondaries == o.secondaries && notify_targets == o.notify_targets &&
           same_key(key, o.key) && interval == o.interval && sample == o.sample && parents == o.parents &&
           signature_warn == o.signature_warn;
}

VerifyService::VerifyService(const zone::ZoneStore& store, std::shared_ptr<const tsig::KeyStore> keys,
                             std::vector<VerifyZone> zones, std::vector<dns::IpAddress> own_addresses,
                             SecondaryRegistry& registry, ReportSink sink)
    : store_(store),
      keys_(std::move(keys)),
      zones_(by_zone_key(std::move(zones))),
      own_addresses_(std::move(own_addresses)),
      registry_(registry),
      sink_(std::move(sink)) {}

VerifyService::~VerifyService() {
    stop();
}

void VerifyService::start() {
    if (thread_.joinable()) return;
    work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor());
    {
        const std::lock_guard lock(mutex_);
        spawn_schedules_locked();
    }
    thread_ = std::thread([this] { io_.run(); });
}

void VerifyService::spawn_schedules_locked() {
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    for (const auto& [key, z] : zones_) {
        if (z.interval.count() > 0 && !z.secondaries.empty())
            asio::co_spawn(io_, schedule(z, generation), asio::detached);
    }
}

void VerifyService::replace(std::vector<VerifyZone> zones, std::shared_ptr<const tsig::KeyStore> keys) {
    auto by_key = by_zone_key(std::move(zones));
    const std::lock_guard lock(mutex_);
    const bool same =
        by_key.size() == zones_.size() && std::all_of(by_key.begin(), by_key.end(), [&](const auto& kv) {
            const auto it = zones_.find(kv.first);
            return it != zones_.end() && it->second.same_as(kv.second);
        });
    zones_ = std::move(by_key);
    keys_ = std::move(keys);
    if (same) return;  // the running checks hold equal settings: they go on undisturbed
    generation_.fetch_add(1, std::memory_order_acq_rel);
    // Spawned from this thread onto the verify thread's io_context (co_spawn posts), or kept for start().
    if (thread_.joinable()) spawn_schedules_locked();
}

std::pair<VerifyZone, std::shared_ptr<const tsig::KeyStore>> VerifyService::settings_of(
    const dns::Name& zone) const {
    const std::lock_guard lock(mutex_);
    VerifyZone vz;
    vz.zone = zone;
    if (auto it = zones_.find(SecondaryRegistry::zone_key(zone.to_string())); it != zones_.end())
        vz = it->second;
    return {std::move(vz), keys_};
}

void VerifyService::stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    io_.stop();
    thread_.join();
}

Result<VerifyRequest, std::string> VerifyService::prepare(const VerifyZone& vz) const {
    auto z = store_.find_exact(vz.zone);
    if (!z) return unexpected("unknown zone \"" + vz.zone.to_string() + "\"");
    VerifyRequest req;
    req.served = z->current();
    if (!req.served) {
        // Nothing to compare the secondaries with: the zone's file has not loaded since start-up.
        const std::string why = z->status().last_error;
        return unexpected("the zone is not served (its file has not loaded" +
                          (why.empty() ? std::string(")") : "): " + why));
    }
    req.recent = recent_changes(*z, req.served->serial());
    req.secondaries = vz.secondaries.empty() ? vz.notify_targets : vz.secondaries;
    req.key = vz.key;
    req.options.sample = vz.sample;
    req.options.signature_warn = vz.signature_warn;
    return req;
}

void VerifyService::record(const VerifyReport& report, bool scheduled) {
    for (const auto& s : report.secondaries) {
        VerificationInfo info;
        info.status = std::string(to_string(s.status));
        info.in_sync = s.in_sync();
        info.summary = s.summary;
        const SoaCheck& soa = s.udp.serial ? s.udp : s.tcp;
        info.serial = soa.serial;
        info.lag = soa.lag;
        info.method = s.method;
        info.differences = s.differences;
        const std::string address = s.address.to_string();
        // A drift is news twice: when it starts and when it ends (not at every check in between). The
        // registry holds the previous result: the first one counts as coming after an in-sync one.
        const bool was_in_sync =
            registry_.record_verification(report.zone, address, info, report.at).value_or(true);
        if (was_in_sync && !s.in_sync()) {
            spdlog::warn("verify zone={} secondary={} drift starts: {}", report.zone, address, s.summary);
            if (drift_sink_) drift_sink_(report.zone, address, true, s.summary);
        } else if (!was_in_sync && s.in_sync()) {
            spdlog::warn("verify zone={} secondary={} drift ends: {}", report.zone, address, s.summary);
            if (drift_sink_) drift_sink_(report.zone, address, false, s.summary);
        } else {
            spdlog::debug("verify zone={} secondary={} {}", report.zone, address, s.summary);
        }
    }
    if (sink_) sink_(report, scheduled);
}

void VerifyService::record(const DelegationReport& report) {
    for (const auto& p : report.parents) {
        DelegationInfo info{p.result.status, p.result.ok, {}};
        for (const auto& problem : p.result.problems)
            info.summary += (info.summary.empty() ? "" : "; ") + problem;
        const std::string parent = p.address.to_string();
        // Like a drift: news when a problem starts and when it ends, not at every check.
        const bool was_ok = registry_.record_delegation(report.zone, parent, info, report.at).value_or(true);
        if (was_ok && !info.ok)
            spdlog::warn("delegation zone={} parent={} problem starts: {}: {}", report.zone, parent,
                         info.status, info.summary);
        else if (!was_ok && info.ok)
            spdlog::warn("delegation zone={} parent={} problem ends: ok", report.zone, parent);
        else
            spdlog::debug("delegation zone={} parent={} {}", report.zone, parent, info.status);
    }
}

nlohmann::json VerifyService::verify_delegation_now(VerifyZone vz, const nlohmann::json& request) {
    if (auto parents = endpoints_member(request, "parents", "parent"); !parents)
        return control::error_response(parents.error());
    else if (*parents)
        vz.parents = std::move(**parents);
    if (vz.parents.empty())
        return control::error_response(
            "no parent servers to ask: configure the zone's parent, or name them with --parent");
    auto req = prepare(vz);
    if (!req) return control::error_response(req.error());
    DelegationRequest dreq{req->served, vz.parents, req->secondaries, own_addresses_};
    if (auto it = request.find("timeout_ms"); it != request.end() && it->is_number_unsigned())
        dreq.timeout = std::chrono::milliseconds(std::clamp<uint64_t>(it->get<uint64_t>(), 10, 600000));
    if (!thread_.joinable()) return control::error_response("verification is not running");
    auto future = asio::co_spawn(io_, verify_delegation(std::move(dreq)), asio::use_future);
    const DelegationReport report = future.get();
    record(report);
    return {{"ok", true}, {"zone", report.zone}, {"in_sync", report.ok()}, {"delegation", to_json(report)}};
}

asio::awaitable<void> VerifyService::schedule(VerifyZone vz, uint64_t generation) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // The first check soon after start-up (the secondaries may have missed changes while we were down),
    // then one per interval.
    auto wait = std::min<std::chrono::seconds>(vz.interval, kFirstCheckDelay);
    for (;;) {
        timer.expires_after(wait);
        if (auto [ec] = co_await timer.async_wait(kTuple); ec) co_return;
        if (generation_.load(std::memory_order_acquire) != generation)
            co_return;  // a reconfigure replaced it
        wait = vz.interval;
        auto req = prepare(vz);
        if (!req) {
            spdlog::warn("verify zone={}: {}", vz.zone.to_string(), req.error());
            continue;
        }
        try {
            const auto served = req->served;
            auto report = co_await verify_secondaries(std::move(*req));
            record(report, true);
            if (!vz.parents.empty()) {
                DelegationRequest dreq{served, vz.parents, vz.secondaries, own_addresses_};
                record(co_await verify_delegation(std::move(dreq)));
            }
        } catch (const std::exception& e) {  // a bug: keep checking the other zones and later
            spdlog::error("verify zone={}: internal error: {}", vz.zone.to_string(), e.what());
        }
    }
}

nlohmann::json VerifyService::verify(const std::string& zone, const nlohmann::json& request) {
    auto name = dns::Name::from_text(zone);
    if (!name) return control::error_response("bad zone name \"" + zone + "\"");
    auto [vz, keys] = settings_of(*name);
    if (auto secondaries = endpoints_member(request, "secondaries", "secondary"); !secondaries)
        return control::error_response(secondaries.error());
    else if (*secondaries)
        vz.secondaries = std::move(**secondaries);
    if (auto it = request.find("key"); it != request.end() && !it->is_null()) {
        if (!it->is_string()) return control::error_response("malformed request: \"key\" must be a string");
        auto key_name = dns::Name::from_text(it->get<std::string>());
        vz.key = key_name ? keys->find(*key_name) : nullptr;
        if (!vz.key) return control::error_response("unknown key \"" + it->get<std::string>() + "\"");
    }
    if (auto it = request.find("delegation"); it != request.end() && !it->is_null()) {
        if (!it->is_boolean())
            return control::error_response("malformed request: \"delegation\" must be a boolean");
        if (it->get<bool>()) return verify_delegation_now(vz, request);
    }
    auto req = prepare(vz);
    if (!req) return control::error_response(req.error());
    if (req->secondaries.empty())
        return control::error_response(
            "no secondaries to check: configure the zone's secondaries (or NOTIFY "
            "targets), or name them with --secondary");
    if (auto it = request.find("sample"); it != request.end() && !it->is_null()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() > 100000)
            return control::error_response(
                "malformed request: \"sample\" must be an integer from 0 to 100000");
        req->options.sample = it->get<std::size_t>();
    }
    if (auto it = request.find("timeout_ms"); it != request.end() && !it->is_null()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() < 10 || it->get<uint64_t>() > 600000)
            return control::error_response("malformed request: \"timeout_ms\" must be from 10 to 600000");
        req->options.timeout = std::chrono::milliseconds(it->get<uint64_t>());
    }
    if (auto it = request.find("transfer"); it != request.end() && !it->is_null()) {
        if (!it->is_boolean())
            return control::error_response("malformed request: \"transfer\" must be a boolean");
        req->options.transfer = it->get<bool>();
    }
    if (!thread_.joinable()) return control::error_response("verification is not running");
    auto future = asio::co_spawn(io_, verify_secondaries(std::move(*req)), asio::use_future);
    const VerifyReport report = future.get();
    record(report, false);
    auto out = to_json(report);
    out["ok"] = true;
    return out;
}

}  // namespace headwater::server
