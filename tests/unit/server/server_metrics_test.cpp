// The metrics exposition: what each family says about zones, secondaries, verifications, NOTIFY targets,
// transfers and queries, and that the text keeps the format's rules (each family's samples together after
// its HELP and TYPE, label values escaped). `promtool check metrics` checks a live server's output in
// tests/system/test_metrics.py.
#include "server/ServerMetrics.h"

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "server/MetricsText.h"
#include "support/test_zone.h"

namespace headwater::server {
namespace {

using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kT0 = std::chrono::system_clock::from_time_t(1'800'000'000);

constexpr std::string_view kZone = R"($ORIGIN example.com.
@ 3600 IN SOA ns1 hostmaster 5 7200 900 1209600 300
@ 3600 IN NS ns1
ns1 3600 IN A 192.0.2.1
)";

xfr::TransferEvent transfer(std::string_view address, xfr::TransferOutcome outcome, uint32_t served) {
    xfr::TransferEvent t;
    t.zone = "example.com.";
    t.type = dns::RRType::AXFR;
    t.form = outcome == xfr::TransferOutcome::Ok ? xfr::TransferForm::Axfr : xfr::TransferForm::None;
    t.address = dns::IpAddress::parse(address).value();
    t.port = 40000;
    if (outcome == xfr::TransferOutcome::Ok) t.served_serial = dns::Serial(served);
    t.outcome = outcome;
    t.bytes = outcome == xfr::TransferOutcome::Ok ? 2048 : 0;
    t.duration = std::chrono::milliseconds(250);
    return t;
}

// Every sample line as "name{labels}" -> value, checking on the way that each sample follows the HELP and
// TYPE of its own family and that no family appears twice.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::set<std::string> families;
    std::string current;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0) {
            current = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(families.insert(current).second) << "family twice: " << current;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            EXPECT_EQ(line.substr(7, current.size() + 1), current + " ") << line;
            continue;
        }
        const std::size_t space = line.rfind(' ');
        const std::string series = line.substr(0, space);
        const std::string name = series.substr(0, series.find('{'));
        EXPECT_EQ(name, current) << "sample outside its family: " << line;
        EXPECT_TRUE(out.emplace(series, line.substr(space + 1)).second) << "series twice: " << series;
    }
    return out;
}

class ServerMetricsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto z = std::make_shared<zone::Zone>(zone::ZoneSettings{testing::name("example.com."), "/unused"});
        z->install(testing::build_zone(kZone, "example.com."), kT0);
        store_.add(z);
    }
    std::map<std::string, std::string> render(TimePoint now,
                                              const std::vector<NotifyZoneState>& notify = {}) {
        return samples(metrics_.render(store_, registry_, notify, now));
    }

    zone::ZoneStore store_;
    SecondaryRegistry registry_;
    ServerMetrics metrics_{kT0};
};

TEST_F(ServerMetricsTest, Zone) {
    const auto s = render(kT0);
    EXPECT_EQ(s.at(R"(headwater_zone_served{zone="example.com."})"), "1");
    EXPECT_EQ(s.at(R"(headwater_zone_serial{zone="example.com."})"), "5");
    EXPECT_EQ(s.at(R"(headwater_zone_records{zone="example.com."})"), "3");
    EXPECT_EQ(s.at(R"(headwater_zone_loaded_timestamp_seconds{zone="example.com."})"), "1800000000");
    EXPECT_EQ(s.at(R"(headwater_zone_reload_failures_total{zone="example.com."})"), "0");
    EXPECT_EQ(s.at("headwater_start_time_seconds"), "1800000000");
}

TEST_F(ServerMetricsTest, SecondariesLagAndTransfers) {
    // 127.0.0.2 took serial 5 (in sync); 127.0.0.3 holds 4 (one behind); 127.0.0.4 is refused twice.
    registry_.record_transfer(transfer("127.0.0.2", xfr::TransferOutcome::Ok, 5), kT0);
    registry_.record_transfer(transfer("127.0.0.3", xfr::TransferOutcome::Ok, 4), kT0);
    registry_.record_transfer(transfer("127.0.0.4", xfr::TransferOutcome::Refused, 0), kT0);
    EXPECT_EQ(registry_.record_transfer(transfer("127.0.0.4", xfr::TransferOutcome::Refused, 0), kT0), 2u);
    for (const auto* a : {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.4"})
        metrics_.count_transfer(transfer(
            a, std::string_view(a) == "127.0.0.4" ? xfr::TransferOutcome::Refused : xfr::TransferOutcome::Ok,
            5));
    const auto s = render(kT0 + seconds(90));
    const std::string p2 = R"({zone="example.com.",secondary="127.0.0.2",key="-"})";
    const std::string p3 = R"({zone="example.com.",secondary="127.0.0.3",key="-"})";
    const std::string p4 = R"({zone="example.com.",secondary="127.0.0.4",key="-"})";
    EXPECT_EQ(s.at("headwater_secondary_serial" + p2), "5");
    EXPECT_EQ(s.at("headwater_secondary_lag_serials" + p2), "0");
    EXPECT_EQ(s.at("headwater_secondary_lag_seconds" + p2), "0");
    EXPECT_EQ(s.at("headwater_secondary_serial" + p3), "4");
    EXPECT_EQ(s.at("headwater_secondary_lag_serials" + p3), "1");
    // Behind at least since serial 5 started being served (kT0).
    EXPECT_EQ(s.at("headwater_secondary_lag_seconds" + p3), "90");
    EXPECT_EQ(s.at("headwater_secondary_last_transfer_bytes" + p3), "2048");
    EXPECT_EQ(s.at("headwater_secondary_last_transfer_duration_seconds" + p3), "0.25");
    EXPECT_EQ(
        s.at(R"(headwater_secondary_last_transfer_ok{zone="example.com.",secondary="127.0.0.3",key="-",)"
             R"(type="axfr",outcome="ok"})"),
        "1");
    EXPECT_EQ(
        s.at(R"(headwater_secondary_last_transfer_ok{zone="example.com.",secondary="127.0.0.4",key="-",)"
             R"(type="axfr",outcome="refused"})"),
        "0");
    EXPECT_EQ(s.at("headwater_secondary_transfer_failures_in_a_row" + p4), "2");
    EXPECT_EQ(s.count("headwater_secondary_serial" + p4), 0u);  // a refused peer holds nothing we know of
    EXPECT_EQ(s.at(R"(headwater_transfers_total{zone="example.com.",type="axfr",outcome="ok"})"), "2");
    EXPECT_EQ(s.at(R"(headwater_transfers_total{zone="example.com.",type="axfr",outcome="refused"})"), "2");
    EXPECT_EQ(s.at(R"(headwater_transfer_bytes_total{zone="example.com.",type="axfr",outcome="ok"})"),
              "4096");
}

TEST_F(ServerMetricsTest, Verification) {
    VerificationInfo info;
    info.status = "behind";
    info.in_sync = false;
    info.serial = dns::Serial(4);
    info.lag = 1;
    registry_.record_verification("example.com.", "127.0.0.5:53", info, kT0);
    const auto s = render(kT0);
    const std::string l = R"({zone="example.com.",secondary="127.0.0.5:53"})";
    EXPECT_EQ(s.at("headwater_secondary_in_sync" + l), "0");
    EXPECT_EQ(s.at("headwater_secondary_verified_serial" + l), "4");
    EXPECT_EQ(s.at("headwater_secondary_verified_lag_serials" + l), "1");
    EXPECT_EQ(s.at("headwater_secondary_verification_timestamp_seconds" + l), "1800000000");
    EXPECT_EQ(s.at(R"(headwater_secondary_verification_status{zone="example.com.",secondary="127.0.0.5:53",)"
                   R"(status="behind"})"),
              "1");
}

TEST_F(ServerMetricsTest, Notify) {
    NotifyZoneState zone{"example.com.", {}};
    xfr::NotifyTargetState t;
    t.address = dns::Endpoint::parse("127.0.0.6:5300", 53).value();
    t.key_name = "xfr-key.";
    t.acknowledged_serial = dns::Serial(5);
    t.acknowledged_unix = 1'800'000'010;
    zone.targets.push_back(t);
    metrics_.count_notify({"example.com.", "127.0.0.6:5300", "xfr-key.", dns::Serial(5), 1, true, ""});
    metrics_.count_notify(
        {"example.com.", "127.0.0.6:5300", "xfr-key.", dns::Serial(6), 6, false, "no answer"});
    const auto s = render(kT0, {zone});
    const std::string l = R"({zone="example.com.",target="127.0.0.6:5300",key="xfr-key."})";
    EXPECT_EQ(s.at("headwater_notify_acknowledged_serial" + l), "5");
    EXPECT_EQ(s.at("headwater_notify_acknowledged_timestamp_seconds" + l), "1800000010");
    EXPECT_EQ(s.at("headwater_notify_pending" + l), "0");
    EXPECT_EQ(s.at("headwater_notify_acknowledged_total" + l), "1");
    EXPECT_EQ(s.at("headwater_notify_failures_total" + l), "1");
}

// The families keep their buffers from one scrape to the next: the second scrape has each series once,
// with the same values (the render time aside).
TEST_F(ServerMetricsTest, ASecondScrapeIsTheSame) {
    registry_.record_transfer(transfer("127.0.0.2", xfr::TransferOutcome::Ok, 5), kT0);
    NotifyZoneState zone{"example.com.", {}};
    xfr::NotifyTargetState t;
    t.address = dns::Endpoint::parse("127.0.0.6:5300", 53).value();
    zone.targets.push_back(t);
    auto first = render(kT0 + seconds(5), {zone});
    auto second = render(kT0 + seconds(5), {zone});
    first.erase("headwater_metrics_render_seconds");
    second.erase("headwater_metrics_render_seconds");
    EXPECT_GT(first.size(), 10u);
    EXPECT_EQ(first, second);
}

TEST_F(ServerMetricsTest, QueriesByRcodeFromSeveralThreads) {
    const std::vector<uint8_t> nxdomain = {0x12, 0x34, 0x84, 0x03};
    const std::vector<uint8_t> noerror = {0x12, 0x34, 0x84, 0x00};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            for (int n = 0; n < 1000; ++n) {
                metrics_.queries().count_answer(QueryTransport::Udp, nxdomain);
                metrics_.queries().count_answer(QueryTransport::Tcp, noerror);
            }
            metrics_.queries().count_dropped(QueryTransport::Udp);
        });
    }
    for (auto& t : threads) t.join();
    const auto s = render(kT0);
    EXPECT_EQ(s.at(R"(headwater_queries_total{transport="udp",rcode="NXDOMAIN"})"), "4000");
    EXPECT_EQ(s.at(R"(headwater_queries_total{transport="tcp",rcode="NOERROR"})"), "4000");
    EXPECT_EQ(s.at(R"(headwater_queries_total{transport="udp",rcode="NOERROR"})"), "0");  // always there
    EXPECT_EQ(s.at(R"(headwater_queries_dropped_total{transport="udp"})"), "4");
    EXPECT_EQ(s.count(R"(headwater_queries_total{transport="udp",rcode="NOTZONE"})"), 0u);
}

TEST(MetricFamily, EscapesAndFormats) {
    MetricFamily f("headwater_test", MetricFamily::Type::Counter, "A \\ help\nline.");
    f.add({{"zone", "a\"b\\c\nd"}}, 1.5);
    f.add({}, uint64_t{7});
    std::string out;
    f.flush(out);
    EXPECT_EQ(out,
              "# HELP headwater_test A \\\\ help\\nline.\n# TYPE headwater_test counter\n"
              "headwater_test{zone=\"a\\\"b\\\\c\\nd\"} 1.5\nheadwater_test 7\n");
}

}  // namespace
}  // namespace headwater::server
