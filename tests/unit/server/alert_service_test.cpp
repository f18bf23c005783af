// The alerts' incident rules, without a network: one alert when an incident starts (a drift also when it
// ends), per webhook that wants the event, and the bodies. Delivery is tests/interop/test_alerts.py's.
#include "server/AlertService.h"

#include <gtest/gtest.h>

namespace headwater::server {
namespace {

conf::AlertConfig hook(std::vector<std::string> events, uint32_t transfer_failures = 3) {
    conf::AlertConfig c;
    c.url = "http://127.0.0.1:9/hook";
    c.events = std::move(events);
    c.transfer_failures = transfer_failures;
    return c;
}

class AlertServiceTest : public ::testing::Test {
  protected:
    void make(std::vector<conf::AlertConfig> hooks) {
        service_ = std::make_unique<AlertService>(std::move(hooks));
        service_->on_alert(
            [this](const Alert& a) { raised_.push_back(a.event + " " + a.zone + " " + a.subject); });
    }
    std::unique_ptr<AlertService> service_;
    std::vector<std::string> raised_;
};

TEST_F(AlertServiceTest, NotifyGiveUpOncePerIncident) {
    make({hook({"notify_giveup"})});
    service_->notify_result("example.com.", "192.0.2.1:53", "-", false, 5, "no answer after 6 tries");
    service_->notify_result("example.com.", "192.0.2.1:53", "-", false, 6, "no answer after 6 tries");
    service_->notify_result("example.com.", "192.0.2.2:53", "-", false, 6, "REFUSED");  // another target
    service_->notify_result("example.com.", "192.0.2.1:53", "-", true, 7, "");          // acknowledged: over
    service_->notify_result("example.com.", "192.0.2.1:53", "-", false, 8, "REFUSED");  // a new incident
    EXPECT_EQ(raised_, (std::vector<std::string>{"notify_giveup example.com. 192.0.2.1:53",
                                                 "notify_giveup example.com. 192.0.2.2:53",
                                                 "notify_giveup example.com. 192.0.2.1:53"}));
}

TEST_F(AlertServiceTest, ReloadFailedOncePerStreak) {
    make({hook({"reload_failed"})});
    service_->reload_result("example.com.", "zone.db:3: syntax error");
    service_->reload_result("example.com.", "zone.db:3: syntax error");
    service_->reload_result("example.net.", "missing file");
    service_->reload_result("example.com.", "");
    service_->reload_result("example.com.", "zone.db:9: another error");
    EXPECT_EQ(raised_, (std::vector<std::string>{"reload_failed example.com. ", "reload_failed example.net. ",
                                                 "reload_failed example.com. "}));
}

TEST_F(AlertServiceTest, TransferFailuresAtEachWebhooksThreshold) {
    make({hook({"transfer_failures"}, 2), hook({"transfer_failures"}, 3), hook({"drift_start"}, 1)});
    for (std::size_t n = 0; n <= 4; ++n)
        service_->transfer_result("example.com.", "192.0.2.7", "-", n, "refused: not in any rule");
    // Once at 2 (first webhook), once at 3 (second); the third does not want the event.
    EXPECT_EQ(raised_, (std::vector<std::string>{"transfer_failures example.com. 192.0.2.7",
                                                 "transfer_failures example.com. 192.0.2.7"}));
}

TEST_F(AlertServiceTest, DriftGoesToTheWebhooksThatWantIt) {
    make({hook({"drift_start", "drift_end"}), hook({"drift_end"}), hook({"reload_failed"})});
    service_->drift("example.com.", "192.0.2.1:53", true, "behind by 2 serials");
    service_->drift("example.com.", "192.0.2.1:53", false, "in sync");
    EXPECT_EQ(raised_, (std::vector<std::string>{"drift_start example.com. 192.0.2.1:53",
                                                 "drift_end example.com. 192.0.2.1:53",
                                                 "drift_end example.com. 192.0.2.1:53"}));
}

TEST(AlertBody, JsonAndText) {
    Alert a{"drift_start",
            "example.com.",
            "192.0.2.1:53",
            "behind by 2 serials",
            std::chrono::system_clock::from_time_t(1'800'000'000),
            {{"in_sync", false}}};
    const auto json = nlohmann::json::parse(alert_body(a, "json"));
    EXPECT_EQ(json["event"], "drift_start");
    EXPECT_EQ(json["zone"], "example.com.");
    EXPECT_EQ(json["subject"], "192.0.2.1:53");
    EXPECT_EQ(json["summary"], "behind by 2 serials");
    EXPECT_EQ(json["time"], "2027-01-15T08:00:00.000Z");
    EXPECT_EQ(json["in_sync"], false);
    EXPECT_EQ(nlohmann::json::parse(alert_body(a, "text")),
              (nlohmann::json{
                  {"text", "headwater: drift_start zone example.com. 192.0.2.1:53: behind by 2 serials"}}));
}

}  // namespace
}  // namespace headwater::server
