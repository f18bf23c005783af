// [[template]], [[zones_dir]] and include: many zones without many tables.
#include <gtest/gtest.h>

#include <fstream>

#include "conf/ConfigLoader.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {

namespace fs = std::filesystem;

class ManyZonesConfigTest : public test_support::ConfigFileTest {
  protected:
    void put(const fs::path& relative, const std::string& text) {
        const fs::path p = dir_ / relative;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
};

constexpr std::string_view kHead = R"([server]
listen = ["127.0.0.1:5353"]
[[acl]]
name = "providers"
networks = ["127.0.0.1"]
[[acl]]
name = "other"
networks = ["127.0.0.2"]
[[template]]
name = "standard"
allow_transfer = ["providers"]
notify = ["192.0.2.1"]
serial_policy = "unixtime"
)";

TEST_F(ManyZonesConfigTest, TemplateGivesUnsetKeys) {
    auto r = parse(std::string(kHead) + R"(
[[zone]]
name = "a.example"
file = "a.zone"
template = "standard"
[[zone]]
name = "b.example"
file = "b.zone"
template = "standard"
allow_transfer = ["other"]
[[zone]]
name = "c.example"
file = "c.zone"
)");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->zones.size(), 3u);
    EXPECT_EQ(r->zones[0].allow_transfer, std::vector<std::string>{"providers"});
    EXPECT_EQ(r->zones[0].serial_policy, "unixtime");
    EXPECT_EQ(r->zones[0].notify.size(), 1u);
    EXPECT_EQ(r->zones[0].template_name, "standard");
    EXPECT_EQ(r->zones[1].allow_transfer, std::vector<std::string>{"other"});  // the zone's own wins
    EXPECT_EQ(r->zones[1].serial_policy, "unixtime");
    EXPECT_TRUE(r->zones[2].allow_transfer.empty());
    EXPECT_EQ(r->zones[2].serial_policy, "increment");
    EXPECT_EQ(r->templates, std::vector<std::string>{"standard"});
}

TEST_F(ManyZonesConfigTest, TemplateErrors) {
    auto unknown = parse(std::string(kHead) +
                         "[[zone]]\nname = \"a.example\"\nfile = \"a.zone\"\ntemplate = \"nope\"\n");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("zone[0].template: unknown template \"nope\" (known: standard)"),
              std::string::npos)
        << unknown.error().message;
    auto bad_key = parse(std::string(kHead) + "file = \"x.zone\"\nlisten = 3\n");
    ASSERT_FALSE(bad_key);
    EXPECT_NE(bad_key.error().message.find(":14:1: template[0].file: not a key a template may set"),
              std::string::npos)
        << bad_key.error().message;
    // A bad value in a template is reported where the template says it, under the zone's key path.
    auto bad_value = parse(std::string(kHead) +
                           "notify_delay = \"5x\"\n[[zone]]\nname = \"a.example\"\n"
                           "file = \"a.zone\"\ntemplate = \"standard\"\n");
    ASSERT_FALSE(bad_value);
    EXPECT_NE(bad_value.error().message.find(":14:16: zone[0].notify_delay:"), std::string::npos)
        << bad_value.error().message;
}

TEST_F(ManyZonesConfigTest, ZonesDirMakesOneZonePerFile) {
    put("many/b.example.zone", "");
    put("many/a.example.zone", "");
    put("many/notes.txt", "");
    put("many/.hidden.zone", "");
    auto r = parse(std::string(kHead) +
                   "[[zones_dir]]\npath = \"many\"\ntemplate = \"standard\"\n"
                   "[[zone]]\nname = \"c.example\"\nfile = \"c.zone\"\n");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->zones.size(), 3u);
    EXPECT_EQ(r->zones[0].name, "c.example.");
    EXPECT_EQ(r->zones[1].name, "a.example.");
    EXPECT_EQ(r->zones[1].file, dir_ / "many/a.example.zone");
    EXPECT_EQ(r->zones[1].allow_transfer, std::vector<std::string>{"providers"});
    EXPECT_EQ(r->zones[2].name, "b.example.");

    auto dup = parse(std::string(kHead) +
                     "[[zones_dir]]\npath = \"many\"\n[[zone]]\nname = \"a.example\"\nfile = \"x\"\n");
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().message.find("zones_dir[0](a.example.zone).name: duplicate zone \"a.example.\""),
              std::string::npos)
        << dup.error().message;
    auto missing = parse(std::string(kHead) + "[[zones_dir]]\npath = \"nowhere\"\n");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("zones_dir[0].path: cannot list"), std::string::npos)
        << missing.error().message;
    auto slash = parse(std::string(kHead) + "[[zones_dir]]\npath = \"many\"\npattern = \"x/*.zone\"\n");
    ASSERT_FALSE(slash);
    EXPECT_NE(slash.error().message.find("no '/'"), std::string::npos);
}

TEST_F(ManyZonesConfigTest, IncludeAddsTables) {
    put("zones.d/20-b.toml", "[[zone]]\nname = \"b.example\"\nfile = \"b.zone\"\ntemplate = \"standard\"\n");
    put("zones.d/10-a.toml", "[[zone]]\nname = \"a.example\"\nfile = \"a.zone\"\n");
    auto r = parse("include = \"zones.d/*.toml\"\n" + std::string(kHead));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->zones.size(), 2u);
    EXPECT_EQ(r->zones[0].name, "a.example.");
    EXPECT_EQ(r->zones[1].name, "b.example.");
    EXPECT_EQ(r->zones[1].allow_transfer, std::vector<std::string>{"providers"});
    EXPECT_EQ(r->included.size(), 2u);

    put("zones.d/30-c.toml", "[[zone]]\nname = \"c.example\"\nfile = \"c.zone\"\nnotify_delay = \"5x\"\n");
    auto bad = parse("include = \"zones.d/*.toml\"\n" + std::string(kHead));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("30-c.toml:4:16: zone[2].notify_delay:"), std::string::npos)
        << bad.error().message;
    fs::remove(dir_ / "zones.d/30-c.toml");

    put("zones.d/40-d.toml", "[server]\nlisten = [\"127.0.0.1:53\"]\n");
    auto server = parse("include = \"zones.d/*.toml\"\n" + std::string(kHead));
    ASSERT_FALSE(server);
    EXPECT_NE(server.error().message.find("40-d.toml:1:"), std::string::npos) << server.error().message;
    EXPECT_NE(server.error().message.find("server: an included file holds only"), std::string::npos)
        << server.error().message;
    fs::remove(dir_ / "zones.d/40-d.toml");

    auto none = parse("include = \"missing.toml\"\n" + std::string(kHead));
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("include: no file"), std::string::npos);
    EXPECT_TRUE(parse("include = [\"empty.d/*.toml\"]\n" + std::string(kHead)));  // a glob may match nothing
}

}  // namespace
}  // namespace headwater::conf
