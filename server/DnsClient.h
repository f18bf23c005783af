// The client side the verifier needs: one query over UDP or TCP, and a TCP stream of messages
// for a zone transfer, every step bounded by a timeout. Plain bytes in and out; parsing and TSIG are the
// caller's. Runs on whatever executor the coroutine runs on.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "zone/base/Result.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"

namespace headwater::server {

struct ClientFailure {
    enum class Kind : uint8_t { Timeout, Network, Closed };
    Kind kind = Kind::Network;
    std::string message;  // "timeout after 2000 ms", "connection refused", ...
};

// A query for (name, type, IN) with RD clear (we ask the authority itself) and a fresh ID; `edns` adds an
// OPT record offering 1232 octets; `reserve`: room kept for a TSIG record appended after
// (tsig::ClientSequence::reserve_size()).
std::vector<uint8_t> build_query(dns::NameView name, dns::RRType type, bool edns, std::size_t reserve = 0);
// The same with EDNS and the DO bit set (RFC 3225 §3, RFC 4035 §3.2.1): the authority answers with the
// RRSIGs (and the denial proofs) of a signed zone.
std::vector<uint8_t> build_dnssec_query(dns::NameView name, dns::RRType type);

// A DNS message ID for a query of ours: from the CSPRNG (tsig::random_bytes), so an off-path attacker
// cannot guess it and answer first (RFC 5452 §4.3); a seeded PRNG if OpenSSL's is not available.
uint16_t random_query_id();

// Sends `query` over UDP and returns the first datagram from `server` whose ID matches (others are
// dropped: a late answer to an earlier try must not be taken for this one).
boost::asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> udp_exchange(
    dns::Endpoint server, std::span<const uint8_t> query, std::chrono::milliseconds timeout);

// A TCP connection carrying RFC 1035 §4.2.2 length-prefixed messages.
class TcpClient {
  public:
    static boost::asio::awaitable<Result<std::unique_ptr<TcpClient>, ClientFailure>> connect(
        dns::Endpoint server, std::chrono::milliseconds timeout);

    boost::asio::awaitable<Result<void, ClientFailure>> send(std::span<const uint8_t> message,
                                                             std::chrono::milliseconds timeout);
    // The next message; Closed when the peer closed the connection between messages.
    boost::asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> receive(
        std::chrono::milliseconds timeout);

    explicit TcpClient(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  private:
    boost::asio::ip::tcp::socket socket_;
};

// One query over TCP on a fresh connection.
boost::asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> tcp_exchange(
    dns::Endpoint server, std::span<const uint8_t> query, std::chrono::milliseconds timeout);

// One query the way a resolver asks an authority: UDP, once more over UDP when the first datagram got no
// answer (one lost datagram is not a failure), then TCP when the answer is truncated or never came
// (RFC 7766 §5).
boost::asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> exchange(
    dns::Endpoint server, std::span<const uint8_t> query, std::chrono::milliseconds timeout);

}  // namespace headwater::server
