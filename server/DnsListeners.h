// UDP and TCP listeners on every configured address: they read queries, hand them to the Responder and
// write its answers back. TCP follows RFC 7766: several queries per connection, an idle timeout between
// queries (never a deadline on a whole transfer), and a bound on concurrent connections.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "xfr/Responder.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/Result.h"

namespace headwater::server {

struct ListenerOptions {
    std::chrono::milliseconds tcp_idle_timeout{10000};
    // A peer that does not take a message of an answer within this long is cut off.
    std::chrono::milliseconds tcp_write_timeout{30000};
    std::size_t tcp_max_connections = 256;
};

// One line per transfer with the same fields every time (EXAMPLES.md §9).
struct TransferRecord {
    std::string zone;
    std::string type;  // what was asked: AXFR / IXFR
    std::string form;  // what was sent: "ixfr" (incremental) or "axfr" (the whole zone)
    std::string peer;  // address#port
    std::string key;   // TSIG key name, "-" when unsigned
    std::string rule;  // the ACL rule that allowed it
    uint32_t serial = 0;
    std::size_t messages = 0, records = 0, bytes = 0;
    std::chrono::milliseconds duration{0};
    std::string outcome;                       // "ok", "refused: ...", "aborted: ..."
    std::optional<dns::Serial> client_serial;  // IXFR: the serial the client said it holds
};

// What the listeners saw a peer do, for the log and the secondaries view. Exactly one of `transfer`
// (a transfer ended), `refusal` (a transfer request was answered with an error) or neither (an apex SOA
// query or an up-to-date IXFR, see `answer`) is set.
struct PeerEvent {
    std::string peer;                       // address#port
    std::string address;                    // address only: a secondary uses many source ports
    const xfr::Response* answer = nullptr;  // the Responder's facts about the request
    const TransferRecord* transfer = nullptr;
};

class DnsListeners {
  public:
    using EventSink = std::function<void(const PeerEvent&)>;

    DnsListeners(boost::asio::io_context& io, const xfr::Responder& responder, ListenerOptions options,
                 EventSink events);
    ~DnsListeners();

    // Binds UDP and TCP on every endpoint; on any failure nothing stays bound.
    dns::Result<void, std::string> open(const std::vector<dns::Endpoint>& endpoints);
    // Stops accepting and reading new queries; transfers in flight go on until they finish.
    void stop_accepting();
    // Closes every connection, transfers included.
    void close_all();
    std::size_t active_transfers() const;
    std::size_t connections() const;

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace headwater::server
