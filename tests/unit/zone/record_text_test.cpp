#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "zone/MasterFile.h"

using namespace headwater;

namespace {

std::vector<uint8_t> raw(std::span<const uint8_t> owner_wire, uint16_t type, uint16_t rclass, uint32_t ttl,
                         std::vector<uint8_t> rdata) {
    std::vector<uint8_t> out(owner_wire.begin(), owner_wire.end());
    for (const uint16_t v : {type, rclass, static_cast<uint16_t>(ttl >> 16), static_cast<uint16_t>(ttl),
                             static_cast<uint16_t>(rdata.size())}) {
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    }
    out.insert(out.end(), rdata.begin(), rdata.end());
    return out;
}

// The wire form (RecordView::wire) of the single record in `line`.
std::vector<uint8_t> wire_of(std::string_view line) {
    std::vector<uint8_t> out;
    auto loaded = zone::load_master_text(line, "example.com.", [&](const zone::RawRecord& rr) {
        out = raw(rr.owner, rr.type, rr.rclass, rr.ttl, {rr.rdata.begin(), rr.rdata.end()});
        return Result<void, std::string>{};
    });
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    return out;
}

constexpr uint8_t kWww[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};

}  // namespace

TEST(RecordText, PresentationFormOnOneLine) {
    EXPECT_EQ(zone::record_to_text(wire_of("www 300 IN A 192.0.2.1")), "www.example.com. 300 IN A 192.0.2.1");
    EXPECT_EQ(zone::record_to_text(wire_of("@ 3600 IN MX 10 mail")),
              "example.com. 3600 IN MX 10 mail.example.com.");
    EXPECT_EQ(
        zone::record_to_text(wire_of("@ 3600 IN SOA ns1 hostmaster 2026112601 3600 900 1209600 300")),
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026112601 3600 900 1209600 300");
    EXPECT_EQ(zone::record_to_text(wire_of("_sip._tcp 60 IN SRV 0 5 5060 sip")),
              "_sip._tcp.example.com. 60 IN SRV 0 5 5060 sip.example.com.");
    EXPECT_EQ(zone::record_to_text(wire_of("v6 60 IN AAAA 2001:db8::1")),
              "v6.example.com. 60 IN AAAA 2001:db8::1");
}

TEST(RecordText, NamesKeepTheirCase) {
    EXPECT_EQ(zone::record_to_text(wire_of("WWW.Example.COM. 300 IN CNAME Host.Example.NET.")),
              "WWW.Example.COM. 300 IN CNAME Host.Example.NET.");
}

TEST(RecordText, TextIsQuotedAndEscaped) {
    EXPECT_EQ(zone::record_to_text(wire_of("t 300 IN TXT \"two words\" \"tab\\009here\"")),
              "t.example.com. 300 IN TXT \"two words\" \"tab\\009here\"");
}

TEST(RecordText, NoKeyComments) {
    const auto text = zone::record_to_text(
        wire_of("@ 3600 IN DNSKEY 257 3 13 "
                "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="));
    EXPECT_EQ(text.rfind("example.com. 3600 IN DNSKEY 257 3 13 ", 0), 0U) << text;
    EXPECT_EQ(text.find(';'), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
}

TEST(RecordText, UnknownTypeInGenericForm) {
    EXPECT_EQ(zone::record_to_text(wire_of("x 300 IN TYPE65280 \\# 4 0a000001")),
              "x.example.com. 300 IN TYPE65280 \\# 4 0a000001");
}

TEST(RecordText, FallsBackToGenericFormWhenLdnsCannotRead) {
    // An A record of three octets does not parse as an address.
    EXPECT_EQ(zone::record_to_text(raw(kWww, 1, 1, 300, {192, 0, 2})),
              "www.example.com. 300 IN TYPE1 \\# 3 c00002");
    // Empty RDATA.
    EXPECT_EQ(zone::record_to_text(raw(kWww, 1, 1, 300, {})), "www.example.com. 300 IN TYPE1 \\# 0");
    // Another class.
    EXPECT_EQ(zone::record_to_text(raw(kWww, 16, 3, 0, {2, 'h', 'i'})), "www.example.com. 0 CH TXT \"hi\"");
}

TEST(RecordText, NotARecordIsEmpty) {
    EXPECT_EQ(zone::record_to_text({}), "");
    auto w = raw(kWww, 1, 1, 300, {192, 0, 2, 1});
    w.pop_back();  // RDLENGTH says 4, 3 follow
    EXPECT_EQ(zone::record_to_text(w), "");
    w.push_back(1);
    w.push_back(0);  // one octet too many
    EXPECT_EQ(zone::record_to_text(w), "");
    const std::vector<uint8_t> bad_owner = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(zone::record_to_text(bad_owner), "");
}
