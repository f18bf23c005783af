#include "zone/ZoneFileIndex.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "zone/Changeset.h"
#include "zone/ZoneBuilder.h"
#include "zone/base/ErrnoText.h"
#include "zone/base/HugePages.h"
#include "zone/dns/RRType.h"

namespace headwater::zone {

namespace {

namespace fs = std::filesystem;

// Parts of 1 to 64 KiB, ending where a line's hash has its low five bits clear (one line in 32 of those that
// may start a part): a one-record edit re-parses a few hundred records, and a million-record file has
// some 20k parts, whose index takes a few hundred kilobytes.
constexpr uint64_t kMinPart = 1024;
constexpr uint64_t kMaxPart = 64 * 1024;
constexpr uint64_t kBoundaryMask = 31;

uint64_t hash_of(std::string_view text) {
    return XXH3_64bits(text.data(), text.size());
}

bool iequals_prefix(std::string_view line, std::string_view word) {
    if (line.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != word[i]) return false;
    // What ends the word for the loader: a blank, a comment, or a parenthesis (read as a blank).
    return line.size() == word.size() ||
           std::string_view(" \t\r;()").find(line[word.size()]) != std::string_view::npos;
}

// A line that may start a part: it names its owner in column 1.
bool names_owner(std::string_view line) {
    if (line.empty()) return false;
    switch (line[0]) {
        case ' ':
        case '\t':
        case '\r':
        case ';':
        case '$':
        case '(':
        case ')':
        case '"':
            return false;
        default:
            return true;
    }
}

// The characters the loader's line reader treats specially (MasterFile.cpp, read_logical): the parenthesis
// depth at the end of a line is followed the same way, so a part never starts inside parentheses.
constexpr std::array<bool, 256> kSpecial = [] {
    std::array<bool, 256> t{};
    for (const unsigned char c : std::string_view("\\\";()")) t[c] = true;
    return t;
}();

int depth_after(std::string_view line, int depth) {
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (!kSpecial[c]) continue;
        if (c == '\\') {
            ++i;  // the escaped character, whatever it is
        } else if (c == '"') {
            quoted = !quoted;
        } else if (quoted) {
            continue;
        } else if (c == ';') {
            break;
        } else if (c == '(') {
            ++depth;
        } else if (depth > 0) {  // ')'; one too many is the loader's error to report
            --depth;
        }
    }
    return depth;
}

// Records gathered from parts, in wire form (RecordView::wire).
class RecordBuffer {
  public:
    Result<void, std::string> add(const RawRecord& r) {
        if (r.rdata.size() > 0xFFFF) return unexpected(std::string("RDATA longer than 65535 octets"));
        offsets_.push_back(data_.size());
        data_.insert(data_.end(), r.owner.begin(), r.owner.end());
        const auto put16 = [&](uint32_t v) {
            data_.push_back(static_cast<uint8_t>(v >> 8));
            data_.push_back(static_cast<uint8_t>(v));
        };
        put16(r.type);
        put16(r.rclass);
        put16(r.ttl >> 16);
        put16(r.ttl & 0xFFFF);
        put16(static_cast<uint32_t>(r.rdata.size()));
        data_.insert(data_.end(), r.rdata.begin(), r.rdata.end());
        return {};
    }
    RecordSink sink() {
        return [this](const RawRecord& r) { return add(r); };
    }
    // In canonical order, equal records (compare_records) next to each other.
    std::vector<RecordView> sorted() const {
        std::vector<RecordView> out;
        out.reserve(offsets_.size());
        for (const std::size_t o : offsets_) out.push_back(decode_record(std::span(data_).subspan(o)));
        std::sort(out.begin(), out.end(),
                  [](const RecordView& a, const RecordView& b) { return compare_records_exact(a, b) < 0; });
        return out;
    }

  private:
    std::vector<uint8_t> data_;
    std::vector<std::size_t> offsets_;
};

bool has_duplicates(const std::vector<RecordView>& sorted) {
    return std::adjacent_find(sorted.begin(), sorted.end(), [](const RecordView& a, const RecordView& b) {
               return compare_records(a, b) == 0;
           }) != sorted.end();
}

// The file's bytes; nothing when it cannot be read (load_zone_file then says why, in its words). Regular
// files only, opened without blocking, as the loader opens them: a FIFO in the zone file's place must not
// hang the reload.
std::optional<std::string> read_zone_text(const fs::path& file, const SizeHint& on_size) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::nullopt;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (on_size) on_size(size);
    // Huge pages for a large file: on a virtual machine, faulting in a 50 MB buffer 4 KiB at a time cost
    // more than reading the file into it.
    std::string text;
    text.reserve(size + 1);
    if (text.capacity() >= (std::size_t{32} << 20)) prefer_huge_pages(text.data(), text.capacity());
    text.resize(size + 1);  // an octet more than fstat counted, to see a file that grew meanwhile
    std::size_t got = 0;
    for (;;) {
        if (got == text.size()) text.resize(text.size() + 65536);
        const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        got += static_cast<std::size_t>(n);
        // Every octet fstat counted came and not the one asked beyond: the end (a regular file's read is
        // short only there). Asking again would cost one more system call per zone at a start.
        if (n == 0 || got == size) break;
    }
    ::close(fd);
    text.resize(got);
    return text;
}

// Reads part `p` of the copy the last load kept; nothing when the copy does not hold it any more.
std::optional<std::string> read_part(int fd, const FilePart& p) {
    std::string text(p.length, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n =
            ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(p.offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        got += static_cast<std::size_t>(n);
    }
    if (hash_of(text) != p.hash) return std::nullopt;
    return text;
}

class IndexWriter {
  public:
    explicit IndexWriter(ZoneFileIndex& index) : index_(index) {}
    uint32_t state(const ParserState& s) {
        if (index_.states.empty() || !(index_.states.back() == s)) index_.states.push_back(s);
        return static_cast<uint32_t>(index_.states.size() - 1);
    }

  private:
    ZoneFileIndex& index_;
};

// The file loaded whole, without an index: for what the index cannot stand for, and for errors in the
// words of the whole load.
Result<IndexedLoad, LoadError> whole_file(const dns::Name& apex, const fs::path& file) {
    auto whole = load_zone_file(apex, file);
    if (!whole) return unexpected(whole.error());
    return IndexedLoad{std::move(*whole), nullptr, {}, false};
}

// The whole text, part by part, into a new index (null when the file loaded with warnings). `whole`: one
// part, the whole text, $INCLUDE followed and no index made.
Result<IndexedLoad, LoadError> load_all_parts(const dns::Name& apex, const fs::path& file, std::string text,
                                              const std::vector<FilePart>& parts, const ParserState& initial,
                                              bool whole = false) {
    ZoneBuilder builder(apex);
    // As load_zone_file sizes it: a master-file line makes 25 to 100 octets of wire form; a zone < 4 GiB.
    const std::size_t size = std::min<std::size_t>(text.size(), std::size_t{1} << 31);
    builder.reserve(size / 24, size * 3 / 2);
    auto index = std::make_unique<ZoneFileIndex>();
    index->parts.reserve(parts.size());
    IndexWriter states(*index);
    ParserState state = initial;
    const RecordSink sink = [&](const RawRecord& rr) {
        return builder.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    };
    for (const FilePart& p : parts) {
        const uint32_t start = states.state(state);
        auto end = load_master_part(std::string_view(text).substr(p.offset, p.length), state, p.first_line,
                                    file, sink, whole);
        if (!end && whole) return unexpected(end.error());
        if (!end) {  // worded as loading the file whole words it (an error at a part's end, say)
            std::string().swap(text);
            return whole_file(apex, file);
        }
        state = std::move(*end);
        index->parts.push_back({p, start, states.state(state)});
    }
    auto version = builder.build();
    if (!version) return unexpected(version.error());
    LoadedZone loaded{std::move(version).value(), builder.warnings(), builder.suppressed_warnings()};
    if (whole || !loaded.warnings.empty() || loaded.suppressed_warnings > 0) {
        index.reset();
        text.clear();
    } else {
        index->fingerprint = content_fingerprint(*loaded.version);
        const auto soa = loaded.version->soa().wire;
        index->file_soa.assign(soa.begin(), soa.end());
    }
    return IndexedLoad{std::move(loaded), std::move(index), std::move(text), false};
}

// The records before and after an edit, as parsed from the parts it removed and added.
struct PartChanges {
    RecordBuffer removed;
    RecordBuffer added;
};

// The new version from `base` and the parts that changed; nothing when that cannot be the version loading
// the whole file gives (see the header).
ZoneVersionPtr apply_part_changes(const dns::Name& apex, const fs::path& file, const ZoneFileIndex& previous,
                                  const ZoneVersionPtr& base, const PartChanges& parts) {
    std::vector<RecordView> removed = parts.removed.sorted();
    std::vector<RecordView> added = parts.added.sorted();
    if (has_duplicates(removed) || has_duplicates(added)) return nullptr;
    // What both have (a record that only moved between parts) is no change.
    std::vector<RecordView> gone, come;
    std::size_t i = 0, j = 0;
    while (i < removed.size() || j < added.size()) {
        const int c = i == removed.size() ? 1
                      : j == added.size() ? -1
                                          : compare_records_exact(removed[i], added[j]);
        if (c == 0) {
            ++i;
            ++j;
        } else if (c < 0) {
            gone.push_back(removed[i++]);
        } else {
            come.push_back(added[j++]);
        }
    }
    const auto is_soa = [](const RecordView& r) { return r.type == dns::RRType::SOA; };
    const auto soas_gone = std::ranges::count_if(gone, is_soa);
    const auto soas_come = std::ranges::count_if(come, is_soa);
    // The file's SOA edited: one out, one in. Anything else (none left, two) is the whole load's error.
    if (soas_gone != soas_come || soas_come > 1) return nullptr;
    std::span<const uint8_t> new_soa = previous.file_soa;
    if (soas_come == 1) {
        const auto old_soa = std::ranges::find_if(gone, is_soa);
        if (!std::ranges::equal(old_soa->wire, previous.file_soa)) return nullptr;
        new_soa = std::ranges::find_if(come, is_soa)->wire;
    }
    Changeset changes(base->soa().wire, new_soa);
    for (const RecordView& r : gone)
        if (!is_soa(r)) changes.add_removed(r.wire);
    for (const RecordView& r : come)
        if (!is_soa(r)) changes.add_added(r.wire);
    if (changes.soa_only() && std::ranges::equal(new_soa, base->soa().wire)) return base;
    auto next = apply(*base, changes);
    if (!next) return nullptr;

    // ZoneBuilder's checks over the names the edit touched, with the apex (one SOA, NS records there): a
    // duplicate, a TTL that differs within an RRset or a CNAME beside other data there is the whole load's
    // warning or error.
    ZoneBuilder check(apex);
    const std::string display = file.string();
    std::vector<dns::NameView> owners{(*next)->apex()};
    for (const RecordView& r : gone) owners.push_back(r.owner);
    for (const RecordView& r : come) owners.push_back(r.owner);
    std::sort(owners.begin(), owners.end(),
              [](dns::NameView a, dns::NameView b) { return dns::canonical_compare(a, b) < 0; });
    owners.erase(
        std::unique(owners.begin(), owners.end(),
                    [](dns::NameView a, dns::NameView b) { return dns::canonical_compare(a, b) == 0; }),
        owners.end());
    for (const dns::NameView owner : owners) {
        const ZoneVersion::Range range = (*next)->find_name(owner);
        for (std::size_t k = range.begin; k < range.end; ++k) {
            const RecordView r = (*next)->record(k);
            if (!check.add(r.owner.wire(), dns::to_u16(r.type), r.rclass, r.ttl, r.rdata, display, 0))
                return nullptr;
        }
    }
    if (!check.build() || !check.warnings().empty() || check.suppressed_warnings() > 0) return nullptr;
    return *next;
}

// Only the parts that changed; nothing when the whole file must be loaded instead.
std::optional<IndexedLoad> load_changed_parts(const dns::Name& apex, const fs::path& file, std::string& text,
                                              const std::vector<FilePart>& parts, const ParserState& initial,
                                              const ZoneFileIndex& previous, const ZoneVersionPtr& base) {
    if (content_fingerprint(*base) != previous.fingerprint) return std::nullopt;
    std::unordered_multimap<uint64_t, uint32_t> old_parts;
    old_parts.reserve(previous.parts.size());
    for (uint32_t k = 0; k < previous.parts.size(); ++k) old_parts.emplace(previous.parts[k].where.hash, k);
    std::vector<bool> kept(previous.parts.size());

    auto index = std::make_unique<ZoneFileIndex>();
    index->parts.reserve(parts.size());
    IndexWriter states(*index);
    PartChanges changes;
    const RecordSink added = changes.added.sink();
    ParserState state = initial;
    uint64_t parsed = 0;
    bool moved = false;
    for (const FilePart& p : parts) {
        const uint32_t start = states.state(state);
        std::optional<uint32_t> same;
        for (auto [it, end] = old_parts.equal_range(p.hash); it != end; ++it) {
            const ZoneFileIndex::Part& o = previous.parts[it->second];
            if (!kept[it->second] && o.where.length == p.length && previous.states[o.start] == state) {
                same = it->second;
                break;
            }
        }
        if (same) {
            kept[*same] = true;
            moved = moved || previous.parts[*same].where.offset != p.offset;
            state = previous.states[previous.parts[*same].end];
        } else {
            auto end = load_master_part(std::string_view(text).substr(p.offset, p.length), state,
                                        p.first_line, file, added);
            if (!end) return std::nullopt;
            state = std::move(*end);
            parsed += p.length;
        }
        index->parts.push_back({p, start, states.state(state)});
    }
    // Most of the file rewritten: loading it whole costs less than reading back what it replaced.
    if (parsed > text.size() / 2) return std::nullopt;

    const bool all_kept = std::find(kept.begin(), kept.end(), false) == kept.end();
    if (!all_kept) {
        const int fd = ::open(previous.copy.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return std::nullopt;
        const RecordSink removed = changes.removed.sink();
        bool read = true;
        for (uint32_t k = 0; k < previous.parts.size() && read; ++k) {
            if (kept[k]) continue;
            const ZoneFileIndex::Part& o = previous.parts[k];
            const auto old_text = read_part(fd, o.where);
            read = old_text &&
                   load_master_part(*old_text, previous.states[o.start], o.where.first_line, file, removed);
        }
        ::close(fd);
        if (!read) return std::nullopt;
    }

    ZoneVersionPtr version = apply_part_changes(apex, file, previous, base, changes);
    if (!version) return std::nullopt;
    index->fingerprint = version == base ? previous.fingerprint : content_fingerprint(*version);
    const auto soa = version->soa().wire;
    index->file_soa.assign(soa.begin(), soa.end());
    IndexedLoad out{LoadedZone{std::move(version), {}, 0}, std::move(index), std::move(text), true};
    out.text_changed = parsed > 0 || moved || !all_kept;
    return out;
}

}  // namespace

std::optional<std::vector<FilePart>> split_master_text(std::string_view text) {
    std::vector<FilePart> parts;
    uint64_t start = 0, start_line = 1, line_no = 1;
    int depth = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        const std::size_t eol = nl == std::string_view::npos ? text.size() : nl;
        const std::string_view line = text.substr(pos, eol - pos);
        if (depth == 0) {
            if (pos - start >= kMinPart && names_owner(line) &&
                ((hash_of(line) & kBoundaryMask) == 0 || pos - start >= kMaxPart)) {
                parts.push_back({start, pos - start, start_line, 0});
                start = pos;
                start_line = line_no;
            }
            if (!line.empty() && line[0] == '$' && iequals_prefix(line, "$include")) return std::nullopt;
        }
        depth = depth_after(line, depth);
        pos = eol + 1;
        ++line_no;
    }
    if (start < text.size() || parts.empty()) parts.push_back({start, text.size() - start, start_line, 0});
    for (FilePart& p : parts) p.hash = hash_of(text.substr(p.offset, p.length));
    return parts;
}

bool write_index_copy(const IndexedLoad& loaded) {
    if (!loaded.index || !loaded.text_changed) return loaded.index != nullptr;
    // Without a sync: a crash loses the index with it (it lives in memory), and a copy that does not hold
    // a part's text (a write cut short) only makes that reload load the whole file (read_part).
    const fs::path& copy = loaded.index->copy;
    const fs::path tmp(copy.native() + ".tmp");
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::size_t done = 0;
    while (done < loaded.text.size()) {
        const ssize_t n = ::write(fd, loaded.text.data() + done, loaded.text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    const bool ok =
        ::close(fd) == 0 && done == loaded.text.size() && ::rename(tmp.c_str(), copy.c_str()) == 0;
    if (!ok) ::unlink(tmp.c_str());
    return ok;
}

uint64_t content_fingerprint(const ZoneVersion& version) {
    const auto all = version.run(0, version.size());
    // SERIAL is the first of the five 32-bit fields that end the SOA RDATA (RFC 1035 §3.3.13).
    const RecordView soa = version.soa();
    const auto serial_at = static_cast<std::size_t>(soa.wire.data() - all.data()) + soa.wire.size() - 20;
    XXH3_state_t s;
    XXH3_64bits_reset(&s);
    XXH3_64bits_update(&s, all.data(), serial_at);
    XXH3_64bits_update(&s, all.data() + serial_at + 4, all.size() - serial_at - 4);
    return XXH3_64bits_digest(&s);
}

Result<IndexedLoad, LoadError> load_zone_file_indexed(const dns::Name& apex, const fs::path& file,
                                                      const fs::path& copy, const ZoneFileIndex* previous,
                                                      const ZoneVersionPtr& base, uint64_t index_from,
                                                      const SizeHint& on_size) {
    auto text = read_zone_text(file, on_size);
    if (!text) return whole_file(apex, file);
    auto initial = initial_parser_state(apex.to_string(), file.string());
    if (!initial) return unexpected(initial.error());
    if (text->size() < index_from) {
        const std::vector<FilePart> one{{0, text->size(), 1, 0}};
        return load_all_parts(apex, file, std::move(*text), one, *initial, true);
    }
    const auto parts = split_master_text(*text);
    if (!parts) {  // an $INCLUDE
        std::string().swap(*text);
        return whole_file(apex, file);
    }
    if (previous != nullptr && base)
        if (auto changed = load_changed_parts(apex, file, *text, *parts, *initial, *previous, base)) {
            changed->index->copy = copy;
            return std::move(*changed);
        }
    auto all = load_all_parts(apex, file, std::move(*text), *parts, *initial);
    if (all && all->index) all->index->copy = copy;
    return all;
}

}  // namespace headwater::zone
