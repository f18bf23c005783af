// Rewrites the SERIAL of the SOA record in a master file in place: only the serial token changes (the
// operator's layout, comments and the rest of the file stay byte for byte), via a temporary file, fsync and
// an atomic rename, so a crash leaves either the old file or the new one.
#pragma once

#include <cstddef>
#include <filesystem>

#include "zone/base/Result.h"
#include "zone/dns/Serial.h"

namespace headwater::zone {

// The SOA record starts on `line` (1-based) of `file` (as the loader reported it; it may be an
// $INCLUDE'd file). Fails with a clear message when the serial is not a plain decimal token there.
Result<void, std::string> rewrite_soa_serial(const std::filesystem::path& file, std::size_t line,
                                             dns::Serial serial);

// Same on text, for tests: returns the rewritten text.
Result<std::string, std::string> rewrite_soa_serial_text(std::string_view text, std::size_t line,
                                                         dns::Serial serial);

}  // namespace headwater::zone
