// Lab mode's timeline in the secondaries record: kept only once enabled, per peer, in order, bounded.
#include <gtest/gtest.h>

#include "server/SecondaryRegistry.h"

namespace headwater::server {
namespace {

using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kT0 = std::chrono::system_clock::from_time_t(1'800'000'000);

xfr::TransferEvent cut_ixfr(uint32_t from, uint32_t to) {
    xfr::TransferEvent t;
    t.zone = "example.com.";
    t.type = dns::RRType::IXFR;
    t.form = xfr::TransferForm::Ixfr;
    t.address = dns::IpAddress::parse("127.0.0.2").value();
    t.client_serial = dns::Serial(from);
    t.served_serial = dns::Serial(to);
    t.outcome = xfr::TransferOutcome::LabCut;
    t.detail = "lab: cut-messages 3 close: closed";
    return t;
}

TEST(LabTimeline, NothingKeptUnlessEnabled) {
    SecondaryRegistry reg;
    reg.record_soa_query("example.com.", "127.0.0.2", "-", kT0, "udp", "lab: soa-tc", "tc");
    reg.record_transfer(cut_ixfr(1, 2), kT0);
    reg.record_notify("example.com.", "127.0.0.2", "-", dns::Serial(2), "ack", "", kT0);
    const auto peers = reg.with_timelines("example.com.");
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_TRUE(peers[0].timeline.empty());
}

TEST(LabTimeline, EveryKindInOrderPerPeer) {
    SecondaryRegistry reg;
    reg.enable_timeline(100);
    reg.record_notify("example.com.", "127.0.0.2", "-", dns::Serial(2), "ack", "", kT0);
    reg.record_soa_query("Example.COM", "127.0.0.2", "-", kT0 + seconds(1), "udp", "lab: soa-tc", "tc");
    reg.record_soa_query("example.com.", "127.0.0.2", "-", kT0 + seconds(2), "tcp");
    reg.record_transfer(cut_ixfr(1, 2), kT0 + seconds(3));
    reg.record_ixfr_up_to_date("example.com.", "127.0.0.2", "-", dns::Serial(2), kT0 + seconds(4));
    reg.record_soa_query("example.com.", "127.0.0.3", "-", kT0, "udp");  // another peer

    const auto peers = reg.with_timelines("example.com.");
    ASSERT_EQ(peers.size(), 2u);
    const auto& t = peers[0].timeline;
    ASSERT_EQ(t.size(), 5u);
    EXPECT_EQ(t[0].kind, TimelineEvent::Kind::Notify);
    EXPECT_EQ(t[0].outcome, "ack");
    EXPECT_EQ(t[1].kind, TimelineEvent::Kind::SoaQuery);
    EXPECT_EQ(t[1].transport, "udp");
    EXPECT_EQ(t[1].outcome, "tc");
    EXPECT_EQ(t[1].lab, "lab: soa-tc");
    EXPECT_EQ(t[2].transport, "tcp");
    EXPECT_EQ(t[2].outcome, "answered");
    EXPECT_EQ(t[3].kind, TimelineEvent::Kind::Transfer);
    EXPECT_EQ(t[3].transfer->outcome, xfr::TransferOutcome::LabCut);
    EXPECT_EQ(t[4].kind, TimelineEvent::Kind::UpToDate);
    EXPECT_EQ(peers[1].timeline.size(), 1u);
    // The plain snapshot (the metrics, `secondaries`) leaves the timelines out.
    for (const auto& p : reg.snapshot("example.com.")) EXPECT_TRUE(p.timeline.empty());
    EXPECT_TRUE(reg.view("example.com.").peers.at(0).timeline.empty());
}

TEST(LabTimeline, BoundedPerPeerOldestDropped) {
    SecondaryRegistry reg;
    reg.enable_timeline(8);
    for (int i = 0; i < 20; ++i)
        reg.record_soa_query("example.com.", "127.0.0.2", "-", kT0 + seconds(i), "udp");
    const auto peers = reg.with_timelines("example.com.");  // a copy: the timeline below refers into it
    const auto& t = peers.at(0).timeline;
    // At the bound the oldest quarter (and one) goes: 20 events through a bound of 8 keep the last 8.
    ASSERT_EQ(t.size(), 8u);
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t[i].at, kT0 + seconds(12 + static_cast<int>(i)));
}

}  // namespace
}  // namespace headwater::server
