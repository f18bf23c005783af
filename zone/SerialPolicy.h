// What happens to the SOA serial when a zone's content changes but its file kept the serial (a reload)
// or when the operator asks for a bump: `serial_policy` per zone. All arithmetic is RFC 1982 (SERIAL_BITS
// 32): the next serial is always newer than the current one by at least 1 and at most 2^31 - 1 (§3.1),
// and never 0 (many tools and secondaries treat 0 as "no serial"; on a wrap we skip it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"
#include "zone/dns/Serial.h"

namespace headwater::zone {

enum class SerialPolicy : uint8_t {
    Keep,        // never change the serial: a reload with changed content and the same serial is refused
    Increment,   // serial + 1
    UnixTime,    // seconds since 1970 (UTC), or serial + 1 when that is not newer
    DateSerial,  // YYYYMMDDnn (UTC date, nn = change of the day), or serial + 1 when that is not newer
};

// "keep", "increment", "unixtime", "dateserial" (case-insensitive).
std::optional<SerialPolicy> parse_serial_policy(std::string_view text);
std::string_view to_string(SerialPolicy policy);

// The serial after `current` under `policy`, at time `unix_now` (seconds since 1970, UTC).
// - Increment: current + 1.
// - UnixTime: unix_now when it is newer than current (RFC 1982), else current + 1.
// - DateSerial: YYYYMMDD00 of today when newer than current, else current + 1. So the changes of one day
//   count nn = 00, 01, ... 99, and the 100th change of a day simply goes on to current + 1 (spilling into
//   the next day's numbers, as BIND does); the serial still only moves forward.
// - Keep: an error ("serial_policy keep: ...").
// Whatever the policy, 0 is skipped (0xFFFFFFFF + 1 gives 1).
Result<dns::Serial, std::string> next_serial(dns::Serial current, SerialPolicy policy, int64_t unix_now);

// Checks an explicit new serial (`headwaterctl bump --set N`): it must be newer than `current` (RFC 1982
// §3.2, so at most 2^31 - 1 ahead) and not 0.
Result<void, std::string> check_serial_advance(dns::Serial current, dns::Serial next);

// `version` with only its SOA serial replaced (a bump): same records, same order, new SOA RDATA.
ZoneVersionPtr with_serial(const ZoneVersion& version, dns::Serial serial);

}  // namespace headwater::zone
