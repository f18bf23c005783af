// RFC 9432 catalog zone text and member IDs (zone/Catalog.h): the generated text loads as a zone file with
// the records §4 asks for; IDs survive a save and load; a malformed ID file is an error naming its line.
#include "zone/Catalog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "zone/MasterFile.h"

namespace headwater::zone {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "hw-catalog-unit-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

TEST(CatalogText, RecordsOfRfc9432Version2) {
    const std::vector<CatalogEntry> entries = {
        {"a.example.", "0011223344556677", "", ""},
        {"b.example.", "8899aabbccddeeff", "signed \"x\"", ""},
        {"c.example.", "0123456789abcdef", "", "other.invalid."},
    };
    const std::string text = catalog_zone_text("cat.invalid.", 7, entries);
    EXPECT_EQ(catalog_text_serial(text), 7u);
    EXPECT_EQ(catalog_text_serial("$TTL 1\n"), 0u);
    std::multiset<std::string> got;
    auto sink = [&](const RawRecord& r) -> Result<void, std::string> {
        std::vector<uint8_t> wire(r.owner.begin(), r.owner.end());
        for (uint32_t v : {uint32_t{r.type}, uint32_t{r.rclass}}) {
            wire.push_back(static_cast<uint8_t>(v >> 8U));
            wire.push_back(static_cast<uint8_t>(v));
        }
        for (int shift = 24; shift >= 0; shift -= 8) wire.push_back(static_cast<uint8_t>(r.ttl >> shift));
        wire.push_back(static_cast<uint8_t>(r.rdata.size() >> 8U));
        wire.push_back(static_cast<uint8_t>(r.rdata.size()));
        wire.insert(wire.end(), r.rdata.begin(), r.rdata.end());
        got.insert(record_to_text(wire));
        return {};
    };
    auto loaded = load_master_text(text, "cat.invalid.", sink, "cat.zone");
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    const std::multiset<std::string> want = {
        "cat.invalid. 0 IN SOA invalid. invalid. 7 60 30 604800 0",
        "cat.invalid. 0 IN NS invalid.",
        "version.cat.invalid. 0 IN TXT \"2\"",
        "0011223344556677.zones.cat.invalid. 0 IN PTR a.example.",
        "8899aabbccddeeff.zones.cat.invalid. 0 IN PTR b.example.",
        "group.8899aabbccddeeff.zones.cat.invalid. 0 IN TXT \"signed \\\"x\\\"\"",
        "0123456789abcdef.zones.cat.invalid. 0 IN PTR c.example.",
        "coo.0123456789abcdef.zones.cat.invalid. 0 IN PTR other.invalid.",
    };
    EXPECT_EQ(got, want);
}

TEST(CatalogIds, StableAcrossSaveAndLoad) {
    TempDir dir;
    const fs::path file = dir.path() / "cat.invalid.ids";
    auto ids = CatalogIds::load(file);  // no file yet: empty
    ASSERT_TRUE(ids) << ids.error();
    const std::string a = ids->id_for("a.example.");
    const std::string b = ids->id_for("b.example.");
    EXPECT_EQ(a.size(), 16u);
    EXPECT_NE(a, b);
    EXPECT_EQ(ids->id_for("a.example."), a);
    ids->set_listed("a.example.", true);
    ASSERT_TRUE(ids->save(file));

    auto again = CatalogIds::load(file);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(again->id_for("a.example."), a);
    EXPECT_EQ(again->id_for("b.example."), b);
    EXPECT_TRUE(again->was_listed("a.example."));
    EXPECT_FALSE(again->was_listed("b.example."));
    EXPECT_EQ(again->listed(), std::vector<std::string>{"a.example."});
}

TEST(CatalogIds, MalformedFileNamesTheLine) {
    TempDir dir;
    const fs::path file = dir.path() / "ids";
    std::ofstream(file) << "a.example. 01 listed\nb.example. 01 gone\n";
    auto dup = CatalogIds::load(file);
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().find(file.string() + ":2: expected"), std::string::npos) << dup.error();
    std::ofstream(file) << "a.example. 01 maybe\n";
    auto bad = CatalogIds::load(file);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find(":1: expected"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace headwater::zone
