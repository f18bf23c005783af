#include "zone/Journal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

using namespace headwater;
using dns::Serial;
using zone::Changeset;
using zone::Journal;
using zone::JournalBounds;

namespace {

zone::ZoneVersionPtr version(uint32_t serial, int records = 4) {
    std::string text = "$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
                       " 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.53\n";
    // Each version holds host<serial>..host<serial+records-1>: one record leaves and one arrives per step.
    for (int i = 0; i < records; ++i)
        text += "host" + std::to_string(serial + static_cast<uint32_t>(i)) + " IN TXT \"some data\"\n";
    zone::ZoneBuilder b(dns::Name::from_text("example.com.").value());
    auto loaded = zone::load_master_text(text, "example.com.", [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    EXPECT_TRUE(loaded);
    auto v = b.build();
    EXPECT_TRUE(v);
    return *v;
}

Changeset step(uint32_t from, int records = 4) {
    return zone::diff(*version(from, records), *version(from + 1, records));
}

class JournalTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-journal-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        path_ = dir_ / "example.com.journal";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    Journal open(JournalBounds bounds = {}) {
        auto j = Journal::open(path_, bounds);
        EXPECT_TRUE(j) << j.error();
        return std::move(j).value();
    }
    void append_steps(Journal& j, uint32_t from, uint32_t to) {
        for (uint32_t s = from; s < to; ++s) {
            auto r = j.append(step(s), 1000 + s);
            ASSERT_TRUE(r) << r.error();
        }
    }
    // Checks that the history is consecutive and every entry reads back as the step it should be.
    void expect_intact(const Journal& j) {
        const auto entries = j.entries();
        if (entries.empty()) return;
        for (std::size_t i = 1; i < entries.size(); ++i) ASSERT_EQ(entries[i].from, entries[i - 1].to);
        auto chain = j.chain(entries.front().from, entries.back().to);
        ASSERT_TRUE(chain) << chain.error();
        ASSERT_EQ(chain->size(), entries.size());
        for (std::size_t i = 0; i < chain->size(); ++i) {
            EXPECT_TRUE((*chain)[i] == step(entries[i].from.value())) << "entry " << i;
            EXPECT_EQ(entries[i].when, 1000 + int64_t{entries[i].from.value()});
        }
    }
    std::uintmax_t file_size() const { return std::filesystem::file_size(path_); }
    void truncate_to(std::uintmax_t size) { std::filesystem::resize_file(path_, size); }
    void flip_byte(std::uintmax_t offset) {
        std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(offset));
        char c;
        f.get(c);
        f.seekp(static_cast<std::streamoff>(offset));
        f.put(static_cast<char>(c ^ 0x20));
    }

    std::filesystem::path dir_;
    std::filesystem::path path_;
};

}  // namespace

TEST(Crc32c, KnownVectors) {
    const std::string check = "123456789";
    EXPECT_EQ(zone::crc32c(std::span(reinterpret_cast<const uint8_t*>(check.data()), check.size())),
              0xE3069283u);
    std::vector<uint8_t> zeros(32, 0);
    EXPECT_EQ(zone::crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
    // Continuation equals one pass.
    std::vector<uint8_t> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
    EXPECT_EQ(zone::crc32c(std::span(data).subspan(333), zone::crc32c(std::span(data).first(333))),
              zone::crc32c(data));
}

TEST(ZoneFileStem, IsSafe) {
    EXPECT_EQ(zone::zone_file_stem(dns::Name::from_text("Example.COM.").value()), "example.com");
    EXPECT_EQ(zone::zone_file_stem(dns::Name()), "root");
    EXPECT_EQ(zone::zone_file_stem(dns::Name::from_text("a\\/b.x_y.").value()), "a%2fb.x_y");
    EXPECT_EQ(zone::zone_file_stem(dns::Name::from_text("a\\.b.").value()), "a%2eb");
}

TEST_F(JournalTest, NewJournalIsEmpty) {
    Journal j = open();
    EXPECT_TRUE(j.empty());
    EXPECT_FALSE(j.first_serial());
    EXPECT_FALSE(j.last_serial());
    EXPECT_TRUE(j.recovery().empty());
    // No file until there is history: a zone that never changes costs none (and no fsync).
    EXPECT_FALSE(std::filesystem::exists(path_));
    EXPECT_TRUE(j.reset());
    EXPECT_FALSE(std::filesystem::exists(path_));
    EXPECT_FALSE(j.find_chain(Serial(1), Serial(2)));
    EXPECT_FALSE(j.chain(Serial(1), Serial(2)));
    append_steps(j, 1, 2);
    EXPECT_TRUE(std::filesystem::exists(path_));
    EXPECT_EQ(open().last_serial()->value(), 2u);
}

TEST_F(JournalTest, NoneYetIsAnEmptyJournalWithoutAFile) {
    Journal j = Journal::none_yet(path_);
    EXPECT_TRUE(j.empty());
    EXPECT_FALSE(std::filesystem::exists(path_));
    append_steps(j, 7, 9);
    Journal reopened = open();
    EXPECT_EQ(reopened.first_serial()->value(), 7u);
    EXPECT_EQ(reopened.last_serial()->value(), 9u);
}

TEST_F(JournalTest, ReopenAfterCleanClose) {
    {
        Journal j = open();
        append_steps(j, 1, 5);
        EXPECT_EQ(j.first_serial()->value(), 1u);
        EXPECT_EQ(j.last_serial()->value(), 5u);
    }
    Journal j = open();
    EXPECT_TRUE(j.recovery().empty()) << j.recovery();
    ASSERT_EQ(j.entries().size(), 4u);
    EXPECT_EQ(j.first_serial()->value(), 1u);
    EXPECT_EQ(j.last_serial()->value(), 5u);
    const auto e = j.entries();
    EXPECT_EQ(e[0].removed, 1u);
    EXPECT_EQ(e[0].added, 1u);
    EXPECT_GT(e[0].bytes, 0u);
    expect_intact(j);
    // And it continues.
    append_steps(j, 5, 7);
    EXPECT_EQ(j.last_serial()->value(), 7u);
    expect_intact(j);
}

TEST_F(JournalTest, ChainsBetweenSerials) {
    Journal j = open();
    append_steps(j, 10, 15);
    auto info = j.find_chain(Serial(11), Serial(15));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->changesets, 4u);
    EXPECT_EQ(info->records, 4u * 4);  // per step: 2 SOAs + 1 removed + 1 added
    std::size_t bytes = 0;
    auto chain = j.chain(Serial(11), Serial(15));
    ASSERT_TRUE(chain);
    ASSERT_EQ(chain->size(), 4u);
    for (const auto& c : *chain) bytes += c.wire_bytes();
    EXPECT_EQ(info->bytes, bytes);
    EXPECT_EQ(chain->front().from().value(), 11u);
    EXPECT_EQ(chain->back().to().value(), 15u);

    // The served version may be older than the journal's end (appended before the swap).
    auto partial = j.chain(Serial(10), Serial(13));
    ASSERT_TRUE(partial);
    EXPECT_EQ(partial->size(), 3u);
    EXPECT_EQ(partial->back().to().value(), 13u);
    // Equal serials: nothing to send.
    ASSERT_TRUE(j.find_chain(Serial(15), Serial(15)));
    EXPECT_EQ(j.find_chain(Serial(15), Serial(15))->changesets, 0u);
    // Not in history.
    EXPECT_FALSE(j.find_chain(Serial(9), Serial(15)));
    EXPECT_FALSE(j.find_chain(Serial(15), Serial(16)));
    EXPECT_FALSE(j.find_chain(Serial(13), Serial(11)));
    auto miss = j.chain(Serial(3), Serial(15));
    ASSERT_FALSE(miss);
    EXPECT_NE(miss.error().find("not in the history"), std::string::npos);
}

TEST_F(JournalTest, RefusesABrokenChain) {
    Journal j = open();
    append_steps(j, 1, 3);
    auto gap = j.append(step(5), 0);
    ASSERT_FALSE(gap);
    EXPECT_NE(gap.error().find("ends at serial 3"), std::string::npos) << gap.error();
    // A changeset that does not advance the serial.
    auto same = j.append(zone::diff(*version(3), *version(3)), 0);
    EXPECT_FALSE(same);
    EXPECT_EQ(j.entries().size(), 2u);
}

TEST_F(JournalTest, TruncatedTailIsDroppedEarlierEntriesKept) {
    std::uintmax_t after_two = 0;
    {
        Journal j = open();
        append_steps(j, 1, 3);
        after_two = file_size();
        append_steps(j, 3, 4);
    }
    const std::uintmax_t full = file_size();
    // Every cut inside the last entry.
    for (std::uintmax_t cut = after_two; cut < full;
         cut += std::max<std::uintmax_t>(1, (full - after_two) / 17)) {
        {
            Journal j = open();  // restores a full history for the next round
            if (j.entries().size() == 2) append_steps(j, 3, 4);
            ASSERT_EQ(j.entries().size(), 3u);
        }
        truncate_to(cut);
        Journal j = open();
        EXPECT_EQ(j.entries().size(), 2u) << "cut at " << cut;
        EXPECT_EQ(j.last_serial()->value(), 3u);
        if (cut != after_two) {
            EXPECT_FALSE(j.recovery().empty()) << "cut at " << cut;
        }
        expect_intact(j);
        EXPECT_EQ(file_size(), after_two);  // the damaged tail was cut off
    }
    // After recovery appends continue and survive a reopen.
    {
        Journal j = open();
        append_steps(j, 3, 6);
    }
    Journal j = open();
    EXPECT_TRUE(j.recovery().empty()) << j.recovery();
    EXPECT_EQ(j.last_serial()->value(), 6u);
    expect_intact(j);
}

TEST_F(JournalTest, CorruptedByteInTheLastEntry) {
    std::uintmax_t after_two = 0;
    {
        Journal j = open();
        append_steps(j, 1, 3);
        after_two = file_size();
        append_steps(j, 3, 4);
    }
    const std::uintmax_t full = file_size();
    for (std::uintmax_t at = after_two; at < full; ++at) {
        {
            Journal j = open();
            if (j.entries().size() == 2) append_steps(j, 3, 4);
            ASSERT_EQ(j.entries().size(), 3u);
            ASSERT_EQ(file_size(), full);
        }
        flip_byte(at);
        Journal j = open();
        EXPECT_EQ(j.entries().size(), 2u) << "byte " << at;
        EXPECT_FALSE(j.recovery().empty());
        expect_intact(j);
    }
}

TEST_F(JournalTest, CorruptionInTheMiddleKeepsWhatComesBefore) {
    std::uintmax_t after_one = 0;
    {
        Journal j = open();
        append_steps(j, 1, 2);
        after_one = file_size();
        append_steps(j, 2, 6);
    }
    flip_byte(after_one + 30);
    Journal j = open();
    EXPECT_EQ(j.entries().size(), 1u);
    EXPECT_NE(j.recovery().find("checksum"), std::string::npos) << j.recovery();
    expect_intact(j);
}

TEST_F(JournalTest, DamagedHeaderStartsANewHistory) {
    {
        Journal j = open();
        append_steps(j, 1, 3);
    }
    flip_byte(2);
    Journal j = open();
    EXPECT_TRUE(j.empty());
    EXPECT_NE(j.recovery().find("header"), std::string::npos) << j.recovery();
    auto aside = path_;
    aside += ".corrupt";
    EXPECT_TRUE(std::filesystem::exists(aside));
    append_steps(j, 7, 8);
    EXPECT_EQ(j.first_serial()->value(), 7u);
}

TEST_F(JournalTest, ANewerFormatIsNotTouched) {
    {
        Journal j = open();
        append_steps(j, 1, 2);
    }
    flip_byte(11);  // format version 1 -> 0x21, with the header CRC fixed below
    std::vector<uint8_t> h(16);
    {
        std::ifstream f(path_, std::ios::binary);
        f.read(reinterpret_cast<char*>(h.data()), 16);
    }
    const uint32_t crc = zone::crc32c(std::span(h).first(12));
    h[12] = static_cast<uint8_t>(crc >> 24);
    h[13] = static_cast<uint8_t>(crc >> 16);
    h[14] = static_cast<uint8_t>(crc >> 8);
    h[15] = static_cast<uint8_t>(crc);
    {
        std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
        f.write(reinterpret_cast<const char*>(h.data()), 16);
    }
    auto j = Journal::open(path_);
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().find("format version"), std::string::npos);
}

TEST_F(JournalTest, CountBoundDropsTheOldestAndCompacts) {
    JournalBounds bounds;
    bounds.max_changesets = 5;
    std::size_t dropped = 0;
    {
        Journal j = open(bounds);
        for (uint32_t s = 1; s < 21; ++s) {
            auto r = j.append(step(s), 1000 + s);
            ASSERT_TRUE(r) << r.error();
            EXPECT_TRUE(r->warning.empty()) << r->warning;
            dropped += r->dropped;
        }
        EXPECT_EQ(dropped, 15u);
        EXPECT_EQ(j.entries().size(), 5u);
        EXPECT_EQ(j.first_serial()->value(), 16u);
        EXPECT_EQ(j.last_serial()->value(), 21u);
        EXPECT_FALSE(j.find_chain(Serial(15), Serial(21)));
        EXPECT_TRUE(j.find_chain(Serial(16), Serial(21)));
        expect_intact(j);
        // The file holds at most about twice the bound.
        EXPECT_LE(file_size(), 16 + 2 * 5 * j.entries().front().bytes + j.entries().front().bytes);
    }
    Journal j = open(bounds);
    EXPECT_TRUE(j.recovery().empty()) << j.recovery();
    EXPECT_EQ(j.entries().size(), 5u);
    EXPECT_EQ(j.first_serial()->value(), 16u);
    expect_intact(j);
}

TEST_F(JournalTest, ByteBoundDropsTheOldest) {
    const std::size_t entry = [&] {
        Journal j = open();
        append_steps(j, 1, 2);
        return j.entries().front().bytes;
    }();
    std::filesystem::remove(path_);
    JournalBounds bounds;
    bounds.max_bytes = entry * 3 + entry / 2;  // room for three entries
    {
        Journal j = open(bounds);
        append_steps(j, 1, 11);
        EXPECT_EQ(j.entries().size(), 3u);
        EXPECT_LE(j.bytes(), bounds.max_bytes);
        EXPECT_EQ(j.first_serial()->value(), 8u);
        expect_intact(j);
    }
    Journal j = open(bounds);
    EXPECT_EQ(j.entries().size(), 3u);
    EXPECT_EQ(j.first_serial()->value(), 8u);
    // Tighter bounds apply at the next append.
    bounds.max_changesets = 1;
    j.set_bounds(bounds);
    append_steps(j, 11, 12);
    EXPECT_EQ(j.entries().size(), 1u);
    expect_intact(j);
}

TEST_F(JournalTest, KeepLastHoldsTheNewestEntriesPastBothBounds) {
    JournalBounds bounds;
    bounds.max_changesets = 2;
    bounds.max_bytes = 600;  // about four of these entries
    bounds.keep_last = 6;
    Journal j = open(bounds);
    append_steps(j, 1, 11);
    EXPECT_EQ(j.entries().size(), 6u);  // past both bounds, never fewer than keep_last
    EXPECT_GT(j.bytes(), bounds.max_bytes);
    EXPECT_EQ(j.first_serial()->value(), 5u);
    expect_intact(j);
    bounds.keep_last = 0;  // without it, the bounds again
    j.set_bounds(bounds);
    append_steps(j, 11, 12);
    EXPECT_EQ(j.entries().size(), 2u);
    expect_intact(j);
    Journal again = open(bounds);
    EXPECT_EQ(again.first_serial()->value(), 10u);
}

TEST_F(JournalTest, AChangesetLargerThanTheBoundRestartsTheHistory) {
    JournalBounds bounds;
    bounds.max_bytes = 2000;
    Journal j = open(bounds);
    append_steps(j, 1, 3);
    auto big = zone::diff(*version(3, 4), *version(4, 200));  // ~200 records added
    auto r = j.append(big, 0);
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->restarted);
    EXPECT_TRUE(j.empty());
    // The next step starts the new history wherever it starts.
    ASSERT_TRUE(j.append(step(4), 1004));
    EXPECT_EQ(j.first_serial()->value(), 4u);
}

TEST_F(JournalTest, EntriesAppendedForLaterAreIndexedAtOnceAndDurableAfterTheirSync) {
    {
        Journal j = open();
        append_steps(j, 1, 2);  // an ordinary append first: synced, ticket 1
        std::vector<uint64_t> tickets;
        for (uint32_t s = 2; s < 5; ++s) {
            auto r = j.append(step(s), 1000 + s, zone::JournalSync::Later);
            ASSERT_TRUE(r) << r.error();
            tickets.push_back(r->ticket);
        }
        EXPECT_EQ(tickets, (std::vector<uint64_t>{2, 3, 4}));
        EXPECT_EQ(j.last_serial()->value(), 5u);  // in the index before its sync
        expect_intact(j);
        // No sync running: the caller runs it.
        auto now = j.sync(3, false);
        ASSERT_TRUE(now) << now.error();
        EXPECT_TRUE(*now);
        ASSERT_TRUE(j.sync(4));
        ASSERT_TRUE(j.sync(2));  // covered by the sync of 4
        ASSERT_TRUE(j.sync(0));
        now = j.sync(4, false);  // covered already
        ASSERT_TRUE(now);
        EXPECT_TRUE(*now);
    }
    Journal j = open();
    EXPECT_TRUE(j.recovery().empty()) << j.recovery();
    EXPECT_EQ(j.entries().size(), 4u);
    expect_intact(j);
}

TEST_F(JournalTest, ConcurrentAppendsAndSyncsKeepOneConsecutiveHistory) {
    // Each thread appends the next step under a shared lock (as the zone's mutex does), then syncs
    // without it: the appends go on while another thread's fdatasync runs, and the bound makes
    // compactions replace the file under them.
    constexpr uint32_t kThreads = 4, kSteps = 40, kKept = 50;
    {
        Journal j = open(JournalBounds{kKept, 64u << 20});
        std::mutex order;
        uint32_t next = 1;
        std::vector<std::string> errors;
        std::vector<std::thread> threads;
        for (uint32_t t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (uint32_t k = 0; k < kSteps; ++k) {
                    uint64_t ticket = 0;
                    {
                        const std::lock_guard lock(order);
                        auto r = j.append(step(next), 1000 + next, zone::JournalSync::Later);
                        if (!r) {
                            errors.push_back(r.error());
                            return;
                        }
                        ticket = r->ticket;
                        ++next;
                    }
                    // Half the threads as an event loop would: not waiting for a sync in progress
                    // (then waiting after all, as the server's sync thread does).
                    if (t % 2 == 1) {
                        auto now = j.sync(ticket, false);
                        if (now && *now) continue;
                        if (!now) {
                            const std::lock_guard lock(order);
                            errors.push_back(now.error());
                            return;
                        }
                    }
                    if (auto s = j.sync(ticket); !s) {
                        const std::lock_guard lock(order);
                        errors.push_back(s.error());
                        return;
                    }
                }
            });
        for (auto& t : threads) t.join();
        ASSERT_TRUE(errors.empty()) << errors.front();
    }
    Journal j = open(JournalBounds{kKept, 64u << 20});
    EXPECT_TRUE(j.recovery().empty()) << j.recovery();
    EXPECT_EQ(j.entries().size(), kKept);
    EXPECT_EQ(j.last_serial()->value(), 1 + kThreads * kSteps);
    expect_intact(j);
}

TEST_F(JournalTest, ResetForgetsEverythingDurably) {
    {
        Journal j = open();
        append_steps(j, 1, 4);
        ASSERT_TRUE(j.reset());
        EXPECT_TRUE(j.empty());
        append_steps(j, 100, 102);
    }
    Journal j = open();
    EXPECT_EQ(j.first_serial()->value(), 100u);
    EXPECT_EQ(j.last_serial()->value(), 102u);
    expect_intact(j);
}

TEST_F(JournalTest, LeftoverTempFileIsIgnored) {
    {
        Journal j = open();
        append_steps(j, 1, 3);
    }
    auto tmp = path_;
    tmp += ".tmp";
    std::ofstream(tmp) << "half-written compaction";
    Journal j = open();
    EXPECT_EQ(j.entries().size(), 2u);
    EXPECT_FALSE(std::filesystem::exists(tmp));
}

// A child appends as fast as it can and is SIGKILLed at random moments (mid-write, mid-fsync, mid-
// compaction); after each kill the journal must open with a consecutive, readable history holding at
// least every entry whose append() had returned.
TEST_F(JournalTest, SurvivesKillNineInALoop) {
    JournalBounds bounds;
    bounds.max_changesets = 6;  // compaction every few appends
    std::mt19937 rng(4242);
    std::uniform_int_distribution<int> delay_us(0, 15000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int rounds = 0;
    int recoveries = 0;
    while (std::chrono::steady_clock::now() < deadline && rounds < 200) {
        ++rounds;
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            auto j = Journal::open(path_, bounds);
            if (!j) ::_exit(2);
            uint32_t s = j->last_serial() ? j->last_serial()->value() : 1;
            while (true) {
                if (!j->append(step(s), 1000 + s)) ::_exit(3);
                ++s;
                if (::write(fds[1], &s, sizeof s) != sizeof s) ::_exit(4);
            }
        }
        ::close(fds[1]);
        ::usleep(static_cast<useconds_t>(delay_us(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
        uint32_t acked = 0, v = 0;
        while (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
        ::close(fds[0]);

        Journal j = open(bounds);
        if (!j.recovery().empty()) ++recoveries;
        ASSERT_LE(j.entries().size(), bounds.max_changesets);
        if (acked != 0) {
            ASSERT_TRUE(j.last_serial());
            // Everything acknowledged is there; at most the one being written beyond it.
            EXPECT_GE(j.last_serial()->value(), acked);
            EXPECT_LE(j.last_serial()->value(), acked + 1);
        }
        expect_intact(j);
        if (HasFailure()) break;
    }
    EXPECT_GT(rounds, 5);
    const Journal j = open(bounds);
    std::printf("kill -9 rounds: %d, torn tails recovered: %d, serial reached: %u\n", rounds, recoveries,
                j.last_serial() ? j.last_serial()->value() : 0u);
}
