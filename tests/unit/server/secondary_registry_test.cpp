#include "server/SecondaryRegistry.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/TransferLog.h"

namespace headwater::server {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kT0 = std::chrono::system_clock::from_time_t(1'800'000'000);  // 2027-01-15T08:00:00Z

// A transfer that completed: `from` is the IXFR client serial, `to` the serial sent.
xfr::TransferEvent ok_transfer(std::string_view address, std::string_view key, dns::RRType type,
                               xfr::TransferForm form, std::optional<uint32_t> from, uint32_t to) {
    xfr::TransferEvent t;
    t.zone = "example.com.";
    t.type = type;
    t.form = form;
    t.address = dns::IpAddress::parse(address).value();
    t.port = 40002;
    t.key = std::string(key);
    if (from) t.client_serial = dns::Serial(*from);
    t.served_serial = dns::Serial(to);
    t.messages = 3;
    t.records = 120;
    t.bytes = 4096;
    t.duration = std::chrono::milliseconds(42);
    t.rule = "secondaries";
    return t;
}

xfr::TransferEvent ok_axfr(std::string_view address, std::string_view key, uint32_t to) {
    return ok_transfer(address, key, dns::RRType::AXFR, xfr::TransferForm::Axfr, std::nullopt, to);
}

xfr::TransferEvent ok_ixfr(std::string_view address, uint32_t from, uint32_t to) {
    return ok_transfer(address, "-", dns::RRType::IXFR, xfr::TransferForm::Ixfr, from, to);
}

TEST(SecondaryRegistryTest, PeerIsAddressAndKeyWhateverThePort) {
    SecondaryRegistry reg;
    reg.record_soa_query("example.com.", SecondaryRegistry::address_of("127.0.0.2#40001"), "xfr-key.", kT0);
    reg.record_transfer(ok_axfr("127.0.0.2", "XFR-Key.", 5), kT0 + seconds(1));
    // Same address, another key (or none): another peer.
    reg.record_soa_query("example.com.", "127.0.0.2", "-", kT0);
    reg.record_soa_query("example.com.", "127.0.0.2", "", kT0);
    const auto peers = reg.snapshot("EXAMPLE.com");  // zone names: any case, dot optional
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_EQ(peers[0].key, "-");
    EXPECT_FALSE(peers[0].holds);
    EXPECT_EQ(peers[1].address, "127.0.0.2");
    EXPECT_EQ(peers[1].key, "xfr-key.");
    ASSERT_TRUE(peers[1].holds);
    EXPECT_EQ(peers[1].holds->value(), 5u);
    EXPECT_EQ(peers[1].last_soa_query, kT0);
    EXPECT_EQ(peers[1].last_transfer_at, kT0 + seconds(1));
    EXPECT_TRUE(reg.snapshot("example.net.").empty());
}

TEST(SecondaryRegistryTest, AddressOfStripsOnlyThePort) {
    EXPECT_EQ(SecondaryRegistry::address_of("::1#5300"), "::1");
    EXPECT_EQ(SecondaryRegistry::address_of("192.0.2.1"), "192.0.2.1");
}

TEST(SecondaryRegistryTest, SoaQueryTellsNothingAboutHolds) {
    SecondaryRegistry reg;
    reg.record_soa_query("example.com.", "127.0.0.2", "-", kT0);
    const auto peers = reg.snapshot("example.com.");
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_FALSE(peers[0].holds);
    EXPECT_FALSE(peers[0].last_transfer);
}

TEST(SecondaryRegistryTest, HoldsFromIxfrAndUpToDate) {
    SecondaryRegistry reg;
    reg.record_transfer(ok_ixfr("127.0.0.3", 5, 7), kT0);
    EXPECT_EQ(reg.snapshot("example.com.")[0].holds->value(), 7u);
    reg.record_ixfr_up_to_date("example.com.", "127.0.0.3", "-", dns::Serial(9), kT0 + seconds(5));
    auto p = reg.snapshot("example.com.")[0];
    EXPECT_EQ(p.holds->value(), 9u);
    EXPECT_EQ(p.holds_at, kT0 + seconds(5));
    // The up-to-date answer is not a transfer: the last transfer is still the IXFR 5 -> 7.
    ASSERT_TRUE(p.last_transfer);
    EXPECT_EQ(p.last_transfer->served_serial->value(), 7u);
}

TEST(SecondaryRegistryTest, FailedTransfers) {
    SecondaryRegistry reg;
    reg.record_transfer(ok_axfr("127.0.0.3", "-", 5), kT0);
    // An aborted AXFR tells nothing new: the peer still holds 5.
    xfr::TransferEvent aborted = ok_axfr("127.0.0.3", "-", 6);
    aborted.outcome = xfr::TransferOutcome::PeerClosed;
    aborted.detail = "Connection reset by peer";
    reg.record_transfer(aborted, kT0 + seconds(1));
    EXPECT_EQ(reg.snapshot("example.com.")[0].holds->value(), 5u);
    // An aborted IXFR: the client said it holds 4 (it lost data, say).
    xfr::TransferEvent ixfr = ok_ixfr("127.0.0.3", 4, 6);
    ixfr.outcome = xfr::TransferOutcome::TimedOut;
    reg.record_transfer(ixfr, kT0 + seconds(2));
    EXPECT_EQ(reg.snapshot("example.com.")[0].holds->value(), 4u);
    // A refused IXFR tells nothing, even with a client serial: the peer may be no secondary of ours.
    xfr::TransferEvent not_admitted = ok_ixfr("127.0.0.3", 3, 6);
    not_admitted.form = xfr::TransferForm::None;
    not_admitted.served_serial.reset();
    not_admitted.outcome = xfr::TransferOutcome::NotAdmitted;
    not_admitted.rcode = dns::Rcode::ServFail;
    reg.record_transfer(not_admitted, kT0 + seconds(3));
    EXPECT_EQ(reg.snapshot("example.com.")[0].holds->value(), 4u);

    xfr::TransferEvent refused;
    refused.zone = "example.com.";
    refused.address = dns::IpAddress::parse("127.0.0.9").value();
    refused.outcome = xfr::TransferOutcome::Refused;
    refused.rcode = dns::Rcode::Refused;
    refused.detail = "no rule allows 127.0.0.9";
    reg.record_transfer(refused, kT0);
    const json j = reg.to_json("example.com.", dns::Serial(6), kT0, kT0 + seconds(3));
    ASSERT_EQ(j.size(), 2u);
    const json& r = j[1];
    EXPECT_EQ(r["address"], "127.0.0.9");
    EXPECT_TRUE(r["holds"].is_null());
    EXPECT_TRUE(r["lag_serials"].is_null());
    EXPECT_TRUE(r["lag_seconds"].is_null());
    EXPECT_EQ(r["in_sync"], false);
    EXPECT_EQ(r["last_transfer"]["outcome"], "refused");
    EXPECT_EQ(r["last_transfer"]["cause"], "refused");
    EXPECT_EQ(r["last_transfer"]["rcode"], "REFUSED");
    EXPECT_EQ(r["last_transfer"]["error"], "no rule allows 127.0.0.9");
    EXPECT_TRUE(r["last_transfer"]["to"].is_null());
    EXPECT_TRUE(r["last_transfer"]["form"].is_null());
    EXPECT_EQ(j[0]["last_transfer"]["outcome"], "refused");
    EXPECT_EQ(j[0]["last_transfer"]["cause"], "not-admitted");
}

// The registry keeps the event itself: the last transfer of a peer is the event as recorded, and its
// JSON in the secondaries view is the event's JSON plus when it happened.
TEST(SecondaryRegistryTest, RecordsTheEventAsItCame) {
    SecondaryRegistry reg;
    const xfr::TransferEvent e = ok_ixfr("192.0.2.7", 5, 7);
    reg.record_transfer(e, kT0);
    const auto peers = reg.snapshot("example.com.");
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers[0].address, "192.0.2.7");
    EXPECT_EQ(peers[0].key, "-");
    ASSERT_TRUE(peers[0].last_transfer);
    const xfr::TransferEvent& kept = *peers[0].last_transfer;
    EXPECT_EQ(kept.type, dns::RRType::IXFR);
    EXPECT_EQ(kept.form, xfr::TransferForm::Ixfr);
    EXPECT_EQ(kept.client_serial, dns::Serial(5));
    EXPECT_EQ(kept.served_serial, dns::Serial(7));
    EXPECT_EQ(kept.records, 120u);
    EXPECT_EQ(kept.rule, "secondaries");
    EXPECT_EQ(kept.outcome, xfr::TransferOutcome::Ok);

    json expected = xfr::transfer_json(e);
    expected["at"] = "2027-01-15T08:00:00Z";
    const json view = reg.to_json("example.com.", dns::Serial(7), kT0, kT0);
    EXPECT_EQ(view[0]["last_transfer"], expected);
    EXPECT_EQ(view[0]["in_sync"], true);
}

TEST(SecondaryRegistryTest, SerialLagFollowsRfc1982) {
    EXPECT_EQ(serial_lag(dns::Serial(10), dns::Serial(10)), 0);
    EXPECT_EQ(serial_lag(dns::Serial(10), dns::Serial(7)), 3);
    // Wrap-around: 2 is 5 serials after 4294967293.
    EXPECT_EQ(serial_lag(dns::Serial(2), dns::Serial(4294967293u)), 5);
    // The peer holds a newer serial (forced backwards reload): negative.
    EXPECT_EQ(serial_lag(dns::Serial(4294967293u), dns::Serial(2)), -5);
    EXPECT_EQ(serial_lag(dns::Serial(7), dns::Serial(10)), -3);
    // Exactly 2^31 apart: undefined (RFC 1982 §3.2).
    EXPECT_EQ(serial_lag(dns::Serial(0x80000000u), dns::Serial(0)), std::nullopt);
    EXPECT_EQ(serial_lag(dns::Serial(0x7fffffffu), dns::Serial(0)), 0x7fffffff);
}

TEST(SecondaryRegistryTest, JsonShapeAndLag) {
    SecondaryRegistry reg;
    reg.record_soa_query("example.com.", "127.0.0.2", "xfr-key.", kT0 - seconds(30));
    reg.record_transfer(
        ok_transfer("127.0.0.2", "xfr-key.", dns::RRType::IXFR, xfr::TransferForm::Ixfr, 4294967295u, 1),
        kT0 - seconds(20));
    reg.record_transfer(ok_axfr("127.0.0.3", "-", 3), kT0 - seconds(10));

    // Served serial 3 since kT0 - 15 s; now kT0 + 45 s.
    const json j = reg.to_json("example.com.", dns::Serial(3), kT0 - seconds(15), kT0 + seconds(45));
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 2u);

    const json& behind = j[0];
    EXPECT_EQ(behind["address"], "127.0.0.2");
    EXPECT_EQ(behind["key"], "xfr-key.");
    EXPECT_EQ(behind["holds"], 1);
    EXPECT_EQ(behind["lag_serials"], 2);
    EXPECT_EQ(behind["lag_seconds"], 60);
    EXPECT_EQ(behind["in_sync"], false);
    EXPECT_EQ(behind["last_soa_query"], "2027-01-15T07:59:30Z");
    const json& t = behind["last_transfer"];
    EXPECT_EQ(t["type"], "IXFR");
    EXPECT_EQ(t["form"], "ixfr");
    EXPECT_EQ(t["from"], 4294967295u);
    EXPECT_EQ(t["to"], 1);
    EXPECT_EQ(t["messages"], 3);
    EXPECT_EQ(t["records"], 120);
    EXPECT_EQ(t["bytes"], 4096);
    EXPECT_EQ(t["duration_ms"], 42);
    EXPECT_EQ(t["outcome"], "ok");
    EXPECT_TRUE(t["error"].is_null());
    EXPECT_EQ(t["rule"], "secondaries");
    EXPECT_EQ(t["at"], "2027-01-15T07:59:40Z");

    const json& synced = j[1];
    EXPECT_EQ(synced["address"], "127.0.0.3");
    EXPECT_EQ(synced["key"], "-");
    EXPECT_EQ(synced["holds"], 3);
    EXPECT_EQ(synced["lag_serials"], 0);
    EXPECT_EQ(synced["lag_seconds"], 0);
    EXPECT_EQ(synced["in_sync"], true);
    EXPECT_TRUE(synced["last_soa_query"].is_null());

    for (const char* member : {"address", "key", "holds", "holds_at", "lag_serials", "lag_seconds", "in_sync",
                               "last_soa_query", "last_transfer"})
        EXPECT_TRUE(behind.contains(member)) << member;

    // Nothing served (zone not loaded): lag unknown.
    const json none = reg.to_json("example.com.", std::nullopt, std::nullopt, kT0);
    EXPECT_TRUE(none[1]["lag_serials"].is_null());
    EXPECT_EQ(none[1]["in_sync"], false);
    EXPECT_TRUE(reg.to_json("example.org.", dns::Serial(1), kT0, kT0).empty());
}

TEST(SecondaryRegistryTest, PeersPerZoneAreBounded) {
    SecondaryRegistry reg(3);
    for (int i = 0; i < 5; ++i)
        reg.record_soa_query("example.com.", "127.0.0." + std::to_string(10 + i), "-", kT0 + seconds(i));
    reg.record_soa_query("example.com.", "127.0.0.12", "-", kT0 + seconds(10));  // refresh .12
    reg.record_soa_query("example.com.", "127.0.0.20", "-", kT0 + seconds(11));  // evicts .13
    const auto peers = reg.snapshot("example.com.");
    ASSERT_EQ(peers.size(), 3u);
    EXPECT_EQ(peers[0].address, "127.0.0.12");
    EXPECT_EQ(peers[1].address, "127.0.0.14");
    EXPECT_EQ(peers[2].address, "127.0.0.20");
    reg.forget_zone("example.com");
    EXPECT_TRUE(reg.snapshot("example.com.").empty());
}

TEST(SecondaryRegistryTest, ConcurrentRecordingAndReading) {
    SecondaryRegistry reg;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&reg, t] {
            for (uint32_t i = 1; i <= 500; ++i) {
                reg.record_transfer(ok_ixfr("127.0.0." + std::to_string(t + 1), i - 1, i), kT0);
                (void)reg.to_json("example.com.", dns::Serial(i), kT0, kT0);
            }
        });
    }
    for (auto& th : threads) th.join();
    for (const auto& p : reg.snapshot("example.com.")) EXPECT_EQ(p.holds->value(), 500u);
}

// ---- TransferLog ----

class TransferLogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-transferlog-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static std::vector<std::string> lines_of(const std::filesystem::path& p) {
        std::ifstream in(p);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }
    std::filesystem::path dir_;
};

TEST_F(TransferLogTest, AppendsOneValidJsonObjectPerLine) {
    const auto path = dir_ / "transfers.jsonl";
    { std::ofstream(path) << "{\"existing\":true}\n"; }
    TransferLog log;
    EXPECT_TRUE(log.write({{"ignored", true}}));  // not open: a no-op
    ASSERT_TRUE(log.open(path));
    EXPECT_TRUE(log.is_open());

    json e = log_event("transfer", kT0 + std::chrono::milliseconds(1234));
    e.update(xfr::transfer_json(ok_ixfr("127.0.0.2", 1, 2)));
    ASSERT_TRUE(log.write(e));
    ASSERT_TRUE(log.write({{"event", "refusal"}, {"reason", std::string("bad \xff utf-8\nnewline")}}));
    EXPECT_EQ(log.lines(), 2u);

    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "{\"existing\":true}");
    for (const auto& line : lines) EXPECT_TRUE(json::accept(line)) << line;
    const json first = json::parse(lines[1]);
    EXPECT_EQ(first["time"], "2027-01-15T08:00:01.234Z");
    EXPECT_EQ(first["event"], "transfer");
    EXPECT_EQ(first["to"], 2);
    EXPECT_EQ(json::parse(lines[2])["event"], "refusal");
}

TEST_F(TransferLogTest, ContinuesAtTheEndAfterTruncation) {
    // logrotate copytruncate: the file is cut to zero under us; O_APPEND writes at the new end.
    const auto path = dir_ / "transfers.jsonl";
    TransferLog log;
    ASSERT_TRUE(log.open(path));
    ASSERT_TRUE(log.write({{"n", 1}}));
    ASSERT_TRUE(log.write({{"n", 2}}));
    std::filesystem::resize_file(path, 0);
    ASSERT_TRUE(log.write({{"n", 3}}));
    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "{\"n\":3}");
}

TEST_F(TransferLogTest, ConcurrentWritersNeverInterleave) {
    const auto path = dir_ / "transfers.jsonl";
    TransferLog log;
    ASSERT_TRUE(log.open(path));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&log, t] {
            for (int i = 0; i < 200; ++i)
                (void)log.write({{"thread", t}, {"i", i}, {"pad", std::string(500, 'x')}});
        });
    }
    for (auto& th : threads) th.join();
    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 800u);
    for (const auto& line : lines) ASSERT_TRUE(json::accept(line)) << line;
}

TEST_F(TransferLogTest, OpenFailureIsAValue) {
    TransferLog log;
    auto r = log.open(dir_ / "missing-dir" / "t.jsonl");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("cannot open transfer log"), std::string::npos);
    EXPECT_FALSE(log.is_open());
}

TEST(TransferLogTimeTest, Milliseconds) {
    EXPECT_EQ(format_time_ms(kT0), "2027-01-15T08:00:00.000Z");
    EXPECT_EQ(format_time_ms(kT0 + std::chrono::microseconds(999'999)), "2027-01-15T08:00:00.999Z");
}

}  // namespace
}  // namespace headwater::server

namespace headwater::server {
namespace {

VerificationInfo verification(std::string status, bool in_sync, std::optional<uint32_t> serial,
                              std::optional<int64_t> lag) {
    VerificationInfo v;
    v.status = std::move(status);
    v.in_sync = in_sync;
    v.summary = "summary of " + v.status;
    if (serial) v.serial = dns::Serial(*serial);
    v.lag = lag;
    v.method = "axfr";
    v.differences = in_sync ? 0 : 2;
    return v;
}

TEST(SecondaryRegistryVerificationTest, LastResultPerAddressReplacesTheOlderOne) {
    SecondaryRegistry reg;
    // The return value is the previous result's in_sync (VerifyService logs drift starts and ends by it).
    EXPECT_EQ(
        reg.record_verification("Example.COM", "198.51.100.10:53", verification("behind", false, 5, 2), kT0),
        std::nullopt);
    EXPECT_EQ(
        reg.record_verification("example.com.", "203.0.113.53:53", verification("in-sync", true, 7, 0), kT0),
        std::nullopt);
    EXPECT_EQ(reg.record_verification("example.com.", "198.51.100.10:53", verification("in-sync", true, 7, 0),
                                      kT0 + seconds(300)),
              std::optional<bool>(false));
    EXPECT_EQ(reg.record_verification("example.com.", "203.0.113.53:53", verification("in-sync", true, 7, 0),
                                      kT0 + seconds(300)),
              std::optional<bool>(true));
    const json v = reg.verifications_json("example.com");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0]["address"], "198.51.100.10:53");  // ordered by address
    EXPECT_EQ(v[0]["status"], "in-sync");
    EXPECT_EQ(v[0]["at"], "2027-01-15T08:05:00Z");
    EXPECT_EQ(v[0]["serial"], 7);
    EXPECT_EQ(v[0]["lag_serials"], 0);
    EXPECT_EQ(v[0]["summary"], "summary of in-sync");
    EXPECT_EQ(v[0]["method"], "axfr");
    EXPECT_EQ(v[0]["differences"], 0);
    EXPECT_EQ(v[1]["address"], "203.0.113.53:53");
    EXPECT_TRUE(v[1]["in_sync"].get<bool>());
}

TEST(SecondaryRegistryVerificationTest, UnreachableHasNoSerialAndForgetZoneDropsIt) {
    SecondaryRegistry reg;
    reg.record_verification("example.com.", "192.0.2.1:53", verification("unreachable", false, {}, {}), kT0);
    json v = reg.verifications_json("example.com.");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(v[0]["serial"].is_null());
    EXPECT_TRUE(v[0]["lag_serials"].is_null());
    EXPECT_FALSE(v[0]["in_sync"].get<bool>());
    EXPECT_TRUE(reg.verifications_json("other.example.").empty());
    reg.forget_zone("example.com.");
    EXPECT_TRUE(reg.verifications_json("example.com.").empty());
}

TEST(SecondaryRegistryVerificationTest, BoundedPerZone) {
    SecondaryRegistry reg(2);
    for (int i = 1; i <= 5; ++i)
        reg.record_verification("example.com.", "192.0.2." + std::to_string(i) + ":53",
                                verification("in-sync", true, 1, 0), kT0);
    EXPECT_EQ(reg.verifications_json("example.com.").size(), 2u);
    // The first two addresses are kept; later ones are not listed.
    const json kept = reg.verifications_json("example.com.");
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0]["address"], "192.0.2.1:53");
    EXPECT_EQ(kept[1]["address"], "192.0.2.2:53");
    // An address turned away has no previous result, however often it is checked.
    EXPECT_EQ(
        reg.record_verification("example.com.", "192.0.2.5:53", verification("in-sync", true, 1, 0), kT0),
        std::nullopt);
    // An address already listed is still updated.
    EXPECT_EQ(
        reg.record_verification("example.com.", "192.0.2.1:53", verification("behind", false, 1, 3), kT0),
        std::optional<bool>(true));
    EXPECT_EQ(reg.verifications_json("example.com.")[0]["status"], "behind");
    EXPECT_EQ(reg.verifications_json("example.com.")[0]["differences"], 2);
}

}  // namespace
}  // namespace headwater::server
