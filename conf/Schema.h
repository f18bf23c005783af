// The configuration schema: every key of the TOML file, with its type, range, unit, default and a one-line
// meaning, in one table (Schema.cpp). The loader walks it to read, range-check and default every key and to
// list the known keys when it meets an unknown one; docs/configuration.md is written from it by hand and a
// unit test checks that the page names every key. No toml++ here, so tests can walk it.
//
// Key paths name a key wherever it appears: "server.tcp_idle_timeout", "zone[].notify_delay",
// "zone[].notify[].key". Error messages use the same paths with the index filled in ("zone[2].notify_delay").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/Config.h"
#include "zone/base/Result.h"

namespace headwater::conf {

// How a key's value is read (ConfigLoader.cpp has one reader per value). The generic ones use the entry's
// range, unit and choices; the others check values with a syntax or cross-references of their own.
enum class Reader : uint8_t {
    // Tables: their keys are the schema entries below them.
    Server,         // [server]
    Keys,           // [[key]]
    Acls,           // [[acl]]
    Policies,       // [[dnssec_policy]]
    Zones,          // [[zone]]
    Alerts,         // [[alert]]
    Labs,           // [[lab]] (only with server.lab = true)
    NotifyTargets,  // zone.notify: an array of "addr[:port]" strings or { address, key, source } tables
    // Generic values.
    Integer,   // an integer in min..max `unit`s
    Duration,  // "250ms", "2s", "5m", "1h", "1d", "1h30m", or a bare number of `unit`s; min..max in `unit`
    Choice,    // one of `choices`
    Path,      // a non-empty path; relative ones are relative to the config file's directory
    PathText,  // a Path kept as a std::string: for per-zone fields (a std::filesystem::path keeps a list of
               // its components, a few hundred octets a zone at 100k zones)
    Ratio,     // a number above min and at most max
    Boolean,   // true or false
    // Values with their own syntax or checks.
    ControlSocket,  // a Path short enough for a Unix socket address
    Identity,       // a user or group name, or a numeric id
    Endpoint,       // "addr", "addr:port" or "[v6]:port"; port 53 when omitted
    Endpoints,      // an array of Endpoint, at least `min`, no duplicates
    TlsEndpoints,   // as Endpoints, port 853 when omitted (DNS over TLS, RFC 7858 §3.1)
    HttpListen,     // "addr:port" or "[v6]:port" for an HTTP listener; port 9153 when omitted; optional slot
    Url,            // an http:// or https:// URL (parse_http_url)
    Choices,        // an array of distinct `choices`, at least one
    Address,        // an IP address without a port
    Networks,       // an array of CIDR networks or bare addresses
    KeyName,        // a TSIG key name (a domain name), unique
    Algorithm,      // a TSIG algorithm from `choices`, also under its wire name (hmac-md5.sig-alg.reg.int)
    Secret,         // base64
    KeyFile,        // a Path to a BIND key file holding the key of this [[key]]'s name
    KeyRef,         // the name of a [[key]]
    KeyRefs,        // an array of KeyRef
    AclName,        // a string, unique
    AclRefs,        // an array of [[acl]] names
    Pins,           // an array of base64 SHA-256 digests (32 octets)
    CertNames,      // an array of certificate names: a domain name, "*." allowed as its first label
    UpdateNames,    // an array of update name patterns: "@", "www", "*.dyn", "_acme-challenge.*"
    RRTypes,        // an array of RR type mnemonics ("TXT", "TYPE65280")
    ZoneName,       // a domain name, unique
    PolicyName,     // a string, unique among [[dnssec_policy]]
    PolicyRef,      // the name of a [[dnssec_policy]]
    Salt,           // an NSEC3 salt: hex, at most 255 octets; "" or "-" for none
    Text,           // a non-empty string, checked elsewhere (the [[lab]] peer and fault)
    ZoneRef,        // the name of a [[zone]]
    Templates,      // [[template]]: a name and any [[zone]] keys but name, file, template
    ZonesDirs,      // [[zones_dir]]
    Include,        // a glob or an array of globs: TOML files whose tables join this file's (read first)
    TemplateName,   // a string, unique among [[template]] (read by the Templates reader)
    TemplateRef,    // the name of a [[template]]
    Glob,           // a file name pattern ("*.zone"): no '/'
    CatalogRef,     // the name of a [[catalog]] (compared like zone names)
    CatalogGroup,   // a catalog group (RFC 9432 §4.4.2): 1 to 255 octets, one TXT string
};

// What a number counts. For durations: what a bare number means, and what the range is given in.
enum class Unit : uint8_t { None, Milliseconds, Seconds, Octets, Bytes };

std::string_view unit_name(Unit unit);  // "milliseconds", "seconds", "octets", "bytes", ""

// Where a reader stores a value: a field of the struct the key's table is read into.
using Slot = std::variant<std::monostate, uint32_t*, uint64_t*, double*, std::string*, std::filesystem::path*,
                          std::vector<std::string>*, dns::Endpoint*, std::vector<dns::Endpoint>*,
                          std::optional<dns::IpAddress>*, bool*, std::vector<dns::IpNetwork>*,
                          std::vector<NotifyTargetConfig>*, ServerConfig*, std::vector<KeyConfig>*,
                          std::vector<AclConfig>*, std::vector<DnssecPolicyConfig>*, std::vector<ZoneConfig>*,
                          std::optional<dns::Endpoint>*, std::vector<AlertConfig>*, std::vector<LabConfig>*,
                          std::vector<ZonesDirConfig>*>;
using SlotOf = Slot (*)(void* record);  // record: the Config, ServerConfig, ZoneConfig... being filled

struct SchemaKey {
    std::string_view path;  // "server.listen", "zone[].notify[].key"
    Reader reader;
    SlotOf slot = nullptr;
    bool required = false;
    int64_t min = 0;  // Integer, Duration: inclusive, in `unit`; Ratio: exclusive; Endpoints: fewest elements
    int64_t max = 0;
    Unit unit = Unit::None;
    Unit stored = Unit::Milliseconds;                // Duration: the unit of the struct field
    std::span<const std::string_view> choices = {};  // Choice, Algorithm
    std::string_view noun = {};           // in messages: "unknown level ...", "duplicate endpoint ..."
    std::string_view default_value = {};  // a TOML value read as if written when the key is absent; "": none
    std::string_view example = {};        // a TOML line setting the key
    std::string_view description = {};    // one line: what it does (docs/configuration.md says more)
};

// Every key, tables before their keys, in the order the loader reads them (and lists them in messages).
std::span<const SchemaKey> config_schema();

// The entries directly inside `table` ("" for the top level, "server", "zone[]", "zone[].notify[]").
const std::vector<const SchemaKey*>& keys_of(std::string_view table);

// The part of a path after its table: "zone[].notify_delay" -> "notify_delay".
std::string_view key_name(const SchemaKey& key);

}  // namespace headwater::conf
