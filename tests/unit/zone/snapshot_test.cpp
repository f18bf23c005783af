#include "zone/Snapshot.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "zone/Journal.h"  // crc32c
#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

using namespace headwater;

namespace {

zone::ZoneVersionPtr build(std::string_view text, std::string_view origin = "example.com.") {
    zone::ZoneBuilder b(dns::Name::from_text(origin).value());
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    auto v = b.build();
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : nullptr;
}

constexpr std::string_view kZone =
    "$TTL 300\n@ IN SOA ns1 hostmaster 2024010101 3600 900 86400 60\n@ IN NS ns1\n@ IN MX 10 mail\n"
    "ns1 IN A 192.0.2.53\nmail IN A 192.0.2.25\nwww IN CNAME @\n*.wild IN TXT \"w\"\nZ IN AAAA 2001:db8::1\n";

class SnapshotTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-snapshot-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        path_ = dir_ / "example.com.snapshot";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<uint8_t> read_all() const {
        std::ifstream f(path_, std::ios::binary);
        return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    }
    void write_all(const std::vector<uint8_t>& d) const {
        std::ofstream f(path_, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
    }
    static void fix_crc(std::vector<uint8_t>& d) {
        const uint32_t crc = zone::crc32c(std::span(d).first(d.size() - 4));
        for (int k = 0; k < 4; ++k)
            d[d.size() - 4 + static_cast<std::size_t>(k)] = static_cast<uint8_t>(crc >> (24 - 8 * k));
    }

    std::filesystem::path dir_;
    std::filesystem::path path_;
};

}  // namespace

TEST_F(SnapshotTest, RoundTrip) {
    auto v = build(kZone);
    ASSERT_TRUE(zone::write_snapshot(path_, *v));
    auto tmp = path_;
    tmp += ".tmp";
    EXPECT_FALSE(std::filesystem::exists(tmp));
    auto back = zone::read_snapshot(path_, dns::Name::from_text("EXAMPLE.com.").value().view());
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE((*back)->same_content(*v));
    EXPECT_EQ((*back)->serial(), v->serial());
    EXPECT_EQ((*back)->soa_index(), v->soa_index());
    EXPECT_EQ((*back)->size(), v->size());
    EXPECT_EQ((*back)->apex(), v->apex());
    // Lookups work on the loaded version.
    EXPECT_FALSE(
        (*back)->find_rrset(dns::Name::from_text("mail.example.com.").value(), dns::RRType::A).empty());
}

TEST_F(SnapshotTest, ReplacesThePreviousSnapshot) {
    auto v1 = build(kZone);
    auto v2 = build("$TTL 60\n@ IN SOA a b 9 1 1 1 1\n@ IN NS a\na IN A 192.0.2.1\n");
    ASSERT_TRUE(zone::write_snapshot(path_, *v1));
    ASSERT_TRUE(zone::write_snapshot(path_, *v2));
    auto back = zone::read_snapshot(path_);
    ASSERT_TRUE(back);
    EXPECT_TRUE((*back)->same_content(*v2));
}

TEST_F(SnapshotTest, WrongZoneOrMissingFile) {
    auto v = build(kZone);
    ASSERT_TRUE(zone::write_snapshot(path_, *v));
    auto other = zone::read_snapshot(path_, dns::Name::from_text("example.net.").value().view());
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().find("example.com."), std::string::npos);
    EXPECT_FALSE(zone::read_snapshot(dir_ / "missing"));
    EXPECT_FALSE(zone::write_snapshot(dir_ / "no-such-dir" / "x", *v));
}

TEST_F(SnapshotTest, EveryTruncationIsAnError) {
    ASSERT_TRUE(zone::write_snapshot(path_, *build(kZone)));
    const auto full = read_all();
    for (std::size_t n = 0; n < full.size(); ++n) {
        write_all(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
        EXPECT_FALSE(zone::read_snapshot(path_)) << "length " << n;
    }
    auto longer = full;
    longer.push_back(0);
    write_all(longer);
    EXPECT_FALSE(zone::read_snapshot(path_));
}

TEST_F(SnapshotTest, EveryFlippedByteIsCaughtByTheChecksum) {
    ASSERT_TRUE(zone::write_snapshot(path_, *build(kZone)));
    const auto full = read_all();
    for (std::size_t i = 0; i < full.size(); ++i) {
        auto bad = full;
        bad[i] ^= 0x04;
        write_all(bad);
        EXPECT_FALSE(zone::read_snapshot(path_)) << "byte " << i;
    }
}

// With the checksum recomputed, damage reaches the structural checks: they reject or yield a valid zone,
// and never crash or read out of bounds.
TEST_F(SnapshotTest, StructuralChecksSurviveAnyByteWithAValidChecksum) {
    auto v = build(kZone);
    ASSERT_TRUE(zone::write_snapshot(path_, *v));
    const auto full = read_all();
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < full.size() - 4; ++i) {
        for (uint8_t x : {uint8_t{0x01}, uint8_t{0x3F}, uint8_t{0x80}, uint8_t{0xFF}}) {
            auto bad = full;
            bad[i] ^= x;
            fix_crc(bad);
            write_all(bad);
            auto r = zone::read_snapshot(path_);
            if (!r) {
                ++rejected;
                continue;
            }
            // Accepted: it must be a coherent version.
            const auto& z = **r;
            EXPECT_EQ(z.soa().type, dns::RRType::SOA);
            for (std::size_t k = 0; k < z.size(); ++k)
                EXPECT_TRUE(dns::is_subdomain(z.record(k).owner, z.apex()));
        }
    }
    EXPECT_GT(rejected, full.size());
}

TEST_F(SnapshotTest, OutOfOrderRecordsAreRejected) {
    auto v = build("$TTL 300\n@ IN SOA ns1 h 1 1 1 1 1\n@ IN NS ns1\na IN A 192.0.2.1\nb IN A 192.0.2.2\n");
    ASSERT_TRUE(zone::write_snapshot(path_, *v));
    auto d = read_all();
    // Swap the owner label of "a" and "b" (both one octet long): the order breaks, the framing does not.
    std::size_t a_at = 0, b_at = 0;
    for (std::size_t i = 0; i + 2 < d.size(); ++i) {
        if (d[i] == 1 && d[i + 1] == 'a' && d[i + 2] == 7 && !a_at) a_at = i + 1;
        if (d[i] == 1 && d[i + 1] == 'b' && d[i + 2] == 7 && !b_at) b_at = i + 1;
    }
    ASSERT_TRUE(a_at && b_at);
    std::swap(d[a_at], d[b_at]);
    fix_crc(d);
    write_all(d);
    auto r = zone::read_snapshot(path_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("order"), std::string::npos) << r.error();
}
