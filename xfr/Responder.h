// Turns one query into its answer, with no I/O: a single message, a transfer stream to drain, or
// nothing (when there is no header to answer). The server owns sockets; this owns the DNS rules.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "xfr/Acl.h"
#include "xfr/AxfrSource.h"
#include "zone/ZoneStore.h"

namespace headwater::xfr {

enum class Transport : uint8_t { Udp, Tcp };

struct Peer {
    dns::IpAddress address;
    uint16_t port = 0;
    Transport transport = Transport::Udp;
};

// What the server logs about a transfer request that did not start (refused, unknown zone, ...).
struct TransferRefusal {
    std::string zone;
    std::string type;  // "AXFR" / "IXFR"
    dns::Rcode rcode = dns::Rcode::Refused;
    std::string reason;
};

struct Response {
    enum class Kind : uint8_t { Drop, Message, Transfer };
    Kind kind = Kind::Drop;
    std::vector<uint8_t> message;            // Kind::Message
    std::unique_ptr<AxfrSource> transfer;    // Kind::Transfer
    std::string transfer_type;               // "AXFR", or "IXFR" answered in AXFR form
    std::string acl_rule;                    // the rule that allowed the transfer
    std::optional<TransferRefusal> refusal;  // a transfer request answered with an error
};

struct ResponderOptions {
    // Largest UDP answer we send, whatever the client offers (DNS flag day 2020: avoid fragmentation).
    uint16_t max_udp_payload = 1232;
};

class Responder {
  public:
    // `acls` maps a zone's key (Name::key()) to its allow_transfer rules.
    Responder(const zone::ZoneStore& store, std::unordered_map<std::string, std::vector<AclRule>> acls,
              ResponderOptions options = {});

    Response respond(std::span<const uint8_t> query, const Peer& peer) const;

  private:
    Response answer_query(const dns::Message& q, const Peer& peer) const;
    Response answer_transfer(const dns::Message& q, const Peer& peer) const;

    const zone::ZoneStore& store_;
    std::unordered_map<std::string, std::vector<AclRule>> acls_;
    ResponderOptions options_;
};

// A bare error answer echoing the query's ID, opcode, RD and (when given) question.
std::vector<uint8_t> error_response(const dns::Header& query, const dns::Question* question, dns::Rcode rcode,
                                    bool edns);

}  // namespace headwater::xfr
