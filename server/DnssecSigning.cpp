#include "server/DnssecSigning.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>

#include "server/ControlCommands.h"  // format_time
#include "server/KeyRollover.h"
#include "server/ParentDs.h"
#include "zone/Journal.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::server {

namespace {

// While a key rollover waits for the secondaries: how often the ledger is looked at again.
constexpr std::chrono::seconds kRolloverPoll{2};

std::vector<uint8_t> from_hex(const std::string& text) {
    std::vector<uint8_t> out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
    return out;
}

sign::SigningPolicy signing_policy(const conf::DnssecPolicyConfig& c) {
    sign::SigningPolicy p;
    p.name = c.name;
    p.algorithm = sign::parse_algorithm(c.algorithm).value_or(sign::DnssecAlgorithm::EcdsaP256Sha256);
    p.split_keys = c.keys == "ksk+zsk";
    p.denial = c.denial == "nsec3" ? sign::Denial::Nsec3 : sign::Denial::Nsec;
    p.nsec3.iterations = static_cast<uint16_t>(c.nsec3_iterations);
    p.nsec3.salt = from_hex(c.nsec3_salt);  // checked by the config loader
    p.nsec3.opt_out = c.nsec3_opt_out;
    p.signature_validity = c.signature_validity_s;
    p.signature_refresh = c.signature_refresh_s;
    p.signature_jitter = c.signature_jitter_s;
    p.dnskey_ttl = c.dnskey_ttl_s;
    p.zsk_lifetime = c.zsk_lifetime_s;
    p.propagation_delay = c.propagation_delay_s;
    p.ksk_lifetime = c.ksk_lifetime_s;
    p.parent_ds_ttl = c.parent_ds_ttl_s;
    p.ds_check_interval = c.ds_check_interval_s;
    return p;
}

}  // namespace

std::filesystem::path key_directory(const conf::Config& config, const dns::Name& name) {
    return config.server.state_dir / "keys" / zone::zone_file_stem(name);
}

std::shared_ptr<sign::ZoneSigner> make_zone_signer(const conf::Config& config, const conf::ZoneConfig& zone,
                                                   const dns::Name& name) {
    if (zone.dnssec_policy.empty()) return nullptr;
    for (const auto& p : config.dnssec_policies) {
        if (p.name != zone.dnssec_policy) continue;
        auto signer = std::make_shared<sign::ZoneSigner>(
            name, signing_policy(p), p.keys == "csk", key_directory(config, name),
            [](const std::string& line) { spdlog::info("{}", line); });
        if (!zone.foreign_dnskeys.empty()) {
            // Read before the first signing, so the zone is served with the other signers' keys at once.
            signer->set_foreign_file(zone.foreign_dnskeys);
            if (auto r = signer->reload_foreign_file(zone::Clock::now()); !r)
                spdlog::error("zone={} dnssec multi-signer: {}", name.to_string(), r.error());
        }
        return signer;
    }
    return nullptr;  // the config loader has checked the reference
}

SignatureWatch::SignatureWatch(boost::asio::io_context& io, zone::ZoneStore& store,
                               const conf::Config& config, Changed changed, const SecondaryRegistry* registry)
    : io_(io), timer_(io), store_(store), changed_(std::move(changed)), registry_(registry) {
    usual_warn_within_ = std::chrono::seconds(conf::ZoneConfig{}.signature_warn_s);
    configure(config);
}

void SignatureWatch::configure(const conf::Config& config) {
    std::map<std::string, std::chrono::seconds> warn_within;
    std::map<std::string, ParentAsking> parents;
    std::map<std::string, OtherSigners> signers;
    bool asked_anew = false;
    for (const auto& z : config.zones) {
        // Only the zones that differ from the default: 100k zones need no 100k entries.
        if (std::chrono::seconds(z.signature_warn_s) != usual_warn_within_)
            warn_within[z.name] = std::chrono::seconds(z.signature_warn_s);
        auto name = dns::Name::from_text(z.name);
        if (z.dnssec_policy.empty() || !name) continue;
        const std::string key = name->to_string();
        if (!z.parent.empty()) {
            const auto old = parents_.find(key);
            if (old != parents_.end() && old->second.servers == z.parent) {
                parents[key] = std::move(old->second);
            } else {
                parents[key].servers = z.parent;
                forget_parent_answer(key);
                asked_anew = true;
            }
        } else if (parents_.contains(key)) {
            forget_parent_answer(key);
        }
        if (!z.multi_signer.empty()) {
            const auto interval = std::chrono::seconds(z.multi_signer_interval_s);
            const auto old = signers_.find(key);
            if (old != signers_.end() && old->second.servers == z.multi_signer) {
                signers[key] = std::move(old->second);
                signers[key].interval = interval;
            } else {
                signers[key] = {z.multi_signer, interval, std::nullopt, false, {}};
                asked_anew = true;
            }
        }
    }
    warn_within_ = std::move(warn_within);
    parents_ = std::move(parents);
    signers_ = std::move(signers);
    if (asked_anew && running_) poke();  // a rollover waiting for the parent asks the new servers now
}

// What the zone's signer last heard from the parent servers it had, which are not its servers now: a
// rollover waiting for the DS asks the new ones before it moves on.
void SignatureWatch::forget_parent_answer(const std::string& zone_name) {
    auto name = dns::Name::from_text(zone_name);
    if (!name) return;
    const auto z = store_.find_exact(*name);
    if (!z) return;
    if (auto signer = std::dynamic_pointer_cast<sign::ZoneSigner>(z->settings().signer))
        signer->set_parent_ds({});
}

void SignatureWatch::start() {
    running_ = true;
    check(zone::Clock::now());
}

void SignatureWatch::stop() {
    running_ = false;
    timer_.cancel();
}

void SignatureWatch::poke() {
    rollover_waiting_ = true;
    schedule(zone::Clock::now());
}

void SignatureWatch::check(zone::Clock::time_point now) {
    rollover_wake_.reset();
    rollover_waiting_ = false;
    for (const auto& z : store_.zones()) {
        const std::string& name = z->name_text();
        if (auto signer = std::dynamic_pointer_cast<sign::ZoneSigner>(z->settings().signer);
            signer && z->current()) {
            refresh_foreign(z, *signer, now);
            drive_rollover(*z, *signer, now);
        }
        if (auto due = z->next_signature_refresh(); due && *due <= now) {
            const auto r = z->resign(now, false);
            if (r.outcome == zone::ReloadOutcome::Updated) {
                spdlog::info("zone={} dnssec refresh: serial {} -> {} ({})", name, r.old_serial->value(),
                             r.serial->value(), r.note);
                if (changed_) changed_(*z);
            } else if (r.outcome == zone::ReloadOutcome::Error) {
                spdlog::error("zone={} dnssec refresh failed: {}", name, r.error);
            }
        }
        warn_expiring(*z, now);
    }
    schedule(now);
}

void SignatureWatch::drive_rollover(zone::Zone& z, sign::ZoneSigner& signer, zone::Clock::time_point now) {
    const RolloverPass pass = drive_key_rollover(z, signer, {registry_, changed_}, now, std::nullopt);
    if (pass.wake && (!rollover_wake_ || *pass.wake < *rollover_wake_)) rollover_wake_ = pass.wake;
    rollover_waiting_ = rollover_waiting_ || pass.waiting;
    if (pass.needs_ds) {
        ask_parent(z, signer, now);
    } else if (const auto it = parents_.find(z.name_text()); it != parents_.end()) {
        // Not waiting (any more): the next rollover asks afresh.
        it->second.asked.reset();
        if (signer.parent_ds().answered) signer.set_parent_ds({});
    }
}

// The zone signed again after the other signers' keys changed, and NOTIFYed.
void SignatureWatch::resign_with_foreign(zone::Zone& z, zone::Clock::time_point now) {
    const auto r = z.resign(now, false);
    if (r.outcome == zone::ReloadOutcome::Updated) {
        spdlog::info("zone={} dnssec multi-signer: serial {} -> {} (the other signers' keys changed)",
                     z.name_text(), r.old_serial->value(), r.serial->value());
        if (changed_) changed_(z);
    } else if (r.outcome == zone::ReloadOutcome::Error) {
        spdlog::error("zone={} dnssec multi-signer: re-signing failed: {}", z.name_text(), r.error);
    }
}

// Multi-signer: the foreign_dnskeys file is read again each pass when it changed (an edit counts within a
// minute, or at once with `headwaterctl dnssec foreign`), the other signers' servers asked every
// multi_signer_interval.
// A server that does not answer changes nothing: dropping the keys it serves would make what that
// signer signed bogus.
void SignatureWatch::refresh_foreign(const std::shared_ptr<zone::Zone>& z, sign::ZoneSigner& signer,
                                     zone::Clock::time_point now) {
    const std::string& name = z->name_text();
    if (!signer.foreign_file().empty()) {
        auto r = signer.reload_foreign_file(now, false);
        std::string& last = foreign_errors_[name];
        if (!r && r.error() != last) spdlog::error("zone={} dnssec multi-signer: {}", name, r.error());
        last = r ? std::string() : r.error();
        if (r && *r) resign_with_foreign(*z, now);
    }
    const auto it = signers_.find(name);
    if (it == signers_.end()) return;
    OtherSigners& o = it->second;
    if (o.in_flight || (o.asked && now - *o.asked < o.interval)) return;
    o.in_flight = true;
    o.asked = now;
    auto shared = std::dynamic_pointer_cast<sign::ZoneSigner>(z->settings().signer);
    boost::asio::co_spawn(
        io_,
        fetch_dnskeys(o.servers, z->settings().name, signer.pinned_ksks(), std::chrono::milliseconds(3000)),
        [this, z, shared, asked = o.servers](const std::exception_ptr& e, const FetchedKeys& fetched) {
            // A reconfigure may have changed the other signers meanwhile: what these served is not asked.
            const auto entry = signers_.find(z->name_text());
            if (entry == signers_.end() || entry->second.servers != asked) return;
            OtherSigners& others = entry->second;
            others.in_flight = false;
            if (e || !shared) return;
            if (!fetched.error.empty())
                spdlog::warn("zone={} dnssec multi-signer: {}; the keys those servers gave last stay",
                             z->name_text(), fetched.error);
            if (fetched.by_server.empty()) return;
            for (const auto& [server, keys] : fetched.by_server) others.by_server[server] = keys;
            std::vector<std::vector<uint8_t>> keys;
            for (const auto& [server, served] : others.by_server)
                keys.insert(keys.end(), served.begin(), served.end());
            // Until every server has answered since the start, the keys kept from before stay too.
            if (others.by_server.size() < others.servers.size()) {
                const auto kept = shared->fetched_foreign();
                keys.insert(keys.end(), kept.begin(), kept.end());
            }
            // A reconfigure may have replaced the zone (and its signer) while the servers were asked: the
            // answer belongs to the zone it was asked for, and a replaced one must not journal again.
            if (store_.find_exact(z->settings().name) != z) return;
            const auto at = zone::Clock::now();
            auto changed = shared->set_foreign_keys(sign::ZoneSigner::ForeignSource::Fetched, keys, at);
            if (!changed)
                spdlog::error("zone={} dnssec multi-signer: {}", z->name_text(), changed.error());
            else if (*changed)
                resign_with_foreign(*z, at);
        });
}

void SignatureWatch::ask_parent(const zone::Zone& z, sign::ZoneSigner& signer, zone::Clock::time_point now) {
    const auto it = parents_.find(z.name_text());
    if (it == parents_.end()) return;  // only the operator's `dnssec ds-seen` says
    ParentAsking& p = it->second;
    auto shared = std::dynamic_pointer_cast<sign::ZoneSigner>(z.settings().signer);
    if (p.signer.lock() != shared) {
        // A reconfigure rebuilt the zone with a new signer, which has heard nothing yet: ask now.
        p.signer = shared;
        p.asked.reset();
        p.in_flight = false;
    }
    if (signer.parent_ds().servers.empty()) {
        sign::ParentDs none;
        for (const auto& s : p.servers) none.servers.push_back(s.to_string());
        signer.set_parent_ds(std::move(none));
    }
    const auto interval = std::chrono::seconds(signer.policy().ds_check_interval);
    if (p.in_flight || (p.asked && now - *p.asked < interval)) return;
    auto keys = signer.sep_dnskeys(now);
    if (!keys) return;
    p.in_flight = true;
    p.asked = now;
    boost::asio::co_spawn(
        io_, parent_ds_of(p.servers, z.settings().name, std::move(*keys), std::chrono::milliseconds(3000)),
        [this, name = z.name_text(), shared, asked = p.servers](const std::exception_ptr& e,
                                                                sign::ParentDs seen) {
            // A reconfigure may have changed the zone's parent servers, or its signer, meanwhile: the
            // answer is then not for what it has now.
            const auto entry = parents_.find(name);
            if (entry == parents_.end() || entry->second.servers != asked ||
                entry->second.signer.lock() != shared)
                return;
            entry->second.in_flight = false;
            if (e || !shared) return;
            spdlog::info("zone={} dnssec rollover: the parent servers serve DS for key(s) {}{}", name,
                         seen.tags.empty() ? std::string("none") : sign::tag_list(seen.tags),
                         seen.summary.empty() ? "" : " (" + seen.summary + ")");
            shared->set_parent_ds(std::move(seen));
            poke();
        });
}

// A served signature that expires soon (or has): at start-up and then once a day.
void SignatureWatch::warn_expiring(const zone::Zone& z, zone::Clock::time_point now) {
    const std::string& name = z.name_text();
    const auto status = z.status();
    if (!status.earliest_signature_expiration) return;
    const auto it = warn_within_.find(name);
    const auto within = it != warn_within_.end() ? it->second : usual_warn_within_;
    const auto expires = *status.earliest_signature_expiration;
    if (expires - now > within) return;
    auto& last = warned_[name];
    if (last != zone::Clock::time_point() && now - last < std::chrono::hours(24)) return;
    last = now;
    if (expires <= now)
        spdlog::error(
            "zone={} serves an RRSIG that expired at {}: validating resolvers fail on it; re-sign the "
            "zone",
            name, format_time(expires));
    else
        spdlog::warn(
            "zone={} serves an RRSIG that expires at {} (within signature_warn); re-sign before then", name,
            format_time(expires));
}

void SignatureWatch::schedule(zone::Clock::time_point now) {
    // At least once a minute (the daily warnings, a refresh moved by a reload); sooner when a refresh is.
    auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::minutes(1));
    auto until = [&](zone::Clock::time_point due) {
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::max(due - now, zone::Clock::duration::zero())));
    };
    for (const auto& z : store_.zones())
        if (auto due = z->next_signature_refresh()) until(*due);
    if (rollover_wake_) until(*rollover_wake_);
    for (const auto& [name, o] : signers_)  // the other signers, each at its multi_signer_interval
        if (o.asked) until(*o.asked + o.interval);
    if (rollover_waiting_) until(now + kRolloverPoll);
    timer_.expires_after(wait);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) check(zone::Clock::now());
    });
}

}  // namespace headwater::server
