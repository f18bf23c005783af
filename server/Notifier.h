// NOTIFY out (RFC 1996): drives one xfr::NotifyTracker per zone that has targets with Asio. One UDP
// socket per local address (a target's source address when configured, else the wildcard of its family,
// on an ephemeral port), shared by every zone sending from there; an answer goes to the zone its question
// names, whose tracker matches it to a target by address, port and ID. One timer wakes at the earliest
// retry. All tracker work runs on a strand of the DNS io_context and never blocks: a target that
// never answers only costs its own timer entries.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conf/Config.h"
#include "tsig/KeyStore.h"
#include "xfr/FaultSet.h"
#include "xfr/NotifyTracker.h"
#include "zone/base/Result.h"

namespace boost::asio {
class io_context;
}

namespace headwater::server {

struct NotifyZone {
    dns::Name zone;
    std::vector<xfr::NotifyTarget> targets;
    xfr::NotifyOptions options;
};

// The zones of `config` that have NOTIFY targets, with their keys taken from `keys` (the store built from
// the same config). Fails only when a key named by a target is missing from the store.
Result<std::vector<NotifyZone>, std::string> notify_zones(const conf::Config& config,
                                                          const tsig::KeyStore& keys);

struct NotifyZoneState {
    std::string zone;  // "example.com."
    std::vector<xfr::NotifyTargetState> targets;
};

// One conclusion about a NOTIFY target (acknowledged, or given up with an error), for the JSON log.
struct NotifyEvent {
    std::string zone;
    std::string target;  // addr:port
    std::string key;     // "-" when unsigned
    dns::Serial serial;
    unsigned tries = 0;
    bool acknowledged = false;
    std::string error;
    bool withheld = false;                  // lab mode (no-notify): not sent on purpose; not a failure
    std::optional<uint32_t> hint_serial{};  // lab mode (notify-serial): the serial the SOA hint said instead
};

class Notifier {
  public:
    // `ids` defaults to a random generator (message IDs must be unpredictable: RFC 5452 reasoning applies
    // to NOTIFY answers as much as to queries).
    Notifier(boost::asio::io_context& io, std::vector<NotifyZone> zones,
             xfr::NotifyTracker::IdGenerator ids = nullptr);
    // Closes the sockets. Destroy it before the io_context it was given.
    ~Notifier();

    // Called (on the DNS thread) for every conclusion; set before start().
    void on_event(std::function<void(const NotifyEvent&)> sink);
    // At most `n` targets (over all zones) wait for an answer at once (server.notify_max_in_flight); the
    // others stay scheduled and start, zone by zone in turn, as answers or give-ups make room. A burst
    // of changes to many zones then never opens more than `n` exchanges. Set before start().
    void limit_in_flight(std::size_t n);
    // Lab mode (docs/lab.md): no-notify and notify-serial faults are looked up in `board` for every
    // message. Set before start().
    void use_lab(const std::shared_ptr<const xfr::FaultBoard>& board);
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Opens one socket per target and starts the receive loops and the timer. Call once, before or while
    // the io_context runs. Fails (and opens nothing) when a socket cannot be opened or bound, e.g. a
    // source address that is not on this host.
    Result<void, std::string> start();
    // Closes everything; pending NOTIFYs are dropped. Any thread.
    void stop();

    // A new version of `zone` is served (after a reload, a bump, and once at startup so secondaries
    // catch up with changes made while we were down). `soa_record` is the SOA in uncompressed wire form
    // (zone::RecordView::wire of version->soa()). Any thread; a zone without targets is ignored.
    void zone_changed(dns::NameView zone, dns::Serial serial, std::span<const uint8_t> soa_record);

    // `headwaterctl notify ZONE [TARGET]`: sends the last announced serial again now, to every target or
    // to those matching `target` ("192.0.2.1" matches that address on any port, "192.0.2.1:5300" and
    // "[2001:db8::1]:53" exactly). Returns the number of targets notified; errors are ready to show.
    // Any thread.
    Result<std::size_t, std::string> notify(dns::NameView zone, const std::optional<std::string>& target);

    // Whether `zone` has NOTIFY targets.
    bool has_zone(dns::NameView zone) const;
    // Records `serial` as announced for `zone` without sending anything: a Notifier that replaces another
    // (reconfigure) learns what the targets were told, so `headwaterctl notify` can repeat it.
    void remember(dns::NameView zone, dns::Serial serial, std::span<const uint8_t> soa_record);

    // Every tracker's state, as of the last change (a copy, any thread).
    std::vector<NotifyZoneState> snapshot() const;
    // The zones ("example.com.") with a NOTIFY not finished: asked for by zone_changed() and not yet
    // taken up, waiting for notify_delay or for room, or retrying. Any thread.
    std::set<std::string> unfinished_zones() const;
    // One zone's targets; nullopt when the zone has none.
    std::optional<NotifyZoneState> snapshot(dns::NameView zone) const;

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace headwater::server
