#include "server/ZoneSet.h"

#include "server/DnssecSigning.h"
#include "tsig/Hmac.h"
#include "xfr/TransferPlan.h"
#include "zone/SerialPolicy.h"

namespace headwater::server {

SharedString zone_state_dir(const conf::Config& config) {
    return (config.server.state_dir / "zones").native();
}

std::shared_ptr<zone::Zone> make_zone(const conf::Config& config, const conf::ZoneConfig& zc, dns::Name name,
                                      const SharedString& state_dir) {
    zone::ZoneSettings settings;
    settings.file = zc.file;
    settings.state_dir = state_dir;
    settings.serial_policy =
        zone::parse_serial_policy(zc.serial_policy).value_or(zone::SerialPolicy::Increment);
    settings.journal_bounds.max_changesets = zc.journal_max_changesets;
    settings.journal_bounds.max_bytes = zc.journal_max_bytes;
    settings.signer = make_zone_signer(config, zc, name);
    settings.zonefile_sync = std::chrono::milliseconds(zc.zonefile_sync_ms);
    settings.name = std::move(name);
    return std::make_shared<zone::Zone>(std::move(settings));
}

Result<std::shared_ptr<const tsig::KeyStore>, std::string> build_keys(const conf::Config& config) {
    auto keys = std::make_shared<tsig::KeyStore>();
    for (const auto& kc : config.keys) {
        auto key = tsig::Key::create(kc.name, kc.algorithm,
                                     {reinterpret_cast<const uint8_t*>(kc.secret.data()), kc.secret.size()});
        if (!key) return unexpected("key " + kc.name + ": " + key.error());
        if (!tsig::hmac_available(key->algorithm()))
            return unexpected("key " + kc.name + ": " + kc.algorithm + " is not available in this OpenSSL");
        if (auto added = keys->add(std::move(*key)); !added)
            return unexpected("key " + kc.name + ": " + added.error());
    }
    return std::shared_ptr<const tsig::KeyStore>(std::move(keys));
}

std::unordered_map<std::string, std::vector<xfr::AclRule>> transfer_acls(const conf::Config& config,
                                                                         bool update) {
    std::unordered_map<std::string, std::vector<xfr::AclRule>> out;
    for (const auto& zc : config.zones) {
        std::vector<xfr::AclRule> rules;
        for (const auto& acl_name : update ? zc.allow_update : zc.allow_transfer) {
            for (const auto& acl : config.acls) {
                if (acl.name != acl_name) continue;
                xfr::AclRule rule{acl.name, acl.networks, acl.keys, {}, acl.tls_pins, acl.tls_names, {}, {}};
                for (const auto& t : acl.transports)
                    rule.transports.push_back(t == "udp"   ? xfr::Transport::Udp
                                              : t == "tcp" ? xfr::Transport::Tcp
                                                           : xfr::Transport::Tls);
                if (update) {
                    rule.update_names = acl.update_names;
                    for (const auto& t : acl.update_types)
                        rule.update_types.push_back(dns::to_u16(*dns::rrtype_from_string(t)));
                }
                rules.push_back(std::move(rule));
            }
        }
        // No rules: no entry, which the Responder reads the same way (100k zones, no 100k empty lists).
        if (!rules.empty()) out[dns::Name::from_text(zc.name).value().key()] = std::move(rules);
    }
    return out;
}

xfr::ResponderOptions responder_options(const conf::Config& config) {
    xfr::ResponderOptions options;
    for (const auto& zc : config.zones)  // only the zones that differ from the default
        if (zc.max_ixfr_ratio != xfr::kDefaultMaxIxfrRatio)
            options.max_ixfr_ratio[dns::Name::from_text(zc.name).value().key()] = zc.max_ixfr_ratio;
    options.update_acls = transfer_acls(config, true);
    return options;
}

}  // namespace headwater::server
