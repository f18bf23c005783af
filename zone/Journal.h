// A zone's durable history: the changesets between the versions it served, oldest first, consecutive
// (each one starts at the serial where the previous one ended). IXFR (RFC 1995) answers from it.
//
// Storage: one append-only file per zone, not LMDB. Why:
// - The history is a queue: append at the end, drop at the front, read a suffix. An append-only log does
//   exactly that with one write + fdatasync per change; a B-tree buys nothing here.
// - Damage must be survivable. LMDB trusts its pages: a truncated or bit-flipped data file can make it
//   fail to open or crash the reader, and it has no checksums of its own. Here every entry carries a
//   CRC32C and is fully validated when the file is opened; the first bad or incomplete entry and
//   everything after it are cut off (reported through recovery()), everything before stays usable.
// - No map size to configure, no lock file, no library; the format is 20 lines to document.
// Costs: dropping old entries needs a rewrite of the file (compaction), amortised: it happens once the
// dropped entries outweigh the kept ones (or outnumber max_changesets), so the file holds at most about
// twice the bounds and each byte is copied O(1) times.
//
// Crash safety (kill -9 or power loss at any moment):
// - append: the entry is written at the end of the file and fdatasync'ed before append() returns. A crash
//   mid-write leaves an incomplete or CRC-failing tail, dropped at the next open; earlier entries are
//   never rewritten in place.
// - compaction and reset: a new file is written beside the old one, fsync'ed, renamed over it (atomic),
//   and the directory fsync'ed. A crash leaves either the old or the new file, both complete.
//
// File format (integers big-endian):
//   header  "HWJOURNL" | u32 format version (1) | u32 CRC32C of the previous 12 octets
//   entry*  u32 magic "HWJE" | u32 payload length | u32 CRC32C of (length field + payload) | payload
//   payload i64 unix time of the change | Changeset::encode_to()
//
// Thread safety: every member is safe to call from several threads (reloads append, transfers read).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zone/Changeset.h"
#include "zone/DurableFile.h"
#include "zone/base/Result.h"
#include "zone/dns/Serial.h"

namespace headwater::zone {

// CRC32C (Castagnoli, as iSCSI and ext4 use), software, slice-by-8. `crc` continues a previous result.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

// A file-name stem for a zone's state files (journal, snapshot): the lower-cased name without the final
// dot, octets outside [a-z0-9-_.] as %XX ("Ex/ample.com." -> "ex%2fample.com", the root -> "root").
std::string zone_file_stem(dns::NameView apex);

// Bounds suited to a hidden primary: few secondaries, which normally follow every change within seconds;
// 100 steps cover a secondary that was down for a long while, and 64 MiB bounds the disk used per zone.
struct JournalBounds {
    std::size_t max_changesets = 100;
    std::size_t max_bytes = 64u << 20;  // file octets of the kept entries
    // The newest entries kept whatever the two bounds say: the owner's snapshot may be this many entries
    // behind the end, and a restart replays them onto it. The owner keeps their octets well within
    // max_bytes itself (it writes a snapshot once the journal is half full); should one large entry
    // overshoot, the file is larger than the bound until the next snapshot, and nothing is lost.
    uint32_t keep_last = 0;
};

// One entry as `headwaterctl journal` shows it.
struct JournalEntry {
    dns::Serial from;
    dns::Serial to;
    int64_t when = 0;  // unix seconds, as given to append()
    std::size_t removed = 0;
    std::size_t added = 0;
    std::size_t bytes = 0;  // the entry's size in the file
};

// The part of the history between two serials, as the IXFR plan needs it (without reading it).
struct ChainInfo {
    std::size_t changesets = 0;
    std::size_t records = 0;  // records in an IXFR answer for this chain, excluding its two framing SOAs
    std::size_t bytes = 0;    // their wire octets, uncompressed
};

struct AppendOutcome {
    std::size_t dropped = 0;  // oldest entries dropped to stay within the bounds
    bool restarted = false;   // the changeset alone exceeds max_bytes: the history restarts (empty)
    std::string warning;      // e.g. a failed compaction (the entry itself is durable)
    // The entry's place in the order of appends: sync(ticket) makes it durable (JournalSync::Later).
    uint64_t ticket = 0;
};

// When append() makes its entry durable: before it returns, or at a later sync() that one fdatasync shares
// with every entry appended before it started (group commit).
enum class JournalSync : uint8_t { Now, Later };

class Journal {
  public:
    // Opens the journal file at `file`; a missing one is an empty history, created (with its directory's
    // entry fsync'ed) by the first append. The directory must exist. A damaged tail is cut off and described
    // by recovery(); a file whose header is not a journal's is renamed to "<file>.corrupt" and a new history
    // begins (also reported).
    static Result<Journal, std::string> open(const std::filesystem::path& file, JournalBounds bounds = {});
    // What open() returns for a missing file, for a caller that knows there is none (nor a temporary file
    // left by a crash): no system call.
    static Journal none_yet(const std::filesystem::path& file, JournalBounds bounds = {});

    Journal(Journal&&) noexcept;
    Journal& operator=(Journal&&) noexcept;
    ~Journal();

    // Durably appends one changeset (on disk before this returns). It must continue the history:
    // changes.from() == last_serial() unless the journal is empty, and to() newer than from() (RFC 1982).
    // `when` is the unix time recorded with it. Then drops the oldest entries beyond the bounds.
    // With JournalSync::Later the entry is written but not synced: it is in the index at once (find_chain
    // never reaches past the caller's served serial, so it is not sent before the caller serves it), and
    // durable once sync(outcome.ticket) returns.
    Result<AppendOutcome, std::string> append(const Changeset& changes, int64_t when,
                                              JournalSync sync = JournalSync::Now);
    // Whether append() would keep `changes`: false when it alone is past max_bytes, and append() would
    // start the history over instead (outcome.restarted). The owner first writes a snapshot that needs no
    // history.
    bool fits(const Changeset& changes) const;
    // Makes every entry up to `ticket` durable. The fdatasync runs without the journal's lock, so entries
    // are appended meanwhile; a caller that finds one in progress waits for it, and the next one covers
    // every entry appended while it waited: one fdatasync for a burst of updates. An error (the file is
    // then in an unknown state, and refuses appends) means the entries after the last durable one may be
    // lost.
    Result<void, std::string> sync(uint64_t ticket);
    // sync(); with `join_running` false, for a caller that has better things to do than wait for a sync
    // in progress (an event loop): false, without waiting, when one is running and does not cover
    // `ticket`; otherwise as sync(), the fdatasync run by the caller.
    Result<bool, std::string> sync(uint64_t ticket, bool join_running);
    // Whether the entry of `ticket` is known durable (synced, and not lost by a failed sync).
    bool durable(uint64_t ticket) const;

    // Whether appends are taken: an error after a failed fdatasync (the file's state is unknown; only a
    // reset or a reopen ends it).
    Result<void, std::string> usable() const;

    // Forgets the whole history (a forced reload to an older serial starts a new one), durably.
    Result<void, std::string> reset();

    // The oldest serial an IXFR can start from, and the serial the history ends at (absent when empty).
    std::optional<dns::Serial> first_serial() const;
    std::optional<dns::Serial> last_serial() const;
    bool empty() const { return !last_serial(); }

    // The consecutive entries leading from `from` to `to`, from the index only; absent when the history
    // holds no such path. `to` is the serial of the version the caller serves: the journal may already
    // hold a newer entry (appended before the swap), which must not be sent.
    std::optional<ChainInfo> find_chain(dns::Serial from, dns::Serial to) const;
    // The same entries, read from the file (CRC re-checked). The error says "not in history" or why the
    // read failed; either way the answer is an AXFR.
    Result<std::vector<Changeset>, std::string> chain(dns::Serial from, dns::Serial to) const;

    std::vector<JournalEntry> entries() const;
    std::size_t bytes() const;  // file octets of the kept entries
    std::filesystem::path path() const;
    JournalBounds bounds() const;
    void set_bounds(JournalBounds bounds);  // takes effect at the next append

    // Empty when the file opened cleanly; otherwise what was cut off and why (for the log).
    const std::string& recovery() const;

  private:
    struct State;
    explicit Journal(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace headwater::zone
