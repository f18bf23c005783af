// Turns one query into its answer, with no I/O: a single message, a transfer stream to drain, or
// nothing (when there is no header to answer). The server owns sockets; this owns the DNS rules.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tsig/KeyStore.h"
#include "tsig/ServerSequence.h"
#include "xfr/Acl.h"
#include "xfr/AxfrSource.h"
#include "xfr/TransferPlan.h"
#include "xfr/TransferSession.h"
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
    std::string key;   // the TSIG key of the request, "-" when unsigned
    dns::Rcode rcode = dns::Rcode::Refused;
    std::string reason;
};

struct Response {
    enum class Kind : uint8_t { Drop, Message, Transfer };
    Kind kind = Kind::Drop;
    std::vector<uint8_t> message;               // Kind::Message
    std::unique_ptr<TransferSession> transfer;  // Kind::Transfer
    std::string transfer_type;                  // "AXFR", or "IXFR" answered in AXFR form
    std::string acl_rule;                       // the rule that allowed the transfer
    std::string key;                            // the TSIG key of the request, "-" when unsigned
    std::optional<TransferRefusal> refusal;     // a transfer request answered with an error
    // What the answer tells about the peer, for the secondaries view.
    std::string zone;                          // the zone of an apex SOA query or a transfer request
    bool soa_query = false;                    // an SOA query at a zone apex (what secondaries poll)
    std::optional<dns::Serial> client_serial;  // IXFR: the serial the client says it holds
    bool up_to_date = false;  // IXFR answered with the SOA alone: the client holds the served serial
};

struct ResponderOptions {
    // Largest UDP answer we send, whatever the client offers (DNS flag day 2020: avoid fragmentation).
    uint16_t max_udp_payload = 1232;
    // Per zone (Name::key()): above this share of the zone's size an IXFR is answered as AXFR.
    std::unordered_map<std::string, double> max_ixfr_ratio;
};

// Whether one more outgoing transfer (an AXFR or IXFR stream) may start for `peer`. Asked only once the
// ACL and TSIG have let the request through (docs/interop.md: BIND once let refused clients use up its
// transfer quota), so a refused peer never takes a slot. Returns an empty string to admit, taking a slot
// the caller gives back when the stream ends, or why it is not admitted: the request is then answered
// SERVFAIL, as BIND does past transfers-out (a temporary condition the secondary retries later).
using TransferAdmission = std::function<std::string(const Peer&)>;

class Responder {
  public:
    // `acls` maps a zone's key (Name::key()) to its allow_transfer rules; `keys` are the TSIG keys.
    Responder(const zone::ZoneStore& store, std::unordered_map<std::string, std::vector<AclRule>> acls,
              std::shared_ptr<const tsig::KeyStore> keys, ResponderOptions options = {});

    // `now` (seconds since the epoch) is the time TSIG checks and signs with.
    // `admit`, when given, is asked before a transfer stream starts (see TransferAdmission).
    Response respond(std::span<const uint8_t> query, const Peer& peer, uint64_t now,
                     const TransferAdmission& admit = {}) const;

  private:
    struct Context;
    Response answer_query(const dns::Message& q, const Peer& peer, Context& ctx) const;
    Response answer_transfer(const dns::Message& q, const Peer& peer, Context& ctx,
                             const TransferAdmission& admit) const;

    const zone::ZoneStore& store_;
    std::shared_ptr<const tsig::KeyStore> keys_;
    std::unordered_map<std::string, std::vector<AclRule>> acls_;
    ResponderOptions options_;
};

// A bare error answer echoing the query's ID, opcode, RD and (when given) question.
std::vector<uint8_t> error_response(const dns::Header& query, const dns::Question* question, dns::Rcode rcode,
                                    bool edns, std::size_t reserve = 0);

}  // namespace headwater::xfr
