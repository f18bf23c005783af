// Tests for the KSK and CSK rollover planner (zone/sign/SepRollover.h): whole rollovers against the
// simulated zone, its secondaries and its parent.
#include <gtest/gtest.h>

#include "rollover_simulation.h"

namespace headwater::sign {
namespace {

// Step 1 and its propagation: returns the successor's tag, with the DNSKEY TTL passed.
uint16_t publish_successor(SimulatedZone& z, bool start_now) {
    auto d = z.plan_sep(start_now);
    EXPECT_EQ(d.action, RolloverAction::Generate) << d.status;
    EXPECT_TRUE(d.sep);
    z.apply(d);
    const uint16_t successor = z.keys.back().tag;
    // It signs the DNSKEY RRset from the start: whichever DS a resolver holds, the RRset validates.
    EXPECT_TRUE(z.key(successor).timing.active(z.now));
    z.sign();
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::Record) << d.status;
    z.apply(d);
    z.secondaries_serve(z.serial);
    z.apply(z.plan_sep());  // propagated
    z.now += z.settings.dnskey_ttl;
    return successor;
}

TEST(SepRollover, AWholeKskRolloverWaitsForTheSecondariesAndTheParent) {
    SimulatedZone z;
    auto d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    const std::time_t due = kStart - 10 * kDay + 365 * kDay - 3600 - 600;
    EXPECT_EQ(d.wake, due);
    EXPECT_NE(d.status.find("next KSK rollover (key 1000)"), std::string::npos) << d.status;
    z.now = due;
    const uint16_t successor = publish_successor(z, false);

    // 2. The successor's CDS/CDNSKEY; the old KSK goes inactive (and keeps signing the DNSKEY RRset).
    d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_EQ(d.tag, successor);
    EXPECT_EQ(d.retire, std::vector<uint16_t>{1000});
    z.apply(d);
    EXPECT_TRUE(z.key(1000).timing.retired(z.now));
    z.sign();
    z.apply(z.plan_sep());  // the serial that carries the CDS
    z.secondaries_serve(z.serial);
    z.apply(z.plan_sep());  // propagated

    // 3. No parent servers: the operator is asked to confirm, for as long as it takes.
    z.now += 30 * kDay;
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.needs_ds, successor);
    EXPECT_NE(d.status.find("dnssec ds-seen sim.example. " + std::to_string(successor)), std::string::npos)
        << d.status;
    // The parent servers: one serves the old DS only, so nothing moves; the status says which.
    z.parent.servers = {"192.0.2.53", "192.0.2.54"};
    z.parent.answered = true;
    z.parent.tags = {1000};
    z.parent.summary = "192.0.2.54 serves DS 1000";
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_NE(d.status.find("192.0.2.54 serves DS 1000"), std::string::npos) << d.status;
    // Every server serves the new DS: seen now, with the TTL they gave.
    z.parent.tags = {1000, successor};
    z.parent.ttl = 7200;
    z.parent.summary.clear();
    const std::time_t seen = z.now;
    d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Record) << d.status;
    EXPECT_EQ(d.updated->ds_seen, seen);
    EXPECT_EQ(d.updated->ds_ttl, 7200u);
    z.apply(d);
    // The old DS may be cached for its TTL: the old key stays until then.
    z.now = seen + 7199;
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_EQ(d.wake, seen + 7200);
    z.now = seen + 7200;
    d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Remove) << d.status;
    EXPECT_EQ(d.tag, 1000);
    EXPECT_EQ(d.sync_end, successor);
    z.apply(d);
    z.sign();
    EXPECT_FALSE(z.key(1000).timing.published(z.now));
    EXPECT_EQ(z.key(successor).timing.sync_delete, z.now);  // the CDS withdrawn

    // Done: the next rollover is a lifetime after the successor began.
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_NE(d.status.find("next KSK rollover (key " + std::to_string(successor) + ")"), std::string::npos)
        << d.status;
}

TEST(SepRollover, ACskRolloverHoldsTheOldKeyForTheLargestTtlAndAStoppedSecondary) {
    SimulatedZone z(true);
    EXPECT_NE(z.plan().status.find("no active ZSK"), std::string::npos);
    const uint16_t successor = publish_successor(z, true);
    auto d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_NE(d.status.find("old CSK signs only the DNSKEY RRset"), std::string::npos) << d.status;
    z.apply(d);
    z.sign();
    z.apply(z.plan_sep());  // the CDS serial recorded; one secondary is stopped
    z.secondaries[0].serial = z.serial;
    z.key(successor).ds_seen = z.now;  // `dnssec ds-seen`
    z.key(successor).ds_ttl = 60;
    z.now += kDay;
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_NE(d.status.find("203.0.113.20 serves"), std::string::npos) << d.status;
    z.secondaries_serve(z.serial);
    const std::time_t seen = z.now;
    z.apply(z.plan_sep());
    // A CSK's old signatures over the data may be cached for the zone's largest TTL (7200), not only
    // the DNSKEY TTL (3600).
    z.now = seen + 3600;
    EXPECT_EQ(z.plan_sep().action, RolloverAction::None);
    z.now = seen + 7200;
    d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::Remove) << d.status;
}

// A crash between step 2's two writes (the successor's CDS written, the old key's Inactive not): the
// next decision finishes the step.
TEST(SepRollover, AnInterruptedTakeOverIsFinished) {
    SimulatedZone z;
    const uint16_t successor = publish_successor(z, true);
    auto d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Activate);
    z.key(successor).timing.sync_publish = z.now;  // the first write only
    z.sign();
    d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_EQ(d.retire, std::vector<uint16_t>{1000});
    EXPECT_NE(d.status.find("interrupted"), std::string::npos);
}

// A second KSK that no rollover of ours generated (imported, or a standby key) is left to its own timing:
// no CDS, nothing retired.
TEST(SepRollover, AnImportedSecondKskIsLeftAlone) {
    SimulatedZone z;
    z.keys.push_back(key_of(1002, true, active_from(kStart - kDay)));
    z.now += 30 * kDay;
    const auto d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None) << d.status;
    EXPECT_NE(d.status.find("own timing"), std::string::npos) << d.status;
    z.key(1000).timing.inactive = z.now - 10;  // retired by the timing it came with
    EXPECT_EQ(z.plan_sep().action, RolloverAction::None);
}

// A successor generated in the same second as the old key was: still the successor.
TEST(SepRollover, ASuccessorOfTheSameSecondIsStillTheSuccessor) {
    SimulatedZone z(true);
    z.keys[0].timing = active_from(kStart);
    const uint16_t successor = publish_successor(z, true);
    z.key(successor).timing.activate = kStart;
    const auto d = z.plan_sep();
    ASSERT_EQ(d.action, RolloverAction::Activate) << d.status;
    EXPECT_EQ(d.tag, successor);
    EXPECT_EQ(d.retire, std::vector<uint16_t>{1000});
}

TEST(SepRollover, NothingWithoutALifetimeUnlessStarted) {
    SimulatedZone z;
    z.settings.ksk_lifetime = 0;
    z.now += 3650 * static_cast<std::time_t>(kDay);
    auto d = z.plan_sep();
    EXPECT_EQ(d.action, RolloverAction::None);
    EXPECT_FALSE(d.wake);
    EXPECT_NE(d.status.find("ksk_lifetime is not set"), std::string::npos);
    EXPECT_EQ(z.plan_sep(true).action, RolloverAction::Generate);
    // The ZSK planner leaves the KSK alone.
    z.settings.zsk_lifetime = 0;
    EXPECT_EQ(z.plan().action, RolloverAction::None);
}

}  // namespace
}  // namespace headwater::sign
