#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "server/Notifier.h"
#include "server/NotifierSlot.h"
#include "support/test_zone.h"

using namespace headwater;

namespace {

// A NOTIFY counts as unfinished from the moment zone_changed() is called, not only once the Notifier's
// strand has taken it up: a reconfigure that replaces the Notifier right after a reload (SIGHUP) reads
// this to hand the NOTIFY on.
TEST(Notifier, AZoneIsUnfinishedFromTheChangeUntilItsNotifyIsAnswered) {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket target(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto version = headwater::testing::build_zone(
        "$TTL 300\n@ SOA ns1 hostmaster 7 3600 900 86400 300\n@ NS ns1\n"
        "ns1 A 192.0.2.1\n",
        "example.com.");
    server::NotifyZone zone;
    zone.zone = headwater::testing::name("example.com.");
    xfr::NotifyTarget t;
    t.address =
        dns::Endpoint::parse("127.0.0.1:" + std::to_string(target.local_endpoint().port()), 53).value();
    zone.targets.push_back(t);
    zone.options.delay = std::chrono::milliseconds(0);
    server::Notifier notifier(io, {zone});
    ASSERT_TRUE(notifier.start());
    EXPECT_TRUE(notifier.unfinished_zones().empty());

    notifier.zone_changed(version->apex(), version->serial(), version->soa().wire);
    // Nothing has run on the io_context yet: the change is only queued.
    EXPECT_EQ(notifier.unfinished_zones(), std::set<std::string>{"example.com."});

    // Sent, not answered: still unfinished.
    std::array<uint8_t, 512> buf{};
    boost::asio::ip::udp::endpoint from;
    std::size_t got = 0;
    target.async_receive_from(boost::asio::buffer(buf), from,
                              [&](const boost::system::error_code& ec, std::size_t n) {
                                  ASSERT_FALSE(ec) << ec.message();
                                  got = n;
                                  io.stop();
                              });
    io.run_for(std::chrono::seconds(2));
    ASSERT_GT(got, 12u) << "no NOTIFY reached the target";
    EXPECT_EQ(notifier.unfinished_zones(), std::set<std::string>{"example.com."});
    notifier.stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
}

// A reconfigure replaces the Notifier; the old one must not stay until shutdown (one more per reconfigure,
// each with the state of every zone): it goes once the DNS thread has run its stop.
TEST(NotifierSlot, AReplacedNotifierIsReleasedOnTheDnsThread) {
    boost::asio::io_context io;
    server::NotifierSlot slot(io, 0, nullptr);
    server::NotifyZone zone;
    zone.zone = headwater::testing::name("example.com.");
    xfr::NotifyTarget t;
    t.address = dns::Endpoint::parse("127.0.0.1:9", 53).value();
    zone.targets.push_back(t);
    ASSERT_TRUE(slot.start({zone}));
    std::weak_ptr<server::Notifier> first = slot.current();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(slot.replace({zone}, {}, {}));
    EXPECT_EQ(slot.retired(), 3u);  // nothing has run on the DNS thread yet
    EXPECT_FALSE(first.expired());
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(slot.retired(), 0u);
    EXPECT_TRUE(first.expired());
    EXPECT_TRUE(slot.current());
    slot.stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
}

}  // namespace
