// The operations keys: server.metrics_listen, [[alert]] tables, zone.parent — what they load into, and
// the errors an operator gets; and the webhook URL syntax.
#include <gtest/gtest.h>

#include "conf/Values.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {

class OperationsConfigTest : public test_support::ConfigFileTest {
  protected:
    // `server_lines` go into [server]; `rest` after the one zone.
    std::string config(std::string_view server_lines, std::string_view rest = "") const {
        return "[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(server_lines) +
               "\n[[zone]]\nname = \"example.com\"\nfile = \"zones/example.com.zone\"\n" + std::string(rest);
    }
};

TEST_F(OperationsConfigTest, MetricsOffWhenAbsent) {
    auto c = parse(config(""));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_FALSE(c->server.metrics_listen);
    EXPECT_TRUE(c->alerts.empty());
    EXPECT_TRUE(c->zones.at(0).parent.empty());
}

TEST_F(OperationsConfigTest, MetricsListen) {
    auto c = parse(config(R"(metrics_listen = "127.0.0.1:9999")"));
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(c->server.metrics_listen);
    EXPECT_EQ(c->server.metrics_listen->to_string(), "127.0.0.1:9999");

    c = parse(config(R"(metrics_listen = "::1")"));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->server.metrics_listen->to_string(), "[::1]:9153");  // the default port

    EXPECT_CONTAINS(error_of(config(R"(metrics_listen = "localhost:9153")")), "server.metrics_listen");
    EXPECT_CONTAINS(error_of(config("metrics_listen = 9153")), "expected a string");
}

TEST_F(OperationsConfigTest, AlertDefaults) {
    auto c = parse(config("", "[[alert]]\nurl = \"http://127.0.0.1:8080/hook\"\n"));
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->alerts.size(), 1u);
    const auto& a = c->alerts[0];
    EXPECT_EQ(a.url, "http://127.0.0.1:8080/hook");
    EXPECT_EQ(a.events, (std::vector<std::string>{"drift_start", "drift_end", "transfer_failures",
                                                  "notify_giveup", "reload_failed"}));
    EXPECT_EQ(a.format, "json");
    EXPECT_EQ(a.transfer_failures, 3u);
    EXPECT_EQ(a.retries, 5u);
    EXPECT_EQ(a.retry_interval_ms, 2000u);
    EXPECT_EQ(a.timeout_ms, 10000u);
}

TEST_F(OperationsConfigTest, AlertAllKeys) {
    auto c = parse(config("", R"([[alert]]
url = "https://hooks.example.net/services/T0/B0/XYZ"
events = ["drift_start", "drift_end"]
format = "text"
transfer_failures = 5
retries = 2
retry_interval = "500ms"
timeout = "3s"
)"));
    ASSERT_TRUE(c) << c.error().message;
    const auto& a = c->alerts.at(0);
    EXPECT_EQ(a.events, (std::vector<std::string>{"drift_start", "drift_end"}));
    EXPECT_EQ(a.format, "text");
    EXPECT_EQ(a.transfer_failures, 5u);
    EXPECT_EQ(a.retries, 2u);
    EXPECT_EQ(a.retry_interval_ms, 500u);
    EXPECT_EQ(a.timeout_ms, 3000u);
}

TEST_F(OperationsConfigTest, AlertErrors) {
    const std::string missing_url = error_of(config("", "[[alert]]\nformat = \"text\"\n"));
    EXPECT_CONTAINS(missing_url, "alert[0].url: missing required key");
    EXPECT_CONTAINS(error_of(config("", "[[alert]]\nurl = \"ftp://x/\"\n")),
                    "not an http:// or https:// URL");
    const std::string bad_event = error_of(
        config("", "[[alert]]\nurl = \"http://x/\"\nevents = [\"drift\", \"drift_end\", \"drift_end\"]\n"));
    EXPECT_CONTAINS(bad_event, "alert[0].events[0]: unknown event \"drift\" (known: drift_start");
    EXPECT_CONTAINS(bad_event, "alert[0].events[2]: duplicate event \"drift_end\"");
    EXPECT_CONTAINS(error_of(config("", "[[alert]]\nurl = \"http://x/\"\nevents = []\n")),
                    "must name at least one event");
    EXPECT_CONTAINS(error_of(config("", "[[alert]]\nurl = \"http://x/\"\nformat = \"xml\"\n")),
                    "unknown format \"xml\"");
    EXPECT_CONTAINS(error_of(config("", "[[alert]]\nurl = \"http://x/\"\nhook = 1\n")),
                    "alert[0].hook: unknown key (known: url, events");
}

TEST_F(OperationsConfigTest, Parent) {
    auto c = parse(config("", "parent = [\"127.0.0.9\", \"127.0.0.10:5300\"]\n"));
    // `parent` after the zone table's keys belongs to the zone.
    ASSERT_TRUE(c) << c.error().message;
    const auto& p = c->zones.at(0).parent;
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].to_string(), "127.0.0.9:53");
    EXPECT_EQ(p[1].to_string(), "127.0.0.10:5300");
    EXPECT_CONTAINS(error_of(config("", "parent = [\"127.0.0.9\", \"127.0.0.9:53\"]\n")),
                    "duplicate parent server 127.0.0.9:53");
}

TEST(HttpUrl, Parses) {
    auto u = parse_http_url("https://hooks.example.net/services/T0/B0?x=1");
    ASSERT_TRUE(u) << u.error();
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "hooks.example.net");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/services/T0/B0?x=1");

    u = parse_http_url("http://127.0.0.1:8080");
    ASSERT_TRUE(u) << u.error();
    EXPECT_FALSE(u->tls);
    EXPECT_EQ(u->port, 8080);
    EXPECT_EQ(u->target, "/");

    u = parse_http_url("HTTP://[::1]/a");
    ASSERT_TRUE(u) << u.error();
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 80);

    u = parse_http_url("http://[::1]:81?q");
    ASSERT_TRUE(u) << u.error();
    EXPECT_EQ(u->port, 81);
    EXPECT_EQ(u->target, "/?q");
}

TEST(HttpUrl, Rejects) {
    for (const char* bad : {"hooks.example.net/x", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
                            "http://h:x/", "http://u@h/", "http://h/a b", "http://h/#frag", "http://[::1/"}) {
        EXPECT_FALSE(parse_http_url(bad)) << bad;
    }
}

}  // namespace
}  // namespace headwater::conf
