// `headwaterctl verify --delegation` and the verify_interval checks of a zone with `parent` servers: asks
// each parent server for the zone's NS (without recursion; for a signed zone its DS too, checked with
// xfr/verify/ParentDsCheck) and checks its referral with
// xfr/verify/DelegationCheck against the apex NS names we serve, the addresses the providers serve for
// them (names outside the zone are asked of the zone's secondaries) and the hidden primary. This file
// does the talking; the rules are DelegationCheck's.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "xfr/verify/DelegationCheck.h"
#include "xfr/verify/ParentDsCheck.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/IpNetwork.h"

namespace headwater::server {

struct DelegationRequest {
    zone::ZoneVersionPtr served;
    std::vector<dns::Endpoint> parents;
    std::vector<dns::Endpoint> providers;       // asked for the addresses of NS names outside the zone
    std::vector<dns::IpAddress> own_addresses;  // the server's listen addresses (not wildcards)
    std::chrono::milliseconds timeout{3000};    // per query
};

struct ParentReport {
    dns::Endpoint address;
    verify::DelegationResult result;  // status "unreachable" when no answer came
    // A signed zone: the DS the parent serves, against the keys that sign our DNSKEY RRset.
    std::optional<verify::ParentDsCheck> ds;
    std::string ds_error;  // the DS question got no usable answer
};

struct DelegationReport {
    std::string zone;
    std::chrono::system_clock::time_point at;
    verify::DelegationExpectation expected;
    std::vector<std::string> unresolved;  // NS names outside the zone no provider answered for
    std::vector<ParentReport> parents;
    bool ok() const;
};

// Checks every parent server of the request (one after the other: they are few).
boost::asio::awaitable<DelegationReport> verify_delegation(DelegationRequest request);

// The control response's "delegation" member (docs/control.md, "verify").
nlohmann::json to_json(const DelegationReport& r);

}  // namespace headwater::server
