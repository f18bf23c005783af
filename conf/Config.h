// The server configuration as plain values, one field per key of the file (conf/Schema.cpp lists the keys
// with their ranges and defaults; docs/configuration.md explains them). The loader (ConfigLoader.h) has
// already validated everything here: addresses parse, names are normalised, ACL and key references
// resolve, key files were readable at load time, and all paths are absolute. Zone files are not looked at:
// a zone that cannot be loaded is the zone's problem (the server starts without it), not a config error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "zone/dns/IpNetwork.h"

namespace headwater::conf {

struct ServerConfig {
    std::vector<dns::Endpoint> listen;     // UDP and TCP on each; non-empty, no duplicates
    std::filesystem::path control_socket;  // absolute; default <config dir>/run/headwater.sock
    std::filesystem::path state_dir;       // absolute; default <config dir>/state (not created here)
    std::string log_level = "info";        // trace|debug|info|warn|error|critical|off (spdlog names)
    uint32_t tcp_idle_timeout_ms = 10000;  // RFC 7766 section 6.2.3: idle, not per-transfer
    uint32_t tcp_max_connections = 256;
    uint32_t udp_threads =
        0;  // threads answering UDP (SO_REUSEPORT sockets each); 0: one per core, at most 8
    uint32_t tcp_threads = 0;  // threads serving TCP connections (transfers); 0: one per core, at most 8
    // Limits (README "Limits"): a client address holds at most tcp_max_per_client connections, so one
    // flooding address cannot take the whole tcp_max_connections pool; a peer taking no data for
    // tcp_write_timeout_ms while an answer is written is cut off (progress, never a whole transfer); at most
    // max_transfers AXFR/IXFR streams run at once (counted only after the ACL and TSIG let a request
    // through); a query longer than max_query_size octets is not read (TCP: the connection is closed; UDP:
    // dropped); at most notify_max_in_flight NOTIFY targets wait for an answer at once, the others wait their
    // turn.
    uint32_t tcp_max_per_client = 16;
    uint32_t tcp_write_timeout_ms = 30000;
    uint32_t max_transfers = 64;
    uint32_t max_query_size = 16384;
    uint32_t notify_max_in_flight = 64;
    uint32_t shutdown_grace_ms = 5000;
    // Least privilege: after binding every socket the server switches to this user (and group, default the
    // user's primary group). Empty: keep the identity it was started with.
    std::string user;
    std::string group;
    // JSON lines, one per transfer event, for a lab to analyse afterwards; empty: none.
    std::filesystem::path transfer_log;
    // DNS over TLS (RFC 7858), for zone transfers over TLS (RFC 9103): TCP+TLS on each of listen_tls
    // (port 853 unless given; none by default), with this certificate chain and key (PEM, absolute; both
    // set whenever listen_tls is), and the CAs a client certificate is verified against (empty: none).
    std::vector<dns::Endpoint> listen_tls;
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_key;
    std::filesystem::path tls_client_ca;
    // GET /metrics (Prometheus text format) on this address; absent: no metrics endpoint.
    std::optional<dns::Endpoint> metrics_listen;
    // Lab mode (docs/lab.md): [[lab]] faults and `headwaterctl lab` are allowed only when true; the server
    // then misbehaves on purpose towards the peers they name, and says so loudly at start-up.
    bool lab = false;
};

// A TSIG key (RFC 8945), from [[key]] with an inline secret or from a BIND key file. Plain values: the
// server turns each into a tsig::Key (conf/ and tsig/ do not depend on each other).
struct KeyConfig {
    std::string name;       // absolute, lower-case, trailing dot: "xfr-key."; unique
    std::string algorithm;  // one of hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512
    std::string secret;     // the raw secret octets, base64-decoded and non-empty; never log it
    std::filesystem::path file;  // absolute path of the BIND key file it came from; empty when inline
};

struct AclConfig {
    std::string name;                      // unique, case-sensitive
    std::vector<dns::IpNetwork> networks;  // may be empty when keys are given
    std::vector<std::string> keys;         // TSIG key names normalised like KeyConfig::name; each is defined
    std::vector<std::string> transports;   // "udp", "tcp", "tls", no duplicates; empty: any
    // A client certificate whose key has one of these pins (base64 SHA-256 of the SubjectPublicKeyInfo,
    // 32 octets, re-encoded canonically), or verified against server.tls_client_ca (then set) and naming one
    // of these names (lower case, no trailing dot, "*." allowed as the first label). Either one set: the
    // rule needs a certificate, so TLS, and server.listen_tls is set.
    std::vector<std::string> tls_pins;
    std::vector<std::string> tls_names;
    // Dynamic updates only (zone allow_update): the names (lower case, relative to the zone apex: "@",
    // "www", "*.dyn", "_acme-challenge.*") and types (mnemonics, upper case) the rule lets a key change.
    // Empty: any.
    std::vector<std::string> update_names;
    std::vector<std::string> update_types;
};

// One NOTIFY target of a zone (RFC 1996), independent of the transfer ACL: providers often send their
// NOTIFY-accepting servers from other addresses than the ones that transfer.
struct NotifyTargetConfig {
    dns::Endpoint address;                 // port 53 unless given
    std::string key;                       // TSIG key normalised like KeyConfig::name; empty: unsigned
    std::optional<dns::IpAddress> source;  // local address to send from, same family as `address`
};

// A DNSSEC signing policy ([[dnssec_policy]]); zones name it. Times in seconds.
struct DnssecPolicyConfig {
    std::string name;                           // unique, case-sensitive
    std::string algorithm = "ecdsap256sha256";  // ecdsap256sha256 | ecdsap384sha384 | ed25519 | rsasha256
    std::string keys = "csk";                   // csk | ksk+zsk: what is generated when the zone has no keys
    std::string denial = "nsec";                // nsec | nsec3
    uint32_t nsec3_iterations = 0;              // RFC 9276 §3.1: 0
    std::string nsec3_salt;                     // hex; empty (RFC 9276 §3.1)
    bool nsec3_opt_out = false;
    uint32_t signature_validity_s = 14 * 86400;
    uint32_t signature_refresh_s = 7 * 86400;
    uint32_t signature_jitter_s = 12 * 3600;
    uint32_t dnskey_ttl_s = 3600;
    uint32_t zsk_lifetime_s = 0;          // 0: no automatic ZSK rollover
    uint32_t propagation_delay_s = 300;   // a rollover step's wait when no secondary is known
    uint32_t ksk_lifetime_s = 0;          // 0: no automatic KSK or CSK rollover
    uint32_t parent_ds_ttl_s = 86400;     // the parent's DS TTL when the operator confirms the DS
    uint32_t ds_check_interval_s = 3600;  // how often the parent servers are asked for the new DS

    bool operator==(const DnssecPolicyConfig&) const = default;
};

struct ZoneConfig {
    std::string name;                         // absolute, lower-case, trailing dot: "example.com."
    std::string file;                         // absolute (a string: see Reader::PathText)
    std::vector<std::string> allow_transfer;  // ACL names, each names an entry of Config::acls
    std::vector<std::string> allow_update;    // ACL names: who may send dynamic updates (RFC 2136)
    // What a reload does when the content changed but the file's serial did not: keep (refuse),
    // increment, unixtime or dateserial (YYYYMMDDnn).
    std::string serial_policy = "increment";
    uint32_t journal_max_changesets = 100;  // IXFR history kept, oldest dropped first
    uint64_t journal_max_bytes = 64ull << 20;
    // An IXFR whose changes add up to more than this fraction of the zone is answered as AXFR (as BIND's
    // max-ixfr-ratio).
    double max_ixfr_ratio = 1.0;
    std::vector<NotifyTargetConfig> notify;  // no duplicates (same address and key)
    // NOTIFY retransmissions after the first try: a target gets at most notify_retries + 1 messages per
    // serial; waits start at notify_retry_interval_ms and double each try, capped at 30 s.
    uint32_t notify_retries = 5;
    uint32_t notify_retry_interval_ms = 2000;
    uint32_t notify_delay_ms = 250;  // changes within this window are coalesced into one NOTIFY
    // How long after a dynamic update the zone file is rewritten with the served version (0: at once).
    uint32_t zonefile_sync_ms = 0;
    // The zone's public secondaries: what `headwaterctl verify` checks by default and what the
    // server checks every verify_interval_s seconds (0: never). Port 53 unless given.
    std::vector<dns::Endpoint> secondaries;
    uint32_t verify_interval_s = 0;
    std::string verify_key;        // TSIG key for the verification transfer; empty: unsigned
    uint32_t verify_sample = 100;  // random RRsets asked when a secondary refuses the transfer
    // The [[dnssec_policy]] that signs the zone; empty: served as written (pre-signed or unsigned).
    std::string dnssec_policy;
    // A served signature expiring within this long (or expired) is warned about: for zones signed
    // elsewhere, the warning is the operator's only notice before validators fail.
    uint32_t signature_warn_s = 7 * 86400;
    // Servers of the parent zone: `headwaterctl verify --delegation` and every verify_interval check that
    // their referral names exactly the zone's apex NS, with matching glue. Port 53 unless given.
    std::vector<dns::Endpoint> parent;
    // Multi-signer (RFC 8901 model 2): the other signers' DNSKEYs, from a file of DNSKEY lines and from
    // their servers (asked every multi_signer_interval), published beside ours.
    std::string foreign_dnskeys;  // absolute (Reader::PathText); empty: none
    std::vector<dns::Endpoint> multi_signer;
    uint32_t multi_signer_interval_s = 3600;
    // RFC 9432 catalog zones (producer side): the [[catalog]] that lists this zone (a name of
    // Config::catalogs, normalised like zone names; empty: none), and the member's group property (§4.4.2;
    // empty: none). Consumers map a group to their own settings (a Knot template, a BIND zone option set).
    std::string catalog;
    std::string catalog_group;
    // The [[template]] the zone's unset keys came from (empty: none); the loader has already applied it.
    std::string template_name;
};

// [[zones_dir]]: every file of `path` matching `pattern` is a zone named after the file (the name without
// its last extension: "example.com.zone" -> "example.com."), with the settings of `template_name`. The
// loader lists the directory and puts those zones in Config::zones.
struct ZonesDirConfig {
    std::filesystem::path path;  // absolute
    std::string pattern = "*.zone";
    std::string template_name;  // a [[template]], or empty
};

// A webhook alert ([[alert]]): the events it wants, POSTed to `url` as JSON or as a chat `text` body.
struct AlertConfig {
    std::string url;  // http:// or https://, checked by parse_http_url
    // drift_start, drift_end, transfer_failures, notify_giveup, reload_failed (no duplicates); all when
    // the key is absent.
    std::vector<std::string> events;
    std::string format = "json";        // json | text (Slack and Teams incoming webhooks)
    uint32_t transfer_failures = 3;     // failures in a row for one secondary before transfer_failures fires
    uint32_t retries = 5;               // after the first try; waits start at retry_interval and double
    uint32_t retry_interval_ms = 2000;  //
    uint32_t timeout_ms = 10000;        // for one try: connect, send, read the status

    bool operator==(const AlertConfig&) const = default;
};

// One [[lab]] fault: the zone, whom it is aimed at (an address, a TSIG key name or "*") and the fault in
// its own syntax ("cut-messages 3 reset"). The peer and fault texts are checked by xfr/Fault.h when the
// server starts (and by --check-config), conf/ knowing nothing of xfr/.
struct LabConfig {
    std::string zone;  // normalised like ZoneConfig::name; names a [[zone]]
    std::string peer;
    std::string fault;

    bool operator==(const LabConfig&) const = default;
};

struct Config {
    std::filesystem::path path;  // absolute path of the config file
    ServerConfig server;
    std::vector<KeyConfig> keys;                      // in file order
    std::vector<AclConfig> acls;                      // in file order
    std::vector<DnssecPolicyConfig> dnssec_policies;  // in file order
    std::vector<ZoneConfig> zones;                    // in file order
    std::vector<AlertConfig> alerts;                  // in file order
    std::vector<LabConfig> labs;                      // in file order; empty unless server.lab
    // [[catalog]]: catalog zones (RFC 9432) generated from their members; `file` is empty here (the server
    // writes the generated zone under state_dir), the other fields are those of a zone's.
    std::vector<ZoneConfig> catalogs;        // in file order
    std::vector<ZonesDirConfig> zones_dirs;  // their zones are in `zones`, after the [[zone]] ones
    std::vector<std::string> templates;      // [[template]] names (applied to the zones already)
    std::vector<std::string> included;       // the files `include` read, in order
};

struct ConfigError {
    // Ready to print: one line per problem, "<file>:<line>:<column>: <key path>: <what is wrong>", e.g.
    // "conf/x.toml:12:1: zone[2].name: duplicate zone \"example.com.\" (first at line 4)".
    std::string message;
};

}  // namespace headwater::conf
