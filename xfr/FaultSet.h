// Lab mode's faults, keyed by zone and peer, and what they add up to for one request (FaultPlan). No I/O
// and no clock: times are parameters. The server holds one FaultSet behind a FaultBoard, replaced whole
// by `headwaterctl lab set/clear`; a request takes the set of that moment and keeps it (docs/lab.md).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xfr/Fault.h"

namespace headwater::xfr {

struct FaultEntry {
    std::string zone;  // lower case, trailing dot: "example.com."
    FaultPeer peer;
    Fault fault;
    uint64_t since_ms = 0;  // unix milliseconds when it was set (the report's timeline starts there)
};

// What the faults matching one request ask for; empty when none matches. The Responder, the
// TransferSession and the server's stream loop each read their part.
struct FaultPlan {
    std::optional<uint64_t> delay_ms;
    std::optional<uint64_t> rate;  // bytes per second
    std::optional<uint64_t> stall_after;
    uint64_t stall_ms = 0;
    std::optional<uint64_t> records;  // per message
    bool ixfr_as_axfr = false;
    bool ixfr_condensed = false;
    std::optional<uint64_t> cut_messages;
    std::optional<uint64_t> cut_bytes;
    bool cut_reset = false;
    std::optional<dns::Rcode> rcode;
    std::optional<dns::RRType> rcode_only;  // the rcode only for requests of this type
    std::optional<uint64_t> wrong_mac;      // 1-based message number
    std::optional<uint64_t> sign_every;
    bool badtime = false;
    bool no_notify = false;
    std::optional<uint32_t> notify_serial;
    bool soa_tc = false;
    bool drop_soa = false;
    std::vector<std::string> applied;  // the faults' texts, for the event and the log

    void add(const Fault& f);
    bool empty() const { return applied.empty(); }
    // "lab: cut-messages 3 close, delay 2000ms"; empty when no fault applies.
    std::string describe() const;
    // Whether anything acts on a transfer stream once it started (the server's loop then paces it).
    bool shapes_stream() const;
};

// How a stream ends on purpose.
enum class StreamCut : uint8_t { None, Close, Reset };

// Before message `index` (0-based) of a stream that has written `bytes` octets in `elapsed_ms`: how long to
// wait first (the initial delay, the rate's pace, a stall).
uint64_t wait_before_message(const FaultPlan& plan, std::size_t index, std::size_t bytes,
                             uint64_t elapsed_ms);
// After `messages` messages and `bytes` octets are written: whether the stream ends here.
StreamCut cut_after(const FaultPlan& plan, std::size_t messages, std::size_t bytes);
// cut-bytes ends the stream at exactly N octets, mid-message when N falls inside one (what a secondary
// sees when a connection dies under it): of the next `size` octets, after `written`, how many go out.
std::size_t octets_before_cut(const FaultPlan& plan, std::size_t written, std::size_t size);

class FaultSet {
  public:
    // Adds a fault, replacing one of the same kind for the same zone and peer.
    void set(FaultEntry entry);
    // Removes the faults of `zone` (every zone when empty) aimed at `peer` (every peer when absent);
    // returns how many went.
    std::size_t clear(std::string_view zone, const std::optional<FaultPeer>& peer);
    const std::vector<FaultEntry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }
    // The faults for a request: `zone` as served (any case), `key` the verified TSIG key or "-".
    FaultPlan plan(std::string_view zone, const dns::IpAddress& from, std::string_view key) const;

  private:
    std::vector<FaultEntry> entries_;
};

// The server's current FaultSet, swapped whole under a mutex so a reader never sees half an update.
class FaultBoard {
  public:
    std::shared_ptr<const FaultSet> current() const;
    void replace(std::shared_ptr<const FaultSet> next);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const FaultSet> set_ = std::make_shared<const FaultSet>();
};

}  // namespace headwater::xfr
