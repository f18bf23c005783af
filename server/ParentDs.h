// A KSK or CSK rollover's wait for the parent (zone/sign/SepRollover.h): each parent server of the zone
// is asked for the zone's DS, without recursion, and what they serve is matched against the zone's keys.
// The matching is pure (match_parent_ds); asking is a coroutine on the caller's executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "zone/dns/IpNetwork.h"
#include "zone/dns/Message.h"
#include "zone/dns/Name.h"
#include "zone/sign/ZskRollover.h"

namespace headwater::server {

struct ParentDsAnswer {
    dns::Endpoint server;
    std::vector<std::vector<uint8_t>> ds;  // the DS RDATAs of the answer (none: it serves no DS)
    uint32_t ttl = 0;
    std::string error;  // no answer, or not an authoritative one: the rest is empty
};

// Asks every server (one after the other: they are few) for `zone`'s DS.
boost::asio::awaitable<std::vector<ParentDsAnswer>> ask_parent_ds(std::vector<dns::Endpoint> servers,
                                                                  dns::Name zone,
                                                                  std::chrono::milliseconds timeout);

// The answers read against the zone's DNSKEY RDATAs (its KSKs and CSKs): the keys every server serves a
// DS for (a DS matches a key by tag, algorithm and digest: SHA-1, SHA-256 or SHA-384).
sign::ParentDs match_parent_ds(const std::vector<ParentDsAnswer>& answers, std::span<const uint8_t> zone_wire,
                               const std::vector<std::vector<uint8_t>>& dnskeys);

// Multi-signer (RFC 8901 model 2): the zone's DNSKEY RDATAs as each of the other signers' servers serves
// them (authoritatively); a server that did not answer, or answered without a DNSKEY, is left out and
// named in `error`.
struct FetchedKeys {
    std::vector<std::pair<std::string, std::vector<std::vector<uint8_t>>>> by_server;
    std::string error;
};
// An answer counts only when an RRSIG over its DNSKEY RRset validates at `now` with one of `pinned` (the
// other signers' KSKs the operator gave in foreign_dnskeys): the answer comes over the network without
// TSIG, and what it holds is signed by our KSK, so trusted for the whole zone. Empty when it does;
// else why not.
std::string authenticate_dnskeys(const dns::Message& response, dns::NameView zone,
                                 std::span<const std::vector<uint8_t>> pinned, int64_t now);
boost::asio::awaitable<FetchedKeys> fetch_dnskeys(std::vector<dns::Endpoint> servers, dns::Name zone,
                                                  std::vector<std::vector<uint8_t>> pinned,
                                                  std::chrono::milliseconds timeout);

// Both: the servers asked, their answers read against the keys.
boost::asio::awaitable<sign::ParentDs> parent_ds_of(std::vector<dns::Endpoint> servers, dns::Name zone,
                                                    std::vector<std::vector<uint8_t>> dnskeys,
                                                    std::chrono::milliseconds timeout);

}  // namespace headwater::server
