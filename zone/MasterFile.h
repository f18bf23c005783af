// Master-file (zone file) loader: RFC 1035 §5 presentation format, RFC 2308 §4 $TTL, RFC 3597 generic
// syntax. The parsing of names and RDATA is done by ldns; this header does not expose it (MasterFile.cpp
// is the only file in the project that includes ldns).
//
// Records are streamed to a sink in file order as uncompressed wire data; nothing is kept in between,
// so the loader's memory use does not grow with the zone.
//
// Behaviour decided here (documented because implementations differ):
// - Directives are case-insensitive: $ORIGIN <name>, $TTL <ttl>, $INCLUDE <file> [<origin>]. Any other
//   $WORD is an error. BIND's $GENERATE is expanded (zone/GenerateTemplate.h); generated records are read
//   like written ones and their errors name the directive's file:line.
// - $ORIGIN and the $INCLUDE origin may be relative: they are appended to the current origin.
// - $INCLUDE paths are relative to the directory of the including file (load_master_text: the current
//   directory). An included file starts with a copy of the includer's state (origin — or the origin
//   given on the $INCLUDE line —, $TTL, last TTL, last class, previous owner) and nothing it changes
//   leaks back (RFC 1035 §5.1 states this for the origin; we apply it to all state). Include loops are
//   reported with the chain; nesting is limited to 16 levels.
// - TTL and class may appear in either order (RFC 1035 §5.1). TTLs accept BIND units (1w2d3h4m5s,
//   case-insensitive); values above 2^31-1 are rejected (RFC 2181 §8).
// - A record without a TTL gets, in order: the $TTL default (RFC 2308 §4); the last TTL stated in this
//   file (RFC 1035 §5.1); for an SOA record, its MINIMUM field (as BIND does). Otherwise it is an error.
// - A record without a class gets the last class stated (RFC 1035 §5.1), initially IN. Classes NONE and
//   ANY and meta-types (OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB, ANY, type 0) are rejected.
// - A line starting with whitespace reuses the previous owner; with no previous owner it is an error.
// - Names keep the case they were written with (owner and RDATA); nothing is canonicalised here.
// - Directives start in column 1. A quoted string must end on the line where it starts (inside
//   parentheses too). ';' starts a comment except inside quotes or after a backslash.
// - The types ldns 1.8.3 reads wrongly (IPSECKEY's relative gateway, NSAP-PTR, A6) or lacks (AMTRELAY,
//   TALINK) are read by PresentationRdata.h. Other mnemonics ldns lacks (TA, AVC, DOA, RESINFO, WALLET,
//   NINFO, RKEY, ...) are "unknown RR type" errors; write them as TYPEnnn \# len hex (RFC 3597).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/LoadError.h"  // LoadError {file, line, message}: std only
#include "zone/base/Result.h"

namespace headwater::zone {

// One resource record as read from the file. The views are valid only during the sink callback.
struct RawRecord {
    std::span<const uint8_t> owner;  // uncompressed wire name, original case, absolute (ends with root)
    uint16_t type = 0;
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    std::span<const uint8_t> rdata;  // uncompressed wire RDATA; names inside keep their original case
    std::string_view file;           // file the record was read from (for later semantic errors)
    size_t line = 0;                 // line where the record starts
};

// Receives each record; an error aborts loading and is reported with the record's file:line.
using RecordSink = std::function<Result<void, std::string>(const RawRecord&)>;

// Told the size of the file once it is open, before the first record (to size buffers).
using SizeHint = std::function<void(uint64_t)>;

// Loads `file` with the zone name `origin` ("example.com." or "example.com"; always taken as absolute).
Result<void, LoadError> load_master_file(const std::filesystem::path& file, std::string_view origin,
                                         const RecordSink& sink, const SizeHint& size_hint = {});

// Same, from text in memory (unit tests, tools). Relative $INCLUDE paths resolve against the current
// directory; errors name `display_name`.
Result<void, LoadError> load_master_text(std::string_view text, std::string_view origin,
                                         const RecordSink& sink, std::string_view display_name = "<text>");

// Where the loader stands between two lines of a file: what the lines before set that later lines use. The
// previous owner is not part of it: a part of a file given to load_master_part starts with a line that
// names its owner.
struct ParserState {
    std::vector<uint8_t> origin;          // $ORIGIN, absolute wire form
    std::optional<uint32_t> default_ttl;  // $TTL
    std::optional<uint32_t> last_ttl;     // the last TTL a record stated
    uint16_t last_class = 1;              // the last class a record stated (IN before any)
    bool operator==(const ParserState&) const = default;
};

// The state at the first line of a file loaded with the zone name `origin`.
Result<ParserState, LoadError> initial_parser_state(std::string_view origin, std::string_view display_name);

// Loads `text` as lines first_line, first_line + 1, ... of `file` (errors and records name that file and
// those lines) from the state `start`, and returns the state after its last line. An $INCLUDE is an
// error (the part would not stand for its text alone) unless `follow_includes` (the caller read the whole
// of `file`: relative paths start from its directory). Loading a file part by part, each part starting on
// a line that names its owner outside parentheses and in the state the part before ended in, gives the
// records loading it whole gives (ZoneFileIndex.h relies on it; an error can be worded differently).
Result<ParserState, LoadError> load_master_part(std::string_view text, const ParserState& start,
                                                std::size_t first_line, const std::filesystem::path& file,
                                                const RecordSink& sink, bool follow_includes = false);

// The loader turns the common types (A, AAAA, NS, CNAME, PTR, DNAME, MX, SRV, TXT, CAA) written in plain
// syntax into wire form itself and leaves everything else to ldns; both give the same bytes. Switching the
// fast path off (process-wide) sends every record to ldns: for tests that compare the two, and diagnosis.
void set_master_file_fast_path(bool enabled);

// One record in uncompressed wire form (RecordView::wire) in presentation format on one line, "owner TTL
// class type rdata" separated by single spaces, as ldns prints it (names keep their case; DNSKEY gets no
// key-id comment). When ldns cannot print it (RDATA that does not parse as its type, or empty RDATA), the
// RFC 3597 §5 generic form "TYPEnnn \# len hex". Empty when `wire` is not exactly one well-formed record.
std::string record_to_text(std::span<const uint8_t> wire);

}  // namespace headwater::zone
