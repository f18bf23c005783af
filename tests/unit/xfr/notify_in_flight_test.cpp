// The NOTIFY in-flight bound (server.notify_max_in_flight) as the tracker supports it: due() starts at
// most `max_new` targets, the rest stay due and start once the driver has room; retries of targets in
// flight are never held back; next_wakeup(false) leaves waiting targets out so the driver does not spin.
#include <gtest/gtest.h>

#include "xfr/NotifyTracker.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kUnix = 1'700'000'000;
const Clock::time_point kT0 = Clock::time_point() + 1000h;

dns::Endpoint ep(std::string_view t) {
    return dns::Endpoint::parse(t, 53).value();
}

std::vector<uint8_t> ack(uint16_t id) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, 512);
    mb.header(id, static_cast<uint16_t>(dns::flag::QR | dns::flag::AA |
                                        (static_cast<uint16_t>(dns::Opcode::Notify) << 11)));
    mb.question(dns::Name::from_text("example.com.").value(), dns::to_u16(dns::RRType::SOA), 1);
    mb.finish();
    return buf;
}

uint16_t id_of(const std::vector<uint8_t>& wire) {
    return static_cast<uint16_t>(wire[0] << 8 | wire[1]);
}

class NotifyInFlightTest : public ::testing::Test {
  protected:
    NotifyInFlightTest()
        : tracker_(dns::Name::from_text("example.com.").value(), targets(), options(),
                   [this] { return next_id_++; }) {}

    static std::vector<NotifyTarget> targets() {
        std::vector<NotifyTarget> out;
        for (int i = 0; i < 5; ++i)
            out.push_back(NotifyTarget{ep("127.0.0.1:" + std::to_string(5301 + i)), nullptr, std::nullopt});
        return out;
    }
    static NotifyOptions options() {
        NotifyOptions o;
        o.retries = 1;
        o.retry_interval = 1000ms;
        o.delay = 0ms;
        return o;
    }

    uint16_t next_id_ = 1;
    NotifyTracker tracker_;
};

TEST_F(NotifyInFlightTest, OnlyMaxNewTargetsStartAndTheRestWaitDue) {
    tracker_.zone_changed(dns::Serial(7), {}, kT0);
    auto out = tracker_.due(kT0, kUnix, 2);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].target, 0u);
    EXPECT_EQ(out[1].target, 1u);
    EXPECT_EQ(tracker_.in_flight(), 2u);
    for (std::size_t i = 2; i < 5; ++i) {
        EXPECT_EQ(tracker_.state(i).status, NotifyStatus::Scheduled) << i;
        EXPECT_TRUE(tracker_.state(i).pending());
        EXPECT_EQ(tracker_.state(i).tries, 0u);
    }
    // Waiting targets are due already; without room the wakeup is the in-flight ones' retry.
    EXPECT_EQ(tracker_.next_wakeup(true), kT0);
    EXPECT_EQ(tracker_.next_wakeup(false), kT0 + 1000ms);
    // No room: nothing starts.
    EXPECT_TRUE(tracker_.due(kT0 + 10ms, kUnix, 0).empty());

    // An answer makes room for one more.
    EXPECT_EQ(tracker_.on_response(ack(id_of(out[0].wire)), ep("127.0.0.1:5301"), kT0 + 20ms, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(tracker_.in_flight(), 1u);
    auto next = tracker_.due(kT0 + 20ms, kUnix, 1);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].target, 2u);
    EXPECT_EQ(next[0].attempt, 1u);
    EXPECT_EQ(tracker_.in_flight(), 2u);
}

TEST_F(NotifyInFlightTest, RetriesOfTargetsInFlightAreNeverHeldBack) {
    tracker_.zone_changed(dns::Serial(7), {}, kT0);
    ASSERT_EQ(tracker_.due(kT0, kUnix, 2).size(), 2u);
    // At the retry time, with no room for new targets, the two in flight still retry.
    auto retries = tracker_.due(kT0 + 1000ms, kUnix, 0);
    ASSERT_EQ(retries.size(), 2u);
    EXPECT_EQ(retries[0].attempt, 2u);
    EXPECT_EQ(retries[1].attempt, 2u);
    // After the last try they give up, which makes room: the waiting targets start, two at a time.
    EXPECT_TRUE(tracker_.due(kT0 + 3000ms, kUnix, 0).empty());
    EXPECT_EQ(tracker_.state(0).status, NotifyStatus::Failed);
    EXPECT_EQ(tracker_.in_flight(), 0u);
    auto more = tracker_.due(kT0 + 3000ms, kUnix, 2);
    ASSERT_EQ(more.size(), 2u);
    EXPECT_EQ(more[0].target, 2u);
    EXPECT_EQ(more[1].target, 3u);
    EXPECT_EQ(tracker_.state(4).status, NotifyStatus::Scheduled);
}

TEST_F(NotifyInFlightTest, UnboundedByDefault) {
    tracker_.zone_changed(dns::Serial(7), {}, kT0);
    EXPECT_EQ(tracker_.due(kT0, kUnix).size(), 5u);
    EXPECT_EQ(tracker_.in_flight(), 5u);
}

}  // namespace
}  // namespace headwater::xfr
