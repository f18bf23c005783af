#include "zone/Journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

namespace headwater::zone {

namespace {

// ---------------------------------------------------------------------------------------------------------
// CRC32C

constexpr uint32_t kCastagnoli = 0x82F63B78u;  // reflected polynomial

struct CrcTables {
    uint32_t t[8][256];
};

constexpr CrcTables make_crc_tables() {
    CrcTables tables{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCastagnoli : c >> 1;
        tables.t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
        for (int s = 1; s < 8; ++s)
            tables.t[s][i] = (tables.t[s - 1][i] >> 8) ^ tables.t[0][tables.t[s - 1][i] & 0xff];
    return tables;
}

constexpr CrcTables kCrc = make_crc_tables();

// ---------------------------------------------------------------------------------------------------------
// File format

constexpr char kFileMagic[8] = {'H', 'W', 'J', 'O', 'U', 'R', 'N', 'L'};
constexpr uint32_t kFormatVersion = 1;
constexpr std::size_t kFileHeader = 16;
constexpr uint32_t kEntryMagic = 0x48574A45u;  // "HWJE"
constexpr std::size_t kEntryHeader = 12;
constexpr uint32_t kMaxPayload = 0x7FFFFFFFu;

uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void wr32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

std::vector<uint8_t> file_header() {
    std::vector<uint8_t> h(kFileHeader);
    std::memcpy(h.data(), kFileMagic, 8);
    wr32(h.data() + 8, kFormatVersion);
    wr32(h.data() + 12, crc32c(std::span(h).first(12)));
    return h;
}

Result<void, std::string> write_all(int fd, std::span<const uint8_t> data, uint64_t offset,
                                    const std::filesystem::path& p) {
    while (!data.empty()) {
        const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return unexpected(io_error_text("cannot write", p));
        }
        data = data.subspan(static_cast<std::size_t>(n));
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

// Reads exactly data.size() octets at `offset`; false at end of file or on error (errno says which).
bool read_exact(int fd, std::span<uint8_t> data, uint64_t offset) {
    while (!data.empty()) {
        const ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = 0;
            return false;
        }
        data = data.subspan(static_cast<std::size_t>(n));
        offset += static_cast<uint64_t>(n);
    }
    return true;
}

// A compaction or reset writes the new file under this suffix before it replaces the journal.
constexpr char kTempSuffix[] = ".tmp";

std::filesystem::path temp_path(const std::filesystem::path& file) {
    auto tmp = file;
    tmp += kTempSuffix;
    return tmp;
}

// Writes a new journal file holding the header and `copy_len` octets copied from `src_fd` at `copy_from`,
// and commits it over `file` (DurableFile: fsync, rename, directory fsync).
Result<void, std::string> replace_file(const std::filesystem::path& file, int src_fd, uint64_t copy_from,
                                       uint64_t copy_len) {
    auto tmp = TempFile::create(file, kTempSuffix, 0644);
    if (!tmp) return unexpected(tmp.error());
    if (auto w = write_all(tmp->fd(), file_header(), 0, tmp->path()); !w) return w;
    std::vector<uint8_t> buf(std::min<uint64_t>(copy_len, 1u << 20));
    uint64_t done = 0;
    while (done < copy_len) {
        const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(buf.size(), copy_len - done));
        if (!read_exact(src_fd, std::span(buf).first(n), copy_from + done))
            return unexpected(io_error_text("cannot read", file));
        if (auto w = write_all(tmp->fd(), std::span(buf).first(n), kFileHeader + done, tmp->path()); !w)
            return w;
        done += n;
    }
    return tmp->commit();
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
    uint32_t c = ~crc;
    const uint8_t* p = data.data();
    std::size_t n = data.size();
    while (n >= 8) {
        const uint32_t lo =
            c ^ (uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24));
        const uint32_t hi =
            uint32_t{p[4]} | (uint32_t{p[5]} << 8) | (uint32_t{p[6]} << 16) | (uint32_t{p[7]} << 24);
        c = kCrc.t[7][lo & 0xff] ^ kCrc.t[6][(lo >> 8) & 0xff] ^ kCrc.t[5][(lo >> 16) & 0xff] ^
            kCrc.t[4][lo >> 24] ^ kCrc.t[3][hi & 0xff] ^ kCrc.t[2][(hi >> 8) & 0xff] ^
            kCrc.t[1][(hi >> 16) & 0xff] ^ kCrc.t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = kCrc.t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

std::string zone_file_stem(dns::NameView apex) {
    if (apex.is_root()) return "root";
    std::string out;
    const auto w = apex.wire();
    for (std::size_t pos = 0; w[pos] != 0; pos += w[pos] + 1u) {
        if (pos != 0) out += '.';
        for (std::size_t i = 1; i <= w[pos]; ++i) {
            const uint8_t c = dns::ascii_lower(w[pos + i]);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                out += static_cast<char>(c);
            } else {
                static constexpr char kHex[] = "0123456789abcdef";
                out += '%';
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
        }
    }
    // "." and ".." cannot occur (labels are never empty); a leading dot can't either.
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Journal

namespace {
struct Slot {
    uint64_t offset = 0;  // of the entry header in the file
    JournalEntry entry;   // entry.bytes: header + payload
};
}  // namespace

struct Journal::State {
    mutable std::mutex mutex;
    std::string path;  // not a std::filesystem::path: see ZoneSettings
    JournalBounds bounds;
    int fd = -1;
    uint64_t end = kFileHeader;  // where the next entry goes
    // The kept history, oldest first. A vector, not a deque: a deque allocates half a kilobyte before its
    // first element, for every zone, and most zones' histories are short or empty.
    std::vector<Slot> live;
    uint64_t live_bytes = 0;
    std::size_t dead_entries = 0;  // dropped entries still in the file, before live.front()
    uint64_t dead_bytes = 0;
    bool broken = false;  // the file's state is unknown after a failed fsync: refuse appends
    std::string broken_text() const {
        return "journal " + path + " is in an unknown state after a failed write; reopen it";
    }
    // After a failed fdatasync (errno still its): the kernel may have dropped the dirty pages, so nothing
    // is known any more.
    std::string sync_failed() {
        broken = true;
        return io_error_text("cannot fdatasync", path);
    }
    // Group commit (sync()): entries appended so far and those known durable, counted from the open;
    // `syncing` while an fdatasync runs without the lock, `synced_now` signalled when it ends.
    uint64_t appended = 0;
    uint64_t synced = 0;
    // Entries appended but not durable when a failed sync broke the file, then forgotten by a reset:
    // their sync() fails for good (a reset makes the others' durable: the owner's snapshot holds them).
    uint64_t lost_from = 0, lost_through = 0;
    bool syncing = false;
    std::condition_variable synced_now;
    // A failed append whose partial entry could not be cut off yet (the file was read-only, say): the
    // next append cuts it first, and is refused while that still fails. The entries before `end` are
    // intact (nothing was written there), so unlike `broken` this heals once the file is writable.
    bool cut_pending = false;
    std::string recovery;

    ~State() {
        if (fd >= 0) ::close(fd);
    }

    Result<void, std::string> reopen() {
        const int nfd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (nfd < 0) {
            broken = true;
            return unexpected(io_error_text("cannot open", path));
        }
        if (fd >= 0) ::close(fd);
        fd = nfd;
        return {};
    }

    // Journal::open's steps: an empty journal file where there was none; a damaged one moved aside and
    // replaced by an empty one; the entries of a readable one indexed, a damaged tail cut off.
    Result<void, std::string> start_new();
    Result<void, std::string> set_damaged_aside();
    Result<void, std::string> load_entries(uint64_t size);

    // Whether an entry of `payload` octets (time and changeset) is kept by append().
    bool fits(std::size_t payload) const {
        return payload <= kMaxPayload && kEntryHeader + payload <= bounds.max_bytes;
    }

    // A new, empty history.
    Result<void, std::string> reset() {
        // No file yet, or already a bare header: nothing to forget, and rewriting it would cost two more
        // fsyncs.
        if (fd < 0 && !broken) return {};
        if (live.empty() && dead_entries == 0 && end == kFileHeader && !broken && !cut_pending) return {};
        if (auto r = replace_file(path, fd, 0, 0); !r) return r;
        if (auto r = reopen(); !r) return r;
        live.clear();
        live_bytes = dead_bytes = 0;
        dead_entries = 0;
        end = kFileHeader;
        if (broken && synced < appended) {
            // Widened, never moved: a sync of an earlier lost entry may still be on its way.
            if (lost_through == 0) lost_from = synced + 1;
            lost_through = appended;
        }
        broken = false;
        synced = appended;  // nothing left to sync: the history is gone
        return {};
    }

    std::size_t drop_to_bounds() {
        std::size_t dropped = 0;
        const std::size_t keep = std::max<std::size_t>(1, bounds.keep_last);
        while (live.size() - dropped > keep &&
               (live.size() - dropped > bounds.max_changesets || live_bytes > bounds.max_bytes)) {
            live_bytes -= live[dropped].entry.bytes;
            dead_bytes += live[dropped].entry.bytes;
            ++dead_entries;
            ++dropped;
        }
        live.erase(live.begin(), live.begin() + static_cast<std::ptrdiff_t>(dropped));
        return dropped;
    }

    // Rewrites the file without the dropped entries.
    Result<void, std::string> compact() {
        const uint64_t first = live.empty() ? end : live.front().offset;
        if (auto r = replace_file(path, fd, first, end - first); !r) return r;
        if (auto r = reopen(); !r) return r;
        const uint64_t shift = first - kFileHeader;
        for (Slot& s : live) s.offset -= shift;
        end -= shift;
        dead_entries = 0;
        dead_bytes = 0;
        synced = appended;  // the new file was synced whole
        return {};
    }

    // Reads and checks the entry at `slot`.
    Result<Changeset, std::string> read(const Slot& slot) const {
        std::vector<uint8_t> buf(slot.entry.bytes);
        if (!read_exact(fd, buf, slot.offset))
            return unexpected(errno ? io_error_text("cannot read", path)
                                    : "journal " + path + " is shorter than its index");
        const uint32_t want =
            crc32c(std::span(buf).subspan(kEntryHeader), crc32c(std::span(buf).subspan(4, 4)));
        if (rd32(buf.data()) != kEntryMagic || rd32(buf.data() + 4) != buf.size() - kEntryHeader ||
            rd32(buf.data() + 8) != want)
            return unexpected("journal " + path + ": entry at offset " + std::to_string(slot.offset) +
                              " changed on disk (checksum)");
        auto cs = Changeset::decode(std::span(buf).subspan(kEntryHeader + 8));
        if (!cs) return unexpected("journal " + path + ": " + cs.error());
        return cs;
    }

    // Indexes [first, last] of the live entries leading from `from` to `to`.
    std::optional<std::pair<std::size_t, std::size_t>> find(dns::Serial from, dns::Serial to) const {
        // Newest first: with serials that repeat (a very long history) the shortest path is the right one.
        for (std::size_t k = live.size(); k-- > 0;) {
            if (!(live[k].entry.from == from)) continue;
            for (std::size_t j = k; j < live.size(); ++j)
                if (live[j].entry.to == to) return std::pair{k, j};
            return std::nullopt;
        }
        return std::nullopt;
    }
};

Journal::Journal(std::unique_ptr<State> state) : state_(std::move(state)) {}
Journal::Journal(Journal&&) noexcept = default;
Journal& Journal::operator=(Journal&&) noexcept = default;
Journal::~Journal() = default;

namespace {

// What scan_entries() found: the usable history and where it ends.
struct Scan {
    std::vector<Slot> entries;
    uint64_t end = kFileHeader;  // just past the last usable entry
    std::string problem;         // why the scan stopped before the end of the file, if it did
};

// Reads and checks the entry at `pos` (header, length, CRC32C, changeset) into `buf`; nullopt, with
// `problem` saying why, when it is not usable.
std::optional<Changeset> read_entry(int fd, uint64_t pos, uint64_t size, std::vector<uint8_t>& buf,
                                    std::string& problem) {
    uint8_t eh[kEntryHeader];
    if (size - pos < kEntryHeader || !read_exact(fd, eh, pos)) {
        problem = "incomplete entry header";
        return std::nullopt;
    }
    const uint32_t len = rd32(eh + 4);
    if (rd32(eh) != kEntryMagic || len < 8 || len > kMaxPayload) {
        problem = "not an entry header";
        return std::nullopt;
    }
    if (size - pos - kEntryHeader < len) {
        problem = "incomplete entry";
        return std::nullopt;
    }
    buf.resize(len);
    if (!read_exact(fd, buf, pos + kEntryHeader)) {
        problem = errno ? std::string("read error: ") + std::strerror(errno) : "incomplete entry";
        return std::nullopt;
    }
    if (rd32(eh + 8) != crc32c(buf, crc32c(std::span(eh + 4, 4)))) {
        problem = "checksum mismatch";
        return std::nullopt;
    }
    auto cs = Changeset::decode(std::span(buf).subspan(8));
    if (!cs) {
        problem = cs.error();
        return std::nullopt;
    }
    return std::move(*cs);
}

// Scans every entry after the file header; the first one that is incomplete, damaged or does not
// continue the chain ends the usable history.
Scan scan_entries(int fd, uint64_t size) {
    Scan scan;
    std::vector<uint8_t> buf;
    while (scan.end < size) {
        auto cs = read_entry(fd, scan.end, size, buf, scan.problem);
        if (!cs) break;
        if (!scan.entries.empty() && !(cs->from() == scan.entries.back().entry.to)) {
            scan.problem = "entry does not continue the history (serial " +
                           std::to_string(cs->from().value()) + " after " +
                           std::to_string(scan.entries.back().entry.to.value()) + ")";
            break;
        }
        Slot slot;
        slot.offset = scan.end;
        slot.entry.from = cs->from();
        slot.entry.to = cs->to();
        uint64_t when = 0;
        for (int k = 0; k < 8; ++k) when = (when << 8) | buf[static_cast<std::size_t>(k)];
        slot.entry.when = static_cast<int64_t>(when);
        slot.entry.removed = cs->removed_count();
        slot.entry.added = cs->added_count();
        slot.entry.bytes = kEntryHeader + buf.size();
        scan.entries.push_back(slot);
        scan.end += slot.entry.bytes;
    }
    return scan;
}

enum class HeaderCheck { Ok, Damaged, OtherVersion };

// The file header: magic, format version, CRC32C (the layout is described in zone/Journal.h).
HeaderCheck check_header(int fd, uint64_t size, uint32_t& version) {
    uint8_t header[kFileHeader];
    const bool header_ok = size >= kFileHeader && read_exact(fd, header, 0) &&
                           std::memcmp(header, kFileMagic, 8) == 0 &&
                           rd32(header + 12) == crc32c(std::span(header, 12));
    if (!header_ok) return HeaderCheck::Damaged;
    version = rd32(header + 8);
    return version == kFormatVersion ? HeaderCheck::Ok : HeaderCheck::OtherVersion;
}

}  // namespace

Result<void, std::string> Journal::State::start_new() {
    if (auto r = replace_file(path, -1, 0, 0); !r) return r;
    return reopen();
}

Result<void, std::string> Journal::State::set_damaged_aside() {
    // Not a journal (or its header is damaged): keep it for inspection, start a new history.
    auto aside = path;
    aside += ".corrupt";
    ::close(fd);
    fd = -1;
    if (::rename(path.c_str(), aside.c_str()) != 0)
        return unexpected(io_error_text("cannot move the damaged journal aside:", path));
    if (auto r = start_new(); !r) return r;
    recovery = "journal " + path + ": header unreadable, moved to " + aside + "; the history starts anew";
    return {};
}

Result<void, std::string> Journal::State::load_entries(uint64_t size) {
    Scan scan = scan_entries(fd, size);
    if (scan.end < size) {
        // Cut the damaged tail so the next append follows the last good entry.
        if (::ftruncate(fd, static_cast<off_t>(scan.end)) != 0 || ::fdatasync(fd) != 0)
            return unexpected(io_error_text("cannot cut the damaged tail of", path));
        recovery = "journal " + path + ": dropped " + std::to_string(size - scan.end) + " octets at offset " +
                   std::to_string(scan.end) + " (" + scan.problem + "); kept " +
                   std::to_string(scan.entries.size()) + " entries";
    }
    end = scan.end;
    live = std::move(scan.entries);
    for (const Slot& s : live) live_bytes += s.entry.bytes;
    drop_to_bounds();
    return {};
}

Journal Journal::none_yet(const std::filesystem::path& file, JournalBounds bounds) {
    auto st = std::make_unique<State>();
    st->path = file.native();
    st->bounds = bounds;
    return Journal(std::move(st));
}

Result<Journal, std::string> Journal::open(const std::filesystem::path& file, JournalBounds bounds) {
    using R = Result<Journal, std::string>;
    auto st = std::make_unique<State>();
    st->path = file.native();
    st->bounds = bounds;
    const auto& path = st->path;

    // A leftover from a compaction or reset that crashed before its rename: the real file is intact.
    std::error_code ec;
    std::filesystem::remove(temp_path(path), ec);

    st->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (st->fd < 0) {
        if (errno != ENOENT) return R(unexpected(io_error_text("cannot open", path)));
        // No history yet: the file is created by the first append. A zone that never changes costs no
        // file and no fsync, which is what makes a first start of many zones fast.
        return Journal(std::move(st));
    }
    struct stat sb {};
    if (::fstat(st->fd, &sb) != 0) return R(unexpected(io_error_text("cannot stat", path)));
    const auto size = static_cast<uint64_t>(sb.st_size);

    uint32_t version = 0;
    switch (check_header(st->fd, size, version)) {
        case HeaderCheck::OtherVersion:
            return R(unexpected("journal " + path + " has format version " + std::to_string(version) +
                                ", this server reads version " + std::to_string(kFormatVersion)));
        case HeaderCheck::Damaged:
            if (auto r = st->set_damaged_aside(); !r) return R(unexpected(r.error()));
            return Journal(std::move(st));
        case HeaderCheck::Ok:
            break;
    }
    if (auto r = st->load_entries(size); !r) return R(unexpected(r.error()));
    return Journal(std::move(st));
}

Result<AppendOutcome, std::string> Journal::append(const Changeset& changes, int64_t when, JournalSync sync) {
    using R = Result<AppendOutcome, std::string>;
    State& st = *state_;
    std::lock_guard lock(st.mutex);
    if (st.broken) return R(unexpected(st.broken_text()));
    if (st.fd < 0) {
        if (auto r = st.start_new(); !r) return R(unexpected(r.error()));
    }
    if (st.cut_pending) {
        if (::ftruncate(st.fd, static_cast<off_t>(st.end)) != 0)
            return R(unexpected(io_error_text("cannot cut a failed entry off", st.path)));
        st.cut_pending = false;
    }
    if (!st.live.empty() && !(changes.from() == st.live.back().entry.to))
        return R(unexpected("changeset starts at serial " + std::to_string(changes.from().value()) +
                            " but the journal ends at serial " +
                            std::to_string(st.live.back().entry.to.value())));
    if (!(changes.from() < changes.to()))
        return R(unexpected("changeset does not advance the serial (" +
                            std::to_string(changes.from().value()) + " -> " +
                            std::to_string(changes.to().value()) + ")"));

    AppendOutcome outcome;
    const std::size_t payload = 8 + changes.encoded_size();
    if (!st.fits(payload)) {
        // Keeping it would break the bound; without it the history has a hole, so it starts over.
        if (auto r = st.reset(); !r) return R(unexpected(r.error()));
        outcome.restarted = true;
        return outcome;
    }
    std::vector<uint8_t> entry(kEntryHeader);
    entry.reserve(kEntryHeader + payload);
    for (int k = 7; k >= 0; --k)
        entry.push_back(static_cast<uint8_t>(static_cast<uint64_t>(when) >> (8 * k)));
    changes.encode_to(entry);
    wr32(entry.data(), kEntryMagic);
    wr32(entry.data() + 4, static_cast<uint32_t>(payload));
    wr32(entry.data() + 8,
         crc32c(std::span(entry).subspan(kEntryHeader), crc32c(std::span(entry).subspan(4, 4))));

    if (auto w = write_all(st.fd, entry, st.end, st.path); !w) {
        // Take the partial entry back so a later append does not follow garbage.
        if (::ftruncate(st.fd, static_cast<off_t>(st.end)) != 0) st.cut_pending = true;
        return R(unexpected(w.error()));
    }
    if (sync == JournalSync::Now && ::fdatasync(st.fd) != 0) return R(unexpected(st.sync_failed()));
    outcome.ticket = ++st.appended;
    if (sync == JournalSync::Now) st.synced = st.appended;  // the fdatasync covered the whole file
    Slot slot;
    slot.offset = st.end;
    slot.entry = {changes.from(),          changes.to(),          when,
                  changes.removed_count(), changes.added_count(), entry.size()};
    st.live.push_back(slot);
    st.live_bytes += entry.size();
    st.end += entry.size();

    outcome.dropped = st.drop_to_bounds();
    if (st.dead_entries > 0 &&
        (st.dead_bytes >= st.live_bytes ||
         st.dead_entries >= std::max<std::size_t>(st.bounds.max_changesets, st.bounds.keep_last))) {
        if (auto r = st.compact(); !r) outcome.warning = "journal compaction failed: " + r.error();
    }
    return outcome;
}

bool Journal::fits(const Changeset& changes) const {
    const std::lock_guard lock(state_->mutex);
    return state_->fits(8 + changes.encoded_size());
}

Result<void, std::string> Journal::sync(uint64_t ticket) {
    auto done = sync(ticket, true);
    if (!done) return unexpected(done.error());
    return {};
}

bool Journal::durable(uint64_t ticket) const {
    const State& st = *state_;
    const std::lock_guard lock(st.mutex);
    const bool lost = st.lost_through != 0 && ticket >= st.lost_from && ticket <= st.lost_through;
    return !lost && st.synced >= ticket;
}

Result<bool, std::string> Journal::sync(uint64_t ticket, bool join_running) {
    State& st = *state_;
    std::unique_lock lock(st.mutex);
    const auto lost = [&] {
        return st.lost_through != 0 && ticket >= st.lost_from && ticket <= st.lost_through;
    };
    const std::string lost_text = "the entry was lost: a sync failed before it was durable";
    for (;;) {
        // Looked at again after every wait: a reset may have forgotten the entry meanwhile.
        if (lost()) return unexpected(lost_text);
        if (st.synced >= ticket) return true;
        if (st.broken) return unexpected(st.broken_text());
        if (!st.syncing) break;
        if (!join_running) return false;
        // One in progress may have started before our entry was written: wait, then look again.
        st.synced_now.wait(lock);
    }
    const uint64_t target = st.appended;
    // A duplicate, so that a compaction replacing st.fd meanwhile cannot close it under us (a compaction
    // syncs the whole new file itself). Without one (no descriptor left), the sync holds the lock.
    const int fd = ::fcntl(st.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        if (::fdatasync(st.fd) != 0) return unexpected(st.sync_failed());
        st.synced = std::max(st.synced, target);
        return true;
    }
    st.syncing = true;
    lock.unlock();
    const bool ok = ::fdatasync(fd) == 0;
    const int error = errno;
    ::close(fd);
    lock.lock();
    st.syncing = false;
    st.synced_now.notify_all();
    if (lost()) return unexpected(lost_text);
    if (ok) {
        st.synced = std::max(st.synced, target);
        return true;
    }
    // A compaction or a reset may have made it durable meanwhile (the file replaced, synced whole).
    if (st.synced >= ticket) return true;
    errno = error;
    return unexpected(st.sync_failed());
}

Result<void, std::string> Journal::usable() const {
    const std::lock_guard lock(state_->mutex);
    if (state_->broken) return unexpected(state_->broken_text());
    return {};
}

Result<void, std::string> Journal::reset() {
    std::lock_guard lock(state_->mutex);
    return state_->reset();
}

std::optional<dns::Serial> Journal::first_serial() const {
    std::lock_guard lock(state_->mutex);
    if (state_->live.empty()) return std::nullopt;
    return state_->live.front().entry.from;
}

std::optional<dns::Serial> Journal::last_serial() const {
    std::lock_guard lock(state_->mutex);
    if (state_->live.empty()) return std::nullopt;
    return state_->live.back().entry.to;
}

std::optional<ChainInfo> Journal::find_chain(dns::Serial from, dns::Serial to) const {
    std::lock_guard lock(state_->mutex);
    if (from == to) return ChainInfo{};
    const auto range = state_->find(from, to);
    if (!range) return std::nullopt;
    ChainInfo info;
    for (std::size_t k = range->first; k <= range->second; ++k) {
        const JournalEntry& e = state_->live[k].entry;
        ++info.changesets;
        info.records += 2 + e.removed + e.added;
        info.bytes += e.bytes - kEntryHeader - 16;  // the records' wire octets (minus when and counts)
    }
    return info;
}

Result<std::vector<Changeset>, std::string> Journal::chain(dns::Serial from, dns::Serial to) const {
    using R = Result<std::vector<Changeset>, std::string>;
    std::lock_guard lock(state_->mutex);
    std::vector<Changeset> out;
    if (from == to) return out;
    const auto range = state_->find(from, to);
    if (!range)
        return R(unexpected("serial " + std::to_string(from.value()) + " to " + std::to_string(to.value()) +
                            " is not in the history"));
    out.reserve(range->second - range->first + 1);
    for (std::size_t k = range->first; k <= range->second; ++k) {
        auto cs = state_->read(state_->live[k]);
        if (!cs) return R(unexpected(cs.error()));
        out.push_back(std::move(cs).value());
    }
    return out;
}

std::vector<JournalEntry> Journal::entries() const {
    std::lock_guard lock(state_->mutex);
    std::vector<JournalEntry> out;
    out.reserve(state_->live.size());
    for (const Slot& s : state_->live) out.push_back(s.entry);
    return out;
}

std::size_t Journal::bytes() const {
    std::lock_guard lock(state_->mutex);
    return state_->live_bytes;
}

std::filesystem::path Journal::path() const {
    return state_->path;
}

JournalBounds Journal::bounds() const {
    std::lock_guard lock(state_->mutex);
    return state_->bounds;
}

void Journal::set_bounds(JournalBounds bounds) {
    std::lock_guard lock(state_->mutex);
    state_->bounds = bounds;
}

const std::string& Journal::recovery() const {
    return state_->recovery;
}

}  // namespace headwater::zone
