// A large config parsed in parts must be the document one parse of the whole text gives (same tables,
// same source lines), and anything the parts cannot be trusted with goes back to that one parse.
#include "conf/TomlInParts.h"

#include <gtest/gtest.h>

#include <string>

namespace headwater::conf {
namespace {

// `count` [[zone]] tables after a [server] table: about 60 octets each, so 40k make more than 1 MiB.
std::string zones_text(int count, const std::string& before = "[server]\nlisten = [\"127.0.0.1:53\"]\n",
                       const std::string& after = "") {
    std::string text = before;
    for (int i = 0; i < count; ++i)
        text += "[[zone]]\nname = \"z" + std::to_string(i) + ".example.\"\nfile = \"zones/z" +
                std::to_string(i) + ".zone\"\n";
    return text + after;
}

TEST(TomlInParts, SameDocumentAndLinesAsOneParse) {
    const std::string text = zones_text(40000, "# a comment\n[server]\nlisten = [\"127.0.0.1:53\"]\n",
                                        "\n[[acl]]\nname = \"late\"\nnetworks = [\"192.0.2.0/24\"]\n");
    ASSERT_GT(text.size(), 1u << 20);
    const toml::table whole = toml::parse(text, std::string("hw.toml"));
    for (std::size_t parts : {2, 3, 8}) {
        const auto in_parts = parse_toml_in_parts(text, "hw.toml", parts);
        ASSERT_TRUE(in_parts.has_value()) << parts;
        EXPECT_EQ(*in_parts, whole) << parts;
        const auto* a = whole["zone"].as_array();
        const auto* b = (*in_parts)["zone"].as_array();
        ASSERT_EQ(b->size(), a->size());
        for (std::size_t i = 0; i < a->size(); i += 997) {
            const auto& x = *a->get(i)->as_table()->get("name");
            const auto& y = *b->get(i)->as_table()->get("name");
            EXPECT_EQ(y.source().begin.line, x.source().begin.line) << i;
            EXPECT_EQ(y.source().begin.column, x.source().begin.column) << i;
            EXPECT_EQ(*y.source().path, "hw.toml");
        }
        EXPECT_EQ((*in_parts)["acl"][0]["name"].value<std::string>(), "late");
        EXPECT_EQ((*in_parts)["acl"].node()->source().begin.line, whole["acl"].node()->source().begin.line);
    }
}

TEST(TomlInParts, LeavesToOneParseWhatItCannotTrust) {
    // Small: not worth a thread.
    EXPECT_FALSE(parse_toml_in_parts(zones_text(100), "hw.toml", 2));
    // A multi-line string could hold a line that looks like a [[zone]] header.
    EXPECT_FALSE(parse_toml_in_parts(
        zones_text(40000, "[server]\nlisten = [\"::1\"]\nx = '''\n[[zone]]\n'''\n"), "hw.toml", 2));
    EXPECT_FALSE(parse_toml_in_parts(zones_text(40000, "[server]\nx = \"\"\"\n\"\"\"\n"), "hw.toml", 2));
    // A table defined in two parts: one parse reports it.
    EXPECT_FALSE(parse_toml_in_parts(
        zones_text(40000, "[server]\nlisten = [\"::1\"]\n", "[server]\nuser = \"x\"\n"), "hw.toml", 2));
    // A static array of zones cannot be appended to by [[zone]] (TOML): one parse reports it. Here the
    // first part holds the static array and nothing else of the zones, so the parts themselves parse.
    const std::string filler = "[server]\nuser = \"" + std::string(3u << 20, 'u') + "\"\n";
    for (const char* zones : {"zone = []\n", "zone = [{ name = \"a.\" }]\n"}) {
        const std::string text = zones_text(100, zones + filler);
        EXPECT_THROW((void)toml::parse(text, std::string("hw.toml")), toml::parse_error) << zones;
        EXPECT_FALSE(parse_toml_in_parts(text, "hw.toml", 2)) << zones;
    }
    EXPECT_TRUE(parse_toml_in_parts(zones_text(100, filler), "hw.toml", 2));  // the same without it: cut
    // A syntax error in a late part: one parse reports it, with its line.
    EXPECT_FALSE(parse_toml_in_parts(zones_text(40000, "", "[[zone]]\nname = \n"), "hw.toml", 2));
    // No [[zone]] header to cut at.
    EXPECT_FALSE(parse_toml_in_parts("[server]\nx = \"" + std::string(2u << 20, 'a') + "\"\n", "hw.toml", 2));
}

TEST(TomlInParts, CutsOnlyAtAWholeHeaderLine) {
    // The middle of the text is a run of [[zones]] tables (another array): a cut there would put that
    // array in two parts, which the merge refuses. The cut must come at the first real [[zone]] line.
    std::string text = "[server]\nlisten = [\"::1\"]\n";
    for (int i = 0; i < 40000; ++i) text += "[[zones]]\na = " + std::to_string(i) + "\n";
    text = zones_text(20000, text);
    const auto in_parts = parse_toml_in_parts(text, "hw.toml", 2);
    ASSERT_TRUE(in_parts.has_value());
    EXPECT_EQ(*in_parts, toml::parse(text, std::string("hw.toml")));
    // A header with a comment after it, and CRLF line ends, are headers too.
    std::string commented = zones_text(40000);
    for (std::size_t at = 0; (at = commented.find("[[zone]]\n", at)) != std::string::npos; at += 8)
        commented.replace(at, 9, "[[zone]] # z\r\n");
    const auto in_parts2 = parse_toml_in_parts(commented, "hw.toml", 2);
    ASSERT_TRUE(in_parts2.has_value());
    EXPECT_EQ(*in_parts2, toml::parse(commented, std::string("hw.toml")));
}

}  // namespace
}  // namespace headwater::conf
