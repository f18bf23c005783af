#include "zone/Zone.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>

#include "zone/Changeset.h"
#include "zone/DurableFile.h"
#include "zone/MasterFile.h"
#include "zone/SerialRewrite.h"
#include "zone/Snapshot.h"
#include "zone/ZoneBuilder.h"
#include "zone/ZoneFileIndex.h"
#include "zone/dns/RRType.h"

namespace headwater::zone {

namespace {

int64_t unix_seconds(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string serial_text(dns::Serial s) {
    return std::to_string(s.value());
}

// `r` turned into an error, keeping the serials it already reports (what is still served).
ReloadResult with_error(ReloadResult r, std::string message) {
    r.outcome = ReloadOutcome::Error;
    r.error = std::move(message);
    return r;
}

// How often dynamic updates write the zone's snapshot: every `every` updates, and under the zone's lock
// once `limit` have gone by without one. A snapshot per update would cost two more syncs than the journal
// append itself and a copy of the whole zone; the journal alone makes an update durable (open() replays it
// onto an older snapshot), and keeps every entry the snapshot needs (JournalBounds::keep_last).
// - Unsigned zones: every ZoneSettings::updates_per_snapshot (1000) updates, or half the count bound if
//   larger, written off the zone's lock (update_snapshot_unlocked); under the lock only should that fall
//   behind by half as many again, or once the journal is half full by its byte bound (then every 16), so
//   the entries since the snapshot stay well inside that bound. A thousand because the snapshot costs the
//   size of the zone and an entry the size of its change: at 50 the snapshots wrote more than ten times
//   the journal's octets, and a restart replays the entries condensed into one step
//   (replay_journal_locked), so more of them cost little.
// - Signed zones: every 16, under the lock (the signer's state follows the served version).
// - A journal bounded below 16 MiB: every update (the operator asked for little disk).
struct SnapshotPace {
    std::size_t every = 1;
    std::size_t limit = 1;
};
SnapshotPace update_snapshot_pace(const ZoneSettings& settings, uint64_t journal_bytes) {
    const JournalBounds& b = settings.journal_bounds;
    if (b.max_bytes < (16u << 20)) return {};
    if (settings.signer || journal_bytes >= b.max_bytes / 2) {
        const std::size_t every = std::min<std::size_t>(16, b.max_changesets / 4);
        return {every, every};
    }
    const std::size_t every = std::max<std::size_t>(settings.updates_per_snapshot, b.max_changesets / 2);
    return {every, every + every / 2};
}

// The journal's bounds for a zone: the configured ones, and for a zone that takes dynamic updates (the
// only changes that do not write the snapshot each time) the entries since its snapshot.
JournalBounds journal_bounds_of(const ZoneSettings& settings, bool updated) {
    JournalBounds b = settings.journal_bounds;
    if (!updated) return b;
    b.keep_last = static_cast<uint32_t>(std::min<std::size_t>(update_snapshot_pace(settings, 0).limit + 1,
                                                              std::numeric_limits<uint32_t>::max()));
    return b;
}

}  // namespace

std::vector<std::string> LoadedZone::warning_lines() const {
    std::vector<std::string> out;
    out.reserve(warnings.size() + 1);
    for (const LoadWarning& w : warnings) out.push_back(w.to_string());
    if (suppressed_warnings > 0) out.push_back("... and " + std::to_string(suppressed_warnings) + " more");
    return out;
}

Result<LoadedZone, LoadError> load_zone_file(const dns::Name& apex, const std::filesystem::path& file,
                                             const SizeHint& on_size) {
    ZoneBuilder builder(apex);
    // A master file line makes about 25 to 100 octets of wire form (the owner is written out in full).
    const auto reserve = [&](uint64_t size) {
        if (on_size) on_size(size);
        const std::size_t text = std::min<uint64_t>(size, uint64_t{1} << 31);  // a zone is < 4 GiB
        builder.reserve(text / 24, text * 3 / 2);
    };
    auto loaded = load_master_file(
        file, apex.to_string(),
        [&](const RawRecord& rr) {
            return builder.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
        },
        reserve);
    if (!loaded) return unexpected(loaded.error());
    auto version = builder.build();
    if (!version) return unexpected(version.error());
    return LoadedZone{std::move(version).value(), builder.warnings(), builder.suppressed_warnings()};
}

std::filesystem::path Zone::state_path(std::string_view suffix) const {
    return std::filesystem::path(settings_.state_dir.str()) /
           (zone_file_stem(settings_.name) + std::string(suffix));
}

void Zone::save_file_serial(dns::Serial serial) const {
    if (settings_.state_dir.empty()) return;
    // Written like the snapshot (temp, fsync, rename): after a policy bump the served serial is ahead of
    // the file's, and without this record the next start would call the file's serial "backwards".
    const std::string text = std::to_string(serial.value()) + "\n";
    (void)write_file_atomically(state_path(".file-serial"),
                                std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644);
}

// The snapshot brought up to the journal's last entry (the process stopped between journaling a change
// and writing its snapshot); a journal that does not continue it starts anew.
ZoneVersionPtr Zone::replay_journal_locked(ZoneVersionPtr last, std::string& note) {
    const auto newest = journal_->last_serial();
    if (!newest || *newest == last->serial()) return last;
    auto chain = journal_->chain(last->serial(), *newest);
    if (chain && chain->size() > 1) {
        // Condensed into one step and applied once: each apply() copies the zone, and updates leave up to
        // about 1500 entries after the snapshot (update_snapshot_pace). Should that fail, the entries one
        // by one find the one that does not apply, and the zone is served as far as it went.
        if (auto one = condense(*chain))
            if (auto next = apply(*last, *one)) return *next;
    }
    if (chain) {
        for (const auto& c : *chain) {
            auto next = apply(*last, c);
            if (!next) {
                chain = unexpected(next.error());
                break;
            }
            last = *next;
        }
    }
    if (!chain) {
        // Served as far as it went, which its snapshot records before the journal goes; should it not be
        // written, the journal stays, and the first change writes it, then starts a new history
        // (record_history_locked).
        note += "journal does not continue the snapshot (" + chain.error() + ")";
        if (auto r = restart_history_locked(last, note); !r) {
            snapshot_ = SnapshotState::None;
            note += ", kept until a snapshot of the served version is written: " + r.error() + "; ";
        } else {
            note += ": history restarted; ";
        }
    }
    return last;
}

Result<void, std::string> Zone::open_state_locked(Clock::time_point now, std::string& note) {
    if (state_open_) return {};
    if (settings_.state_dir.empty()) {
        state_open_ = true;
        return {};
    }
    const std::string stem = zone_file_stem(settings_.name);
    const auto may_exist = [&](std::string_view suffix) {
        return !state_files_ || state_files_->may_exist(stem + std::string(suffix));
    };
    std::error_code ec;
    if (!state_files_ || !state_files_->directory_exists())
        std::filesystem::create_directories(settings_.state_dir.str(), ec);
    if (ec) return unexpected("cannot create state_dir " + settings_.state_dir.str() + ": " + ec.message());
    // No journal file: no Journal either until the first entry (record_history_locked). Most of 100k
    // zones never change, and an empty Journal costs a few hundred octets each.
    if (may_exist(".journal") || may_exist(".journal.tmp")) {
        // Unbounded while it is read and replayed: entries the snapshot on disk needs may lie beyond
        // today's bounds (lowered since, or updates made before a crash). The bounds set below apply from
        // the next entry, which a snapshot behind the journal (marked None) precedes with the served one.
        auto journal = Journal::open(state_path(".journal"), {std::numeric_limits<std::size_t>::max(),
                                                              std::numeric_limits<std::size_t>::max()});
        if (!journal) return unexpected(journal.error());
        journal_.emplace(std::move(*journal));
        journal_view_.store(&*journal_, std::memory_order_release);
    }
    // Nothing below fails: once the journal is open the state counts as open, and a later reload does
    // not read the snapshot again over a version served since.
    history_ = true;
    state_open_ = true;
    const bool history_on_disk = journal_ && !journal_->empty();
    if (journal_ && !journal_->recovery().empty())
        note += "journal recovered: " + journal_->recovery() + "; ";

    // The version served before the restart: the snapshot, brought up to the journal's last entry if
    // the process stopped between journaling a change and writing its snapshot.
    auto snapshot = may_exist(".snapshot")
                        ? read_snapshot(state_path(".snapshot"), settings_.name.view())
                        : Result<ZoneVersionPtr, std::string>(unexpected(std::string("no snapshot file")));
    if (snapshot) {
        ZoneVersionPtr last = *snapshot;
        // With history behind it, it was made durable before the history's first entry. Without, it may
        // be a deferred one written without an fsync (by the last process, or by the Zone a reconfigure
        // replaced): the first entry fsyncs it.
        snapshot_ = history_on_disk ? SnapshotState::Durable : SnapshotState::Lazy;
        if (history_on_disk) last = replay_journal_locked(std::move(last), note);
        // Served ahead of the snapshot (updates since it were replayed): the next entry writes the served
        // version's first, so that the bounds below never drop what the older one needs. (A replay that
        // stopped short wrote the served one and emptied the journal already.)
        if (last != *snapshot && !journal_->empty()) snapshot_ = SnapshotState::None;
        current_.store(last, std::memory_order_release);
        set_loaded_at_locked(now);
    } else if (history_on_disk) {
        (void)journal_->reset();
        note += "no usable snapshot (" + snapshot.error() + "): history restarted; ";
    }
    if (journal_)
        journal_->set_bounds(journal_bounds_of(settings_, updates_ != nullptr));  // at the next entry
    // What the file held when Headwater last loaded or wrote it, kept while updates may be ahead of the
    // file (save_file_base_locked()): without it a restart would take a file that lags for a hand edit.
    if (may_exist(".file-base")) {
        if (auto base = read_snapshot(state_path(".file-base"), settings_.name.view())) {
            file_base_ = *base;
            file_base_saved_ = true;
        }
    }
    if (may_exist(".file-serial")) {
        std::ifstream serial_file(state_path(".file-serial"));
        uint32_t v = 0;
        if (serial_file >> v) {
            file_serial_ = dns::Serial(v);
            file_serial_saved_ = true;
        }
    }
    return {};
}

ReloadResult Zone::open(Clock::time_point now, FirstSnapshot first, const OpenShared& shared) {
    const std::lock_guard file_lock(file_mutex_);
    const std::lock_guard lock(mutex_);
    defer_first_snapshot_ = first == FirstSnapshot::Deferred;  // for this load only
    state_files_ = shared.files;
    std::unique_lock<std::mutex> large;  // see OpenShared::large_build
    if (shared.large_build != nullptr) {
        large = std::unique_lock(*shared.large_build, std::defer_lock);
        large_lock_ = &large;
    }
    auto result = reload_locked(now, false);
    defer_first_snapshot_ = false;
    state_files_ = nullptr;
    large_lock_ = nullptr;
    count_reload(result, now);
    return result;
}

ReloadResult Zone::reload(Clock::time_point now, bool force) {
    const std::lock_guard file_lock(file_mutex_);
    const std::lock_guard lock(mutex_);
    auto result = reload_locked(now, force);
    count_reload(result, now);
    return result;
}

namespace {
int64_t unix_ms(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

void Zone::count_reload(const ReloadResult& result, Clock::time_point now) {
    if (result.outcome == ReloadOutcome::Error)
        reload_failures_.fetch_add(1, std::memory_order_relaxed);
    else
        last_reload_ok_ms_.store(unix_ms(now), std::memory_order_relaxed);
}

void Zone::set_loaded_at_locked(Clock::time_point now) {
    loaded_at_ = now;
    loaded_at_ms_.store(unix_ms(now), std::memory_order_relaxed);
}

ZoneCounters Zone::counters() const {
    return {loaded_at_ms_.load(std::memory_order_relaxed), last_reload_ok_ms_.load(std::memory_order_relaxed),
            reload_failures_.load(std::memory_order_relaxed)};
}

ReloadResult Zone::reload_locked(Clock::time_point now, bool force) {
    last_reload_ = now;
    std::string note;
    // A zone whose state could not be opened at start-up (state_dir not writable then, say) opens it now:
    // served without it, its changes would have no history and its next start would not find them.
    auto state = open_state_locked(now, note);
    ReloadResult result;
    const auto settled = settle_locked(now);
    if (auto v = current()) result.old_serial = result.serial = v->serial();
    auto fail = [&](std::string message) {
        result.note = note;
        last_error_ = message;
        return with_error(result, std::move(message));
    };
    if (!state) return fail(state.error());
    if (!settled) return fail(settled.error());
    // A signed zone served before the restart: its source is the snapshot without its DNSSEC records.
    if (signing_ && !signing_->source)
        if (const auto v = current()) signing_->source = settings_.signer->source_of(*v);
    const ZoneVersionPtr base = signing_ ? signing_->source : current();
    auto indexed = load_file_locked(base);
    if (!indexed) return fail(indexed.error().to_string());
    LoadedZone* loaded = &indexed->loaded;
    if (settings_.signer)
        if (auto ok = settings_.signer->check_source(*loaded->version); !ok)
            return fail(settings_.file + ": " + ok.error());
    ZoneVersionPtr merged;
    // A file whose serial went back behind what was last loaded or written is not an edit to merge: the
    // ordinary path refuses it (unless forced), as it would without updates.
    const bool backwards = file_serial_ && loaded->version->serial() < *file_serial_;
    if (file_base_ && base && !backwards && !file_base_->same_content(*base)) {
        // Dynamic updates the file does not hold yet: the file's own changes go on top of them, and the
        // merged version is written back at once. (Null: only the serial differs, as after a bump.)
        auto m = merge_file_locked(*loaded->version, *base);
        if (!m) return fail(m.error());
        merged = *m;
    }
    if (merged) {
        drop_file_index_locked();  // the version served is not the file's
        result = update_locked(merged, now, force);
        if (result.outcome != ReloadOutcome::Error) {
            if (auto w = write_back_locked(); !w) {
                result.note +=
                    (result.note.empty() ? "" : "; ") + std::string("zone file not written: ") + w.error();
                // Retried like an update's write-back (the server's writer looks at write_back_pending()).
                set_write_back_due_locked(write_back_retry(now));
            } else
                result.note += (result.note.empty() ? "" : "; ") + std::string("merged with dynamic updates");
        }
    } else {
        result = update_locked(loaded->version, now, force);
        if (result.outcome != ReloadOutcome::Error) {
            set_file_base_locked(signing_ ? signing_->source : current());
            keep_file_index_locked(*indexed);
        }
    }
    result.warnings = loaded->warning_lines();
    result.by_parts = indexed->incremental;
    if (!note.empty()) result.note = note + result.note;
    return result;
}

Zone::Zone(ZoneSettings settings)
    : settings_(std::move(settings)),
      name_text_(settings_.name.to_string()),
      signing_(settings_.signer ? std::make_unique<SigningState>() : nullptr) {}

Zone::~Zone() = default;

Result<IndexedLoad, LoadError> Zone::load_file_locked(const ZoneVersionPtr& base) {
    // The size comes from the loader's own fstat: a stat of the path beforehand would be one more system
    // call per zone, which a start with 100k zones feels.
    const auto on_size = [this](uint64_t size) {
        if (large_lock_ != nullptr && size >= kLargeZoneFile && !large_lock_->owns_lock())
            large_lock_->lock();
    };
    if (settings_.state_dir.empty()) {  // nowhere to keep the copy an index needs
        auto whole = load_zone_file(settings_.name, settings_.file, on_size);
        if (!whole) return unexpected(whole.error());
        return IndexedLoad{std::move(*whole), nullptr, {}, false};
    }
    return load_zone_file_indexed(settings_.name, settings_.file, state_path(".file-copy"), file_index_.get(),
                                  base, settings_.index_file_from, on_size);
}

void Zone::keep_file_index_locked(IndexedLoad& loaded) {
    if (!write_index_copy(loaded)) return drop_file_index_locked();  // no index, or no copy for it
    file_index_ = std::move(loaded.index);
}

void Zone::drop_file_index_locked() {
    if (!file_index_) return;
    std::error_code gone;
    std::filesystem::remove(file_index_->copy, gone);
    file_index_.reset();
}

void Zone::file_loaded_locked(dns::Serial file_serial) {
    // The record is needed only while the served serial is not the file's (a policy bump): the next start
    // must not call the file's serial backwards then. When they are the same the served serial says it
    // all, and writing the record would cost every zone an fsync at its first start. Nor is it written
    // again when the record on disk already says so (read by open_state_locked).
    const auto served = current();
    const bool needed = !served || !(served->serial() == file_serial);
    const bool recorded = file_serial_saved_ && file_serial_ && *file_serial_ == file_serial;
    file_serial_ = file_serial;
    if (needed && !recorded) {
        save_file_serial(file_serial);
        file_serial_saved_ = true;
    } else if (!needed && file_serial_saved_ && !recorded && !settings_.state_dir.empty()) {
        std::error_code gone;  // a stale record: the next start would take the file's serial for a regression
        std::filesystem::remove(state_path(".file-serial"), gone);
        file_serial_saved_ = false;
    }
    last_error_.clear();
    file_loaded_ = true;
}

Result<Zone::HistoryEntry, std::string> Zone::record_history_locked(const ZoneVersionPtr& old,
                                                                    const ZoneVersionPtr& next,
                                                                    bool new_history, Clock::time_point now,
                                                                    std::string& note, JournalSync sync,
                                                                    const Changeset* known) {
    using R = Result<HistoryEntry, std::string>;
    // The history is written (durably) before the new version is served: a crash in between leaves a
    // journal one step ahead of the snapshot, which open() replays.
    if (!history_) return HistoryEntry{};
    if (new_history) {
        // A journal with entries continues the snapshot on disk: `next`'s is written before they go.
        if (journal_ && !journal_->empty()) {
            if (auto r = restart_history_locked(next, note); !r) return R(unexpected(r.error()));
            return HistoryEntry{0, true};
        }
        // The snapshot on disk is an older version's, which nothing continues now: should the new one not
        // be written, the next entry writes the served version first.
        snapshot_ = SnapshotState::None;
        return HistoryEntry{};
    }
    if (!journal_) {  // the first entry ever: the file is created by the append
        journal_.emplace(
            Journal::none_yet(state_path(".journal"), journal_bounds_of(settings_, updates_ != nullptr)));
        journal_view_.store(&*journal_, std::memory_order_release);
    }
    // After a failed fdatasync nothing is appended, nor is the history restarted below: updates whose
    // entries were synced may still be on their way to being served, and a new history from the served
    // version would leave them in neither (a restart, or a forced reload, ends it).
    if (auto usable = journal_->usable(); !usable) return R(unexpected("journal: " + usable.error()));
    std::optional<Changeset> computed;
    if (!known) computed = diff(*old, *next);
    const Changeset& changes = known ? *known : *computed;
    if (!journal_->fits(changes)) {
        // This change alone is past the journal's byte bound: a new history begins at `next`.
        if (auto r = restart_history_locked(next, note); !r) return R(unexpected(r.error()));
        note += (note.empty() ? "" : "; ") +
                std::string("the change alone is larger than journal_max_bytes: IXFR history restarted");
        return HistoryEntry{0, true};
    }
    // The snapshot must be durable before the history grows past it (open() replays onto it).
    if (auto r = make_snapshot_durable_locked(old); !r) return R(unexpected(r.error()));
    if (!journal_->empty() && journal_->last_serial() != old->serial()) {
        // The journal does not end at the served version (a replay at open that stopped short, and could
        // not write its snapshot then): the served version's snapshot, then a history from it.
        if (auto r = restart_history_locked(old, note); !r) return R(unexpected(r.error()));
    }
    auto appended = journal_->append(changes, unix_seconds(now), sync);
    if (!appended) return R(unexpected("journal: " + appended.error()));
    if (appended->dropped > 0)
        note += (note.empty() ? "" : "; ") + std::to_string(appended->dropped) + " old changeset(s) dropped";
    if (!appended->warning.empty()) note += (note.empty() ? "" : "; ") + appended->warning;
    // Never restarted here: fits() said it is kept, and the bounds change only under this zone's lock.
    return HistoryEntry{appended->ticket, false};
}

Result<void, std::string> Zone::restart_history_locked(const ZoneVersionPtr& from, std::string& note) {
    if (updates_) ++updates_->snapshot_writes;  // a snapshot an update staged is older now
    if (auto w = write_snapshot(state_path(".snapshot"), *from); !w) {
        // It may be on disk all the same (its directory's sync failed after the rename): the next change
        // writes the served version's first, so that no entry ever continues a refused version.
        snapshot_ = SnapshotState::None;
        return unexpected("snapshot not written (" + w.error() +
                          "); the change is not journaled, and the history on disk is kept");
    }
    snapshot_ = SnapshotState::Durable;
    if (auto r = journal_->reset(); !r) {
        // `from` is durable in its snapshot, which the journal does not continue: open() restarts the
        // history from it, and so does the next change (record_history_locked), trying the reset again.
        note += (note.empty() ? "" : "; ") + ("journal not emptied: " + r.error());
    }
    return {};
}

ReloadResult Zone::update_locked(const ZoneVersionPtr& file_version, Clock::time_point now, bool force) {
    ReloadResult result;
    const ZoneVersionPtr old = current();
    if (old) result.old_serial = old->serial();
    result.serial = result.old_serial;
    auto fail = [&](std::string message) {
        last_error_ = message;
        return with_error(result, std::move(message));
    };
    const dns::Serial file_serial = file_version->serial();
    const std::string file = settings_.file;
    // A signed zone's file is compared with the source of the served version, not with the signed one.
    const ZoneVersionPtr base = signing_ ? signing_->source : old;
    auto unchanged = [&] {
        file_loaded_locked(file_serial);
        if (settings_.signer) return resign_locked(now, false);  // signatures may be due all the same
        result.outcome = ReloadOutcome::Unchanged;
        return result;
    };

    ZoneVersionPtr next = file_version;
    bool new_history = !old;
    if (old && base) {
        const dns::Serial served = old->serial();
        if (file_version->same_content(*base)) return unchanged();
        const bool serial_untouched = file_serial == served || (file_serial_ && file_serial == *file_serial_);
        if (served < file_serial) {
            // A newer serial in the file: taken as written.
        } else if (serial_untouched) {
            // The operator changed records but not the serial (or the serial is one we bumped before).
            if (with_serial(*file_version, base->serial())->same_content(*base)) return unchanged();
            if (settings_.serial_policy == SerialPolicy::Keep)
                return fail(
                    file + ": zone content changed but the serial is still " + serial_text(file_serial) +
                    " (serial_policy keep); increase the SOA serial so secondaries pick up the change");
            auto bumped = next_serial(served, settings_.serial_policy, unix_seconds(now));
            if (!bumped) return fail(file + ": " + bumped.error());
            next = with_serial(*file_version, *bumped);
            result.note = "serial " + serial_text(*bumped) + " set by serial_policy " +
                          std::string(to_string(settings_.serial_policy)) + " (the file says " +
                          serial_text(file_serial) + ")";
        } else if (!force) {
            return fail(file + ": SOA serial went backwards (" + serial_text(served) + " -> " +
                        serial_text(file_serial) +
                        "); secondaries would ignore it. Use a serial newer than " + serial_text(served) +
                        ", or reload with --force to start a new history");
        } else {
            new_history = true;
            result.note =
                "serial forced backwards; IXFR history restarted (secondaries need a full transfer)";
        }
    }

    ZoneVersionPtr served = next;
    if (settings_.signer) {
        auto signed_version = sign_locked(next, now, false);
        if (!signed_version) return fail(file + ": signing failed: " + signed_version.error());
        served = *signed_version;
    }
    if (auto r = publish_locked(old, served, next, new_history, now, result.note); !r) return fail(r.error());
    file_loaded_locked(file_serial);
    result.outcome = ReloadOutcome::Updated;
    result.serial = served->serial();
    return result;
}

Result<void, std::string> Zone::publish_locked(const ZoneVersionPtr& old, const ZoneVersionPtr& next,
                                               const ZoneVersionPtr& source, bool new_history,
                                               Clock::time_point now, std::string& note,
                                               const Changeset* known) {
    // A signer that changed a few RRsets of the served version says which: the journal takes that, not a
    // diff of the two signed versions (a pass over both).
    if (!known && old && signing_ && signing_->pending && signing_->pending->changes) {
        const Changeset& c = *signing_->pending->changes;
        if (std::ranges::equal(c.old_soa().wire, old->soa().wire) &&
            std::ranges::equal(c.new_soa().wire, next->soa().wire))
            known = &c;
    }
    auto entry = record_history_locked(old, next, new_history, now, note, JournalSync::Now, known);
    if (!entry) return unexpected(entry.error());
    if (auto r = commit_locked(next, now, entry->restarted); !r)
        note += (note.empty() ? "" : "; ") + r.error();
    // Newer than any update still waiting for its sync (settle_locked() ran first: none is newer).
    if (updates_) {
        updates_->unsnapshotted = 0;
        updates_->served = ++updates_->made;
    }
    if (signing_) signing_->source = source;
    adopt_signing_locked();
    return {};
}

Result<ZoneVersionPtr, std::string> Zone::sign_locked(const ZoneVersionPtr& source, Clock::time_point now,
                                                      bool all) {
    const ZoneVersionPtr old = current();
    auto s = settings_.signer->sign(source, old.get(), now, all);
    if (!s) return unexpected(s.error());
    ZoneVersionPtr version = std::move(s->version);
    signing_->pending = std::move(*s);
    return version;
}

void Zone::adopt_signing_locked() {
    if (!signing_ || !signing_->pending) return;
    SigningState& g = *signing_;
    g.next_refresh = g.pending->next_refresh;
    g.key_generation = g.pending->key_generation;
    g.made = g.pending->made;
    g.kept = g.pending->kept;
    g.pending.reset();
}

ReloadResult Zone::resign_locked(Clock::time_point now, bool all) {
    ReloadResult result;
    if (auto settled = settle_locked(now); !settled) return with_error(result, settled.error());
    const ZoneVersionPtr old = current();
    if (old) result.old_serial = result.serial = old->serial();
    if (!settings_.signer) return with_error(result, "the zone has no dnssec_policy: nothing to sign");
    SigningState& g = *signing_;
    if (!old || !g.source) return with_error(result, "the zone is not served (its file has not loaded)");
    const bool keys_changed = settings_.signer->key_generation() != g.key_generation;
    if (!all && g.next_refresh && now < *g.next_refresh && !keys_changed) {
        // No signature is due and the keys are those it was signed with: signing again would give the
        // served version back, at the cost of a pass over the whole zone.
        result.outcome = ReloadOutcome::Unchanged;
        return result;
    }
    // Without a refresh time (no signing since start-up), try with the served serial first: if that gives
    // the served version back, nothing is due. With one, something is due now and the trial is skipped.
    if (!all && !g.next_refresh) {
        auto same = sign_locked(with_serial(*g.source, old->serial()), now, false);
        if (!same) return with_error(result, "signing failed: " + same.error());
        if ((*same)->same_content(*old)) {
            adopt_signing_locked();  // what it said holds for the served version, which it reproduced
            result.outcome = ReloadOutcome::Unchanged;
            return result;
        }
    }
    // Something is re-signed: that is a new version, and secondaries only take it with a new serial.
    SerialPolicy p =
        settings_.serial_policy == SerialPolicy::Keep ? SerialPolicy::Increment : settings_.serial_policy;
    auto bumped = next_serial(old->serial(), p, unix_seconds(now));
    if (!bumped) return with_error(result, bumped.error());
    const ZoneVersionPtr source = with_serial(*g.source, *bumped);
    auto next = sign_locked(source, now, all);
    if (!next) return with_error(result, "signing failed: " + next.error());
    if (auto r = publish_locked(old, *next, source, false, now, result.note); !r)
        return with_error(result, r.error());
    result.outcome = ReloadOutcome::Updated;
    result.serial = (*next)->serial();
    result.note += (result.note.empty() ? "" : "; ") + std::string("re-signed: ") + std::to_string(g.made) +
                   " signature(s) made, " + std::to_string(g.kept) + " kept";
    return result;
}

ReloadResult Zone::resign(Clock::time_point now, bool all) {
    std::lock_guard lock(mutex_);
    return resign_locked(now, all);
}

std::optional<dns::Serial> Zone::signed_with_current_keys() const {
    std::lock_guard lock(mutex_);
    const ZoneVersionPtr served = current();
    if (!signing_ || !served || !settings_.signer) return std::nullopt;
    if (signing_->key_generation != settings_.signer->key_generation()) return std::nullopt;
    return served->serial();
}

std::optional<Clock::time_point> Zone::next_signature_refresh() const {
    std::lock_guard lock(mutex_);
    if (!signing_ || !current()) return std::nullopt;
    return signing_->next_refresh;
}

std::optional<std::filesystem::path> Zone::journal_path() const {
    if (!history_.load(std::memory_order_acquire)) return std::nullopt;
    return state_path(".journal");
}

bool Zone::snapshot_can_wait_locked() const {
    // A signed zone's is written at once: signing again at a restart would serve new signatures under the
    // serial the secondaries already hold (and it costs far more than the snapshot).
    if (!history_ || !defer_first_snapshot_ || settings_.signer ||
        !(snapshot_ == SnapshotState::None || snapshot_ == SnapshotState::Deferred) ||
        (journal_ && !journal_->empty()))
        return false;
    if (state_files_ && state_files_->complete())
        return !state_files_->may_exist(zone_file_stem(settings_.name) + ".snapshot");
    std::error_code ec;
    return !std::filesystem::exists(state_path(".snapshot"), ec) && !ec;
}

Result<void, std::string> Zone::commit_locked(const ZoneVersionPtr& next, Clock::time_point now,
                                              bool snapshot_written) {
    current_.store(next, std::memory_order_release);
    set_loaded_at_locked(now);
    if (settings_.state_dir.empty() || snapshot_written) return {};
    if (updates_) ++updates_->snapshot_writes;  // a snapshot an update staged is older now
    if (snapshot_can_wait_locked()) {
        // Nothing is lost without it yet (see snapshot_): the server writes it once every zone is served.
        snapshot_ = SnapshotState::Deferred;
        return {};
    }
    if (auto w = write_snapshot(state_path(".snapshot"), *next); !w) {
        // The one on disk is an older version's, which the journal continues for now; the next entry
        // writes the served version's first (or is refused), so that the journal's bounds never drop what
        // the older one needs.
        snapshot_ = SnapshotState::None;
        return unexpected("snapshot not written (" + w.error() + "); the journal still has the change");
    }
    snapshot_ = SnapshotState::Durable;
    return {};
}

Result<void, std::string> Zone::make_snapshot_durable_locked(const ZoneVersionPtr& served) {
    if (snapshot_ == SnapshotState::Durable || !served) return {};
    // Lazy: the file holds the version the (empty) journal would continue: the served one, or the one
    // open() read when nothing was served since; either way an fsync makes it the base.
    const auto file = state_path(".snapshot");
    if (updates_) ++updates_->snapshot_writes;
    auto made = snapshot_ == SnapshotState::Lazy ? sync_file(file) : write_snapshot(file, *served);
    if (!made) return unexpected("snapshot not written (" + made.error() + "); the change is not journaled");
    snapshot_ = SnapshotState::Durable;
    return {};
}

void Zone::retire() {
    const std::lock_guard lock(mutex_);
    retired_ = true;
}

void Zone::unretire() {
    const std::lock_guard lock(mutex_);
    retired_ = false;
}

void Zone::snapshot_synced() {
    const std::lock_guard lock(mutex_);
    if (snapshot_ == SnapshotState::Lazy) snapshot_ = SnapshotState::Durable;
}

Result<bool, std::string> Zone::write_deferred_snapshot() {
    const std::lock_guard lock(mutex_);
    const ZoneVersionPtr served = current();
    if (snapshot_ != SnapshotState::Deferred || !served || retired_) return false;
    if (auto w = write_snapshot(state_path(".snapshot"), *served, Sync::Lazy); !w) {
        // The next change writes it (durably) before journaling.
        snapshot_ = SnapshotState::None;
        return unexpected("snapshot not written: " + w.error());
    }
    snapshot_ = SnapshotState::Lazy;
#if defined(__GLIBC__)
    // A large zone's write buffer: handed back rather than kept as heap slack.
    if (served->wire_bytes() >= (4u << 20)) malloc_trim(0);
#endif
    return true;
}

ReloadResult Zone::bump(Clock::time_point now, std::optional<SerialPolicy> policy,
                        std::optional<dns::Serial> set) {
    const std::lock_guard file_lock(file_mutex_);  // the SOA's serial is rewritten in the file
    const std::lock_guard lock(mutex_);
    ReloadResult result;
    // A refused bump is the caller's answer, not the zone's last (reload) error.
    auto fail = [&](std::string message) { return with_error(result, std::move(message)); };
    if (auto settled = settle_locked(now); !settled) return fail(settled.error());
    const ZoneVersionPtr old = current();
    if (!old) return fail("the zone is not served (its file has not loaded): nothing to bump");
    result.old_serial = result.serial = old->serial();

    dns::Serial next_value;
    if (set) {
        if (auto ok = check_serial_advance(old->serial(), *set); !ok) return fail(ok.error());
        next_value = *set;
    } else {
        SerialPolicy p = policy.value_or(settings_.serial_policy);
        if (p == SerialPolicy::Keep) p = SerialPolicy::Increment;  // a bump is an explicit request
        auto s = next_serial(old->serial(), p, unix_seconds(now));
        if (!s) return fail(s.error());
        next_value = *s;
    }

    // Where the SOA is written (its file may be an $INCLUDE), found before anything changes.
    std::optional<std::pair<std::string, std::size_t>> soa_at;
    (void)load_master_file(settings_.file, settings_.name.to_string(), [&](const RawRecord& rr) {
        if (rr.type == dns::to_u16(dns::RRType::SOA)) {
            soa_at.emplace(std::string(rr.file), rr.line);
            return Result<void, std::string>(unexpected(std::string("found")));  // stop reading
        }
        return Result<void, std::string>();
    });

    ZoneVersionPtr next = with_serial(*old, next_value);
    ZoneVersionPtr source;
    if (signing_ && signing_->source) {
        // A signed zone: the SOA with the new serial is signed anew (and whatever else is due).
        source = with_serial(*signing_->source, next_value);
        auto signed_version = sign_locked(source, now, false);
        if (!signed_version) return fail("signing failed: " + signed_version.error());
        next = *signed_version;
    }
    if (auto r = publish_locked(old, next, source, false, now, result.note); !r) return fail(r.error());
    result.outcome = ReloadOutcome::Updated;
    result.serial = next_value;

    // The file keeps the operator's layout; only the serial token changes. Served either way: if the file
    // cannot be updated the next reload still works (its serial counts as untouched and the policy applies).
    auto rewritten =
        soa_at ? rewrite_soa_serial(soa_at->first, soa_at->second, next_value)
               : Result<void, std::string>(unexpected(settings_.file + ": no SOA record found to update"));
    if (rewritten) {
        file_serial_ = next_value;
        save_file_serial(next_value);
        file_serial_saved_ = true;
    } else {
        result.note +=
            (result.note.empty() ? "" : "; ") + std::string("zone file not updated: ") + rewritten.error();
    }
    return result;
}

Result<void, std::string> Zone::publish_update_locked(std::unique_lock<std::mutex>& lock,
                                                      const ZoneVersionPtr& old, const ZoneVersionPtr& next,
                                                      const ZoneVersionPtr& source, Clock::time_point now,
                                                      std::string& note, const Changeset* known,
                                                      PendingUpdate* deferred) {
    const auto [every, limit] = update_snapshot_pace(settings_, journal_ ? journal_->bytes() : 0);
    if (!history_ || ++updates_->unsnapshotted >= limit) {
        if (auto r = settle_locked(now); !r) return r;
        return publish_locked(old, next, source, false, now, note, known);
    }
    if (signing_) {
        // Synced under the lock: the signer's state (kept signatures, the next refresh) follows the served
        // version, and a version dropped after a failed sync would leave it ahead.
        auto entry = record_history_locked(old, next, false, now, note, JournalSync::Now, known);
        if (!entry) return unexpected(entry.error());
        if (entry->restarted) updates_->unsnapshotted = 0;  // `next`'s snapshot is on disk
        current_.store(next, std::memory_order_release);
        set_loaded_at_locked(now);
        signing_->source = source;
        adopt_signing_locked();
        return {};
    }
    auto entry = record_history_locked(old, next, false, now, note, JournalSync::Later, known);
    if (!entry) return unexpected(entry.error());
    const uint64_t ticket = entry->ticket;
    UpdateState& u = *updates_;
    const uint64_t number = ++u.made;
    if (entry->restarted) {
        // A new history begins at `next` (this change alone is past the journal's bounds): its snapshot is
        // durable already, and with it every update journaled before it.
        u.head.reset();
        u.served = number;
        (void)commit_locked(next, now, true);
        u.unsnapshotted = 0;
        return {};
    }
    u.head = next;
    u.head_ticket = ticket;
    u.head_number = number;
    const PendingUpdate pending{ticket, number, next};
    // RFC 2136 §3.5 wants the update durable before its answer, not before the next update starts: the
    // sync runs without the zone's lock, so the updates that arrive meanwhile are applied and written, and
    // the next sync covers them all. A deferred caller runs it (and the rest) itself.
    if (deferred != nullptr) {
        *deferred = pending;
        return {};
    }
    lock.unlock();
    auto synced = journal_->sync(ticket);
    lock.lock();
    return serve_synced_locked(lock, pending, synced, now, note);
}

Result<void, std::string> Zone::serve_synced_locked(std::unique_lock<std::mutex>& lock,
                                                    const PendingUpdate& pending,
                                                    const Result<void, std::string>& synced,
                                                    Clock::time_point now, std::string& note) {
    UpdateState& u = *updates_;
    if (!synced) {
        // The journal refuses appends from now on, and whatever was not synced may be lost: the versions
        // after the served one are dropped (each of their updates gets this error).
        u.head.reset();
        return unexpected("journal: " + synced.error());
    }
    // An update is served (and answered NOERROR) only once its entry is durable (RFC 2136 §3.5): a
    // caller that skipped sync_update() gets an error, never a version the journal could lose.
    if (pending.ticket != 0 && !journal_->durable(pending.ticket))
        return unexpected("journal: the update's entry is not durable");
    if (pending.number == 0) return {};  // an answer that waited for an earlier update's entry
    serve_update_locked(pending.version, pending.number, now);
    if (u.head_number == pending.number) u.head.reset();
    const auto [every, limit] = update_snapshot_pace(settings_, journal_ ? journal_->bytes() : 0);
    if (u.unsnapshotted >= every && !u.snapshot_staging) update_snapshot_unlocked(lock, note);
    return {};
}

Result<bool, std::string> Zone::sync_update(const PendingUpdate& pending, bool join_running) {
    // journal_ is set before any entry is written, and never replaced while the zone takes updates.
    if (pending.ticket == 0) return true;
    auto synced = journal_->sync(pending.ticket, join_running);
    if (!synced) return unexpected("journal: " + synced.error());
    return *synced;
}

Result<std::string, std::string> Zone::finish_update(const PendingUpdate& pending,
                                                     const Result<void, std::string>& synced,
                                                     Clock::time_point now) {
    std::unique_lock lock(mutex_);
    std::string note;
    if (auto r = serve_synced_locked(lock, pending, synced, now, note); !r) return unexpected(r.error());
    return note;
}

void Zone::update_snapshot_unlocked(std::unique_lock<std::mutex>& lock, std::string& note) {
    // The served version's snapshot, written and synced beside the real one without the zone's lock (the
    // updates go on meanwhile), then renamed over it under the lock, unless a reload or a re-signing wrote
    // one meanwhile (snapshot_writes): the journal continues whichever is newer. One update at a time
    // stages it (snapshot_staging); the others go on. The staged file is this object's own: after a
    // reconfigure that rebuilt the zone, the retired object may still be staging beside the new one.
    UpdateState& u = *updates_;
    const ZoneVersionPtr version = current();
    const uint64_t number = u.served;
    const uint64_t writes = u.snapshot_writes;
    u.snapshot_staging = true;
    char own[48];
    std::snprintf(own, sizeof own, ".snapshot.staged-%" PRIxPTR, reinterpret_cast<std::uintptr_t>(this));
    const auto staged = state_path(own);
    lock.unlock();
    auto written = write_snapshot(staged, *version);
    lock.lock();
    std::error_code ignored;
    if (!written || retired_ || u.snapshot_writes != writes || snapshot_ != SnapshotState::Durable) {
        u.snapshot_staging = false;
        std::filesystem::remove(staged, ignored);
        if (!written) note += (note.empty() ? "" : "; ") + ("snapshot not written: " + written.error());
        return;
    }
    if (::rename(staged.c_str(), state_path(".snapshot").c_str()) != 0) {
        u.snapshot_staging = false;
        note += (note.empty() ? "" : "; ") + io_error_text("snapshot not renamed:", staged);
        std::filesystem::remove(staged, ignored);
        return;
    }
    ++u.snapshot_writes;
    // The rename durable before the journal may drop what the older snapshot needed (unsnapshotted is
    // lowered only then): a crash could otherwise bring the older one back without its entries. Should
    // the directory's sync fail, the next change writes one under the lock.
    lock.unlock();
    auto synced = sync_directory(settings_.state_dir.str());
    lock.lock();
    u.snapshot_staging = false;
    if (!synced) {
        snapshot_ = SnapshotState::None;
        note += (note.empty() ? "" : "; ") + synced.error();
    } else if (u.snapshot_writes == writes + 1) {
        u.unsnapshotted = u.made - number;  // the updates since `version`, all journaled after it
    }
}

ZoneVersionPtr Zone::newest_locked() const {
    if (updates_ && updates_->head) return updates_->head;
    return current();
}

Result<void, std::string> Zone::settle_locked(Clock::time_point now) {
    if (!updates_ || !updates_->head) return {};
    UpdateState& u = *updates_;
    const ZoneVersionPtr head = std::move(u.head);
    u.head.reset();
    if (auto synced = journal_->sync(u.head_ticket); !synced) return unexpected("journal: " + synced.error());
    serve_update_locked(head, u.head_number, now);
    return {};
}

void Zone::serve_update_locked(const ZoneVersionPtr& version, uint64_t number, Clock::time_point now) {
    UpdateState& u = *updates_;
    if (number <= u.served) return;  // a newer one is served already (its sync ended first)
    current_.store(version, std::memory_order_release);
    set_loaded_at_locked(now);
    u.served = number;
    // A write-back that ran between the update's journal entry and now wrote the older version.
    if (!u.write_back_due) set_write_back_due_locked(now + settings_.zonefile_sync);
}

ReloadResult Zone::apply_change(Clock::time_point now, const Change& change, PendingUpdate* deferred) {
    std::unique_lock lock(mutex_);
    ReloadResult result;
    // A reconfigure is opening another Zone on these state files: a change journaled here now would be
    // overwritten by that one's entries, or missing from what it serves. Refused; the client's retry
    // meets the Zone that took over (or this one again, should the reconfigure be refused).
    if (retired_) return with_error(result, "the zone is being replaced by a reconfigure; try again");
    if (!updates_) updates_ = std::make_unique<UpdateState>();
    if (journal_) journal_->set_bounds(journal_bounds_of(settings_, true));  // keeps the snapshot's entries
    const ZoneVersionPtr old = newest_locked();
    if (!old) return with_error(result, "the zone is not served (its file has not loaded)");
    result.old_serial = result.serial = old->serial();
    if (signing_ && !signing_->source) signing_->source = settings_.signer->source_of(*old);
    const ZoneVersionPtr base = signing_ ? signing_->source : old;
    // RFC 2136 §3.6: the serial moves forward with every change; an SOA the update brought with a newer
    // serial (RFC 1982) is taken as it is (§3.4.2.2 ignored an older one already).
    const SerialPolicy policy =
        settings_.serial_policy == SerialPolicy::Keep ? SerialPolicy::Increment : settings_.serial_policy;
    const auto bumped = next_serial(old->serial(), policy, unix_seconds(now));
    std::optional<Changeset> changes;
    auto changed = change(*base, bumped ? std::optional<dns::Serial>(*bumped) : std::nullopt, changes);
    // An answer that makes no version (nothing to change, a prerequisite that failed) was computed from
    // `old`, which may be an update's not durable yet: it waits for that, and fails with it (RFC 2136
    // §3.5: nothing is answered from a change before it is on stable storage).
    const uint64_t pending = updates_->head ? updates_->head_ticket : 0;
    auto once_durable = [&](ReloadResult r) {
        if (pending == 0) return r;
        if (deferred != nullptr) {
            *deferred = PendingUpdate{pending, 0, nullptr};
            return r;
        }
        lock.unlock();
        auto synced = journal_->sync(pending);
        lock.lock();
        return synced ? r : with_error(r, "journal: " + synced.error());
    };
    if (!changed) return once_durable(with_error(result, changed.error()));
    if (!*changed || (*changed)->same_content(*base)) {
        result.outcome = ReloadOutcome::Unchanged;
        return once_durable(result);
    }
    ZoneVersionPtr next = *changed;
    if (!(old->serial() < next->serial())) {
        if (!bumped) return with_error(result, bumped.error());
        next = with_serial(*next, *bumped);
        changes.reset();  // it ends at the serial the change left
    }
    ZoneVersionPtr served = next;
    if (settings_.signer) {
        auto signed_version = sign_locked(next, now, false);
        if (!signed_version) return with_error(result, "signing failed: " + signed_version.error());
        served = *signed_version;
    }
    // The file lags the served version from the journal entry below until the write-back: what it holds
    // must be on disk before that entry (a restart in between merges the file onto the journaled version,
    // and keeps the update; without the copy it would take the lagging file for the zone). Written once
    // per write-back, by whichever comes first; an update that cannot have it is refused.
    if (auto saved = save_file_base_locked(); !saved)
        return with_error(result, "cannot record what the zone file holds: " + saved.error());
    // What the change says it changed is the journal's entry when it is the served change: not for a
    // signed zone (the signatures change too), nor one whose serial was set after it.
    const bool known =
        changes && !settings_.signer && changes->from() == old->serial() && changes->to() == next->serial();
    if (auto r = publish_update_locked(lock, old, served, next, now, result.note, known ? &*changes : nullptr,
                                       deferred);
        !r)
        return with_error(result, r.error());
    result.outcome = ReloadOutcome::Updated;
    result.serial = served->serial();
    // The change is durable in the journal already; the file follows so that a reload agrees with it: due
    // at once by default (the server's writer runs it as soon as it can, one write for a burst of
    // updates), or zonefile_sync later. Never here: rendering and syncing the whole file would hold up
    // this update's answer and every update queued behind it. A reload in between merges.
    if (!updates_->write_back_due) set_write_back_due_locked(now + settings_.zonefile_sync);
    return result;
}

Clock::time_point Zone::write_back_retry(Clock::time_point now) const {
    // Not sooner than a second: a full disk or a read-only file is not fixed in milliseconds.
    return now + std::max(settings_.zonefile_sync, std::chrono::milliseconds(1000));
}

void Zone::set_write_back_due_locked(std::optional<Clock::time_point> due) {
    if (!updates_) {
        if (!due) return;
        updates_ = std::make_unique<UpdateState>();
    }
    updates_->write_back_due = due;
    write_back_pending_.store(due.has_value(), std::memory_order_release);
}

Result<void, std::string> Zone::write_back() {
    const std::lock_guard file_lock(file_mutex_);
    return write_back_file();
}

Result<bool, std::string> Zone::write_back_if_due(Clock::time_point now, bool all) {
    // Checked twice a second for every zone: the common case (nothing pending) takes no lock a reload or
    // an update might hold.
    if (!write_back_pending_.load(std::memory_order_acquire)) return false;
    const std::lock_guard file_lock(file_mutex_);
    {
        const std::lock_guard lock(mutex_);
        if (!updates_ || !updates_->write_back_due || (!all && now < *updates_->write_back_due)) return false;
    }
    if (auto w = write_back_file(); !w) {
        const std::lock_guard lock(mutex_);
        set_write_back_due_locked(write_back_retry(now));
        return unexpected(w.error());
    }
    return true;
}

void Zone::set_file_base_locked(const ZoneVersionPtr& content, bool saved) {
    // An unchanged reload (and every start) hands the same content again.
    const bool same = file_base_ && content && (file_base_ == content || file_base_->same_content(*content));
    file_base_ = content;
    if (saved || same) {
        file_base_saved_ = file_base_saved_ || saved;
        return;
    }
    // Saved again only when an update next makes the file lag: a zone nobody updates costs no write. An
    // older copy would make the next start merge the file for nothing.
    // (Nothing to remove when none was read or written: every start of every zone passes here.)
    if (file_base_saved_ && !settings_.state_dir.empty()) {
        std::error_code gone;
        std::filesystem::remove(state_path(".file-base"), gone);
    }
    file_base_saved_ = false;
}

Result<void, std::string> Zone::save_file_base_locked() {
    if (file_base_saved_ || !file_base_ || settings_.state_dir.empty()) return {};
    if (auto w = write_snapshot(state_path(".file-base"), *file_base_); !w) return w;
    file_base_saved_ = true;
    return {};
}

Result<ZoneVersionPtr, std::string> Zone::merge_file_locked(const ZoneVersion& file,
                                                            const ZoneVersion& base) const {
    const Changeset ours = diff(*file_base_, base);
    if (ours.soa_only()) return ZoneVersionPtr{};
    const Changeset theirs = diff(*file_base_, file);
    // An RRset (owner, type) both sides changed is a conflict, which one is right being the operator's
    // call; unless both changed it the same way (a write-back that reached the file but not the record of
    // what the file holds, before a crash): then it is in `base` already.
    std::vector<RecordView> touched;
    for (std::size_t i = 0; i < ours.removed_count(); ++i) touched.push_back(ours.removed(i));
    for (std::size_t i = 0; i < ours.added_count(); ++i) touched.push_back(ours.added(i));
    const auto same_rrset = [&](const RecordView& r) {
        const auto f = file.find_rrset(r.owner, r.type);
        const auto b = base.find_rrset(r.owner, r.type);
        if (f.end - f.begin != b.end - b.begin) return false;
        for (std::size_t i = 0; i < f.end - f.begin; ++i)
            if (!std::ranges::equal(file.record(f.begin + i).wire, base.record(b.begin + i).wire))
                return false;
        return true;
    };
    // Nullopt: apply the file's change; true: already served; false: a conflict.
    const auto settled = [&](const RecordView& r) -> std::optional<bool> {
        if (std::none_of(touched.begin(), touched.end(),
                         [&](const RecordView& t) { return compare_rrsets(t, r) == 0; }))
            return std::nullopt;
        return same_rrset(r);
    };
    const auto conflict = [&](const RecordView& r) {
        return unexpected(settings_.file + ": conflict: the RRset " + r.owner.to_string() + " " +
                          dns::to_string(r.type) +
                          " was changed in the file and by dynamic updates since the file was last written; "
                          "`headwaterctl sync` writes the served version to the file, then edit that");
    };
    Changeset onto(base.soa().wire, base.soa().wire);
    for (std::size_t i = 0; i < theirs.removed_count(); ++i) {
        const auto s = settled(theirs.removed(i));
        if (s && !*s) return conflict(theirs.removed(i));
        if (!s) onto.add_removed(theirs.removed(i).wire);
    }
    for (std::size_t i = 0; i < theirs.added_count(); ++i) {
        const auto s = settled(theirs.added(i));
        if (s && !*s) return conflict(theirs.added(i));
        if (!s) onto.add_added(theirs.added(i).wire);
    }
    auto merged = apply(base, onto);
    if (!merged) return unexpected(settings_.file + ": merging with dynamic updates: " + merged.error());
    // A serial the operator raised in the file counts as the file's serial; otherwise the served one stays
    // and the policy gives the merged version the next.
    if (file_base_->serial() < file.serial() && base.serial() < file.serial())
        return with_serial(**merged, file.serial());
    return *merged;
}

ZoneVersionPtr Zone::file_content_locked() const {
    return signing_ && signing_->source ? signing_->source : current();
}

Result<void, std::string> Zone::write_zone_file(const ZoneVersion& content) const {
    std::string text = "; written by headwater: the served version of " + name_text_ + ", serial " +
                       serial_text(content.serial()) + "\n";
    text.reserve(content.wire_bytes() * 2);
    // The SOA first (readers expect it there), then everything in canonical order.
    const auto line = [&](std::size_t i) {
        std::string rr = record_to_text(content.record(i).wire);
        if (rr.empty()) return false;
        text += rr;
        text += '\n';
        return true;
    };
    if (!line(content.soa_index())) return unexpected(settings_.file + ": the SOA cannot be written as text");
    for (std::size_t i = 0; i < content.size(); ++i) {
        if (i == content.soa_index()) continue;
        if (!line(i))
            return unexpected(settings_.file + ": record " + std::to_string(i) +
                              " cannot be written as text");
    }
    auto written = write_file_atomically(
        settings_.file, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644);
    if (!written) return unexpected(settings_.file + ": " + written.error());
    // What the file says now is what is served: the next reload finds it unchanged. Saved: a file put back
    // from before the updates then counts as gone backwards (refused), not as an edit that drops them.
    save_file_serial(content.serial());
    // And what it holds, for a restart while later updates are not in it yet. A crash just before this
    // leaves the older copy: the next start finds the file and the served version changed alike since
    // then, which merges to what is served (merge_file_locked()), unless a later update changed one of
    // those RRsets again: then the file is refused as a conflict (nothing lost; `sync` settles it).
    if (!settings_.state_dir.empty())
        if (auto w = write_snapshot(state_path(".file-base"), content); !w)
            return unexpected(state_path(".file-base").string() + ": " + w.error());
    return {};
}

void Zone::file_written_locked(const ZoneVersionPtr& content) {
    file_serial_ = content->serial();
    file_serial_saved_ = true;  // by write_zone_file()
    // An update served while the file was being written keeps the write-back due: the writer goes again.
    if (file_content_locked() == content) set_write_back_due_locked(std::nullopt);
    set_file_base_locked(content, !settings_.state_dir.empty());
}

Result<void, std::string> Zone::write_back_file() {
    ZoneVersionPtr content;
    {
        const std::lock_guard lock(mutex_);
        content = file_content_locked();
    }
    if (!content) return unexpected(std::string("the zone is not served"));
    // Without the zone's lock: updates go on being answered while the file is rendered and synced. The
    // file mutex (held by the caller) keeps reloads and bumps from reading a file half way through this.
    if (auto w = write_zone_file(*content); !w) return w;
    const std::lock_guard lock(mutex_);
    file_written_locked(content);
    return {};
}

Result<void, std::string> Zone::write_back_locked() {
    const ZoneVersionPtr content = file_content_locked();
    if (!content) return unexpected(std::string("the zone is not served"));
    if (auto w = write_zone_file(*content); !w) return w;
    file_written_locked(content);
    return {};
}

void Zone::install(ZoneVersionPtr version, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    current_.store(std::move(version), std::memory_order_release);
    set_loaded_at_locked(now);
}

ZoneStatus Zone::status() const {
    std::lock_guard lock(mutex_);
    ZoneStatus s;
    if (auto v = current()) {
        s.serial = v->serial();
        s.records = v->size();
    }
    s.loaded_at = loaded_at_;
    s.last_reload = last_reload_;
    s.last_error = last_error_;
    s.file_loaded = file_loaded_;
    if (journal_) s.ixfr_from = journal_->first_serial();
    if (auto v = current(); v && v->is_signed()) {
        if (auto e = v->earliest_signature_expiration())
            s.earliest_signature_expiration = Clock::from_time_t(*e);
    }
    if (signing_) {
        s.next_signature_refresh = signing_->next_refresh;
        s.signatures_made = signing_->made;
        s.signatures_kept = signing_->kept;
    }
    return s;
}

}  // namespace headwater::zone
