// [server] limits and identity (README "Limits", "Running as a service"): defaults, good values, and a
// clear error with position for every bad one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>

#include "conf/ConfigLoader.h"

namespace headwater::conf {
namespace {
namespace fs = std::filesystem;

class ServerLimitsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<unsigned> counter{0};
        dir_ = fs::temp_directory_path() /
               ("headwater-limits-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                "-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir_);
        path_ = dir_ / "headwater.toml";
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // [server] with listen on line 2 and `extra` from line 3 on.
    dns::Result<Config, ConfigError> parse(std::string_view extra) {
        return parse_config("[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(extra), path_);
    }
    std::string error_of(std::string_view extra) {
        auto r = parse(extra);
        EXPECT_FALSE(r.has_value()) << extra;
        return r ? std::string() : r.error().message;
    }
    std::string at(int line, int column, std::string_view rest) const {
        return path_.string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
               std::string(rest);
    }

    fs::path dir_;
    fs::path path_;
};

#define EXPECT_CONTAINS(haystack, needle)                                                              \
    do {                                                                                               \
        const std::string h_ = (haystack);                                                             \
        const std::string n_ = (needle);                                                               \
        EXPECT_NE(h_.find(n_), std::string::npos) << "expected to find\n  " << n_ << "\nin\n  " << h_; \
    } while (0)

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
    EXPECT_EQ(lo->server.max_query_size, 512u);
    auto hi = parse(
        "tcp_max_per_client = 65535\ntcp_write_timeout = 3600\nmax_transfers = 65535\nmax_query_size = "
        "65535\n"
        "notify_max_in_flight = 65535\n");
    ASSERT_TRUE(hi) << hi.error().message;
    EXPECT_EQ(hi->server.tcp_write_timeout_ms, 3600000u);
    EXPECT_EQ(hi->server.max_query_size, 65535u);
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
        at(4, 21, "server.tcp_write_timeout: expected an integer (seconds), found a floating-point number"));
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

}  // namespace
}  // namespace headwater::conf

namespace headwater::conf {
namespace {

class UdpThreadsTest : public ServerLimitsTest {};

TEST_F(UdpThreadsTest, DefaultIsPerCoreAndValuesAreBounded) {
    auto r = parse("");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.udp_threads, 0u);  // 0: one per core (server::udp_thread_count)
    r = parse("udp_threads = 4\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->server.udp_threads, 4u);
    EXPECT_CONTAINS(error_of("udp_threads = 65\n"), at(3, 15, "server.udp_threads: "));
    EXPECT_CONTAINS(error_of("udp_threads = \"2\"\n"), at(3, 15, "server.udp_threads: expected an integer"));
}

}  // namespace
}  // namespace headwater::conf
