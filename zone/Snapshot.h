// A zone version saved to disk: the last version served, so that at start-up a zone file edited while the
// server was down can be diffed against it (and the journal continued), and so the zone can be served
// before its file is parsed again.
//
// Written to "<file>.tmp", fsync'ed, renamed over `file` and the directory fsync'ed: a crash leaves the
// previous snapshot or the new one, never a mix. (Sync::Lazy leaves out the fsyncs, for a snapshot whose
// loss costs nothing; after a power loss the CRC finds it torn.) Reading trusts nothing: sizes, names, record
// framing, canonical order, the single SOA at the apex and a CRC32C over the whole file are checked, and any
// problem is an error value.
//
// Format (integers big-endian):
//   "HWSNAPSH" | u32 format version (1) | u32 record count | u32 SOA index | u32 apex length |
//   u64 data length | apex (wire) | data (records in wire form, canonical order, packed) |
//   u32 CRC32C of everything before it
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "zone/DurableFile.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"

namespace headwater::zone {

Result<void, std::string> write_snapshot(const std::filesystem::path& file, const ZoneVersion& version,
                                         Sync sync = Sync::Durable);

// `expected_apex`, when given, must match the snapshot's apex (a file of another zone is an error).
Result<ZoneVersionPtr, std::string> read_snapshot(const std::filesystem::path& file,
                                                  std::optional<dns::NameView> expected_apex = std::nullopt);

}  // namespace headwater::zone
