#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "zone/SerialPolicy.h"
#include "zone/ZoneFileIndex.h"

using namespace headwater;
using zone::FilePart;
using zone::IndexedLoad;

namespace {

// A file with what the loader carries from line to line: $ORIGIN and $TTL changes, records without a TTL
// or class, lines that reuse the owner before them, parentheses over several lines, comments with
// parentheses in them, quoted semicolons.
// `ttl_directive`: without it, a record's TTL is the last one stated, and the SOA's its MINIMUM.
std::vector<std::string> zone_lines(std::size_t hosts, bool ttl_directive = true) {
    std::vector<std::string> lines = {
        ttl_directive ? "$TTL 300" : "; no $TTL",
        "@ IN SOA ns1 hostmaster (",
        "        2024010101 ; serial (the one edited)",
        "        3600 900 86400 60 )",
        "@ IN NS ns1",
        "  IN NS ns2.example.net.",
        "ns1 IN A 192.0.2.1",
    };
    for (std::size_t i = 0; i < hosts; ++i) {
        const std::string n = std::to_string(i);
        switch (i % 9) {
            case 0:
                lines.push_back("h" + n + " IN A 192.0.2." + std::to_string(i % 250));
                lines.push_back("  IN AAAA 2001:db8::" + std::to_string(i % 9999));
                break;
            case 1:
                lines.push_back("h" + n + " 600 TXT \"a; not a comment\" \"(nor this)\"");
                break;
            case 2:
                if (i % 2 == 0) {
                    lines.push_back("h" + n + " IN MX 10 (   ; a record over");
                    lines.push_back("        mail" + n + " )  ; two lines (with a ')' here)");
                } else {  // the second line in column 1, looking like an owner
                    lines.push_back("h" + n + " IN MX ( ; a ')' in a comment");
                    lines.push_back("10 mail" + n + " )");
                }
                break;
            case 3:
                lines.push_back("$ORIGIN sub" + std::to_string(i % 4) + ".example.com.");
                lines.push_back("h" + n + " CNAME h" + std::to_string(i + 1) + ".example.com.");
                lines.push_back("$ORIGIN example.com.");
                break;
            case 4:
                lines.push_back("h" + n + " 120 IN A 198.51.100." + std::to_string(i % 250));
                lines.push_back("h" + n + "b A 198.51.100.1");  // no TTL: $TTL's
                break;
            case 5:
                lines.push_back("; a comment line (");
                lines.push_back("h" + n + " IN SRV 0 5 5060 sip.h" + n);
                break;
            case 6:
                lines.push_back("h" + n + " IN NS ns.h" + n);
                lines.push_back("ns.h" + n + " IN A 203.0.113." + std::to_string(i % 250));
                break;
            case 7:
                if (i % 2 == 0)
                    lines.push_back("h" + n + " IN TXT \"v=spf1 -all\"");
                else
                    lines.push_back("$GENERATE 1-3 g" + n + "-$ A 192.0.2.$");
                break;
            default:
                lines.push_back("h" + n + " IN CAA 0 issue \"ca.example\"");
                break;
        }
    }
    return lines;
}

std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

std::string version_text(const zone::ZoneVersion& v) {
    const auto all = v.run(0, v.size());
    return std::string(all.begin(), all.end()) + "/" + std::to_string(v.soa_index());
}

class ZoneFileIndexTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-index-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        file_ = dir_ / "example.com.zone";
        copy_ = dir_ / "copy";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write(const std::string& text) const { std::ofstream(file_, std::ios::trunc) << text; }

    // Loads the file with the last load's index and version, keeps what it gives for the next.
    Result<IndexedLoad, zone::LoadError> load() {
        auto r = zone::load_zone_file_indexed(apex_, file_, copy_, index_.get(), base_, 0);
        if (r) {
            EXPECT_EQ(zone::write_index_copy(*r), r->index != nullptr);
            base_ = r->loaded.version;
            index_ = std::move(r->index);
        }
        return r;
    }

    // What loading the whole file gives and what the indexed load gave are the same: version, warnings,
    // or error.
    void expect_as_whole(const Result<IndexedLoad, zone::LoadError>& indexed, const std::string& what) {
        const auto whole = zone::load_zone_file(apex_, file_);
        ASSERT_EQ(bool(whole), bool(indexed))
            << what << ": " << (whole ? indexed.error().to_string() : whole.error().to_string());
        if (!whole) {
            EXPECT_EQ(whole.error().to_string(), indexed.error().to_string()) << what;
            return;
        }
        EXPECT_EQ(version_text(*whole->version), version_text(*indexed->loaded.version)) << what;
        EXPECT_EQ(whole->warning_lines(), indexed->loaded.warning_lines()) << what;
    }

    dns::Name apex_ = dns::Name::from_text("example.com.").value();
    std::filesystem::path dir_, file_, copy_;
    std::unique_ptr<zone::ZoneFileIndex> index_;
    zone::ZoneVersionPtr base_;
};

TEST(SplitMasterText, PartsCoverTheTextAndStartWhereALineNamesItsOwnerOutsideParentheses) {
    const std::string text = join(zone_lines(3000));
    const auto parts = zone::split_master_text(text);
    ASSERT_TRUE(parts);
    ASSERT_GT(parts->size(), 20u);
    uint64_t at = 0;
    for (const FilePart& p : *parts) {
        EXPECT_EQ(p.offset, at);
        at += p.length;
        // A part after the first starts after a newline, with an owner, on the line it says.
        if (p.offset > 0) {
            EXPECT_EQ(text[p.offset - 1], '\n');
            const char first = text[p.offset];
            EXPECT_TRUE(first != ' ' && first != '$' && first != ';') << p.first_line;
        }
        EXPECT_EQ(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p.offset), '\n') + 1,
                  static_cast<std::ptrdiff_t>(p.first_line));
        // Not the second line of an MX written over two.
        EXPECT_NE(text.substr(p.offset, 7), "10 mail") << p.first_line;
    }
    EXPECT_EQ(at, text.size());
}

TEST(SplitMasterText, AnEditChangesOnlyThePartsAroundIt) {
    auto lines = zone_lines(3000);
    const auto before = zone::split_master_text(join(lines)).value();
    lines[1500] = "h1500x IN A 192.0.2.99";
    lines.insert(lines.begin() + 2000, "inserted IN A 192.0.2.98");
    const auto after = zone::split_master_text(join(lines)).value();
    std::multiset<uint64_t> old_hashes;
    for (const FilePart& p : before) old_hashes.insert(p.hash);
    std::size_t changed = 0;
    for (const FilePart& p : after) changed += old_hashes.count(p.hash) == 0 ? 1 : 0;
    EXPECT_GE(changed, 2u);
    EXPECT_LE(changed, 6u) << "of " << after.size();
}

TEST(SplitMasterText, AFileWithAnIncludeIsNotSplit) {
    EXPECT_FALSE(zone::split_master_text("$TTL 1\n$include other.zone\n"));
    EXPECT_FALSE(zone::split_master_text("$TTL 1\n$INCLUDE\tother.zone sub\n"));
    EXPECT_FALSE(zone::split_master_text("$TTL 1\n$Include(other.zone)\n"));  // '(' reads as a blank
    EXPECT_TRUE(zone::split_master_text("$TTL 1\n$INCLUDED-NOT other.zone\n"));
}

// The property the index stands on: whatever the edit, the version (or the error, or the warnings) is the
// one loading the whole file gives. Most edits touch a record or two and are loaded by parts.
class RandomEdits : public ZoneFileIndexTest, public ::testing::WithParamInterface<bool> {};

TEST_P(RandomEdits, GiveWhatLoadingTheWholeFileGives) {
    auto lines = zone_lines(3000, GetParam());
    write(join(lines));
    auto first = load();
    expect_as_whole(first, "first load");
    ASSERT_TRUE(index_);
    std::mt19937 rng(20261208);
    std::size_t by_parts = 0, edits = 0;
    for (int round = 0; round < 300; ++round) {
        const std::size_t at = 8 + rng() % (lines.size() - 8);
        const std::string n = std::to_string(round);
        std::string what;
        switch (rng() % 12) {
            case 0:
            case 1:
            case 2:
                what = "a record's data changed";
                if (lines[at].find(" A 1") == std::string::npos) continue;
                lines[at] = "r" + n + " IN A 192.0.2." + std::to_string(round % 250);
                break;
            case 3:
            case 4:
                what = "a line inserted";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), "new" + n + " IN A 192.0.2.7");
                break;
            case 5:
                what = "a line removed";
                if (lines[at][0] == ' ' || lines[at].find_first_of("()") != std::string::npos ||
                    (at + 1 < lines.size() && lines[at + 1][0] == ' '))
                    continue;
                lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at));
                break;
            case 6:
                what = "a duplicate (a warning)";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), "h0 IN A 192.0.2.0");
                break;
            case 7:
                what = "a TTL that differs within an RRset (a warning)";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), "ns1 77 IN A 192.0.2.222");
                break;
            case 8:
                what = "a $TTL that changes the records after it";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at),
                             "$TTL " + std::to_string(400 + round));
                break;
            case 9:
                what = "a CNAME beside other data (an error)";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at),
                             "ns1 IN CNAME elsewhere.example.");
                break;
            case 10:
                what = "the serial";
                lines[2] = "        " + std::to_string(2024010102 + round) + " ; serial";
                break;
            default:
                what = "a comment";
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), "; comment " + n);
                break;
        }
        write(join(lines));
        const auto r = load();
        expect_as_whole(r, what + " at line " + std::to_string(at + 1) + " in round " + n);
        ++edits;
        if (r && r->incremental) ++by_parts;
        // A warning or an error stays until the line is gone: the insertion is undone, and loaded again.
        if (!r || !r->loaded.warnings.empty()) {
            ASSERT_TRUE(what.find("insert") != std::string::npos || what.find("(a") != std::string::npos ||
                        what.find("$TTL") != std::string::npos)
                << what << ": " << (r ? r->loaded.warning_lines().front() : r.error().to_string());
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at));
            write(join(lines));
            expect_as_whole(load(), "undone: " + what);
        }
    }
    // Warnings and errors load the whole file, and so does the first edit after one; the rest go by parts.
    EXPECT_GT(by_parts, edits / 3) << by_parts << " of " << edits;
}

INSTANTIATE_TEST_SUITE_P(ZoneFileIndex, RandomEdits, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "WithTtlDirective" : "WithoutTtlDirective"; });

TEST_F(ZoneFileIndexTest, AnUnchangedFileGivesTheSameVersionBack) {
    write(join(zone_lines(500)));
    ASSERT_TRUE(load());
    const auto before = base_;
    auto lines = zone_lines(500);
    lines.insert(lines.begin() + 100, "; only a comment");
    write(join(lines));
    const auto r = load();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->incremental);
    EXPECT_EQ(r->loaded.version, before);
    EXPECT_TRUE(r->text_changed);
}

// A served version with another serial (a policy bump, a re-signing pass) is still the file's version.
TEST_F(ZoneFileIndexTest, TheServedVersionMayHaveAnotherSerial) {
    auto lines = zone_lines(500);
    write(join(lines));
    ASSERT_TRUE(load());
    base_ = zone::with_serial(*base_, dns::Serial(2024010199));
    lines[300] = "changed IN A 192.0.2.50";
    write(join(lines));
    const auto r = load();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->incremental);
    EXPECT_EQ(r->loaded.version->serial(), dns::Serial(2024010101));
    expect_as_whole(r, "after a bump");
}

TEST_F(ZoneFileIndexTest, AnotherServedVersionOrABrokenCopyLoadsTheWholeFile) {
    auto lines = zone_lines(500);
    write(join(lines));
    ASSERT_TRUE(load());
    const auto first = base_;
    // A dynamic update changed the served version: the index does not describe it.
    lines[300] = "changed IN A 192.0.2.50";
    write(join(lines));
    base_ = zone::load_zone_file(apex_, file_)->version;
    lines[301] = "changed2 IN A 192.0.2.51";
    write(join(lines));
    auto r = load();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->incremental);
    expect_as_whole(r, "another base");
    // The copy cut short: the parts it no longer holds are not trusted.
    std::filesystem::resize_file(copy_, std::filesystem::file_size(copy_) / 2);
    lines[400] = "changed3 IN A 192.0.2.52";
    write(join(lines));
    r = load();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->incremental);
    expect_as_whole(r, "a broken copy");
}

TEST_F(ZoneFileIndexTest, AFileWithAnIncludeOrWarningsIsNotIndexed) {
    std::ofstream(dir_ / "inc.zone") << "www IN A 192.0.2.80\n";
    write(
        "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n$INCLUDE " +
        (dir_ / "inc.zone").string() + "\n");
    auto r = load();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->index);
    expect_as_whole(r, "include");
    write(
        "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
        "ns1 IN A 192.0.2.1\n");
    r = load();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->index);
    EXPECT_EQ(r->loaded.warnings.size(), 1u);
    expect_as_whole(r, "duplicate");
}

TEST_F(ZoneFileIndexTest, ASmallFileIsLoadedWholeAndNotIndexed) {
    write(join(zone_lines(50)));
    const auto r = zone::load_zone_file_indexed(apex_, file_, copy_, nullptr, nullptr, 1u << 20);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->index);
    expect_as_whole(r, "small");
}

}  // namespace
