#include "server/UdpWorkers.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <system_error>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/udp.hpp>

#include "server/AsioSupport.h"
#include "server/WarningThrottle.h"

namespace headwater::server {

namespace {

// Only for its sockaddr storage and the conversions (AsioSupport.h): no Asio I/O runs here.
using SocketAddress = boost::asio::ip::udp::endpoint;

constexpr std::size_t kBatch = 32;           // datagrams per recvmmsg/sendmmsg
constexpr std::size_t kMaxDatagram = 65535;  // UDP payload limit (EDNS buffers never exceed it)
constexpr int kPollMs = 200;                 // how soon a thread notices stop()

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

// When each address last had an SOA query reported (unix seconds), per thread; cleared when it grows past
// kMaxSeen so a spoofed flood from many addresses cannot grow it without bound.
using SeenAddresses = std::unordered_map<std::string, uint64_t>;
constexpr std::size_t kMaxSeen = 4096;

bool recently_reported(SeenAddresses& seen, const dns::IpAddress& address, uint64_t now) {
    const auto bytes = address.bytes();
    std::string key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (const auto it = seen.find(key); it != seen.end()) {
        if (it->second == now) return true;
        it->second = now;
        return false;
    }
    if (seen.size() >= kMaxSeen) seen.clear();
    seen.emplace(std::move(key), now);
    return false;
}

}  // namespace

std::size_t udp_thread_count(std::size_t configured) {
    if (configured > 0) return configured;
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
}

UdpWorkers::UdpWorkers(const xfr::Responder& responder, DnsListeners::EventSink events, std::size_t threads,
                       std::size_t max_query_size)
    : responder_(responder),
      events_(std::move(events)),
      threads_(std::max<std::size_t>(threads, 1)),
      max_query_size_(max_query_size) {}

UdpWorkers::~UdpWorkers() {
    stop();
    for (auto& list : sockets_)
        for (int fd : list) ::close(fd);
}

dns::Result<void, std::string> UdpWorkers::open(const std::vector<dns::Endpoint>& endpoints) {
    std::vector<std::vector<int>> sockets(threads_);
    auto fail = [&sockets](std::string message) {
        for (auto& list : sockets)
            for (int fd : list) ::close(fd);
        return dns::unexpected(std::move(message));
    };
    for (const auto& ep : endpoints) {
        const SocketAddress addr(to_asio(ep.address), ep.port);
        for (std::size_t t = 0; t < threads_; ++t) {
            const int fd = ::socket(addr.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) return fail("cannot listen on UDP " + ep.to_string() + ": " + errno_text(errno));
            sockets[t].push_back(fd);
            const int one = 1;
            // SO_REUSEPORT: the kernel hashes each client's flow to one of the sockets (same port). Only
            // sockets of the same user may join, so another user cannot steal our queries.
            if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
                (ep.address.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
                ::bind(fd, addr.data(), static_cast<socklen_t>(addr.size())) != 0)
                return fail("cannot listen on UDP " + ep.to_string() + ": " + errno_text(errno));
        }
    }
    sockets_ = std::move(sockets);
    return {};
}

void UdpWorkers::start() {
    for (std::size_t t = 0; t < sockets_.size(); ++t) workers_.emplace_back([this, t] { run(sockets_[t]); });
}

void UdpWorkers::stop() {
    stopping_ = true;
    for (auto& w : workers_)
        if (w.joinable()) w.join();
    workers_.clear();
}

void UdpWorkers::run(const std::vector<int>& sockets) {
    // Not zero-filled (new[] without ()): pages the kernel never writes to stay unmapped, so 2 MiB per
    // thread costs only what queries actually touch.
    const std::unique_ptr<uint8_t[]> buffers(new uint8_t[kBatch * kMaxDatagram]);
    std::array<iovec, kBatch> in_iov{};
    std::array<SocketAddress, kBatch> from{};
    std::array<mmsghdr, kBatch> in{};
    std::array<xfr::Response, kBatch> answers;
    std::array<iovec, kBatch> out_iov{};
    std::array<mmsghdr, kBatch> out{};
    WarningThrottle size_warnings;
    SeenAddresses soa_seen;
    std::vector<pollfd> polls;
    polls.reserve(sockets.size());
    for (int fd : sockets) polls.push_back({fd, POLLIN, 0});

    while (!stopping_.load(std::memory_order_relaxed)) {
        const int ready = ::poll(polls.data(), polls.size(), kPollMs);
        if (ready <= 0) continue;
        for (auto& p : polls) {
            if ((p.revents & POLLIN) == 0) continue;
            for (std::size_t i = 0; i < kBatch; ++i) {
                in_iov[i] = {buffers.get() + i * kMaxDatagram, kMaxDatagram};
                in[i].msg_hdr = {};
                in[i].msg_hdr.msg_name = from[i].data();
                in[i].msg_hdr.msg_namelen = static_cast<socklen_t>(from[i].capacity());
                in[i].msg_hdr.msg_iov = &in_iov[i];
                in[i].msg_hdr.msg_iovlen = 1;
            }
            const int got = ::recvmmsg(p.fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
            if (got <= 0) continue;  // EAGAIN (another thread was faster) or a queued ICMP error
            const uint64_t now = unix_now();
            unsigned replies = 0;
            for (int i = 0; i < got; ++i) {
                from[i].resize(in[i].msg_hdr.msg_namelen);
                const xfr::Peer peer{to_ip(from[i].address()), from[i].port(), xfr::Transport::Udp};
                if (in[i].msg_len > max_query_size_) {
                    size_warnings.warn("dropped a {}-octet UDP query from {} (max_query_size = {})",
                                       in[i].msg_len, peer_text(peer.address, peer.port), max_query_size_);
                    continue;
                }
                xfr::Response& r = answers[replies];
                try {
                    r = responder_.respond(
                        std::span<const uint8_t>(buffers.get() + i * kMaxDatagram, in[i].msg_len), peer, now);
                } catch (const std::exception& e) {
                    spdlog::error("bug while answering {}: {}", peer_text(peer.address, peer.port), e.what());
                    continue;
                }
                // An apex SOA query only refreshes the peer's "last SOA query" time; a secondary polling
                // (or a benchmark) sends thousands a second. Report it at most once a second per address
                // and thread: the registry's mutex and strings stay off the hot path.
                const bool soa_only = r.soa_query && !r.refusal && !r.up_to_date;
                const bool report = events_ && (r.refusal || r.soa_query || r.up_to_date) &&
                                    !(soa_only && recently_reported(soa_seen, peer.address, now));
                if (report)
                    events_(
                        PeerEvent{peer_text(peer.address, peer.port), peer.address.to_string(), &r, nullptr});
                if (r.kind != xfr::Response::Kind::Message) continue;
                out_iov[replies] = {r.message.data(), r.message.size()};
                out[replies].msg_hdr = {};
                out[replies].msg_hdr.msg_name = from[i].data();
                out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
                out[replies].msg_hdr.msg_iov = &out_iov[replies];
                out[replies].msg_hdr.msg_iovlen = 1;
                ++replies;
            }
            for (unsigned sent = 0; sent < replies;) {
                const int n = ::sendmmsg(p.fd, out.data() + sent, replies - sent, 0);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    ++sent;  // this datagram failed (e.g. unreachable): skip it, send the rest
                    continue;
                }
                sent += static_cast<unsigned>(n);
            }
        }
    }
}

}  // namespace headwater::server
