// A served zone: its settings, the version being served (swapped atomically), its IXFR history (the
// journal) and reload bookkeeping.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "zone/Changeset.h"
#include "zone/Journal.h"
#include "zone/LoadError.h"
#include "zone/MasterFile.h"
#include "zone/SerialPolicy.h"
#include "zone/StateFiles.h"
#include "zone/ZoneSigning.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"
#include "zone/base/SharedString.h"

namespace headwater::zone {

using Clock = std::chrono::system_clock;

struct ZoneSettings {
    ZoneSettings() = default;
    ZoneSettings(dns::Name n, const std::filesystem::path& f, const std::filesystem::path& state = {},
                 SerialPolicy policy = SerialPolicy::Increment, JournalBounds bounds = {})
        : name(std::move(n)),
          file(f.native()),
          state_dir(state.native()),
          serial_policy(policy),
          journal_bounds(bounds) {}

    // The paths are strings: a std::filesystem::path keeps a list of its components, a few hundred octets
    // per zone that 100k zones would feel.
    dns::Name name;
    std::string file;
    // Where the journal and the snapshot of the served version live; empty: no history (every IXFR is
    // answered with the whole zone) and nothing survives a restart but the zone file. One string shared
    // by the zones of a server (make_zone).
    SharedString state_dir;
    SerialPolicy serial_policy = SerialPolicy::Increment;
    // Dynamic updates write the snapshot every this many (see update_snapshot_pace); not configurable, a
    // test lowers it.
    uint32_t updates_per_snapshot = 1000;
    JournalBounds journal_bounds;
    // Signs every version the zone serves (a zone with a DNSSEC policy); null: served as loaded.
    std::shared_ptr<ZoneSigning> signer;
    // How long after a dynamic update the served version is written back to `file` (0: at once, before
    // the answer). Until then a reload merges the file's changes onto the served version.
    std::chrono::milliseconds zonefile_sync{0};
    // A zone file this large (with a state_dir) is indexed by parts: a reload after an edit parses only
    // the parts that changed (ZoneFileIndex.h). Smaller files are read whole, which is as fast.
    uint64_t index_file_from = 4u << 20;
};

// A master file turned into a version, with what the loader changed on the way (ZoneBuilder).
struct LoadedZone {
    ZoneVersionPtr version;
    std::vector<LoadWarning> warnings;
    std::size_t suppressed_warnings = 0;  // more warnings, counted but not kept

    // The warnings as "file:line: message" lines, the count of the rest last ("... and N more").
    std::vector<std::string> warning_lines() const;
};

// Loads and checks a master file into a new version (nothing is served from it yet). `on_size` is told the
// file's size once it is open, before anything is read.
Result<LoadedZone, LoadError> load_zone_file(const dns::Name& apex, const std::filesystem::path& file,
                                             const SizeHint& on_size = {});

// A zone file this large is "large" to Zone::open (see OpenShared).
constexpr uint64_t kLargeZoneFile = 16u << 20;

enum class ReloadOutcome : uint8_t { Updated, Unchanged, Error };

struct ReloadResult {
    ReloadOutcome outcome = ReloadOutcome::Error;
    std::optional<dns::Serial> old_serial;  // absent before the first successful load
    std::optional<dns::Serial> serial;      // what is served after the reload
    std::string error;                      // "file:line: message" when outcome is Error
    std::string note;                       // what else happened: serial bumped by policy, history reset...
    std::vector<std::string> warnings;      // what loading the file changed ("file:line: message")
    bool by_parts = false;                  // only the parts of the file that changed were read
};

struct ZoneStatus {
    std::optional<dns::Serial> serial;
    std::size_t records = 0;
    std::optional<Clock::time_point> loaded_at;    // when the served version was loaded
    std::optional<Clock::time_point> last_reload;  // last reload attempt, whatever its outcome
    std::string last_error;                        // empty when the last attempt succeeded
    std::optional<dns::Serial> ixfr_from;          // the oldest serial an IXFR can start from
    // The zone file has loaded (or been found unchanged) since start-up. False with a serial: what is
    // served came from the state directory (the version served before the restart) because the file
    // did not load; false without one: nothing is served.
    bool file_loaded = false;
    // DNSSEC: the earliest expiration of a served RRSIG (signed zones, ours or pre-signed ones); for zones
    // we sign, when the next refresh is due and what the last signing did.
    std::optional<Clock::time_point> earliest_signature_expiration;
    std::optional<Clock::time_point> next_signature_refresh;
    std::size_t signatures_made = 0;
    std::size_t signatures_kept = 0;
};

// What a metrics scrape reads of a zone without its mutex (which a reload holds for as long as it reads
// the file): plain atomics, each updated as the reload finishes. Times are Unix milliseconds, 0: never.
struct ZoneCounters {
    int64_t loaded_at_ms = 0;       // when the served version started being served
    int64_t last_reload_ok_ms = 0;  // the last reload (or start-up load) that did not fail
    uint64_t reload_failures = 0;   // reloads (start-up load included) that failed, since start-up
};

// What the first load of a zone with no state on disk does with the snapshot of its version. Now: writes
// it (fsync'ed) before open() returns. Deferred: leaves it to write_deferred_snapshot(), called later
// off the way to serving: a start-up with thousands of zones would otherwise spend most of its time in
// two fsyncs per zone.
enum class FirstSnapshot { Now, Deferred };

// What zones opened together at start-up share (see Zone::open).
struct OpenShared {
    const StateFiles* files =
        nullptr;  // the state directory as listed: the files it lacks are not looked for
    // Held from the moment a zone's file turns out to be large (kLargeZoneFile) until its open() returns:
    // zones opened side by side then load one large file at a time (its build already uses two threads,
    // and two at once would need their peak memory twice), while small ones go on opening beside it.
    std::mutex* large_build = nullptr;
};

class ZoneFileIndex;  // zone/ZoneFileIndex.h
struct IndexedLoad;

// A dynamic update journaled but not durable yet (Zone::apply_change with a PendingUpdate to fill): its
// answer waits for Zone::sync_update() (the journal's fdatasync, shared with every update journaled
// before it started), then Zone::finish_update() serves the version.
struct PendingUpdate {
    uint64_t ticket = 0;  // the journal's (Journal::sync); 0: nothing to wait for
    uint64_t number = 0;  // the version's place among the zone's updates; 0: no version to serve (an
                          // answer that changed nothing, computed from an update not durable yet)
    ZoneVersionPtr version;
};

class Zone {
  public:
    explicit Zone(ZoneSettings settings);
    ~Zone();
    Zone(const Zone&) = delete;
    Zone& operator=(const Zone&) = delete;

    const ZoneSettings& settings() const { return settings_; }
    // The apex as text ("example.com"), computed once: answers name their zone for the secondaries view
    // at query rate.
    const std::string& name_text() const { return name_text_; }
    // The served version, or null before the first successful load. A caller keeps its snapshot for as
    // long as it needs (a transfer in flight finishes on the version it started with).
    ZoneVersionPtr current() const { return current_.load(std::memory_order_acquire); }
    // The IXFR history, or null when the zone keeps none (or its state directory is not open yet).
    // Thread-safe.
    const Journal* journal() const { return journal_view_.load(std::memory_order_acquire); }
    // Where the journal is, or goes with the zone's first change; empty when the zone keeps no history
    // (no state directory, or it could not be opened yet).
    std::optional<std::filesystem::path> journal_path() const;

    // First load at start-up: opens the journal and the snapshot of the version served before the
    // restart, then reads the zone file against it (a file edited while the server was down is diffed
    // against that version). Returns what a reload returns. On an error the zone stays usable: it serves
    // the snapshot's version if there was one (else nothing), and a later reload tries again.
    // `first`: see FirstSnapshot; `shared`: see OpenShared.
    ReloadResult open(Clock::time_point now, FirstSnapshot first = FirstSnapshot::Now,
                      const OpenShared& shared = {});
    // Writes the snapshot open(FirstSnapshot::Deferred) left for later, without an fsync; true when it
    // wrote one, false when none was owed (or a reload has written one since, or the zone is retired).
    Result<bool, std::string> write_deferred_snapshot();
    // The file system was synced since write_deferred_snapshot() wrote: the snapshot is durable (unless
    // something wrote it again since, which made it durable itself).
    void snapshot_synced();
    // Another Zone takes over this one's state files (reconfigure rebuilt or removed it): it writes no
    // deferred snapshot any more, which could land over the other's, and takes no dynamic update.
    void retire();
    // A retire() undone: the reconfigure that would have replaced this Zone was refused, and the replacement
    // changed none of its state files (it did not load).
    void unretire();

    // Reads the file and, if it is good and differs, journals the change and swaps the new version in.
    // The state directory is opened first if open() could not open it (so a zone that failed at start-up
    // gets its history once it loads). Any error leaves the served version and the history untouched.
    // Serial rules (RFC 1982 arithmetic): a newer serial in the file is taken as is; content changed under
    // the same file serial gets the next serial by the zone's policy (or is refused with `keep`); a serial
    // that went backwards is refused unless `force`, which starts a new history.
    ReloadResult reload(Clock::time_point now, bool force = false);

    // `headwaterctl bump`: a new version that differs only by its serial — the next one by `policy` (the
    // zone's own when absent; increment when that is keep) or exactly `set` — with its SOA-only change
    // journaled, and the serial written into the zone file in place so the next reload agrees.
    ReloadResult bump(Clock::time_point now, std::optional<SerialPolicy> policy,
                      std::optional<dns::Serial> set);

    // Signed zones: signatures due for refresh (all of them with `all`) made anew, as a new version with
    // the next serial by the zone's policy (increment under keep), journaled like a reload. Unchanged when
    // nothing is due. An error for a zone without a signer or not served yet.
    ReloadResult resign(Clock::time_point now, bool all);
    // When resign() next has something to do (signed zones that are served).
    std::optional<Clock::time_point> next_signature_refresh() const;
    // The served serial of a signed zone, when the served version was signed with the signer's keys as
    // they are now (a key rollover step is served); absent while a key change waits for its re-signing.
    std::optional<dns::Serial> signed_with_current_keys() const;

    // A change computed from the served content (a dynamic update, RFC 2136): `change` gets the version
    // the zone's content is edited from (the unsigned source of a signed zone) under the zone's lock, so
    // whatever it checks (prerequisites) still holds when the result is served. It returns the new
    // content, null when nothing changes, or an error (then nothing changes). The new version gets the
    // serial its SOA brings when that is newer, else the next one by the zone's policy (increment under
    // keep), is signed when the zone is, and is journaled durably and served before this returns. The
    // zone file follows later: a write-back is left due (write_back_if_due()), at once or after the
    // zone's zonefile_sync. `change` is also given that next serial by the policy (absent when the policy
    // has none to give): a change that sets it as it builds the version saves a copy of the whole zone.
    // It may set `changes` to what it changed (base to the result, as diff() would give it): the journal
    // then takes it as it is instead of comparing the two versions.
    using Change = std::function<Result<ZoneVersionPtr, std::string>(
        const ZoneVersion& base, std::optional<dns::Serial> serial, std::optional<Changeset>& changes)>;
    // With `deferred`, the journal's sync is not waited for here when it is needed (an unsigned zone's
    // update between two snapshots): the answer is computed, *deferred says what it waits for, and the
    // caller runs sync_update() then finish_update() before the answer leaves (RFC 2136 §3.5). A thread
    // that serves many clients need not block on the fdatasync then.
    ReloadResult apply_change(Clock::time_point now, const Change& change, PendingUpdate* deferred = nullptr);
    // `pending`'s journal entry made durable (Journal::sync): blocks for the fdatasync, or, unless
    // `join_running`, returns false at once when a sync that does not cover it is running.
    Result<bool, std::string> sync_update(const PendingUpdate& pending, bool join_running);
    // After sync_update() (`synced` its outcome): the version served, unless a newer one is already; the
    // snapshot written when it is due. Returns notes for the log, or the error the answer gets (a failed
    // sync: the versions not durable are dropped, and every update waiting on them fails alike).
    Result<std::string, std::string> finish_update(const PendingUpdate& pending,
                                                   const Result<void, std::string>& synced,
                                                   Clock::time_point now);

    // Writes the served content (the unsigned source of a signed zone) to the zone file atomically
    // (temporary file, fsync, rename), so that the next reload finds what is served. An error leaves the
    // file as it was. Updates are answered meanwhile (only reloads and bumps wait).
    Result<void, std::string> write_back();
    // The write-back dynamic updates left pending, when it is due at `now` (or at once with `all`, at
    // shutdown). False when nothing was pending.
    Result<bool, std::string> write_back_if_due(Clock::time_point now, bool all = false);
    // Whether a write-back is pending (due now or later, or to be retried). Thread-safe.
    bool write_back_pending() const { return write_back_pending_.load(std::memory_order_acquire); }

    // For tests and transfers-in: serve `version` as if loaded at `now` (no journal).
    void install(ZoneVersionPtr version, Clock::time_point now);

    ZoneStatus status() const;
    // Lock-free: never waits for a reload in progress.
    ZoneCounters counters() const;

  private:
    Result<void, std::string> open_state_locked(Clock::time_point now, std::string& note);
    ZoneVersionPtr replay_journal_locked(ZoneVersionPtr last, std::string& note);
    ReloadResult reload_locked(Clock::time_point now, bool force);
    // The zone file, by parts when file_index_ says which are unchanged from `base`'s (ZoneFileIndex.h).
    Result<IndexedLoad, LoadError> load_file_locked(const ZoneVersionPtr& base);
    // The index of the file just loaded becomes file_index_ (its copy written), or none is kept.
    void keep_file_index_locked(IndexedLoad& loaded);
    void drop_file_index_locked();
    ReloadResult update_locked(const ZoneVersionPtr& file_version, Clock::time_point now, bool force);
    // What record_history_locked() did: the entry's place for Journal::sync() (JournalSync::Later), or a
    // new history begun at `next`, whose snapshot is durable on disk already (the change alone was past
    // the journal's byte bound).
    struct HistoryEntry {
        uint64_t ticket = 0;
        bool restarted = false;
    };
    // update_locked()'s steps: the change to `next` in the journal (a new history when `new_history`),
    // notes added to `note`; the zone file's serial recorded as loaded. With JournalSync::Later the entry
    // is only written. `known`: the change from old to next when the caller has it (an update's), else it
    // is computed.
    Result<HistoryEntry, std::string> record_history_locked(const ZoneVersionPtr& old,
                                                            const ZoneVersionPtr& next, bool new_history,
                                                            Clock::time_point now, std::string& note,
                                                            JournalSync sync = JournalSync::Now,
                                                            const Changeset* known = nullptr);
    // A new history beginning at `from`: its snapshot written durably first, then the journal emptied, so
    // that a crash in between finds either the old history or the new snapshot, never an older snapshot
    // without the entries that continued it. Refused (nothing changed) when the snapshot cannot be written.
    Result<void, std::string> restart_history_locked(const ZoneVersionPtr& from, std::string& note);
    void file_loaded_locked(dns::Serial file_serial);
    // Signed zones: `source` signed against the served version (kept signatures), or an error message.
    Result<ZoneVersionPtr, std::string> sign_locked(const ZoneVersionPtr& source, Clock::time_point now,
                                                    bool all);
    // The served source re-signed: unchanged if nothing is due (and not `all`), else a new serial.
    void adopt_signing_locked();  // signing_->pending becomes the served version's
    void set_write_back_due_locked(std::optional<Clock::time_point> due);
    // When a write-back that failed at `now` is tried again.
    Clock::time_point write_back_retry(Clock::time_point now) const;
    ReloadResult resign_locked(Clock::time_point now, bool all);
    // Journals and serves `next` (signed when the zone is), `source` its unsigned source.
    Result<void, std::string> publish_locked(const ZoneVersionPtr& old, const ZoneVersionPtr& next,
                                             const ZoneVersionPtr& source, bool new_history,
                                             Clock::time_point now, std::string& note,
                                             const Changeset* known = nullptr);
    // Serves `next` and writes its snapshot (or defers it), unless `snapshot_written` (a new history
    // wrote it already).
    Result<void, std::string> commit_locked(const ZoneVersionPtr& next, Clock::time_point now,
                                            bool snapshot_written = false);
    // publish_locked for a dynamic update: the snapshot only every few updates (unsnapshotted), and, in
    // between, the journal's sync shared with the updates that come meanwhile (group commit): `lock` (on
    // mutex_) is let go while it runs. Signed zones keep the plain path (the signer's state follows the
    // served version).
    Result<void, std::string> publish_update_locked(std::unique_lock<std::mutex>& lock,
                                                    const ZoneVersionPtr& old, const ZoneVersionPtr& next,
                                                    const ZoneVersionPtr& source, Clock::time_point now,
                                                    std::string& note, const Changeset* known,
                                                    PendingUpdate* deferred);
    // publish_update_locked's end, once the entry is synced (`synced` the outcome).
    Result<void, std::string> serve_synced_locked(std::unique_lock<std::mutex>& lock,
                                                  const PendingUpdate& pending,
                                                  const Result<void, std::string>& synced,
                                                  Clock::time_point now, std::string& note);
    // The served version or, while updates wait for their journal sync, the newest of those: what the next
    // update edits.
    ZoneVersionPtr newest_locked() const;
    // publish_update_locked's snapshot, every few updates: written with `lock` let go.
    void update_snapshot_unlocked(std::unique_lock<std::mutex>& lock, std::string& note);
    // Whatever an update journaled without a sync yet made durable and served, so that a reload, a bump or
    // a re-signing continues the history from the served version. An error (the sync failed) drops them:
    // their updates are answered with it.
    Result<void, std::string> settle_locked(Clock::time_point now);
    // A journaled update's version, durable now, served unless a newer one (by `number`) is already.
    void serve_update_locked(const ZoneVersionPtr& version, uint64_t number, Clock::time_point now);
    bool snapshot_can_wait_locked() const;
    Result<void, std::string> make_snapshot_durable_locked(const ZoneVersionPtr& served);
    std::filesystem::path state_path(std::string_view suffix) const;
    // The zone file's serial recorded in the state directory (read by open_state_locked()).
    void save_file_serial(dns::Serial serial) const;
    // What the zone file is to hold: the served version, or the unsigned source of a signed zone.
    ZoneVersionPtr file_content_locked() const;
    // `content` rendered one record per line and written over the zone file atomically; its serial and
    // the content itself recorded in the state directory. Changes no member: the caller holds
    // file_mutex_, and mutex_ or not.
    Result<void, std::string> write_zone_file(const ZoneVersion& content) const;
    void file_written_locked(const ZoneVersionPtr& content);
    Result<void, std::string> write_back_file();    // file_mutex_ held, mutex_ not
    Result<void, std::string> write_back_locked();  // both held (a reload that merged)
    // The content the zone file holds as far as we know (what it last loaded or was written); `saved`:
    // the state directory's copy (.file-base) holds it already.
    void set_file_base_locked(const ZoneVersionPtr& content, bool saved = false);
    // file_base_ into the state directory, unless it is there already.
    Result<void, std::string> save_file_base_locked();
    // A reload while dynamic updates are not in the file yet: the file's changes since file_base_ applied
    // onto `base` (the served content); an RRset changed on both sides is a conflict (the error names it).
    // Null when `base` differs from file_base_ only by its serial (a bump, a re-signing): nothing to merge.
    Result<ZoneVersionPtr, std::string> merge_file_locked(const ZoneVersion& file,
                                                          const ZoneVersion& base) const;

    ZoneSettings settings_;
    std::string name_text_;
    std::atomic<ZoneVersionPtr> current_;
    std::optional<Journal> journal_;
    // journal_ as other threads see it: set once, when the state directory opens, which is at start-up
    // or, for a zone whose state could not be opened then, by a reload while queries are answered.
    std::atomic<const Journal*> journal_view_{nullptr};
    // The state directory is open, so changes are journaled: journal_ exists once there is a journal file
    // (at open, or from the first entry on).
    std::atomic<bool> history_{false};
    void count_reload(const ReloadResult& result, Clock::time_point now);
    void set_loaded_at_locked(Clock::time_point now);

    std::atomic<int64_t> loaded_at_ms_{0};
    std::atomic<int64_t> last_reload_ok_ms_{0};
    std::atomic<uint64_t> reload_failures_{0};
    // Held by whatever reads or writes the zone file or its serial record (open, reload, bump, write-back),
    // and taken before mutex_: a write-back renders and syncs the file without holding up updates, but no
    // reload reads the file half written.
    std::mutex file_mutex_;
    mutable std::mutex mutex_;                // serialises reloads and guards the bookkeeping below
    std::optional<dns::Serial> file_serial_;  // the serial written in the zone file at the last load
    bool file_serial_saved_ = false;          // the state directory's record (.file-serial) holds it
    std::optional<Clock::time_point> loaded_at_;
    std::optional<Clock::time_point> last_reload_;
    std::string last_error_;
    bool state_open_ = false;   // the state directory (journal, snapshot) has been opened, or there is none
    bool file_loaded_ = false;  // see ZoneStatus::file_loaded
    // The snapshot on disk: the state open() starts from, which the journal's first entry continues. A new
    // version's snapshot is written after the swap, so it never delays serving the version; a reload
    // returns once it is on disk (and reports a failure at once; the journal, written before the swap,
    // still has the change, and open() replays it onto the older snapshot). Only the very first load, with
    // no snapshot and no history on disk, may leave it for later (FirstSnapshot::Deferred): the zone file
    // alone gives the same start, so a crash before it is written loses nothing. Before the journal's
    // first entry the snapshot it continues is made durable (make_snapshot_durable_locked).
    enum class SnapshotState {
        None,      // not on disk
        Deferred,  // not on disk yet: write_deferred_snapshot() writes the served version
        Lazy,     // on disk, maybe not fsync'ed: write_deferred_snapshot(), or read by open() with no history
        Durable,  // on disk and fsync'ed: read by open() with history, written by a commit, or synced
    };
    SnapshotState snapshot_ = SnapshotState::None;
    bool defer_first_snapshot_ = false;                   // inside open(FirstSnapshot::Deferred)
    bool retired_ = false;                                // see retire()
    const StateFiles* state_files_ = nullptr;             // inside open(), when given
    std::unique_lock<std::mutex>* large_lock_ = nullptr;  // inside open(), on OpenShared::large_build
    ZoneVersionPtr file_base_;                            // see set_file_base_locked
    std::unique_ptr<ZoneFileIndex> file_index_;           // the file as last loaded, by parts
    bool file_base_saved_ = false;  // .file-base in the state directory holds file_base_
    // What dynamic updates keep, allocated by the first one (most zones never have one: 100k zones do
    // without it). Versions are numbered in the order they were made (`made`): a journal sync may end
    // after a newer update's, and the older version must then not replace the newer one served.
    struct UpdateState {
        // Updates journaled without a sync yet (publish_update_locked): the newest version journaled, not
        // durable yet; null: the served one is newest.
        ZoneVersionPtr head;
        uint64_t head_ticket = 0;
        uint64_t head_number = 0;
        uint64_t made = 0;              // versions made by changes (numbers handed out)
        uint64_t served = 0;            // the served version's number
        uint64_t snapshot_writes = 0;   // snapshots written under the lock (commit_locked and the like)
        bool snapshot_staging = false;  // an update is writing one without the lock
        // Updates journaled since the snapshot was last written (written every few: open() replays the
        // journal onto it, and it is written long before the journal could drop an entry it needs).
        std::size_t unsnapshotted = 0;
        std::optional<Clock::time_point> write_back_due;  // the zone file waits for zonefile_sync
    };
    std::unique_ptr<UpdateState> updates_;
    std::atomic<bool> write_back_pending_{false};  // updates_->write_back_due is set (read without the mutex)
    // Signed zones only (allocated when settings_.signer is set: 100k unsigned zones do without it).
    struct SigningState {
        // The unsigned version the served one was signed from.
        ZoneVersionPtr source;
        // What the signing of the served version said. sign_locked() leaves it in `pending`; only the
        // version's publication makes it the served one's (a journal that refuses the version must not make
        // a refresh look done).
        std::optional<Clock::time_point> next_refresh;
        uint64_t key_generation = 0;  // the signer's key_generation() when the served version was signed
        std::size_t made = 0;
        std::size_t kept = 0;
        std::optional<ZoneSigning::Signed> pending;  // the last sign_locked(), its version dropped
    };
    const std::unique_ptr<SigningState> signing_;
};

}  // namespace headwater::zone
