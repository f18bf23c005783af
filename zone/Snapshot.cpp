#include "zone/Snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "zone/Changeset.h"
#include "zone/DurableFile.h"
#include "zone/Journal.h"  // crc32c

namespace headwater::zone {

namespace {

constexpr char kMagic[8] = {'H', 'W', 'S', 'N', 'A', 'P', 'S', 'H'};
constexpr uint32_t kFormatVersion = 1;
constexpr std::size_t kHeader = 8 + 4 + 4 + 4 + 4 + 8;

uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
    for (int k = 3; k >= 0; --k) out.push_back(static_cast<uint8_t>(v >> (8 * k)));
}

// Buffered, CRC-accumulating writer on a file descriptor.
class Writer {
  public:
    // `expected`: the file's size, when known. The buffer is no larger than the file (100k small zones'
    // snapshots each allocating the whole chunk was a page-faulting allocation per zone), and small: a
    // thread's freed heap top is not handed back by malloc_trim, so a large buffer written on the snapshot
    // thread stayed resident for the server's lifetime. Large spans go through it too: writing a large
    // zone's data straight from the version was slower (1M records: +10% reload), as the kernel's copy
    // then reads memory that is not in the cache.
    Writer(int fd, const std::filesystem::path& p, std::size_t expected = kChunk) : fd_(fd), path_(p) {
        buf_.reserve(std::min(kChunk, expected));
    }

    Result<void, std::string> put(std::span<const uint8_t> data) {
        while (!data.empty()) {
            const std::size_t n = std::min(kChunk - buf_.size(), data.size());
            crc_ = crc32c(data.first(n), crc_);  // piece by piece, while the piece is in the cache
            buf_.insert(buf_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
            data = data.subspan(n);
            if (buf_.size() == kChunk)
                if (auto r = flush(); !r) return r;
        }
        return {};
    }
    Result<void, std::string> flush() {
        std::span<const uint8_t> d(buf_);
        while (!d.empty()) {
            const ssize_t n = ::write(fd_, d.data(), d.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return unexpected(io_error_text("cannot write", path_));
            d = d.subspan(static_cast<std::size_t>(n));
        }
        buf_.clear();
        return {};
    }
    uint32_t crc() const { return crc_; }

  private:
    static constexpr std::size_t kChunk = 64u << 10;
    int fd_;
    const std::filesystem::path& path_;
    std::vector<uint8_t> buf_;
    uint32_t crc_ = 0;
};

class Reader {
  public:
    Reader(int fd, const std::filesystem::path& p) : fd_(fd), path_(p) {}
    // Reads exactly out.size() octets.
    Result<void, std::string> get(std::span<uint8_t> out) {
        while (!out.empty()) {
            const ssize_t n = ::read(fd_, out.data(), out.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return unexpected(io_error_text("cannot read", path_));
            if (n == 0) return unexpected("snapshot " + path_.string() + " is truncated");
            out = out.subspan(static_cast<std::size_t>(n));
        }
        return {};
    }

  private:
    int fd_;
    const std::filesystem::path& path_;
};

}  // namespace

Result<void, std::string> write_snapshot(const std::filesystem::path& file, const ZoneVersion& version,
                                         Sync sync) {
    auto tmp = TempFile::create(file, ".tmp", 0644);
    if (!tmp) return unexpected(tmp.error());

    const auto apex = version.apex().wire();
    std::vector<uint8_t> header(kMagic, kMagic + 8);
    put32(header, kFormatVersion);
    put32(header, static_cast<uint32_t>(version.size()));
    put32(header, static_cast<uint32_t>(version.soa_index()));
    put32(header, static_cast<uint32_t>(apex.size()));
    const uint64_t data_len = version.wire_bytes();
    put32(header, static_cast<uint32_t>(data_len >> 32));
    put32(header, static_cast<uint32_t>(data_len));

    Writer w(tmp->fd(), tmp->path(), header.size() + apex.size() + data_len + 4);
    if (auto r = w.put(header); !r) return r;
    if (auto r = w.put(apex); !r) return r;
    // The records are packed back to back in the version (never empty: it holds the SOA): one run.
    if (auto r = w.put(version.run(0, version.size())); !r) return r;
    std::vector<uint8_t> trailer;
    put32(trailer, w.crc());
    if (auto r = w.put(trailer); !r) return r;
    if (auto r = w.flush(); !r) return r;
    return tmp->commit(sync);
}

namespace {

// The fixed-size header's fields (layout above write_snapshot's).
struct SnapshotHeader {
    uint8_t raw[kHeader];
    uint32_t count = 0;
    uint32_t soa_index = 0;
    uint32_t apex_len = 0;
    uint64_t data_len = 0;
};

// Reads the fields of `h.raw` and checks its sizes against the file's `size` before anything they ask
// for is allocated.
Result<void, std::string> parse_header(SnapshotHeader& h, uint64_t size) {
    if (std::memcmp(h.raw, kMagic, 8) != 0) return unexpected(std::string("not a snapshot file"));
    if (rd32(h.raw + 8) != kFormatVersion)
        return unexpected("format version " + std::to_string(rd32(h.raw + 8)) + " is not supported");
    h.count = rd32(h.raw + 12);
    h.soa_index = rd32(h.raw + 16);
    h.apex_len = rd32(h.raw + 20);
    h.data_len = (uint64_t{rd32(h.raw + 24)} << 32) | rd32(h.raw + 28);
    if (h.apex_len == 0 || h.apex_len > dns::kMaxNameLength || h.data_len > 0xFFFFFFFFu ||
        size != kHeader + h.apex_len + h.data_len + 4)
        return unexpected(std::string("sizes do not match the file"));
    if (h.count == 0 || uint64_t{h.count} * 11 > h.data_len || h.soa_index >= h.count)
        return unexpected(std::string("bad record count"));
    return {};
}

// The offset of each record in `data`, after checking the structure record by record: framing, zone
// membership, canonical order, one SOA at `soa_index`. `resort`: an RRset is out of the current order.
Result<std::vector<uint32_t>, std::string> index_records(std::span<const uint8_t> data,
                                                         const SnapshotHeader& h, dns::NameView apex,
                                                         bool& resort) {
    std::vector<uint32_t> offsets;
    offsets.reserve(h.count);
    std::size_t pos = 0;
    std::size_t soa_count = 0;
    RecordView prev;
    for (uint32_t i = 0; i < h.count; ++i) {
        const std::size_t len = record_wire_length(data.subspan(pos));
        if (len == 0) return unexpected("malformed record " + std::to_string(i));
        const RecordView r = decode_record(data.subspan(pos, len));
        if (!dns::is_subdomain(r.owner, apex)) return unexpected("out-of-zone record " + r.owner.to_string());
        if (i > 0) {
            if (compare_rrsets(prev, r) > 0) return unexpected(std::string("records out of canonical order"));
            // A snapshot written when RDATA was ordered octet by octet (names not lower-cased) may hold an
            // RRset in another order: sorted again by the caller. The next load drops what are now
            // duplicates.
            const int c = compare_records_exact(prev, r);
            if (c == 0) return unexpected(std::string("a record stored twice"));
            if (c > 0) resort = true;
        }
        if (r.type == dns::RRType::SOA) {
            ++soa_count;
            if (i != h.soa_index || !(r.owner == apex) || !soa_rdata_serial(r.rdata))
                return unexpected(std::string("misplaced or malformed SOA record"));
        }
        offsets.push_back(static_cast<uint32_t>(pos));
        prev = r;
        pos += len;
    }
    if (pos != data.size()) return unexpected(std::string("trailing octets after the records"));
    if (soa_count != 1) return unexpected(std::string("no SOA record at the index given"));
    return offsets;
}

// Puts the records of each RRset back in canonical order (RFC 4034 §6.3), `offsets` following them.
void resort_records(std::vector<uint8_t>& data, std::vector<uint32_t>& offsets) {
    // Only records of one RRset move, so the SOA (alone in its set) keeps its index.
    std::stable_sort(offsets.begin(), offsets.end(), [&](uint32_t a, uint32_t b) {
        return compare_records_exact(decode_record(std::span(data).subspan(a)),
                                     decode_record(std::span(data).subspan(b))) < 0;
    });
    std::vector<uint8_t> sorted;
    sorted.reserve(data.size());
    for (uint32_t& off : offsets) {
        const std::size_t len = record_wire_length(std::span(data).subspan(off));
        const auto at = static_cast<uint32_t>(sorted.size());
        sorted.insert(sorted.end(), data.begin() + off,
                      data.begin() + static_cast<std::ptrdiff_t>(off + len));
        off = at;
    }
    data.swap(sorted);
}

}  // namespace

Result<ZoneVersionPtr, std::string> read_snapshot(const std::filesystem::path& file,
                                                  std::optional<dns::NameView> expected_apex) {
    using R = Result<ZoneVersionPtr, std::string>;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return R(unexpected(io_error_text("cannot open", file)));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    auto bad = [&](const std::string& why) {
        return R(unexpected("snapshot " + file.string() + ": " + why));
    };

    struct stat sb {};
    if (::fstat(fd, &sb) != 0) return R(unexpected(io_error_text("cannot stat", file)));
    const auto size = static_cast<uint64_t>(sb.st_size);
    Reader rd(fd, file);
    if (size < kHeader + 4) return bad("too short");
    SnapshotHeader header;
    if (auto r = rd.get(header.raw); !r) return R(unexpected(r.error()));
    if (auto parsed = parse_header(header, size); !parsed) return bad(parsed.error());

    std::vector<uint8_t> apex(header.apex_len);
    std::vector<uint8_t> data(static_cast<std::size_t>(header.data_len));
    uint8_t trailer[4];
    if (auto r = rd.get(apex); !r) return R(unexpected(r.error()));
    if (auto r = rd.get(data); !r) return R(unexpected(r.error()));
    if (auto r = rd.get(trailer); !r) return R(unexpected(r.error()));
    const uint32_t crc = crc32c(data, crc32c(apex, crc32c(std::span(header.raw, kHeader))));
    if (crc != rd32(trailer)) return bad("checksum mismatch");

    if (dns::wire_name_length(apex) != header.apex_len) return bad("invalid apex name");
    const dns::NameView apex_name(apex);
    if (expected_apex && !(apex_name == *expected_apex))
        return bad("holds zone " + apex_name.to_string() + ", not " + expected_apex->to_string());

    bool resort = false;
    auto offsets = index_records(data, header, apex_name, resort);
    if (!offsets) return bad(offsets.error());
    if (resort) resort_records(data, *offsets);
    return R(std::make_shared<const ZoneVersion>(dns::Name::from_wire(apex).value(), std::move(data),
                                                 std::move(*offsets), header.soa_index));
}

}  // namespace headwater::zone
