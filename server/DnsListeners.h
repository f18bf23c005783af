// TCP listeners on every configured address: they read queries, hand them to the Responder and write its
// answers back, following RFC 7766: several queries per connection, an idle timeout between queries
// (never a deadline on a whole transfer), and bounds on concurrent connections. TLS listeners (DNS over
// TLS, RFC 7858, for zone transfers over TLS, RFC 9103) serve the same way inside TLS (TlsStream), under
// the same limits: the handshake first, under the idle timeout, then the same loop. Each connection runs on a
// strand of the io_context, which the server runs on server.tcp_threads threads. UDP is UdpWorkers' (its
// own threads, batched system calls); both report to the same EventSink.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "server/QueryCounters.h"
#include "xfr/Responder.h"
#include "zone/base/Result.h"
#include "zone/dns/IpNetwork.h"

namespace headwater::server {

class TlsContext;

// The limits in docs/operations.md, "Limits and fault handling" (server.* in the config), same defaults.
struct ListenerOptions {
    // RFC 7766 §6.2.3: how long a connection may wait for its next query (or its first).
    std::chrono::milliseconds tcp_idle_timeout{10000};
    // While an answer is being written, a peer that acknowledges no data for this long is cut off. It
    // measures progress, never a whole transfer: a long transfer to a live reader goes on.
    std::chrono::milliseconds tcp_write_timeout{30000};
    std::size_t tcp_max_connections = 256;
    // Connections from one client address. Checked before the global bound, so an address holding its
    // share of idle connections cannot take the pool from everybody else.
    std::size_t tcp_max_per_client = 16;
    // AXFR/IXFR streams at once, counted once the ACL and TSIG allowed them (xfr::TransferAdmission);
    // one more is answered SERVFAIL and reported as a refused transfer.
    std::size_t max_transfers = 64;
    // Longest query read: a TCP length prefix above it closes the connection before anything is
    // allocated for it (UdpWorkers drops a longer datagram). Queries to a primary (SOA, IXFR, AXFR, all with
    // TSIG) are a few hundred octets.
    std::size_t max_query_size = 16384;
};

// What the listeners saw a peer do, for the log and the secondaries view. `transfer` is set when a
// transfer ended (its stream finished or broke off) or a transfer request was refused (the Responder's
// event, complete); otherwise the answer was an apex SOA query or an up-to-date IXFR (see `answer`).
struct PeerEvent {
    std::string peer;                       // address#port
    std::string address;                    // address only: a secondary uses many source ports
    const xfr::Response* answer = nullptr;  // the Responder's facts about the request
    const xfr::TransferEvent* transfer = nullptr;
};

// "192.0.2.1#53", "2001:db8::1#53": a peer as the log lines and PeerEvent::peer show it.
std::string peer_text(const dns::IpAddress& address, uint16_t port);

class DnsListeners {
  public:
    using EventSink = std::function<void(const PeerEvent&)>;

    DnsListeners(boost::asio::io_context& io, const xfr::Responder& responder, ListenerOptions options,
                 EventSink events);
    ~DnsListeners();

    // Binds TCP on every endpoint; on any failure nothing stays bound.
    Result<void, std::string> open(const std::vector<dns::Endpoint>& endpoints);
    // Binds TCP on every endpoint and serves TLS there, each connection with the context `tls` has when
    // it is accepted (so a reload applies to new connections). `tls` must outlive the listeners. On any
    // failure no TLS endpoint stays bound. Call after open().
    Result<void, std::string> open_tls(const std::vector<dns::Endpoint>& endpoints, const TlsContext& tls);
    // Stops accepting and reading new queries; transfers in flight go on until they finish.
    void stop_accepting();
    // Closes every connection, transfers included, and waits for the journal syncs of updates in flight
    // (call it once the io_context's threads have stopped, before the io_context goes).
    void close_all();
    std::size_t active_transfers() const;
    // Calls `done` once, when no transfer is running: at once if none is, otherwise on the TCP thread that
    // ends the last one (so `done` must only hand off, e.g. post to another io_context). Replaces an
    // earlier `done` that has not been called. The shutdown waits on this instead of polling.
    void when_transfers_done(std::function<void()> done);
    std::size_t connections() const;
    // Counts every query answered over TCP by RCODE (transfers are counted as transfers); set before
    // open(). Null: not counted.
    void count_queries(QueryCounters* counters);

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace headwater::server
