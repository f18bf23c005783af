// Tests for the ZSK pre-publish rollover planner (zone/sign/ZskRollover.h): whole rollovers run step by
// step against a simulated zone (each key change makes a new signed serial) and simulated secondaries.
#include <gtest/gtest.h>

#include <algorithm>

#include "rollover_simulation.h"

namespace headwater::sign {
namespace {

TEST(ZskRollover, AWholeRolloverWaitsForEverySecondaryAndEachTtl) {
    SimulatedZone z;
    // Before its lifetime ends (less the time the successor needs), nothing happens.
    auto d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    const std::time_t due = kStart - 10 * kDay + 30 * kDay - 3600 - 600;
    ASSERT_TRUE(d.wake);
    EXPECT_EQ(*d.wake, due);
    EXPECT_NE(d.status.find("next ZSK rollover (key 1001) starts"), std::string::npos) << d.status;

    // 1. Due: a successor is published, not signing.
    z.now = due;
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Generate) << d.status;
    z.apply(d);
    const uint16_t successor = 2000;
    d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_NE(d.status.find("being signed"), std::string::npos) << d.status;
    z.sign();  // serial 101 carries the successor's DNSKEY
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Record);
    EXPECT_EQ(d.updated->published.serial, 101u);
    z.apply(d);

    // One secondary behind holds it back, whatever the time, and the status says who and what.
    z.secondaries[0].serial = 101;
    z.now += 30 * kDay;
    d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.status, "waiting: 203.0.113.20 serves 100, needs 101") << d.status;
    z.secondaries[1].serial.reset();
    EXPECT_EQ(z.plan().status, "waiting: 203.0.113.20 serves nothing yet, needs 101");

    // 2. Both serve it: the DNSKEY TTL runs from that moment.
    z.secondaries_serve(101);
    const std::time_t seen = z.now;
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Record);
    EXPECT_EQ(d.updated->published.propagated, seen);
    z.apply(d);
    z.now = seen + 3599;
    d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.wake, seen + 3600);
    EXPECT_NE(d.status.find("the DNSKEY TTL (3600 s)"), std::string::npos) << d.status;
    z.now = seen + 3600;
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_EQ(d.tag, successor);
    EXPECT_EQ(d.retire, std::vector<uint16_t>{1001});
    z.apply(d);
    EXPECT_TRUE(z.key(successor).timing.active(z.now));
    EXPECT_TRUE(z.key(1001).timing.retired(z.now));

    // 3. The old key stays published until the zone re-signed without it has propagated, plus the
    // largest TTL.
    d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    z.sign();  // serial 102: every RRSIG by the successor
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Record);
    EXPECT_EQ(d.updated->tag, 1001);
    EXPECT_EQ(d.updated->retired.serial, 102u);
    z.apply(d);
    EXPECT_EQ(z.plan().status,
              "waiting: 198.51.100.10 serves 101, needs 102; 203.0.113.20 serves 101, needs 102");
    z.now += 50;
    z.secondaries_serve(102);
    const std::time_t seen2 = z.now;
    z.apply(z.plan());
    z.now = seen2 + 7199;
    EXPECT_EQ(z.plan().action, RolloverAction::None);
    z.now = seen2 + 7200;
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Remove) << d.status;
    EXPECT_EQ(d.tag, 1001);
    z.apply(d);
    z.sign();
    EXPECT_FALSE(z.key(1001).timing.published(z.now));

    // Done: the next rollover is the successor's, a lifetime after it became active.
    d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.wake, seen + 3600 + 30 * kDay - 3600 - 600);
    EXPECT_NE(d.status.find("key 2000"), std::string::npos) << d.status;
}

// A crash after the successor's Activate was written but before the old key's Inactive: both sign, and
// the next decision finishes the step rather than waiting for a lifetime (or generating a third key).
TEST(ZskRollover, AnInterruptedActivationIsFinished) {
    SimulatedZone z;
    z.apply(z.plan(true));
    z.sign();
    z.apply(z.plan());  // published at serial 101
    z.secondaries_serve(101);
    z.apply(z.plan());  // propagated
    z.now += 3600;
    auto d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Activate);
    z.key(d.tag).timing.activate = z.now;  // the first write only
    z.sign();
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_EQ(d.tag, 2000);
    EXPECT_EQ(d.retire, std::vector<uint16_t>{1001});
    // Two active ZSKs that no rollover of ours made (imported so) are left alone.
    SimulatedZone two;
    two.keys.push_back(key_of(1002, false, active_from(kStart - kDay)));
    EXPECT_NE(two.plan().action, RolloverAction::Activate);
}

TEST(ZskRollover, WithoutSecondariesEachStepWaitsThePropagationDelay) {
    SimulatedZone z;
    z.secondaries.clear();
    z.apply(z.plan(true));  // the operator starts it
    z.sign();
    z.apply(z.plan());  // serial recorded at kStart
    auto d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.wake, kStart + 600);
    EXPECT_NE(d.status.find("propagation_delay"), std::string::npos) << d.status;
    z.now = kStart + 600;
    d = z.plan();
    ASSERT_EQ(d.action, RolloverAction::Record);
    EXPECT_EQ(d.updated->published.propagated, kStart + 600);
    z.apply(d);
    z.now = kStart + 600 + 3600;
    EXPECT_EQ(z.plan().action, RolloverAction::Activate);
}

TEST(ZskRollover, NothingToRollWithoutALifetimeOrAZsk) {
    SimulatedZone z;
    z.settings.zsk_lifetime = 0;
    z.now += 365 * kDay;
    auto d = z.plan();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_FALSE(d.wake);
    EXPECT_NE(d.status.find("zsk_lifetime is not set"), std::string::npos);
    EXPECT_EQ(z.plan(true).action, RolloverAction::Generate);

    z.keys.pop_back();  // the KSK alone: a CSK
    d = z.plan(true);
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_NE(d.status.find("no active ZSK"), std::string::npos);
}

TEST(ZskRollover, SerialsCompareAsRfc1982Says) {
    SimulatedZone z;
    z.serial = 4294967295u;
    z.secondaries_serve(4294967295u);
    z.apply(z.plan(true));
    z.serial = 4294967295u - 1;
    z.sign();  // wraps to 4294967295... then the next one is 0
    z.sign();
    ASSERT_EQ(z.serial, 0u);
    z.apply(z.plan());
    z.secondaries_serve(4294967295u);
    EXPECT_NE(z.plan().status.find("serves 4294967295, needs 0"), std::string::npos);
    z.secondaries_serve(3);  // past 0 across the wrap
    EXPECT_EQ(z.plan().action, RolloverAction::Record);
}

}  // namespace
}  // namespace headwater::sign
