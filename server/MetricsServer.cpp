#include "server/MetricsServer.h"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/AsioSupport.h"

namespace headwater::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using tcp = asio::ip::tcp;

namespace {

// A scraper sends a request well within this; an idle keep-alive connection is closed after it.
constexpr std::chrono::seconds kIdleTimeout{30};
constexpr std::size_t kMaxHeader = 8192;
constexpr unsigned kMaxConnections = 64;  // scrapers are few; more connections at once are refused

http::response<http::string_body> answer(const http::request<http::empty_body>& req,
                                         const MetricsServer::Render& render) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "headwater");
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "only GET and HEAD\n";
    } else if (path == "/metrics") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = render();
    } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "headwater: the metrics are at /metrics\n";
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays the GET body's
    return res;
}

}  // namespace

struct MetricsServer::State {
    explicit State(Render r) : render(std::move(r)) {}

    Render render;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
    unsigned connections = 0;  // only touched on the io thread

    awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(kTuple);
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
                spdlog::warn("metrics: accept failed: {}", ec.message());
                continue;
            }
            if (connections >= kMaxConnections) {
                boost::system::error_code ignored;
                socket.close(ignored);
                continue;
            }
            // Coroutine frames refer to this State: they live in `io`, which it outlives only by its
            // own destruction (the io_context destroys what is left before the members it uses).
            asio::co_spawn(io, serve(std::move(socket)), asio::detached);
        }
    }

    awaitable<void> serve(tcp::socket socket) {
        ++connections;
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(kMaxHeader);
            parser.body_limit(0);
            stream.expires_after(kIdleTimeout);
            auto [rec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
            if (rec) break;  // closed, timed out or malformed: nothing worth answering
            auto res = answer(parser.get(), render);
            stream.expires_after(kIdleTimeout);
            auto [wec, written] = co_await http::async_write(stream, res, kTuple);
            if (wec || !res.keep_alive()) break;
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
        --connections;
    }
};

MetricsServer::MetricsServer(Render render) : state_(std::make_unique<State>(std::move(render))) {}

MetricsServer::~MetricsServer() {
    stop();
}

Result<void, std::string> MetricsServer::open(const dns::Endpoint& endpoint) {
    const tcp::endpoint ep(to_asio(endpoint.address), endpoint.port);
    boost::system::error_code ec;
    auto& acceptor = state_->acceptor;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return {};
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return unexpected("metrics_listen " + endpoint.to_string() + ": " + ec.message());
}

uint16_t MetricsServer::port() const {
    boost::system::error_code ec;
    const auto ep = state_->acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
}

void MetricsServer::start() {
    if (state_->thread.joinable() || !state_->acceptor.is_open()) return;
    asio::co_spawn(state_->io, state_->accept_loop(), asio::detached);
    state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

void MetricsServer::stop() {
    if (!state_->thread.joinable()) return;
    state_->io.stop();
    state_->thread.join();
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
}

}  // namespace headwater::server
