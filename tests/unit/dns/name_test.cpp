#include <gtest/gtest.h>

#include "zone/dns/Name.h"
#include "zone/dns/Serial.h"

using namespace headwater::dns;

namespace {
Name n(std::string_view text) {
    return Name::from_text(text).value();
}
}  // namespace

TEST(Name, ParsesAbsoluteAndRelative) {
    const Name origin = n("example.com.");
    EXPECT_EQ(n("www.example.com.").to_string(), "www.example.com.");
    EXPECT_EQ(Name::from_text("www", origin)->to_string(), "www.example.com.");
    EXPECT_EQ(Name::from_text("@", origin)->to_string(), "example.com.");
    EXPECT_EQ(n(".").to_string(), ".");
    EXPECT_TRUE(n(".").view().is_root());
    const Name ab = n("ab.c.");  // wire() is a view: the Name must outlive it
    const auto w = ab.wire();
    EXPECT_EQ(std::vector<uint8_t>(w.begin(), w.end()), (std::vector<uint8_t>{2, 'a', 'b', 1, 'c', 0}));
}

TEST(Name, DefaultIsRootNotEmpty) {
    EXPECT_EQ(Name().to_string(), ".");
}

TEST(Name, EscapesRoundTrip) {
    const Name a = n("a\\.b.example.");
    EXPECT_EQ(a.view().label_count(), 2u);
    EXPECT_EQ(a.to_string(), "a\\.b.example.");
    EXPECT_EQ(n("\\065bc.").to_string(), "Abc.");
    EXPECT_EQ(n("x\\032y.").to_string(), "x\\032y.");
}

TEST(Name, RejectsBadNames) {
    EXPECT_FALSE(Name::from_text("a..b."));
    EXPECT_FALSE(Name::from_text(""));
    EXPECT_FALSE(Name::from_text(std::string(64, 'a') + "."));
    std::string long_name;
    for (int i = 0; i < 52; ++i) long_name += "abcd.";
    EXPECT_FALSE(Name::from_text(long_name));
    EXPECT_FALSE(Name::from_text("a\\"));
}

TEST(Name, ComparesCaseInsensitively) {
    EXPECT_TRUE(n("WWW.Example.COM.").view() == n("www.example.com.").view());
    EXPECT_FALSE(n("www.example.com.").view() == n("ww.example.com.").view());
    EXPECT_EQ(n("A.b.").key(), n("a.B.").key());
}

TEST(Name, CanonicalOrderFollowsRfc4034Section61) {
    // The example list of RFC 4034 §6.1, in order.
    const std::vector<std::string> ordered = {"example.",         "a.example.",      "yljkjljk.a.example.",
                                              "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
                                              "\\001.z.example.", "*.z.example.",    "\\200.z.example."};
    for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
        EXPECT_LT(canonical_compare(n(ordered[i]), n(ordered[i + 1])), 0)
            << ordered[i] << " < " << ordered[i + 1];
        EXPECT_GT(canonical_compare(n(ordered[i + 1]), n(ordered[i])), 0);
    }
    EXPECT_EQ(canonical_compare(n("Z.a.example."), n("z.A.EXAMPLE.")), 0);
}

TEST(Name, CanonicalKeysSortAsCanonicalCompare) {
    // RFC 4034 §6.1's list plus octets 0, 1 and 2 (escaped in the key) and a label that is a prefix.
    const std::vector<std::string> ordered = {"example.",
                                              "a.example.",
                                              "yljkjljk.a.example.",
                                              "Z.a.example.",
                                              "zABC.a.EXAMPLE.",
                                              "z.example.",
                                              "\\000.z.example.",
                                              "\\000\\000.z.example.",
                                              "\\000\\001.z.example.",
                                              "\\001.z.example.",
                                              "\\002.z.example.",
                                              "*.z.example.",
                                              "\\200.z.example.",
                                              "zz.example."};
    auto key = [](std::string_view text) {
        const Name name = n(text);
        std::vector<uint8_t> k;
        append_canonical_key(name, name.view().label_count(), k);
        return k;
    };
    for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
        ASSERT_LT(canonical_compare(n(ordered[i]), n(ordered[i + 1])), 0) << ordered[i];
        EXPECT_LT(key(ordered[i]), key(ordered[i + 1])) << ordered[i] << " < " << ordered[i + 1];
    }
    EXPECT_EQ(key("Z.a.example."), key("z.A.EXAMPLE."));
    EXPECT_EQ(key("."), std::vector<uint8_t>{});
    // The first `labels` labels only: the key of www.example. below example.
    const Name www = n("WWW.Example.");
    std::vector<uint8_t> below;
    append_canonical_key(www, 1, below);
    EXPECT_EQ(below, (std::vector<uint8_t>{'w', 'w', 'w', 0}));
    std::vector<uint8_t> appended = {9};
    append_canonical_key(www, 2, appended);
    EXPECT_EQ(appended, (std::vector<uint8_t>{9, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 'w', 'w', 'w', 0}));
}

TEST(Name, SubdomainAndParent) {
    EXPECT_TRUE(is_subdomain(n("a.b.example.com."), n("example.com.")));
    EXPECT_TRUE(is_subdomain(n("example.com."), n("EXAMPLE.com.")));
    EXPECT_FALSE(is_subdomain(n("example.com."), n("a.example.com.")));
    EXPECT_FALSE(is_subdomain(n("badexample.com."), n("example.com.")));
    EXPECT_TRUE(is_subdomain(n("anything."), n(".")));
    EXPECT_EQ(n("a.b.c.").view().parent(2).to_string(), "c.");
    EXPECT_TRUE(n("*.x.").view().is_wildcard());
}

TEST(Name, WireLengthValidates) {
    const std::vector<uint8_t> good = {3, 'w', 'w', 'w', 0, 99};
    EXPECT_EQ(wire_name_length(good), 5u);
    const std::vector<uint8_t> unterminated = {3, 'w', 'w', 'w'};
    EXPECT_EQ(wire_name_length(unterminated), 0u);
    const std::vector<uint8_t> pointer = {0xC0, 12};
    EXPECT_EQ(wire_name_length(pointer), 0u);
}

TEST(Serial, Rfc1982Comparison) {
    EXPECT_TRUE(Serial(1) < Serial(2));
    EXPECT_FALSE(Serial(2) < Serial(1));
    EXPECT_TRUE(Serial(0xFFFFFFFFu) < Serial(0));  // wraps
    EXPECT_TRUE(Serial(0xFFFFFFF0u) < Serial(5));
    EXPECT_FALSE(Serial(5) < Serial(5));
    // Exactly 2^31 apart: undefined, so neither is less than the other (RFC 1982 §3.2).
    EXPECT_FALSE(Serial(0) < Serial(0x80000000u));
    EXPECT_FALSE(Serial(0x80000000u) < Serial(0));
    EXPECT_FALSE(Serial(0).comparable(Serial(0x80000000u)));
    EXPECT_TRUE(Serial(10) < Serial(10).plus(0x7FFFFFFFu));
}
