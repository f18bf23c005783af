// [server] limits and identity (docs/operations.md): defaults, good values, and a
// clear error with position for every bad one.
#include <gtest/gtest.h>

#include "config_test_support.h"

namespace headwater::conf {
namespace {

class ServerLimitsTest : public test_support::ConfigFileTest {
  protected:
    // [server] with listen on line 2 and the test's lines from line 3 on.
    std::string document(std::string_view extra) const override {
        return "[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(extra);
    }
};

TEST_F(ServerLimitsTest, DefaultsAsDocumented) {
    auto r = parse("");
    ASSERT_TRUE(r) << r.error().message;
    const ServerConfig& s = r->server;
    EXPECT_EQ(s.tcp_max_connections, 256u);
    EXPECT_EQ(s.tcp_max_per_client, 16u);
    EXPECT_EQ(s.tcp_idle_timeout_ms, 10000u);
    EXPECT_EQ(s.tcp_write_timeout_ms, 30000u);
    EXPECT_EQ(s.max_transfers, 64u);
    EXPECT_EQ(s.max_query_size, 16384u);
    EXPECT_EQ(s.notify_max_in_flight, 64u);
    EXPECT_TRUE(s.user.empty());
    EXPECT_TRUE(s.group.empty());
}

TEST_F(ServerLimitsTest, EveryOptionIsRead) {
    auto r = parse(R"(tcp_max_per_client = 4
tcp_write_timeout = 2
max_transfers = 3
max_query_size = 1024
notify_max_in_flight = 8
user = "headwater"
group = "dns"
)");
    ASSERT_TRUE(r) << r.error().message;
    const ServerConfig& s = r->server;
    EXPECT_EQ(s.tcp_max_per_client, 4u);
    EXPECT_EQ(s.tcp_write_timeout_ms, 2000u);
    EXPECT_EQ(s.max_transfers, 3u);
    EXPECT_EQ(s.max_query_size, 1024u);
    EXPECT_EQ(s.notify_max_in_flight, 8u);
    EXPECT_EQ(s.user, "headwater");
    EXPECT_EQ(s.group, "dns");
}

TEST_F(ServerLimitsTest, BoundsAreInclusive) {
    auto lo = parse(
        "tcp_max_per_client = 1\ntcp_write_timeout = 1\nmax_transfers = 1\nmax_query_size = 512\n"
        "notify_max_in_flight = 1\n");
    ASSERT_TRUE(lo) << lo.error().message;
    EXPECT_EQ(lo->server.tcp_max_per_client, 1u);
    EXPECT_EQ(lo->server.tcp_write_timeout_ms, 1000u);
    EXPECT_EQ(lo->server.max_transfers, 1u);
    EXPECT_EQ(lo->server.max_query_size, 512u);
    EXPECT_EQ(lo->server.notify_max_in_flight, 1u);
    auto hi = parse(
        "tcp_max_per_client = 65535\ntcp_write_timeout = 3600\nmax_transfers = 65535\nmax_query_size = "
        "65535\n"
        "notify_max_in_flight = 65535\n");
    ASSERT_TRUE(hi) << hi.error().message;
    EXPECT_EQ(hi->server.tcp_max_per_client, 65535u);
    EXPECT_EQ(hi->server.tcp_write_timeout_ms, 3600000u);
    EXPECT_EQ(hi->server.max_transfers, 65535u);
    EXPECT_EQ(hi->server.max_query_size, 65535u);
    EXPECT_EQ(hi->server.notify_max_in_flight, 65535u);
}

TEST_F(ServerLimitsTest, OutOfRangeValuesAreErrorsWithTheirRange) {
    const std::string msg = error_of(
        "tcp_max_per_client = 0\ntcp_write_timeout = 0\nmax_transfers = 70000\nmax_query_size = 100\n"
        "notify_max_in_flight = -1\n");
    EXPECT_CONTAINS(msg, at(3, 22, "server.tcp_max_per_client: 0 is out of range 1..65535"));
    EXPECT_CONTAINS(msg, at(4, 21, "server.tcp_write_timeout: 0 is out of range 1..3600 seconds"));
    EXPECT_CONTAINS(msg, at(5, 17, "server.max_transfers: 70000 is out of range 1..65535"));
    EXPECT_CONTAINS(msg, at(6, 18, "server.max_query_size: 100 is out of range 512..65535 octets"));
    EXPECT_CONTAINS(msg, at(7, 24, "server.notify_max_in_flight: -1 is out of range 1..65535"));
}

TEST_F(ServerLimitsTest, WrongTypesAreErrors) {
    const std::string msg = error_of(
        "tcp_max_per_client = \"16\"\ntcp_write_timeout = 2.5\nmax_transfers = true\nmax_query_size = [1]\n"
        "notify_max_in_flight = \"many\"\nuser = 1000\ngroup = false\n");
    EXPECT_CONTAINS(msg, at(3, 22, "server.tcp_max_per_client: expected an integer, found a string"));
    EXPECT_CONTAINS(
        msg,
        at(4, 21,
           "server.tcp_write_timeout: expected a duration (\"250ms\", \"2s\", \"5m\", \"1h\", \"1d\", or a "
           "number of seconds), found a floating-point number"));
    EXPECT_CONTAINS(msg, at(5, 17, "server.max_transfers: expected an integer, found a boolean"));
    EXPECT_CONTAINS(msg, at(6, 18, "server.max_query_size: expected an integer (octets), found an array"));
    EXPECT_CONTAINS(msg, at(7, 24, "server.notify_max_in_flight: expected an integer, found a string"));
    EXPECT_CONTAINS(msg, at(8, 8, "server.user: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(9, 9, "server.group: expected a string, found a boolean"));
}

TEST_F(ServerLimitsTest, UserAndGroupNamesAreChecked) {
    std::string msg = error_of("user = \"\"\n");
    EXPECT_CONTAINS(msg, at(3, 8, "server.user: invalid name \"\""));
    msg = error_of("user = \"head water\"\n");
    EXPECT_CONTAINS(msg, at(3, 8, "server.user: invalid name \"head water\""));
    msg = error_of("user = \"-rf\"\n");
    EXPECT_CONTAINS(msg, "server.user: invalid name \"-rf\"");
    msg = error_of("user = \"x\"\ngroup = \"a/b\"\n");
    EXPECT_CONTAINS(msg, at(4, 9, "server.group: invalid name \"a/b\""));
    msg = error_of("group = \"nogroup\"\n");
    EXPECT_CONTAINS(msg, at(3, 9, "server.group: needs server.user (the user to run as)"));
    // Numeric ids and the usual characters pass the loader (existence is checked at start-up).
    auto r = parse("user = \"65534\"\ngroup = \"svc_dns-1.x\"\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.user, "65534");
}

class ThreadsTest : public ServerLimitsTest {};

TEST_F(ThreadsTest, UdpDefaultIsPerCoreAndValuesAreBounded) {
    auto r = parse("");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.udp_threads, 0u);  // 0: one per core (server::thread_count)
    r = parse("udp_threads = 4\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.udp_threads, 4u);
    r = parse("udp_threads = 64\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.udp_threads, 64u);
    EXPECT_CONTAINS(error_of("udp_threads = 65\n"), at(3, 15, "server.udp_threads: "));
    EXPECT_CONTAINS(error_of("udp_threads = 65\n"),
                    at(3, 15, "server.udp_threads: 65 is out of range 0..64"));
    EXPECT_CONTAINS(error_of("udp_threads = \"2\"\n"), at(3, 15, "server.udp_threads: expected an integer"));
}

TEST_F(ThreadsTest, TcpDefaultIsPerCoreAndValuesAreBounded) {
    auto r = parse("");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.tcp_threads, 0u);
    r = parse("tcp_threads = 1\nudp_threads = 3\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.tcp_threads, 1u);
    EXPECT_EQ(r->server.udp_threads, 3u);  // independent of each other
    r = parse("tcp_threads = 64\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.tcp_threads, 64u);
    EXPECT_CONTAINS(error_of("tcp_threads = 65\n"),
                    at(3, 15, "server.tcp_threads: 65 is out of range 0..64"));
    EXPECT_CONTAINS(error_of("tcp_threads = -1\n"),
                    at(3, 15, "server.tcp_threads: -1 is out of range 0..64"));
    EXPECT_CONTAINS(error_of("tcp_threads = 2.5\n"), at(3, 15, "server.tcp_threads: expected an integer"));
}

}  // namespace
}  // namespace headwater::conf
