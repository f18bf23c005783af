// [[lab]] tables: only with server.lab = true, naming a [[zone]] of the file; the peer and fault texts
// are the server's to check (xfr/Fault.h), so here they only have to be non-empty strings.
#include <gtest/gtest.h>

#include "conf/ConfigLoader.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {

class LabConfigTest : public test_support::ConfigFileTest {};

constexpr std::string_view kZone = R"(
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
)";

constexpr std::string_view kLab = R"(
[[lab]]
zone = "Example.COM."
peer = "127.0.0.2"
fault = "cut-messages 3 reset"
)";

TEST_F(LabConfigTest, OffByDefault) {
    auto r = parse("[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(kZone));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->server.lab);
    EXPECT_TRUE(r->labs.empty());
}

TEST_F(LabConfigTest, ALabTableWithoutLabModeIsAnError) {
    auto r = parse("[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(kZone) + std::string(kLab));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("lab[0]: lab faults need server.lab = true"), std::string::npos)
        << r.error().message;
    auto off = parse("[server]\nlisten = [\"127.0.0.1:5353\"]\nlab = false\n" + std::string(kZone) +
                     std::string(kLab));
    EXPECT_FALSE(off);
}

TEST_F(LabConfigTest, LabModeReadsTheTables) {
    auto r = parse("[server]\nlisten = [\"127.0.0.1:5353\"]\nlab = true\n" + std::string(kZone) +
                   std::string(kLab));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->server.lab);
    ASSERT_EQ(r->labs.size(), 1u);
    EXPECT_EQ(r->labs[0].zone, "example.com.");
    EXPECT_EQ(r->labs[0].peer, "127.0.0.2");
    EXPECT_EQ(r->labs[0].fault, "cut-messages 3 reset");
}

TEST_F(LabConfigTest, TheZoneMustBeConfiguredAndEveryKeyGiven) {
    auto r = parse("[server]\nlisten = [\"127.0.0.1:5353\"]\nlab = true\n" + std::string(kZone) +
                   "[[lab]]\nzone = \"example.net\"\npeer = \"\"\n");
    ASSERT_FALSE(r);
    const std::string& msg = r.error().message;
    EXPECT_NE(msg.find("lab[0].zone: unknown zone \"example.net.\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("lab[0].peer: must not be empty"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lab[0].fault: missing required key"), std::string::npos) << msg;
}

}  // namespace
}  // namespace headwater::conf
