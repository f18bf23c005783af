// The duration syntax shared by the config and the lab-mode faults: "250ms", "2s", "5m", "1h", "1d", and
// combinations from the largest unit down ("1h30m", "1d12h").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zone/base/Result.h"

namespace headwater {

// `text` -> milliseconds; a bare number on its own ("90") counts `bare_unit_ms` each. Errors read
// "\"5x\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)".
Result<int64_t, std::string> parse_duration_ms(std::string_view text, int64_t bare_unit_ms);

// Milliseconds the shortest way, for messages: 90000 -> "90s", 3600000 -> "1h", 1500 -> "1500ms", 0 -> "0".
std::string format_duration_ms(int64_t ms);

}  // namespace headwater
