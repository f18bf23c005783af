// The delegation check: does a parent zone's referral for our zone (RFC 1034 §4.3.2 step 3b: the NS
// RRset at the cut in the authority section, glue in the additional section) list exactly the zone's
// apex NS names — every provider and not the hidden primary — with glue matching the addresses those
// names have? Pure code: the caller asks the parent's servers and the providers and hands the parsed
// answers in.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/Message.h"
#include "zone/dns/Name.h"

namespace headwater::verify {

// What the referral should say. Names are lower-case presentation form with the trailing dot.
struct DelegationExpectation {
    std::string zone;
    std::set<std::string> ns;  // the apex NS names we serve (the providers copy them)
    // The addresses of each NS name where they are known: names at or below the apex from the served
    // version (which the providers serve); names outside the zone from the providers' authoritative
    // answers (add_address_answer). A name missing here has its glue shown but not compared.
    std::map<std::string, std::set<std::string>> addresses;
    // The hidden primary: the SOA MNAME when it is not one of the apex NS names (RFC 1996 §2.1 calls it
    // the primary master), and the addresses the server itself answers on.
    std::optional<std::string> primary_name;
    std::set<std::string> primary_addresses;
};

// From the served version; `own_addresses` are the server's listen addresses (wildcards left out by the
// caller).
DelegationExpectation expect_delegation(const zone::ZoneVersion& served,
                                        std::span<const dns::IpAddress> own_addresses);

// The apex NS names outside the zone: their addresses must be asked of the providers.
std::vector<std::string> names_to_resolve(const DelegationExpectation& expected);

// Takes the A or AAAA records of `name` from a provider's answer when it is authoritative (AA, NOERROR);
// returns whether it was.
bool add_address_answer(DelegationExpectation& expected, const std::string& name,
                        const dns::Message& response);

struct DelegationResult {
    // "ok"; "mismatch" (the NS set or glue differ, or the hidden primary is listed); "not-a-referral"
    // (an error RCODE, or no NS RRset for the zone; a parent that serves the zone itself answers with AA,
    // which is taken as is but noted).
    std::string status;
    bool ok = false;
    std::vector<std::string> problems;                  // one line each, for people
    std::set<std::string> ns;                           // the names the parent lists
    std::map<std::string, std::set<std::string>> glue;  // per name, the addresses in the additional section
};

// Checks a parent server's answer to "<zone> NS" (asked without recursion).
DelegationResult check_referral(const DelegationExpectation& expected, const dns::Message& response);

}  // namespace headwater::verify
