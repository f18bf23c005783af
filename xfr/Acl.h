// Transfer access control. A rule may name networks, keys, or both; when it names both, BOTH must
// match (docs/interop.md: PowerDNS once let a valid key bypass the address list). A zone lists its rules;
// the first rule that matches allows the transfer, no match refuses it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zone/dns/IpNetwork.h"

namespace headwater::xfr {

struct AclRule {
    std::string name;
    std::vector<dns::IpNetwork> networks;  // empty: any address
    std::vector<std::string> keys;         // TSIG key names (lower case, absolute); empty: no key needed
};

struct AclDecision {
    bool allowed = false;
    const AclRule* rule = nullptr;  // the rule that matched, when allowed
    std::string reason;             // when refused: which factor failed, for the log line
};

// `key` is the name of the TSIG key that verified the request, if any.
AclDecision check_acl(std::span<const AclRule> rules, const dns::IpAddress& peer,
                      const std::optional<std::string>& key);

}  // namespace headwater::xfr
