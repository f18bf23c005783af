#include "server/DnsListeners.h"
#include "server/AsioSupport.h"
#include "server/TcpInfo.h"
#include "server/TlsContext.h"
#include "server/TlsStream.h"
#include "server/WarningThrottle.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <list>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

namespace headwater::server {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string peer_text(const dns::IpAddress& address, uint16_t port) {
    return address.to_string() + "#" + std::to_string(port);
}

namespace {

// Octets of what we wrote (`handed` to the kernel so far) that the peer has acknowledged: handed minus
// what is still in the send queue (SIOCOUTQ: unsent and unacknowledged). Grows exactly when the peer
// takes data; nullopt when the kernel cannot tell. Over TLS we hand over plaintext and the kernel queues
// records, so there the kernel's own count of acknowledged octets is the measure.
std::optional<uint64_t> acked_octets(tcp::socket& socket, uint64_t handed, bool tls) {
    if (tls) return tcp_bytes_acked(socket.native_handle());
    int queued = 0;
    if (::ioctl(socket.native_handle(), SIOCOUTQ, &queued) != 0 || queued < 0) return std::nullopt;
    const auto q = static_cast<uint64_t>(queued);
    return handed >= q ? handed - q : 0;
}

// How long the watchdog waits before taking a second look at a write deadline that passed without
// progress (see watchdog()).
constexpr std::chrono::milliseconds kStallConfirmation{50};

// How a transfer's write failed. The watchdog closing the socket is a timeout; close_all() closing it is
// the shutdown; the peer going away shows as a reset or a broken pipe.
xfr::TransferOutcome write_outcome(const boost::system::error_code& ec, bool timed_out, bool stopping) {
    if (timed_out) return xfr::TransferOutcome::TimedOut;
    if (stopping && (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor))
        return xfr::TransferOutcome::Shutdown;
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::error::eof ||
        ec == asio::error::connection_aborted)
        return xfr::TransferOutcome::PeerClosed;
    return xfr::TransferOutcome::WriteError;
}

// DnsListeners::State::answer_when_durable's wait on the sync thread.
awaitable<Result<void, std::string>> sync_deferred(std::shared_ptr<xfr::DeferredAnswer> answer) {
    co_return answer->sync();
}

// Refuses a connection as cheaply as possible: RST instead of FIN, so not even a TIME_WAIT is left.
void reset(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

}  // namespace

struct DnsListeners::State : std::enable_shared_from_this<DnsListeners::State> {
    asio::io_context& io;
    const xfr::Responder& responder;
    ListenerOptions options;
    EventSink events;
    QueryCounters* counters = nullptr;  // set before open(), read by the connections
    // The accept loops and stop_accepting() (the acceptors are not thread-safe); each connection runs on
    // a strand of its own, so connections spread over the io_context's threads (server.tcp_threads).
    asio::strand<asio::io_context::executor_type> accept_strand;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // plain TCP (open), then TLS (open_tls)
    const TlsContext* tls = nullptr;                        // open_tls(): the context of new connections
    std::list<std::shared_ptr<tcp::socket>> connections;  // every open connection (TLS: the socket under it)
    std::map<asio::ip::address, std::size_t> per_client;  // open connections per client address
    std::atomic<std::size_t> transfers{0};
    // when_transfers_done(): called by the connection that ends the last transfer. Checked and set under
    // `idle_mutex` on both sides, so a transfer ending while it is being registered is never missed.
    std::mutex idle_mutex;
    std::function<void()> transfers_done;
    std::mutex mutex;  // guards `connections` and `per_client` (the io_context may run on several threads)
    std::atomic<bool> stopping{false};
    WarningThrottle per_client_warnings, pool_warnings, size_warnings, transfer_warnings, tls_warnings,
        alpn_warnings, version_warnings;

    // Dynamic updates' journal syncs that a connection's thread does not wait for (answer_when_durable).
    // One thread: each fdatasync covers every update journaled before it started.
    asio::thread_pool journal_syncs{1};

    State(asio::io_context& i, const xfr::Responder& r, ListenerOptions o, EventSink l)
        : io(i), responder(r), options(o), events(std::move(l)), accept_strand(asio::make_strand(i)) {}

    awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls_listener);
    // Admits a new connection under tcp_max_per_client and tcp_max_connections (false: it was reset).
    bool admit_connection(const std::shared_ptr<tcp::socket>& conn, const tcp::endpoint& remote);
    struct Deadline;
    // serve_connection over plain TCP.
    awaitable<void> serve_tcp(std::shared_ptr<tcp::socket> socket, tcp::endpoint remote);
    // The TLS handshake under the idle timeout, then serve_connection inside TLS.
    awaitable<void> serve_tls(std::shared_ptr<TlsStream> stream, tcp::endpoint remote);
    // Reads queries and writes answers until the peer goes; `socket` is the TCP socket under `stream`.
    template <class Stream>
    awaitable<void> serve_connection(std::shared_ptr<Stream> stream, std::shared_ptr<tcp::socket> socket,
                                     tcp::endpoint remote, std::shared_ptr<Deadline> deadline,
                                     xfr::Peer peer);
    // The deadline of a new connection (the idle timeout), and its watchdog started.
    std::shared_ptr<Deadline> start_watchdog(const std::shared_ptr<tcp::socket>& socket, bool tls_connection);
    // The end of a connection: closed, its watchdog stopped, forgotten, its client's count decreased.
    void end_connection(const std::shared_ptr<tcp::socket>& socket, const tcp::endpoint& remote,
                        Deadline& deadline);
    struct Deadline {
        explicit Deadline(asio::io_context& io) : timer(io) {}
        asio::steady_timer timer;
        Clock::time_point at;
        bool fired = false;       // the watchdog closed the connection
        bool writing = false;     // `at` is a write deadline (tcp_write_timeout), not the idle timeout
        uint64_t handed = 0;      // octets the kernel took from us on this connection
        uint64_t acked_mark = 0;  // octets the peer had acknowledged when `at` was last set
        bool confirming = false;  // the write deadline passed without progress once; looking again
        bool tls = false;         // a TLS connection: progress is counted by the kernel (acked_octets)
    };
    awaitable<void> watchdog(std::shared_ptr<tcp::socket> socket, std::shared_ptr<Deadline> deadline);
    // serve_connection()'s steps: read one query (false: the connection is done), stream one transfer
    // (false: it did not finish, the connection goes).
    template <class Stream>
    awaitable<bool> read_query(Stream& stream, Deadline& deadline, const std::string& peer_name,
                               QueryTransport transport, std::vector<uint8_t>& query);
    template <class Stream>
    awaitable<bool> stream_transfer(Stream& stream, tcp::socket& socket, Deadline& deadline, xfr::Response& r,
                                    const std::string& peer_name, const std::string& address,
                                    std::vector<uint8_t>& out);
    // Writes `data` whole, under the write timeout (see watchdog()).
    template <class Stream>
    awaitable<boost::system::error_code> write_message(Stream& stream, tcp::socket& socket,
                                                       Deadline& deadline, std::span<const uint8_t> data);
    // Lab mode: waits as the faults pace the stream before message `index` (false: the connection is gone).
    awaitable<bool> lab_pause(tcp::socket& socket, Deadline& deadline, const xfr::FaultPlan& lab,
                              std::size_t index, std::size_t bytes, Clock::time_point started);
    // An update's answer once its journal entry is durable (RFC 2136 §3.5). Synced by this thread when no
    // other sync is running (no thread hop); else the sync thread waits for it, and this connection's
    // thread goes on with other clients' updates meanwhile, so that the next fdatasync covers them all.
    // Blocking here instead would hold one of the few connection threads per waiting update.
    awaitable<std::vector<uint8_t>> answer_when_durable(std::shared_ptr<xfr::DeferredAnswer> answer);
    // xfr::TransferAdmission for TCP: takes a transfer slot, or says why not (server.max_transfers).
    std::string admit_transfer(const xfr::Peer& peer);
    // Gives back the slot admit_transfer() took; the last one out tells when_transfers_done().
    void end_transfer();
};

DnsListeners::DnsListeners(asio::io_context& io, const xfr::Responder& responder, ListenerOptions options,
                           EventSink events)
    : state_(std::make_shared<State>(io, responder, options, std::move(events))) {}

DnsListeners::~DnsListeners() {
    close_all();
}

namespace {

// Binds one listening TCP socket, or says why it cannot.
Result<std::unique_ptr<tcp::acceptor>, std::string> bind_acceptor(asio::io_context& io,
                                                                  const dns::Endpoint& ep,
                                                                  std::string_view what) {
    const auto address = to_asio(ep.address);
    boost::system::error_code ec;
    auto t = std::make_unique<tcp::acceptor>(io);
    const tcp::endpoint tep(address, ep.port);
    t->open(tep.protocol(), ec);
    if (!ec) t->set_option(asio::socket_base::reuse_address(true), ec);
    // An IPv6 socket serves IPv6 only, so "[::]:53" and "0.0.0.0:53" can both be configured.
    if (!ec && address.is_v6()) t->set_option(asio::ip::v6_only(true), ec);
    if (!ec) t->bind(tep, ec);
    if (!ec) t->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return unexpected("cannot listen on " + std::string(what) + " " + ep.to_string() + ": " +
                          ec.message());
    return t;
}

}  // namespace

Result<void, std::string> DnsListeners::open_tls(const std::vector<dns::Endpoint>& endpoints,
                                                 const TlsContext& tls) {
    std::vector<std::unique_ptr<tcp::acceptor>> bound;
    for (const auto& ep : endpoints) {
        auto t = bind_acceptor(state_->io, ep, "TLS");
        if (!t) return unexpected(t.error());
        bound.push_back(std::move(*t));
    }
    state_->tls = &tls;
    for (auto& t : bound) {
        asio::co_spawn(
            state_->accept_strand, [s = state_, &acc = *t]() { return s->accept_loop(acc, true); },
            asio::detached);
        state_->acceptors.push_back(std::move(t));
    }
    return {};
}

Result<void, std::string> DnsListeners::open(const std::vector<dns::Endpoint>& endpoints) {
    for (const auto& ep : endpoints) {
        auto t = bind_acceptor(state_->io, ep, "TCP");
        if (!t) {
            state_->acceptors.clear();
            return unexpected(t.error());
        }
        state_->acceptors.push_back(std::move(*t));
    }
    for (auto& a : state_->acceptors)
        asio::co_spawn(
            state_->accept_strand, [s = state_, &acc = *a]() { return s->accept_loop(acc, false); },
            asio::detached);
    return {};
}

void DnsListeners::stop_accepting() {
    auto s = state_;
    asio::dispatch(s->accept_strand, [s] {
        s->stopping = true;
        boost::system::error_code ec;
        for (auto& a : s->acceptors) a->close(ec);
        // Idle connections go now; one busy with a transfer closes itself when the transfer ends. On each
        // connection's own strand: the connection may be closing its socket on another thread right now.
        std::lock_guard lock(s->mutex);
        for (auto& c : s->connections)
            asio::post(c->get_executor(), [c] {
                boost::system::error_code ignored;
                c->shutdown(tcp::socket::shutdown_receive, ignored);
            });
    });
}

void DnsListeners::close_all() {
    auto s = state_;
    {
        boost::system::error_code ec;
        std::lock_guard lock(s->mutex);
        for (auto& c : s->connections) c->close(ec);
    }
    // A sync still running hands its update back to the io_context: it ends while that still exists (the
    // io_context outlives this object), and the pool's thread never ends up destroying the State itself.
    s->journal_syncs.join();
}

std::size_t DnsListeners::active_transfers() const {
    return state_->transfers.load();
}

void DnsListeners::when_transfers_done(std::function<void()> done) {
    std::unique_lock lock(state_->idle_mutex);
    if (state_->transfers.load() != 0) {
        state_->transfers_done = std::move(done);
        return;
    }
    state_->transfers_done = nullptr;
    lock.unlock();
    if (done) done();
}

std::size_t DnsListeners::connections() const {
    std::lock_guard lock(state_->mutex);
    return state_->connections.size();
}

void DnsListeners::count_queries(QueryCounters* counters) {
    state_->counters = counters;
}

namespace {

// The two kinds of stream a connection reads and writes: plain TCP, and TCP inside TLS.
awaitable<boost::system::error_code> read_exact(tcp::socket& socket, asio::mutable_buffer buffer) {
    auto [ec, n] = co_await asio::async_read(socket, buffer, kTuple);
    (void)n;
    co_return ec;
}

awaitable<boost::system::error_code> read_exact(TlsStream& stream, asio::mutable_buffer buffer) {
    co_return co_await stream.read_exact(buffer);
}

awaitable<std::tuple<boost::system::error_code, std::size_t>> write_some(tcp::socket& socket,
                                                                         asio::const_buffer buffer) {
    co_return co_await socket.async_write_some(buffer, kTuple);
}

awaitable<std::tuple<boost::system::error_code, std::size_t>> write_some(TlsStream& stream,
                                                                         asio::const_buffer buffer) {
    co_return co_await stream.write_some(buffer);
}

std::string certificate_text(const xfr::ClientCertificate* cert) {
    if (cert == nullptr) return "none";
    return "pin " + cert->spki_pin + (cert->names.empty() ? std::string() : " name " + cert->names.front()) +
           (cert->verified ? " (verified)" : " (not verified by tls_client_ca)");
}

}  // namespace

awaitable<void> DnsListeners::State::accept_loop(tcp::acceptor& acceptor, bool tls_listener) {
    auto self = shared_from_this();
    while (!stopping) {
        // Each connection on a strand of its own: the socket's executor, so its coroutines, its watchdog
        // and stop_accepting() all reach it through that strand.
        tcp::socket socket(asio::make_strand(io));
        auto [ec] = co_await acceptor.async_accept(socket, kTuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors and the like: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer t(io, std::chrono::milliseconds(100));
            co_await t.async_wait(kTuple);
            continue;
        }
        boost::system::error_code rec;
        const auto remote = socket.remote_endpoint(rec);
        if (rec) {  // already gone (reset before we got to it)
            reset(socket);
            continue;
        }
        if (!tls_listener) {
            auto conn = std::make_shared<tcp::socket>(std::move(socket));
            if (admit_connection(conn, remote))
                asio::co_spawn(conn->get_executor(), serve_tcp(conn, remote), asio::detached);
            continue;
        }
        // The context of this moment: a reload-tls later does not change this connection's.
        auto stream = std::make_shared<TlsStream>(std::move(socket), tls->current());
        std::shared_ptr<tcp::socket> conn(stream, &stream->socket());
        if (admit_connection(conn, remote))
            asio::co_spawn(conn->get_executor(), serve_tls(stream, remote), asio::detached);
    }
}

bool DnsListeners::State::admit_connection(const std::shared_ptr<tcp::socket>& conn,
                                           const tcp::endpoint& remote) {
    std::lock_guard lock(mutex);
    // The per-client bound first: an address flooding us with idle connections is turned away here and
    // never takes a place in the global pool that other peers (a secondary about to transfer) need.
    // Either way the new connection goes at once; none in progress is displaced. TCP and TLS count alike.
    std::size_t& mine = per_client[remote.address()];
    if (mine >= options.tcp_max_per_client) {
        per_client_warnings.warn("closing a TCP connection from {}: it has {} open (tcp_max_per_client)",
                                 peer_text(to_ip(remote.address()), remote.port()), mine);
        reset(*conn);
        return false;
    }
    if (connections.size() >= options.tcp_max_connections) {
        if (mine == 0) per_client.erase(remote.address());
        pool_warnings.warn("closing a TCP connection from {}: {} connections open (tcp_max_connections)",
                           peer_text(to_ip(remote.address()), remote.port()), connections.size());
        reset(*conn);
        return false;
    }
    ++mine;
    connections.push_back(conn);
    return true;
}

std::shared_ptr<DnsListeners::State::Deadline> DnsListeners::State::start_watchdog(
    const std::shared_ptr<tcp::socket>& socket, bool tls_connection) {
    auto deadline = std::make_shared<Deadline>(io);
    deadline->tls = tls_connection;
    deadline->at = Clock::now() + options.tcp_idle_timeout;
    // On this connection's strand: the watchdog and the connection share the socket and the deadline.
    asio::co_spawn(socket->get_executor(), watchdog(socket, deadline), asio::detached);
    return deadline;
}

awaitable<void> DnsListeners::State::watchdog(std::shared_ptr<tcp::socket> socket,
                                              std::shared_ptr<Deadline> deadline) {
    // Closes the socket once the deadline passes; the connection moves the deadline as it works and
    // cancels the timer when it ends.
    while (socket->is_open()) {
        if (deadline->at <= Clock::now()) {
            // A write deadline passed: cut the peer only if it took nothing meanwhile. The kernel wakes a
            // blocked writer only once half its (autotuned, megabytes large) send buffer drained, so a
            // slow reader can leave one message's write pending for long while it keeps reading; what
            // counts is that it acknowledges data (docs/interop.md: never cut an active transfer for being
            // long).
            if (deadline->writing) {
                if (auto acked = acked_octets(*socket, deadline->handed, deadline->tls);
                    acked && *acked > deadline->acked_mark) {
                    deadline->acked_mark = *acked;
                    deadline->confirming = false;
                    deadline->at = Clock::now() + options.tcp_write_timeout;
                    continue;
                }
                // A completed write can still be on its way to this strand (queued behind us, or taken from
                // the reactor by another TCP thread), leaving `handed` behind what the kernel took: look
                // once more a moment later, when it has counted, before calling the peer stalled.
                if (!deadline->confirming) {
                    deadline->confirming = true;
                    deadline->at = Clock::now() + kStallConfirmation;
                    continue;
                }
            }
            boost::system::error_code ec;
            deadline->fired = true;
            socket->close(ec);
            co_return;
        }
        deadline->timer.expires_at(deadline->at);
        auto [ec] = co_await deadline->timer.async_wait(kTuple);
        if (ec == asio::error::operation_aborted && !socket->is_open()) co_return;
    }
}

awaitable<void> DnsListeners::State::serve_tcp(std::shared_ptr<tcp::socket> socket, tcp::endpoint remote) {
    auto self = shared_from_this();
    auto deadline = start_watchdog(socket, false);
    xfr::Peer peer{to_ip(remote.address()), remote.port(), xfr::Transport::Tcp};
    co_await serve_connection(socket, socket, remote, deadline, std::move(peer));
}

awaitable<void> DnsListeners::State::serve_tls(std::shared_ptr<TlsStream> stream, tcp::endpoint remote) {
    auto self = shared_from_this();
    std::shared_ptr<tcp::socket> socket(stream, &stream->socket());
    // The handshake is under the idle timeout, like waiting for a first query.
    auto deadline = start_watchdog(socket, true);
    const std::string peer_name = peer_text(to_ip(remote.address()), remote.port());
    if (auto ec = co_await stream->handshake()) {
        const std::string why = deadline->fired             ? "no handshake within tcp_idle_timeout"
                                : stream->failure().empty() ? ec.message()
                                                            : stream->failure();
        if (!stopping) {
            // What a misconfigured secondary shows (no ALPN "dot", TLS 1.2 only) apart from the rest (port
            // scans, clients that gave up), so one kind does not hide another.
            WarningThrottle& throttle = why.find("ALPN") != std::string::npos ? alpn_warnings
                                        : why.find("unsupported protocol") != std::string::npos
                                            ? version_warnings
                                            : tls_warnings;
            throttle.warn("TLS handshake with {} failed: {}", peer_name, why);
        }
        end_connection(socket, remote, *deadline);
        co_return;
    }
    xfr::Peer peer{to_ip(remote.address()), remote.port(), xfr::Transport::Tls, stream->client_certificate(),
                   stream->ktls_send()};
    spdlog::debug("TLS connection from {}: {} alpn=dot ktls={} client_certificate={}", peer_name,
                  stream->cipher(), peer.ktls ? "on (the kernel encrypts)" : "off (OpenSSL encrypts)",
                  certificate_text(peer.certificate.get()));
    co_await serve_connection(stream, socket, remote, deadline, std::move(peer));
}

template <class Stream>
awaitable<void> DnsListeners::State::serve_connection(std::shared_ptr<Stream> stream,
                                                      std::shared_ptr<tcp::socket> socket,
                                                      tcp::endpoint remote,
                                                      std::shared_ptr<Deadline> deadline, xfr::Peer peer) {
    auto self = shared_from_this();
    const std::string address = peer.address.to_string();
    const std::string peer_name = peer_text(peer.address, peer.port);
    const auto transport = peer.transport == xfr::Transport::Tls ? QueryTransport::Tls : QueryTransport::Tcp;
    std::vector<uint8_t> query;
    std::vector<uint8_t> out;
    while (socket->is_open()) {
        if (!co_await read_query(*stream, *deadline, peer_name, transport, query)) break;

        xfr::Response r;
        try {
            r = responder.respond(
                query, peer, unix_now(), [this](const xfr::Peer& p) { return admit_transfer(p); }, true);
            if (r.deferred) r.message = co_await answer_when_durable(std::move(r.deferred));
        } catch (const std::exception& e) {
            spdlog::error("bug while answering {}: {}", peer_name, e.what());
            break;
        }
        if (events && (r.refused() || r.soa_query || r.up_to_date))
            events(PeerEvent{peer_name, address, &r, r.refused() ? &*r.event : nullptr});
        if (counters != nullptr) {
            if (r.kind == xfr::Response::Kind::Message)
                counters->count_answer(transport, r.message);
            else if (r.kind == xfr::Response::Kind::Drop)
                counters->count_dropped(transport);
        }
        if (r.kind == xfr::Response::Kind::Drop) {
            // A TCP stream that carried garbage without a header cannot be trusted to stay in sync.
            break;
        }
        if (r.kind == xfr::Response::Kind::Message) {
            out.clear();
            out.push_back(static_cast<uint8_t>(r.message.size() >> 8));
            out.push_back(static_cast<uint8_t>(r.message.size()));
            out.insert(out.end(), r.message.begin(), r.message.end());
            if (auto we = co_await write_message(*stream, *socket, *deadline, out)) break;
            continue;
        }

        if (!co_await stream_transfer(*stream, *socket, *deadline, r, peer_name, address, out) || stopping)
            break;
    }
    if constexpr (std::is_same_v<Stream, TlsStream>) stream->shutdown();
    end_connection(socket, remote, *deadline);
}

awaitable<std::vector<uint8_t>> DnsListeners::State::answer_when_durable(
    std::shared_ptr<xfr::DeferredAnswer> answer) {
    Result<void, std::string> synced;
    if (auto now = answer->sync_unless_running(); !now) {
        synced = unexpected(now.error());
    } else if (!*now) {
        // The sync thread's coroutine holds the answer only, not this State. (A coroutine of its own, its
        // argument copied into its frame: a coroutine lambda's captures would not outlive the lambda.)
        synced = co_await asio::co_spawn(journal_syncs, sync_deferred(answer), asio::use_awaitable);
    }
    co_return answer->finish(synced);
}

void DnsListeners::State::end_connection(const std::shared_ptr<tcp::socket>& socket,
                                         const tcp::endpoint& remote, Deadline& deadline) {
    boost::system::error_code ignored;
    socket->close(ignored);
    deadline.timer.cancel();
    std::lock_guard lock(mutex);
    connections.remove(socket);
    if (auto it = per_client.find(remote.address()); it != per_client.end() && --it->second == 0)
        per_client.erase(it);
}

template <class Stream>
awaitable<bool> DnsListeners::State::read_query(Stream& stream, Deadline& deadline,
                                                const std::string& peer_name, QueryTransport transport,
                                                std::vector<uint8_t>& query) {
    // RFC 7766 §6.2.3: the idle timeout applies while waiting for the next query.
    deadline.at = Clock::now() + options.tcp_idle_timeout;
    // RFC 1035 §4.2.2: each message is preceded by its length in two octets.
    uint8_t len_buf[2];
    if (auto len_error = co_await read_exact(stream, asio::buffer(len_buf))) co_return false;
    const std::size_t len = (std::size_t{len_buf[0]} << 8) | len_buf[1];
    if (len > options.max_query_size) {
        // Not even read, nothing allocated for it: no query to a primary is that long.
        size_warnings.warn("closing TCP connection from {}: {}-octet query announced (max_query_size = {})",
                           peer_name, len, options.max_query_size);
        if (counters != nullptr) counters->count_dropped(transport);  // as UDP counts one too long
        co_return false;
    }
    query.resize(len);
    co_return !co_await read_exact(stream, asio::buffer(query));
}

template <class Stream>
awaitable<bool> DnsListeners::State::stream_transfer(Stream& stream, tcp::socket& socket, Deadline& deadline,
                                                     xfr::Response& r, const std::string& peer_name,
                                                     const std::string& address, std::vector<uint8_t>& out) {
    // One message at a time, each with its own write deadline (docs/interop.md: never cut an active
    // transfer for being long). admit_transfer() took its slot; it is given back below.
    xfr::TransferEvent& event = *r.event;
    const auto started = Clock::now();
    const xfr::FaultPlan& lab = r.transfer->faults();  // lab mode (docs/lab.md); empty otherwise
    xfr::Step step = xfr::Step::More;
    while (step == xfr::Step::More) {
        if (lab.shapes_stream() &&
            !co_await lab_pause(socket, deadline, lab, r.transfer->messages(), event.bytes, started)) {
            event.outcome = stopping ? xfr::TransferOutcome::Shutdown : xfr::TransferOutcome::TimedOut;
            event.detail = lab.describe() + ": the connection ended during the pause";
            break;
        }
        out.assign(2, 0);
        try {
            step = r.transfer->next(out, unix_now());
        } catch (const std::exception& e) {
            event.outcome = xfr::TransferOutcome::InternalError;
            event.detail = std::string("bug: ") + e.what();
            break;
        }
        const std::size_t msg_len = out.size() - 2;
        out[0] = static_cast<uint8_t>(msg_len >> 8);
        out[1] = static_cast<uint8_t>(msg_len);
        // A cut-bytes fault may end the stream inside this message: only its first octets go out.
        const std::size_t allowed = xfr::octets_before_cut(lab, event.bytes, out.size());
        const bool partial = allowed < out.size();
        if (partial) out.resize(allowed);
        if (auto we = co_await write_message(stream, socket, deadline, out)) {
            event.outcome = write_outcome(we, deadline.fired, stopping);
            event.detail = deadline.fired ? "the peer took nothing for " +
                                                std::to_string(options.tcp_write_timeout.count()) +
                                                " ms (tcp_write_timeout)"
                                          : we.message();
            break;
        }
        event.bytes += out.size();
        if (const auto cut = xfr::cut_after(lab, r.transfer->messages(), event.bytes);
            cut != xfr::StreamCut::None && (step == xfr::Step::More || partial)) {
            event.outcome = xfr::TransferOutcome::LabCut;
            event.detail = lab.describe() + (cut == xfr::StreamCut::Reset ? ": reset" : ": closed");
            if (cut == xfr::StreamCut::Reset) reset(socket);
            boost::system::error_code ignored;
            socket.close(ignored);
            break;
        }
    }
    event.messages = r.transfer->messages();
    event.records = r.transfer->records();
    event.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    end_transfer();
    if (events) events(PeerEvent{peer_name, address, &r, &event});
    co_return event.outcome == xfr::TransferOutcome::Ok;
}

awaitable<bool> DnsListeners::State::lab_pause(tcp::socket& socket, Deadline& deadline,
                                               const xfr::FaultPlan& lab, std::size_t index,
                                               std::size_t bytes, Clock::time_point started) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    const auto wait = std::chrono::milliseconds(
        xfr::wait_before_message(lab, index, bytes, static_cast<uint64_t>(elapsed.count())));
    if (wait.count() == 0) co_return true;
    // Not a write: the watchdog must not count the pause as the peer's stall (its deadline moves past it).
    deadline.writing = false;
    deadline.at = Clock::now() + wait + options.tcp_write_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = Clock::now() + wait;
    // In slices, so a shutdown or a closed socket ends a long stall promptly.
    constexpr auto kSlice = std::chrono::milliseconds(200);
    while (Clock::now() < until && socket.is_open() && !stopping) {
        timer.expires_after(std::min<Clock::duration>(kSlice, until - Clock::now()));
        (void)co_await timer.async_wait(kTuple);
    }
    co_return socket.is_open() && !stopping;
}

template <class Stream>
awaitable<boost::system::error_code> DnsListeners::State::write_message(Stream& stream, tcp::socket& socket,
                                                                        Deadline& deadline,
                                                                        std::span<const uint8_t> data) {
    deadline.at = Clock::now() + options.tcp_write_timeout;
    deadline.acked_mark = acked_octets(socket, deadline.handed, deadline.tls).value_or(0);
    deadline.confirming = false;
    deadline.writing = true;
    deadline.timer.cancel();  // the watchdog re-arms at the (possibly earlier) new deadline
    boost::system::error_code result;
    while (!data.empty()) {
        auto [ec, n] = co_await write_some(stream, asio::buffer(data.data(), data.size()));
        if (ec) {
            result = ec;
            break;
        }
        deadline.handed += n;
        data = data.subspan(n);
    }
    deadline.writing = false;
    co_return result;
}

std::string DnsListeners::State::admit_transfer(const xfr::Peer& peer) {
    std::size_t running = transfers.load();
    while (running < options.max_transfers) {
        if (transfers.compare_exchange_weak(running, running + 1)) return {};
    }
    transfer_warnings.warn("transfer limit reached: {} running (max_transfers); answering {} SERVFAIL",
                           running, peer.address.to_string());
    return "transfer limit reached: " + std::to_string(running) +
           " running (max_transfers = " + std::to_string(options.max_transfers) + ")";
}

void DnsListeners::State::end_transfer() {
    if (--transfers != 0) return;
    std::function<void()> done;
    {
        std::lock_guard lock(idle_mutex);
        done.swap(transfers_done);
    }
    if (done) done();
}

}  // namespace headwater::server
