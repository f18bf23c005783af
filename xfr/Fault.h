// Lab mode: one way the primary misbehaves on purpose towards one secondary, so a lab can watch what that
// secondary does about it (docs/lab.md). Pure data and its text syntax, no I/O and no clock: the same
// words are written in a [[lab]] table and typed after `headwaterctl lab set ZONE PEER`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/base/Result.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/RRType.h"

namespace headwater::xfr {

enum class FaultKind : uint8_t {
    // Timing of a transfer stream.
    Delay,  // delay DURATION: wait before the first message
    Rate,   // rate BYTES_PER_SECOND: pace the stream
    Stall,  // stall AFTER_MESSAGES [DURATION]: stop writing, connection kept open (default 1h)
    // Shape.
    Records,          // records N: at most N records per message (1..65535)
    IxfrAsAxfr,       // ixfr-as-axfr: every IXFR answered with the whole zone (RFC 1995 §4)
    IxfrUncondensed,  // ixfr-uncondensed: every journal step, one after the other (RFC 1995 §4)
    IxfrCondensed,    // ixfr-condensed: the whole history condensed into one step
    // Failure.
    CutMessages,  // cut-messages N [close|reset]: end the connection after N messages
    CutBytes,     // cut-bytes N [close|reset]: end the connection once N octets are written
    Rcode,      // rcode servfail|refused|notimp [axfr|ixfr]: answer transfer requests (of that type) with it
    WrongMac,   // wrong-mac N: message N (1-based) of a signed transfer carries a MAC that fails
    SignEvery,  // sign-every N: sign only every Nth message (RFC 8945 §5.3.1 allows up to 99 between)
    BadTime,    // badtime: answer a signed transfer request with TSIG error BADTIME (RFC 8945 §5.2.3)
    // NOTIFY.
    NoNotify,      // no-notify: do not NOTIFY this peer
    NotifySerial,  // notify-serial S: NOTIFY with an SOA of serial S instead of the served one
    // UDP.
    SoaTc,    // soa-tc: a UDP SOA query gets an empty answer with TC set (RFC 1035 §4.1.1)
    DropSoa,  // drop-soa: SOA queries from this peer get no answer at all
};

// Every kind, in the order of the enum (docs, lab list, the behaviour matrix).
std::span<const FaultKind> fault_kinds();
std::string_view fault_name(FaultKind kind);   // "delay", "cut-messages", ...
std::string_view fault_usage(FaultKind kind);  // "delay DURATION", "cut-messages N [close|reset]", ...

struct Fault {
    FaultKind kind = FaultKind::Delay;
    uint64_t number = 0;  // Rate, Stall (after messages), Records, Cut*, WrongMac, SignEvery, NotifySerial
    uint64_t ms = 0;      // Delay, Stall
    bool reset = false;   // Cut*: RST instead of an orderly close
    dns::Rcode rcode = dns::Rcode::ServFail;  // Rcode
    std::optional<dns::RRType> only;          // Rcode: only requests of this type (AXFR or IXFR)

    // The fault in its own syntax, as parse_fault reads it back: "cut-messages 3 reset".
    std::string text() const;
};

// "cut-messages 3 reset" or the name and its arguments apart. Every error names the expected usage.
Result<Fault, std::string> parse_fault(std::string_view name, std::span<const std::string> args);
Result<Fault, std::string> parse_fault(std::string_view text);

// "250ms", "2s", "5m", "1h", "1d", "1h30m" or a bare number of seconds -> milliseconds: the
// configuration's duration syntax (zone/base/Duration.h).
Result<uint64_t, std::string> parse_lab_duration(std::string_view text);

// Whom a fault is aimed at: one address, one TSIG key, or "*" (every peer of the zone).
struct FaultPeer {
    std::optional<dns::IpAddress> address;
    std::string key;  // lower case with the trailing dot: "xfr-key."
    bool any = false;

    static Result<FaultPeer, std::string> parse(std::string_view text);
    // `key`: the request's verified TSIG key ("-" or empty when unsigned).
    bool matches(const dns::IpAddress& from, std::string_view request_key) const;
    std::string text() const;
    bool operator==(const FaultPeer&) const = default;
};

}  // namespace headwater::xfr
