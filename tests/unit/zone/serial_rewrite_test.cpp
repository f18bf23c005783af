#include "zone/SerialRewrite.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "zone/Zone.h"

using namespace headwater;

namespace {
std::string rewrite(std::string_view text, std::size_t line, uint32_t serial) {
    auto r = zone::rewrite_soa_serial_text(text, line, dns::Serial(serial));
    EXPECT_TRUE(r) << r.error();
    return r ? *r : std::string();
}
}  // namespace

TEST(SerialRewrite, OnlyTheSerialTokenChanges) {
    EXPECT_EQ(rewrite("@ IN SOA ns1 host 5 3600 900 86400 60\n", 1, 6),
              "@ IN SOA ns1 host 6 3600 900 86400 60\n");
    EXPECT_EQ(
        rewrite("$TTL 300\nexample.com. 300 IN soa ns1.example.com. h.example.com. 2024010101 1 2 3 4\n", 2,
                2024010102),
        "$TTL 300\nexample.com. 300 IN soa ns1.example.com. h.example.com. 2024010102 1 2 3 4\n");
    const std::string multi =
        "; head\n"
        "@   IN  SOA ns1 hostmaster ( ; the SOA\n"
        "        2026112601 ; serial\n"
        "        3600 ) \n";
    EXPECT_EQ(
        rewrite(multi, 2, 2026112602),
        "; head\n@   IN  SOA ns1 hostmaster ( ; the SOA\n        2026112602 ; serial\n        3600 ) \n");
    // Names in the RDATA on their own lines, and a shorter serial.
    EXPECT_EQ(rewrite("@ SOA (\n ns1\n host\n 100 1 2 3 4 )\n", 1, 99),
              "@ SOA (\n ns1\n host\n 99 1 2 3 4 )\n");
}

TEST(SerialRewrite, RefusesWhatItCannotRewriteSafely) {
    EXPECT_FALSE(zone::rewrite_soa_serial_text("@ IN SOA ns1 host $SERIAL 1 2 3 4\n", 1, dns::Serial(5)));
    EXPECT_FALSE(zone::rewrite_soa_serial_text("@ IN A 192.0.2.1\n", 1, dns::Serial(5)));
    EXPECT_FALSE(zone::rewrite_soa_serial_text("@ IN SOA ns1 host 5 1 2 3 4\n", 4, dns::Serial(5)));
}

TEST(ZoneBump, ServesJournalsAndRewritesTheFile) {
    const auto dir = std::filesystem::temp_directory_path() / ("hw-bump-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "example.com.zone";
    std::ofstream(file) << "$TTL 300\n@ IN SOA ns1 hostmaster (\n   41 ; serial\n   3600 900 86400 60 )\n"
                           "@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    const auto t0 = zone::Clock::time_point(std::chrono::seconds(1'800'000'000));
    zone::Zone z({dns::Name::from_text("example.com.").value(), file, dir / "state"});
    ASSERT_EQ(z.open(t0).outcome, zone::ReloadOutcome::Updated);

    auto r = z.bump(t0, std::nullopt, std::nullopt);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(r.old_serial->value(), 41u);
    EXPECT_EQ(z.current()->serial().value(), 42u);
    EXPECT_TRUE(r.note.empty()) << r.note;
    ASSERT_EQ(z.journal()->entries().size(), 1u);
    EXPECT_EQ(z.journal()->entries()[0].removed, 0u);  // SOA-only
    std::stringstream text;
    text << std::ifstream(file).rdbuf();
    EXPECT_NE(text.str().find("   42 ; serial"), std::string::npos) << text.str();
    // The file and the served version agree: a reload changes nothing.
    EXPECT_EQ(z.reload(t0).outcome, zone::ReloadOutcome::Unchanged);

    r = z.bump(t0, std::nullopt, dns::Serial(100));
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 100u);
    r = z.bump(t0, std::nullopt, dns::Serial(50));  // not newer
    EXPECT_EQ(r.outcome, zone::ReloadOutcome::Error);
    EXPECT_EQ(z.current()->serial().value(), 100u);
    r = z.bump(t0, zone::SerialPolicy::DateSerial, std::nullopt);
    ASSERT_EQ(r.outcome, zone::ReloadOutcome::Updated) << r.error;
    EXPECT_EQ(z.current()->serial().value(), 2027011500u);  // 1.8e9 s is 2027-01-15, first change: nn = 00
    std::filesystem::remove_all(dir);
}
