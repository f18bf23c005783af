// The types whose RDATA the loader reads itself because ldns reads it wrongly or not at all
// (zone/PresentationRdata.h): every name completed with $ORIGIN like in any other type, and the wire
// bytes BIND and Knot produce for the same text.
#include "zone/PresentationRdata.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zone/MasterFile.h"

#include "support/wire_name.h"

namespace headwater::zone {
namespace {

using Bytes = std::vector<uint8_t>;

struct One {
    Bytes owner;
    uint16_t type = 0;
    Bytes rdata;
    std::string error;
};

// Loads `text` under $ORIGIN rel.example. and returns its last record (or the error).
One load_last(const std::string& text) {
    One out;
    auto r = load_master_text(
        "$ORIGIN rel.example.\n$TTL 300\n" + text, "example.",
        [&](const RawRecord& rr) -> Result<void, std::string> {
            out.owner.assign(rr.owner.begin(), rr.owner.end());
            out.type = rr.type;
            out.rdata.assign(rr.rdata.begin(), rr.rdata.end());
            return {};
        },
        "test.zone");
    if (!r) out.error = r.error().to_string();
    return out;
}

Bytes wire(std::string_view name) {
    return testing::wire_name(name);
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

const Bytes kKey = {0x01, 0x03, 0x51, 0x53, 0x79, 0x86, 0xed, 0x35, 0x53, 0x3b, 0x60, 0x64,
                    0x47, 0x8e, 0xee, 0xb2, 0x7b, 0x5b, 0xd7, 0x4d, 0xae, 0x14, 0x9b, 0x6e,
                    0x81, 0xba, 0x3a, 0x05, 0x21, 0xaf, 0x82, 0xab, 0x78, 0x01};
constexpr std::string_view kKeyText = "AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==";

TEST(PresentationRdata, IpseckeyRelativeGatewayIsCompletedWithTheOrigin) {
    const One r = load_last("gw IPSECKEY 10 3 2 gw " + std::string(kKeyText) + "\n");
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.owner, wire("gw.rel.example."));
    EXPECT_EQ(r.type, 45);
    EXPECT_EQ(r.rdata, cat({{10, 3, 2}, wire("gw.rel.example."), kKey}));
}

TEST(PresentationRdata, IpseckeyAtSignIsTheOriginAndAbsoluteNamesStay) {
    EXPECT_EQ(load_last("x IPSECKEY 10 3 2 @ " + std::string(kKeyText) + "\n").rdata,
              cat({{10, 3, 2}, wire("rel.example."), kKey}));
    EXPECT_EQ(load_last("x IPSECKEY 10 3 2 Gw.Other. " + std::string(kKeyText) + "\n").rdata,
              cat({{10, 3, 2}, wire("Gw.Other."), kKey}));
}

TEST(PresentationRdata, IpseckeyOtherGatewayTypesAndAKeySplitOverTokens) {
    EXPECT_EQ(load_last("x IPSECKEY 10 0 2 . " + std::string(kKeyText) + "\n").rdata,
              cat({{10, 0, 2}, kKey}));
    EXPECT_EQ(
        load_last("x IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb 102uFJtugbo6BSGvgqt4AQ==\n").rdata,
        cat({{10, 1, 2, 192, 0, 2, 38}, kKey}));
    const One v6 = load_last("x IPSECKEY 10 2 2 2001:db8::1 " + std::string(kKeyText) + "\n");
    ASSERT_TRUE(v6.error.empty()) << v6.error;
    EXPECT_EQ(v6.rdata.size(), 3u + 16u + kKey.size());
    // No key at all (algorithm 0, RFC 4025 §2.4).
    EXPECT_EQ(load_last("x IPSECKEY 10 3 0 gw\n").rdata, cat({{10, 3, 0}, wire("gw.rel.example.")}));
}

TEST(PresentationRdata, IpseckeyErrorsNameTheProblem) {
    EXPECT_NE(load_last("x IPSECKEY 10 0 2 gw AQ==\n").error.find("type 0 is written '.'"),
              std::string::npos);
    EXPECT_NE(load_last("x IPSECKEY 10 1 2 gw AQ==\n").error.find("invalid IPv4 gateway 'gw'"),
              std::string::npos);
    EXPECT_NE(load_last("x IPSECKEY 10 7 2 gw AQ==\n").error.find("unknown gateway type 7"),
              std::string::npos);
    EXPECT_NE(load_last("x IPSECKEY 10 3 2 gw A%Q=\n").error.find("IPSECKEY public key"), std::string::npos);
    EXPECT_NE(load_last("x IPSECKEY 10 3\n").error.find("missing IPSECKEY fields"), std::string::npos);
    const std::string located = load_last("x IPSECKEY 10 3 2 gw A%Q=\n").error;
    EXPECT_EQ(located.rfind("test.zone:3: ", 0), 0u) << located;
}

TEST(PresentationRdata, NsapPtrIsADomainName) {
    // RFC 1706 §6: the RDATA is a domain name (ldns would store a character-string).
    EXPECT_EQ(load_last("x NSAP-PTR host\n").rdata, wire("host.rel.example."));
    EXPECT_EQ(load_last("x NSAP-PTR host.other.\n").rdata, wire("host.other."));
}

TEST(PresentationRdata, A6PrefixLengthSuffixAndName) {
    // RFC 2874 §3.1.1: 64 prefix bits, so 8 suffix octets, then the prefix name (relative here).
    EXPECT_EQ(load_last("x A6 64 ::1:2:3:4 prefix\n").rdata,
              cat({{64, 0, 1, 0, 2, 0, 3, 0, 4}, wire("prefix.rel.example.")}));
    // Length 0: the whole address and no name.
    const One full = load_last("x A6 0 2001:db8::1\n");
    ASSERT_TRUE(full.error.empty()) << full.error;
    EXPECT_EQ(full.rdata.size(), 17u);
    // Length 128: no suffix, only the name.
    EXPECT_EQ(load_last("x A6 128 prefix.other.\n").rdata, cat({{128}, wire("prefix.other.")}));
    // A prefix of 60 bits keeps 9 octets; the 4 pad bits of the first must be zero.
    EXPECT_EQ(load_last("x A6 60 ::f:0:0:0:1 p\n").rdata,
              cat({{60, 0x0f, 0, 0, 0, 0, 0, 0, 0, 1}, wire("p.rel.example.")}));
    EXPECT_NE(load_last("x A6 60 ::f0:0:0:0:1 p\n").error.find("bits set inside the prefix"),
              std::string::npos);
    EXPECT_NE(load_last("x A6 60 ::f000:0:0:0:1 p\n").error.find("bits set inside the prefix"),
              std::string::npos);
    EXPECT_NE(load_last("x A6 129 ::1 p\n").error.find("prefix length"), std::string::npos);
    EXPECT_NE(load_last("x A6 64 ::1\n").error.find("missing A6 prefix name"), std::string::npos);
}

TEST(PresentationRdata, TalinkAndAmtrelayMnemonics) {
    EXPECT_EQ(load_last("x TALINK prev next.other.\n").rdata,
              cat({wire("prev.rel.example."), wire("next.other.")}));
    EXPECT_EQ(load_last("x TALINK prev next\n").type, 58);
    // RFC 8777 §4.3 examples: D-bit and type share an octet.
    EXPECT_EQ(load_last("x AMTRELAY 10 0 0 .\n").rdata, (Bytes{10, 0}));
    EXPECT_EQ(load_last("x AMTRELAY 10 1 1 203.0.113.15\n").rdata, (Bytes{10, 0x81, 203, 0, 113, 15}));
    EXPECT_EQ(load_last("x AMTRELAY 128 0 3 amtrelays\n").rdata,
              cat({{128, 3}, wire("amtrelays.rel.example.")}));
    EXPECT_EQ(load_last("x amtrelay 10 0 0 .\n").type, 260);
    EXPECT_NE(load_last("x AMTRELAY 10 2 0 .\n").error.find("D-bit"), std::string::npos);
}

TEST(PresentationRdata, GenericFormKeepsEveryOctet) {
    // RFC 3597 §5: the octets as given, for any type (ldns would re-read them as its fields of the type).
    const Bytes host = wire("host.example.");
    std::string hex;
    for (const uint8_t b : host) {
        static constexpr char kHex[] = "0123456789abcdef";
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
    }
    EXPECT_EQ(load_last("x NSAP-PTR \\# " + std::to_string(host.size()) + " " + hex + "\n").rdata, host);
    EXPECT_EQ(load_last("x TYPE40 \\# 3 010000\n").rdata, (Bytes{1, 0, 0}));  // SINK
    EXPECT_EQ(load_last("x TYPE45 \\# 4 0a00 0200\n").rdata, (Bytes{10, 0, 2, 0}));
    EXPECT_EQ(load_last("x TYPE65534 \\# 0\n").rdata, Bytes{});
}

TEST(PresentationRdata, GenericFormOfAKnownTypeMustBeValid) {
    EXPECT_NE(load_last("x A \\# 3 c00002\n").error.find("must be 4 octets"), std::string::npos);
    // An MX whose name runs past the RDATA, and one with a compression pointer.
    EXPECT_NE(load_last("x MX \\# 4 000a0361\n").error.find("not a valid MX"), std::string::npos);
    EXPECT_NE(load_last("x MX \\# 4 000ac00c\n").error.find("not a valid MX"), std::string::npos);
    EXPECT_NE(load_last("x TYPE1 \\# 4 c00002\n").error.find("length 4 but 3 octets"), std::string::npos);
    EXPECT_NE(load_last("x TYPE1 \\# 4 c000020\n").error.find("odd number of hex digits"), std::string::npos);
    EXPECT_NE(load_last("x TYPE1 \\# 4 c00002zz\n").error.find("invalid hex digit 'z'"), std::string::npos);
}

TEST(PresentationRdata, GenericSoaWithoutTtlTakesItsMinimum) {
    auto r = load_master_text("@ SOA \\# 22 00 00 00000001 00000e10 00000384 00093a80 0000012c\n", "example.",
                              [&](const RawRecord& rr) -> Result<void, std::string> {
                                  EXPECT_EQ(rr.ttl, 300u);
                                  return {};
                              });
    ASSERT_TRUE(r) << r.error().to_string();
}

TEST(PresentationRdata, Atma) {
    EXPECT_EQ(load_last("x ATMA 39246f00e7c9c0312000100100001234567800\n").rdata,
              (Bytes{0,    0x39, 0x24, 0x6f, 0x00, 0xe7, 0xc9, 0xc0, 0x31, 0x20,
                     0x00, 0x10, 0x01, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00}));
    EXPECT_EQ(load_last("x ATMA +358400123456\n").rdata,
              (Bytes{1, '3', '5', '8', '4', '0', '0', '1', '2', '3', '4', '5', '6'}));
    EXPECT_NE(load_last("x ATMA 39246\n").error.find("even number of hex digits"), std::string::npos);
}

TEST(PresentationRdata, OwnerIsCompletedAndReusedByTheNextLine) {
    const One r = load_last("Host IPSECKEY 10 3 2 gw\n A 192.0.2.1\n");
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.owner, wire("Host.rel.example."));
    EXPECT_EQ(r.type, 1);
}

TEST(PresentationRdata, RecordToTextUsesTheGenericFormWhereLdnsWouldMisprint) {
    const Bytes owner = wire("x.example.");
    Bytes rr = owner;
    const Bytes rdata = wire("host.example.");
    const uint8_t fixed[10] = {0, 23, 0, 1, 0, 0, 1, 44, 0, static_cast<uint8_t>(rdata.size())};
    rr.insert(rr.end(), std::begin(fixed), std::end(fixed));
    rr.insert(rr.end(), rdata.begin(), rdata.end());
    EXPECT_EQ(record_to_text(rr), "x.example. 300 IN TYPE23 \\# 14 04686f7374076578616d706c6500");
}

// IPv4 addresses are read by the loader's own dotted-quad reader where it can, by inet_pton otherwise:
// both must agree on every text, accepted or not.
TEST(ReadAddress, AgreesWithInetPtonOnIpv4) {
    const char* texts[] = {"192.0.2.1",  "0.0.0.0",  "255.255.255.255", "256.0.0.1", "1.2.3",
                           "1.2.3.4.5",  "01.2.3.4", "1.2.3.04",        "1.2.3.0",   "1..2.3",
                           "",           "1.2.3.4 ", "1.2.3.1234",      "a.b.c.d",   "1.2.3.4x",
                           "10.0.0.255", "1.2.3.-4", "999.1.1.1",       "00.1.1.1",  "1.2.3.4."};
    for (const char* text : texts) {
        std::vector<uint8_t> ours;
        const bool ok = read_address(text, false, ours);
        uint8_t addr[4];
        const bool libc = ::inet_pton(AF_INET, text, addr) == 1;
        EXPECT_EQ(ok, libc) << text;
        if (ok && libc) {
            EXPECT_EQ(ours, std::vector<uint8_t>(addr, addr + 4)) << text;
        }
    }
}

}  // namespace
}  // namespace headwater::zone
