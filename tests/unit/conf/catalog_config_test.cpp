// [[catalog]] and the zone keys catalog and catalog_group (RFC 9432 catalog zones, producer side).
#include <gtest/gtest.h>

#include "conf/ConfigLoader.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {

class CatalogConfigTest : public test_support::ConfigFileTest {};

constexpr std::string_view kHead = R"([server]
listen = ["127.0.0.1:5353"]
[[acl]]
name = "providers"
networks = ["127.0.0.1"]
)";

TEST_F(CatalogConfigTest, CatalogAndMembers) {
    auto r = parse(std::string(kHead) + R"(
[[zone]]
name = "A.example"
file = "a.zone"
catalog = "Cat.Invalid"
catalog_group = "signed"
[[zone]]
name = "b.example"
file = "b.zone"
[[catalog]]
name = "cat.invalid"
allow_transfer = ["providers"]
notify = ["127.0.0.2:5300"]
)");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->catalogs.size(), 1u);
    EXPECT_EQ(r->catalogs[0].name, "cat.invalid.");
    EXPECT_TRUE(r->catalogs[0].file.empty());
    EXPECT_EQ(r->catalogs[0].allow_transfer, std::vector<std::string>{"providers"});
    ASSERT_EQ(r->catalogs[0].notify.size(), 1u);
    ASSERT_EQ(r->zones.size(), 2u);
    EXPECT_EQ(r->zones[0].catalog, "cat.invalid.");
    EXPECT_EQ(r->zones[0].catalog_group, "signed");
    EXPECT_EQ(r->zones[1].catalog, "");
}

TEST_F(CatalogConfigTest, Errors) {
    auto unknown = parse(std::string(kHead) + R"(
[[zone]]
name = "a.example"
file = "a.zone"
catalog = "nope.invalid"
)");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("zone[0].catalog: unknown catalog \"nope.invalid.\""),
              std::string::npos)
        << unknown.error().message;

    auto group_alone = parse(std::string(kHead) + R"(
[[zone]]
name = "a.example"
file = "a.zone"
catalog_group = "g"
)");
    ASSERT_FALSE(group_alone);
    EXPECT_NE(group_alone.error().message.find("zone[0].catalog_group: needs the zone's catalog"),
              std::string::npos)
        << group_alone.error().message;

    auto clash = parse(std::string(kHead) + R"(
[[catalog]]
name = "a.example"
[[zone]]
name = "a.example"
file = "a.zone"
)");
    ASSERT_FALSE(clash);
    EXPECT_NE(clash.error().message.find("duplicate zone \"a.example.\""), std::string::npos)
        << clash.error().message;

    auto long_group = parse(std::string(kHead) +
                            "[[catalog]]\nname = \"c.invalid\"\n[[zone]]\nname = \"a.example\"\n"
                            "file = \"a.zone\"\ncatalog = \"c.invalid\"\ncatalog_group = \"" +
                            std::string(256, 'g') + "\"\n");
    ASSERT_FALSE(long_group);
    EXPECT_NE(long_group.error().message.find("longer than 255 octets"), std::string::npos);

    auto file_key = parse(std::string(kHead) + "[[catalog]]\nname = \"c.invalid\"\nfile = \"c.zone\"\n");
    ASSERT_FALSE(file_key);
    EXPECT_NE(file_key.error().message.find("catalog[0].file: unknown key"), std::string::npos)
        << file_key.error().message;
}

}  // namespace
}  // namespace headwater::conf
