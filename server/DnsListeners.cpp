#include "server/DnsListeners.h"
#include "server/AsioSupport.h"

#include <list>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

namespace headwater::server {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

std::string peer_text(const asio::ip::address& a, uint16_t port) {
    return a.to_string() + "#" + std::to_string(port);
}

}  // namespace

struct DnsListeners::State : std::enable_shared_from_this<DnsListeners::State> {
    asio::io_context& io;
    const xfr::Responder& responder;
    ListenerOptions options;
    EventSink events;
    std::vector<std::unique_ptr<udp::socket>> udp_sockets;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::list<std::shared_ptr<tcp::socket>> connections;  // every open TCP connection
    std::atomic<std::size_t> transfers{0};
    std::mutex mutex;  // guards `connections` (the io_context may run on several threads)
    std::atomic<bool> stopping{false};

    State(asio::io_context& i, const xfr::Responder& r, ListenerOptions o, EventSink l)
        : io(i), responder(r), options(o), events(std::move(l)) {}

    awaitable<void> udp_loop(udp::socket& socket);
    awaitable<void> accept_loop(tcp::acceptor& acceptor);
    awaitable<void> serve_connection(std::shared_ptr<tcp::socket> socket);
    struct Deadline {
        explicit Deadline(asio::io_context& io) : timer(io) {}
        asio::steady_timer timer;
        Clock::time_point at;
    };
    awaitable<void> watchdog(std::shared_ptr<tcp::socket> socket, std::shared_ptr<Deadline> deadline);
};

DnsListeners::DnsListeners(asio::io_context& io, const xfr::Responder& responder, ListenerOptions options,
                           EventSink events)
    : state_(std::make_shared<State>(io, responder, options, std::move(events))) {}

DnsListeners::~DnsListeners() {
    close_all();
}

dns::Result<void, std::string> DnsListeners::open(const std::vector<dns::Endpoint>& endpoints) {
    for (const auto& ep : endpoints) {
        const auto address = to_asio(ep.address);
        boost::system::error_code ec;
        auto u = std::make_unique<udp::socket>(state_->io);
        const udp::endpoint uep(address, ep.port);
        u->open(uep.protocol(), ec);
        // An IPv6 socket serves IPv6 only, so "[::]:53" and "0.0.0.0:53" can both be configured.
        if (!ec && address.is_v6()) u->set_option(asio::ip::v6_only(true), ec);
        if (!ec) u->bind(uep, ec);
        if (ec) {
            state_->udp_sockets.clear();
            state_->acceptors.clear();
            return dns::unexpected("cannot listen on UDP " + ep.to_string() + ": " + ec.message());
        }
        auto t = std::make_unique<tcp::acceptor>(state_->io);
        const tcp::endpoint tep(address, ep.port);
        t->open(tep.protocol(), ec);
        if (!ec) t->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec && address.is_v6()) t->set_option(asio::ip::v6_only(true), ec);
        if (!ec) t->bind(tep, ec);
        if (!ec) t->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            state_->udp_sockets.clear();
            state_->acceptors.clear();
            return dns::unexpected("cannot listen on TCP " + ep.to_string() + ": " + ec.message());
        }
        state_->udp_sockets.push_back(std::move(u));
        state_->acceptors.push_back(std::move(t));
    }
    for (auto& u : state_->udp_sockets)
        asio::co_spawn(
            state_->io, [s = state_, &sock = *u]() { return s->udp_loop(sock); }, asio::detached);
    for (auto& a : state_->acceptors)
        asio::co_spawn(
            state_->io, [s = state_, &acc = *a]() { return s->accept_loop(acc); }, asio::detached);
    return {};
}

void DnsListeners::stop_accepting() {
    auto s = state_;
    asio::dispatch(s->io, [s] {
        s->stopping = true;
        boost::system::error_code ec;
        for (auto& u : s->udp_sockets) u->close(ec);
        for (auto& a : s->acceptors) a->close(ec);
        // Idle connections go now; one busy with a transfer closes itself when the transfer ends.
        std::lock_guard lock(s->mutex);
        for (auto& c : s->connections) c->shutdown(tcp::socket::shutdown_receive, ec);
    });
}

void DnsListeners::close_all() {
    auto s = state_;
    boost::system::error_code ec;
    std::lock_guard lock(s->mutex);
    for (auto& c : s->connections) c->close(ec);
}

std::size_t DnsListeners::active_transfers() const {
    return state_->transfers.load();
}

std::size_t DnsListeners::connections() const {
    std::lock_guard lock(state_->mutex);
    return state_->connections.size();
}

awaitable<void> DnsListeners::State::udp_loop(udp::socket& socket) {
    auto self = shared_from_this();
    std::vector<uint8_t> buf(65535);
    udp::endpoint from;
    while (!stopping) {
        auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf), from, kTuple);
        if (ec == asio::error::operation_aborted || !socket.is_open()) co_return;
        if (ec) continue;  // e.g. ICMP port unreachable reported on a later receive
        xfr::Peer peer{to_ip(from.address()), from.port(), xfr::Transport::Udp};
        xfr::Response r;
        try {
            r = responder.respond(std::span<const uint8_t>(buf.data(), n), peer, unix_now());
        } catch (const std::exception& e) {
            spdlog::error("bug while answering {}: {}", peer_text(from.address(), from.port()), e.what());
            continue;
        }
        if (events && (r.refusal || r.soa_query || r.up_to_date))
            events(
                PeerEvent{peer_text(from.address(), from.port()), from.address().to_string(), &r, nullptr});
        if (r.kind != xfr::Response::Kind::Message) continue;
        auto [wec, wn] = co_await socket.async_send_to(asio::buffer(r.message), from, kTuple);
        (void)wn;
        if (wec == asio::error::operation_aborted) co_return;
    }
}

awaitable<void> DnsListeners::State::accept_loop(tcp::acceptor& acceptor) {
    auto self = shared_from_this();
    while (!stopping) {
        auto [ec, socket] = co_await acceptor.async_accept(kTuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors and the like: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer t(io, std::chrono::milliseconds(100));
            co_await t.async_wait(kTuple);
            continue;
        }
        auto conn = std::make_shared<tcp::socket>(std::move(socket));
        {
            std::lock_guard lock(mutex);
            if (connections.size() >= options.tcp_max_connections) {
                boost::system::error_code ignored;
                spdlog::warn("TCP connection limit ({}) reached, closing connection from {}",
                             options.tcp_max_connections,
                             peer_text(conn->remote_endpoint(ignored).address(),
                                       conn->remote_endpoint(ignored).port()));
                conn->close(ignored);
                continue;
            }
            connections.push_back(conn);
        }
        asio::co_spawn(io, serve_connection(conn), asio::detached);
    }
}

awaitable<void> DnsListeners::State::watchdog(std::shared_ptr<tcp::socket> socket,
                                              std::shared_ptr<Deadline> deadline) {
    // Closes the socket once the deadline passes; the connection moves the deadline as it works and
    // cancels the timer when it ends.
    while (socket->is_open()) {
        if (deadline->at <= Clock::now()) {
            boost::system::error_code ec;
            socket->close(ec);
            co_return;
        }
        deadline->timer.expires_at(deadline->at);
        auto [ec] = co_await deadline->timer.async_wait(kTuple);
        if (ec == asio::error::operation_aborted && !socket->is_open()) co_return;
    }
}

awaitable<void> DnsListeners::State::serve_connection(std::shared_ptr<tcp::socket> socket) {
    auto self = shared_from_this();
    boost::system::error_code ec;
    const auto remote = socket->remote_endpoint(ec);
    const std::string peer_name = peer_text(remote.address(), remote.port());
    const xfr::Peer peer{to_ip(remote.address()), remote.port(), xfr::Transport::Tcp};
    auto deadline = std::make_shared<Deadline>(io);
    deadline->at = Clock::now() + options.tcp_idle_timeout;
    asio::co_spawn(io, watchdog(socket, deadline), asio::detached);

    std::vector<uint8_t> query;
    std::vector<uint8_t> out;
    while (socket->is_open()) {
        // RFC 7766 §6.2.3: the idle timeout applies while waiting for the next query.
        deadline->at = Clock::now() + options.tcp_idle_timeout;
        uint8_t len_buf[2];
        auto [e1, n1] = co_await asio::async_read(*socket, asio::buffer(len_buf), kTuple);
        if (e1) break;
        const std::size_t len = (std::size_t{len_buf[0]} << 8) | len_buf[1];
        query.resize(len);
        auto [e2, n2] = co_await asio::async_read(*socket, asio::buffer(query), kTuple);
        if (e2) break;
        (void)n1;
        (void)n2;

        xfr::Response r;
        try {
            r = responder.respond(query, peer, unix_now());
        } catch (const std::exception& e) {
            spdlog::error("bug while answering {}: {}", peer_name, e.what());
            break;
        }
        if (events && (r.refusal || r.soa_query || r.up_to_date))
            events(PeerEvent{peer_name, remote.address().to_string(), &r, nullptr});
        if (r.kind == xfr::Response::Kind::Drop) {
            // A TCP stream that carried garbage without a header cannot be trusted to stay in sync.
            break;
        }
        if (r.kind == xfr::Response::Kind::Message) {
            out.clear();
            out.push_back(static_cast<uint8_t>(r.message.size() >> 8));
            out.push_back(static_cast<uint8_t>(r.message.size()));
            out.insert(out.end(), r.message.begin(), r.message.end());
            deadline->at = Clock::now() + options.tcp_write_timeout;
            deadline->timer.cancel();  // the watchdog re-arms at the (possibly earlier) new deadline
            auto [we, wn] = co_await asio::async_write(*socket, asio::buffer(out), kTuple);
            (void)wn;
            if (we) break;
            continue;
        }

        // A transfer: one message at a time, each with its own write deadline (INTEROP.md: never cut an
        // active transfer for being long).
        ++transfers;
        TransferRecord rec;
        rec.zone = r.transfer->version().apex().to_string();
        rec.type = r.transfer_type;
        rec.form = r.transfer->incremental() ? "ixfr" : "axfr";
        rec.peer = peer_name;
        rec.key = r.key;
        rec.rule = r.acl_rule;
        rec.serial = r.transfer->version().serial().value();
        const auto started = Clock::now();
        std::string outcome = "ok";
        xfr::Step step = xfr::Step::More;
        while (step == xfr::Step::More) {
            out.assign(2, 0);
            try {
                step = r.transfer->next(out, unix_now());
            } catch (const std::exception& e) {
                outcome = std::string("aborted: bug: ") + e.what();
                break;
            }
            const std::size_t msg_len = out.size() - 2;
            out[0] = static_cast<uint8_t>(msg_len >> 8);
            out[1] = static_cast<uint8_t>(msg_len);
            deadline->at = Clock::now() + options.tcp_write_timeout;
            deadline->timer.cancel();  // the watchdog re-arms at the (possibly earlier) new deadline
            auto [we, wn] = co_await asio::async_write(*socket, asio::buffer(out), kTuple);
            if (we) {
                outcome = "aborted: " + we.message();
                break;
            }
            rec.bytes += wn;
        }
        rec.messages = r.transfer->messages();
        rec.records = r.transfer->records();
        rec.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        rec.outcome = outcome;
        --transfers;
        rec.client_serial = r.client_serial;
        if (events) events(PeerEvent{peer_name, remote.address().to_string(), &r, &rec});
        if (outcome != "ok" || stopping) break;
    }
    boost::system::error_code ignored;
    socket->close(ignored);
    deadline->timer.cancel();
    std::lock_guard lock(mutex);
    connections.remove(socket);
}

}  // namespace headwater::server
