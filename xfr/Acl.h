// Transfer access control. A rule may name networks, keys, transports and client certificates; every
// factor it names must match (docs/interop.md: PowerDNS once let a valid key bypass the address list).
// A zone lists its rules; the first rule that matches allows the transfer, no match refuses it, and the
// refusal names the factor that failed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xfr/Peer.h"
#include "zone/dns/IpNetwork.h"

namespace headwater::xfr {

struct AclRule {
    std::string name;
    std::vector<dns::IpNetwork> networks;  // empty: any address
    std::vector<std::string> keys;         // TSIG key names (lower case, absolute); empty: no key needed
    std::vector<Transport> transports;     // empty: any transport
    // A client certificate (so TLS) whose key has one of these pins, or, verified against
    // server.tls_client_ca, one of these names. Both empty: no certificate needed.
    std::vector<std::string> tls_pins;   // base64 SHA-256 of the SubjectPublicKeyInfo (RFC 7858 §4.2)
    std::vector<std::string> tls_names;  // lower case, no trailing dot; "*.example.net" matches one label
    // Dynamic updates (allow_update) only: the names (patterns relative to the zone apex, see
    // update_name_matches in xfr/Update.h) and types the rule lets a client change. Empty: any.
    std::vector<std::string> update_names;
    std::vector<uint16_t> update_types;

    bool needs_certificate() const { return !tls_pins.empty() || !tls_names.empty(); }
};

struct AclDecision {
    bool allowed = false;
    const AclRule* rule = nullptr;  // the rule that matched, when allowed
    std::string reason;             // when refused: which factor failed, for the log line
};

// `key` is the name of the TSIG key that verified the request, if any.
AclDecision check_acl(std::span<const AclRule> rules, const Peer& peer,
                      const std::optional<std::string>& key);

// Whether a certificate name matches a rule's name: equal without case, or a "*." pattern standing
// for exactly one leftmost label (RFC 6125 §6.4.3, the only wildcard form we accept).
bool certificate_name_matches(std::string_view pattern, std::string_view name);

}  // namespace headwater::xfr
