#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "zone/Changeset.h"
#include "zone/Journal.h"
#include "zone/MasterFile.h"
#include "zone/SerialPolicy.h"
#include "zone/Snapshot.h"
#include "zone/Zone.h"
#include "zone/ZoneBuilder.h"
#include "zone/ZoneSigning.h"
#include "zone/ZoneStore.h"

using namespace headwater;

namespace {

class ZoneReloadTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-zone-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        file_ = dir_ / "example.com.zone";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write(uint32_t serial, std::string_view extra = "") {
        std::ofstream f(file_, std::ios::trunc);
        f << "$TTL 300\n@ IN SOA ns1 hostmaster " << serial
          << " 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
          << extra;
    }

    // The zone under test with its state directory (history, file records); `sync`: its zonefile_sync.
    zone::ZoneSettings with_state(std::chrono::milliseconds sync = {}) const {
        zone::ZoneSettings s(apex_, file_, dir_ / "state");
        s.zonefile_sync = sync;
        return s;
    }

    // A dynamic update's change: the zone as write(serial, extra) has it, plus www (as an UPDATE adding
    // that record to it would make it).
    zone::Zone::Change adding_www(uint32_t serial, std::string_view extra = "") const {
        const auto edited = dir_ / "edited.zone";
        std::ofstream(edited) << "$TTL 300\n@ IN SOA ns1 hostmaster " << serial
                              << " 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
                              << extra << "www IN A 192.0.2.80\n";
        return [apex = apex_, edited](
                   const zone::ZoneVersion&, std::optional<dns::Serial>,
                   std::optional<zone::Changeset>&) -> Result<zone::ZoneVersionPtr, std::string> {
            auto loaded = zone::load_zone_file(apex, edited);
            if (!loaded) return unexpected(loaded.error().to_string());
            return loaded->version;
        };
    }

    // A dynamic update's change that adds `<label> IN A 192.0.2.7` to whatever version it is given (the
    // serial left for apply_change to move).
    zone::Zone::Change adding_host(const std::string& label) const {
        return [apex = apex_, label](
                   const zone::ZoneVersion& base, std::optional<dns::Serial>,
                   std::optional<zone::Changeset>&) -> Result<zone::ZoneVersionPtr, std::string> {
            zone::ZoneBuilder b(apex);
            const std::string text = "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 60\n@ IN NS ns1\n" +
                                     label + " IN A 192.0.2.7\n";
            auto loaded = zone::load_master_text(text, "example.com.", [&](const zone::RawRecord& rr) {
                return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
            });
            if (!loaded) return unexpected(std::string("test record not loaded"));
            auto tiny = b.build();
            if (!tiny) return unexpected(std::string("test record not built"));
            const auto owner = dns::Name::from_text(label + ".example.com.").value();
            const auto range = (*tiny)->find_rrset(owner.view(), dns::RRType::A);
            zone::Changeset changes(base.soa().wire, base.soa().wire);
            changes.add_added((*tiny)->record(range.begin).wire);
            return zone::apply(base, changes);
        };
    }

    bool serves_www(const zone::Zone& z) const {
        return !z.current()
                    ->find_rrset(dns::Name::from_text("www.example.com.").value(), dns::RRType::A)
                    .empty();
    }

    dns::Name apex_ = dns::Name::from_text("example.com.").value();
    std::filesystem::path dir_, file_;
    zone::Clock::time_point t0_ = zone::Clock::time_point(std::chrono::seconds(1'800'000'000));
};

}  // namespace

TEST_F(ZoneReloadTest, FirstLoadThenUnchangedThenUpdated) {
    write(10);
    zone::Zone z({dns::Name::from_text("example.com.").value(), file_});
    EXPECT_EQ(z.current(), nullptr);
    auto r = z.reload(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_FALSE(r.old_serial);
    EXPECT_EQ(r.serial->value(), 10u);

    r = z.reload(t0_ + std::chrono::seconds(1));
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(z.status().loaded_at, t0_);  // an unchanged file does not make a new version

    const auto before = z.current();
    write(11, "www IN A 192.0.2.80\n");
    r = z.reload(t0_ + std::chrono::seconds(2));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated);
    EXPECT_EQ(r.old_serial->value(), 10u);
    EXPECT_EQ(z.current()->serial().value(), 11u);
    // The old snapshot is still intact for whoever holds it (a transfer in flight).
    EXPECT_EQ(before->serial().value(), 10u);
    EXPECT_EQ(before->size(), 3u);
}

namespace {

std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

// A file of at least index_file_from octets is reloaded by parts (ZoneFileIndex.h): what is served is what
// loading the whole file gives, after an edit with a new serial and after ones the serial policy numbers.
TEST_F(ZoneReloadTest, AFileReloadedByPartsServesWhatTheWholeFileGives) {
    std::string hosts;
    for (int i = 0; i < 3000; ++i)
        hosts += "h" + std::to_string(i) + " IN A 192.0.2." + std::to_string(i % 250) + "\n";
    const auto edit = [&](const std::string& from, const std::string& to) {
        const auto at = hosts.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        hosts.replace(at, from.size(), to);
    };
    write(10, hosts);
    auto settings = with_state();
    settings.index_file_from = 0;
    zone::Zone z(settings);
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    // The text the index was made from, kept beside the state.
    const auto copy = dir_ / "state" / "example.com.file-copy";
    EXPECT_EQ(read_text(copy), read_text(file_));
    const auto whole = [&](uint32_t serial) {
        return zone::with_serial(*zone::load_zone_file(apex_, file_).value().version, dns::Serial(serial));
    };

    edit("h1500 IN A 192.0.2.0\n", "h1500 IN A 198.51.100.1\n");
    write(11, hosts);
    auto r = z.reload(t0_ + std::chrono::seconds(1));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_TRUE(r.by_parts);
    EXPECT_TRUE(z.current()->same_content(*whole(11)));
    auto step = z.journal()->chain(dns::Serial(10), dns::Serial(11));
    ASSERT_TRUE(step) << step.error();
    ASSERT_EQ(step->size(), 1u);
    EXPECT_EQ(step->front().removed_count(), 1u);
    EXPECT_EQ(step->front().added_count(), 1u);
    EXPECT_EQ(read_text(copy), read_text(file_));

    // The serial left as it was: the policy numbers the version, and the next edit goes on from it.
    hosts += "new IN A 192.0.2.9\n";
    write(11, hosts);
    r = z.reload(t0_ + std::chrono::seconds(2));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_TRUE(r.by_parts);
    EXPECT_TRUE(z.current()->same_content(*whole(12)));
    edit("h10 IN A 192.0.2.10\n", "");
    write(11, hosts);
    r = z.reload(t0_ + std::chrono::seconds(3));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_TRUE(r.by_parts);  // on the version the policy numbered
    EXPECT_TRUE(z.current()->same_content(*whole(13)));
    EXPECT_EQ(z.current()->size(), 3u + 3000u);

    // Broken by an edit: refused, as ever, and the next good edit is served.
    hosts += "h1 IN CNAME elsewhere.example.\n";
    write(14, hosts);
    r = z.reload(t0_ + std::chrono::seconds(4));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("CNAME and other data at h1.example.com."), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("example.com.zone:3005"), std::string::npos) << r.error;
    edit("h1 IN CNAME elsewhere.example.\n", "h1b IN CNAME elsewhere.example.\n");
    write(14, hosts);
    r = z.reload(t0_ + std::chrono::seconds(5));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_TRUE(r.by_parts);  // the index of the last good load was kept
    EXPECT_TRUE(z.current()->same_content(*whole(14)));

    // A bump changes only the served serial: the next edit still goes by parts. A dynamic update makes
    // the served version one the file never gave: the next reload reads the whole file.
    ASSERT_EQ(z.bump(t0_ + std::chrono::seconds(6), std::nullopt, std::nullopt).outcome,
              zone::ReloadOutcome::Updated);
    edit("h20 IN A 192.0.2.20\n", "h20 IN A 192.0.2.21\n");
    write(16, hosts);
    r = z.reload(t0_ + std::chrono::seconds(7));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_TRUE(r.by_parts);
    EXPECT_TRUE(z.current()->same_content(*whole(16)));
    ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(8), adding_host("upd")).outcome,
              zone::ReloadOutcome::Updated);
    edit("h30 IN A 192.0.2.30\n", "h30 IN A 192.0.2.31\n");
    write(18, hosts);
    r = z.reload(t0_ + std::chrono::seconds(9));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_FALSE(r.by_parts);
    EXPECT_TRUE(z.current()->find_name(dns::Name::from_text("upd.example.com.").value()).end >
                z.current()->find_name(dns::Name::from_text("upd.example.com.").value()).begin)
        << "the update was lost";
}

TEST_F(ZoneReloadTest, AnUpdateIsServedAtOnceAndItsFileWrittenByTheWriteBack) {
    write(10);
    zone::Zone z(with_state());
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    auto r = z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);  // served and journaled before apply_change returns
    EXPECT_EQ(z.journal()->last_serial(), dns::Serial(11));
    // The file is not written on the update's path: it is due at once, for the writer.
    EXPECT_EQ(read_text(file_).find("www"), std::string::npos);
    auto w = z.write_back_if_due(t0_ + std::chrono::seconds(1));
    ASSERT_TRUE(w) << w.error();
    EXPECT_TRUE(*w);
    const std::string text = read_text(file_);
    EXPECT_NE(text.find("www.example.com."), std::string::npos) << text;
    EXPECT_NE(text.find(" 11 "), std::string::npos) << text;
    EXPECT_FALSE(*z.write_back_if_due(t0_ + std::chrono::seconds(2)));  // nothing pending any more
    EXPECT_EQ(z.reload(t0_ + std::chrono::seconds(3)).outcome, zone::ReloadOutcome::Unchanged);
}

TEST_F(ZoneReloadTest, ConcurrentUpdatesShareJournalSyncsAndLoseNothing) {
    // Updates from several threads: each journals its version and lets the zone's lock go while the
    // journal syncs (group commit), so syncs end out of order. Reloads and write-backs run among them
    // (they settle the pending versions first). Every update must be in the served version, with one
    // journal entry each, and a restart must find them all.
    write(10);
    constexpr int kThreads = 4, kEach = 25;
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        std::atomic<int> failures{0};
        std::atomic<bool> done{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (int k = 0; k < kEach; ++k) {
                    const auto r =
                        z.apply_change(t0_ + std::chrono::seconds(1),
                                       adding_host("h" + std::to_string(t) + "-" + std::to_string(k)));
                    if (r.outcome != zone::ReloadOutcome::Updated && failures++ == 0)
                        ADD_FAILURE() << r.error;
                }
            });
        std::thread other([&] {
            int passes = 0;
            while (!done.load() || passes < 3) {
                if (z.reload(t0_ + std::chrono::seconds(2)).outcome == zone::ReloadOutcome::Error) ++failures;
                if (!z.write_back_if_due(t0_ + std::chrono::seconds(2))) ++failures;
                ++passes;
            }
        });
        for (auto& th : threads) th.join();
        done = true;
        other.join();
        EXPECT_EQ(failures.load(), 0);
        EXPECT_EQ(z.current()->size(), 3u + kThreads * kEach);
        EXPECT_EQ(z.current()->serial().value(), 10u + kThreads * kEach);
        const auto entries = z.journal()->entries();
        ASSERT_EQ(entries.size(), std::size_t{kThreads * kEach});
        for (std::size_t i = 1; i < entries.size(); ++i) EXPECT_EQ(entries[i].from, entries[i - 1].to);
        EXPECT_EQ(entries.back().to, z.current()->serial());
    }
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 10u + kThreads * kEach);
    EXPECT_EQ(z.current()->size(), 3u + kThreads * kEach);
}

TEST_F(ZoneReloadTest, EveryFewUpdatesOneWritesTheSnapshotBesideItThenRenamesIt) {
    write(10);
    auto settings = with_state();
    settings.updates_per_snapshot = 10;
    // A count bound below the snapshot's pace: the journal keeps the entries the snapshot needs anyway.
    settings.journal_bounds = {4, 64u << 20};
    zone::Zone z(settings);
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    const auto snapshot = dir_ / "state" / "example.com.snapshot";
    auto snapshot_serial = [&] {
        auto snap = zone::read_snapshot(snapshot);
        return snap ? (*snap)->serial().value() : 0u;
    };
    auto update = [&](int k) {
        return z.apply_change(t0_ + std::chrono::seconds(1), adding_host("h" + std::to_string(k))).outcome;
    };
    auto reopened = [&] {  // as after kill -9: what the state directory holds now
        auto again = std::make_unique<zone::Zone>(settings);
        EXPECT_NE(again->open(t0_ + std::chrono::seconds(5)).outcome, zone::ReloadOutcome::Error);
        return again;
    };
    EXPECT_EQ(snapshot_serial(), 10u);
    for (int k = 0; k < 9; ++k) ASSERT_EQ(update(k), zone::ReloadOutcome::Updated);
    EXPECT_EQ(snapshot_serial(), 10u);  // the journal alone holds the 9 updates
    ASSERT_NE(z.journal(), nullptr);
    EXPECT_EQ(z.journal()->entries().size(), 9u) << "entries the snapshot needs were dropped";
    {
        auto again = reopened();  // the 9 entries replayed onto the snapshot, condensed into one step
        EXPECT_EQ(again->current()->serial().value(), 19u);
        EXPECT_TRUE(again->current()->same_content(*z.current()));
    }
    ASSERT_EQ(update(9), zone::ReloadOutcome::Updated);
    EXPECT_EQ(snapshot_serial(), 20u);  // the 10th wrote the one it served
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "state"))  // nothing staged left
        EXPECT_EQ(e.path().filename().string().find("staged"), std::string::npos) << e.path();
    for (int k = 10; k < 20; ++k) ASSERT_EQ(update(k), zone::ReloadOutcome::Updated);
    EXPECT_EQ(snapshot_serial(), 30u);
    ASSERT_EQ(update(20), zone::ReloadOutcome::Updated);
    // The journal holds the snapshot's lag bound (15 updates, plus one), not the count bound of 4.
    EXPECT_EQ(z.journal()->entries().size(), 16u);
    auto again = reopened();
    EXPECT_EQ(again->current()->serial().value(), 31u);  // the snapshot at 30 and the journal's last entry
    EXPECT_EQ(again->current()->size(), 3u + 21u);
}

// A restart serves the snapshot with the updates since it replayed; the updates after it, and a journal
// reopened with smaller bounds, must not drop the entries that older snapshot needs before a new one is
// written (a second kill -9 would otherwise bring back the old snapshot without them).
TEST_F(ZoneReloadTest, UpdatesAfterARestartKeepWhatTheOlderSnapshotNeeds) {
    write(10);
    auto settings = with_state();
    settings.updates_per_snapshot = 10;
    settings.journal_bounds = {4, 64u << 20};
    int host = 0;
    const auto updates = [&](zone::Zone& z, int n) {
        for (int k = 0; k < n; ++k)
            ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_host("h" + std::to_string(host++)))
                          .outcome,
                      zone::ReloadOutcome::Updated);
    };
    const auto serial_after_restart = [&](const zone::ZoneSettings& s) {
        zone::Zone z(s);
        EXPECT_NE(z.open(t0_ + std::chrono::seconds(5)).outcome, zone::ReloadOutcome::Error);
        return z.current()->serial().value();
    };
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        updates(z, 9);  // the snapshot stays at 10
    }
    {
        zone::Zone z(settings);
        ASSERT_NE(z.open(t0_ + std::chrono::seconds(2)).outcome, zone::ReloadOutcome::Error);
        ASSERT_EQ(z.current()->serial().value(), 19u);
        updates(z, 8);  // 17 past the snapshot at 10, had it stayed there: more than keep_last (16)
    }
    EXPECT_EQ(serial_after_restart(settings), 27u);
    {
        zone::Zone z(settings);
        ASSERT_NE(z.open(t0_ + std::chrono::seconds(3)).outcome, zone::ReloadOutcome::Error);
        updates(z, 5);
    }
    // Reopened under a journal bounded below 16 MiB (a snapshot every update, keep_last 2): the five
    // entries since the last snapshot are still replayed, then the next update writes a new one.
    auto small = settings;
    small.journal_bounds = {4, 1u << 20};
    EXPECT_EQ(serial_after_restart(small), 32u);
    {
        zone::Zone z(small);
        ASSERT_NE(z.open(t0_ + std::chrono::seconds(4)).outcome, zone::ReloadOutcome::Error);
        updates(z, 1);
    }
    EXPECT_EQ(serial_after_restart(small), 33u);
    zone::Zone z(small);
    ASSERT_NE(z.open(t0_ + std::chrono::seconds(6)).outcome, zone::ReloadOutcome::Error);
    EXPECT_EQ(z.current()->size(), 3u + 23u);
}

// A change larger than the journal's byte bound starts a new history: the snapshot of the version it
// makes is written before the journal is emptied. Should that snapshot fail, the change is refused and the
// journal kept: the updates it holds past the older snapshot are not lost (they would be, had it been
// emptied first).
TEST_F(ZoneReloadTest, AChangePastTheJournalsByteBoundWritesItsSnapshotBeforeEmptyingTheJournal) {
    write(10);
    const auto state = dir_ / "state";
    auto settings = with_state(std::chrono::hours(1));  // no write-back: the file keeps serial 10
    settings.updates_per_snapshot = 10;
    settings.journal_bounds = {100, 16u << 20};  // the smallest bound at which updates' snapshots lag
    const auto serves = [](const zone::Zone& z, const std::string& label) {
        return !z.current()
                    ->find_rrset(dns::Name::from_text(label + ".example.com.").value(), dns::RRType::A)
                    .empty();
    };
    // A file with 17 MiB more: 68,000 TXT records of 255 octets. Serial 20, and the five hosts the updates
    // add, so that it merges onto them without a conflict.
    std::string bulk(252, 'x');
    std::string many =
        "h0 IN A 192.0.2.7\nh1 IN A 192.0.2.7\nh2 IN A 192.0.2.7\nh3 IN A 192.0.2.7\n"
        "h4 IN A 192.0.2.7\n";
    for (int k = 0; k < 68'000; ++k) many += "b" + std::to_string(k) + " IN TXT \"" + bulk + "\"\n";
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        for (int k = 0; k < 5; ++k)
            ASSERT_EQ(
                z.apply_change(t0_ + std::chrono::seconds(1), adding_host("h" + std::to_string(k))).outcome,
                zone::ReloadOutcome::Updated);
        ASSERT_EQ(zone::read_snapshot(state / "example.com.snapshot").value()->serial().value(), 10u)
            << "the snapshot is meant to lag the updates here";
        write(20, many);
        std::filesystem::create_directory(state / "example.com.snapshot.tmp");  // the snapshot fails
        auto r = z.reload(t0_ + std::chrono::seconds(2));
        EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
        EXPECT_NE(r.error.find("snapshot not written"), std::string::npos) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 15u);
        EXPECT_EQ(z.journal()->entries().size(), 5u) << "the journal was emptied without a snapshot";
        std::filesystem::remove(state / "example.com.snapshot.tmp");
    }
    {
        zone::Zone z(settings);  // as after kill -9: the snapshot at 10 and the five entries
        auto r = z.open(t0_ + std::chrono::seconds(3));
        ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
        EXPECT_TRUE(serves(z, "h0") && serves(z, "h4")) << "updates lost";
        // The file merged at open, past the bound: a new history begins, its snapshot written.
        EXPECT_EQ(z.current()->serial().value(), 20u);
        EXPECT_NE(r.note.find("larger than journal_max_bytes"), std::string::npos) << r.note;
        EXPECT_TRUE(z.journal()->entries().empty());
        EXPECT_EQ(zone::read_snapshot(state / "example.com.snapshot").value()->serial().value(), 20u);
    }
    zone::Zone z(settings);
    ASSERT_NE(z.open(t0_ + std::chrono::seconds(4)).outcome, zone::ReloadOutcome::Error);
    EXPECT_EQ(z.current()->serial().value(), 20u);
    EXPECT_EQ(z.current()->size(), 3u + 5u + 68'000u);
}

// A journal whose entries stop applying part of the way (a damaged or foreign state directory): the
// zone is served as far as they went, and that version's snapshot is written before the journal is
// emptied; should the snapshot fail, the journal stays until the first change writes it.
TEST_F(ZoneReloadTest, AReplayThatStopsShortWritesTheSnapshotOfWhatItServes) {
    const auto state = dir_ / "state";
    const auto journal = state / "example.com.journal";
    const auto serves = [](const zone::Zone& z, const std::string& label) {
        return !z.current()
                    ->find_rrset(dns::Name::from_text(label + ".example.com.").value(), dns::RRType::A)
                    .empty();
    };
    const auto snapshot_serial = [&] {
        return zone::read_snapshot(state / "example.com.snapshot").value()->serial();
    };
    // The snapshot at 10, then a journal whose first entry applies to it (10 -> 11 adds a) and whose
    // second does not (11 -> 12 deletes b, which is not there).
    const auto prepare = [&] {
        std::filesystem::remove_all(state);
        write(10);
        zone::ZoneVersionPtr v10;
        {
            zone::Zone z(with_state());
            ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
            v10 = z.current();
        }
        std::optional<zone::Changeset> unused;
        const auto v11 =
            zone::with_serial(*adding_host("a")(*v10, std::nullopt, unused).value(), dns::Serial(11));
        const auto with_b = adding_host("b")(*v11, std::nullopt, unused).value();
        const auto v12 = zone::with_serial(*v11, dns::Serial(12));
        auto j = zone::Journal::open(journal);
        ASSERT_TRUE(j);
        ASSERT_TRUE(j->append(zone::diff(*v10, *v11), 1));
        ASSERT_TRUE(j->append(zone::diff(*with_b, *v12), 2));
        write(11, "a IN A 192.0.2.7\n");  // the file as the served version has it: nothing to reload
    };

    prepare();
    {
        zone::Zone z(with_state());
        auto r = z.open(t0_ + std::chrono::seconds(1));
        ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 11u);
        EXPECT_TRUE(serves(z, "a"));
        EXPECT_NE(r.note.find("history restarted"), std::string::npos) << r.note;
        EXPECT_EQ(snapshot_serial().value(), 11u)
            << "the journal was emptied before the snapshot was written";
        EXPECT_TRUE(z.journal()->entries().empty());
    }

    prepare();
    std::filesystem::create_directory(state / "example.com.snapshot.tmp");
    {
        zone::Zone z(with_state());
        auto r = z.open(t0_ + std::chrono::seconds(1));
        ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 11u);
        EXPECT_NE(r.note.find("kept until"), std::string::npos) << r.note;
        EXPECT_EQ(z.journal()->entries().size(), 2u);
        std::filesystem::remove(state / "example.com.snapshot.tmp");
        // The first change writes the served version's snapshot, then a history from it.
        ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(2), adding_host("c")).outcome,
                  zone::ReloadOutcome::Updated);
        EXPECT_EQ(z.journal()->entries().size(), 1u);
    }
    zone::Zone z(with_state());
    ASSERT_NE(z.open(t0_ + std::chrono::seconds(3)).outcome, zone::ReloadOutcome::Error);
    EXPECT_EQ(z.current()->serial().value(), 12u);
    EXPECT_TRUE(serves(z, "a") && serves(z, "c"));
}

// An update answered after its journal sync (deferred): a write-back that runs between its journal entry
// and its serving writes the older version, and the write-back stays due until the file has the update.
TEST_F(ZoneReloadTest, AWriteBackBeforeADeferredUpdateIsServedIsDoneAgain) {
    write(10);
    zone::Zone z(with_state());
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    zone::PendingUpdate pending;
    const auto r = z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10), &pending);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    ASSERT_NE(pending.ticket, 0u);
    EXPECT_FALSE(serves_www(z)) << "served before its journal entry is durable";
    auto written = z.write_back_if_due(t0_ + std::chrono::seconds(2), true);
    ASSERT_TRUE(written);
    EXPECT_EQ(read_text(file_).find("www"), std::string::npos);
    auto synced = z.sync_update(pending, true);
    ASSERT_TRUE(synced) << synced.error();
    EXPECT_TRUE(*synced);
    ASSERT_TRUE(z.finish_update(pending, {}, t0_ + std::chrono::seconds(3)));
    EXPECT_TRUE(serves_www(z));
    written = z.write_back_if_due(t0_ + std::chrono::seconds(4), true);
    ASSERT_TRUE(written);
    EXPECT_TRUE(*written) << "the file was left without the update";
    EXPECT_NE(read_text(file_).find("www.example.com."), std::string::npos);
}

// A deferred update is served only once its journal entry is durable: a caller that reports a sync it
// did not run gets an error, and the version stays unserved until the sync is done.
TEST_F(ZoneReloadTest, ADeferredUpdateIsServedOnlyOnceItsEntryIsDurable) {
    write(10);
    zone::Zone z(with_state());
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    zone::PendingUpdate pending;
    ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10), &pending).outcome,
              zone::ReloadOutcome::Updated);
    ASSERT_NE(pending.ticket, 0u);
    EXPECT_FALSE(z.journal()->durable(pending.ticket));
    const auto early = z.finish_update(pending, {}, t0_ + std::chrono::seconds(2));
    ASSERT_FALSE(early);
    EXPECT_NE(early.error().find("not durable"), std::string::npos) << early.error();
    EXPECT_FALSE(serves_www(z));
    auto synced = z.sync_update(pending, false);  // no other sync is running: this one runs it
    ASSERT_TRUE(synced) << synced.error();
    EXPECT_TRUE(*synced);
    EXPECT_TRUE(z.journal()->durable(pending.ticket));
    ASSERT_TRUE(z.finish_update(pending, {}, t0_ + std::chrono::seconds(3)));
    EXPECT_TRUE(serves_www(z));
    EXPECT_EQ(z.current()->serial().value(), 11u);
}

TEST_F(ZoneReloadTest, ARestartBeforeTheWriteBackKeepsTheUpdate) {
    write(10);
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10)).outcome,
                  zone::ReloadOutcome::Updated);
    }  // gone before its write-back, as in a crash right after the answer
    EXPECT_EQ(read_text(file_).find("www"), std::string::npos);
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_TRUE(serves_www(z)) << "the update was lost";
}

TEST_F(ZoneReloadTest, AReloadBeforeTheWriteBackKeepsTheUpdateAndWritesTheFile) {
    write(10);
    zone::Zone z(with_state(std::chrono::hours(1)));
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10)).outcome,
              zone::ReloadOutcome::Updated);
    EXPECT_FALSE(*z.write_back_if_due(t0_ + std::chrono::seconds(2)));  // zonefile_sync: not yet
    // A reload meanwhile finds the file without the update: nothing to merge from the file, the update
    // stays served, and the merged version is written back at once.
    auto r = z.reload(t0_ + std::chrono::seconds(3));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_NE(read_text(file_).find("www.example.com."), std::string::npos);
    EXPECT_FALSE(*z.write_back_if_due(t0_ + std::chrono::hours(2)));  // the reload wrote it
}

TEST_F(ZoneReloadTest, TheFileSerialIsRecordedOnlyWhileTheServedOneDiffers) {
    const auto state = dir_ / "state";
    const auto has_record = [&] {
        for (const auto& e : std::filesystem::directory_iterator(state))
            if (e.path().string().ends_with(".file-serial")) return true;
        return false;
    };
    write(10);
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        EXPECT_FALSE(has_record());  // the served serial is the file's: nothing to remember (no fsync)
        write(10, "www IN A 192.0.2.80\n");  // changed without raising the serial: the policy bumps it
        ASSERT_EQ(z.reload(t0_ + std::chrono::seconds(1)).outcome, zone::ReloadOutcome::Updated);
        EXPECT_EQ(z.current()->serial().value(), 11u);
        EXPECT_TRUE(has_record());
    }
    {
        // The next start finds the file's serial 10 behind the served 11 and knows it is no regression.
        zone::Zone z(with_state());
        auto r = z.open(t0_ + std::chrono::seconds(2));
        EXPECT_EQ(r.outcome, zone::ReloadOutcome::Unchanged) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 11u);
        write(12, "www IN A 192.0.2.80\n");
        ASSERT_EQ(z.reload(t0_ + std::chrono::seconds(3)).outcome, zone::ReloadOutcome::Updated);
        EXPECT_FALSE(has_record());  // served and file agree again: the stale record goes
    }
}

TEST_F(ZoneReloadTest, AHandEditThatMatchesAnUpdateIsNoConflict) {
    write(10);
    zone::Zone z(with_state(std::chrono::hours(1)));
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10)).outcome,
              zone::ReloadOutcome::Updated);
    // The operator adds the same record by hand (as a write-back that reached the file would have).
    write(10, "www IN A 192.0.2.80\n");
    auto r = z.reload(t0_ + std::chrono::seconds(2));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    const auto www =
        z.current()->find_rrset(dns::Name::from_text("www.example.com.").value(), dns::RRType::A);
    EXPECT_EQ(www.end - www.begin, 1u);
}

TEST_F(ZoneReloadTest, AFilePutBackBehindTheUpdatesIsRefusedNotMerged) {
    write(20, "old IN A 192.0.2.9\n");
    zone::Zone z(with_state(std::chrono::hours(1)));
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(20, "old IN A 192.0.2.9\n")).outcome,
              zone::ReloadOutcome::Updated);
    // An older file (serial 15, without `old`): merged, it would have removed `old` without a word.
    write(15);
    auto r = z.reload(t0_ + std::chrono::seconds(2));
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("backwards"), std::string::npos) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 21u);
    EXPECT_FALSE(
        z.current()->find_rrset(dns::Name::from_text("old.example.com.").value(), dns::RRType::A).empty());
}

TEST_F(ZoneReloadTest, BrokenFileKeepsTheServedVersion) {
    write(10);
    zone::Zone z({dns::Name::from_text("example.com.").value(), file_});
    ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    write(11, "www IN A not-an-address\n");
    const auto r = z.reload(t0_ + std::chrono::seconds(5));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find(file_.string() + ":5:"), std::string::npos) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 10u);
    EXPECT_EQ(z.status().last_error, r.error);
    EXPECT_EQ(*z.status().last_reload, t0_ + std::chrono::seconds(5));
}

TEST_F(ZoneReloadTest, SerialPolicyKeepRefusesAnUnchangedSerial) {
    write(10);
    zone::Zone z({dns::Name::from_text("example.com.").value(), file_, {}, zone::SerialPolicy::Keep});
    ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    write(10, "www IN A 192.0.2.80\n");
    auto r = z.reload(t0_);
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("serial is still 10"), std::string::npos) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 10u);
}

TEST_F(ZoneReloadTest, PolicyBumpsThenBackwardsIsRefusedUnlessForced) {
    write(10);
    zone::Zone z({dns::Name::from_text("example.com.").value(), file_, {}, zone::SerialPolicy::Increment});
    ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    write(10, "www IN A 192.0.2.80\n");
    auto r = z.reload(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_NE(r.note.find("serial_policy increment"), std::string::npos) << r.note;
    // The file still says 10: a further edit under that serial is bumped again, not "backwards".
    write(10, "www IN A 192.0.2.81\n");
    r = z.reload(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 12u);
    // An unchanged file after a bump is unchanged.
    EXPECT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Unchanged);

    write(9, "www IN A 192.0.2.80\n");
    r = z.reload(t0_);
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("backwards"), std::string::npos) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 12u);
    r = z.reload(t0_, true);
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 9u);
}

TEST_F(ZoneReloadTest, JournalKeepsHistoryAcrossRestarts) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(10);
    {
        zone::Zone z(settings);
        auto r = z.open(t0_);
        ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
        ASSERT_NE(z.journal(), nullptr);
        EXPECT_TRUE(z.journal()->empty());
        write(11, "a IN A 192.0.2.11\n");
        ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
        write(12, "a IN A 192.0.2.12\n");
        ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
        ASSERT_EQ(z.journal()->entries().size(), 2u);
        EXPECT_EQ(z.status().ixfr_from->value(), 10u);
    }
    {
        // Restart with the file unchanged: the same version, the same history.
        zone::Zone z(settings);
        auto r = z.open(t0_);
        EXPECT_EQ(r.outcome, zone::ReloadOutcome::Unchanged) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 12u);
        ASSERT_EQ(z.journal()->entries().size(), 2u);
        auto chain = z.journal()->chain(dns::Serial(10), dns::Serial(12));
        ASSERT_TRUE(chain);
        EXPECT_EQ(chain->size(), 2u);
    }
    // Edited while the server was down, serial untouched: diffed against the last served version and
    // bumped by the policy.
    write(12, "a IN A 192.0.2.13\n");
    {
        zone::Zone z(settings);
        auto r = z.open(t0_);
        ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
        EXPECT_EQ(r.old_serial->value(), 12u);
        EXPECT_EQ(z.current()->serial().value(), 13u);
        EXPECT_EQ(z.journal()->entries().size(), 3u);
    }
}

// The snapshot of a new version is written after the swap, possibly in the background: a kill -9 before
// it is on disk leaves the previous snapshot, and the journal (written before the swap) must bring the
// version and its history back.
TEST_F(ZoneReloadTest, ASnapshotNotWrittenYetIsRebuiltFromTheJournal) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    const auto snapshot = state / "example.com.snapshot";
    write(10);
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    }
    ASSERT_TRUE(std::filesystem::exists(snapshot));
    const auto saved = dir_ / "snapshot-10";
    std::filesystem::copy_file(snapshot, saved);
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Unchanged);
        write(11, "a IN A 192.0.2.11\n");
        ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
        write(12, "a IN A 192.0.2.12\n");
        ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    }
    // As if killed before the snapshots of 11 and 12 reached the disk.
    std::filesystem::copy_file(saved, snapshot, std::filesystem::copy_options::overwrite_existing);
    {
        zone::Zone z(settings);
        auto r = z.open(t0_);
        EXPECT_EQ(r.outcome, zone::ReloadOutcome::Unchanged) << r.error << r.note;
        ASSERT_NE(z.current(), nullptr);
        EXPECT_EQ(z.current()->serial().value(), 12u);
        auto chain = z.journal()->chain(dns::Serial(10), dns::Serial(12));
        ASSERT_TRUE(chain) << chain.error();
        EXPECT_EQ(chain->size(), 2u);
        // The next change is journaled after 12 and its snapshot written.
        write(13, "a IN A 192.0.2.13\n");
        ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    }
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Unchanged);
        EXPECT_EQ(z.current()->serial().value(), 13u);
        EXPECT_EQ(z.journal()->entries().size(), 3u);
    }
    // The very first load writes its snapshot in the background too: killed before it, the next start
    // simply reads the file again.
    std::filesystem::remove_all(state);
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    }
    std::filesystem::remove(snapshot);
    {
        zone::Zone z(settings);
        auto r = z.open(t0_);
        EXPECT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
        EXPECT_EQ(z.current()->serial().value(), 13u);
    }
    EXPECT_TRUE(std::filesystem::exists(snapshot));
}

TEST_F(ZoneReloadTest, AForcedNewHistoryWritesItsSnapshotAtOnce) {
    // A serial forced backwards resets the journal: the old snapshot could not be brought forward, so the
    // new one must be on disk before reload() returns.
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(20);
    zone::Zone z(settings);
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    write(5, "b IN A 192.0.2.5\n");
    ASSERT_EQ(z.reload(t0_, true).outcome, zone::ReloadOutcome::Updated);
    auto snap = zone::read_snapshot(state / "example.com.snapshot");
    ASSERT_TRUE(snap) << snap.error();
    EXPECT_EQ((*snap)->serial().value(), 5u);
}

TEST_F(ZoneReloadTest, BrokenFileAtStartKeepsTheLastServedVersion) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(10);
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
    }
    write(11, "bad IN A nonsense\n");
    zone::Zone z(settings);
    auto r = z.open(t0_);
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    ASSERT_NE(z.current(), nullptr);  // served from the snapshot
    EXPECT_EQ(z.current()->serial().value(), 10u);
}

TEST_F(ZoneReloadTest, BrokenFileAtStartThenFixedContinuesTheHistory) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(10);
    {
        zone::Zone z(settings);
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        EXPECT_TRUE(z.status().file_loaded);
    }
    write(11, "bad IN A nonsense\n");
    zone::Zone z(settings);
    const auto r = z.open(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find(file_.string() + ":5:"), std::string::npos) << r.error;
    ASSERT_TRUE(r.serial);  // what is served: the snapshot's version
    EXPECT_EQ(r.serial->value(), 10u);
    auto s = z.status();
    EXPECT_EQ(s.serial->value(), 10u);
    EXPECT_FALSE(s.file_loaded);  // served from the state directory
    EXPECT_EQ(s.last_error, r.error);

    write(11, "good IN A 192.0.2.11\n");
    const auto fixed = z.reload(t0_ + std::chrono::seconds(1));
    ASSERT_EQ(fixed.outcome, zone::ReloadOutcome::Updated) << fixed.error;
    EXPECT_EQ(fixed.old_serial->value(), 10u);
    EXPECT_EQ(z.current()->serial().value(), 11u);
    s = z.status();
    EXPECT_TRUE(s.file_loaded);
    EXPECT_TRUE(s.last_error.empty()) << s.last_error;
    // The change from the version served before the restart is journaled: IXFR from 10 still works.
    ASSERT_NE(z.journal(), nullptr);
    auto chain = z.journal()->chain(dns::Serial(10), dns::Serial(11));
    ASSERT_TRUE(chain) << chain.error();
    EXPECT_EQ(chain->size(), 1u);
}

// No state and a broken file: nothing is served, and a reload once the file is fixed serves it with its
// history started, as open() would have.
TEST_F(ZoneReloadTest, BrokenFileAtFirstStartIsServedByTheReloadThatFindsItFixed) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(10, "$ORIGIN other.example.\nwww IN A 192.0.2.1\n");  // out-of-zone data
    {
        zone::Zone z(settings);
        const auto r = z.open(t0_);
        ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
        EXPECT_NE(r.error.find(file_.string() + ":"), std::string::npos) << r.error;
        EXPECT_FALSE(r.serial);
        EXPECT_EQ(z.current(), nullptr);
        const auto s = z.status();
        EXPECT_FALSE(s.serial);
        EXPECT_FALSE(s.file_loaded);
        EXPECT_FALSE(s.loaded_at);
        EXPECT_EQ(s.last_error, r.error);
        EXPECT_EQ(*s.last_reload, t0_);
        // Still broken: still nothing, and bump has nothing to bump.
        EXPECT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Error);
        EXPECT_EQ(z.current(), nullptr);
        EXPECT_EQ(z.bump(t0_, std::nullopt, std::nullopt).outcome, zone::ReloadOutcome::Error);

        write(10);
        const auto fixed = z.reload(t0_ + std::chrono::seconds(1));
        ASSERT_EQ(fixed.outcome, zone::ReloadOutcome::Updated) << fixed.error;
        EXPECT_FALSE(fixed.old_serial);
        EXPECT_EQ(z.current()->serial().value(), 10u);
        EXPECT_TRUE(z.status().file_loaded);
        EXPECT_TRUE(z.status().last_error.empty());
        write(11, "a IN A 192.0.2.11\n");
        ASSERT_EQ(z.reload(t0_ + std::chrono::seconds(2)).outcome, zone::ReloadOutcome::Updated);
        ASSERT_NE(z.journal(), nullptr);
        EXPECT_EQ(z.journal()->entries().size(), 1u);
    }
    // The next start finds that version and its history.
    zone::Zone z(settings);
    ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_EQ(z.journal()->entries().size(), 1u);
}

// open() can fail before the journal is open (the state directory cannot be made). The zone is then not
// served, and the reload that finds things fixed must open the state first: served without a journal,
// its changes would have no IXFR history and the next start would not know them.
TEST_F(ZoneReloadTest, AStateDirThatFailedAtStartIsOpenedByTheNextReload) {
    const auto state = dir_ / "state";
    const zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_, state};
    write(10);
    std::ofstream(state) << "not a directory\n";
    zone::Zone z(settings);
    auto r = z.open(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("state_dir"), std::string::npos) << r.error;
    EXPECT_EQ(z.current(), nullptr);
    EXPECT_EQ(z.journal(), nullptr);
    // Still in the way: the reload fails the same way and serves nothing.
    r = z.reload(t0_);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("state_dir"), std::string::npos) << r.error;
    EXPECT_EQ(z.current(), nullptr);

    std::filesystem::remove(state);
    r = z.reload(t0_ + std::chrono::seconds(1));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    ASSERT_NE(z.journal(), nullptr);
    write(11, "a IN A 192.0.2.11\n");
    ASSERT_EQ(z.reload(t0_ + std::chrono::seconds(2)).outcome, zone::ReloadOutcome::Updated);
    EXPECT_EQ(z.journal()->entries().size(), 1u);
    EXPECT_EQ(z.status().ixfr_from->value(), 10u);
    auto snap = zone::read_snapshot(state / "example.com.snapshot");
    ASSERT_TRUE(snap) << snap.error();
    EXPECT_EQ((*snap)->serial().value(), 11u);
}

TEST_F(ZoneReloadTest, MissingFileIsAnError) {
    zone::Zone z({dns::Name::from_text("example.com.").value(), dir_ / "absent.zone"});
    const auto r = z.reload(t0_);
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(r.error.find("absent.zone"), std::string::npos);
}

TEST(ZoneStore, FindsTheClosestEnclosingZone) {
    zone::ZoneStore store;
    auto mk = [](std::string_view name) {
        return std::make_shared<zone::Zone>(
            zone::ZoneSettings{dns::Name::from_text(name).value(), "/nonexistent"});
    };
    EXPECT_TRUE(store.add(mk("example.com.")));
    EXPECT_TRUE(store.add(mk("sub.example.com.")));
    EXPECT_FALSE(store.add(mk("EXAMPLE.com.")));
    auto find = [&](std::string_view q) {
        auto z = store.find_best(dns::Name::from_text(q).value());
        return z ? z->settings().name.to_string() : std::string("-");
    };
    EXPECT_EQ(find("www.example.com."), "example.com.");
    EXPECT_EQ(find("a.b.SUB.example.com."), "sub.example.com.");
    EXPECT_EQ(find("example.com."), "example.com.");
    EXPECT_EQ(find("com."), "-");
    EXPECT_EQ(find("example.org."), "-");
}

namespace {

// A signer that "signs" by returning the source as it is, counting its passes over the zone.
class CountingSigner final : public zone::ZoneSigning {
  public:
    Result<void, std::string> check_source(const zone::ZoneVersion&) const override { return {}; }
    zone::ZoneVersionPtr source_of(const zone::ZoneVersion& v) const override {
        return zone::with_serial(v, v.serial());
    }
    Result<Signed, std::string> sign(const zone::ZoneVersionPtr& source, const zone::ZoneVersion*,
                                     Clock::time_point, bool) override {
        ++passes;
        Signed s;
        s.version = zone::with_serial(*source, source->serial());
        if (refresh_at != Clock::time_point()) s.next_refresh = refresh_at;
        s.key_generation = generation;
        return s;
    }
    uint64_t key_generation() const override { return generation; }

    int passes = 0;
    uint64_t generation = 1;
    Clock::time_point refresh_at;
};

}  // namespace

// Signing is a pass over the whole zone: a reload that finds the file unchanged, or a refresh check, signs
// only when a signature is due or the keys changed, and then once.
TEST_F(ZoneReloadTest, SignedZoneIsSignedAgainOnlyWhenSomethingIsDue) {
    write(10);
    auto signer = std::make_shared<CountingSigner>();
    signer->refresh_at = t0_ + std::chrono::seconds(100);
    zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_};
    settings.signer = signer;
    zone::Zone z(settings);
    ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    EXPECT_EQ(signer->passes, 1);

    EXPECT_EQ(z.reload(t0_ + std::chrono::seconds(1)).outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(z.resign(t0_ + std::chrono::seconds(2), false).outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(signer->passes, 1);

    ++signer->generation;  // a key imported
    auto r = z.resign(t0_ + std::chrono::seconds(3), false);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(r.serial->value(), 11u);
    EXPECT_EQ(signer->passes, 2);

    signer->refresh_at = t0_ + std::chrono::seconds(300);  // what the next signing will report
    r = z.reload(t0_ + std::chrono::seconds(200));         // past the first refresh_at: due, signed once
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(r.serial->value(), 12u);
    EXPECT_EQ(signer->passes, 3);
    // The refresh time is the latest signing's: nothing is due before it.
    EXPECT_EQ(z.resign(t0_ + std::chrono::seconds(202), false).outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(signer->passes, 3);

    EXPECT_EQ(z.resign(t0_ + std::chrono::seconds(203), true).outcome, zone::ReloadOutcome::Updated);
    EXPECT_EQ(signer->passes, 4);  // `all` always signs
}

// A signer that reports no refresh time (no signature in the zone): whether anything is due is found by
// signing once with the served serial; the same version back means nothing is published.
TEST_F(ZoneReloadTest, WithoutARefreshTimeOneTrialSigningDecides) {
    write(10);
    auto signer = std::make_shared<CountingSigner>();
    zone::ZoneSettings settings{dns::Name::from_text("example.com.").value(), file_};
    settings.signer = signer;
    zone::Zone z(settings);
    ASSERT_EQ(z.reload(t0_).outcome, zone::ReloadOutcome::Updated);
    EXPECT_EQ(signer->passes, 1);
    EXPECT_EQ(z.resign(t0_ + std::chrono::seconds(1), false).outcome, zone::ReloadOutcome::Unchanged);
    EXPECT_EQ(signer->passes, 2);
    EXPECT_EQ(z.current()->serial().value(), 10u);
}

TEST_F(ZoneReloadTest, ADeferredFirstSnapshotIsWrittenLaterAndThenUsed) {
    write(10);
    const auto state = dir_ / "state";
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_, zone::FirstSnapshot::Deferred).outcome, zone::ReloadOutcome::Updated);
        // Served, and nothing written yet: no snapshot, no journal.
        EXPECT_EQ(z.current()->serial().value(), 10u);
        EXPECT_FALSE(std::filesystem::exists(state / "example.com.snapshot"));
        EXPECT_FALSE(std::filesystem::exists(state / "example.com.journal"));
        auto w = z.write_deferred_snapshot();
        ASSERT_TRUE(w) << w.error();
        EXPECT_TRUE(*w);
        EXPECT_TRUE(std::filesystem::exists(state / "example.com.snapshot"));
        EXPECT_FALSE(*z.write_deferred_snapshot());  // owed once
    }
    // The next start diffs the file against the snapshot: an edit under the same serial gets a new one
    // (without the snapshot it would be served as a first load, under the serial secondaries hold).
    write(10, "www IN A 192.0.2.80\n");
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5), zone::FirstSnapshot::Deferred);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_EQ(z.journal()->first_serial(), dns::Serial(10));
}

TEST_F(ZoneReloadTest, AChangeBeforeTheDeferredSnapshotWritesItFirst) {
    write(10);
    const auto state = dir_ / "state";
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_, zone::FirstSnapshot::Deferred).outcome, zone::ReloadOutcome::Updated);
        // An update before the server's writer came by: the journal's first entry continues a snapshot
        // that must be on disk.
        ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10)).outcome,
                  zone::ReloadOutcome::Updated);
        EXPECT_TRUE(std::filesystem::exists(state / "example.com.snapshot"));
        EXPECT_FALSE(*z.write_deferred_snapshot());  // no longer owed: the zone wrote it
    }
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_TRUE(serves_www(z));
    EXPECT_EQ(z.journal()->first_serial(), dns::Serial(10));  // IXFR from the first version still works
}

TEST_F(ZoneReloadTest, OpeningWithAListingOfTheStateDirectoryReadsTheSameState) {
    write(10);
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(1), adding_www(10)).outcome,
                  zone::ReloadOutcome::Updated);
    }
    const auto files = zone::StateFiles::list(dir_ / "state");
    ASSERT_TRUE(files.complete());
    EXPECT_FALSE(files.may_exist("example.com.journal.tmp"));
    EXPECT_TRUE(files.may_exist("example.com.journal"));
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5), zone::FirstSnapshot::Deferred, {&files});
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 11u);
    EXPECT_TRUE(serves_www(z));
    EXPECT_EQ(z.journal()->first_serial(), dns::Serial(10));

    // A directory that is not there yet lists no file, and is created by the first zone that opens.
    const auto none = zone::StateFiles::list(dir_ / "other");
    EXPECT_TRUE(none.complete());
    EXPECT_FALSE(none.directory_exists());
    EXPECT_FALSE(none.may_exist("example.com.snapshot"));
}

TEST_F(ZoneReloadTest, AForcedReloadWhoseSnapshotFailsStillKeepsTheNextUpdate) {
    write(10);
    const auto state = dir_ / "state";
    {
        zone::Zone z(with_state());
        ASSERT_EQ(z.open(t0_).outcome, zone::ReloadOutcome::Updated);
        // A serial forced backwards starts a new history; its snapshot cannot be written (a directory
        // stands where the temporary file goes), so the one on disk is still serial 10's.
        write(5);
        std::filesystem::create_directory(state / "example.com.snapshot.tmp");
        auto r = z.reload(t0_ + std::chrono::seconds(1), true);
        ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
        EXPECT_NE(r.note.find("snapshot not written"), std::string::npos) << r.note;
        std::filesystem::remove(state / "example.com.snapshot.tmp");
        // The update's journal entry continues serial 5: the snapshot under it must be serial 5's.
        ASSERT_EQ(z.apply_change(t0_ + std::chrono::seconds(2), adding_www(5)).outcome,
                  zone::ReloadOutcome::Updated);
    }
    zone::Zone z(with_state());
    auto r = z.open(t0_ + std::chrono::seconds(5));
    ASSERT_NE(r.outcome, zone::ReloadOutcome::Error) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 6u);
    EXPECT_TRUE(serves_www(z)) << "the update was lost";
}

TEST_F(ZoneReloadTest, ARetiredZoneWritesNoDeferredSnapshotAndTakesNoUpdate) {
    write(10);
    zone::Zone z(with_state());
    ASSERT_EQ(z.open(t0_, zone::FirstSnapshot::Deferred).outcome, zone::ReloadOutcome::Updated);
    z.retire();  // reconfigure gave its files to a new Zone
    EXPECT_FALSE(*z.write_deferred_snapshot());
    EXPECT_FALSE(std::filesystem::exists(dir_ / "state" / "example.com.snapshot"));
    // Nor a dynamic update: it would be journaled beside the new Zone's entries.
    const auto refused = z.apply_change(t0_ + std::chrono::seconds(1), adding_www(11));
    EXPECT_EQ(refused.outcome, zone::ReloadOutcome::Error);
    EXPECT_NE(refused.error.find("reconfigure"), std::string::npos) << refused.error;
    // The reconfigure was refused, its replacement never loaded: the snapshot is this Zone's to write,
    // and updates are taken again.
    z.unretire();
    EXPECT_TRUE(*z.write_deferred_snapshot());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "state" / "example.com.snapshot"));
    EXPECT_EQ(z.apply_change(t0_ + std::chrono::seconds(2), adding_www(11)).outcome,
              zone::ReloadOutcome::Updated);
}
