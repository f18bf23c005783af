// The zone keys of the secondaries' verification: secondaries, verify_interval, verify_key,
// verify_sample — what they load into, and the errors an operator gets.
#include <gtest/gtest.h>

#include "config_test_support.h"

namespace headwater::conf {
namespace {

class VerifyConfigTest : public test_support::ConfigFileTest {
  protected:
    // A config with one key ("verify-key") and one zone whose extra lines are `zone_lines`.
    std::string document(std::string_view zone_lines) const override {
        return std::string(R"([server]
listen = ["127.0.0.1:5353"]

[[key]]
name = "verify-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3JldCE="

[[zone]]
name = "example.com"
file = "zones/example.com.zone"
)") + std::string(zone_lines);
    }
};

// The zone lines start at line 12 of document().
constexpr int kFirstZoneLine = 12;

TEST_F(VerifyConfigTest, DefaultsWhenAbsent) {
    auto c = parse("");
    ASSERT_TRUE(c) << c.error().message;
    const auto& z = c->zones.at(0);
    EXPECT_TRUE(z.secondaries.empty());
    EXPECT_EQ(z.verify_interval_s, 0u);
    EXPECT_EQ(z.verify_key, "");
    EXPECT_EQ(z.verify_sample, 100u);
}

TEST_F(VerifyConfigTest, AllKeysLoad) {
    auto c = parse(R"(secondaries = ["203.0.113.53", "198.51.100.10:5300", "[2001:db8::53]:53"]
verify_interval = "5m"
verify_key = "Verify-Key."
verify_sample = 250
)");
    ASSERT_TRUE(c) << c.error().message;
    const auto& z = c->zones.at(0);
    ASSERT_EQ(z.secondaries.size(), 3u);
    EXPECT_EQ(z.secondaries[0], *dns::Endpoint::parse("203.0.113.53:53", 53));  // port 53 by default
    EXPECT_EQ(z.secondaries[1], *dns::Endpoint::parse("198.51.100.10:5300", 53));
    EXPECT_EQ(z.secondaries[2], *dns::Endpoint::parse("[2001:db8::53]:53", 53));
    EXPECT_EQ(z.verify_interval_s, 300u);
    EXPECT_EQ(z.verify_key, "verify-key.");  // normalised like the key's own name
    EXPECT_EQ(z.verify_sample, 250u);
}

TEST_F(VerifyConfigTest, IntervalUnits) {
    const std::pair<std::string_view, uint32_t> cases[] = {
        {"30s", 30}, {"90", 90}, {"5m", 300}, {"1h", 3600}, {"1d", 86400}, {"1s", 1}, {"7d", 604800}};
    for (const auto& [text, seconds] : cases) {
        auto c = parse("secondaries = [\"192.0.2.1\"]\nverify_interval = \"" + std::string(text) + "\"\n");
        ASSERT_TRUE(c) << text << ": " << c.error().message;
        EXPECT_EQ(c->zones.at(0).verify_interval_s, seconds) << text;
    }
}

TEST_F(VerifyConfigTest, UnknownUnitIsAnError) {
    const auto e = error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = \"5x\"\n");
    EXPECT_CONTAINS(e, at(kFirstZoneLine + 1, 19,
                          "zone[0].verify_interval: \"5x\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)"));
    for (std::string_view bad : {"", "m", "5mm", "-5m", "1.5h", "five", "5 m", "s5"}) {
        const auto msg =
            error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = \"" + std::string(bad) + "\"\n");
        EXPECT_CONTAINS(msg, "zone[0].verify_interval:");
    }
}

TEST_F(VerifyConfigTest, IntervalOutOfRange) {
    EXPECT_CONTAINS(error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = \"0s\"\n"),
                    "zone[0].verify_interval: \"0s\" is out of range 1..604800 seconds (1s..7d)");
    EXPECT_CONTAINS(error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = \"8d\"\n"),
                    "zone[0].verify_interval: \"8d\" is out of range 1..604800 seconds (1s..7d)");
    EXPECT_CONTAINS(error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = 0\n"),
                    "zone[0].verify_interval: 0 is out of range 1..604800 seconds (1s..7d)");
    // The field holds whole seconds.
    EXPECT_CONTAINS(error_of("secondaries = [\"192.0.2.1\"]\nverify_interval = \"1500ms\"\n"),
                    "zone[0].verify_interval: \"1500ms\" is not a whole number of seconds");
}

TEST_F(VerifyConfigTest, BareIntervalIsSeconds) {
    auto c = parse("secondaries = [\"192.0.2.1\"]\nverify_interval = 300\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->zones.at(0).verify_interval_s, 300u);
}

TEST_F(VerifyConfigTest, IntervalNeedsSecondaries) {
    const auto e = error_of("verify_interval = \"30s\"\n");
    EXPECT_CONTAINS(e, "zone[0].verify_interval: needs the secondaries to check");
    // Secondaries without an interval are fine: `headwaterctl verify` checks them on demand.
    EXPECT_TRUE(parse("secondaries = [\"192.0.2.1\"]\n"));
}

TEST_F(VerifyConfigTest, UnknownVerifyKey) {
    const auto e = error_of("secondaries = [\"192.0.2.1\"]\nverify_key = \"no-such-key\"\n");
    EXPECT_CONTAINS(e, at(kFirstZoneLine + 1, 14, "zone[0].verify_key: unknown key \"no-such-key.\""));
    EXPECT_CONTAINS(e, "verify-key.");  // the known ones are listed
}

TEST_F(VerifyConfigTest, BadSecondaries) {
    EXPECT_CONTAINS(error_of("secondaries = [\"not an address\"]\n"), "zone[0].secondaries[0]:");
    EXPECT_CONTAINS(error_of("secondaries = [\"192.0.2.1\", \"192.0.2.1:53\"]\n"),
                    "zone[0].secondaries[1]: duplicate secondary 192.0.2.1:53");
    EXPECT_CONTAINS(error_of("secondaries = \"192.0.2.1\"\n"), "zone[0].secondaries");
    EXPECT_CONTAINS(error_of("secondaries = [53]\n"), "zone[0].secondaries[0]");
}

TEST_F(VerifyConfigTest, SampleRange) {
    auto c = parse("verify_sample = 0\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->zones.at(0).verify_sample, 0u);
    c = parse("verify_sample = 100000\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->zones.at(0).verify_sample, 100000u);
    EXPECT_CONTAINS(error_of("verify_sample = -1\n"), "zone[0].verify_sample");
    EXPECT_CONTAINS(error_of("verify_sample = 100001\n"), "zone[0].verify_sample");
}

TEST_F(VerifyConfigTest, EveryProblemReported) {
    const auto e = error_of(R"(secondaries = ["192.0.2.1"]
verify_interval = "5x"
verify_key = "nope"
verify_sample = 1000000
)");
    EXPECT_CONTAINS(e, "zone[0].verify_interval");
    EXPECT_CONTAINS(e, "zone[0].verify_key");
    EXPECT_CONTAINS(e, "zone[0].verify_sample");
}

}  // namespace
}  // namespace headwater::conf
