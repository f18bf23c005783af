// NOTIFY out (RFC 1996) for one zone, with no I/O and no clock: which message to send to which target
// when, and what each answer means. The driver (server/Notifier) owns the sockets and the timer, asks
// due() for messages at next_wakeup() and feeds every datagram a target's socket receives to
// on_response(). Times are parameters: a steady time point for scheduling, unix seconds for TSIG.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tsig/ClientSequence.h"
#include "tsig/Key.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/Name.h"
#include "zone/dns/Serial.h"

namespace headwater::xfr {

struct NotifyTarget {
    dns::Endpoint address;
    std::shared_ptr<const tsig::Key> key;  // nullptr: unsigned
    std::optional<dns::IpAddress> source;  // for the driver's socket; the tracker only reports it
};

struct NotifyOptions {
    // Retransmissions after the first try: at most retries + 1 messages per serial and target.
    unsigned retries = 5;
    // The wait for an answer after the first try; doubled after each further try, capped at max_interval.
    std::chrono::milliseconds retry_interval{2000};
    std::chrono::milliseconds max_interval{30000};
    // Coalescing window: a change is sent this long after the first change of a burst (RFC 1996 §4.1
    // leaves the delay to the primary), with the newest serial of the burst.
    std::chrono::milliseconds delay{250};
};

enum class NotifyStatus : uint8_t {
    Idle,          // nothing notified yet
    Scheduled,     // waiting for the coalescing delay (or notify_now) to send the first try
    Sending,       // tries sent, no conclusive answer yet
    Acknowledged,  // NOERROR from the target for `serial`
    Failed,        // an error answer, a TSIG failure, or no answer after the last try
    Withheld,      // lab mode (no-notify): not sent, on purpose; neither a success nor a failure
};

std::string_view to_string(NotifyStatus status);

struct NotifyTargetState {
    using TimePoint = std::chrono::steady_clock::time_point;
    dns::Endpoint address;
    std::string key_name;  // "xfr-key." as configured; empty when unsigned
    std::optional<dns::IpAddress> source;
    NotifyStatus status = NotifyStatus::Idle;
    std::optional<dns::Serial> serial;  // the serial being (or last) notified
    unsigned tries = 0;                 // messages sent for `serial`
    std::optional<dns::Serial> acknowledged_serial;
    std::optional<TimePoint> acknowledged_at;
    std::optional<uint64_t> acknowledged_unix;
    std::string last_error;  // of the latest serial; empty when none
    std::optional<uint64_t> last_error_unix;

    bool pending() const { return status == NotifyStatus::Scheduled || status == NotifyStatus::Sending; }
};

// A conclusion about one target, for the log: one per serial and target (ack, error or give-up).
struct NotifyOutcome {
    std::size_t target = 0;
    dns::Serial serial;
    unsigned tries = 0;
    bool acknowledged = false;
    std::string error;  // when not acknowledged: "NOTIMP", "REFUSED", "TSIG: ...", "no answer after 6 tries"
    std::optional<uint32_t> hint_serial;  // lab mode (notify-serial): what the SOA hint said instead
};

class NotifyTracker {
  public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;
    // Returns a fresh message ID for every try (random in production, a counter in tests).
    using IdGenerator = std::function<uint16_t()>;

    struct Outgoing {
        std::size_t target = 0;
        std::vector<uint8_t> wire;
        dns::Serial serial;
        unsigned attempt = 0;  // 1 for the first try
    };

    enum class Match : uint8_t { NotMatched, Matched };

    NotifyTracker(dns::Name zone, std::vector<NotifyTarget> targets, NotifyOptions options, IdGenerator ids);

    const dns::Name& zone() const { return zone_; }
    std::size_t size() const { return targets_.size(); }
    const NotifyTarget& target(std::size_t i) const { return targets_.at(i); }

    // A new version is served. `soa_record` is the new SOA in uncompressed wire form (owner, type, class,
    // TTL, RDLENGTH, RDATA, as zone::RecordView::wire) and goes in the answer section as a hint (RFC 1996
    // §3.7); empty sends no answer. Every target is scheduled `delay` after the first change of a burst;
    // a later change in the window only replaces the serial. A change while tries of an older serial
    // are running replaces them (the older serial no longer needs announcing).
    void zone_changed(dns::Serial serial, std::span<const uint8_t> soa_record, TimePoint now);

    // Sends `serial` now to one target (an index) or to all, restarting their tries: `headwaterctl notify`.
    // Uses the SOA of the last zone_changed() unless `soa_record` is given. False for a bad index.
    bool notify_now(std::optional<std::size_t> target, dns::Serial serial, TimePoint now,
                    std::optional<std::span<const uint8_t>> soa_record = std::nullopt);

    // The messages to send now; also concludes targets whose last try went unanswered. At most `max_new`
    // targets start (send their first try) in this call: the others stay Scheduled, due, and start in a
    // later call (server.notify_max_in_flight bounds the targets in flight across all zones). Retries of
    // targets already in flight are never held back.
    std::vector<Outgoing> due(TimePoint now, uint64_t unix_now,
                              std::size_t max_new = std::numeric_limits<std::size_t>::max());

    // When due() next has something to do; with `can_start` false, targets waiting to start are left out
    // (the driver has no room for them: an answer or a give-up makes room and wakes it).
    std::optional<TimePoint> next_wakeup(bool can_start = true) const;

    // Targets in flight: tries sent for the current serial, no conclusion yet (NotifyStatus::Sending).
    std::size_t in_flight() const;

    // An answer received from `from`. It counts only when QR is set, the opcode is NOTIFY, the ID is one
    // of the tries of the target's current serial, the question is (zone, SOA, IN) and `from` is the
    // target's address and port (RFC 1996 §4.7). A late answer to an earlier try of the same serial is
    // accepted: every try carries the same content, so it proves the same thing. Answers to an older,
    // replaced serial are ignored.
    Match on_response(std::span<const uint8_t> wire, const dns::Endpoint& from, TimePoint now,
                      uint64_t unix_now);
    // The same for an answer the caller has parsed already (`parsed` is Message::parse(wire)).
    Match on_response(std::span<const uint8_t> wire, const dns::Message& parsed, const dns::Endpoint& from,
                      TimePoint now, uint64_t unix_now);

    const NotifyTargetState& state(std::size_t i) const { return states_.at(i); }
    const std::vector<NotifyTargetState>& states() const { return states_; }

    // The conclusions reached since the last call (acks, errors, give-ups), oldest first.
    std::vector<NotifyOutcome> take_outcomes();

    // Lab mode (no-notify): the target's current serial is not sent after all. The target goes idle at
    // once as Withheld, with `why` as its last error, and no outcome is reported: a NOTIFY held back on
    // purpose is not one given up (no retries, no give-up, no alert).
    void withhold(std::size_t target, std::string why, uint64_t unix_now);

    // Lab mode (notify-serial): asked for each message built; a value replaces the serial of the SOA in
    // the answer section for that target (before signing), so the hint names a serial we do not serve.
    using SerialFault = std::function<std::optional<uint32_t>(std::size_t target)>;
    void set_serial_fault(SerialFault fault) { serial_fault_ = std::move(fault); }

  private:
    struct Try {
        uint16_t id = 0;
        std::unique_ptr<tsig::ClientSequence> signer;  // when the target has a key
    };
    struct Work {
        std::optional<TimePoint> next_at;     // when due() acts for this target; empty when idle
        std::vector<Try> tries;               // of the current serial
        std::optional<uint32_t> hint_serial;  // lab mode: the serial the latest try's SOA hint carried
    };

    void restart(std::size_t i, dns::Serial serial, TimePoint at, NotifyStatus status);
    std::chrono::milliseconds wait_after(unsigned attempt) const;
    std::vector<uint8_t> build(std::size_t i, uint16_t id, uint64_t unix_now);
    void conclude(std::size_t i, bool acknowledged, std::string error, TimePoint now, uint64_t unix_now);

    dns::Name zone_;
    std::vector<NotifyTarget> targets_;
    NotifyOptions options_;
    IdGenerator ids_;
    std::vector<uint8_t> soa_;  // the hint of the current serial
    SerialFault serial_fault_;  // lab mode only
    static void patch_soa_serial(std::vector<uint8_t>& soa, uint32_t serial);
    std::vector<NotifyTargetState> states_;
    std::vector<Work> work_;
    std::vector<NotifyOutcome> outcomes_;
};

}  // namespace headwater::xfr
