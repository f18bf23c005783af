// BIND's $GENERATE directive for master files: `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs`.
// The loader (MasterFile.cpp) reads the directive's line with this header's help and sends each generated
// line through the ordinary record path, so a generated record is checked like any other and its errors
// carry the directive's file:line.
//
// Behaviour (BIND 9.18's lib/dns/master.c is the reference; tests compare with named-checkzone):
// - The range is decimal: 0 <= start <= stop <= 2^31-1, step >= 1 (default 1). At most
//   kMaxGenerateRecords records per directive: a larger range is an error, not a silent truncation.
// - In lhs and rhs, `$` is the iterator value; `$$` is a literal `$`; a backslash and the character after
//   it are copied as they are (so `\$` reaches the name parser as an escaped `$`).
// - `${offset}`, `${offset,width}`, `${offset,width,base}`: the value plus offset, zero-padded to width,
//   in base d (decimal), o (octal), x/X (hex), n/N (nibbles: hex digits least significant first, one per
//   label, joined by dots; the width counts the dots too, so a trailing dot can appear as in BIND).
//   Anything else after `${` is an error naming the modifier; width is at most 127.
// - Offsets may make the value negative: decimal prints "-5" as BIND does; other bases refuse it (BIND
//   prints a 32-bit two's complement or, for nibbles, never terminates).
// - rhs is the rest of the line. When it is one quoted string, the quotes are removed before expansion
//   (BIND reads rhs as one possibly quoted token: `MX "10 mail$"`); unlike BIND, several unquoted tokens
//   are accepted as they are (`MX 10 mail$`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zone/base/Result.h"

namespace headwater::zone {

inline constexpr uint32_t kMaxGenerateRecords = 1U << 20;

struct GenerateRange {
    int64_t start = 0;
    int64_t stop = 0;
    int64_t step = 1;
    uint64_t count() const { return static_cast<uint64_t>((stop - start) / step) + 1; }
};

// "start-stop" or "start-stop/step".
Result<GenerateRange, std::string> parse_generate_range(std::string_view text);

// `tmpl` with every `$`, `$$` and `${...}` replaced for `value` (appended to `out`, which is not cleared).
Result<void, std::string> expand_generate_field(std::string_view tmpl, int64_t value, std::string& out);

}  // namespace headwater::zone
