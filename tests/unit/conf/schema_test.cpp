// The schema (conf/Schema.h): the duration syntax, what a bare number means for each duration key, range
// messages in the key's own unit, unknown keys in every table, the schema's own consistency (defaults,
// examples), and that docs/configuration.md and examples/headwater.toml agree with it.
#include "conf/Schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "conf/Values.h"
#include "config_test_support.h"

namespace headwater::conf {
namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot read " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string join_names(std::string_view table) {
    std::string out;
    for (const auto* key : keys_of(table)) {
        if (!out.empty()) out += ", ";
        out += key_name(*key);
    }
    return out;
}

// ---- the syntax ----

TEST(Duration, EveryUnitAndCombinations) {
    const std::pair<std::string_view, int64_t> cases[] = {
        {"250ms", 250},
        {"2s", 2000},
        {"5m", 300000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"0s", 0},
        {"1h30m", 5400000},
        {"1d12h", 129600000},
        {"1m30s", 90000},
        {"2s500ms", 2500},
        {"1d1h1m1s1ms", 90061001},
        {"007s", 7000},
    };
    for (const auto& [text, ms] : cases) {
        auto r = parse_duration(text, Unit::Seconds);
        ASSERT_TRUE(r) << text << ": " << r.error();
        EXPECT_EQ(*r, ms) << text;
    }
}

TEST(Duration, BareNumberIsInTheKeysUnit) {
    EXPECT_EQ(parse_duration("90", Unit::Seconds).value(), 90000);
    EXPECT_EQ(parse_duration("90", Unit::Milliseconds).value(), 90);
    EXPECT_EQ(parse_duration("0", Unit::Seconds).value(), 0);
}

TEST(Duration, NotADuration) {
    EXPECT_EQ(parse_duration("5x", Unit::Seconds).error(),
              "\"5x\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)");
    for (std::string_view bad : {"", "m", "5mm", "-5m", "1.5h", "five", "5 m", " 5m", "s5", "5M", "5S",
                                 "1h1h", "30m1h", "1s1m", "1h30", "5min", "5sec", "1234567890s", "5ms5s"}) {
        auto r = parse_duration(bad, Unit::Seconds);
        ASSERT_FALSE(r) << bad << " gave " << *r;
        EXPECT_EQ(r.error(), "\"" + std::string(bad) + "\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)");
    }
}

// ---- every duration key, through the loader ----

class DurationKeysTest : public test_support::ConfigFileTest {
  protected:
    // [server] on lines 1-2 with the server lines from line 3, then a zone with the zone lines.
    Result<Config, ConfigError> load(std::string_view server_lines, std::string_view zone_lines = "") {
        return parse("[server]\nlisten = [\"127.0.0.1:5353\"]\n" + std::string(server_lines) +
                     "[[zone]]\nname = \"example.com\"\nfile = \"zones/example.com.zone\"\n"
                     "secondaries = [\"192.0.2.1\"]\n" +
                     std::string(zone_lines));
    }
    Result<Config, ConfigError> load_alert(std::string_view alert_lines) {
        return parse("[server]\nlisten = [\"127.0.0.1:5353\"]\n[[alert]]\nurl = \"http://127.0.0.1/\"\n" +
                     std::string(alert_lines));
    }

    // The value a duration key was read into (milliseconds, or seconds for verify_interval).
    static uint32_t value_of(const Config& c, std::string_view path) {
        for (const auto& key : config_schema()) {
            if (key.path != path) continue;
            void* record =
                path.starts_with("server.")    ? static_cast<void*>(const_cast<ServerConfig*>(&c.server))
                : path.starts_with("alert[].") ? static_cast<void*>(const_cast<AlertConfig*>(&c.alerts.at(0)))
                                               : static_cast<void*>(const_cast<ZoneConfig*>(&c.zones.at(0)));
            return *std::get<uint32_t*>(key.slot(record));
        }
        ADD_FAILURE() << "no key " << path;
        return 0;
    }

    Result<Config, ConfigError> load_one(std::string_view path, std::string_view value) {
        const std::string line =
            std::string(path.substr(path.rfind('.') + 1)) + " = " + std::string(value) + "\n";
        if (path.starts_with("alert[].")) return load_alert(line);
        return path.starts_with("server.") ? load(line) : load("", line);
    }
};

// Bare numbers keep the meaning they had before units were accepted, so existing files load unchanged.
TEST_F(DurationKeysTest, BareNumbersPerKey) {
    struct Case {
        std::string_view path;
        uint32_t three;     // what `= bare` loads as
        uint32_t bare = 3;  // the bare number written (3, unless that is out of the key's range)
    };
    const Case cases[] = {
        {"server.tcp_idle_timeout", 3000},       // seconds, stored in milliseconds
        {"server.shutdown_grace", 3000},         // seconds
        {"server.tcp_write_timeout", 3000},      // seconds
        {"zone[].notify_retry_interval", 3000},  // seconds
        {"zone[].notify_delay", 3},              // milliseconds
        {"zone[].zonefile_sync", 3},             // milliseconds
        {"zone[].verify_interval", 3},           // seconds, stored in seconds
        {"zone[].signature_warn", 3},            // seconds, stored in seconds
        {"zone[].multi_signer_interval", 3},     // seconds, stored in seconds
        {"alert[].retry_interval", 500, 500},    // milliseconds
        {"alert[].timeout", 3000, 3000},         // milliseconds
    };
    for (const auto& c : cases) {
        const std::string bare = std::to_string(c.bare);
        for (const std::string& written : {bare, "\"" + bare + "\""}) {
            auto r = load_one(c.path, written);
            ASSERT_TRUE(r) << c.path << " = " << written << ": " << r.error().message;
            EXPECT_EQ(value_of(*r, c.path), c.three) << c.path << " = " << written;
        }
    }
    // Every duration key of the schema is covered above: a new one must say what its bare number means.
    for (const auto& key : config_schema()) {
        if (key.reader != Reader::Duration || key.path.starts_with("dnssec_policy[].")) continue;  // below
        EXPECT_TRUE(std::any_of(std::begin(cases), std::end(cases), [&](const Case& c) {
            return c.path == key.path;
        })) << key.path;
    }
}

// A policy's durations are seconds, bare or with a unit.
TEST_F(DurationKeysTest, PolicyDurationsAreSeconds) {
    auto r =
        load("",
             "[[dnssec_policy]]\nname = \"p\"\nsignature_validity = 1209600\nsignature_refresh = \"5d\"\n"
             "signature_jitter = \"90m\"\ndnskey_ttl = 300\n");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->dnssec_policies.size(), 1u);
    EXPECT_EQ(r->dnssec_policies[0].signature_validity_s, 1209600u);
    EXPECT_EQ(r->dnssec_policies[0].signature_refresh_s, 5u * 86400);
    EXPECT_EQ(r->dnssec_policies[0].signature_jitter_s, 5400u);
    EXPECT_EQ(r->dnssec_policies[0].dnskey_ttl_s, 300u);
    // A refresh at or past the validity could let a signature expire before it is renewed.
    auto bad = load(
        "", "[[dnssec_policy]]\nname = \"p\"\nsignature_validity = \"7d\"\nsignature_refresh = \"7d\"\n");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("must be shorter than signature_validity"), std::string::npos)
        << bad.error().message;
}

TEST_F(DurationKeysTest, UnitsAreConverted) {
    const std::tuple<std::string_view, std::string_view, uint32_t> cases[] = {
        {"server.tcp_idle_timeout", "\"1500ms\"", 1500},
        {"server.tcp_idle_timeout", "\"2m\"", 120000},
        {"server.tcp_idle_timeout", "\"1d\"", 86400000},
        {"server.shutdown_grace", "\"0s\"", 0},
        {"server.shutdown_grace", "\"1h\"", 3600000},
        {"server.tcp_write_timeout", "\"1m30s\"", 90000},
        {"zone[].notify_retry_interval", "\"1500ms\"", 1500},
        {"zone[].notify_retry_interval", "\"30s\"", 30000},
        {"zone[].notify_delay", "\"1s\"", 1000},
        {"zone[].notify_delay", "\"1m\"", 60000},
        {"zone[].notify_delay", "\"0ms\"", 0},
        {"zone[].verify_interval", "\"1h30m\"", 5400},
        {"zone[].verify_interval", "\"7d\"", 604800},
        {"zone[].verify_interval", "\"2000ms\"", 2},
    };
    for (const auto& [path, written, expected] : cases) {
        auto r = load_one(path, written);
        ASSERT_TRUE(r) << path << " = " << written << ": " << r.error().message;
        EXPECT_EQ(value_of(*r, path), expected) << path << " = " << written;
    }
}

TEST_F(DurationKeysTest, NotADurationNamesTheKeyAndTheSyntax) {
    auto r = load("tcp_idle_timeout = \"5x\"\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              at(3, 20, "server.tcp_idle_timeout: \"5x\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)"));
    r = load("", "notify_delay = \"1.5s\"\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              at(7, 16, "zone[0].notify_delay: \"1.5s\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)"));
    r = load("shutdown_grace = 1.5\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error().message,
        at(3, 18,
           "server.shutdown_grace: expected a duration (\"250ms\", \"2s\", \"5m\", \"1h\", \"1d\", or a "
           "number of seconds), found a floating-point number"));
    r = load("", "notify_delay = true\n");
    ASSERT_FALSE(r);
    EXPECT_CONTAINS(r.error().message, "or a number of milliseconds), found a boolean");
}

TEST_F(DurationKeysTest, RangesAreInTheKeysOwnUnit) {
    auto r = load("tcp_idle_timeout = \"500ms\"\nshutdown_grace = \"2h\"\ntcp_write_timeout = 0\n",
                  "notify_retry_interval = 31\nnotify_delay = \"2m\"\nverify_interval = \"8d\"\n");
    ASSERT_FALSE(r);
    // Every problem is reported, in file order; durations with a unit are quoted as written.
    EXPECT_EQ(
        r.error().message,
        at(3, 20, "server.tcp_idle_timeout: \"500ms\" is out of range 1..86400 seconds (1s..1d)") + "\n" +
            at(4, 18, "server.shutdown_grace: \"2h\" is out of range 0..3600 seconds (0..1h)") + "\n" +
            at(5, 21, "server.tcp_write_timeout: 0 is out of range 1..3600 seconds (1s..1h)") + "\n" +
            at(10, 25, "zone[0].notify_retry_interval: 31 is out of range 1..30 seconds") + "\n" +
            at(11, 16, "zone[0].notify_delay: \"2m\" is out of range 0..60000 milliseconds (0..1m)") + "\n" +
            at(12, 19, "zone[0].verify_interval: \"8d\" is out of range 1..604800 seconds (1s..7d)"));
    // The edges are inclusive, whatever the unit they are written in.
    EXPECT_TRUE(load("tcp_idle_timeout = \"1s\"\n"));
    EXPECT_TRUE(load("tcp_idle_timeout = \"24h\"\n"));
    EXPECT_FALSE(load("tcp_idle_timeout = \"86401s\"\n"));
    EXPECT_FALSE(load("tcp_idle_timeout = \"999ms\"\n"));
    EXPECT_TRUE(load("", "notify_delay = 60000\n"));
    EXPECT_FALSE(load("", "notify_delay = \"60001ms\"\n"));
}

// ---- unknown keys, in every table ----

class UnknownKeysTest : public test_support::ConfigFileTest {};

TEST_F(UnknownKeysTest, EveryTableListsItsKnownKeys) {
    auto r = parse(R"(typo_top = 1
[server]
listen = ["127.0.0.1:5353"]
typo_server = 1
[[key]]
name = "k"
algorithm = "hmac-sha256"
secret = "YQ=="
typo_key = 1
[[acl]]
name = "a"
networks = ["::1"]
typo_acl = 1
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
typo_zone = 1
notify = [{ address = "192.0.2.1", typo_notify = 1 }]
)");
    ASSERT_FALSE(r);
    const std::string& msg = r.error().message;
    EXPECT_EQ(
        msg,
        at(1, 1, "typo_top: unknown key (known: " + join_names("") + ")") + "\n" +
            at(4, 1, "server.typo_server: unknown key (known: " + join_names("server") + ")") + "\n" +
            at(9, 1, "key[0].typo_key: unknown key (known: " + join_names("key[]") + ")") + "\n" +
            at(13, 1, "acl[0].typo_acl: unknown key (known: " + join_names("acl[]") + ")") + "\n" +
            at(17, 1, "zone[0].typo_zone: unknown key (known: " + join_names("zone[]") + ")") + "\n" +
            at(18, 36,
               "zone[0].notify[0].typo_notify: unknown key (known: " + join_names("zone[].notify[]") + ")"));
    // The lists are the schema's, in its order.
    EXPECT_CONTAINS(msg, "key[0].typo_key: unknown key (known: name, algorithm, secret, file)");
    EXPECT_CONTAINS(msg,
                    "acl[0].typo_acl: unknown key (known: name, networks, keys, transports, tls_pins, "
                    "tls_names, update_names, update_types)");
    EXPECT_CONTAINS(msg, "zone[0].notify[0].typo_notify: unknown key (known: address, key, source)");
}

// ---- the schema itself ----

TEST(Schema, PathsAreUniqueAndEveryTableIsDescribed) {
    std::map<std::string_view, int> seen;
    for (const auto& key : config_schema()) {
        EXPECT_EQ(++seen[key.path], 1) << "duplicate " << key.path;
        EXPECT_FALSE(key.description.empty()) << key.path;
        EXPECT_FALSE(key.example.empty()) << key.path;
        EXPECT_NE(key.slot, nullptr) << key.path;
        // A key inside a table: the table is an entry too ("zone[].notify[].key" -> "zone[].notify").
        const size_t dot = key.path.rfind('.');
        if (dot != std::string_view::npos) {
            std::string_view table = key.path.substr(0, dot);
            if (table.ends_with("[]")) table.remove_suffix(2);
            EXPECT_TRUE(seen.count(table)) << key.path << " comes before its table " << table;
        }
        if (key.reader == Reader::Integer || key.reader == Reader::Duration) {
            EXPECT_LE(key.min, key.max) << key.path;
        }
        if (key.reader == Reader::Choice) {
            EXPECT_FALSE(key.choices.empty()) << key.path;
        }
    }
}

// The schema's defaults are what the loader applies, and they agree with conf::Config's initialisers (which
// code that builds a Config by hand, like the server tests, relies on).
TEST_F(UnknownKeysTest, DefaultsMatchTheStructs) {
    auto r = parse(
        "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[zone]]\nname = \"example.com\"\n"
        "file = \"zones/example.com.zone\"\n[[dnssec_policy]]\nname = \"p\"\n"
        "[[alert]]\nurl = \"http://127.0.0.1/\"\n");
    ASSERT_TRUE(r) << r.error().message;
    ServerConfig server;
    ZoneConfig zone;
    DnssecPolicyConfig policy;
    AlertConfig alert;
    // The struct's initialiser for events is empty (the loader's default names every event).
    alert.events = {"drift_start", "drift_end", "transfer_failures", "notify_giveup", "reload_failed"};
    for (const auto& key : config_schema()) {
        if (key.default_value.empty() || key.reader == Reader::Path || key.reader == Reader::ControlSocket)
            continue;
        void* loaded = nullptr;
        void* initial = nullptr;
        if (key.path.starts_with("server.")) {
            loaded = &r->server;
            initial = &server;
        } else if (key.path.starts_with("zone[].")) {
            loaded = &r->zones.at(0);
            initial = &zone;
        } else if (key.path.starts_with("dnssec_policy[].")) {
            loaded = &r->dnssec_policies.at(0);
            initial = &policy;
        } else if (key.path.starts_with("alert[].")) {
            loaded = &r->alerts.at(0);
            initial = &alert;
        } else if (key.path == "zones_dir[].pattern") {
            EXPECT_EQ(ZonesDirConfig{}.pattern, "*.zone");  // a zones_dir needs a directory: checked here
            continue;
        } else {
            ADD_FAILURE() << "a default outside [server], [[zone]], [[dnssec_policy]] and [[alert]]: "
                          << key.path;
            continue;
        }
        const bool same = std::visit(
            [&](auto a) {
                using A = decltype(a);
                // Defaults are numbers and strings (paths are checked below).
                if constexpr (std::is_same_v<A, uint32_t*> || std::is_same_v<A, uint64_t*> ||
                              std::is_same_v<A, double*> || std::is_same_v<A, std::string*> ||
                              std::is_same_v<A, bool*> || std::is_same_v<A, std::vector<std::string>*>) {
                    return *a == *std::get<A>(key.slot(initial));
                }
                return false;
            },
            key.slot(loaded));
        EXPECT_TRUE(same) << key.path << " = " << key.default_value
                          << " differs from the struct's initialiser";
    }
    EXPECT_EQ(r->server.control_socket, dir_ / "run/headwater.sock");
    EXPECT_EQ(r->server.state_dir, dir_ / "state");
}

// Each key's example loads, in a file that has what it refers to.
TEST_F(UnknownKeysTest, ExamplesLoad) {
    const std::string prelude = R"([[key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"
[[acl]]
name = "providers"
networks = ["::1"]
[[dnssec_policy]]
name = "default"
[[catalog]]
name = "catalog.invalid"
[[template]]
name = "standard"
)";
    for (const auto& key : config_schema()) {
        const std::string name(key_name(key));
        std::string document;
        if (key.path.starts_with("server.")) {
            document = prelude + "[server]\n" + (name == "listen" ? "" : "listen = [\"127.0.0.1:5353\"]\n") +
                       (name == "group" ? "user = \"headwater\"\n" : "") + std::string(key.example) + "\n";
            // The TLS keys come together: a listener needs a certificate and key, and they a listener.
            if (name == "listen_tls" || name.starts_with("tls_")) {
                for (std::string_view tls : {R"(listen_tls = ["127.0.0.1:8853"])",
                                             R"(tls_certificate = "c.pem")", R"(tls_key = "k.pem")"}) {
                    if (!tls.starts_with(name + " ")) document += std::string(tls) + "\n";
                }
            }
        } else if (key.path.starts_with("zone[]") && key.path.find("notify[]") == std::string_view::npos) {
            document = prelude + "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[zone]]\n";
            for (std::string_view base : {"name = \"example.com\"", "file = \"zones/example.com.zone\"",
                                          "secondaries = [\"192.0.2.1\"]"}) {
                if (!base.starts_with(name + " ")) document += std::string(base) + "\n";
            }
            if (name == "catalog_group") document += "catalog = \"catalog.invalid\"\n";
            if (name == "foreign_dnskeys" || name == "multi_signer")
                document += "dnssec_policy = \"default\"\n";
            if (name == "multi_signer") document += "foreign_dnskeys = \"provider-b.dnskey\"\n";
            document += std::string(key.example) + "\n";
        } else if (key.path.starts_with("dnssec_policy[].")) {
            if (name == "name") continue;  // the prelude's policy is that example
            document = prelude + "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[dnssec_policy]]\n" +
                       (name == "name" ? "" : "name = \"other\"\n") + std::string(key.example) + "\n";
        } else if (key.path.starts_with("alert[].")) {
            document = prelude + "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[alert]]\n" +
                       (name == "url" ? "" : "url = \"http://127.0.0.1:8080/hook\"\n") +
                       std::string(key.example) + "\n";
        } else {
            continue;  // tables, and keys that make sense only with their neighbours (see the docs' example)
        }
        auto r = parse(document);
        EXPECT_TRUE(r) << key.path << ": " << (r ? "" : r.error().message);
    }
}

// ---- docs/configuration.md and examples/headwater.toml ----

TEST(SchemaDocs, ConfigurationPageNamesEveryKey) {
    const std::string page = read_file(fs::path(HEADWATER_SOURCE_DIR) / "docs/configuration.md");
    for (const auto& key : config_schema()) {
        EXPECT_NE(page.find("`" + std::string(key.path) + "`"), std::string::npos)
            << "docs/configuration.md does not mention `" << key.path << "`";
    }
}

// The TOML blocks of the page use only keys of the schema, with values of the right syntax; the complete
// example (the first block) loads.
TEST_F(UnknownKeysTest, ConfigurationPageExamplesUseKnownKeys) {
    const std::string page = read_file(fs::path(HEADWATER_SOURCE_DIR) / "docs/configuration.md");
    size_t pos = 0;
    int blocks = 0;
    while ((pos = page.find("```toml\n", pos)) != std::string::npos) {
        const size_t start = pos + 8;
        const size_t end = page.find("```", start);
        ASSERT_NE(end, std::string::npos);
        const std::string block = page.substr(start, end - start);
        pos = end + 3;
        auto r = parse(block);
        if (blocks++ == 0) {
            EXPECT_TRUE(r) << "the complete example:\n" << (r ? "" : r.error().message);
            continue;
        }
        if (r) continue;
        for (std::string_view bad :
             {"unknown key", "unknown table", "is not a duration", "expected", "out of range"})
            EXPECT_EQ(r.error().message.find(bad), std::string::npos) << block << "\n" << r.error().message;
    }
    EXPECT_GT(blocks, 1);
}

TEST(SchemaDocs, ExampleConfigLoadsAndItsCommentedKeysAreKnown) {
    const fs::path example = fs::path(HEADWATER_SOURCE_DIR) / "examples/headwater.toml";
    auto r = load_config(example);
    ASSERT_TRUE(r) << r.error().message;

    // Keys shown commented out ("# tcp_idle_timeout = 10") must exist too: a reader uncommenting one
    // must not get an unknown key.
    std::istringstream lines(read_file(example));
    const std::regex table_line(R"(^#?\s*\[\[?([a-z_]+)\]\]?\s*(#.*)?$)");
    const std::regex key_line(R"(^#?\s*([a-z_]+)\s*=)");
    std::string table;
    std::string line;
    int checked = 0;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_match(line, m, table_line)) {
            table = m[1].str() == "server" ? "server" : m[1].str() + "[]";
        } else if (std::regex_search(line, m, key_line) && !table.empty()) {
            const std::string path = table + "." + m[1].str();
            EXPECT_TRUE(std::any_of(config_schema().begin(), config_schema().end(),
                                    [&](const SchemaKey& k) { return k.path == path; }))
                << "examples/headwater.toml: " << line << " (" << path << " is not in the schema)";
            ++checked;
        }
    }
    EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace headwater::conf
