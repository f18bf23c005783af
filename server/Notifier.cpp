#include "server/Notifier.h"
#include "server/AsioSupport.h"
#include "server/DnsClient.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

namespace headwater::server {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

std::string target_text(const xfr::NotifyTargetState& s) {
    return s.address.to_string();
}

}  // namespace

Result<std::vector<NotifyZone>, std::string> notify_zones(const conf::Config& config,
                                                          const tsig::KeyStore& keys) {
    std::vector<NotifyZone> out;
    for (const auto& zc : config.zones) {
        if (zc.notify.empty()) continue;
        auto name = dns::Name::from_text(zc.name);
        if (!name) return unexpected("zone " + zc.name + ": " + name.error());
        NotifyZone nz{std::move(*name), {}, {}};
        nz.options.retries = zc.notify_retries;
        nz.options.retry_interval = std::chrono::milliseconds(zc.notify_retry_interval_ms);
        nz.options.delay = std::chrono::milliseconds(zc.notify_delay_ms);
        for (const auto& t : zc.notify) {
            xfr::NotifyTarget target{t.address, nullptr, t.source};
            if (!t.key.empty()) {
                auto key_name = dns::Name::from_text(t.key);
                if (key_name) target.key = keys.find(*key_name);
                if (!target.key)
                    return unexpected("zone " + zc.name + ": NOTIFY target " + t.address.to_string() +
                                      ": no key " + t.key);
            }
            nz.targets.push_back(std::move(target));
        }
        out.push_back(std::move(nz));
    }
    return out;
}

struct Notifier::State : std::enable_shared_from_this<Notifier::State> {
    struct Zone {
        std::unique_ptr<xfr::NotifyTracker> tracker;  // touched on the strand only
        std::vector<udp::socket*> sockets;     // per target: one of State::sockets (null before start())
        std::vector<dns::Endpoint> addresses;  // immutable copy for notify() lookups
        std::string name;                      // "example.com."
    };

    asio::io_context& io;
    asio::strand<asio::io_context::executor_type> strand;
    asio::steady_timer timer;
    std::vector<Zone> zones;  // the list is fixed after construction
    // Index of `zones` by lower-cased wire name: a change to one zone never walks them all.
    std::unordered_map<std::string, std::size_t> by_name;
    // The sockets, one per local address (a target's `source`, else the wildcard of its family), shared by
    // every zone and target sending from there: thousands of zones need not hold thousands of sockets and
    // receive buffers. An answer is matched to its zone by its question (RFC 1996 §4.7), then to the
    // target by address, port and ID in that zone's tracker.
    std::vector<std::unique_ptr<udp::socket>> sockets;
    std::map<udp::endpoint, udp::socket*> socket_by_local;
    std::function<void(const NotifyEvent&)> sink;  // set before start(), then read on the strand
    bool started = false;                          // strand (and start())
    bool stopped = false;                          // strand
    std::size_t max_in_flight = std::numeric_limits<std::size_t>::max();  // set before start()
    std::size_t first_zone = 0;  // strand: where send_due() starts, so no zone always goes first
    std::shared_ptr<const xfr::FaultBoard> lab;  // lab mode; set before start()

    mutable std::mutex mutex;  // guards the three members below
    std::vector<NotifyZoneState> snapshot;
    // The last serial and SOA announced per zone, for notify().
    std::vector<std::optional<std::pair<dns::Serial, std::vector<uint8_t>>>> announced;
    // Per zone, zone_changed() calls the strand has not taken up yet: their NOTIFY is not in the
    // snapshot's pending state until it has (unfinished_zones()).
    std::vector<unsigned> queued;

    explicit State(asio::io_context& i) : io(i), strand(asio::make_strand(i)), timer(strand) {}

    static std::string key(dns::NameView name) { return name.key(); }

    std::optional<std::size_t> find(dns::NameView zone) const {
        const auto it = by_name.find(key(zone));
        if (it == by_name.end()) return std::nullopt;
        return it->second;
    }

    // After every tracker change (on the strand): log the conclusions and publish the state.
    void publish(std::size_t z) {
        auto& zone = zones[z];
        for (const auto& o : zone.tracker->take_outcomes()) {
            const auto& s = zone.tracker->state(o.target);
            const std::string key = s.key_name.empty() ? "-" : s.key_name;
            if (o.acknowledged) {
                spdlog::info("notify zone={} target={} key={} serial={} tries={} outcome=ack", zone.name,
                             target_text(s), key, o.serial.value(), o.tries);
            } else {
                spdlog::warn("notify zone={} target={} key={} serial={} tries={} outcome=error error=\"{}\"",
                             zone.name, target_text(s), key, o.serial.value(), o.tries, o.error);
            }
            if (sink)
                sink(NotifyEvent{zone.name, target_text(s), key, o.serial, o.tries, o.acknowledged, o.error,
                                 false, o.hint_serial});
        }
        std::lock_guard lock(mutex);
        snapshot[z].targets = zone.tracker->states();
    }

    // A change from outside the timer loop: publish, and wake the loop to recompute the earliest wakeup.
    void changed(std::size_t z) {
        publish(z);
        timer.cancel();
    }

    std::size_t in_flight() const {
        std::size_t n = 0;
        for (const auto& zone : zones) n += zone.tracker->in_flight();
        return n;
    }

    void send_due() {
        const auto now = Clock::now();
        const uint64_t unix_time = unix_now();
        // Room for targets to start (server.notify_max_in_flight); retries in flight always go.
        const std::size_t busy = in_flight();
        std::size_t room = busy < max_in_flight ? max_in_flight - busy : 0;
        if (!zones.empty()) first_zone = (first_zone + 1) % zones.size();
        for (std::size_t k = 0; k < zones.size(); ++k) {
            const std::size_t z = (first_zone + k) % zones.size();
            auto& zone = zones[z];
            auto out = zone.tracker->due(now, unix_time, room);
            for (const auto& o : out)
                if (o.attempt == 1 && room > 0) --room;
            for (auto& o : out) {
                auto& socket = zone.sockets[o.target];
                const auto& t = zone.tracker->target(o.target);
                spdlog::debug("notify zone={} target={} serial={} try={}", zone.name, t.address.to_string(),
                              o.serial.value(), o.attempt);
                if (!socket || !socket->is_open()) continue;
                if (lab_skips(zone, o)) continue;
                auto buf = std::make_shared<std::vector<uint8_t>>(std::move(o.wire));
                const udp::endpoint to(to_asio(t.address.address), t.address.port);
                // A UDP send does not wait for the peer; a failure (no route) is retried like a loss.
                socket->async_send_to(
                    asio::buffer(*buf), to,
                    asio::bind_executor(
                        strand, [buf, name = zone.name, to](boost::system::error_code ec, std::size_t) {
                            if (ec && ec != asio::error::operation_aborted)
                                spdlog::debug("notify zone={} send to {} failed: {}", name,
                                              to.address().to_string(), ec.message());
                        }));
            }
            publish(z);
        }
    }

    // Lab mode (no-notify): the message is not sent, and the target is told so at once (withheld: no
    // retries, no give-up, so neither the failure counters nor the alerts take it for a broken target).
    bool lab_skips(Zone& zone, const xfr::NotifyTracker::Outgoing& o) {
        if (!lab) return false;
        const auto& t = zone.tracker->target(o.target);
        const std::string key = t.key ? t.key->name().to_string() : std::string("-");
        const xfr::FaultPlan plan = lab->current()->plan(zone.name, t.address.address, key);
        if (!plan.no_notify) return false;
        const std::string why = plan.describe() + ": not sent";
        zone.tracker->withhold(o.target, why, unix_now());
        if (sink)
            sink(NotifyEvent{.zone = zone.name,
                             .target = t.address.to_string(),
                             .key = key,
                             .serial = o.serial,
                             .tries = 0,
                             .acknowledged = false,
                             .error = why,
                             .withheld = true});
        return true;
    }

    awaitable<void> timer_loop() {
        auto self = shared_from_this();
        while (!stopped) {
            send_due();
            std::optional<Clock::time_point> next;
            // Without room, targets waiting to start must not wake us (they are due already): an answer
            // (changed()) or the next retry or give-up does.
            const bool can_start = in_flight() < max_in_flight;
            for (const auto& zone : zones) {
                auto w = zone.tracker->next_wakeup(can_start);
                if (w && (!next || *w < *next)) next = w;
            }
            // Nothing pending: sleep until poked (changed() cancels the wait).
            timer.expires_at(next ? *next : Clock::now() + std::chrono::hours(24));
            co_await timer.async_wait(kTuple);
        }
    }

    awaitable<void> receive_loop(udp::socket& socket) {
        auto self = shared_from_this();
        std::vector<uint8_t> buf(65535);
        udp::endpoint from;
        while (!stopped) {
            auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf), from, kTuple);
            if (ec == asio::error::operation_aborted || !socket.is_open() || stopped) co_return;
            if (ec) continue;  // e.g. an ICMP error reported on a later receive
            const dns::Endpoint peer{to_ip(from.address()), from.port()};
            const std::span<const uint8_t> wire(buf.data(), n);
            // The zone it is for is its question's name; the tracker checks the rest.
            const auto parsed = dns::Message::parse(wire);
            const auto z = parsed && parsed->question() ? find(parsed->question()->qname) : std::nullopt;
            if (!z || zones[*z].tracker->on_response(wire, *parsed, peer, Clock::now(), unix_now()) ==
                          xfr::NotifyTracker::Match::NotMatched) {
                spdlog::debug("notify ignored a datagram from {} (no matching NOTIFY)", peer.to_string());
                continue;
            }
            changed(*z);
        }
    }

    void close_sockets() {
        boost::system::error_code ec;
        for (auto& socket : sockets) socket->close(ec);
    }
};

Notifier::Notifier(asio::io_context& io, std::vector<NotifyZone> zones, xfr::NotifyTracker::IdGenerator ids)
    : state_(std::make_shared<State>(io)) {
    if (!ids) ids = random_query_id;
    for (auto& nz : zones) {
        State::Zone zone;
        zone.name = nz.zone.to_string();
        for (const auto& t : nz.targets) zone.addresses.push_back(t.address);
        zone.sockets.assign(nz.targets.size(), nullptr);
        zone.tracker =
            std::make_unique<xfr::NotifyTracker>(std::move(nz.zone), std::move(nz.targets), nz.options, ids);
        state_->snapshot.push_back(NotifyZoneState{zone.name, zone.tracker->states()});
        state_->by_name.emplace(State::key(zone.tracker->zone()), state_->zones.size());
        state_->zones.push_back(std::move(zone));
    }
    state_->announced.resize(state_->zones.size());
    state_->queued.resize(state_->zones.size());
}

Notifier::~Notifier() {
    // Close directly: the io_context may no longer run, and nothing else touches the sockets then.
    auto s = state_;
    s->stopped = true;
    try {
        s->timer.cancel();  // may throw (Asio reports a failed cancel as an exception)
    } catch (const std::exception&) {
        // nothing left to cancel for: the server is going away
    }
    s->close_sockets();
}

void Notifier::use_lab(const std::shared_ptr<const xfr::FaultBoard>& board) {
    state_->lab = board;
    for (auto& zone : state_->zones) {
        const xfr::NotifyTracker* tracker = zone.tracker.get();
        zone.tracker->set_serial_fault(
            [board, tracker, name = zone.name](std::size_t i) -> std::optional<uint32_t> {
                const auto& t = tracker->target(i);
                const std::string key = t.key ? t.key->name().to_string() : std::string("-");
                return board->current()->plan(name, t.address.address, key).notify_serial;
            });
    }
}

void Notifier::on_event(std::function<void(const NotifyEvent&)> sink) {
    state_->sink = std::move(sink);
}

void Notifier::limit_in_flight(std::size_t n) {
    state_->max_in_flight = n == 0 ? std::numeric_limits<std::size_t>::max() : n;
}

Result<void, std::string> Notifier::start() {
    auto s = state_;
    if (s->started) return {};
    for (auto& zone : s->zones) {
        for (std::size_t i = 0; i < zone.tracker->size(); ++i) {
            const auto& t = zone.tracker->target(i);
            const auto address = to_asio(t.address.address);
            const udp::endpoint local(
                t.source ? to_asio(*t.source)
                         : (address.is_v4() ? asio::ip::address(asio::ip::address_v4::any())
                                            : asio::ip::address(asio::ip::address_v6::any())),
                0);
            if (const auto have = s->socket_by_local.find(local); have != s->socket_by_local.end()) {
                zone.sockets[i] = have->second;
                continue;
            }
            auto socket = std::make_unique<udp::socket>(s->strand);
            boost::system::error_code ec;
            socket->open(local.protocol(), ec);
            if (!ec) socket->bind(local, ec);
            if (ec) {
                for (auto& z : s->zones) z.sockets.assign(z.sockets.size(), nullptr);
                s->socket_by_local.clear();
                s->sockets.clear();
                return unexpected(
                    "cannot open a NOTIFY socket for zone " + zone.name + " target " + t.address.to_string() +
                    (t.source ? " from " + t.source->to_string() : std::string()) + ": " + ec.message());
            }
            zone.sockets[i] = socket.get();
            s->socket_by_local.emplace(local, socket.get());
            s->sockets.push_back(std::move(socket));
        }
    }
    s->started = true;
    for (auto& socket : s->sockets)
        asio::co_spawn(
            s->strand, [s, sock = socket.get()]() { return s->receive_loop(*sock); }, asio::detached);
    asio::co_spawn(
        s->strand, [s]() { return s->timer_loop(); }, asio::detached);
    return {};
}

void Notifier::stop() {
    auto s = state_;
    asio::dispatch(s->strand, [s] {
        s->stopped = true;
        s->timer.cancel();
        s->close_sockets();
    });
}

void Notifier::zone_changed(dns::NameView zone, dns::Serial serial, std::span<const uint8_t> soa_record) {
    auto s = state_;
    const auto z = s->find(zone);
    if (!z) return;
    std::vector<uint8_t> soa(soa_record.begin(), soa_record.end());
    {
        std::lock_guard lock(s->mutex);
        s->announced[*z] = std::pair(serial, soa);
        ++s->queued[*z];
    }
    asio::post(s->strand, [s, zi = *z, serial, soa = std::move(soa)] {
        if (!s->stopped) {
            s->zones[zi].tracker->zone_changed(serial, soa, Clock::now());
            s->changed(zi);  // the snapshot shows it pending from here
        }
        std::lock_guard lock(s->mutex);
        --s->queued[zi];
    });
}

Result<std::size_t, std::string> Notifier::notify(dns::NameView zone,
                                                  const std::optional<std::string>& target) {
    auto s = state_;
    const auto z = s->find(zone);
    if (!z) return unexpected("zone " + zone.to_string() + " has no NOTIFY targets");
    const auto& addresses = s->zones[*z].addresses;
    std::vector<std::size_t> indexes;
    if (!target) {
        for (std::size_t i = 0; i < addresses.size(); ++i) indexes.push_back(i);
    } else if (auto ip = dns::IpAddress::parse(*target)) {
        for (std::size_t i = 0; i < addresses.size(); ++i)
            if (addresses[i].address == *ip) indexes.push_back(i);
    } else if (auto ep = dns::Endpoint::parse(*target, 53)) {
        for (std::size_t i = 0; i < addresses.size(); ++i)
            if (addresses[i] == *ep) indexes.push_back(i);
    } else {
        return unexpected("invalid target " + *target + ": " + ep.error());
    }
    if (indexes.empty()) {
        std::string known;
        for (const auto& a : addresses) known += (known.empty() ? "" : ", ") + a.to_string();
        return unexpected("zone " + s->zones[*z].name + " has no NOTIFY target " + *target +
                          " (targets: " + known + ")");
    }
    std::optional<std::pair<dns::Serial, std::vector<uint8_t>>> announced;
    {
        std::lock_guard lock(s->mutex);
        announced = s->announced[*z];
    }
    if (!announced)
        return unexpected("zone " + s->zones[*z].name +
                          " is not served (its file has not loaded): nothing to announce");
    asio::post(s->strand, [s, zi = *z, indexes, a = std::move(*announced)] {
        if (s->stopped) return;
        auto& tracker = *s->zones[zi].tracker;
        for (auto i : indexes)
            (void)tracker.notify_now(i, a.first, Clock::now(), std::span<const uint8_t>(a.second));
        s->changed(zi);
    });
    return indexes.size();
}

void Notifier::remember(dns::NameView zone, dns::Serial serial, std::span<const uint8_t> soa_record) {
    const auto z = state_->find(zone);
    if (!z) return;
    std::lock_guard lock(state_->mutex);
    state_->announced[*z] = std::pair(serial, std::vector<uint8_t>(soa_record.begin(), soa_record.end()));
}

bool Notifier::has_zone(dns::NameView zone) const {
    return state_->find(zone).has_value();
}

std::set<std::string> Notifier::unfinished_zones() const {
    std::set<std::string> out;
    std::lock_guard lock(state_->mutex);
    for (std::size_t z = 0; z < state_->snapshot.size(); ++z) {
        const auto& targets = state_->snapshot[z].targets;
        if (state_->queued[z] > 0 ||
            std::any_of(targets.begin(), targets.end(), [](const auto& t) { return t.pending(); }))
            out.insert(state_->snapshot[z].zone);
    }
    return out;
}

std::vector<NotifyZoneState> Notifier::snapshot() const {
    std::lock_guard lock(state_->mutex);
    return state_->snapshot;
}

std::optional<NotifyZoneState> Notifier::snapshot(dns::NameView zone) const {
    const auto z = state_->find(zone);
    if (!z) return std::nullopt;
    std::lock_guard lock(state_->mutex);
    return state_->snapshot[*z];
}

}  // namespace headwater::server
