// UDP queries on several threads: each thread owns one SO_REUSEPORT socket per listen address
// and moves datagrams in batches (recvmmsg/sendmmsg), so the kernel spreads queries over the cores and a
// query costs one pass through the Responder rather than two system calls. No Asio: this is a tight loop
// over blocking sockets with a receive timeout that lets a thread notice stop(). TCP stays on the DNS
// listeners' io_context (transfers are long-lived and few).
//
// The Responder is const and its zone lookups are lock-free, so the threads share it; the event sink is
// called from every worker thread and must be thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "server/DnsListeners.h"
#include "server/QueryCounters.h"
#include "xfr/Responder.h"
#include "zone/base/Result.h"
#include "zone/dns/IpNetwork.h"

namespace headwater::server {

class UdpWorkers {
  public:
    // Datagrams longer than max_query_size are dropped (ListenerOptions::max_query_size).
    UdpWorkers(const xfr::Responder& responder, DnsListeners::EventSink events, std::size_t threads,
               std::size_t max_query_size = 16384);
    ~UdpWorkers();  // stops and closes

    UdpWorkers(const UdpWorkers&) = delete;
    UdpWorkers& operator=(const UdpWorkers&) = delete;

    // Binds `threads` sockets on every endpoint; on any failure nothing stays bound.
    Result<void, std::string> open(const std::vector<dns::Endpoint>& endpoints);
    void start();
    // No new queries are read; returns when every thread has finished its batch.
    void stop();

    std::size_t threads() const { return threads_; }
    // Counts every query by RCODE (the metrics endpoint); set before start(). Null: not counted.
    void count_queries(QueryCounters* counters) { counters_ = counters; }
    // Lab mode: every SOA query is an event (the report counts them); otherwise an address's plain SOA
    // queries are reported at most once a second per thread. Set before start().
    void report_every_soa_query(bool every) { every_soa_ = every; }

  private:
    struct Batch;
    void run(const std::vector<int>& sockets);
    std::size_t serve_batch(Batch& batch, int fd, int flags);

    const xfr::Responder& responder_;
    DnsListeners::EventSink events_;
    QueryCounters* counters_ = nullptr;
    bool every_soa_ = false;
    std::size_t threads_;
    std::size_t max_query_size_;
    std::vector<std::vector<int>> sockets_;  // per thread: one socket per endpoint
    std::vector<std::thread> workers_;
    std::atomic<bool> stopping_{false};
};

// The number of UDP or TCP threads for `configured` (server.udp_threads, server.tcp_threads; 0: one per
// core, at most 8).
std::size_t thread_count(std::size_t configured);

}  // namespace headwater::server
