// Tests for the master-file loader (zone/MasterFile.h): directives, presentation-format details,
// RFC 3597 generic syntax, exact wire bytes, case preservation and error locations.
#include "zone/MasterFile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support/wire_name.h"

namespace headwater::zone {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

struct Rec {
    Bytes owner;
    uint16_t type = 0;
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    Bytes rdata;
    std::string file;
    size_t line = 0;
};

struct Loaded {
    std::vector<Rec> records;
    std::optional<LoadError> error;
};

RecordSink collect(std::vector<Rec>& out) {
    return [&out](const RawRecord& r) -> Result<void, std::string> {
        out.push_back(Rec{Bytes(r.owner.begin(), r.owner.end()), r.type, r.rclass, r.ttl,
                          Bytes(r.rdata.begin(), r.rdata.end()), std::string(r.file), r.line});
        return {};
    };
}

Loaded load_text(std::string_view text, std::string_view origin = "example.com.") {
    Loaded l;
    auto r = load_master_text(text, origin, collect(l.records), "test.zone");
    if (!r) l.error = r.error();
    return l;
}

Loaded load_file(const fs::path& file, std::string_view origin = "example.com.") {
    Loaded l;
    auto r = load_master_file(file, origin, collect(l.records));
    if (!r) l.error = r.error();
    return l;
}

Bytes wire(std::string_view name) {
    return testing::wire_name(name);
}

Bytes hex(std::string_view h) {
    Bytes out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

constexpr uint16_t kA = 1, kNS = 2, kCNAME = 5, kSOA = 6, kMX = 15, kTXT = 16, kAAAA = 28, kSRV = 33,
                   kNAPTR = 35, kDS = 43, kSSHFP = 44, kRRSIG = 46, kNSEC = 47, kDNSKEY = 48, kNSEC3 = 50,
                   kNSEC3PARAM = 51, kTLSA = 52, kCDS = 59, kCDNSKEY = 60, kSVCB = 64, kHTTPS = 65,
                   kURI = 256, kCAA = 257, kLOC = 29;

// A scratch directory removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "hw-loader-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path write(const std::string& rel, std::string_view text) const {
        const fs::path p = path_ / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }

  private:
    fs::path path_;
};

// ---------------------------------------------------------------------------------------------------
// Exact wire bytes.

TEST(MasterFile, ARecordWireBytes) {
    auto l = load_text("www 3600 IN A 192.0.2.1\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 1u);
    const Rec& r = l.records[0];
    EXPECT_EQ(r.owner, hex("03777777076578616d706c6503636f6d00"));
    EXPECT_EQ(r.type, kA);
    EXPECT_EQ(r.rclass, 1);
    EXPECT_EQ(r.ttl, 3600u);
    EXPECT_EQ(r.rdata, hex("c0000201"));
    EXPECT_EQ(r.file, "test.zone");
    EXPECT_EQ(r.line, 1u);
}

TEST(MasterFile, MxWithRelativeAndAbsoluteNames) {
    auto l = load_text(
        "@ 300 IN MX 10 mail\n"
        "@ 300 IN MX 20 Backup.Example.NET.\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 2u);
    EXPECT_EQ(l.records[0].owner, wire("example.com."));
    EXPECT_EQ(l.records[0].type, kMX);
    EXPECT_EQ(l.records[0].rdata, cat({hex("000a"), wire("mail.example.com.")}));
    EXPECT_EQ(l.records[1].rdata, cat({hex("0014"), wire("Backup.Example.NET.")}));
}

TEST(MasterFile, TxtWithTwoStrings) {
    auto l = load_text("t 60 IN TXT \"hello world\" second\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 1u);
    EXPECT_EQ(l.records[0].type, kTXT);
    EXPECT_EQ(l.records[0].rdata, hex("0b68656c6c6f20776f726c64"
                                      "067365636f6e64"));
}

TEST(MasterFile, AaaaSrvSoaWireBytes) {
    auto l = load_text(
        "$TTL 1h\n"
        "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
        "v6 AAAA 2001:db8::1\n"
        "_sip._tcp SRV 0 5 5060 sip\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 3u);
    EXPECT_EQ(l.records[0].type, kSOA);
    EXPECT_EQ(l.records[0].rdata, cat({wire("ns1.example.com."), wire("hostmaster.example.com."),
                                       hex("78a3f175"
                                           "00001c20"
                                           "00000e10"
                                           "00127500"
                                           "0000012c")}));
    EXPECT_EQ(l.records[1].rdata, hex("20010db8000000000000000000000001"));
    EXPECT_EQ(l.records[2].owner, wire("_sip._tcp.example.com."));
    EXPECT_EQ(l.records[2].rdata, cat({hex("0000"
                                           "0005"
                                           "13c4"),
                                       wire("sip.example.com.")}));
}

// ---------------------------------------------------------------------------------------------------
// Names: origin, @, relative names, case, escapes.

TEST(MasterFile, OriginWithoutFinalDotIsAbsolute) {
    auto l = load_text("@ 1 IN NS ns1\n", "example.com");
    ASSERT_FALSE(l.error) << l.error->to_string();
    EXPECT_EQ(l.records[0].owner, wire("example.com."));
    EXPECT_EQ(l.records[0].rdata, wire("ns1.example.com."));
}

TEST(MasterFile, OriginDirectiveAbsoluteAndRelative) {
    auto l = load_text(
        "a 1 IN A 192.0.2.1\n"
        "$ORIGIN sub\n"  // relative: appended to the current origin
        "b 1 IN A 192.0.2.2\n"
        "@ 1 IN CNAME b\n"
        "$ORIGIN other.org.\n"
        "c 1 IN A 192.0.2.3\n"
        "d.example.com. 1 IN A 192.0.2.4\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 5u);
    EXPECT_EQ(l.records[0].owner, wire("a.example.com."));
    EXPECT_EQ(l.records[1].owner, wire("b.sub.example.com."));
    EXPECT_EQ(l.records[2].owner, wire("sub.example.com."));
    EXPECT_EQ(l.records[2].rdata, wire("b.sub.example.com."));
    EXPECT_EQ(l.records[3].owner, wire("c.other.org."));
    EXPECT_EQ(l.records[4].owner, wire("d.example.com."));
}

TEST(MasterFile, CaseIsPreservedInOwnerAndRdata) {
    auto l = load_text(
        "$ORIGIN Example.COM.\n"
        "WwW 1 IN CNAME Target.Example.NET.\n"
        "MiXeD 1 IN MX 5 MaIl\n"
        "@ 1 IN NS Ns1.eXample.com.\n",
        "example.com.");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 3u);
    EXPECT_EQ(l.records[0].owner, wire("WwW.Example.COM."));
    EXPECT_EQ(l.records[0].rdata, wire("Target.Example.NET."));
    EXPECT_EQ(l.records[1].owner, wire("MiXeD.Example.COM."));
    EXPECT_EQ(l.records[1].rdata, cat({hex("0005"), wire("MaIl.Example.COM.")}));
    EXPECT_EQ(l.records[2].owner, wire("Example.COM."));
    EXPECT_EQ(l.records[2].rdata, wire("Ns1.eXample.com."));
}

TEST(MasterFile, EscapesInNames) {
    auto l = load_text(
        "a\\032b 1 IN A 192.0.2.1\n"
        "dot\\.label 1 IN A 192.0.2.2\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 2u);
    EXPECT_EQ(l.records[0].owner, cat({hex("03612062"), wire("example.com.")}));
    EXPECT_EQ(l.records[1].owner, cat({hex("09646f742e6c6162656c"), wire("example.com.")}));
}

TEST(MasterFile, BlankOwnerRepeatsPreviousOwner) {
    auto l = load_text(
        "host 1 IN A 192.0.2.1\n"
        "     1 IN AAAA 2001:db8::1\n"
        "\t1 IN TXT x\n"
        "@ 1 IN NS ns\n"
        " 1 IN NS ns2\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 5u);
    EXPECT_EQ(l.records[1].owner, wire("host.example.com."));
    EXPECT_EQ(l.records[2].owner, wire("host.example.com."));
    EXPECT_EQ(l.records[4].owner, wire("example.com."));
}

TEST(MasterFile, BlankOwnerWithoutPreviousOwnerIsAnError) {
    auto l = load_text("\n  1 IN A 192.0.2.1\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->line, 2u);
    EXPECT_NE(l.error->message.find("no previous owner"), std::string::npos) << l.error->message;
}

// ---------------------------------------------------------------------------------------------------
// TTL and class.

TEST(MasterFile, TtlDirectiveUnitsAndDefaults) {
    auto l = load_text(
        "$TTL 1h30m\n"
        "a IN A 192.0.2.1\n"
        "b 2d IN A 192.0.2.2\n"
        "c IN A 192.0.2.3\n"  // $TTL wins over the last TTL stated (RFC 2308 §4)
        "d 1W2d3H4m5S IN A 192.0.2.4\n"
        "$ttl 42\n"
        "e A 192.0.2.5\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 5u);
    EXPECT_EQ(l.records[0].ttl, 5400u);
    EXPECT_EQ(l.records[1].ttl, 172800u);
    EXPECT_EQ(l.records[2].ttl, 5400u);
    EXPECT_EQ(l.records[3].ttl, 604800u + 2 * 86400u + 3 * 3600u + 4 * 60u + 5u);
    EXPECT_EQ(l.records[4].ttl, 42u);
}

TEST(MasterFile, WithoutTtlDirectiveLastTtlThenSoaMinimum) {
    auto l = load_text(
        "@ IN SOA ns1 hostmaster 1 2 3 4 900\n"  // no TTL anywhere yet: the SOA MINIMUM
        "a IN A 192.0.2.1\n"                     // the last TTL, from the SOA
        "b 77 IN A 192.0.2.2\n"
        "c IN A 192.0.2.3\n");  // the last TTL stated (RFC 1035 §5.1)
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 4u);
    EXPECT_EQ(l.records[0].ttl, 900u);
    EXPECT_EQ(l.records[1].ttl, 900u);
    EXPECT_EQ(l.records[2].ttl, 77u);
    EXPECT_EQ(l.records[3].ttl, 77u);
}

TEST(MasterFile, NoTtlAtAllIsAnError) {
    auto l = load_text("; first\na IN A 192.0.2.1\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->line, 2u);
    EXPECT_NE(l.error->message.find("no TTL"), std::string::npos) << l.error->message;
}

TEST(MasterFile, ClassAndTtlInEitherOrderAndClassOptional) {
    auto l = load_text(
        "a 10 IN A 192.0.2.1\n"
        "b IN 20 A 192.0.2.2\n"
        "c 30 A 192.0.2.3\n"
        "d in 40 a 192.0.2.4\n"
        "e CLASS1 50 TYPE1 192.0.2.5\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(l.records[i].rclass, 1) << i;
        EXPECT_EQ(l.records[i].type, kA) << i;
        EXPECT_EQ(l.records[i].ttl, 10u * (i + 1)) << i;
    }
}

TEST(MasterFile, OmittedClassIsTheLastClassStated) {
    auto l = load_text(
        "a 10 CH TXT x\n"
        "b 10 TXT y\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    EXPECT_EQ(l.records[0].rclass, 3);
    EXPECT_EQ(l.records[1].rclass, 3);
}

TEST(MasterFile, BadTtlDirective) {
    for (const char* text :
         {"$TTL 1h30x\n", "$TTL abc\n", "$TTL\n", "$TTL 4294967296\n", "$TTL 2147483648\n", "$TTL 1 2\n"}) {
        auto l = load_text(std::string("; comment\n") + text + "a A 192.0.2.1\n");
        ASSERT_TRUE(l.error) << text;
        EXPECT_EQ(l.error->line, 2u) << text;
        EXPECT_NE(l.error->message.find("$TTL"), std::string::npos) << l.error->message;
    }
    auto ok = load_text("$TTL 2147483647\na A 192.0.2.1\n");
    ASSERT_FALSE(ok.error) << ok.error->to_string();
    EXPECT_EQ(ok.records[0].ttl, 2147483647u);
}

TEST(MasterFile, BadRecordTtl) {
    auto l = load_text("a 12x IN A 192.0.2.1\n");
    ASSERT_TRUE(l.error);
    EXPECT_NE(l.error->message.find("invalid TTL '12x'"), std::string::npos) << l.error->message;
    auto big = load_text("a 99999999999 IN A 192.0.2.1\n");
    ASSERT_TRUE(big.error);
    EXPECT_NE(big.error->message.find("2147483647"), std::string::npos) << big.error->message;
}

// ---------------------------------------------------------------------------------------------------
// Layout: parentheses, comments, quoting.

TEST(MasterFile, ParenthesesAndCommentsAcrossLines) {
    auto l = load_text(
        "$TTL 300 ; default\n"
        "@ IN SOA ns1.example.com. hostmaster.example.com. ( ; comment after (\n"
        "        2024010101 ; serial\n"
        "        7200       ; refresh ( not a paren\n"
        "        3600 1209600\n"
        "        300 )      ; minimum\n"
        "\n"
        "; a full-line comment\n"
        "www A 192.0.2.1 ; trailing\n"
        "txt TXT ( \"one\"\n"
        "          \"two\" )\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 3u);
    EXPECT_EQ(l.records[0].line, 2u);
    EXPECT_EQ(l.records[0].rdata, cat({wire("ns1.example.com."), wire("hostmaster.example.com."),
                                       hex("78a3f175"
                                           "00001c20"
                                           "00000e10"
                                           "00127500"
                                           "0000012c")}));
    EXPECT_EQ(l.records[1].line, 9u);
    EXPECT_EQ(l.records[2].line, 10u);
    EXPECT_EQ(l.records[2].rdata, hex("036f6e65"
                                      "0374776f"));
}

TEST(MasterFile, QuotedStringsKeepSpacesSemicolonsAndParentheses) {
    auto l = load_text(
        "t 1 IN TXT \"a; b (c) d\" \"say \\\"hi\\\"\" \"back\\\\slash\" \"\\065\\066\" \"\"\n"
        "u 1 IN TXT unquoted\\;semi \\(paren\\) esc\\ space\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 2u);
    Bytes expected;
    for (std::string_view s : {"a; b (c) d", "say \"hi\"", "back\\slash", "AB", ""}) {
        expected.push_back(static_cast<uint8_t>(s.size()));
        expected.insert(expected.end(), s.begin(), s.end());
    }
    EXPECT_EQ(l.records[0].rdata, expected);
    expected.clear();
    for (std::string_view s : {"unquoted;semi", "(paren)", "esc space"}) {
        expected.push_back(static_cast<uint8_t>(s.size()));
        expected.insert(expected.end(), s.begin(), s.end());
    }
    EXPECT_EQ(l.records[1].rdata, expected);
}

TEST(MasterFile, EscapedSpaceAtEndOfLineIsKept) {
    auto l = load_text("t 1 IN TXT a\\ \nu 1 IN TXT b\\\\ \n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 2u);
    EXPECT_EQ(l.records[0].rdata, hex("026120"));  // "a "
    EXPECT_EQ(l.records[1].rdata, hex("02625c"));  // "b\\", the space is a separator
}

TEST(MasterFile, CrLfLineEndingsAndTabs) {
    auto l = load_text("$TTL 60\r\nwww\tIN\tA\t192.0.2.1\r\n\tTXT\t\"a\tb\"\r\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 2u);
    EXPECT_EQ(l.records[0].rdata, hex("c0000201"));
    EXPECT_EQ(l.records[1].rdata, hex("036109"
                                      "62"));
}

TEST(MasterFile, UnbalancedParenthesesAndQuotes) {
    auto open = load_text("$TTL 1\na TXT x\nb TXT ( \"x\"\n\"y\"\n");
    ASSERT_TRUE(open.error);
    EXPECT_EQ(open.error->line, 3u);
    EXPECT_NE(open.error->message.find("'(' not closed"), std::string::npos) << open.error->message;

    auto close = load_text("$TTL 1\na TXT x )\n");
    ASSERT_TRUE(close.error);
    EXPECT_EQ(close.error->line, 2u);

    auto quote = load_text("$TTL 1\n\na TXT \"abc\n");
    ASSERT_TRUE(quote.error);
    EXPECT_EQ(quote.error->line, 3u);
    EXPECT_NE(quote.error->message.find("quoted string"), std::string::npos) << quote.error->message;
}

// ---------------------------------------------------------------------------------------------------
// RFC 3597 generic syntax.

TEST(MasterFile, UnknownTypeGenericRoundTrip) {
    auto l = load_text(
        "u 1 CLASS1 TYPE65534 \\# 3 abcdef\n"
        "v 1 IN TYPE65280 \\# 6 ( 0102 0304\n"
        "                        0506 )\n"
        "w 1 IN TYPE65281 \\# 0\n"
        "x 1 IN A \\# 4 C0000201\n"  // a known type in generic form
        "y 1 IN TYPE1 192.0.2.9\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 5u);
    EXPECT_EQ(l.records[0].type, 65534);
    EXPECT_EQ(l.records[0].rclass, 1);
    EXPECT_EQ(l.records[0].rdata, hex("abcdef"));
    EXPECT_EQ(l.records[1].type, 65280);
    EXPECT_EQ(l.records[1].rdata, hex("010203040506"));
    EXPECT_EQ(l.records[2].type, 65281);
    EXPECT_TRUE(l.records[2].rdata.empty());
    EXPECT_EQ(l.records[3].type, kA);
    EXPECT_EQ(l.records[3].rdata, hex("c0000201"));
    EXPECT_EQ(l.records[4].rdata, hex("c0000209"));
}

TEST(MasterFile, GenericSyntaxLengthMismatchIsAnError) {
    auto l = load_text("u 1 IN TYPE65534 \\# 4 abcdef\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->line, 1u);
    auto more = load_text("u 1 IN TYPE65534 \\# 2 abcdef\n");
    ASSERT_TRUE(more.error);
}

TEST(MasterFile, UnknownTypeMnemonicClassAndMetaTypes) {
    auto l = load_text("a 1 IN FOOBAR 1\n");
    ASSERT_TRUE(l.error);
    EXPECT_NE(l.error->message.find("unknown RR type 'FOOBAR'"), std::string::npos) << l.error->message;
    for (const char* text :
         {"a 1 IN TYPE65536 \\# 0\n", "a 1 CLASS65536 A 192.0.2.1\n", "a 1 IN TYPE1x 1.2.3.4\n"}) {
        auto e = load_text(text);
        EXPECT_TRUE(e.error) << text;
    }
    for (const char* text : {"a 1 ANY A 192.0.2.1\n", "a 1 NONE A 192.0.2.1\n", "a 1 IN ANY \\# 0\n",
                             "a 1 IN AXFR \\# 0\n", "a 1 IN TYPE41 \\# 0\n", "a 1 IN TYPE0 \\# 0\n"}) {
        auto e = load_text(text);
        ASSERT_TRUE(e.error) << text;
        EXPECT_NE(e.error->message.find("not allowed in zone data"), std::string::npos) << e.error->message;
    }
}

// ---------------------------------------------------------------------------------------------------
// Record types ldns knows.

TEST(MasterFile, DnssecRecords) {
    auto l = load_text(
        "$TTL 3600\n"
        "@ DNSKEY 257 3 8 ( AwEAAcKjdm\n"
        "                   PxJdS4xBoK )\n"
        "@ RRSIG A 8 2 3600 20240101000000 20231201000000 12345 Example.com. AwEAAcKjdmPxJdS4xBoK\n"
        "@ NSEC Next.example.com. A NS SOA RRSIG NSEC DNSKEY TYPE65534\n"
        "x NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG\n"
        "@ NSEC3PARAM 1 0 12 -\n"
        "c DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n"
        "@ CDS 60485 8 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766\n"
        "@ CDNSKEY 0 3 0 AA==\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 8u);
    EXPECT_EQ(l.records[0].type, kDNSKEY);
    EXPECT_EQ(l.records[0].rdata, hex("0101"
                                      "03"
                                      "08"
                                      "03010001c2a37663f125d4b8c41a0a"));
    EXPECT_EQ(l.records[1].type, kRRSIG);
    EXPECT_EQ(l.records[1].rdata, cat({hex("0001"
                                           "08"
                                           "02"
                                           "00000e10"
                                           "65920080"
                                           "65692200"
                                           "3039"),
                                       wire("Example.com."), hex("03010001c2a37663f125d4b8c41a0a")}));
    EXPECT_EQ(l.records[2].type, kNSEC);
    // Window 0: A NS SOA RRSIG NSEC DNSKEY (bits 1 2 6 46 47 48); window 255: type 65534 (bit 254).
    EXPECT_EQ(l.records[2].rdata,
              cat({wire("Next.example.com."),
                   hex("0007"
                       "62000000000380"
                       "ff20"
                       "0000000000000000000000000000000000000000000000000000000000000002")}));
    EXPECT_EQ(l.records[3].type, kNSEC3);
    EXPECT_EQ(l.records[3].rdata, hex("01"
                                      "01"
                                      "000c"
                                      "04aabbccdd"
                                      "14"
                                      "174eb2409fe28bcb4887a1836f957f0a8425e27b"
                                      "0006400000000002"));
    EXPECT_EQ(l.records[4].type, kNSEC3PARAM);
    EXPECT_EQ(l.records[4].rdata, hex("01"
                                      "00"
                                      "000c"
                                      "00"));
    EXPECT_EQ(l.records[5].type, kDS);
    EXPECT_EQ(l.records[5].rdata, hex("ec45"
                                      "05"
                                      "01"
                                      "2bb183af5f22588179a53b0a98631fad1a292118"));
    EXPECT_EQ(l.records[6].type, kCDS);
    EXPECT_EQ(l.records[6].rdata.size(), 4u + 32u);
    EXPECT_EQ(l.records[7].type, kCDNSKEY);
    EXPECT_EQ(l.records[7].rdata, hex("0000"
                                      "03"
                                      "00"
                                      "00"));
}

TEST(MasterFile, ModernAndMiscTypes) {
    auto l = load_text(
        "$TTL 60\n"
        "_443._tcp TLSA 3 1 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971\n"
        "host SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac\n"
        "@ CAA 0 issue \"letsencrypt.org\"\n"
        "svc SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1\n"
        "@ HTTPS 1 . port=443 alpn=h2\n"  // keys are sorted in wire order (RFC 9460 §2.2)
        "@ NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .\n"
        "loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"  // RFC 1876

        "_ftp._tcp URI 10 1 \"ftp://ftp1.example.com/public\"\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 8u);
    EXPECT_EQ(l.records[0].type, kTLSA);
    EXPECT_EQ(l.records[0].rdata, hex("030101"
                                      "d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971"));
    EXPECT_EQ(l.records[1].type, kSSHFP);
    EXPECT_EQ(l.records[1].rdata, hex("0101"
                                      "dd465c09cfa51fb45020cc83316fff21b9ec74ac"));
    EXPECT_EQ(l.records[2].type, kCAA);
    EXPECT_EQ(l.records[2].rdata, hex("00"
                                      "05"
                                      "6973737565"
                                      "6c657473656e63727970742e6f7267"));
    EXPECT_EQ(l.records[3].type, kSVCB);
    EXPECT_EQ(l.records[3].rdata, hex("0001"
                                      "00"
                                      "00010006026832026833"
                                      "0003000201bb"
                                      "00040004c0000201"));
    EXPECT_EQ(l.records[4].type, kHTTPS);
    EXPECT_EQ(l.records[4].rdata, hex("0001"
                                      "00"
                                      "00010003026832"
                                      "0003000201bb"));
    EXPECT_EQ(l.records[5].type, kNAPTR);
    EXPECT_EQ(l.records[5].rdata, hex("0064000a"
                                      "0175"
                                      "074532552b736970"
                                      "1b215e2e2a24217369703a696e666f406578616d706c652e636f6d21"
                                      "00"));
    EXPECT_EQ(l.records[6].type, kLOC);
    EXPECT_EQ(l.records[6].rdata, hex("00"
                                      "00"
                                      "16"
                                      "13"
                                      "8b3cf018"
                                      "810cbce0"
                                      "009895b8"));
    EXPECT_EQ(l.records[7].type, kURI);
    EXPECT_EQ(l.records[7].rdata, hex("000a"
                                      "0001"
                                      "6674703a2f2f667470312e6578616d706c652e636f6d2f7075626c6963"));
}

TEST(MasterFile, BadRdataReportsLdnsErrorAndText) {
    auto l = load_text(
        "$TTL 60\n"
        "a A 192.0.2.1\n"
        "b A 192.0.2\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, "test.zone");
    EXPECT_EQ(l.error->line, 3u);
    EXPECT_NE(l.error->message.find("rdata"), std::string::npos) << l.error->message;
    EXPECT_NE(l.error->message.find("'b A 192.0.2'"), std::string::npos) << l.error->message;
    ASSERT_EQ(l.records.size(), 1u);  // records before the error were delivered

    auto extra = load_text("$TTL 60\na A 192.0.2.1 junk\n");
    ASSERT_TRUE(extra.error);
    EXPECT_EQ(extra.error->line, 2u);
}

// ldns casts a number to its field's width (65537 as a 16-bit field would load as 1), and it leaks the
// field of a CERT whose type is 0: both are refused before ldns reads them, with the field named.
TEST(MasterFile, NumbersWiderThanTheirFieldAreRefused) {
    const struct {
        std::string_view record;
        std::string_view expect;
    } cases[] = {
        {"a MX 65536 mail.example.com.", "invalid number 65536 (field 1, at most 65535)"},
        {"a SRV 0 5 65537 target", "invalid number 65537 (field 3, at most 65535)"},
        {"a SSHFP 256 1 0123456789abcdef", "invalid number 256 (field 1, at most 255)"},
        {"a DS 1 300 1 0123456789abcdef", "invalid number 300 (field 2, at most 255)"},
        {"a DS 65536 8 1 0123456789abcdef", "invalid number 65536 (field 1, at most 65535)"},
        {"a CERT 65537 1 1 AAAA", "invalid number 65537 (field 1, at most 65535)"},
        {"a CERT 1 1 -1 AAAA", "invalid number -1 (field 3, at most 255)"},
        {"a CERT 0 1 1 AAAA", "CERT type 0 is reserved"},
        {"_443._tcp.a TLSA 259 1 1 0123456789abcdef", "invalid number 259 (field 1, at most 255)"},
        {"_443._tcp.a TLSA 3 1 256 0123456789abcdef", "invalid number 256 (field 3, at most 255)"},
        {"a CERT 000 1 1 AAAA", "CERT type 0 is reserved"},
        {"a NAPTR 100 65536 \"s\" \"SIP+D2U\" \"\" _sip._udp", "invalid number 65536 (field 2"},
    };
    for (const auto& c : cases) {
        const auto l = load_text("$TTL 60\n" + std::string(c.record) + "\n");
        ASSERT_TRUE(l.error) << c.record;
        EXPECT_EQ(l.error->line, 2u);
        EXPECT_NE(l.error->message.find(c.expect), std::string::npos) << l.error->message;
        EXPECT_TRUE(l.records.empty()) << c.record;
    }
    // The widest values and the mnemonics still load, with the value written.
    const auto ok = load_text(
        "$TTL 60\n"
        "a MX 65535 mail.example.com.\n"
        "a CERT PKIX 65535 RSASHA256 AAAA\n"
        "a CERT 65535 1 255 AAAA\n"
        "a DS 65535 255 255 0123456789abcdef\n"
        "_443._tcp.a TLSA 3 1 1 0123456789abcdef\n");
    ASSERT_FALSE(ok.error) << ok.error->message;
    ASSERT_EQ(ok.records.size(), 5u);
    EXPECT_EQ(ok.records[0].rdata[0], 0xFF);
    EXPECT_EQ(ok.records[0].rdata[1], 0xFF);
    EXPECT_EQ(ok.records[1].rdata[0], 0x00);  // PKIX = 1
    EXPECT_EQ(ok.records[1].rdata[1], 0x01);
    EXPECT_EQ(ok.records[1].rdata[4], 8);  // RSASHA256
    EXPECT_EQ(ok.records[2].rdata[4], 255);
    EXPECT_EQ(ok.records[3].rdata[2], 255);
}

TEST(MasterFile, SyntaxErrorOnLineSevenOfAFile) {
    TempDir dir;
    const fs::path file = dir.write("zone.db",
                                    "$TTL 300\n"                            // 1
                                    "@ SOA ns1 hostmaster ( 1 2 3 4 5 )\n"  // 2
                                    "  NS ns1\n"                            // 3
                                    "; comment\n"                           // 4
                                    "ns1 A 192.0.2.1\n"                     // 5
                                    "mx ( MX 10\n"                          // 6
                                    "     mail ) \n"                        // 6-7 (one record)
                                    "bad AAAA 2001:db8::zz\n"               // 8
                                    "after A 192.0.2.2\n");
    auto l = load_file(file);
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, file.string());
    EXPECT_EQ(l.error->line, 8u);
    EXPECT_EQ(l.error->to_string().rfind(file.string() + ":8: ", 0), 0u) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 4u);
    EXPECT_EQ(l.records[3].line, 6u);

    const fs::path seven = dir.write("seven.db", "$TTL 1\na A 192.0.2.1\n\n\n\n;\nb A 300.0.0.1\n");
    auto s = load_file(seven);
    ASSERT_TRUE(s.error);
    EXPECT_EQ(s.error->line, 7u);
}

// ---------------------------------------------------------------------------------------------------
// Directives.

TEST(MasterFile, UnknownDirectiveIsAnError) {
    auto l = load_text("$TTL 1\na A 192.0.2.1\n$GENERATOR 1-10 h$ A 192.0.2.$\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->line, 3u);
    EXPECT_NE(l.error->message.find("unknown directive '$GENERATOR'"), std::string::npos) << l.error->message;
    auto foo = load_text("$FOO bar\n");
    ASSERT_TRUE(foo.error);
    EXPECT_EQ(foo.error->to_string(), "test.zone:1: unknown directive '$FOO'");
}

TEST(MasterFile, BadOriginDirective) {
    auto l = load_text("$ORIGIN\n");
    ASSERT_TRUE(l.error);
    auto bad = load_text("$ORIGIN a..b.\n");
    ASSERT_TRUE(bad.error);
    EXPECT_NE(bad.error->message.find("$ORIGIN"), std::string::npos);
}

TEST(MasterFile, IncludeRelativeToIncludingFileWithOriginScoping) {
    TempDir dir;
    dir.write("zones/hosts/inc.db",
              "$TTL 99\n"
              "$ORIGIN inner\n"  // relative to the include origin; must not leak back
              "h1 A 192.0.2.1\n"
              "   TXT \"in include\"\n");
    dir.write("zones/hosts/plain.db", "p A 192.0.2.7\n");
    const fs::path main = dir.write("zones/main.db",
                                    "$TTL 300\n"
                                    "www A 192.0.2.10\n"
                                    "$INCLUDE hosts/inc.db sub ; comment\n"
                                    "after A 192.0.2.11\n"
                                    "  TXT \"blank owner after include\"\n"
                                    "$INCLUDE \"hosts/plain.db\"\n");
    auto l = load_file(main);
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 6u);
    EXPECT_EQ(l.records[0].owner, wire("www.example.com."));
    EXPECT_EQ(l.records[1].owner, wire("h1.inner.sub.example.com."));
    EXPECT_EQ(l.records[1].ttl, 99u);
    EXPECT_EQ(l.records[1].file, (dir.path() / "zones/hosts/inc.db").string());
    EXPECT_EQ(l.records[1].line, 3u);
    EXPECT_EQ(l.records[2].owner, wire("h1.inner.sub.example.com."));
    EXPECT_EQ(l.records[3].owner, wire("after.example.com."));  // origin restored
    EXPECT_EQ(l.records[3].ttl, 300u);                          // $TTL restored
    EXPECT_EQ(l.records[3].file, main.string());
    EXPECT_EQ(l.records[3].line, 4u);
    EXPECT_EQ(l.records[4].owner, wire("after.example.com."));
    EXPECT_EQ(l.records[5].owner, wire("p.example.com."));  // included file inherits the origin
    EXPECT_EQ(l.records[5].ttl, 300u);                      // and the $TTL
}

TEST(MasterFile, IncludeFromTextUsesAbsolutePath) {
    TempDir dir;
    const fs::path inc = dir.write("inc.db", "x 5 IN A 192.0.2.5\n");
    auto l = load_text("$INCLUDE " + inc.string() + "\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.records.size(), 1u);
    EXPECT_EQ(l.records[0].file, inc.string());
}

TEST(MasterFile, MissingIncludeFileReportsIncludingLine) {
    TempDir dir;
    const fs::path main = dir.write("main.db", "$TTL 1\na A 192.0.2.1\n$INCLUDE nowhere.db\n");
    auto l = load_file(main);
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, main.string());
    EXPECT_EQ(l.error->line, 3u);
    EXPECT_NE(l.error->message.find("cannot open $INCLUDE file"), std::string::npos) << l.error->message;
    EXPECT_NE(l.error->message.find("nowhere.db"), std::string::npos) << l.error->message;
    EXPECT_NE(l.error->message.find("No such file"), std::string::npos) << l.error->message;
}

TEST(MasterFile, ErrorInsideIncludedFileNamesThatFileAndTheChain) {
    TempDir dir;
    dir.write("inc.db", "ok A 192.0.2.1\nbad A nope\n");
    const fs::path main = dir.write("main.db", "$TTL 1\n\n$INCLUDE inc.db\n");
    auto l = load_file(main);
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, (dir.path() / "inc.db").string());
    EXPECT_EQ(l.error->line, 2u);
    EXPECT_NE(l.error->message.find("(included from " + main.string() + ":3)"), std::string::npos)
        << l.error->message;
}

TEST(MasterFile, IncludeLoopIsDetectedWithTheChain) {
    TempDir dir;
    dir.write("a.db", "$TTL 1\na A 192.0.2.1\n$INCLUDE b.db\n");
    dir.write("b.db", "b A 192.0.2.2\n$INCLUDE ./a.db\n");
    auto l = load_file(dir.path() / "a.db");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, (dir.path() / "b.db").string());
    EXPECT_EQ(l.error->line, 2u);
    EXPECT_NE(l.error->message.find("$INCLUDE loop: " + (dir.path() / "a.db").string() + " -> " +
                                    (dir.path() / "b.db").string() + " -> "),
              std::string::npos)
        << l.error->message;

    const fs::path self = dir.write("self.db", "$INCLUDE self.db\n");
    auto s = load_file(self);
    ASSERT_TRUE(s.error);
    EXPECT_NE(s.error->message.find("$INCLUDE loop"), std::string::npos) << s.error->message;
}

TEST(MasterFile, IncludeDepthIsLimited) {
    TempDir dir;
    for (int i = 0; i < 20; ++i) {
        dir.write("f" + std::to_string(i) + ".db", "$INCLUDE f" + std::to_string(i + 1) + ".db\n");
    }
    dir.write("f20.db", "$TTL 1\nx A 192.0.2.1\n");
    auto l = load_file(dir.path() / "f0.db");
    ASSERT_TRUE(l.error);
    EXPECT_NE(l.error->message.find("nested deeper than 16"), std::string::npos) << l.error->message;

    // 16 levels are fine.
    dir.write("f16.db", "$TTL 1\nx A 192.0.2.1\n");
    auto ok = load_file(dir.path() / "f0.db");
    ASSERT_FALSE(ok.error) << ok.error->to_string();
    EXPECT_EQ(ok.records.size(), 1u);
}

TEST(MasterFile, IncludeFixtureFromTestData) {
    const fs::path dir = fs::path(HEADWATER_TEST_DATA) / "zones/loader";
    auto l = load_file(dir / "example.zone", "example.com");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_GE(l.records.size(), 6u);
    EXPECT_EQ(l.records.front().type, kSOA);
    bool saw_included = false;
    for (const Rec& r : l.records) {
        if (r.owner == wire("Host1.Lab.example.com.")) {
            saw_included = true;
            EXPECT_EQ(r.file, (dir / "inc/lab.zone").string());
        }
    }
    EXPECT_TRUE(saw_included);

    auto loop = load_file(dir / "loop-a.zone", "example.com");
    ASSERT_TRUE(loop.error);
    EXPECT_NE(loop.error->message.find("$INCLUDE loop"), std::string::npos) << loop.error->message;
}

// ---------------------------------------------------------------------------------------------------
// Sink and API errors.

TEST(MasterFile, SinkErrorAbortsWithLocation) {
    int calls = 0;
    auto r = load_master_text(
        "$TTL 1\na A 192.0.2.1\nb A 192.0.2.2\nc A 192.0.2.3\n", "example.com.",
        [&](const RawRecord& rec) -> Result<void, std::string> {
            ++calls;
            if (rec.line == 3) return unexpected(std::string("CNAME and other data"));
            return {};
        },
        "z.db");
    ASSERT_FALSE(r);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(r.error().to_string(), "z.db:3: CNAME and other data");
}

TEST(MasterFile, MissingFileAndBadOrigin) {
    std::vector<Rec> out;
    auto r = load_master_file("/nonexistent/dir/zone.db", "example.com.", collect(out));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().line, 0u);
    EXPECT_EQ(r.error().to_string(), "/nonexistent/dir/zone.db: cannot open: No such file or directory");

    auto bad = load_master_text("", "a..b", collect(out));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("invalid zone origin"), std::string::npos);
    auto empty = load_master_text("", "", collect(out));
    ASSERT_FALSE(empty);
}

TEST(MasterFile, EmptyInputAndCommentsOnly) {
    auto l = load_text("");
    EXPECT_FALSE(l.error);
    EXPECT_TRUE(l.records.empty());
    auto c = load_text("; nothing\n\n   \n\t; still nothing");
    EXPECT_FALSE(c.error);
    EXPECT_TRUE(c.records.empty());
    auto noeol = load_text("$TTL 1\na A 192.0.2.1");  // no final newline
    ASSERT_FALSE(noeol.error) << noeol.error->to_string();
    EXPECT_EQ(noeol.records.size(), 1u);
}

TEST(MasterFile, RootOriginAndRootOwner) {
    auto l = load_text(". 1 IN NS a.root-servers.net.\nx 1 IN A 192.0.2.1\n", ".");
    ASSERT_FALSE(l.error) << l.error->to_string();
    EXPECT_EQ(l.records[0].owner, hex("00"));
    EXPECT_EQ(l.records[1].owner, hex("017800"));
}

TEST(MasterFile, SmallAndLargeFilesReadTheSame) {
    // A file up to 1 MiB is read whole, a larger one streamed: the same records either way, the last
    // line without its newline included, and the lines numbered alike.
    TempDir dir;
    for (const std::size_t records : {std::size_t{3}, std::size_t{40000}}) {
        std::string text = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 86400 60\n@ NS ns1\n";
        for (std::size_t i = 0; i < records; ++i)
            text += "h" + std::to_string(i) + " A 192.0.2.1 ; pads the line\n";
        text += "last TXT \"no newline\"";
        const auto file = dir.write("z" + std::to_string(records) + ".zone", text);
        ASSERT_EQ(text.size() > (1u << 20), records > 3);
        const Loaded from_file = load_file(file);
        ASSERT_FALSE(from_file.error) << from_file.error->to_string();
        const Loaded from_text = load_text(text);
        ASSERT_FALSE(from_text.error) << from_text.error->to_string();
        ASSERT_EQ(from_file.records.size(), records + 3);
        ASSERT_EQ(from_file.records.size(), from_text.records.size());
        for (std::size_t i = 0; i < from_file.records.size(); ++i) {
            EXPECT_EQ(from_file.records[i].rdata, from_text.records[i].rdata);
            EXPECT_EQ(from_file.records[i].line, from_text.records[i].line);
        }
        EXPECT_EQ(from_file.records.back().line, records + 4);
    }
}

}  // namespace
}  // namespace headwater::zone
