#include "conf/ConfigLoader.h"

#include <gtest/gtest.h>

#include "config_test_support.h"

namespace headwater::conf {
namespace {
namespace fs = std::filesystem;

// A fresh directory per test holding the config's zone files; removed afterwards.
class ConfigTest : public test_support::ConfigFileTest {};

constexpr std::string_view kMinimal = R"([server]
listen = ["127.0.0.1:5353"]
)";

dns::Endpoint endpoint(std::string_view text) {
    return *dns::Endpoint::parse(text, 53);
}
dns::IpNetwork network(std::string_view text) {
    return *dns::IpNetwork::parse(text);
}

// ---- happy paths ----

TEST_F(ConfigTest, FullExampleProducesExactStructs) {
    auto result = parse(R"(
[server]
listen = ["127.0.0.1:5353", "[::1]:5353", "127.0.0.2"]
control_socket = "run/hw.sock"
state_dir = "/var/lib/headwater"
log_level = "debug"
tcp_idle_timeout = 30
tcp_max_connections = 100
shutdown_grace = 0

[[acl]]
name = "providers"
networks = ["127.0.0.0/8", "::1/128"]

[[acl]]
name = "keyed"
networks = ["192.0.2.1"]
keys = ["xfr-key", "Other.Key."]

[[key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"

[[key]]
name = "other.key"
algorithm = "HMAC-MD5.SIG-ALG.REG.INT."
secret = "AAEC/w=="

[[zone]]
name = "Example.COM"
file = "zones/example.com.zone"
allow_transfer = ["providers", "keyed"]

[[zone]]
name = "example.net."
file = "zones/../zones/example.net.zone"
)");
    ASSERT_TRUE(result) << result.error().message;
    const Config& c = *result;
    EXPECT_EQ(c.path, config_path_);
    ASSERT_EQ(c.server.listen.size(), 3u);
    EXPECT_EQ(c.server.listen[0], endpoint("127.0.0.1:5353"));
    EXPECT_EQ(c.server.listen[1], endpoint("[::1]:5353"));
    EXPECT_EQ(c.server.listen[2], endpoint("127.0.0.2:53"));
    EXPECT_EQ(c.server.control_socket, dir_ / "run/hw.sock");
    EXPECT_EQ(c.server.state_dir, fs::path("/var/lib/headwater"));
    EXPECT_EQ(c.server.log_level, "debug");
    EXPECT_EQ(c.server.tcp_idle_timeout_ms, 30000u);
    EXPECT_EQ(c.server.tcp_max_connections, 100u);
    EXPECT_EQ(c.server.shutdown_grace_ms, 0u);

    ASSERT_EQ(c.acls.size(), 2u);
    EXPECT_EQ(c.acls[0].name, "providers");
    EXPECT_EQ(c.acls[0].networks, (std::vector{network("127.0.0.0/8"), network("::1/128")}));
    EXPECT_TRUE(c.acls[0].keys.empty());
    EXPECT_EQ(c.acls[1].name, "keyed");
    EXPECT_EQ(c.acls[1].networks, (std::vector{network("192.0.2.1/32")}));
    EXPECT_EQ(c.acls[1].keys, (std::vector<std::string>{"xfr-key.", "other.key."}));

    ASSERT_EQ(c.keys.size(), 2u);
    EXPECT_EQ(c.keys[0].name, "xfr-key.");
    EXPECT_EQ(c.keys[0].algorithm, "hmac-sha256");
    EXPECT_EQ(c.keys[0].secret, "secret");
    EXPECT_TRUE(c.keys[0].file.empty());
    EXPECT_EQ(c.keys[1].name, "other.key.");
    EXPECT_EQ(c.keys[1].algorithm, "hmac-md5");
    EXPECT_EQ(c.keys[1].secret, std::string("\x00\x01\x02\xff", 4));

    ASSERT_EQ(c.zones.size(), 2u);
    EXPECT_EQ(c.zones[0].name, "example.com.");
    EXPECT_EQ(c.zones[0].file, dir_ / "zones/example.com.zone");
    EXPECT_EQ(c.zones[0].allow_transfer, (std::vector<std::string>{"providers", "keyed"}));
    EXPECT_EQ(c.zones[1].name, "example.net.");
    EXPECT_EQ(c.zones[1].file, dir_ / "zones/example.net.zone");
    EXPECT_TRUE(c.zones[1].allow_transfer.empty());
}

TEST_F(ConfigTest, MinimalConfigGetsDefaults) {
    auto result = parse(kMinimal);
    ASSERT_TRUE(result) << result.error().message;
    const ServerConfig& s = result->server;
    EXPECT_EQ(s.listen, (std::vector{endpoint("127.0.0.1:5353")}));
    EXPECT_EQ(s.control_socket, dir_ / "run/headwater.sock");
    EXPECT_EQ(s.state_dir, dir_ / "state");
    EXPECT_EQ(s.log_level, "info");
    EXPECT_EQ(s.tcp_idle_timeout_ms, 10000u);
    EXPECT_EQ(s.tcp_max_connections, 256u);
    EXPECT_EQ(s.shutdown_grace_ms, 5000u);
    EXPECT_TRUE(result->acls.empty());
    EXPECT_TRUE(result->zones.empty());
}

// A default is read once and copied to the zones after: a zone that sets the key keeps its own value, and
// the zones around it still get the default, of every kind of value.
TEST_F(ConfigTest, DefaultsReachEveryZoneThatDoesNotSetTheKey) {
    auto result = parse(std::string(kMinimal) + R"(
[[zone]]
name = "a.example"
file = "zones/example.com.zone"
[[zone]]
name = "b.example"
file = "zones/example.com.zone"
notify_delay = "1s"
serial_policy = "unixtime"
journal_max_bytes = 4096
max_ixfr_ratio = 0.5
[[zone]]
name = "c.example"
file = "zones/example.com.zone"
)");
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_EQ(result->zones.size(), 3u);
    const auto& a = result->zones[0];
    const auto& b = result->zones[1];
    const auto& c = result->zones[2];
    EXPECT_EQ(b.notify_delay_ms, 1000u);
    EXPECT_EQ(b.serial_policy, "unixtime");
    EXPECT_EQ(b.journal_max_bytes, 4096u);
    EXPECT_DOUBLE_EQ(b.max_ixfr_ratio, 0.5);
    for (const ZoneConfig* z : {&a, &c}) {
        EXPECT_EQ(z->notify_delay_ms, 250u) << z->name;
        EXPECT_EQ(z->serial_policy, "increment") << z->name;
        EXPECT_EQ(z->journal_max_bytes, 64ull << 20) << z->name;
        EXPECT_DOUBLE_EQ(z->max_ixfr_ratio, 1.0) << z->name;
        EXPECT_EQ(z->signature_warn_s, 7u * 86400) << z->name;
    }
}

TEST_F(ConfigTest, AbsolutePathsAreAbsoluteAndNormalised) {
    auto result = parse_config(kMinimal, dir_ / "sub/../headwater.toml");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->path, dir_ / "headwater.toml");
    EXPECT_EQ(result->server.control_socket, dir_ / "run/headwater.sock");
    EXPECT_TRUE(result->path.is_absolute());
}

// Relative paths are joined to the config's directory; the plain ones as text (fast), the others through
// lexically_normal: both must come out as lexically_normal would make them.
TEST_F(ConfigTest, RelativePathsJoinTheConfigDirectoryNormalised) {
    const std::vector<std::pair<std::string, fs::path>> cases = {
        {"zones/a.zone", dir_ / "zones/a.zone"},      {"a.zone", dir_ / "a.zone"},
        {"./zones/a.zone", dir_ / "zones/a.zone"},    {"zones/./a.zone", dir_ / "zones/a.zone"},
        {"x/../zones/a.zone", dir_ / "zones/a.zone"}, {"zones//a.zone", dir_ / "zones/a.zone"},
        {"../a.zone", dir_.parent_path() / "a.zone"}, {".hidden/a.zone", dir_ / ".hidden/a.zone"},
        {"zones/a..zone", dir_ / "zones/a..zone"},
    };
    for (const auto& [written, expected] : cases) {
        auto result = parse_config(
            std::string(kMinimal) + "[[zone]]\nname = \"example.com\"\nfile = \"" + written + "\"\n",
            dir_ / "sub/../headwater.toml");
        ASSERT_TRUE(result) << written << ": " << result.error().message;
        ASSERT_EQ(result->zones.size(), 1u);
        EXPECT_EQ(result->zones[0].file, expected.lexically_normal().string()) << written;
    }
}

TEST_F(ConfigTest, RelativeConfigPathResolvesAgainstCurrentDirectory) {
    const fs::path old = fs::current_path();
    fs::current_path(dir_);
    auto result = parse_config(kMinimal, "headwater.toml");
    fs::current_path(old);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->path, dir_ / "headwater.toml");
    EXPECT_EQ(result->server.state_dir, dir_ / "state");
}

TEST_F(ConfigTest, KeyOnlyAclAndInlineTables) {
    auto result = parse(R"(
server = { listen = ["::1"] }
acl = [{ name = "k", keys = ["xfr-key"] }]
zone = [{ name = "example.com", file = "zones/example.com.zone", allow_transfer = ["k"] }]
key = [{ name = "xfr-key", algorithm = "hmac-sha1", secret = "YQ==" }]
)");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->server.listen, (std::vector{endpoint("[::1]:53")}));
    ASSERT_EQ(result->acls.size(), 1u);
    EXPECT_TRUE(result->acls[0].networks.empty());
    EXPECT_EQ(result->acls[0].keys, (std::vector<std::string>{"xfr-key."}));
    ASSERT_EQ(result->keys.size(), 1u);
    EXPECT_EQ(result->keys[0].secret, "a");
    EXPECT_EQ(result->zones.at(0).allow_transfer, (std::vector<std::string>{"k"}));
}

TEST_F(ConfigTest, AclMayBeDefinedAfterTheZoneUsingIt) {
    auto result = parse(R"([server]
listen = ["127.0.0.1:5353"]
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
allow_transfer = ["later"]
[[acl]]
name = "later"
networks = ["127.0.0.1"]
)");
    ASSERT_TRUE(result) << result.error().message;
}

TEST_F(ConfigTest, RootZoneIsAccepted) {
    auto result =
        parse(std::string(kMinimal) + "[[zone]]\nname = \".\"\nfile = \"zones/example.net.zone\"\n");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->zones.at(0).name, ".");
}

TEST_F(ConfigTest, ZoneNamesWithUnderscoreDigitsAndHyphen) {
    auto result = parse(std::string(kMinimal) +
                        "[[zone]]\nname = \"_Tcp.x-1.9.Example\"\nfile = \"zones/example.net.zone\"\n");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->zones.at(0).name, "_tcp.x-1.9.example.");
}

TEST_F(ConfigTest, LoadConfigReadsFile) {
    write("headwater.toml",
          std::string(kMinimal) + "[[zone]]\nname = \"example.com\"\nfile = \"zones/example.com.zone\"\n");
    auto result = load_config(config_path_);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->path, config_path_);
    EXPECT_EQ(result->zones.at(0).file, dir_ / "zones/example.com.zone");
}

TEST_F(ConfigTest, LoadConfigMissingFile) {
    auto result = load_config(dir_ / "nope.toml");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message,
              "cannot read " + (dir_ / "nope.toml").string() + ": No such file or directory");
}

TEST_F(ConfigTest, LoadConfigDirectory) {
    auto result = load_config(dir_);
    ASSERT_FALSE(result);
    EXPECT_CONTAINS(result.error().message, "Is a directory");
}

TEST_F(ConfigTest, LoadConfigErrorsNameThePathAsGiven) {
    write("headwater.toml", "[server]\nlisten = []\n");
    const fs::path old = fs::current_path();
    fs::current_path(dir_);
    auto result = load_config("headwater.toml");
    fs::current_path(old);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "headwater.toml:2:10: server.listen: must name at least one address");
}

// ---- TOML syntax ----

TEST_F(ConfigTest, SyntaxErrorHasLineAndColumn) {
    const std::string msg = error_of("[server]\nlisten = [\"127.0.0.1:5353\"\nlog_level = \"info\"\n");
    EXPECT_CONTAINS(msg, config_path_.string() + ":3:");
    EXPECT_EQ(msg.find('\n'), std::string::npos);  // a syntax error is the only line
}

TEST_F(ConfigTest, SyntaxErrorDuplicateKey) {
    const std::string msg = error_of("[server]\nlisten = [\"127.0.0.1\"]\nlisten = [\"::1\"]\n");
    EXPECT_CONTAINS(msg, config_path_.string() + ":3:");
    EXPECT_CONTAINS(msg, "listen");
}

// ---- unknown keys and tables ----

TEST_F(ConfigTest, UnknownZoneKey) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[zone]]
name = "example.com"
file = "zones/example.com.zone"
alow_transfer = ["x"]
)");
    EXPECT_EQ(msg, at(6, 1,
                      "zone[0].alow_transfer: unknown key (known: name, file, allow_transfer, allow_update, "
                      "serial_policy, journal_max_changesets, journal_max_bytes, max_ixfr_ratio, notify, "
                      "notify_retries, notify_retry_interval, notify_delay, zonefile_sync, secondaries, "
                      "verify_interval, verify_key, verify_sample, dnssec_policy, signature_warn, parent, "
                      "foreign_dnskeys, multi_signer, multi_signer_interval, template, "
                      "catalog, catalog_group)"));
}

TEST_F(ConfigTest, UnknownTopLevelKeyAndTable) {
    // Keys after [server] belong to it, so a top-level key has to come first.
    const std::string msg = error_of("verbose = true\n" + std::string(kMinimal) + "[logging]\nlevel = 1\n");
    EXPECT_CONTAINS(
        msg, at(1, 1,
                "verbose: unknown key (known: server, key, acl, dnssec_policy, include, template, catalog, "
                "zone, alert, lab, zones_dir)"));
    EXPECT_CONTAINS(
        msg, at(4, 2,
                "logging: unknown table (known: server, key, acl, dnssec_policy, include, template, catalog, "
                "zone, alert, lab, zones_dir)"));
}

TEST_F(ConfigTest, UnknownServerKeyAndSubTable) {
    const std::string msg = error_of(std::string(kMinimal) + "listen_tcp = 1\n[server.extra]\nx = 1\n");
    EXPECT_CONTAINS(
        msg, at(3, 1,
                "server.listen_tcp: unknown key (known: listen, control_socket, state_dir, "
                "log_level, tcp_idle_timeout, tcp_max_connections, shutdown_grace, transfer_log, "
                "tcp_max_per_client, tcp_write_timeout, max_transfers, max_query_size, "
                "notify_max_in_flight, user, group, udp_threads, tcp_threads, listen_tls, tls_certificate, "
                "tls_key, tls_client_ca, metrics_listen, lab)"));
    EXPECT_CONTAINS(msg, "server.extra: unknown table");
}

TEST_F(ConfigTest, UnknownAclKey) {
    const std::string msg =
        error_of(std::string(kMinimal) + "[[acl]]\nname = \"a\"\nnetwork = [\"::1\"]\nkeys = [\"k\"]\n");
    EXPECT_CONTAINS(msg, at(5, 1,
                            "acl[0].network: unknown key (known: name, networks, keys, transports, tls_pins, "
                            "tls_names, update_names, update_types)"));
}

// ---- wrong types ----

TEST_F(ConfigTest, WrongTypes) {
    const std::string msg = error_of(R"([server]
listen = "127.0.0.1"
log_level = 3
tcp_idle_timeout = 1.5
tcp_max_connections = "many"
control_socket = 7
state_dir = ["a"]
)");
    EXPECT_CONTAINS(msg, at(2, 10, "server.listen: expected an array, found a string"));
    EXPECT_CONTAINS(msg, at(3, 13, "server.log_level: expected a string, found an integer"));
    EXPECT_CONTAINS(
        msg,
        at(4, 20,
           "server.tcp_idle_timeout: expected a duration (\"250ms\", \"2s\", \"5m\", \"1h\", \"1d\", or a "
           "number of seconds), found a floating-point number"));
    EXPECT_CONTAINS(msg, at(5, 23, "server.tcp_max_connections: expected an integer, found a string"));
    EXPECT_CONTAINS(msg, at(6, 18, "server.control_socket: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(7, 13, "server.state_dir: expected a string, found an array"));
}

TEST_F(ConfigTest, WrongElementTypes) {
    const std::string msg = error_of(R"([server]
listen = ["127.0.0.1", 53]
[[acl]]
name = 1
networks = "127.0.0.0/8"
[[acl]]
name = "b"
networks = [true]
keys = [1, ""]
[[zone]]
name = "example.com"
file = 5
allow_transfer = "b"
)");
    EXPECT_CONTAINS(msg, at(2, 24, "server.listen[1]: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(4, 8, "acl[0].name: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(5, 12, "acl[0].networks: expected an array, found a string"));
    EXPECT_CONTAINS(msg, at(8, 13, "acl[1].networks[0]: expected a string, found a boolean"));
    EXPECT_CONTAINS(msg, at(9, 9, "acl[1].keys[0]: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(9, 12, "acl[1].keys[1]: must not be empty"));
    EXPECT_CONTAINS(msg, at(12, 8, "zone[0].file: expected a string, found an integer"));
    EXPECT_CONTAINS(msg, at(13, 18, "zone[0].allow_transfer: expected an array, found a string"));
}

TEST_F(ConfigTest, ServerMustBeATableAndAclAnArrayOfTables) {
    const std::string msg = error_of("server = 1\n[acl]\nname = \"x\"\n");
    EXPECT_CONTAINS(msg, at(1, 10, "server: expected a table ([server]), found an integer"));
    EXPECT_CONTAINS(msg, at(2, 1, "acl: expected an array of tables ([[acl]]), found a table"));
}

TEST_F(ConfigTest, ZoneArrayElementsMustBeTables) {
    const std::string msg = error_of("zone = [\"example.com\"]\n" + std::string(kMinimal));
    EXPECT_EQ(msg, at(1, 9, "zone[0]: expected a table, found a string"));
}

// ---- missing required keys ----

TEST_F(ConfigTest, MissingServer) {
    EXPECT_EQ(error_of("# nothing\n"),
              at(1, 1, "server: missing [server] table (server.listen is required)"));
}

TEST_F(ConfigTest, MissingListen) {
    EXPECT_EQ(
        error_of("\n[server]\nlog_level = \"info\"\n"),
        at(2, 1, "server.listen: missing required key (e.g. listen = [\"127.0.0.1:5353\", \"[::1]:5353\"])"));
}

TEST_F(ConfigTest, EmptyListen) {
    EXPECT_EQ(error_of("[server]\nlisten = []\n"),
              at(2, 10, "server.listen: must name at least one address"));
}

TEST_F(ConfigTest, MissingZoneAndAclKeys) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
networks = ["::1"]
[[zone]]
file = "zones/example.com.zone"
[[zone]]
name = "example.net"
[[zone]]
name = ""
file = ""
)");
    EXPECT_CONTAINS(msg, at(3, 1, "acl[0].name: missing required key"));
    EXPECT_CONTAINS(msg, at(5, 1, "zone[0].name: missing required key"));
    EXPECT_CONTAINS(msg, at(7, 1, "zone[1].file: missing required key"));
    EXPECT_CONTAINS(msg, at(10, 8, "zone[2].name: must not be empty"));
    EXPECT_CONTAINS(msg, at(11, 8, "zone[2].file: path is empty"));
}

TEST_F(ConfigTest, AclWithoutNetworksOrKeys) {
    const std::string msg = error_of(std::string(kMinimal) + "[[acl]]\nname = \"empty\"\nnetworks = []\n");
    EXPECT_EQ(
        msg,
        at(3, 1,
           "acl[0]: names neither networks nor keys (nor tls_pins, tls_names), so it would match nobody"));
}

// ---- TLS: listeners, and the ACL's transport and certificate factors ----

constexpr std::string_view kTlsServer = R"([server]
listen = ["127.0.0.1:5353"]
listen_tls = ["127.0.0.1", "[::1]:8853"]
tls_certificate = "tls/server.crt"
tls_key = "tls/server.key"
tls_client_ca = "/etc/headwater/ca.crt"
)";

TEST_F(ConfigTest, TlsListenersAndAcl) {
    auto result = parse(std::string(kTlsServer) + R"(
[[key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"

[[acl]]
name = "xot"
networks = ["192.0.2.0/24"]
keys = ["xfr-key"]
transports = ["tls"]
tls_pins = ["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
tls_names = ["XFR.Provider.Example.", "*.xfr.provider.example"]
)");
    ASSERT_TRUE(result) << result.error().message;
    const ServerConfig& s = result->server;
    ASSERT_EQ(s.listen_tls.size(), 2u);
    EXPECT_EQ(s.listen_tls[0], endpoint("127.0.0.1:853"));  // RFC 7858's port when none is given
    EXPECT_EQ(s.listen_tls[1], endpoint("[::1]:8853"));
    EXPECT_EQ(s.tls_certificate, dir_ / "tls/server.crt");
    EXPECT_EQ(s.tls_key, dir_ / "tls/server.key");
    EXPECT_EQ(s.tls_client_ca, fs::path("/etc/headwater/ca.crt"));
    const AclConfig& acl = result->acls.at(0);
    EXPECT_EQ(acl.transports, std::vector<std::string>{"tls"});
    EXPECT_EQ(acl.tls_pins, std::vector<std::string>{"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="});
    EXPECT_EQ(acl.tls_names, (std::vector<std::string>{"xfr.provider.example", "*.xfr.provider.example"}));
}

TEST_F(ConfigTest, NoTlsByDefault) {
    auto result = parse(kMinimal);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_TRUE(result->server.listen_tls.empty());
    EXPECT_TRUE(result->server.tls_certificate.empty());
}

TEST_F(ConfigTest, TlsListenerNeedsCertificateAndKey) {
    const std::string msg =
        error_of("[server]\nlisten = [\"127.0.0.1:5353\"]\nlisten_tls = [\"127.0.0.1:853\"]\n");
    EXPECT_CONTAINS(msg, at(3, 14, "server.tls_certificate: needed with server.listen_tls (PEM file)"));
    EXPECT_CONTAINS(msg, at(3, 14, "server.tls_key: needed with server.listen_tls (PEM file)"));
}

TEST_F(ConfigTest, TlsFilesWithoutListener) {
    const std::string msg = error_of(std::string(kMinimal) + "tls_key = \"k.pem\"\n");
    EXPECT_EQ(
        msg, at(3, 11, "server.tls_key: set, but server.listen_tls is empty (no TLS listener would use it)"));
}

TEST_F(ConfigTest, TlsListenerOnAPlainPort) {
    const std::string msg = error_of(R"([server]
listen = ["127.0.0.1:853"]
listen_tls = ["127.0.0.1"]
tls_certificate = "c.pem"
tls_key = "k.pem"
)");
    EXPECT_EQ(
        msg,
        at(3, 14,
           "server.listen_tls: 127.0.0.1:853 is also in server.listen (one port serves plain DNS or TLS)"));
}

TEST_F(ConfigTest, BadTransportsPinsAndNames) {
    const std::string msg = error_of(std::string(kTlsServer) + R"([[acl]]
name = "x"
networks = ["192.0.2.1"]
transports = ["tls", "quic", "tls"]
tls_pins = ["c2VjcmV0", "!"]
tls_names = ["bad name", "a..b", "*.ok.example"]
)");
    EXPECT_CONTAINS(msg, "acl[0].transports[1]: unknown transport \"quic\" (known: udp, tcp, tls)");
    EXPECT_CONTAINS(msg, "acl[0].transports[2]: duplicate transport \"tls\"");
    EXPECT_CONTAINS(msg,
                    "acl[0].tls_pins[0]: a pin is the base64 of a SHA-256 digest (32 octets), this is 6");
    EXPECT_CONTAINS(msg, "acl[0].tls_pins[1]: invalid base64");
    EXPECT_CONTAINS(msg, "acl[0].tls_names[0]: invalid certificate name \"bad name\"");
    EXPECT_CONTAINS(msg, "acl[0].tls_names[1]: invalid certificate name \"a..b\"");
    EXPECT_EQ(msg.find("tls_names[2]"), std::string::npos) << msg;
}

TEST_F(ConfigTest, AclTlsFactorsNeedWhatTheyRelyOn) {
    // A TLS-only rule or a certificate without any TLS listener; names without a CA; a certificate
    // rule that leaves TLS out.
    std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "a"
networks = ["192.0.2.1"]
transports = ["tls"]

[[acl]]
name = "b"
tls_pins = ["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
)");
    EXPECT_CONTAINS(msg, at(6, 14, "acl[0].transports: needs TLS, but server.listen_tls is empty"));
    EXPECT_CONTAINS(msg, at(10, 12, "acl[1].tls_pins: needs TLS, but server.listen_tls is empty"));
    msg = error_of(R"([server]
listen = ["127.0.0.1:5353"]
listen_tls = ["127.0.0.1"]
tls_certificate = "c.pem"
tls_key = "k.pem"

[[acl]]
name = "n"
tls_names = ["xfr.example.net"]
transports = ["tcp"]
)");
    EXPECT_CONTAINS(msg, at(9, 13,
                            "acl[0].tls_names: needs server.tls_client_ca (names are trusted only in a "
                            "certificate it verifies)"));
    EXPECT_CONTAINS(msg, at(10, 14,
                            "acl[0].transports: leaves out tls, but a client certificate (tls_pins, "
                            "tls_names) only comes over TLS"));
}

// ---- addresses, networks, ports ----

TEST_F(ConfigTest, BadListenAddresses) {
    const std::string msg = error_of(R"([server]
listen = ["127.0.0.1:5353", "localhost:53", "127.0.0.1:0", "127.0.0.1:70000", "[::1]:x", "300.1.1.1"]
)");
    EXPECT_CONTAINS(msg, at(2, 29,
                            "server.listen[1]: invalid address \"localhost:53\": \"localhost\" is not an IP "
                            "address (host names are not resolved)"));
    EXPECT_CONTAINS(
        msg, at(2, 45, "server.listen[2]: invalid port \"0\" in \"127.0.0.1:0\": must be a number 1..65535"));
    EXPECT_CONTAINS(msg, "server.listen[3]: invalid port \"70000\"");
    EXPECT_CONTAINS(msg, "server.listen[4]: invalid port \"x\"");
    EXPECT_CONTAINS(msg,
                    "server.listen[5]: invalid address \"300.1.1.1\": \"300.1.1.1\" is not an IP address");
    EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 4);  // five problems, one line each
}

TEST_F(ConfigTest, DuplicateListenEndpoints) {
    const std::string msg =
        error_of("[server]\nlisten = [\"127.0.0.1:53\", \"::1\", \"127.0.0.1\", \"[::1]:53\"]\n");
    EXPECT_CONTAINS(
        msg, at(2, 34, "server.listen[2]: duplicate endpoint 127.0.0.1:53 (first at server.listen[0])"));
    EXPECT_CONTAINS(msg, "server.listen[3]: duplicate endpoint [::1]:53 (first at server.listen[1])");
}

TEST_F(ConfigTest, BadAclNetworks) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "a"
networks = ["127.0.0.1/8", "10.0.0.0/33", "example.net", "::1/129", "nonsense"]
)");
    EXPECT_CONTAINS(msg,
                    at(5, 13, "acl[0].networks[0]: host bits set in 127.0.0.1/8, did you mean 127.0.0.0/8?"));
    EXPECT_CONTAINS(
        msg, "acl[0].networks[1]: invalid network \"10.0.0.0/33\": prefix length must be a number 0..32");
    EXPECT_CONTAINS(msg,
                    "acl[0].networks[2]: invalid network \"example.net\": \"example.net\" is not an IP "
                    "address (host names are not resolved)");
    EXPECT_CONTAINS(msg, "acl[0].networks[3]: invalid network \"::1/129\"");
    EXPECT_CONTAINS(msg, "acl[0].networks[4]: invalid network \"nonsense\"");
}

// ---- duplicates and references ----

TEST_F(ConfigTest, DuplicateZoneIgnoresCaseAndTrailingDot) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[zone]]
name = "example.com"
file = "zones/example.com.zone"
[[zone]]
name = "example.net"
file = "zones/example.net.zone"
[[zone]]
name = "EXAMPLE.com."
file = "zones/example.com.zone"
)");
    EXPECT_EQ(msg, at(10, 8, "zone[2].name: duplicate zone \"example.com.\" (first at line 4)"));
}

// ---- a large [[zone]] array, read on several threads ----

// `count` zones after kMinimal, four lines each: [[zone]] at line 3 + 4i, name at 4 + 4i. Odd zones take
// the template (notify_delay = "1s"); zone `i` is named z<i>.test unless `name_of` says otherwise.
template <class NameOf>
std::string many_zones(std::size_t count, const NameOf& name_of, std::string_view tail = "") {
    std::string text(kMinimal);
    for (std::size_t i = 0; i < count; ++i) {
        text += "[[zone]]\nname = \"" + name_of(i) + "\"\nfile = \"zones/example.com.zone\"\n";
        text += i % 2 == 1 ? "template = \"t\"\n" : "# no template\n";
    }
    return text + "[[template]]\nname = \"t\"\nnotify_delay = \"1s\"\n" + std::string(tail);
}

std::string zone_number(std::size_t i) {
    return "z" + std::to_string(i) + ".test";
}

TEST_F(ConfigTest, ManyZonesKeepTheirOrderDefaultsAndTemplate) {
    // Enough zones to be read on threads where there are cores; the outcome is the one-thread read's.
    auto r = parse(many_zones(10000, zone_number));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->zones.size(), 10000u);
    for (std::size_t i = 0; i < r->zones.size(); ++i) {
        const auto& z = r->zones[i];
        ASSERT_EQ(z.name, zone_number(i) + ".") << i;
        ASSERT_EQ(z.file, (dir_ / "zones/example.com.zone").string()) << i;
        ASSERT_EQ(z.notify_delay_ms, i % 2 == 1 ? 1000u : 250u) << i;
        ASSERT_EQ(z.template_name, i % 2 == 1 ? "t" : "") << i;
        ASSERT_EQ(z.serial_policy, "increment") << i;
    }
}

TEST_F(ConfigTest, ManyZonesDuplicatesAndErrorsAnywhereAreReportedInOrder) {
    // Duplicates far apart (in different threads' runs) and near, one of them a catalog's name (catalogs
    // are read first), and a bad key: every problem, each where it is written, in the file's order.
    auto name_of = [](std::size_t i) {
        if (i == 9000) return std::string("Z5.test.");  // zone 5, in another run
        if (i == 12) return std::string("z11.test");    // the zone before it
        if (i == 7000) return std::string("cat.test");  // the catalog's
        return zone_number(i);
    };
    std::string text = many_zones(10000, name_of, "[[catalog]]\nname = \"cat.test\"\n");
    const std::size_t bad = 4000;  // an unknown key in zone 4000's table
    const std::string header = "name = \"" + zone_number(bad) + "\"\n";
    text.insert(text.find(header) + header.size(), "nonsense = 1\n");
    const std::string msg = error_of(text);
    auto name_line = [](std::size_t i) { return static_cast<int>(4 + 4 * i); };
    auto first_at = [&](std::size_t i) { return " (first at line " + std::to_string(name_line(i)) + ")"; };
    const int catalog_line = name_line(10000) + 3 + 1;  // past the template's lines and the inserted one
    const std::vector<std::string> expected = {
        at(name_line(12), 8, "zone[12].name: duplicate zone \"z11.test.\"" + first_at(11)),
        at(name_line(bad) + 1, 1, "zone[4000].nonsense: unknown key (known: name, file, "),
        at(name_line(7000) + 1, 8,
           "zone[7000].name: duplicate zone \"cat.test.\" (first at line " + std::to_string(catalog_line) +
               ")"),
        at(name_line(9000) + 1, 8, "zone[9000].name: duplicate zone \"z5.test.\"" + first_at(5)),
    };
    std::size_t from = 0;
    for (const auto& line : expected) {
        const std::size_t found = msg.find(line, from);
        ASSERT_NE(found, std::string::npos) << "missing, or out of order: " << line << "\nin:\n" << msg;
        from = found + line.size();
    }
    EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 3) << msg;
}

TEST_F(ConfigTest, ManyZonesProblemsAtOnePlaceInTwoIncludedFilesKeepTheirOrder) {
    // zone[5000] (conf.d/1.toml) repeats zone 0's name, zone[5001] (conf.d/2.toml) has a bad name: both at
    // 2:8 of their files. A sort by place keeps them in the order they were found, which must be the
    // one-thread read's: the duplicate first, though it is checked after the threads have ended.
    std::filesystem::create_directories(dir_ / "conf.d");
    write("conf.d/1.toml", "[[zone]]\nname = \"z0.test\"\nfile = \"zones/example.com.zone\"\n");
    write("conf.d/2.toml", "[[zone]]\nname = \"a..test\"\nfile = \"zones/example.com.zone\"\n");
    const std::string msg = error_of("include = \"conf.d/*.toml\"\n" + many_zones(5000, zone_number));
    const std::string dup = (dir_ / "conf.d/1.toml").string() + ":2:8: zone[5000].name: duplicate zone";
    const std::string bad = (dir_ / "conf.d/2.toml").string() + ":2:8: zone[5001].name: ";
    ASSERT_NE(msg.find(dup), std::string::npos) << msg;
    ASSERT_NE(msg.find(bad), std::string::npos) << msg;
    EXPECT_LT(msg.find(dup), msg.find(bad)) << msg;
}

TEST_F(ConfigTest, ManyZonesInAStaticArrayReportAnElementThatIsNotATable) {
    std::string text = "zone = [\n";
    for (std::size_t i = 0; i < 9000; ++i)
        text += "  { name = \"" + zone_number(i) + "\", file = \"zones/example.com.zone\" },\n";
    text += "  42,\n  { name = \"last.test\", file = \"zones/example.com.zone\" },\n]\n";
    text += kMinimal;
    EXPECT_EQ(error_of(text), at(9002, 3, "zone[9000]: expected a table, found an integer"));
}

TEST_F(ConfigTest, DuplicateAcl) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "p"
networks = ["::1"]
[[acl]]
name = "p"
networks = ["127.0.0.1"]
)");
    EXPECT_EQ(msg, at(7, 8, "acl[1].name: duplicate ACL \"p\" (first at line 4)"));
}

TEST_F(ConfigTest, AllowTransferUnknownAcl) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "providers"
networks = ["::1"]
[[acl]]
name = "backup"
keys = ["k"]
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
allow_transfer = ["providers", "provider"]
[[key]]
name = "k"
algorithm = "hmac-sha256"
secret = "YQ=="
)");
    EXPECT_EQ(msg,
              at(12, 32, "zone[0].allow_transfer[1]: unknown ACL \"provider\" (known: backup, providers)"));
}

TEST_F(ConfigTest, AllowTransferWithoutAnyAcl) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[zone]]
name = "example.com"
file = "zones/example.com.zone"
allow_transfer = ["providers"]
)");
    EXPECT_EQ(msg, at(6, 19, "zone[0].allow_transfer[0]: unknown ACL \"providers\" (no [[acl]] is defined)"));
}

TEST_F(ConfigTest, BrokenAclStillResolvesByName) {
    // The ACL's bad network is reported once; the zone's reference to it is not a second error.
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "p"
networks = ["bad"]
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
allow_transfer = ["p"]
)");
    EXPECT_EQ(msg, at(5, 13,
                      "acl[0].networks[0]: invalid network \"bad\": \"bad\" is not an IP address (host names "
                      "are not resolved)"));
}

// ---- zone files ----

// A zone file that is missing, a directory or unreadable is the zone's problem, not the config's: the
// server starts without that zone (and --check-config names it when it loads the zones).
TEST_F(ConfigTest, ZoneFileMissingIsNotAConfigError) {
    auto result = parse(std::string(kMinimal) + R"([[zone]]
name = "example.org"
file = "zones/example.org.zone"
)");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->zones.at(0).file, dir_ / "zones/example.org.zone");
}

TEST_F(ConfigTest, ZoneFileIsADirectoryIsNotAConfigError) {
    auto result = parse(std::string(kMinimal) + "[[zone]]\nname = \"example.org\"\nfile = \"zones\"\n");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->zones.at(0).file, dir_ / "zones");
}

TEST_F(ConfigTest, ZoneFileAbsolutePath) {
    const std::string abs = (dir_ / "zones/example.com.zone").string();
    auto result = parse(std::string(kMinimal) + "[[zone]]\nname = \"example.com\"\nfile = \"" + abs + "\"\n");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->zones.at(0).file, fs::path(abs));
}

// ---- zone names ----

std::string zone_named(std::string_view name) {
    return std::string(kMinimal) + "[[zone]]\nname = \"" + std::string(name) +
           "\"\nfile = \"zones/example.com.zone\"\n";
}

TEST_F(ConfigTest, InvalidZoneNames) {
    EXPECT_EQ(error_of(zone_named("example..com")),
              at(4, 8, "zone[0].name: empty label in \"example..com\""));
    EXPECT_EQ(error_of(zone_named(".example.com")),
              at(4, 8, "zone[0].name: empty label in \".example.com\""));
    EXPECT_EQ(error_of(zone_named("example.com..")),
              at(4, 8, "zone[0].name: empty label in \"example.com..\""));
    EXPECT_CONTAINS(error_of(zone_named("*.example.com")),
                    "zone[0].name: invalid character '*' in \"*.example.com\" (zone names use letters, "
                    "digits, '-' and '_')");
    EXPECT_CONTAINS(error_of(zone_named("exa mple.com")), "invalid character byte 32");
    EXPECT_CONTAINS(error_of(zone_named("ex/ample.com")), "invalid character '/'");
    EXPECT_CONTAINS(error_of(zone_named("b\\u00fccher.de")), "invalid character byte 195");
}

TEST_F(ConfigTest, ZoneNameLengthLimits) {
    const std::string label63(63, 'a');
    const std::string label64(64, 'a');
    EXPECT_TRUE(parse(zone_named(label63 + ".com")));
    EXPECT_CONTAINS(error_of(zone_named(label64 + ".com")),
                    "zone[0].name: label \"" + label64 + "\" is 64 characters long, the limit is 63");

    // 4 labels of 63 + 1 label of 1: 4*64 + 2 + 1 = 259 octets; 3*64 + 62 + 1 = 255 exactly fits.
    const std::string fits = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    EXPECT_TRUE(parse(zone_named(fits))) << fits.size();
    const std::string too_long = fits + "c";
    EXPECT_CONTAINS(error_of(zone_named(too_long)), "is 256 octets in wire form, the limit is 255");
}

// ---- scalar settings ----

TEST_F(ConfigTest, InvalidLogLevel) {
    EXPECT_EQ(error_of(std::string(kMinimal) + "log_level = \"verbose\"\n"),
              at(3, 13,
                 "server.log_level: unknown level \"verbose\" (known: trace, debug, info, warn, error, "
                 "critical, off)"));
    EXPECT_CONTAINS(error_of(std::string(kMinimal) + "log_level = \"INFO\"\n"), "unknown level \"INFO\"");
}

TEST_F(ConfigTest, NumbersOutOfRange) {
    const std::string msg = error_of(std::string(kMinimal) + R"(tcp_idle_timeout = 0
tcp_max_connections = 70000
shutdown_grace = -1
)");
    EXPECT_CONTAINS(msg, at(3, 20, "server.tcp_idle_timeout: 0 is out of range 1..86400 seconds"));
    EXPECT_CONTAINS(msg, at(4, 23, "server.tcp_max_connections: 70000 is out of range 1..65535"));
    EXPECT_CONTAINS(msg, at(5, 18, "server.shutdown_grace: -1 is out of range 0..3600 seconds"));
}

TEST_F(ConfigTest, NumbersAtTheEdges) {
    auto result = parse(std::string(kMinimal) +
                        "tcp_idle_timeout = 86400\ntcp_max_connections = 65535\nshutdown_grace = 3600\n");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->server.tcp_idle_timeout_ms, 86400000u);
    EXPECT_EQ(result->server.tcp_max_connections, 65535u);
    EXPECT_EQ(result->server.shutdown_grace_ms, 3600000u);
}

TEST_F(ConfigTest, ControlSocketPathTooLong) {
    const std::string msg =
        error_of(std::string(kMinimal) + "control_socket = \"/" + std::string(120, 's') + "\"\n");
    EXPECT_CONTAINS(msg, at(3, 18,
                            "server.control_socket: /" + std::string(120, 's') +
                                " is 121 bytes long, a Unix socket path may have at most 107"));
}

// ---- several problems at once ----

TEST_F(ConfigTest, AllProblemsAreReportedInFileOrder) {
    const std::string msg = error_of(R"([[zone]]
name = "example..com"
file = "zones/example.com.zone"
[server]
listen = ["no:n:sense"]
log_level = "loud"
[[acl]]
name = "a"
)");
    const std::string expected =
        at(2, 8, "zone[0].name: empty label in \"example..com\"") + "\n" +
        at(5, 11, "server.listen[0]: invalid address \"no:n:sense\": \"no:n:sense\" is not an IP address") +
        "\n" +
        at(6, 13,
           "server.log_level: unknown level \"loud\" (known: trace, debug, info, warn, error, critical, "
           "off)") +
        "\n" +
        at(7, 1,
           "acl[0]: names neither networks nor keys (nor tls_pins, tls_names), so it would match nobody");
    EXPECT_EQ(msg, expected);
}

// ---- TSIG keys ----

constexpr std::string_view kBindKeys = R"(# tsig-keygen output, two keys
key "xfr-key" {
	algorithm hmac-sha256;
	secret "c2VjcmV0LWZyb20tZmlsZQ==";
};
key "Backup.Example." { algorithm hmac-sha512; secret "YmFja3Vw"; };
)";

TEST_F(ConfigTest, KeysInlineAndFromBindKeyFiles) {
    fs::create_directories(dir_ / "keys");
    write("keys/provider.key", kBindKeys);
    auto result = parse(std::string(kMinimal) + R"([[key]]
name = "inline"
algorithm = "hmac-sha1"
secret = "aW5s aW5l"   # whitespace inside base64 is allowed, as BIND allows it
[[key]]
name = "XFR-KEY."
file = "keys/provider.key"
[[key]]
name = "backup.example"
file = "keys/provider.key"
algorithm = "hmac-sha512"
[[acl]]
name = "providers"
keys = ["xfr-key", "Backup.Example.", "INLINE"]
)");
    ASSERT_TRUE(result) << result.error().message;
    const auto& keys = result->keys;
    ASSERT_EQ(keys.size(), 3u);
    EXPECT_EQ(keys[0].name, "inline.");
    EXPECT_EQ(keys[0].algorithm, "hmac-sha1");
    EXPECT_EQ(keys[0].secret, "inline");
    EXPECT_TRUE(keys[0].file.empty());
    EXPECT_EQ(keys[1].name, "xfr-key.");
    EXPECT_EQ(keys[1].algorithm, "hmac-sha256");
    EXPECT_EQ(keys[1].secret, "secret-from-file");
    EXPECT_EQ(keys[1].file, dir_ / "keys/provider.key");
    EXPECT_EQ(keys[2].name, "backup.example.");
    EXPECT_EQ(keys[2].algorithm, "hmac-sha512");
    EXPECT_EQ(keys[2].secret, "backup");
    ASSERT_EQ(result->acls.size(), 1u);
    EXPECT_EQ(result->acls[0].keys, (std::vector<std::string>{"xfr-key.", "backup.example.", "inline."}));
}

TEST_F(ConfigTest, EveryAlgorithmName) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"hmac-md5", "hmac-md5"},        {"hmac-md5.sig-alg.reg.int", "hmac-md5"},
        {"hmac-sha1", "hmac-sha1"},      {"HMAC-SHA224", "hmac-sha224"},
        {"hmac-sha256.", "hmac-sha256"}, {"hmac-sha384", "hmac-sha384"},
        {"hmac-sha512", "hmac-sha512"},
    };
    for (const auto& [written, normalised] : cases) {
        auto result = parse(std::string(kMinimal) + "[[key]]\nname = \"k\"\nalgorithm = \"" +
                            std::string(written) + "\"\nsecret = \"YQ==\"\n");
        ASSERT_TRUE(result) << written << ": " << result.error().message;
        EXPECT_EQ(result->keys.at(0).algorithm, normalised);
    }
}

TEST_F(ConfigTest, KeyErrorsInline) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[key]]
name = "a"
algorithm = "hmac-sha3"
secret = "YQ=="
[[key]]
name = "b"
algorithm = "hmac-sha256"
secret = "not base64!"
[[key]]
name = "c"
secret = "YQ=="
[[key]]
name = "d"
algorithm = "hmac-sha256"
[[key]]
name = "e"
algorithm = "hmac-sha256"
secret = "YQ=="
file = "keys/e.key"
[[key]]
name = "A."
algorithm = "hmac-sha256"
secret = "YQ=="
[[key]]
name = "f"
algorithm = "hmac-sha256"
secret = ""
[[key]]
name = "bad..name"
algorithm = "hmac-sha256"
secret = "YQ=="
[[key]]
name = "g"
algorithm = "hmac-sha256"
secret = "YQ=="
comment = "typo"
)");
    EXPECT_CONTAINS(msg, at(5, 13,
                            "key[0].algorithm: unknown algorithm \"hmac-sha3\" (known: hmac-md5, hmac-sha1, "
                            "hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)"));
    EXPECT_CONTAINS(msg, at(10, 10, "key[1].secret: invalid base64: invalid character '!' at position 10"));
    EXPECT_CONTAINS(msg,
                    at(11, 1,
                       "key[2].algorithm: missing required key (known: hmac-md5, hmac-sha1, hmac-sha224, "
                       "hmac-sha256, hmac-sha384, hmac-sha512)"));
    EXPECT_CONTAINS(
        msg, at(14, 1, "key[3]: needs a secret (base64) or a file (a BIND key file, as tsig-keygen writes)"));
    EXPECT_CONTAINS(msg, at(17, 1, "key[4]: gives both secret and file; give one"));
    EXPECT_CONTAINS(msg, at(23, 8, "key[5].name: duplicate key \"a.\" (first at line 4)"));
    EXPECT_CONTAINS(msg, at(29, 10, "key[6].secret: must not be empty"));
    EXPECT_CONTAINS(msg,
                    at(31, 8, "key[7].name: invalid key name \"bad..name\": empty label in \"bad..name\""));
    EXPECT_CONTAINS(msg, at(38, 1, "key[8].comment: unknown key (known: name, algorithm, secret, file)"));
}

TEST_F(ConfigTest, KeyErrorsFromFiles) {
    fs::create_directories(dir_ / "keys");
    write("keys/provider.key", kBindKeys);
    write("keys/broken.key", "key \"x\" {\n algorithm hmac-sha256\n};\n");
    write("keys/odd.key",
          "key \"odd\" { algorithm hmac-sha3; secret \"YQ==\"; };\n"
          "key \"bad64\" { algorithm hmac-sha1; secret \"YQ=\"; };\n");
    const std::string msg = error_of(std::string(kMinimal) + R"([[key]]
name = "missing"
file = "keys/missing.key"
[[key]]
name = "absent"
file = "keys/provider.key"
[[key]]
name = "xfr-key"
file = "keys/provider.key"
algorithm = "hmac-sha1"
[[key]]
name = "x"
file = "keys/broken.key"
[[key]]
name = "odd"
file = "keys/odd.key"
[[key]]
name = "bad64"
file = "keys/odd.key"
)");
    const std::string keys = (dir_ / "keys").string();
    EXPECT_CONTAINS(msg,
                    at(5, 8, "key[0].file: cannot read " + keys + "/missing.key: No such file or directory"));
    EXPECT_CONTAINS(msg, at(8, 8,
                            "key[1].file: no key \"absent.\" in " + keys +
                                "/provider.key (it defines: xfr-key., backup.example.)"));
    EXPECT_CONTAINS(msg, at(12, 13,
                            "key[2].algorithm: \"hmac-sha1\" differs from \"hmac-sha256\" in " + keys +
                                "/provider.key line 2"));
    EXPECT_CONTAINS(
        msg, at(15, 8,
                "key[3].file: " + keys + "/broken.key: line 3: expected ';' after the algorithm, found '}'"));
    EXPECT_CONTAINS(msg,
                    at(18, 8, "key[4].file: " + keys + "/odd.key line 1: unknown algorithm \"hmac-sha3\""));
    EXPECT_CONTAINS(
        msg, at(21, 8,
                "key[5].file: " + keys +
                    "/odd.key line 2: invalid base64 secret: length is not a multiple of 4 characters"));
}

TEST_F(ConfigTest, AclKeysMustNameDefinedKeys) {
    const std::string msg = error_of(std::string(kMinimal) + R"([[acl]]
name = "a"
keys = ["xfr-key", "XFR-KEY.", "other", "bad..name"]
[[key]]
name = "Xfr-Key."
algorithm = "hmac-sha256"
secret = "YQ=="
)");
    EXPECT_EQ(msg,
              at(5, 32, "acl[0].keys[2]: unknown key \"other.\" (known: xfr-key.)") + "\n" +
                  at(5, 41, "acl[0].keys[3]: invalid key name \"bad..name\": empty label in \"bad..name\""));
    EXPECT_CONTAINS(error_of(std::string(kMinimal) + "[[acl]]\nname = \"a\"\nkeys = [\"k\"]\n"),
                    at(5, 9, "acl[0].keys[0]: unknown key \"k.\" (no [[key]] is defined)"));
}

TEST_F(ConfigTest, BrokenKeyStillResolvesByName) {
    // The key's bad secret is reported once; the ACL's reference to it is not a second error.
    const std::string msg = error_of(std::string(kMinimal) + R"([[key]]
name = "k"
algorithm = "hmac-sha256"
secret = "@@@@"
[[acl]]
name = "a"
keys = ["k"]
)");
    EXPECT_EQ(msg, at(6, 10, "key[0].secret: invalid base64: invalid character '@' at position 0"));
}

// ---- read_control_socket ----

TEST_F(ConfigTest, ControlSocketDefault) {
    write("headwater.toml", kMinimal);
    auto result = read_control_socket(config_path_);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, dir_ / "run/headwater.sock");
}

TEST_F(ConfigTest, ControlSocketRelativeAndAbsolute) {
    write("headwater.toml", "[server]\ncontrol_socket = \"ctl/../hw.sock\"\n");
    auto relative = read_control_socket(config_path_);
    ASSERT_TRUE(relative) << relative.error().message;
    EXPECT_EQ(*relative, dir_ / "hw.sock");

    write("headwater.toml", "[server]\ncontrol_socket = \"/run/hw.sock\"\n");
    auto absolute = read_control_socket(config_path_);
    ASSERT_TRUE(absolute) << absolute.error().message;
    EXPECT_EQ(*absolute, fs::path("/run/hw.sock"));
}

TEST_F(ConfigTest, ControlSocketReadEvenWhenTheRestIsBroken) {
    write("headwater.toml", R"([server]
listen = ["not an address"]
control_socket = "run/x.sock"
bogus = 1
[[zone]]
name = "..."
)");
    ASSERT_FALSE(load_config(config_path_));
    auto result = read_control_socket(config_path_);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, dir_ / "run/x.sock");
}

TEST_F(ConfigTest, ControlSocketNoServerTableGivesDefault) {
    write("headwater.toml", "");
    auto result = read_control_socket(config_path_);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, dir_ / "run/headwater.sock");
}

TEST_F(ConfigTest, ControlSocketErrors) {
    write("headwater.toml", "[server]\ncontrol_socket = 1\n");
    auto wrong_type = read_control_socket(config_path_);
    ASSERT_FALSE(wrong_type);
    EXPECT_EQ(wrong_type.error().message,
              at(2, 18, "server.control_socket: expected a string, found an integer"));

    write("headwater.toml", "server = []\n");
    auto wrong_server = read_control_socket(config_path_);
    ASSERT_FALSE(wrong_server);
    EXPECT_EQ(wrong_server.error().message, at(1, 10, "server: expected a table ([server]), found an array"));

    write("headwater.toml", "[server\n");
    auto syntax = read_control_socket(config_path_);
    ASSERT_FALSE(syntax);
    EXPECT_CONTAINS(syntax.error().message, config_path_.string() + ":1:");

    auto missing = read_control_socket(dir_ / "absent.toml");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message,
              "cannot read " + (dir_ / "absent.toml").string() + ": No such file or directory");
}

}  // namespace
}  // namespace headwater::conf

namespace headwater::conf {
namespace {

TEST_F(ConfigTest, ZoneTransferSettings) {
    auto cfg = parse(R"([server]
listen = ["127.0.0.1:5353"]
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
serial_policy = "dateserial"
journal_max_changesets = 7
journal_max_bytes = 100000
max_ixfr_ratio = 0.5
)");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].serial_policy, "dateserial");
    EXPECT_EQ(cfg->zones[0].journal_max_changesets, 7u);
    EXPECT_EQ(cfg->zones[0].journal_max_bytes, 100000u);
    EXPECT_DOUBLE_EQ(cfg->zones[0].max_ixfr_ratio, 0.5);

    auto bad = parse(R"([server]
listen = ["127.0.0.1:5353"]
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
serial_policy = "sometimes"
max_ixfr_ratio = -1
)");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("zone[0].serial_policy: unknown policy"), std::string::npos);
    EXPECT_NE(bad.error().message.find("zone[0].max_ixfr_ratio"), std::string::npos);
}

// ---- NOTIFY targets (RFC 1996) ----

TEST_F(ConfigTest, NotifyTargetsAsStringsAndTables) {
    auto result = parse(std::string(kMinimal) + R"(
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
notify = ["192.0.2.1", "198.51.100.7:5300", "[2001:db8::1]:53", "2001:db8::2",
          { address = "192.0.2.9", key = "XFR-Key", source = "192.0.2.53" },
          { address = "[::1]:5301", source = "::1" }]
notify_retries = 3
notify_retry_interval = 1
notify_delay = 100

[[zone]]
name = "example.net"
file = "zones/example.net.zone"

[[key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"
)");
    ASSERT_TRUE(result) << result.error().message;
    const auto& z = result->zones[0];
    ASSERT_EQ(z.notify.size(), 6u);
    EXPECT_EQ(z.notify[0].address, endpoint("192.0.2.1"));
    EXPECT_EQ(z.notify[0].address.port, 53);
    EXPECT_TRUE(z.notify[0].key.empty());
    EXPECT_FALSE(z.notify[0].source);
    EXPECT_EQ(z.notify[1].address, endpoint("198.51.100.7:5300"));
    EXPECT_EQ(z.notify[2].address, endpoint("[2001:db8::1]:53"));
    EXPECT_EQ(z.notify[3].address, endpoint("[2001:db8::2]:53"));
    EXPECT_EQ(z.notify[4].address, endpoint("192.0.2.9:53"));
    EXPECT_EQ(z.notify[4].key, "xfr-key.");
    EXPECT_EQ(z.notify[4].source, dns::IpAddress::parse("192.0.2.53"));
    EXPECT_EQ(z.notify[5].address, endpoint("[::1]:5301"));
    EXPECT_EQ(z.notify[5].source, dns::IpAddress::parse("::1"));
    EXPECT_EQ(z.notify_retries, 3u);
    EXPECT_EQ(z.notify_retry_interval_ms, 1000u);
    EXPECT_EQ(z.notify_delay_ms, 100u);

    const auto& d = result->zones[1];
    EXPECT_TRUE(d.notify.empty());
    EXPECT_EQ(d.notify_retries, 5u);
    EXPECT_EQ(d.notify_retry_interval_ms, 2000u);
    EXPECT_EQ(d.notify_delay_ms, 250u);
}

TEST_F(ConfigTest, NotifyErrorsNameTheKeyPath) {
    const std::string msg = error_of(std::string(kMinimal) + R"(
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
notify = ["example.org", 7, "192.0.2.1:0",
          { address = "192.0.2.2", key = "nokey" },
          { key = "xfr-key" },
          { address = "192.0.2.3", source = "2001:db8::1" },
          { address = "192.0.2.4", source = "192.0.2.5:53" },
          { address = "192.0.2.6", port = 5300 },
          "192.0.2.7", "192.0.2.7:53"]
notify_retries = -1
notify_retry_interval = "2x"
notify_delay = 60001

[[key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"
)");
    EXPECT_CONTAINS(msg, at(7, 11, "zone[0].notify[0]: invalid address \"example.org\""));
    EXPECT_CONTAINS(msg, at(7, 26, "zone[0].notify[1]: expected a string or a table"));
    EXPECT_CONTAINS(msg, at(7, 29, "zone[0].notify[2]: invalid port \"0\""));
    EXPECT_CONTAINS(msg, at(8, 42, "zone[0].notify[3].key: unknown key \"nokey.\" (known: xfr-key.)"));
    EXPECT_CONTAINS(msg, at(9, 11, "zone[0].notify[4].address: missing required key"));
    EXPECT_CONTAINS(msg, at(10, 45,
                            "zone[0].notify[5].source: 2001:db8::1 is not of the same address family as "
                            "192.0.2.3:53"));
    EXPECT_CONTAINS(msg, at(11, 45, "zone[0].notify[6].source: invalid IP address \"192.0.2.5:53\""));
    EXPECT_CONTAINS(msg, at(12, 36, "zone[0].notify[7].port: unknown key (known: address, key, source)"));
    EXPECT_CONTAINS(msg, at(13, 24,
                            "zone[0].notify[9]: duplicate target 192.0.2.7:53 (first at "
                            "zone[0].notify[8])"));
    EXPECT_CONTAINS(msg, at(14, 18, "zone[0].notify_retries: -1 is out of range 0..20"));
    EXPECT_CONTAINS(msg, at(15, 25,
                            "zone[0].notify_retry_interval: \"2x\" is not a duration (use 250ms, 2s, 5m, 1h, "
                            "1d)"));
    EXPECT_CONTAINS(msg, at(16, 16, "zone[0].notify_delay: 60001 is out of range 0..60000 milliseconds"));
}

TEST_F(ConfigTest, NotifyMustBeAnArray) {
    const std::string msg = error_of(std::string(kMinimal) + R"(
[[zone]]
name = "example.com"
file = "zones/example.com.zone"
notify = "192.0.2.1"
)");
    EXPECT_EQ(msg, at(7, 10, "zone[0].notify: expected an array, found a string"));
}

}  // namespace
}  // namespace headwater::conf
