// The dynamic-update keys: zone allow_update, acl update_names and update_types, zone zonefile_sync.
#include <gtest/gtest.h>

#include "conf/ConfigLoader.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {

class UpdateConfigTest : public test_support::ConfigFileTest {};

std::string config(std::string_view acl_lines, std::string_view zone_lines = "") {
    return std::string(R"([server]
listen = ["127.0.0.1:5353"]
[[key]]
name = "acme-key"
algorithm = "hmac-sha256"
secret = "YQ=="
[[acl]]
name = "acme"
keys = ["acme-key"]
)") + std::string(acl_lines) +
           "\n[[zone]]\nname = \"example.com\"\nfile = \"zones/example.com.zone\"\nallow_update = "
           "[\"acme\"]\n" +
           std::string(zone_lines) + "\n";
}

TEST_F(UpdateConfigTest, RulesNamesTypesAndSync) {
    auto r = parse(config(R"(update_names = ["_ACME-challenge.*", "@", "*.dyn", "www"]
update_types = ["txt", "TYPE65280"])",
                          R"(zonefile_sync = "5m")"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->zones.at(0).allow_update, (std::vector<std::string>{"acme"}));
    EXPECT_EQ(r->acls.at(0).update_names,
              (std::vector<std::string>{"_acme-challenge.*", "@", "*.dyn", "www"}));
    EXPECT_EQ(r->acls.at(0).update_types, (std::vector<std::string>{"TXT", "TYPE65280"}));
    EXPECT_EQ(r->zones.at(0).zonefile_sync_ms, 300000u);
}

TEST_F(UpdateConfigTest, DefaultsAreNobodyAndAtOnce) {
    auto r = parse(config(""));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->acls.at(0).update_names.empty());
    EXPECT_TRUE(r->acls.at(0).update_types.empty());
    EXPECT_EQ(r->zones.at(0).zonefile_sync_ms, 0u);
}

TEST_F(UpdateConfigTest, BadPatternsAndTypesAreClearErrors) {
    for (const char* bad :
         {R"(update_names = ["a*b"])", R"(update_names = ["www."])", R"(update_names = ["*.*"])",
          R"(update_names = ["a..b"])", R"(update_names = ["x.*.y"])"}) {
        auto r = parse(config(bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("invalid update name"), std::string::npos) << r.error().message;
    }
    for (const char* bad :
         {R"(update_types = ["NOPE"])", R"(update_types = ["ANY"])", R"(update_types = ["AXFR"])"}) {
        auto r = parse(config(bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("acl[0].update_types"), std::string::npos) << r.error().message;
    }
}

}  // namespace
}  // namespace headwater::conf
