// NOTIFY out (RFC 1996) with a fixed clock and predictable IDs: coalescing, retries and backoff, the
// matching rules for answers, error answers, TSIG both ways, and notify_now.
#include "xfr/NotifyTracker.h"

#include <gtest/gtest.h>

#include "tsig/ServerSequence.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using dns::Rcode;
using dns::RRType;

constexpr uint64_t kUnix = 1'700'000'000;
const Clock::time_point kT0 = Clock::time_point() + 1000h;

dns::Name name(std::string_view t) {
    return dns::Name::from_text(t).value();
}
dns::Endpoint ep(std::string_view t) {
    return dns::Endpoint::parse(t, 53).value();
}

// An uncompressed SOA record for example.com. with `serial`.
std::vector<uint8_t> soa_record(uint32_t serial) {
    std::vector<uint8_t> out;
    const auto owner = name("example.com.");
    out.insert(out.end(), owner.wire().begin(), owner.wire().end());
    std::vector<uint8_t> rdata;
    for (auto n : {name("ns1.example.com."), name("hostmaster.example.com.")})
        rdata.insert(rdata.end(), n.wire().begin(), n.wire().end());
    for (uint32_t v : {serial, 3600u, 600u, 86400u, 300u})
        for (int s = 24; s >= 0; s -= 8) rdata.push_back(static_cast<uint8_t>(v >> s));
    for (uint16_t v : {uint16_t{6}, uint16_t{1}}) {
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    }
    for (uint32_t v : {3600u}) {
        for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
    }
    out.push_back(static_cast<uint8_t>(rdata.size() >> 8));
    out.push_back(static_cast<uint8_t>(rdata.size()));
    out.insert(out.end(), rdata.begin(), rdata.end());
    return out;
}

// The serial in the SOA hint of a NOTIFY.
uint32_t hinted_serial(const std::vector<uint8_t>& wire) {
    const auto parsed = dns::Message::parse(wire);
    if (!parsed) return 0;
    for (const auto& r : parsed.value().records()) {
        if (r.type != RRType::SOA) continue;
        // The names may be compressed; the five counters are the last 20 octets.
        const auto rd = r.rdata;
        const std::size_t off = rd.size() - 20;
        return uint32_t{rd[off]} << 24 | uint32_t{rd[off + 1]} << 16 | uint32_t{rd[off + 2]} << 8 |
               rd[off + 3];
    }
    return 0;
}

uint16_t id_of(const std::vector<uint8_t>& wire) {
    return static_cast<uint16_t>(wire[0] << 8 | wire[1]);
}

// An answer to a NOTIFY: flags QR|AA, opcode NOTIFY unless overridden, the given question.
std::vector<uint8_t> answer(uint16_t id, Rcode rcode = Rcode::NoError,
                            std::string_view qname = "example.com.", RRType qtype = RRType::SOA,
                            dns::Opcode opcode = dns::Opcode::Notify, bool qr = true) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, 512);
    mb.header(id, static_cast<uint16_t>((qr ? dns::flag::QR : 0) | dns::flag::AA |
                                        (static_cast<uint16_t>(opcode) << 11)));
    mb.set_rcode(rcode);
    mb.question(name(qname), dns::to_u16(qtype), 1);
    mb.finish();
    return buf;
}

class NotifyTrackerTest : public ::testing::Test {
  protected:
    NotifyTracker make(std::vector<NotifyTarget> targets, NotifyOptions options = {}) {
        return NotifyTracker(name("example.com."), std::move(targets), options,
                             [this] { return next_id_++; });
    }
    static std::vector<NotifyTarget> two_targets() {
        return {NotifyTarget{ep("127.0.0.1:5301"), nullptr, std::nullopt},
                NotifyTarget{ep("[::1]:5302"), nullptr, std::nullopt}};
    }
    uint16_t next_id_ = 100;
};

TEST_F(NotifyTrackerTest, FirstSendAfterTheCoalescingDelay) {
    auto t = make(two_targets());
    EXPECT_FALSE(t.next_wakeup());
    EXPECT_EQ(t.state(0).status, NotifyStatus::Idle);
    const auto soa = soa_record(2024010101);
    t.zone_changed(dns::Serial(2024010101), soa, kT0);
    EXPECT_EQ(t.next_wakeup(), kT0 + 250ms);
    EXPECT_TRUE(t.state(0).pending());
    EXPECT_TRUE(t.due(kT0 + 249ms, kUnix).empty());

    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].target, 0u);
    EXPECT_EQ(out[1].target, 1u);
    EXPECT_EQ(out[0].attempt, 1u);
    EXPECT_EQ(id_of(out[0].wire), 100);
    EXPECT_EQ(id_of(out[1].wire), 101);

    // RFC 1996 §3.7: opcode NOTIFY, AA, question (zone, SOA, IN), SOA as a hint in the answer.
    auto m = dns::Message::parse(out[0].wire).value();
    EXPECT_EQ(m.header().opcode(), dns::Opcode::Notify);
    EXPECT_FALSE(m.header().qr());
    EXPECT_TRUE(m.header().flags & dns::flag::AA);
    ASSERT_TRUE(m.question());
    EXPECT_EQ(m.question()->qname.to_string(), "example.com.");
    EXPECT_EQ(m.question()->qtype, RRType::SOA);
    EXPECT_EQ(m.question()->qclass, 1);
    EXPECT_EQ(m.header().ancount, 1);
    EXPECT_EQ(hinted_serial(out[0].wire), 2024010101u);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Sending);
    EXPECT_EQ(t.state(0).tries, 1u);
    EXPECT_EQ(t.state(0).serial, dns::Serial(2024010101));
}

TEST_F(NotifyTrackerTest, BurstSendsOnlyTheNewestSerialOnce) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(1), soa_record(1), kT0);
    t.zone_changed(dns::Serial(2), soa_record(2), kT0 + 100ms);
    t.zone_changed(dns::Serial(3), soa_record(3), kT0 + 200ms);
    // The window starts with the first change: a stream of reloads is not postponed forever.
    EXPECT_EQ(t.next_wakeup(), kT0 + 250ms);
    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& o : out) {
        EXPECT_EQ(o.serial, dns::Serial(3));
        EXPECT_EQ(hinted_serial(o.wire), 3u);
    }
    EXPECT_TRUE(t.due(kT0 + 260ms, kUnix).empty());
}

TEST_F(NotifyTrackerTest, ChangeDuringRetriesReplacesTheOlderSerial) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(1), soa_record(1), kT0);
    auto first = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(first.size(), 2u);
    t.zone_changed(dns::Serial(2), soa_record(2), kT0 + 1s);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Scheduled);
    EXPECT_EQ(t.state(0).tries, 0u);
    EXPECT_EQ(t.next_wakeup(), kT0 + 1250ms);
    // An answer to serial 1's try no longer counts.
    EXPECT_EQ(t.on_response(answer(id_of(first[0].wire)), ep("127.0.0.1:5301"), kT0 + 1100ms, kUnix),
              NotifyTracker::Match::NotMatched);
    auto out = t.due(kT0 + 1250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].serial, dns::Serial(2));
    EXPECT_EQ(out[0].attempt, 1u);
}

TEST_F(NotifyTrackerTest, RetriesBackOffThenFail) {
    NotifyOptions o;
    o.retries = 5;
    o.retry_interval = 2s;
    o.max_interval = 30s;
    o.delay = 0ms;
    auto t = make({NotifyTarget{ep("127.0.0.1:5301"), nullptr, std::nullopt}}, o);
    t.zone_changed(dns::Serial(7), soa_record(7), kT0);
    auto now = kT0;
    // Waits after tries 1..6: 2, 4, 8, 16, 30 (capped), 30 s.
    const std::chrono::seconds waits[] = {2s, 4s, 8s, 16s, 30s, 30s};
    std::vector<uint16_t> ids;
    for (unsigned attempt = 1; attempt <= 6; ++attempt) {
        auto out = t.due(now, kUnix);
        ASSERT_EQ(out.size(), 1u) << "attempt " << attempt;
        EXPECT_EQ(out[0].attempt, attempt);
        ids.push_back(id_of(out[0].wire));
        EXPECT_EQ(t.state(0).tries, attempt);
        EXPECT_EQ(t.next_wakeup(), now + waits[attempt - 1]);
        EXPECT_TRUE(t.due(now + waits[attempt - 1] - 1ms, kUnix).empty());
        now += waits[attempt - 1];
    }
    // A fresh ID for every try.
    EXPECT_EQ(ids, (std::vector<uint16_t>{100, 101, 102, 103, 104, 105}));
    EXPECT_TRUE(t.due(now, kUnix).empty());
    EXPECT_EQ(t.state(0).status, NotifyStatus::Failed);
    EXPECT_EQ(t.state(0).last_error, "no answer after 6 tries");
    EXPECT_EQ(t.state(0).last_error_unix, kUnix);
    EXPECT_FALSE(t.state(0).pending());
    EXPECT_FALSE(t.next_wakeup());
    auto outcomes = t.take_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_FALSE(outcomes[0].acknowledged);
    EXPECT_EQ(outcomes[0].tries, 6u);
    EXPECT_EQ(outcomes[0].serial, dns::Serial(7));
    EXPECT_TRUE(t.take_outcomes().empty());

    // A very late answer to one of the tries still records the acknowledgement.
    EXPECT_EQ(t.on_response(answer(ids[2]), ep("127.0.0.1:5301"), now + 1s, kUnix + 100),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Acknowledged);
    EXPECT_TRUE(t.state(0).last_error.empty());
}

TEST_F(NotifyTrackerTest, ZeroRetriesMeansOneTry) {
    NotifyOptions o;
    o.retries = 0;
    o.delay = 0ms;
    auto t = make({NotifyTarget{ep("127.0.0.1:5301"), nullptr, std::nullopt}}, o);
    t.zone_changed(dns::Serial(7), soa_record(7), kT0);
    EXPECT_EQ(t.due(kT0, kUnix).size(), 1u);
    EXPECT_TRUE(t.due(kT0 + 2s, kUnix).empty());
    EXPECT_EQ(t.state(0).last_error, "no answer after 1 tries");
}

TEST_F(NotifyTrackerTest, NoErrorAcknowledgesAndStopsRetries) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(t.on_response(answer(id_of(out[0].wire)), ep("127.0.0.1:5301"), kT0 + 300ms, kUnix + 1),
              NotifyTracker::Match::Matched);
    const auto& s = t.state(0);
    EXPECT_EQ(s.status, NotifyStatus::Acknowledged);
    EXPECT_EQ(s.acknowledged_serial, dns::Serial(5));
    EXPECT_EQ(s.acknowledged_at, kT0 + 300ms);
    EXPECT_EQ(s.acknowledged_unix, kUnix + 1);
    EXPECT_FALSE(s.pending());
    // Only the other target retries.
    auto retry = t.due(kT0 + 250ms + 2s, kUnix);
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_EQ(retry[0].target, 1u);
    // A late answer to the first try of the same serial is accepted (the content is the same).
    EXPECT_EQ(t.on_response(answer(id_of(out[1].wire)), ep("[::1]:5302"), kT0 + 3s, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(1).status, NotifyStatus::Acknowledged);
    EXPECT_FALSE(t.next_wakeup());
    auto outcomes = t.take_outcomes();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].acknowledged);
    EXPECT_EQ(outcomes[1].tries, 2u);
}

TEST_F(NotifyTrackerTest, AWithheldTargetNeitherRetriesNorFails) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    // Lab mode held the first target's NOTIFY back: it is idle at once, with the reason, not failed.
    t.withhold(0, "lab: no-notify: not sent", kUnix);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Withheld);
    EXPECT_EQ(t.state(0).last_error, "lab: no-notify: not sent");
    EXPECT_FALSE(t.state(0).pending());
    EXPECT_EQ(t.in_flight(), 1u);
    // Only the other target retries; the withheld one never gives up, and an answer to its try (sent
    // before the fault was set) no longer counts.
    auto retry = t.due(kT0 + 250ms + 2s, kUnix);
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_EQ(retry[0].target, 1u);
    EXPECT_EQ(t.on_response(answer(id_of(out[0].wire)), ep("127.0.0.1:5301"), kT0 + 3s, kUnix),
              NotifyTracker::Match::NotMatched);
    for (auto& o : t.take_outcomes()) EXPECT_EQ(o.target, 1u);
    // The next serial goes to it again.
    t.zone_changed(dns::Serial(6), soa_record(6), kT0 + 10s);
    auto next = t.due(kT0 + 10s + 250ms, kUnix);
    ASSERT_EQ(next.size(), 2u);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Sending);
}

TEST_F(NotifyTrackerTest, AnswersThatDoNotMatchAreIgnored) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    const uint16_t id = id_of(out[0].wire);
    const auto from = ep("127.0.0.1:5301");
    using M = NotifyTracker::Match;
    EXPECT_EQ(t.on_response(answer(id + 7), from, kT0, kUnix), M::NotMatched);  // wrong ID
    EXPECT_EQ(t.on_response(answer(id_of(out[1].wire)), from, kT0, kUnix),
              M::NotMatched);  // other target's ID
    EXPECT_EQ(t.on_response(answer(id, Rcode::NoError, "example.net."), from, kT0, kUnix), M::NotMatched);
    EXPECT_EQ(t.on_response(answer(id, Rcode::NoError, "example.com.", RRType::A), from, kT0, kUnix),
              M::NotMatched);
    EXPECT_EQ(t.on_response(answer(id, Rcode::NoError, "example.com.", RRType::SOA, dns::Opcode::Query), from,
                            kT0, kUnix),
              M::NotMatched);
    EXPECT_EQ(
        t.on_response(answer(id, Rcode::NoError, "example.com.", RRType::SOA, dns::Opcode::Notify, false),
                      from, kT0, kUnix),
        M::NotMatched);                                                                     // QR clear
    EXPECT_EQ(t.on_response(answer(id), ep("127.0.0.2:5301"), kT0, kUnix), M::NotMatched);  // wrong address
    EXPECT_EQ(t.on_response(answer(id), ep("127.0.0.1:5399"), kT0, kUnix), M::NotMatched);  // wrong port
    const std::vector<uint8_t> garbage = {1, 2, 3};
    EXPECT_EQ(t.on_response(garbage, from, kT0, kUnix), M::NotMatched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Sending);
    EXPECT_TRUE(t.take_outcomes().empty());

    // The name compares case-insensitively (RFC 4343) and a v4-mapped sender is the same peer.
    EXPECT_EQ(
        t.on_response(answer(id, Rcode::NoError, "EXAMPLE.com."), ep("[::ffff:127.0.0.1]:5301"), kT0, kUnix),
        M::Matched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Acknowledged);
}

TEST_F(NotifyTrackerTest, NotImpAndRefusedStopWithTheError) {
    auto t = make(two_targets());
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    EXPECT_EQ(t.on_response(answer(id_of(out[0].wire), Rcode::NotImp), ep("127.0.0.1:5301"), kT0, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.on_response(answer(id_of(out[1].wire), Rcode::Refused), ep("[::1]:5302"), kT0, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Failed);
    EXPECT_EQ(t.state(0).last_error, dns::to_string(Rcode::NotImp));
    EXPECT_EQ(t.state(1).last_error, dns::to_string(Rcode::Refused));
    EXPECT_FALSE(t.state(1).acknowledged_at);
    EXPECT_FALSE(t.next_wakeup());
    EXPECT_TRUE(t.due(kT0 + 1h, kUnix).empty());
    EXPECT_EQ(t.take_outcomes().size(), 2u);
}

TEST_F(NotifyTrackerTest, NotifyNowSendsImmediately) {
    auto t = make(two_targets());
    EXPECT_FALSE(t.notify_now(2, dns::Serial(9), kT0));
    const auto soa = soa_record(9);
    EXPECT_TRUE(t.notify_now(1, dns::Serial(9), kT0, std::span<const uint8_t>(soa)));
    EXPECT_EQ(t.next_wakeup(), kT0);
    auto out = t.due(kT0, kUnix);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].target, 1u);
    EXPECT_EQ(hinted_serial(out[0].wire), 9u);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Idle);

    // All targets, restarting the count of a target that was acknowledged.
    ASSERT_TRUE(t.on_response(answer(id_of(out[0].wire)), ep("[::1]:5302"), kT0, kUnix) ==
                NotifyTracker::Match::Matched);
    EXPECT_TRUE(t.notify_now(std::nullopt, dns::Serial(9), kT0 + 5s));
    auto again = t.due(kT0 + 5s, kUnix);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(t.state(1).tries, 1u);
    EXPECT_EQ(t.state(1).acknowledged_serial, dns::Serial(9));  // kept until a new conclusion
}

// ---- TSIG ----

std::vector<uint8_t> secret() {
    return std::vector<uint8_t>(32, 0x42);
}

class NotifyTsigTest : public NotifyTrackerTest {
  protected:
    void SetUp() override {
        ASSERT_TRUE(keys_.add(tsig::Key(name("xfr-key."), tsig::Algorithm::HmacSha256, secret())));
        key_ = keys_.find(name("xfr-key."));
    }
    // The secondary's side: verify the NOTIFY and sign an answer with `rcode`.
    std::vector<uint8_t> signed_answer(const std::vector<uint8_t>& request, Rcode rcode = Rcode::NoError) {
        auto parsed = dns::Message::parse(request).value();
        auto v = tsig::verify_request(request, parsed, keys_, kUnix);
        EXPECT_EQ(v.status, tsig::RequestStatus::Verified) << v.reason;
        auto a = answer(id_of(request), rcode);
        if (v.signer) v.signer->sign(a, 0, kUnix);
        return a;
    }
    tsig::KeyStore keys_;
    std::shared_ptr<const tsig::Key> key_;
};

TEST_F(NotifyTsigTest, SignedNotifyVerifiesAndASignedAnswerIsAccepted) {
    auto t = make({NotifyTarget{ep("127.0.0.1:5301"), key_, dns::IpAddress::parse("127.0.0.1")}});
    EXPECT_EQ(t.state(0).key_name, "xfr-key.");
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 1u);
    auto parsed = dns::Message::parse(out[0].wire).value();
    ASSERT_NE(parsed.tsig(), nullptr);
    EXPECT_EQ(hinted_serial(out[0].wire), 5u);
    EXPECT_EQ(t.on_response(signed_answer(out[0].wire), ep("127.0.0.1:5301"), kT0 + 1s, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Acknowledged);
}

TEST_F(NotifyTsigTest, UnsignedOrBadlySignedAnswerIsATsigError) {
    auto t = make({NotifyTarget{ep("127.0.0.1:5301"), key_, std::nullopt},
                   NotifyTarget{ep("127.0.0.1:5302"), key_, std::nullopt}});
    t.zone_changed(dns::Serial(5), soa_record(5), kT0);
    auto out = t.due(kT0 + 250ms, kUnix);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(t.on_response(answer(id_of(out[0].wire)), ep("127.0.0.1:5301"), kT0, kUnix),
              NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(0).status, NotifyStatus::Failed);
    EXPECT_TRUE(t.state(0).last_error.starts_with("TSIG: ")) << t.state(0).last_error;

    auto bad = signed_answer(out[1].wire);
    bad[bad.size() - 10] ^= 0xff;  // inside the MAC
    EXPECT_EQ(t.on_response(bad, ep("127.0.0.1:5302"), kT0, kUnix), NotifyTracker::Match::Matched);
    EXPECT_EQ(t.state(1).status, NotifyStatus::Failed);
    EXPECT_TRUE(t.state(1).last_error.starts_with("TSIG: ")) << t.state(1).last_error;
    EXPECT_FALSE(t.next_wakeup());
}

// Lab mode (notify-serial): the SOA hint carries the fault's serial, and the conclusion says so, beside
// the serial actually served (the report must show what the secondary was told).
TEST_F(NotifyTrackerTest, ASerialFaultIsInTheHintAndInTheOutcome) {
    auto t = make(two_targets());
    t.set_serial_fault([](std::size_t target) -> std::optional<uint32_t> {
        return target == 1 ? std::optional<uint32_t>(1) : std::nullopt;
    });
    const auto soa = soa_record(9);
    EXPECT_TRUE(t.notify_now(std::nullopt, dns::Serial(9), kT0, std::span<const uint8_t>(soa)));
    auto out = t.due(kT0, kUnix);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& o : out) {
        EXPECT_EQ(hinted_serial(o.wire), o.target == 1 ? 1u : 9u);
        ASSERT_TRUE(t.on_response(answer(id_of(o.wire)),
                                  o.target == 1 ? ep("[::1]:5302") : ep("127.0.0.1:5301"), kT0,
                                  kUnix) == NotifyTracker::Match::Matched);
    }
    auto outcomes = t.take_outcomes();
    ASSERT_EQ(outcomes.size(), 2u);
    for (const auto& o : outcomes) {
        EXPECT_TRUE(o.acknowledged);
        EXPECT_EQ(o.serial, dns::Serial(9));
        EXPECT_EQ(o.hint_serial, o.target == 1 ? std::optional<uint32_t>(1) : std::nullopt);
    }
}

}  // namespace
}  // namespace headwater::xfr
