#include "server/UdpWorkers.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/udp.hpp>

#include "server/AsioSupport.h"
#include "server/WarningThrottle.h"
#include "zone/base/ErrnoText.h"

namespace headwater::server {

namespace {

// Only for its sockaddr storage and the conversions (AsioSupport.h): no Asio I/O runs here.
using SocketAddress = boost::asio::ip::udp::endpoint;

constexpr std::size_t kBatch = 32;           // datagrams per recvmmsg/sendmmsg
constexpr std::size_t kMaxDatagram = 65535;  // UDP payload limit (EDNS buffers never exceed it)
constexpr int kPollMs = 200;                 // how soon a thread notices stop()

// When each address last had an SOA query reported (unix seconds), per thread; cleared when it grows past
// kMaxSeen so a spoofed flood from many addresses cannot grow it without bound. Keyed by the address's
// octets and their count (4 or 16), so a lookup at query rate allocates nothing.
using AddressKey = std::array<uint8_t, 17>;
struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const noexcept {
        return std::hash<std::string_view>{}(
            std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
    }
};
using SeenAddresses = std::unordered_map<AddressKey, uint64_t, AddressKeyHash>;
constexpr std::size_t kMaxSeen = 4096;

bool recently_reported(SeenAddresses& seen, const dns::IpAddress& address, uint64_t now) {
    const auto bytes = address.bytes();
    AddressKey key{};
    std::copy(bytes.begin(), bytes.end(), key.begin());
    key.back() = static_cast<uint8_t>(bytes.size());
    if (const auto it = seen.find(key); it != seen.end()) {
        if (it->second == now) return true;
        it->second = now;
        return false;
    }
    if (seen.size() >= kMaxSeen) seen.clear();
    seen.emplace(key, now);
    return false;
}

}  // namespace

std::size_t thread_count(std::size_t configured) {
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

Result<void, std::string> UdpWorkers::open(const std::vector<dns::Endpoint>& endpoints) {
    std::vector<std::vector<int>> sockets(threads_);
    auto fail = [&sockets](std::string message) {
        for (auto& list : sockets)
            for (int fd : list) ::close(fd);
        return unexpected(std::move(message));
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

// One thread's buffers: a batch of datagrams in, their answers out.
struct UdpWorkers::Batch {
    // Not zero-filled (new[] without ()): pages the kernel never writes to stay unmapped, so 2 MiB per
    // thread costs only what queries actually touch.
    std::unique_ptr<uint8_t[]> buffers{new uint8_t[kBatch * kMaxDatagram]};
    std::array<iovec, kBatch> in_iov{};
    std::array<SocketAddress, kBatch> from{};
    std::array<mmsghdr, kBatch> in{};
    std::array<xfr::Response, kBatch> answers;
    std::array<iovec, kBatch> out_iov{};
    std::array<mmsghdr, kBatch> out{};
    WarningThrottle size_warnings;
    WarningThrottle receive_warnings;
    SeenAddresses soa_seen;
};

// Reads one batch from `fd` (flags: MSG_DONTWAIT, or MSG_WAITFORONE to block for the first datagram up to
// the socket's receive timeout), answers it and sends the answers. Returns the datagrams read (0: none).
std::size_t UdpWorkers::serve_batch(Batch& b, int fd, int flags) {
    for (std::size_t i = 0; i < kBatch; ++i) {
        b.in_iov[i] = {b.buffers.get() + i * kMaxDatagram, kMaxDatagram};
        b.in[i].msg_hdr = {};
        b.in[i].msg_hdr.msg_name = b.from[i].data();
        b.in[i].msg_hdr.msg_namelen = static_cast<socklen_t>(b.from[i].capacity());
        b.in[i].msg_hdr.msg_iov = &b.in_iov[i];
        b.in[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = ::recvmmsg(fd, b.in.data(), kBatch, flags, nullptr);
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // Not "nothing there" (timeout, or another thread was faster): report it, and pause briefly so an
        // error that keeps coming back cannot turn the loop into a busy spin.
        b.receive_warnings.warn("UDP receive failed: {}", errno_text(errno));
        (void)::poll(nullptr, 0, 10);
    }
    if (got <= 0) return 0;
    const uint64_t now = unix_now();
    unsigned replies = 0;
    for (int i = 0; i < got; ++i) {
        b.from[i].resize(b.in[i].msg_hdr.msg_namelen);
        const xfr::Peer peer{to_ip(b.from[i].address()), b.from[i].port(), xfr::Transport::Udp};
        if (b.in[i].msg_len > max_query_size_) {
            b.size_warnings.warn("dropped a {}-octet UDP query from {} (max_query_size = {})",
                                 b.in[i].msg_len, peer_text(peer.address, peer.port), max_query_size_);
            if (counters_ != nullptr) counters_->count_dropped(QueryTransport::Udp);
            continue;
        }
        xfr::Response& r = b.answers[replies];
        try {
            r = responder_.respond(
                std::span<const uint8_t>(b.buffers.get() + i * kMaxDatagram, b.in[i].msg_len), peer, now);
        } catch (const std::exception& e) {
            spdlog::error("bug while answering {}: {}", peer_text(peer.address, peer.port), e.what());
            continue;
        }
        // An apex SOA query only refreshes the peer's "last SOA query" time; a secondary polling (or a
        // benchmark) sends thousands a second. Report it at most once a second per address and thread:
        // the registry's mutex and strings stay off the hot path.
        const bool soa_only = r.soa_query && !r.refused() && !r.up_to_date;
        const bool report =
            events_ && (r.refused() || r.soa_query || r.up_to_date) &&
            !(soa_only && r.lab.empty() && !every_soa_ && recently_reported(b.soa_seen, peer.address, now));
        if (report)
            events_(PeerEvent{peer_text(peer.address, peer.port), peer.address.to_string(), &r,
                              r.refused() ? &*r.event : nullptr});
        if (counters_ != nullptr) {
            if (r.kind == xfr::Response::Kind::Message)
                counters_->count_answer(QueryTransport::Udp, r.message);
            else
                counters_->count_dropped(QueryTransport::Udp);
        }
        if (r.kind != xfr::Response::Kind::Message) continue;
        b.out_iov[replies] = {r.message.data(), r.message.size()};
        b.out[replies].msg_hdr = {};
        b.out[replies].msg_hdr.msg_name = b.from[i].data();
        b.out[replies].msg_hdr.msg_namelen = b.in[i].msg_hdr.msg_namelen;
        b.out[replies].msg_hdr.msg_iov = &b.out_iov[replies];
        b.out[replies].msg_hdr.msg_iovlen = 1;
        ++replies;
    }
    for (unsigned sent = 0; sent < replies;) {
        const int n = ::sendmmsg(fd, b.out.data() + sent, replies - sent, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            ++sent;  // this datagram failed (e.g. unreachable): skip it, send the rest
            continue;
        }
        sent += static_cast<unsigned>(n);
    }
    return static_cast<std::size_t>(got);
}

void UdpWorkers::run(const std::vector<int>& sockets) {
    const auto batch = std::make_unique<Batch>();
    const timeval timeout{0, kPollMs * 1000};
    if (sockets.size() == 1 &&
        ::setsockopt(sockets[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0) {
        // The usual case, one listen address: block in recvmmsg itself (MSG_WAITFORONE returns as soon as
        // one datagram is there, with whatever else is queued), one system call per batch in and one out.
        // The receive timeout bounds how long stop() waits (without it, the poll loop below serves).
        while (!stopping_.load(std::memory_order_relaxed)) serve_batch(*batch, sockets[0], MSG_WAITFORONE);
        return;
    }
    // Several addresses: read every socket without blocking while any has datagrams, and sleep in poll
    // only once all of them are empty (no poll call per batch under load).
    std::vector<pollfd> polls;
    polls.reserve(sockets.size());
    for (int fd : sockets) polls.push_back({fd, POLLIN, 0});
    while (!stopping_.load(std::memory_order_relaxed)) {
        std::size_t read = 0;
        for (int fd : sockets) read += serve_batch(*batch, fd, MSG_DONTWAIT);
        if (read == 0) (void)::poll(polls.data(), polls.size(), kPollMs);
    }
}

}  // namespace headwater::server
