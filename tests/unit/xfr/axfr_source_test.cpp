#include "xfr/AxfrSource.h"

#include <gtest/gtest.h>

#include "test_zone.h"

using namespace headwater;
using dns::RRType;
using headwater::testing::name;

namespace {

std::string zone_text(int records) {
    std::string t =
        "$TTL 300\n@ IN SOA ns1 hostmaster 42 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    for (int i = 0; i < records; ++i)
        t += "host" + std::to_string(i) + " IN TXT \"" + std::string(100, static_cast<char>('a' + i % 26)) +
             "\"\n";
    return t;
}

struct Drained {
    std::vector<std::vector<uint8_t>> messages;
};

Drained drain(xfr::AxfrSource& src, std::size_t reserve = 0) {
    Drained d;
    for (int guard = 0; guard < 10000; ++guard) {
        std::vector<uint8_t> out;
        const auto step = src.next(out, reserve);
        d.messages.push_back(std::move(out));
        if (step == xfr::Step::Done) return d;
    }
    ADD_FAILURE() << "transfer never finished";
    return d;
}

}  // namespace

TEST(AxfrSource, SmallZoneIsOneMessageFramedBySoa) {
    auto v = headwater::testing::build_zone(zone_text(3), "example.com.");
    xfr::AxfrSource src(v, dns::Question{name("Example.COM."), RRType::AXFR, 1}, 77);
    auto d = drain(src);
    ASSERT_EQ(d.messages.size(), 1u);
    auto m = dns::Message::parse(d.messages[0]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().id, 77);
    EXPECT_TRUE(m->header().flags & dns::flag::AA);
    ASSERT_TRUE(m->question());
    EXPECT_EQ(m->question()->qname.to_string(), "Example.COM.");
    const auto& recs = m->records();
    ASSERT_EQ(recs.size(), v->size() + 1);  // every record once, the SOA twice
    EXPECT_EQ(recs.front().type, RRType::SOA);
    EXPECT_EQ(recs.back().type, RRType::SOA);
    for (std::size_t i = 1; i + 1 < recs.size(); ++i) EXPECT_NE(recs[i].type, RRType::SOA);
    EXPECT_EQ(src.records(), recs.size());
}

TEST(AxfrSource, LargeZoneSpansMessagesWithinLimits) {
    const int n = 3000;  // ~350 KB of TXT
    auto v = headwater::testing::build_zone(zone_text(n), "example.com.");
    xfr::AxfrSource src(v, dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    auto d = drain(src, 100);
    ASSERT_GT(d.messages.size(), 4u);
    std::size_t total = 0;
    for (std::size_t i = 0; i < d.messages.size(); ++i) {
        const auto& w = d.messages[i];
        EXPECT_LE(w.size() + 100, dns::kMaxTcpMessage);  // the reserve is respected
        auto m = dns::Message::parse(w);
        ASSERT_TRUE(m) << "message " << i;
        // RFC 5936 §2.2.1: the question only in the first message here.
        EXPECT_EQ(m->question().has_value(), i == 0);
        EXPECT_GT(m->records().size(), 0u);
        if (i == 0) {
            EXPECT_EQ(m->records().front().type, RRType::SOA);
        }
        if (i + 1 == d.messages.size()) {
            EXPECT_EQ(m->records().back().type, RRType::SOA);
        }
        total += m->records().size();
    }
    EXPECT_EQ(total, v->size() + 1);
    EXPECT_EQ(src.messages(), d.messages.size());
}

TEST(AxfrSource, SnapshotSurvivesTheZoneMovingOn) {
    auto z = headwater::testing::make_zone(zone_text(10), "example.com.");
    xfr::AxfrSource src(z->current(), dns::Question{name("example.com."), RRType::AXFR, 1}, 1);
    // A reload swaps in a new version while the transfer is in flight.
    z->install(headwater::testing::build_zone(zone_text(1), "example.com."), zone::Clock::time_point());
    auto d = drain(src);
    auto m = dns::Message::parse(d.messages.back());
    ASSERT_TRUE(m);
    EXPECT_EQ(m->records().size(), 3u + 10u + 1u);
}
