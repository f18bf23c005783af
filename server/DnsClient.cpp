#include "server/DnsClient.h"

#include <array>
#include <random>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "server/AsioSupport.h"
#include "tsig/Hmac.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::server {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

std::vector<uint8_t> build_query(dns::NameView name, dns::RRType type, bool edns, std::size_t reserve) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder b(buf, 512);
    b.header(random_query_id(), 0);  // RD clear: we ask the authority itself
    b.question(name, static_cast<uint16_t>(type), 1);
    if (edns) b.set_edns(1232, false);
    b.reserve(reserve);
    b.finish();
    return buf;
}

std::vector<uint8_t> build_dnssec_query(dns::NameView name, dns::RRType type) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder b(buf, 512);
    b.header(random_query_id(), 0);
    b.question(name, static_cast<uint16_t>(type), 1);
    b.set_edns(1232, true);
    b.finish();
    return buf;
}

namespace {

ClientFailure timeout_failure(std::chrono::milliseconds timeout) {
    return {ClientFailure::Kind::Timeout, "timeout after " + std::to_string(timeout.count()) + " ms"};
}

ClientFailure network_failure(const boost::system::error_code& ec) {
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
        return {ClientFailure::Kind::Closed, "connection closed by the peer"};
    return {ClientFailure::Kind::Network, ec.message()};
}

uint16_t message_id(std::span<const uint8_t> m) {
    return m.size() < 2 ? 0 : static_cast<uint16_t>((m[0] << 8) | m[1]);
}

}  // namespace

uint16_t random_query_id() {
    uint8_t b[2];
    if (tsig::random_bytes(b)) return static_cast<uint16_t>(b[0] << 8 | b[1]);
    static thread_local std::mt19937 fallback{std::random_device{}()};
    return static_cast<uint16_t>(fallback());
}

asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> udp_exchange(dns::Endpoint server,
                                                                          std::span<const uint8_t> query,
                                                                          std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    const asio::ip::udp::endpoint to(to_asio(server.address), server.port);
    asio::ip::udp::socket socket(ex);
    boost::system::error_code ec;
    socket.open(to.protocol(), ec);
    if (!ec) socket.connect(to, ec);  // connected: the kernel drops datagrams from other sources
    if (ec) co_return unexpected(network_failure(ec));
    const std::vector<uint8_t> request(query.begin(), query.end());
    if (auto [sec, n] = co_await socket.async_send(asio::buffer(request), kTuple); sec)
        co_return unexpected(network_failure(sec));

    asio::steady_timer timer(ex, timeout);
    std::vector<uint8_t> buf(65535);
    for (;;) {
        auto r = co_await (socket.async_receive(asio::buffer(buf), kTuple) || timer.async_wait(kTuple));
        if (r.index() == 1) co_return unexpected(timeout_failure(timeout));
        auto [rec, n] = std::get<0>(r);
        if (rec) co_return unexpected(network_failure(rec));
        if (n < 12 || message_id(buf) != message_id(request)) continue;
        buf.resize(n);
        co_return buf;
    }
}

asio::awaitable<Result<std::unique_ptr<TcpClient>, ClientFailure>> TcpClient::connect(
    dns::Endpoint server, std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(ex);
    asio::steady_timer timer(ex, timeout);
    const asio::ip::tcp::endpoint to(to_asio(server.address), server.port);
    auto r = co_await (socket.async_connect(to, kTuple) || timer.async_wait(kTuple));
    if (r.index() == 1) co_return unexpected(timeout_failure(timeout));
    if (auto [ec] = std::get<0>(r); ec) co_return unexpected(network_failure(ec));
    co_return std::make_unique<TcpClient>(std::move(socket));
}

asio::awaitable<Result<void, ClientFailure>> TcpClient::send(std::span<const uint8_t> message,
                                                             std::chrono::milliseconds timeout) {
    std::vector<uint8_t> framed;
    framed.reserve(message.size() + 2);
    framed.push_back(static_cast<uint8_t>(message.size() >> 8));
    framed.push_back(static_cast<uint8_t>(message.size()));
    framed.insert(framed.end(), message.begin(), message.end());
    asio::steady_timer timer(socket_.get_executor(), timeout);
    auto r = co_await (asio::async_write(socket_, asio::buffer(framed), kTuple) || timer.async_wait(kTuple));
    if (r.index() == 1) co_return unexpected(timeout_failure(timeout));
    if (auto [ec, n] = std::get<0>(r); ec) co_return unexpected(network_failure(ec));
    co_return Result<void, ClientFailure>{};
}

asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> TcpClient::receive(
    std::chrono::milliseconds timeout) {
    asio::steady_timer timer(socket_.get_executor(), timeout);
    std::array<uint8_t, 2> length{};
    auto r = co_await (asio::async_read(socket_, asio::buffer(length), kTuple) || timer.async_wait(kTuple));
    if (r.index() == 1) co_return unexpected(timeout_failure(timeout));
    if (auto [ec, n] = std::get<0>(r); ec) co_return unexpected(network_failure(ec));
    std::vector<uint8_t> message(static_cast<std::size_t>((length[0] << 8) | length[1]));
    auto body =
        co_await (asio::async_read(socket_, asio::buffer(message), kTuple) || timer.async_wait(kTuple));
    if (body.index() == 1) co_return unexpected(timeout_failure(timeout));
    if (auto [ec, n] = std::get<0>(body); ec) co_return unexpected(network_failure(ec));
    co_return message;
}

asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> tcp_exchange(dns::Endpoint server,
                                                                          std::span<const uint8_t> query,
                                                                          std::chrono::milliseconds timeout) {
    auto client = co_await TcpClient::connect(server, timeout);
    if (!client) co_return unexpected(client.error());
    if (auto sent = co_await (*client)->send(query, timeout); !sent) co_return unexpected(sent.error());
    for (;;) {
        auto answer = co_await (*client)->receive(timeout);
        if (!answer || message_id(*answer) == message_id(query)) co_return answer;
    }
}

asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> exchange(dns::Endpoint server,
                                                                      std::span<const uint8_t> query,
                                                                      std::chrono::milliseconds timeout) {
    auto answer = co_await udp_exchange(server, query, timeout);
    if (!answer && answer.error().kind == ClientFailure::Kind::Timeout)
        answer = co_await udp_exchange(server, query, timeout);
    bool retry_tcp = !answer;
    if (answer) {
        auto header = dns::Message::parse_header(*answer);
        retry_tcp = header && (header->flags & dns::flag::TC) != 0;
    }
    if (retry_tcp) answer = co_await tcp_exchange(server, query, timeout);
    co_return answer;
}

}  // namespace headwater::server
