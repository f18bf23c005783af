// The master-file loader parses the common types itself and leaves the rest to ldns
// (set_master_file_fast_path). Whatever the text, both ways must accept the same records with the same
// bytes, or fail with the same error at the same line: each case here is loaded both ways and compared.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "zone/MasterFile.h"

namespace headwater::zone {
namespace {

struct Outcome {
    std::vector<std::string> records;  // owner|type|class|ttl|line|rdata, bytes as they are
    std::optional<std::string> error;
};

Outcome load(const std::string& text, bool fast) {
    set_master_file_fast_path(fast);
    Outcome o;
    auto r = load_master_text(
        text, "example.com.",
        [&](const RawRecord& rr) {
            std::string s(reinterpret_cast<const char*>(rr.owner.data()), rr.owner.size());
            s += "|" + std::to_string(rr.type) + "|" + std::to_string(rr.rclass) + "|" +
                 std::to_string(rr.ttl) + "|" + std::to_string(rr.line) + "|";
            s.append(reinterpret_cast<const char*>(rr.rdata.data()), rr.rdata.size());
            o.records.push_back(std::move(s));
            return Result<void, std::string>();
        },
        "fast.zone");
    set_master_file_fast_path(true);
    if (!r) o.error = r.error().to_string();
    return o;
}

// Loads `body` after a small header both ways; the outcomes must be identical. Returns the outcome.
Outcome both_ways(const std::string& body) {
    const std::string text = "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 60\n" + body;
    const Outcome slow = load(text, false);
    Outcome fast = load(text, true);
    EXPECT_EQ(fast.error, slow.error) << body;
    EXPECT_EQ(fast.records, slow.records) << body;
    return fast;
}

TEST(MasterFileFastPath, AddressesAsLdnsReadsThem) {
    for (const char* line : {"a A 192.0.2.1", "a A 192.0.2.01", "a A 1.2.3", "a A 1.2.3.4.5", "a A 256.1.1.1",
                             "a A 0x1.2.3.4", "a A 1.2.3.4 5.6.7.8", "a A", "a A ::1", "a AAAA ::1",
                             "a AAAA 2001:db8::1", "a AAAA 2001:DB8:0:0:0:0:0:A", "a AAAA ::ffff:192.0.2.1",
                             "a AAAA 1::2::3", "a AAAA 192.0.2.1", "a AAAA 2001:db8::1 x"}) {
        both_ways(std::string(line) + "\n");
    }
    EXPECT_EQ(both_ways("a A 192.0.2.1\n").records.size(), 2u);
}

TEST(MasterFileFastPath, NamesAsLdnsReadsThem) {
    // `count` labels of 63 octets.
    const auto long_labels = [](int count) {
        std::string s(63, 'x');
        for (int i = 1; i < count; ++i) s.append(".").append(63, 'x');
        return s;
    };
    for (const std::string& target : {std::string("ns1"),
                                      std::string("ns1."),
                                      std::string("@"),
                                      std::string("Ns1.Example.COM."),
                                      std::string("*"),
                                      std::string("*.x"),
                                      std::string("x.*"),
                                      std::string("a*b"),
                                      std::string("a..b"),
                                      std::string("."),
                                      std::string(".a"),
                                      std::string("\\065bc"),
                                      std::string("a\\.b"),
                                      std::string("-x-"),
                                      std::string("_srv._tcp"),
                                      std::string("a/b"),
                                      std::string("a+b"),
                                      long_labels(1),
                                      std::string(64, 'x'),
                                      long_labels(3),
                                      long_labels(4)}) {
        for (const char* type : {"NS", "CNAME", "PTR", "DNAME"})
            both_ways("a " + std::string(type) + " " + target + "\n");
        both_ways(target + " A 192.0.2.7\n");  // the same text as an owner
    }
}

TEST(MasterFileFastPath, NumbersAsLdnsReadsThem) {
    for (const char* line :
         {"a MX 10 mail", "a MX 010 mail", "a MX 0 .", "a MX 65535 m", "a MX 65536 m", "a MX -1 m",
          "a MX +1 m", "a MX 1e3 m", "a MX 10", "a MX mail 10", "a MX 10 mail extra", "a SRV 0 5 5060 sip",
          "a SRV 1 2 3 .", "a SRV 1 2 70000 x", "a SRV 1 2 x", "a MX ( 10\n mail )", "a MX 4294967296 m",
          "a MX 99999999999 m"}) {
        both_ways(std::string(line) + "\n");
    }
}

// SOA records below the apex are the builder's business, not the reader's: here each is read both ways.
TEST(MasterFileFastPath, SoaAsLdnsReadsIt) {
    for (const char* rdata :
         {"ns1 hostmaster 2026120501 3600 600 864000 300", "ns1.example.net. h.example.net. 1 2 3 4 5",
          "@ @ 0 0 0 0 0", "ns1 hostmaster 4294967295 4294967295 4294967295 4294967295 4294967295",
          "ns1 hostmaster 4294967296 1 2 3 4", "ns1 hostmaster 1 1h 15m 1w 5m",
          "ns1 hostmaster 1 1H 2D 3W 4S", "ns1 hostmaster 0010 0020 3 4 5", "ns1 hostmaster -1 2 3 4 5",
          "ns1 hostmaster +1 2 3 4 5", "ns1 hostmaster 0x10 2 3 4 5", "ns1 hostmaster 1 2 3 4",
          "ns1 hostmaster 1 2 3 4 5 6", "ns1 hostmaster", "ns1 hostmaster ( 1 2 3 4 5 )",
          "ns1 hostmaster ( 1\n 2\n 3 4 5 )", "ns1 host\\.master 1 2 3 4 5", "a..b hostmaster 1 2 3 4 5",
          "ns1 hostmaster 99999999999 2 3 4 5"}) {
        both_ways("sub SOA " + std::string(rdata) + "\n");
    }
}

TEST(MasterFileFastPath, TextAsLdnsReadsIt) {
    for (const std::string& rdata : {std::string("\"hello world\""),
                                     std::string("hello"),
                                     std::string("\"a\" \"b\" c"),
                                     std::string("\"\""),
                                     std::string("\"esc\\\"aped\""),
                                     std::string("\"semi\\;colon\""),
                                     std::string("\"dec\\059imal\""),
                                     std::string("\"\\256\""),
                                     std::string("\"\\25\""),
                                     std::string("\"\\2\""),
                                     std::string("\"x\\"),
                                     std::string("\"a\\\\b\""),
                                     std::string("\"tab\tinside\""),
                                     std::string("\"" + std::string(255, 'y') + "\""),
                                     std::string("\"" + std::string(256, 'y') + "\""),
                                     std::string(255, 'z'),
                                     std::string(256, 'z'),
                                     std::string("\"unterminated"),
                                     std::string("abc\"def\""),
                                     std::string("\"a\"\"b\""),
                                     std::string("\\\"x"),
                                     std::string("a\\ b"),
                                     std::string("\"\\000\\001\\255\""),
                                     std::string("\"(paren)\""),
                                     std::string("( \"multi\"\n \"line\" )"),
                                     std::string("\"utf8 \xc3\xa9\"")}) {
        both_ways("a TXT " + rdata + "\n");
    }
}

TEST(MasterFileFastPath, CaaAsLdnsReadsIt) {
    for (const char* rdata : {"0 issue \"letsencrypt.org\"", "128 iodef \"mailto:x@example.com\"",
                              "0 issue \";\"", "0 issue letsencrypt.org", "256 issue \"x\"", "0 is-sue \"x\"",
                              "0 issue \"\"", "0 issue \"a\" \"b\"", "0 issue \"esc\\\"q\"", "0 issue",
                              "0 Issue \"X\"", "0 issue \"ca.example; account=1\""}) {
        both_ways("a CAA " + std::string(rdata) + "\n");
    }
}

TEST(MasterFileFastPath, OwnersClassesAndTtlsAsBefore) {
    const Outcome o = both_ways(
        "Www.Example.COM. A 192.0.2.1\n"
        "  AAAA 2001:db8::1\n"                 // previous owner, parsed here
        "slow\\.owner TYPE1 \\# 4 C0000202\n"  // ldns: escaped owner, generic syntax
        "  A 192.0.2.3\n"                      // previous owner set by the ldns path
        "\tMX 10 mail\n"
        "* 60 IN A 192.0.2.4\n"
        "*.wild IN 60 A 192.0.2.5\n"
        "c CLASS1 A 192.0.2.6\n"
        "d in a 192.0.2.7\n"
        "e 1h30m CNAME www\n"
        "$ORIGIN sub.example.com.\n"
        "f A 192.0.2.8\n"
        "@ NS f\n"
        "$ORIGIN Other.\n"
        "g NS h\n");
    EXPECT_FALSE(o.error) << *o.error;
    EXPECT_EQ(o.records.size(), 14u);
    both_ways("h CH A 192.0.2.1\n");
    both_ways("i 99999999999 A 192.0.2.1\n");
    both_ways("j A 192.0.2.1 ; comment\nk\tIN\tA\t192.0.2.2\r\n");
}

TEST(MasterFileFastPath, TheSampleZonesLoadTheSame) {
    for (const char* file : {"example.com.zone.v1", "example.com.zone.v2"}) {
        const std::string path = std::string(HEADWATER_TEST_DATA) + "/" + file;
        Outcome both[2];
        for (int fast = 0; fast < 2; ++fast) {
            set_master_file_fast_path(fast == 1);
            auto r = load_master_file(path, "example.com.", [&](const RawRecord& rr) {
                std::string s(reinterpret_cast<const char*>(rr.owner.data()), rr.owner.size());
                s += "|" + std::to_string(rr.type) + "|" + std::to_string(rr.ttl) + "|";
                s.append(reinterpret_cast<const char*>(rr.rdata.data()), rr.rdata.size());
                both[fast].records.push_back(std::move(s));
                return Result<void, std::string>();
            });
            if (!r) both[fast].error = r.error().to_string();
        }
        set_master_file_fast_path(true);
        EXPECT_FALSE(both[1].error) << *both[1].error;
        EXPECT_EQ(both[1].error, both[0].error) << file;
        EXPECT_GT(both[1].records.size(), 5u) << file;
        EXPECT_EQ(both[1].records, both[0].records) << file;
    }
}

}  // namespace
}  // namespace headwater::zone
