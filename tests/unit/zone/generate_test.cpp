// Tests for $GENERATE (zone/GenerateTemplate.h and its use by the master-file loader): the range, the
// modifiers as BIND prints them, generated records read like written ones, errors at the directive's line.
#include "zone/GenerateTemplate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zone/MasterFile.h"

namespace headwater::zone {
namespace {

std::string expand(std::string_view tmpl, int64_t value) {
    std::string out;
    auto r = expand_generate_field(tmpl, value, out);
    return r ? out : "ERROR: " + r.error();
}

struct Loaded {
    std::vector<std::string> records;  // record_to_text of each
    std::optional<LoadError> error;
};

Loaded load(std::string_view text) {
    Loaded l;
    auto sink = [&l](const RawRecord& r) -> Result<void, std::string> {
        std::vector<uint8_t> wire(r.owner.begin(), r.owner.end());
        for (uint32_t v : {uint32_t{r.type}, uint32_t{r.rclass}}) {
            wire.push_back(static_cast<uint8_t>(v >> 8U));
            wire.push_back(static_cast<uint8_t>(v));
        }
        for (int shift = 24; shift >= 0; shift -= 8) wire.push_back(static_cast<uint8_t>(r.ttl >> shift));
        wire.push_back(static_cast<uint8_t>(r.rdata.size() >> 8U));
        wire.push_back(static_cast<uint8_t>(r.rdata.size()));
        wire.insert(wire.end(), r.rdata.begin(), r.rdata.end());
        l.records.push_back(record_to_text(wire));
        return {};
    };
    auto r = load_master_text(text, "example.com.", sink, "gen.zone");
    if (!r) l.error = r.error();
    return l;
}

TEST(GenerateRange, Forms) {
    auto r = parse_generate_range("1-10");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->start, 1);
    EXPECT_EQ(r->stop, 10);
    EXPECT_EQ(r->step, 1);
    EXPECT_EQ(r->count(), 10u);
    auto s = parse_generate_range("0-20/10");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->count(), 3u);
    auto one = parse_generate_range("7-7");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->count(), 1u);
}

TEST(GenerateRange, BadRangesAreErrors) {
    for (const char* bad :
         {"", "1", "1-", "-1-3", "3-1", "1-3/0", "1-3/", "1-3/x", "a-b", "1-2147483648", "1 -3", "1-3/2x"}) {
        auto r = parse_generate_range(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().find("invalid range"), std::string::npos) << r.error();
    }
    auto big = parse_generate_range("0-1048576");
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().find("1048577 records, more than 1048576"), std::string::npos) << big.error();
    EXPECT_TRUE(parse_generate_range("0-2147483647/4096"));  // few records over the whole range
}

TEST(GenerateField, Substitution) {
    EXPECT_EQ(expand("host$", 7), "host7");
    EXPECT_EQ(expand("$.$", 3), "3.3");
    EXPECT_EQ(expand("a$$b$", 2), "a$b2");
    EXPECT_EQ(expand("\\$x$", 2), "\\$x2");  // escape kept for the name parser
    EXPECT_EQ(expand("plain", 5), "plain");
    EXPECT_EQ(expand("x\\", 5), "x\\");
}

TEST(GenerateField, Modifiers) {
    EXPECT_EQ(expand("${5}", 10), "15");
    EXPECT_EQ(expand("${-20}", 10), "-10");  // decimal keeps the sign, as BIND prints it
    EXPECT_EQ(expand("${0,3}", 7), "007");
    EXPECT_EQ(expand("${0,3,d}", 7), "007");
    EXPECT_EQ(expand("${0,0,o}", 8), "10");
    EXPECT_EQ(expand("${0,4,x}", 255), "00ff");
    EXPECT_EQ(expand("${0,4,X}", 255), "00FF");
    EXPECT_EQ(expand("${0,0,n}", 0xab), "b.a");
    EXPECT_EQ(expand("${0,0,N}", 0xab), "B.A");
    EXPECT_EQ(expand("${0,4,N}", 0), "0.0.");  // width counts the dots; BIND leaves the trailing one
    EXPECT_EQ(expand("${0,7,n}", 0x12), "2.1.0.0");
    EXPECT_EQ(expand("${1,2,x}.r", 9), "0a.r");
}

TEST(GenerateField, BadModifiersAreErrors) {
    for (const char* bad : {"${}", "${x}", "${1,}", "${1,2,}", "${1,2,q}", "${1,2,d", "${1", "${1;2}"}) {
        const std::string got = expand(bad, 1);
        EXPECT_NE(got.find("bad $GENERATE modifier"), std::string::npos) << bad << " -> " << got;
    }
    EXPECT_NE(expand("${0,128}", 1).find("width 128 above 127"), std::string::npos);
    EXPECT_NE(expand("${-5,0,x}", 1).find("below zero"), std::string::npos);
    EXPECT_NE(expand("${2147483647}", 1).find("out of range"), std::string::npos);
}

TEST(GenerateLoad, RecordsLikeWrittenOnes) {
    auto l = load(
        "$TTL 300\n"
        "$GENERATE 1-3 host$ A 192.0.2.$\n"
        "$GENERATE 0-20/10 ${5,3,x}.r 60 IN PTR h$$-${0,4,N}example.\n"
        "$GENERATE 1-2 mx$ MX \"10 mail$\"\n"
        "$GENERATE 1-1 t$ TXT \"a b$\"\n"
        "$GENERATE 10-10 n${0,0,n} IN 70 TXT ${0,3}\n"
        "$GENERATE 1-1 m$ (\n  MX 20 x$ )\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    // ldns prints the '$' of the PTR target without its escape.
    const std::vector<std::string> want = {
        "host1.example.com. 300 IN A 192.0.2.1",
        "host2.example.com. 300 IN A 192.0.2.2",
        "host3.example.com. 300 IN A 192.0.2.3",
        "005.r.example.com. 60 IN PTR h$-0.0.example.",
        "00f.r.example.com. 60 IN PTR h$-A.0.example.",
        "019.r.example.com. 60 IN PTR h$-4.1.example.",
        "mx1.example.com. 300 IN MX 10 mail1.example.com.",
        "mx2.example.com. 300 IN MX 10 mail2.example.com.",
        "t1.example.com. 300 IN TXT \"a\" \"b1\"",
        "na.example.com. 70 IN TXT \"010\"",
        "m1.example.com. 300 IN MX 20 x1.example.com.",
    };
    EXPECT_EQ(l.records, want);
}

TEST(GenerateLoad, ErrorsNameTheDirectiveLine) {
    auto l = load("$TTL 1\na A 192.0.2.1\n$GENERATE 250-260 h$ A 192.0.2.$\n");
    ASSERT_TRUE(l.error);
    EXPECT_EQ(l.error->file, "gen.zone");
    EXPECT_EQ(l.error->line, 3u);
    EXPECT_NE(l.error->message.find("$GENERATE (value 256)"), std::string::npos) << l.error->message;
    EXPECT_EQ(l.records.size(), 7u);  // a, then 250..255

    auto range = load("$TTL 1\n\n$GENERATE 5-1 h$ A 192.0.2.$\n");
    ASSERT_TRUE(range.error);
    EXPECT_EQ(range.error->line, 3u);
    EXPECT_NE(range.error->message.find("invalid range \"5-1\""), std::string::npos);

    auto modifier = load("$TTL 1\n$GENERATE 1-2 h${1,2,z} A 192.0.2.1\n");
    ASSERT_TRUE(modifier.error);
    EXPECT_EQ(modifier.error->to_string(), "gen.zone:2: bad $GENERATE modifier \"${1,2,z}\"");

    for (const char* incomplete : {"$GENERATE\n", "$GENERATE 1-2\n", "$GENERATE 1-2 h$\n",
                                   "$GENERATE 1-2 h$ 30 IN\n", "$GENERATE 1-2 h$ A\n"}) {
        auto e = load(std::string("$TTL 1\n") + incomplete);
        ASSERT_TRUE(e.error) << incomplete;
        EXPECT_EQ(e.error->line, 2u);
        EXPECT_NE(e.error->message.find("$GENERATE needs"), std::string::npos) << e.error->message;
    }
    auto no_ttl = load("$GENERATE 1-2 h$ A 192.0.2.$\n");
    ASSERT_TRUE(no_ttl.error);
    EXPECT_NE(no_ttl.error->message.find("no TTL given"), std::string::npos) << no_ttl.error->message;
}

TEST(GenerateLoad, SameRecordsAsTheFastPathOff) {
    const char* text =
        "$TTL 300\n$GENERATE 1-50 ${0,2,x} PTR h$.example.net.\n$GENERATE 1-5 s$ SRV 0 0 $ t$\n";
    auto fast = load(text);
    set_master_file_fast_path(false);
    auto slow = load(text);
    set_master_file_fast_path(true);
    ASSERT_FALSE(fast.error);
    ASSERT_FALSE(slow.error);
    EXPECT_EQ(fast.records.size(), 55u);
    EXPECT_EQ(fast.records, slow.records);
}

}  // namespace
}  // namespace headwater::zone
