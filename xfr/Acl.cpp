#include "xfr/Acl.h"

#include <algorithm>

namespace headwater::xfr {

std::string_view transport_name(Transport t) {
    switch (t) {
        case Transport::Udp:
            return "udp";
        case Transport::Tcp:
            return "tcp";
        case Transport::Tls:
            return "tls";
    }
    return "-";
}

namespace {

bool equal_no_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

std::string transports_text(const std::vector<Transport>& transports) {
    std::string out;
    for (const Transport t : transports) out += (out.empty() ? "" : ", ") + std::string(transport_name(t));
    return out;
}

// Whether the certificate satisfies the rule's tls_pins or tls_names; empty when it does, otherwise why
// not.
std::string certificate_failure(const AclRule& rule, const Peer& peer) {
    const std::string at = "address " + peer.address.to_string() + " matches, but ";
    if (peer.transport != Transport::Tls)
        return at + "the rule requires a client certificate, which only TLS carries (the request came over " +
               std::string(transport_name(peer.transport)) + ")";
    if (!peer.certificate) return at + "the rule requires a client certificate and none was presented";
    const ClientCertificate& cert = *peer.certificate;
    if (std::find(rule.tls_pins.begin(), rule.tls_pins.end(), cert.spki_pin) != rule.tls_pins.end())
        return {};
    const auto named = std::find_if(cert.names.begin(), cert.names.end(), [&](const std::string& n) {
        return std::any_of(rule.tls_names.begin(), rule.tls_names.end(),
                           [&](const std::string& p) { return certificate_name_matches(p, n); });
    });
    if (named != cert.names.end() && cert.verified) return {};
    if (named != cert.names.end())
        return at + "the client certificate for " + *named + " did not verify against server.tls_client_ca";
    return at + "the client certificate (pin " + cert.spki_pin + ", name " +
           (cert.names.empty() ? std::string("-") : cert.names.front()) +
           ") matches neither tls_pins nor tls_names of the rule";
}

// The first factor besides the address that the rule refuses, in the order transport, certificate, key;
// empty when it admits the request.
std::string rule_failure(const AclRule& rule, const Peer& peer, const std::optional<std::string>& key) {
    if (!rule.transports.empty() &&
        std::find(rule.transports.begin(), rule.transports.end(), peer.transport) == rule.transports.end())
        return "address " + peer.address.to_string() + " matches, but the rule allows " +
               transports_text(rule.transports) + " only (the request came over " +
               std::string(transport_name(peer.transport)) + ")";
    if (rule.needs_certificate()) {
        if (std::string why = certificate_failure(rule, peer); !why.empty()) return why;
    }
    if (!rule.keys.empty() &&
        !(key && std::find(rule.keys.begin(), rule.keys.end(), *key) != rule.keys.end()))
        return key ? "key " + *key + " not allowed for address " + peer.address.to_string()
                   : "address " + peer.address.to_string() + " matches, but the rule requires a TSIG key";
    return {};
}

}  // namespace

bool certificate_name_matches(std::string_view pattern, std::string_view name) {
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        const std::size_t dot = name.find('.');
        return dot != std::string_view::npos && dot > 0 && equal_no_case(pattern.substr(1), name.substr(dot));
    }
    return equal_no_case(pattern, name);
}

AclDecision check_acl(std::span<const AclRule> rules, const Peer& peer,
                      const std::optional<std::string>& key) {
    AclDecision d;
    if (rules.empty()) {
        d.reason = "no allow_transfer rule for this zone";
        return d;
    }
    // The refusal tells about the first rule whose networks admit the address: the rule the operator
    // meant for this peer, most likely.
    std::optional<std::string> first_failure;
    for (const AclRule& rule : rules) {
        const bool address_ok =
            rule.networks.empty() ||
            std::any_of(rule.networks.begin(), rule.networks.end(),
                        [&](const dns::IpNetwork& n) { return n.contains(peer.address); });
        if (!address_ok) continue;
        std::string why = rule_failure(rule, peer, key);
        if (why.empty()) {
            d.allowed = true;
            d.rule = &rule;
            return d;
        }
        if (!first_failure) first_failure = std::move(why);
    }
    d.reason = first_failure ? std::move(*first_failure)
                             : "address " + peer.address.to_string() + " not in any allow_transfer rule";
    return d;
}

}  // namespace headwater::xfr
