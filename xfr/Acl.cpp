#include "xfr/Acl.h"

#include <algorithm>

namespace headwater::xfr {

AclDecision check_acl(std::span<const AclRule> rules, const dns::IpAddress& peer,
                      const std::optional<std::string>& key) {
    AclDecision d;
    if (rules.empty()) {
        d.reason = "no allow_transfer rule for this zone";
        return d;
    }
    bool some_address_matched = false;
    for (const AclRule& rule : rules) {
        const bool address_ok =
            rule.networks.empty() || std::any_of(rule.networks.begin(), rule.networks.end(),
                                                 [&](const dns::IpNetwork& n) { return n.contains(peer); });
        const bool key_ok = rule.keys.empty() ||
                            (key && std::find(rule.keys.begin(), rule.keys.end(), *key) != rule.keys.end());
        if (address_ok && key_ok) {
            d.allowed = true;
            d.rule = &rule;
            return d;
        }
        some_address_matched = some_address_matched || address_ok;
    }
    if (!some_address_matched)
        d.reason = "address " + peer.to_string() + " not in any allow_transfer rule";
    else
        d.reason = key ? "key " + *key + " not allowed for address " + peer.to_string()
                       : "address " + peer.to_string() + " matches, but the rule requires a TSIG key";
    return d;
}

}  // namespace headwater::xfr
