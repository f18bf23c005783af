// The schema table. Each entry is a key of the configuration file: read as `reader` into `slot`, checked
// against min..max (in `unit`), defaulted to `default_value` (a TOML value, as the user would write it).
// docs/configuration.md explains each key at length; keep the two in step (the conf tests check that the
// page names every key here).
#include "conf/Schema.h"

#include <array>

namespace headwater::conf {

namespace {

template <class>
struct MemberOf;
template <class Field, class Record>
struct MemberOf<Field Record::*> {
    using RecordType = Record;
};

// The slot of one struct field: slot<&ZoneConfig::notify_delay_ms>.
template <auto Member>
Slot slot(void* record) {
    using Record = typename MemberOf<decltype(Member)>::RecordType;
    return &(static_cast<Record*>(record)->*Member);
}

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};
// TSIG algorithms (RFC 8945 §6) by their configuration names; tsig/ maps them to its own enum.
constexpr std::array<std::string_view, 6> kTsigAlgorithms = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
                                                             "hmac-sha256", "hmac-sha384", "hmac-sha512"};
constexpr std::array<std::string_view, 4> kSerialPolicies = {"keep", "increment", "unixtime", "dateserial"};
constexpr std::array<std::string_view, 5> kAlertEvents = {"drift_start", "drift_end", "transfer_failures",
                                                          "notify_giveup", "reload_failed"};
constexpr std::array<std::string_view, 2> kAlertFormats = {"json", "text"};
constexpr int64_t kDay = 86400;

constexpr SchemaKey kSchema[] = {
    // ---- the top level: four tables ----
    {.path = "server",
     .reader = Reader::Server,
     .slot = slot<&Config::server>,
     .required = true,
     .example = "[server]",
     .description = "Where and how the server runs: addresses, control socket, state, limits, identity."},
    {.path = "key",
     .reader = Reader::Keys,
     .slot = slot<&Config::keys>,
     .example = "[[key]]",
     .description =
         "A TSIG key (RFC 8945), inline or from a BIND key file; ACLs and NOTIFY targets name it."},
    {.path = "acl",
     .reader = Reader::Acls,
     .slot = slot<&Config::acls>,
     .example = "[[acl]]",
     .description = "A named transfer rule: networks, keys, or both (then both must match)."},
    {.path = "zone",
     .reader = Reader::Zones,
     .slot = slot<&Config::zones>,
     .example = "[[zone]]",
     .description = "A zone served from a master file, with who may transfer it and whom to NOTIFY."},
    {.path = "alert",
     .reader = Reader::Alerts,
     .slot = slot<&Config::alerts>,
     .example = "[[alert]]",
     .description = "A webhook told about drifts, transfer failures, NOTIFY give-ups and failed reloads."},

    // ---- [server] ----
    {.path = "server.listen",
     .reader = Reader::Endpoints,
     .slot = slot<&ServerConfig::listen>,
     .required = true,
     .min = 1,
     .noun = "endpoint",
     .example = R"(listen = ["127.0.0.1:5353", "[::1]:5353"])",
     .description = "Addresses to answer on, UDP and TCP on each; port 53 when omitted."},
    {.path = "server.control_socket",
     .reader = Reader::ControlSocket,
     .slot = slot<&ServerConfig::control_socket>,
     .default_value = R"("run/headwater.sock")",
     .example = R"(control_socket = "/run/headwater/headwater.sock")",
     .description = "Unix socket headwaterctl talks to (status, reload, verify)."},
    {.path = "server.state_dir",
     .reader = Reader::Path,
     .slot = slot<&ServerConfig::state_dir>,
     .default_value = R"("state")",
     .example = R"(state_dir = "/var/lib/headwater")",
     .description = "Directory for the zones' journals (IXFR history) and snapshots."},
    {.path = "server.log_level",
     .reader = Reader::Choice,
     .slot = slot<&ServerConfig::log_level>,
     .choices = kLogLevels,
     .noun = "level",
     .default_value = R"("info")",
     .example = R"(log_level = "debug")",
     .description = "Least severe log message written to stderr."},
    {.path = "server.tcp_idle_timeout",
     .reader = Reader::Duration,
     .slot = slot<&ServerConfig::tcp_idle_timeout_ms>,
     .min = 1,
     .max = kDay,
     .unit = Unit::Seconds,
     .default_value = R"("10s")",
     .example = R"(tcp_idle_timeout = "30s")",
     .description = "A TCP connection waiting this long for its next query is closed (RFC 7766 §6.2.3)."},
    {.path = "server.tcp_max_connections",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::tcp_max_connections>,
     .min = 1,
     .max = 65535,
     .default_value = "256",
     .example = "tcp_max_connections = 1024",
     .description = "TCP connections open at once; one more is closed as soon as it is accepted."},
    {.path = "server.shutdown_grace",
     .reader = Reader::Duration,
     .slot = slot<&ServerConfig::shutdown_grace_ms>,
     .min = 0,
     .max = 3600,
     .unit = Unit::Seconds,
     .default_value = R"("5s")",
     .example = R"(shutdown_grace = "30s")",
     .description = "Time transfers in flight get to finish after SIGTERM."},
    {.path = "server.transfer_log",
     .reader = Reader::Path,
     .slot = slot<&ServerConfig::transfer_log>,
     .example = R"(transfer_log = "log/transfers.jsonl")",
     .description = "File to append one JSON line per transfer event to; none when absent."},
    {.path = "server.tcp_max_per_client",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::tcp_max_per_client>,
     .min = 1,
     .max = 65535,
     .default_value = "16",
     .example = "tcp_max_per_client = 4",
     .description = "TCP connections one client address may hold, checked before tcp_max_connections."},
    {.path = "server.tcp_write_timeout",
     .reader = Reader::Duration,
     .slot = slot<&ServerConfig::tcp_write_timeout_ms>,
     .min = 1,
     .max = 3600,
     .unit = Unit::Seconds,
     .default_value = R"("30s")",
     .example = R"(tcp_write_timeout = "1m")",
     .description = "A peer taking no data for this long while an answer is written is cut off."},
    {.path = "server.max_transfers",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::max_transfers>,
     .min = 1,
     .max = 65535,
     .default_value = "64",
     .example = "max_transfers = 16",
     .description = "AXFR/IXFR streams at once; past it a transfer is answered SERVFAIL."},
    // 512: every classic DNS message fits; 65535: the most a TCP length prefix can announce.
    {.path = "server.max_query_size",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::max_query_size>,
     .min = 512,
     .max = 65535,
     .unit = Unit::Octets,
     .default_value = "16384",
     .example = "max_query_size = 4096",
     .description = "Longest query read; a longer one is dropped (UDP) or closes the connection (TCP)."},
    {.path = "server.notify_max_in_flight",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::notify_max_in_flight>,
     .min = 1,
     .max = 65535,
     .default_value = "64",
     .example = "notify_max_in_flight = 16",
     .description = "NOTIFY targets, over all zones, waiting for an answer at once."},
    {.path = "server.user",
     .reader = Reader::Identity,
     .slot = slot<&ServerConfig::user>,
     .example = R"(user = "headwater")",
     .description = "User to switch to after binding the sockets; none: keep the starting identity."},
    {.path = "server.group",
     .reader = Reader::Identity,
     .slot = slot<&ServerConfig::group>,
     .example = R"(group = "headwater")",
     .description = "Group to switch to (needs user); default: the user's primary group."},
    {.path = "server.udp_threads",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::udp_threads>,
     .min = 0,
     .max = 64,
     .default_value = "0",
     .example = "udp_threads = 4",
     .description =
         "Threads answering UDP, each with its own SO_REUSEPORT socket; 0: one per core, at most 8."},
    {.path = "server.tcp_threads",
     .reader = Reader::Integer,
     .slot = slot<&ServerConfig::tcp_threads>,
     .min = 0,
     .max = 64,
     .default_value = "0",
     .example = "tcp_threads = 2",
     .description = "Threads serving TCP connections (transfers); 0: one per core, at most 8."},

    {.path = "server.metrics_listen",
     .reader = Reader::HttpListen,
     .slot = slot<&ServerConfig::metrics_listen>,
     .example = R"(metrics_listen = "127.0.0.1:9153")",
     .description = "Address serving GET /metrics (Prometheus text format); port 9153 when omitted; none "
                    "when absent."},

    // ---- [[key]] ----
    {.path = "key[].name",
     .reader = Reader::KeyName,
     .slot = slot<&KeyConfig::name>,
     .required = true,
     .example = R"(name = "xfr-key")",
     .description = "The key's name, as the secondary knows it; case and a trailing dot do not matter."},
    {.path = "key[].algorithm",
     .reader = Reader::Algorithm,
     .slot = slot<&KeyConfig::algorithm>,
     .choices = kTsigAlgorithms,
     .example = R"(algorithm = "hmac-sha256")",
     .description = "HMAC algorithm; required with secret; with file, it must match the file's."},
    {.path = "key[].secret",
     .reader = Reader::Secret,
     .slot = slot<&KeyConfig::secret>,
     .example = R"(secret = "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3JldCE=")",
     .description = "The shared secret in base64 (as tsig-keygen prints it); give secret or file."},
    {.path = "key[].file",
     .reader = Reader::KeyFile,
     .slot = slot<&KeyConfig::file>,
     .example = R"(file = "keys/xfr-key.key")",
     .description = "A BIND key file (tsig-keygen output) holding a key of this name; give secret or file."},

    // ---- [[acl]] ----
    {.path = "acl[].name",
     .reader = Reader::AclName,
     .slot = slot<&AclConfig::name>,
     .required = true,
     .example = R"(name = "providers")",
     .description = "The rule's name, for zone allow_transfer; case-sensitive."},
    {.path = "acl[].networks",
     .reader = Reader::Networks,
     .slot = slot<&AclConfig::networks>,
     .example = R"(networks = ["192.0.2.0/24", "2001:db8::53"])",
     .description = "Client networks (CIDR) or single addresses the rule admits."},
    {.path = "acl[].keys",
     .reader = Reader::KeyRefs,
     .slot = slot<&AclConfig::keys>,
     .example = R"(keys = ["xfr-key"])",
     .description = "TSIG keys the rule admits; with networks, a request must match both."},

    // ---- [[zone]] ----
    {.path = "zone[].name",
     .reader = Reader::ZoneName,
     .slot = slot<&ZoneConfig::name>,
     .required = true,
     .example = R"(name = "example.com")",
     .description = "The zone's apex; case and a trailing dot do not matter."},
    {.path = "zone[].file",
     .reader = Reader::Path,
     .slot = slot<&ZoneConfig::file>,
     .required = true,
     .example = R"(file = "zones/example.com.zone")",
     .description = "The zone's master file (RFC 1035 syntax)."},
    {.path = "zone[].allow_transfer",
     .reader = Reader::AclRefs,
     .slot = slot<&ZoneConfig::allow_transfer>,
     .example = R"(allow_transfer = ["providers"])",
     .description = "ACLs whose clients may AXFR/IXFR the zone; none: nobody may."},
    {.path = "zone[].serial_policy",
     .reader = Reader::Choice,
     .slot = slot<&ZoneConfig::serial_policy>,
     .choices = kSerialPolicies,
     .noun = "policy",
     .default_value = R"("increment")",
     .example = R"(serial_policy = "dateserial")",
     .description = "What a reload does when the content changed but the file's serial did not."},
    {.path = "zone[].journal_max_changesets",
     .reader = Reader::Integer,
     .slot = slot<&ZoneConfig::journal_max_changesets>,
     .min = 1,
     .max = 1000000,
     .default_value = "100",
     .example = "journal_max_changesets = 500",
     .description = "Changes (serials) of IXFR history kept; the oldest is dropped first."},
    {.path = "zone[].journal_max_bytes",
     .reader = Reader::Integer,
     .slot = slot<&ZoneConfig::journal_max_bytes>,
     .min = 4096,
     .max = int64_t{1} << 40,
     .unit = Unit::Bytes,
     .default_value = "67108864",
     .example = "journal_max_bytes = 1048576",
     .description = "Size the journal may reach; the oldest changes are dropped first."},
    {.path = "zone[].max_ixfr_ratio",
     .reader = Reader::Ratio,
     .slot = slot<&ZoneConfig::max_ixfr_ratio>,
     .min = 0,
     .max = 100,
     .default_value = "1.0",
     .example = "max_ixfr_ratio = 0.5",
     .description = "An IXFR whose changes exceed this share of the zone is answered as AXFR."},
    {.path = "zone[].notify",
     .reader = Reader::NotifyTargets,
     .slot = slot<&ZoneConfig::notify>,
     .example = R"(notify = ["192.0.2.1", { address = "198.51.100.7:5300", key = "xfr-key" }])",
     .description = "Servers to send NOTIFY (RFC 1996) when the zone changes."},
    {.path = "zone[].notify_retries",
     .reader = Reader::Integer,
     .slot = slot<&ZoneConfig::notify_retries>,
     .min = 0,
     .max = 20,
     .default_value = "5",
     .example = "notify_retries = 3",
     .description = "NOTIFY retransmissions after the first try, per target and serial."},
    {.path = "zone[].notify_retry_interval",
     .reader = Reader::Duration,
     .slot = slot<&ZoneConfig::notify_retry_interval_ms>,
     .min = 1,
     .max = 30,
     .unit = Unit::Seconds,
     .default_value = R"("2s")",
     .example = R"(notify_retry_interval = "1s")",
     .description = "Wait before the first NOTIFY retry; it doubles each try, capped at 30 s."},
    {.path = "zone[].notify_delay",
     .reader = Reader::Duration,
     .slot = slot<&ZoneConfig::notify_delay_ms>,
     .min = 0,
     .max = 60000,
     .unit = Unit::Milliseconds,
     .default_value = R"("250ms")",
     .example = R"(notify_delay = "1s")",
     .description = "Changes within this window after a change are announced with one NOTIFY."},
    {.path = "zone[].secondaries",
     .reader = Reader::Endpoints,
     .slot = slot<&ZoneConfig::secondaries>,
     .noun = "secondary",
     .example = R"(secondaries = ["203.0.113.53", "198.51.100.10:53"])",
     .description = "The zone's public secondaries, which `headwaterctl verify` and verify_interval check."},
    {.path = "zone[].verify_interval",
     .reader = Reader::Duration,
     .slot = slot<&ZoneConfig::verify_interval_s>,
     .min = 1,
     .max = 7 * kDay,
     .unit = Unit::Seconds,
     .stored = Unit::Seconds,
     .example = R"(verify_interval = "5m")",
     .description = "Check the secondaries this often in the background; never when absent."},
    {.path = "zone[].verify_key",
     .reader = Reader::KeyRef,
     .slot = slot<&ZoneConfig::verify_key>,
     .example = R"(verify_key = "xfr-key")",
     .description = "TSIG key signing the verification transfer; unsigned when absent."},
    {.path = "zone[].verify_sample",
     .reader = Reader::Integer,
     .slot = slot<&ZoneConfig::verify_sample>,
     .min = 0,
     .max = 100000,
     .default_value = "100",
     .example = "verify_sample = 250",
     .description = "Random RRsets asked of a secondary that refuses the verification transfer."},

    {.path = "zone[].parent",
     .reader = Reader::Endpoints,
     .slot = slot<&ZoneConfig::parent>,
     .noun = "parent server",
     .example = R"(parent = ["192.0.2.1", "198.51.100.1"])",
     .description = "Servers of the parent zone whose referral (NS and glue) `verify --delegation` and "
                    "verify_interval check."},

    // ---- [[alert]] ----
    {.path = "alert[].url",
     .reader = Reader::Url,
     .slot = slot<&AlertConfig::url>,
     .required = true,
     .example = R"(url = "https://hooks.example.net/services/T0/B0/XYZ")",
     .description = "Where each alert is POSTed (http:// or https://)."},
    {.path = "alert[].events",
     .reader = Reader::Choices,
     .slot = slot<&AlertConfig::events>,
     .choices = kAlertEvents,
     .noun = "event",
     .default_value =
         R"(["drift_start", "drift_end", "transfer_failures", "notify_giveup", "reload_failed"])",
     .example = R"(events = ["drift_start", "drift_end"])",
     .description = "Which events to send; every one when absent."},
    {.path = "alert[].format",
     .reader = Reader::Choice,
     .slot = slot<&AlertConfig::format>,
     .choices = kAlertFormats,
     .noun = "format",
     .default_value = R"("json")",
     .example = R"(format = "text")",
     .description = "json: the event as a JSON object; text: {\"text\": ...} as Slack and Teams take it."},
    {.path = "alert[].transfer_failures",
     .reader = Reader::Integer,
     .slot = slot<&AlertConfig::transfer_failures>,
     .min = 1,
     .max = 1000,
     .default_value = "3",
     .example = "transfer_failures = 5",
     .description = "Transfers in a row one secondary must fail for a transfer_failures alert."},
    {.path = "alert[].retries",
     .reader = Reader::Integer,
     .slot = slot<&AlertConfig::retries>,
     .min = 0,
     .max = 20,
     .default_value = "5",
     .example = "retries = 3",
     .description = "Tries after the first when the webhook fails or answers other than 2xx."},
    {.path = "alert[].retry_interval",
     .reader = Reader::Duration,
     .slot = slot<&AlertConfig::retry_interval_ms>,
     .min = 10,
     .max = 3600000,
     .unit = Unit::Milliseconds,
     .default_value = R"("2s")",
     .example = R"(retry_interval = "10s")",
     .description = "Wait before the first retry; it doubles each try, capped at 5 minutes."},
    {.path = "alert[].timeout",
     .reader = Reader::Duration,
     .slot = slot<&AlertConfig::timeout_ms>,
     .min = 100,
     .max = 300000,
     .unit = Unit::Milliseconds,
     .default_value = R"("10s")",
     .example = R"(timeout = "5s")",
     .description = "Limit on one try: connecting, sending and reading the answer's status."},

    // ---- a NOTIFY target given as a table: zone.notify = [{ address = ..., key = ..., source = ... }] ----
    {.path = "zone[].notify[].address",
     .reader = Reader::Endpoint,
     .slot = slot<&NotifyTargetConfig::address>,
     .required = true,
     .example = R"(address = "192.0.2.1:53")",
     .description = "The target's address; port 53 when omitted."},
    {.path = "zone[].notify[].key",
     .reader = Reader::KeyRef,
     .slot = slot<&NotifyTargetConfig::key>,
     .example = R"(key = "xfr-key")",
     .description = "TSIG key signing the NOTIFY; unsigned when absent."},
    {.path = "zone[].notify[].source",
     .reader = Reader::Address,
     .slot = slot<&NotifyTargetConfig::source>,
     .example = R"(source = "192.0.2.53")",
     .description =
         "Local address to send from, of the target's address family; the system's choice when absent."},
};

}  // namespace

std::string_view unit_name(Unit unit) {
    switch (unit) {
        case Unit::None:
            return "";
        case Unit::Milliseconds:
            return "milliseconds";
        case Unit::Seconds:
            return "seconds";
        case Unit::Octets:
            return "octets";
        case Unit::Bytes:
            return "bytes";
    }
    return "";
}

std::span<const SchemaKey> config_schema() {
    return kSchema;
}

std::string_view key_name(const SchemaKey& key) {
    const size_t dot = key.path.rfind('.');
    return dot == std::string_view::npos ? key.path : key.path.substr(dot + 1);
}

std::vector<const SchemaKey*> keys_of(std::string_view table) {
    std::vector<const SchemaKey*> out;
    for (const auto& key : kSchema) {
        const size_t dot = key.path.rfind('.');
        const std::string_view parent = dot == std::string_view::npos ? "" : key.path.substr(0, dot);
        if (parent == table) out.push_back(&key);
    }
    return out;
}

}  // namespace headwater::conf
