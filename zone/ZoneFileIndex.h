// A large master file remembered as parts, so that reloading it after an edit parses only what changed.
//
// A part starts on a line that names its owner (column 1 is not blank, ';', '$' or a parenthesis) while
// no parenthesis is open. Where one ends is decided by the text itself (a hash of the line that would
// start the next), so an edit moves the boundaries next to it only and every other part keeps its text.
// For each part the index keeps a hash of its text and the parser state it starts in (ParserState): a part
// whose text and starting state are both unchanged gives the records it gave before and ends in the state
// it ended in before (load_master_part), so it is not parsed again. Parsing the parts that are new gives
// the records added; the parts that are gone, read back from a copy of the text last loaded, give the
// records removed. Applied to the version the last load gave, that difference is the new file's version.
//
// Only when loading the whole file would not have changed a record: the index is kept for a file that
// loaded without a warning (no duplicate, one TTL per RRset), and the new version is checked with
// ZoneBuilder's checks over every name the edit touched and the apex. Anything else (an $INCLUDE, a part
// that does not parse, a duplicate, TTLs that differ within an RRset, most of the file rewritten) loads
// the whole file, which also words its errors and warnings as usual.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zone/LoadError.h"
#include "zone/MasterFile.h"
#include "zone/Zone.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"

namespace headwater::zone {

// One part of a master file's text.
struct FilePart {
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t first_line = 0;  // 1-based
    uint64_t hash = 0;        // XXH3 of the part's text
};

// The text cut into parts as described above; nothing when the text has an $INCLUDE (the included file
// can change without this one changing).
std::optional<std::vector<FilePart>> split_master_text(std::string_view text);

// A hash of a version's records with its SOA SERIAL left out: a policy bump, a re-signing pass's new
// serial or `bump` leave it as it was; any other change to the records changes it.
uint64_t content_fingerprint(const ZoneVersion& version);

class ZoneFileIndex {
  public:
    struct Part {
        FilePart where;
        uint32_t start = 0;  // states[start]: the parser state at its first line
        uint32_t end = 0;    // states[end]: after its last line
    };
    std::vector<Part> parts;
    std::vector<ParserState> states;
    // The version the text gave, by the fingerprint of its records and its SOA record as the file wrote it:
    // a version with that fingerprint is it, or it with another serial.
    uint64_t fingerprint = 0;
    std::vector<uint8_t> file_soa;
    std::filesystem::path copy;  // where the text is kept (written by the zone once its version is served)
};

struct IndexedLoad {
    LoadedZone loaded;
    std::unique_ptr<ZoneFileIndex> index;  // for the next reload; null when the file cannot be indexed
    std::string text;                      // the file as read: the index's copy once the version is served
    bool incremental = false;              // only the changed parts were parsed
    bool text_changed = true;              // the text differs from the previous index's copy
};

// Loads `file` like load_zone_file. With `previous` (the index of the last load, whose copy is on disk)
// and `base` (the unsigned version served, which the last load gave, maybe with another serial), parses
// only the parts that changed; when that cannot give the right version, or without them, loads the whole
// file part by part and indexes it. `copy` is where the new index will keep the text. A file smaller
// than `index_from` octets is loaded whole and not indexed.
Result<IndexedLoad, LoadError> load_zone_file_indexed(const dns::Name& apex,
                                                      const std::filesystem::path& file,
                                                      const std::filesystem::path& copy,
                                                      const ZoneFileIndex* previous,
                                                      const ZoneVersionPtr& base, uint64_t index_from,
                                                      const SizeHint& on_size = {});

// Writes the text `loaded` read to its index's copy, when it differs from the copy there. False when
// there is no index or the copy could not be written (then the index must not be used).
bool write_index_copy(const IndexedLoad& loaded);

}  // namespace headwater::zone
