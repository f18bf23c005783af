#include "zone/SerialPolicy.h"

#include <gtest/gtest.h>

#include "zone/Changeset.h"
#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

using namespace headwater;
using dns::Serial;
using zone::SerialPolicy;

namespace {

uint32_t next(uint32_t current, SerialPolicy p, int64_t now = 0) {
    auto r = zone::next_serial(Serial(current), p, now);
    EXPECT_TRUE(r) << r.error();
    return r ? r->value() : 0;
}

// 2024-03-15 12:00:00 UTC
constexpr int64_t kMarch15 = 1710504000;
constexpr int64_t kDay = 86400;

}  // namespace

TEST(SerialPolicy, ParsesAndPrints) {
    EXPECT_EQ(zone::parse_serial_policy("keep"), SerialPolicy::Keep);
    EXPECT_EQ(zone::parse_serial_policy("Increment"), SerialPolicy::Increment);
    EXPECT_EQ(zone::parse_serial_policy("unixtime"), SerialPolicy::UnixTime);
    EXPECT_EQ(zone::parse_serial_policy("DATESERIAL"), SerialPolicy::DateSerial);
    EXPECT_FALSE(zone::parse_serial_policy("date"));
    EXPECT_FALSE(zone::parse_serial_policy(""));
    for (auto p :
         {SerialPolicy::Keep, SerialPolicy::Increment, SerialPolicy::UnixTime, SerialPolicy::DateSerial})
        EXPECT_EQ(zone::parse_serial_policy(zone::to_string(p)), p);
}

TEST(SerialPolicy, KeepRefuses) {
    auto r = zone::next_serial(Serial(7), SerialPolicy::Keep, kMarch15);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().rfind("serial_policy keep: ", 0), 0u) << r.error();
    EXPECT_NE(r.error().find(" 7"), std::string::npos);
}

TEST(SerialPolicy, IncrementWrapsAndSkipsZero) {
    EXPECT_EQ(next(1, SerialPolicy::Increment), 2u);
    EXPECT_EQ(next(0x7FFFFFFFu, SerialPolicy::Increment), 0x80000000u);
    EXPECT_EQ(next(0xFFFFFFFEu, SerialPolicy::Increment), 0xFFFFFFFFu);
    EXPECT_EQ(next(0xFFFFFFFFu, SerialPolicy::Increment), 1u);  // 0 skipped
    EXPECT_EQ(next(0, SerialPolicy::Increment), 1u);
    // Always newer under RFC 1982.
    for (uint32_t s : {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu})
        EXPECT_TRUE(Serial(s) < Serial(next(s, SerialPolicy::Increment)));
}

TEST(SerialPolicy, UnixTime) {
    EXPECT_EQ(next(5, SerialPolicy::UnixTime, kMarch15), static_cast<uint32_t>(kMarch15));
    // Already at or past now (several changes in a second, or a clock that went back): + 1.
    EXPECT_EQ(next(static_cast<uint32_t>(kMarch15), SerialPolicy::UnixTime, kMarch15), kMarch15 + 1);
    EXPECT_EQ(next(static_cast<uint32_t>(kMarch15) + 10, SerialPolicy::UnixTime, kMarch15), kMarch15 + 11);
    // A date-style serial (2024031500) is "newer" than the unix time as an RFC 1982 serial: + 1, never back.
    EXPECT_EQ(next(2024031500u, SerialPolicy::UnixTime, kMarch15), 2024031501u);
    // Serial far ahead on the circle (more than 2^31 away the other way): now is newer, jump is < 2^31.
    const uint32_t far = static_cast<uint32_t>(kMarch15) + 0x90000000u;
    const uint32_t n = next(far, SerialPolicy::UnixTime, kMarch15);
    EXPECT_EQ(n, static_cast<uint32_t>(kMarch15));
    EXPECT_TRUE(Serial(far) < Serial(n));
    // A clock before 1970 or at 0 falls back to + 1.
    EXPECT_EQ(next(9, SerialPolicy::UnixTime, -5), 10u);
    EXPECT_EQ(next(0xFFFFFFFFu, SerialPolicy::UnixTime, 0), 1u);
}

TEST(SerialPolicy, DateSerialCountsChangesOfTheDay) {
    EXPECT_EQ(next(1, SerialPolicy::DateSerial, kMarch15), 2024031500u);
    EXPECT_EQ(next(2024031500u, SerialPolicy::DateSerial, kMarch15), 2024031501u);
    EXPECT_EQ(next(2024031541u, SerialPolicy::DateSerial, kMarch15), 2024031542u);
    // Day rollover: yesterday's serial (any nn) gives today's 00.
    EXPECT_EQ(next(2024031417u, SerialPolicy::DateSerial, kMarch15), 2024031500u);
    EXPECT_EQ(next(2024031499u, SerialPolicy::DateSerial, kMarch15), 2024031500u);
    EXPECT_EQ(next(2024031503u, SerialPolicy::DateSerial, kMarch15 + kDay), 2024031600u);
    // Month and year boundaries, leap day.
    EXPECT_EQ(next(1, SerialPolicy::DateSerial, 1704067199), 2023123100u);  // 2023-12-31 23:59:59
    EXPECT_EQ(next(2023123105u, SerialPolicy::DateSerial, 1704067200), 2024010100u);
    EXPECT_EQ(next(1, SerialPolicy::DateSerial, 1709164800), 2024022900u);  // 2024-02-29
    EXPECT_EQ(next(1, SerialPolicy::DateSerial, 1709251200), 2024030100u);
}

TEST(SerialPolicy, DateSerialAfter99ChangesInOneDayGoesOnByOne) {
    uint32_t s = 2024031500u;
    for (int i = 0; i < 99; ++i) s = next(s, SerialPolicy::DateSerial, kMarch15);
    EXPECT_EQ(s, 2024031599u);
    // The 100th change of the day: simply + 1 (as BIND does), which borrows tomorrow's first number.
    s = next(s, SerialPolicy::DateSerial, kMarch15);
    EXPECT_EQ(s, 2024031600u);
    EXPECT_EQ(next(s, SerialPolicy::DateSerial, kMarch15), 2024031601u);
    // Tomorrow, the borrowed numbers are not reused: still + 1, never backwards.
    EXPECT_EQ(next(2024031601u, SerialPolicy::DateSerial, kMarch15 + kDay), 2024031602u);
    EXPECT_EQ(next(2024031601u, SerialPolicy::DateSerial, kMarch15 + 2 * kDay), 2024031700u);
}

TEST(SerialPolicy, DateSerialNeverGoesBackwards) {
    // A serial beyond any date (e.g. unix time style chosen by hand, or 4000000000): + 1.
    EXPECT_EQ(next(3000000000u, SerialPolicy::DateSerial, kMarch15), 3000000001u);
    EXPECT_EQ(next(0xFFFFFFFFu, SerialPolicy::DateSerial, kMarch15), 2024031500u);  // wrap: date is newer
    // A clock in the far future (year 4295+) does not fit 32 bits: + 1.
    EXPECT_EQ(next(7, SerialPolicy::DateSerial, int64_t{100000} * 365 * kDay), 8u);
    EXPECT_EQ(next(7, SerialPolicy::DateSerial, -1), 8u);
    // The old serial just below today's 00 but RFC 1982-newer than it? 2024031500 + 2^31 is "older".
    const uint32_t across = 2024031500u + 0x80000001u;  // wraps; more than 2^31 ahead = behind
    EXPECT_TRUE(Serial(across) < Serial(2024031500u));
    EXPECT_EQ(next(across, SerialPolicy::DateSerial, kMarch15), 2024031500u);
}

TEST(SerialPolicy, ExplicitSerialMustAdvance) {
    EXPECT_TRUE(zone::check_serial_advance(Serial(10), Serial(11)));
    EXPECT_TRUE(zone::check_serial_advance(Serial(10), Serial(10 + 0x7FFFFFFFu)));
    EXPECT_FALSE(zone::check_serial_advance(Serial(10), Serial(10 + 0x80000000u)));  // undefined distance
    EXPECT_FALSE(zone::check_serial_advance(Serial(10), Serial(10)));
    EXPECT_FALSE(zone::check_serial_advance(Serial(10), Serial(9)));
    EXPECT_FALSE(zone::check_serial_advance(Serial(0xFFFFFFFFu), Serial(0)));
    EXPECT_TRUE(zone::check_serial_advance(Serial(0xFFFFFFFFu), Serial(1)));
}

TEST(SerialPolicy, WithSerialChangesOnlyTheSoa) {
    zone::ZoneBuilder b(dns::Name::from_text("example.com.").value());
    auto loaded = zone::load_master_text(
        "$TTL 300\n@ IN SOA ns1 hostmaster 41 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
        "www IN A 192.0.2.2\n",
        "example.com.", [&](const zone::RawRecord& rr) {
            return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
        });
    ASSERT_TRUE(loaded);
    auto v = b.build();
    ASSERT_TRUE(v);
    auto bumped = zone::with_serial(**v, Serial(42));
    EXPECT_EQ(bumped->serial().value(), 42u);
    EXPECT_EQ(bumped->size(), (*v)->size());
    EXPECT_EQ(bumped->soa_index(), (*v)->soa_index());
    const auto d = zone::diff(**v, *bumped);
    EXPECT_TRUE(d.soa_only());
    EXPECT_EQ(d.from().value(), 41u);
    EXPECT_EQ(d.to().value(), 42u);
    auto applied = zone::apply(**v, d);
    ASSERT_TRUE(applied);
    EXPECT_TRUE((*applied)->same_content(*bumped));
}
