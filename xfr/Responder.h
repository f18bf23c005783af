// Turns one query into its answer, with no I/O: a single message, a transfer stream to drain, or
// nothing (when there is no header to answer). The server owns sockets; this owns the DNS rules.
#pragma once

#include <atomic>
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
#include "xfr/DeferredAnswer.h"
#include "xfr/FaultSet.h"
#include "xfr/Peer.h"
#include "xfr/TransferEvent.h"
#include "xfr/TransferPlan.h"
#include "xfr/TransferSession.h"
#include "xfr/Update.h"
#include "zone/ZoneStore.h"
#include "zone/base/Result.h"

namespace headwater::xfr {

struct Response {
    enum class Kind : uint8_t { Drop, Message, Transfer };
    Kind kind = Kind::Drop;
    std::vector<uint8_t> message;               // Kind::Message
    std::unique_ptr<TransferSession> transfer;  // Kind::Transfer
    // Every AXFR/IXFR request that got as far as its question: the transfer as far as it is known when the
    // answer leaves here. A refusal (answered in `message`) is complete; a stream's event gets its
    // counts, duration and outcome from the server once the stream ends.
    std::optional<TransferEvent> event;
    // What the answer tells about the peer, for the secondaries view.
    bool soa_query = false;  // an SOA query at a zone apex (what secondaries poll), in `zone`, with `key`
    std::string zone;
    std::string key;          // the TSIG key of the request, "-" when unsigned
    bool up_to_date = false;  // IXFR answered with the SOA alone: the client holds the served serial
                              // (event->client_serial)
    std::string lab;          // lab mode: the faults this answer was given on purpose; empty when none
    Transport transport = Transport::Udp;  // of the SOA query (soa_query), for the lab timeline
    // Kind::Message, asked with may_defer: set when `message` is not computed yet, and this makes it
    // once the change it answers is durable (DeferredAnswer).
    std::shared_ptr<DeferredAnswer> deferred;

    // A transfer request answered with an error.
    bool refused() const { return event && is_refusal(event->outcome); }
};

struct ResponderOptions {
    // Largest UDP answer we send, whatever the client offers (DNS flag day 2020: avoid fragmentation).
    uint16_t max_udp_payload = 1232;
    // Per zone (Name::key()): above this share of the zone's size an IXFR is answered as AXFR; a zone not
    // listed has the default (kDefaultMaxIxfrRatio).
    std::unordered_map<std::string, double> max_ixfr_ratio;
    // Lab mode (docs/lab.md): the faults of the moment, looked up per request; null unless server.lab.
    std::shared_ptr<const FaultBoard> lab;
    // Dynamic updates (RFC 2136), per zone (Name::key()): the allow_update rules; a zone without any
    // refuses every update.
    std::unordered_map<std::string, std::vector<AclRule>> update_acls;
    // Told about every UPDATE answered (the log), and about each one that changed a zone (NOTIFY).
    // Called on the thread that answered; both must be thread-safe.
    std::function<void(const UpdateEvent&)> on_update;
    std::function<void(const zone::Zone&)> on_zone_changed;
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
    // `may_defer`: an UPDATE's answer may come as Response::deferred (see DeferredAnswer) rather than wait
    // here for the journal's fdatasync.
    Response respond(std::span<const uint8_t> query, const Peer& peer, uint64_t now,
                     const TransferAdmission& admit = {}, bool may_defer = false) const;

    // Swaps the ACLs, keys and options in one step (reconfigure): each request uses one set throughout,
    // the old or the new; streams already running keep the keys they were signed with.
    void set_policy(std::unordered_map<std::string, std::vector<AclRule>> acls,
                    std::shared_ptr<const tsig::KeyStore> keys, ResponderOptions options);
    // The options in use (a copy), so a new policy can keep the server's hooks.
    ResponderOptions options() const { return policy_.load()->options; }

  private:
    struct Policy {
        std::shared_ptr<const tsig::KeyStore> keys;
        std::unordered_map<std::string, std::vector<AclRule>> acls;
        ResponderOptions options;
    };
    struct Context;
    struct TransferRequest;
    // Why a transfer request is answered with an error instead of the zone.
    struct Refusal {
        TransferOutcome outcome = TransferOutcome::Refused;
        dns::Rcode rcode = dns::Rcode::Refused;
        std::string reason;
    };

    Response answer_query(const dns::Message& q, const Peer& peer, Context& ctx) const;
    // RFC 2136: the zone section, who may update (TSIG and allow_update), then the prerequisites, the
    // names and types the rule covers, the prescan and the change, all under the zone's lock.
    Response answer_update(const dns::Message& q, const Peer& peer, Context& ctx, bool may_defer) const;
    // `deferred`, when given, is filled if the answer must wait for the journal's sync.
    Result<std::optional<dns::Serial>, UpdateFailure> run_update(const dns::Message& q, const Peer& peer,
                                                                 Context& ctx, zone::Zone& zone,
                                                                 UpdateEvent& event,
                                                                 zone::PendingUpdate* deferred) const;
    class UpdateAnswer;
    // AXFR and IXFR, one step per function: check_transfer (zone, ACL, TSIG), then an AXFR stream, or
    // answer_ixfr (the plan, the UDP answer or the stream).
    Response answer_transfer(const dns::Message& q, const Peer& peer, Context& ctx,
                             const TransferAdmission& admit) const;
    Result<void, Refusal> check_transfer(TransferRequest& t) const;
    Response answer_ixfr(TransferRequest& t, const TransferAdmission& admit) const;
    IxfrRequest ixfr_request(const TransferRequest& t) const;
    Response answer_ixfr_udp(TransferRequest& t, std::vector<zone::Changeset> chain,
                             std::size_t udp_limit) const;
    Response answer_soa_only(TransferRequest& t) const;
    Response start_axfr(TransferRequest& t, const TransferAdmission& admit) const;
    Response start_stream(TransferRequest& t, TransferSession::Source source, TransferForm form,
                          const TransferAdmission& admit) const;
    static Response refuse(TransferRequest& t, Refusal why);
    // Lab mode: the faults for this zone, peer and key (an empty plan when lab mode is off).
    // The faults of the request's own policy (its options.lab is set: lab mode).
    static FaultPlan lab_plan(const Context& ctx, std::string_view zone, const Peer& peer,
                              const std::string& key);
    // A transfer answered with an error on purpose (rcode, badtime), or nothing.
    std::optional<Response> lab_refusal(TransferRequest& t) const;
    // The apex SOA answered on purpose: dropped, or TC over UDP; false when no such fault applies.
    bool lab_soa(const dns::Message& q, const Peer& peer, Context& ctx, Response& r) const;

    const zone::ZoneStore& store_;
    std::atomic<std::shared_ptr<const Policy>> policy_;
};

// A bare error answer echoing the query's ID, opcode, RD and (when given) question.
std::vector<uint8_t> error_response(const dns::Header& query, const dns::Question* question, dns::Rcode rcode,
                                    bool edns, std::size_t reserve = 0);

}  // namespace headwater::xfr
