// headwaterctl: the control client. Sends one request over the control socket (docs/control.md) and
// prints the answer, as a table/lines for people or verbatim with --json. Offline commands (keygen) never
// touch the socket.
//
// Exit status: 0 the server answered ok:true; 1 it answered ok:false (a refused reload included);
// 2 usage or configuration error; 3 no usable answer (cannot connect, timeout, connection closed).
//
// Plain POSIX sockets on purpose: tools/ do not use Asio.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "conf/ConfigLoader.h"
#include "server/ControlProtocol.h"
#include "tools/LabReport.h"
#include "tsig/Hmac.h"
#include "tsig/Key.h"
#include "zone/base/ErrnoText.h"
#include "zone/dns/Base64.h"

namespace {

namespace control = headwater::server::control;
namespace dns = headwater::dns;
using headwater::errno_text;
using headwater::Result;
using headwater::unexpected;
using nlohmann::json;

enum ExitCode : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3 };

// A response bigger than this is not something the server sends; stop reading rather than eat memory.
constexpr std::size_t kMaxResponse = 256u * 1024 * 1024;

// ---- the command table --------------------------------------------------------------------------

// Arguments of every command; a new command adds the fields it needs.
struct Args {
    std::string zone;  // empty: every zone
    bool force = false;
    std::string key_name;                   // keygen
    std::string algorithm = "hmac-sha256";  // keygen
    std::string policy;                     // bump --policy
    std::optional<uint32_t> set_serial;     // bump --set
    std::string target;                     // notify: one target only
    std::vector<std::string> secondaries;   // verify --secondary
    std::string verify_key;                 // verify --key
    std::optional<uint32_t> sample;         // verify --sample
    std::optional<uint32_t> query_timeout;  // verify --query-timeout (milliseconds)
    bool no_transfer = false;               // verify --no-transfer
    std::string action;                     // dnssec: status, sign, ds, import, rollover, ds-seen, foreign
    std::string key_file;                   // dnssec import
    bool delegation = false;                // verify --delegation
    std::vector<std::string> parents;       // verify --parent
    std::vector<std::string> words;    // lab: ZONE PEER FAULT [ARGS] (set), [ZONE [PEER]] (clear, report)
    std::string html_file;             // lab report --html
    std::optional<uint64_t> since_ms;  // lab report --since-ms
};

struct Command {
    const char* name;
    const char* help;
    void (*add_arguments)(CLI::App& sub, Args& args);
    json (*build_request)(const char* name, const Args& args);
    void (*print)(const json& response);  // human output of the body; errors are printed by the caller
    int (*run_local)(const Args& args);   // offline commands: runs instead of sending a request
    // When set, decides success from an "ok" response (verify: every secondary in sync).
    bool (*succeeded)(const json& response) = nullptr;
};

std::string text_of(const json& j, const char* key) {
    if (!j.is_object()) return "-";
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "-";
    if (it->is_string()) return it->get<std::string>();
    return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

bool has_text(const json& j, const char* key) {
    return j.is_object() && j.contains(key) && !j[key].is_null();
}

const json& zones_of(const json& response) {
    static const json empty = json::array();
    if (!response.is_object()) return empty;
    const auto it = response.find("zones");
    return it != response.end() && it->is_array() ? *it : empty;
}

void add_zone_argument(CLI::App& sub, Args& args) {
    sub.add_option("zone", args.zone, "zone name (default: every zone)");
}

json zone_request(const char* name, const Args& args) {
    return control::make_request(name, args.zone.empty() ? std::nullopt : std::optional(args.zone),
                                 args.force);
}

// Left-aligned columns, two spaces apart.
void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                 const std::function<void(std::size_t)>& after_row = {}) {
    std::vector<std::size_t> widths;
    widths.reserve(headers.size());
    for (const auto& h : headers) widths.push_back(h.size());
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    const auto print_row = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
        }
        std::cout << line << '\n';
    };
    print_row(headers);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        print_row(rows[r]);
        if (after_row) after_row(r);
    }
}

std::vector<std::string> row_of(const json& j, const std::vector<const char*>& keys) {
    std::vector<std::string> row;
    row.reserve(keys.size());
    for (const char* k : keys) row.push_back(text_of(j, k));
    return row;
}

// ZONE SERIAL RECORDS IXFR-FROM LOADED FILE, with a line under a zone that is not served, or served from the
// state directory, or whose last reload failed: what is served and the error.
void print_status(const json& response) {
    const json& zones = zones_of(response);
    if (zones.empty()) {
        std::cout << "no zones\n";
        return;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(zones.size());
    for (const auto& zone : zones)
        rows.push_back(row_of(zone, {"name", "serial", "records", "ixfr_from", "loaded_at", "file"}));
    print_table({"ZONE", "SERIAL", "RECORDS", "IXFR-FROM", "LOADED", "FILE"}, rows, [&](std::size_t z) {
        const json& zone = zones[z];
        const std::string error = text_of(zone, "last_error");
        if (!has_text(zone, "serial")) {
            std::cout << "  NOT SERVED (SERVFAIL): "
                      << (has_text(zone, "last_error") ? error : "not loaded yet") << '\n';
        } else if (text_of(zone, "served_from") == "state") {
            std::cout << "  served from the state directory at serial " << text_of(zone, "serial")
                      << "; the zone file did not load: " << error << '\n';
        } else if (has_text(zone, "last_error")) {
            std::cout << "  last error: " << error << " (serial " << text_of(zone, "serial")
                      << " still served)\n";
        }
        // One line per NOTIFY target: its state for the serial it was last told about.
        if (const auto it = zone.find("notify"); it != zone.end() && it->is_array()) {
            for (const auto& t : *it) {
                std::cout << "  notify " << text_of(t, "target") << ": " << text_of(t, "status")
                          << ", serial " << text_of(t, "serial") << ", tries " << text_of(t, "tries");
                if (has_text(t, "acknowledged_at"))
                    std::cout << ", acknowledged " << text_of(t, "acknowledged_at");
                if (has_text(t, "error")) std::cout << ", error: " << text_of(t, "error");
                std::cout << '\n';
            }
        }
    });
}

// FROM TO WHEN REMOVED ADDED BYTES: the IXFR history, oldest first.
void print_journal(const json& response) {
    std::cout << text_of(response, "name") << ": serial " << text_of(response, "serial") << ", IXFR from "
              << text_of(response, "ixfr_from") << '\n';
    const auto it = response.find("entries");
    if (it == response.end() || !it->is_array() || it->empty()) {
        std::cout << "no history" << (has_text(response, "journal") ? "" : " (no journal: no state_dir)")
                  << '\n';
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : *it) rows.push_back(row_of(e, {"from", "to", "when", "removed", "added", "bytes"}));
    print_table({"FROM", "TO", "WHEN", "REMOVED", "ADDED", "BYTES"}, rows);
}

void print_bump(const json& response) {
    std::cout << text_of(response, "name") << ": serial " << text_of(response, "old_serial") << " -> "
              << text_of(response, "serial") << '\n';
    if (has_text(response, "note")) std::cout << "  note: " << text_of(response, "note") << '\n';
}

void print_sync(const json& response) {
    std::cout << text_of(response, "name") << ": serial " << text_of(response, "serial") << " written to "
              << text_of(response, "file") << '\n';
}

json bump_request(const char* name, const Args& args) {
    json request = control::make_request(name, args.zone);
    if (!args.policy.empty()) request["policy"] = args.policy;
    if (args.set_serial) request["set"] = *args.set_serial;
    return request;
}

// One line per zone: "NAME: updated, serial A -> B" / "NAME: unchanged at serial N" / "NAME: error: MSG".
void print_reload(const json& response) {
    for (const auto& zone : zones_of(response)) {
        const std::string name = text_of(zone, "name");
        const std::string outcome = text_of(zone, "outcome");
        if (outcome == "updated") {
            std::cout << name << ": updated, serial " << text_of(zone, "old_serial") << " -> "
                      << text_of(zone, "serial") << '\n';
            if (has_text(zone, "note")) std::cout << "  note: " << text_of(zone, "note") << '\n';
        } else if (outcome == "unchanged") {
            std::cout << name << ": unchanged at serial " << text_of(zone, "serial") << '\n';
        } else if (outcome == "error") {
            std::cout << name << ": error: " << text_of(zone, "error") << '\n';
        } else {
            std::cout << name << ": " << outcome << '\n';
        }
        // What loading the file changed (a duplicate dropped, an RRset's TTLs made one), "file:line: ...".
        if (auto it = zone.find("warnings"); it != zone.end() && it->is_array())
            for (const auto& w : *it)
                if (w.is_string()) std::cout << "  warning: " << w.get<std::string>() << '\n';
    }
}

// "75s" -> "1m15s": the largest two units, for the LAG(TIME) column.
std::string duration_text(const json& seconds) {
    if (!seconds.is_number_integer()) return "-";
    long long s = seconds.get<long long>();
    const char* sign = s < 0 ? "-" : "";
    if (s < 0) s = -s;
    struct Unit {
        long long size;
        const char* name;
    };
    static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    for (std::size_t i = 0; i < std::size(kUnits); ++i) {
        if (s < kUnits[i].size && kUnits[i].size != 1) continue;
        std::string out = sign + std::to_string(s / kUnits[i].size) + kUnits[i].name;
        if (i + 1 < std::size(kUnits) && s % kUnits[i].size != 0)
            out += std::to_string(s % kUnits[i].size / kUnits[i + 1].size) + kUnits[i + 1].name;
        return out;
    }
    return "0s";
}

// "IXFR 5->7 ok 2026-11-26T16:00:00Z"; "IXFR(axfr) …" when an IXFR was answered with the whole zone;
// "AXFR refused (why) …".
std::string transfer_text(const json& t) {
    if (!t.is_object()) return "-";
    std::string out = text_of(t, "type");
    const std::string form = text_of(t, "form");
    if (form != "-") {
        std::string upper = form;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
        if (upper != out) out += "(" + form + ")";
    }
    if (has_text(t, "to"))
        out += " " + (has_text(t, "from") ? text_of(t, "from") + "->" : std::string()) + text_of(t, "to");
    out += " " + text_of(t, "outcome");
    if (has_text(t, "error")) out += " (" + text_of(t, "error") + ")";
    if (has_text(t, "at")) out += " " + text_of(t, "at");
    return out;
}

// The last check of each public secondary (verify_interval or `headwaterctl verify`).
void print_verification(const json& response) {
    const auto verification = response.find("verification");
    if (verification == response.end() || !verification->is_array() || verification->empty()) return;
    std::cout << '\n';
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : *verification)
        rows.push_back(row_of(v, {"address", "at", "status", "serial", "lag_serials", "summary"}));
    print_table({"VERIFIED", "AT", "STATUS", "SERIAL", "LAG", "SUMMARY"}, rows);
}

// "ZONE: serial N", then SECONDARY KEY HOLDS LAG(SERIALS) LAG(TIME) LAST-TRANSFER LAST-SOA-QUERY, then
// NOTIFY TARGET KEY SERIAL TRIES ACKED ERROR.
void print_secondaries(const json& response) {
    std::cout << text_of(response, "name") << ": serial " << text_of(response, "serial") << '\n';
    const auto secondaries = response.find("secondaries");
    if (secondaries == response.end() || !secondaries->is_array() || secondaries->empty()) {
        std::cout << "no secondaries seen\n";
    } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : *secondaries) {
            std::vector<std::string> row = row_of(s, {"address", "key", "holds", "lag_serials"});
            row.push_back(s.is_object() && s.contains("lag_seconds") ? duration_text(s["lag_seconds"]) : "-");
            row.push_back(s.is_object() && s.contains("last_transfer") ? transfer_text(s["last_transfer"])
                                                                       : "-");
            row.push_back(text_of(s, "last_soa_query"));
            rows.push_back(std::move(row));
        }
        print_table(
            {"SECONDARY", "KEY", "HOLDS", "LAG(SERIALS)", "LAG(TIME)", "LAST-TRANSFER", "LAST-SOA-QUERY"},
            rows);
    }
    std::cout << '\n';
    const auto notify = response.find("notify");
    if (notify == response.end() || !notify->is_array() || notify->empty()) {
        std::cout << "no notify targets\n";
        print_verification(response);
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : *notify) {
        std::vector<std::string> row = row_of(n, {"target", "key", "serial", "tries"});
        const bool pending =
            n.is_object() && n.contains("pending") && n["pending"].is_boolean() && n["pending"].get<bool>();
        row.push_back(has_text(n, "acknowledged_at") ? text_of(n, "acknowledged_at")
                                                     : (pending ? "pending" : "-"));
        row.push_back(text_of(n, "error"));
        rows.push_back(std::move(row));
    }
    print_table({"NOTIFY TARGET", "KEY", "SERIAL", "TRIES", "ACKED", "ERROR"}, rows);
    print_verification(response);
}

json notify_request(const char* name, const Args& args) {
    json request = control::make_request(name, args.zone);
    if (!args.target.empty()) request["target"] = args.target;
    return request;
}

// One line per target the NOTIFY was (re)sent to.
void print_notify(const json& response) {
    const auto targets = response.find("targets");
    if (targets == response.end() || !targets->is_array() || targets->empty()) {
        std::cout << "no notify targets\n";
        return;
    }
    for (const auto& t : *targets)
        std::cout << (t.is_string() ? t.get<std::string>() : text_of(t, "target")) << '\n';
}

json plain_request(const char* name, const Args&) {
    return control::make_request(name);
}

void print_reload_tls(const json& response) {
    std::cout << "new TLS connections use " << text_of(response, "certificate") << '\n';
}

// "N zones served; added: a, b; removed: c; rebuilt: d".
void print_reconfigure(const json& response) {
    std::cout << text_of(response, "zones") << " zone(s) served";
    for (const char* what : {"added", "removed", "changed"}) {
        const auto it = response.find(what);
        if (it == response.end() || !it->is_array() || it->empty()) continue;
        std::cout << "; " << (std::string_view(what) == "changed" ? "rebuilt" : what) << ":";
        for (const auto& z : *it)
            if (z.is_string()) std::cout << ' ' << z.get<std::string>();
    }
    std::cout << '\n';
}

// keygen NAME [--algorithm A]: a fresh random TSIG key, as a [[key]] block for headwater.toml and as a
// BIND key file (what tsig-keygen prints) for the secondary. Offline: no server needed.
int run_keygen(const Args& args) {
    namespace tsig = headwater::tsig;
    const auto algorithm = tsig::algorithm_from_text(args.algorithm);
    if (!algorithm) {
        std::cerr << "headwaterctl: keygen: unknown algorithm \"" << args.algorithm
                  << "\" (known: " << tsig::algorithm_list() << ")\n";
        return kExitUsage;
    }
    // The name is printed inside quotes in both formats: keep it to characters that need no escaping.
    const auto bad = std::find_if(args.key_name.begin(), args.key_name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == ';' || c == '{' || c == '}' ||
               c == '#';
    });
    if (bad != args.key_name.end()) {
        std::cerr
            << "headwaterctl: keygen: invalid key name \"" << args.key_name
            << "\": use letters, digits, '-', '_' and dots (no spaces, quotes, backslash, ';', '{', '}' "
               "or '#')\n";
        return kExitUsage;
    }
    auto name = dns::Name::from_text(args.key_name);
    if (!name) {
        std::cerr << "headwaterctl: keygen: invalid key name \"" << args.key_name << "\": " << name.error()
                  << '\n';
        return kExitUsage;
    }
    auto key = tsig::Key::generate(std::move(name).value(), *algorithm);
    if (!key) {
        std::cerr << "headwaterctl: keygen: " << key.error() << '\n';
        return kExitFailed;
    }
    std::string secret = dns::base64_encode(key->secret());
    const std::string_view alg = tsig::algorithm_text(*algorithm);
    std::cout << "# headwater.toml\n"
              << "[[key]]\n"
              << "name = \"" << args.key_name << "\"\n"
              << "algorithm = \"" << alg << "\"\n"
              << "secret = \"" << secret << "\"\n"
              << "\n"
              << "# BIND key file (tsig-keygen format), for the secondary\n"
              << "key \"" << args.key_name << "\" {\n"
              << "\talgorithm " << alg << ";\n"
              << "\tsecret \"" << secret << "\";\n"
              << "};\n";
    std::cout.flush();
    tsig::secure_wipe(secret.data(), secret.size());
    return std::cout ? kExitOk : kExitFailed;
}

json verify_request(const char* name, const Args& args) {
    json request = control::make_request(name, args.zone);
    if (!args.secondaries.empty()) request["secondaries"] = args.secondaries;
    if (!args.verify_key.empty()) request["key"] = args.verify_key;
    if (args.sample) request["sample"] = *args.sample;
    if (args.query_timeout) request["timeout_ms"] = *args.query_timeout;
    if (args.no_transfer) request["transfer"] = false;
    if (args.delegation) request["delegation"] = true;
    if (!args.parents.empty()) request["parents"] = args.parents;
    return request;
}

// A parent's DS for a signed zone: "ok 40136" (the keys it names that sign our DNSKEY RRset), "wrong
// 20326", "none"; "-" for an unsigned zone.
std::string ds_text(const json& ds) {
    if (!ds.is_object()) return "-";
    if (ds.contains("error")) return "no answer";
    const auto tags = [](const json& list) {
        std::string out;
        for (const auto& t : list) out += (out.empty() ? "" : ",") + std::to_string(t.get<unsigned>());
        return out;
    };
    const json served = ds.value("served", json::array());
    if (served.empty()) return "none";
    return ds.value("ok", false) ? "ok " + tags(ds.value("matching", json::array()))
                                 : "wrong " + tags(served);
}

// What the zone's apex NS says, then PARENT STATUS NS DS, and each parent's problems.
void print_delegation(const json& d) {
    std::string ns;
    for (const auto& n : d.value("ns", json::array())) ns += (ns.empty() ? "" : " ") + n.get<std::string>();
    std::cout << text_of(d, "zone") << ": apex NS " << ns << "; hidden primary "
              << text_of(d, "hidden_primary") << '\n';
    for (const auto& n : d.value("unresolved", json::array()))
        std::cout << "  no provider answered for " << n.get<std::string>() << ": its glue is not compared\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : d.value("parents", json::array())) {
        std::string listed;
        for (const auto& n : p.value("ns", json::array()))
            listed += (listed.empty() ? "" : " ") + n.get<std::string>();
        rows.push_back({text_of(p, "address"), text_of(p, "status"), listed.empty() ? "-" : listed,
                        ds_text(p.value("ds", json()))});
    }
    print_table({"PARENT", "STATUS", "NS", "DS"}, rows);
    for (const auto& p : d.value("parents", json::array())) {
        for (const auto& problem : p.value("problems", json::array()))
            std::cout << "  " << text_of(p, "address") << ": " << problem.get<std::string>() << '\n';
        if (const json ds = p.value("ds", json()); ds.is_object() && has_text(ds, "note"))
            std::cout << "  " << text_of(p, "address") << ": " << text_of(ds, "note") << '\n';
    }
}

std::string rtt_text(const json& probe) {
    if (!probe.is_object() || !probe.value("answered", false)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fms", probe.value("rtt_ms", 0.0));
    return buf;
}

void print_records(const char* label, const json& records) {
    if (!records.is_array()) return;
    for (const auto& r : records) std::cout << "      " << label << r.get<std::string>() << '\n';
}

// A signed zone's DNSSEC column: "ok", "ok, N expiring", "keys differ", "bad sigs", "no DNSKEY" (not read);
// "-" for an unsigned zone.
std::string dnssec_cell(const json& s) {
    if (!s.is_object() || !s.contains("dnssec") || !s["dnssec"].is_object()) return "-";
    const auto& d = s["dnssec"];
    const auto expiring = d.value("expiring", std::size_t{0});
    if (has_text(d, "dnskey_error") && d.value("missing_tags", json::array()).empty()) return "no DNSKEY";
    if (!d.value("ok", false)) return d.value("dnskey_match", false) ? "bad sigs" : "keys differ";
    return expiring > 0 ? "ok, " + std::to_string(expiring) + " expiring" : "ok";
}

// Under a secondary: what the DNSSEC check found wrong.
void print_dnssec_problems(const json& s) {
    if (!s.contains("dnssec") || !s["dnssec"].is_object()) return;
    const auto& d = s["dnssec"];
    const auto tags = [](const json& list) {
        std::string out;
        for (const auto& t : list) out += (out.empty() ? "" : " ") + t.dump();
        return out;
    };
    if (!d.value("missing_tags", json::array()).empty())
        std::cout << "  DNSKEY missing (key tags): " << tags(d["missing_tags"]) << '\n';
    if (!d.value("extra_tags", json::array()).empty())
        std::cout << "  DNSKEY extra (key tags): " << tags(d["extra_tags"]) << '\n';
    for (const auto& p : d.value("problems", json::array()))
        std::cout << "  RRSIG " << text_of(p, "owner") << " " << text_of(p, "type") << " key "
                  << text_of(p, "key_tag") << ": " << text_of(p, "problem") << " (expires "
                  << text_of(p, "expiration") << ")\n";
    std::cout << "  DNSSEC: " << text_of(d, "signatures_checked") << " signatures verified, "
              << text_of(d, "signatures_dated") << " dated, " << text_of(d, "signatures_bad") << " bad, "
              << text_of(d, "expiring") << " expiring; earliest expiry " << text_of(d, "earliest_expiry")
              << '\n';
}

// SECONDARY STATUS SERIAL LAG UDP TCP CHECKED DIFFERS DNSSEC, then what differs under each secondary.
void print_verify(const json& response) {
    if (response.contains("delegation")) return print_delegation(response["delegation"]);
    std::cout << text_of(response, "zone") << ": serving serial " << text_of(response, "serial") << '\n';
    const auto secondaries = response.find("secondaries");
    if (secondaries == response.end() || !secondaries->is_array()) return;
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : *secondaries) {
        std::vector<std::string> row = row_of(s, {"address", "status", "serial", "lag_serials"});
        row.push_back(s.is_object() && s.contains("udp") ? rtt_text(s["udp"]) : "-");
        row.push_back(s.is_object() && s.contains("tcp") ? rtt_text(s["tcp"]) : "-");
        row.push_back(has_text(s, "method") ? text_of(s, "method") + " " + text_of(s, "checked") : "-");
        row.push_back(text_of(s, "differences"));
        row.push_back(dnssec_cell(s));
        rows.push_back(std::move(row));
    }
    print_table({"SECONDARY", "STATUS", "SERIAL", "LAG", "UDP", "TCP", "CHECKED", "DIFFERS", "DNSSEC"}, rows);
    for (const auto& s : *secondaries) {
        if (!s.is_object()) continue;
        std::cout << '\n' << text_of(s, "address") << ": " << text_of(s, "summary") << '\n';
        if (has_text(s, "transfer_error"))
            std::cout << "  no transfer (" << text_of(s, "transfer_error") << "): checked by sample\n";
        for (const auto& d : s.value("rrsets", json::array())) {
            std::cout << "  " << text_of(d, "kind") << " " << text_of(d, "owner") << " " << text_of(d, "type")
                      << '\n';
            print_records("served: ", d.value("served", json::array()));
            print_records("theirs: ", d.value("theirs", json::array()));
        }
        for (const auto& a : s.value("answers", json::array())) {
            std::cout << "  " << text_of(a, "name") << " " << text_of(a, "type") << " ("
                      << text_of(a, "reason") << ", expected " << text_of(a, "expect")
                      << "): " << text_of(a, "detail") << '\n';
            print_records("served: ", a.value("served", json::array()));
            print_records("theirs: ", a.value("theirs", json::array()));
        }
        print_dnssec_problems(s);
        const auto differences = s.value("differences", std::size_t{0});
        const auto listed =
            s.value("rrsets", json::array()).size() + s.value("answers", json::array()).size();
        if (differences > listed) std::cout << "  ... and " << differences - listed << " more\n";
    }
}

json dnssec_request(const char* name, const Args& args) {
    json request = control::make_request(name, args.zone);
    request["action"] = args.action;
    if (args.action == "rollover") {
        request["role"] = args.key_file;  // the third word: zsk, ksk or csk
    } else if (args.action == "ds-seen") {
        // The third word: the new KSK's or CSK's tag (a non-number is sent as text, which the server
        // refuses with the reason).
        const std::string& tag = args.key_file;
        if (!tag.empty() && tag.size() <= 5 &&
            std::ranges::all_of(tag, [](char c) { return c >= '0' && c <= '9'; }))
            request["tag"] = std::stoul(tag);
        else
            request["tag"] = tag;
    } else if (!args.key_file.empty()) {
        // The server resolves nothing against our directory: send it absolute.
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(args.key_file, ec);
        request["file"] = (ec ? std::filesystem::path(args.key_file) : absolute).string();
    }
    return request;
}

void print_dnssec(const json& response) {
    const std::string name = text_of(response, "name");
    if (response.contains("ds") && response["ds"].is_array() && !response.contains("keys")) {
        std::cout << "; give these to the registrar (DS), or the DNSKEY where it asks for keys\n";
        for (const auto& l : response["ds"]) std::cout << l.get<std::string>() << '\n';
        for (const auto& l : response.value("dnskey", json::array()))
            std::cout << l.get<std::string>() << '\n';
        return;
    }
    if (response.contains("keys") || response.contains("signed_by")) {
        std::cout << name << ": serial " << text_of(response, "serial") << ", signed by "
                  << text_of(response, "signed_by") << ", earliest signature expiry "
                  << text_of(response, "earliest_expiration") << '\n';
        if (!response.contains("keys")) return;
        std::cout << "policy " << text_of(response, "policy") << ", " << text_of(response, "denial") << '\n';
        std::vector<std::vector<std::string>> rows;
        for (const auto& k : response["keys"])
            rows.push_back({text_of(k, "tag"), text_of(k, "algorithm"), text_of(k, "role"),
                            text_of(k, "state") + (k.value("cds", false) ? " +cds" : ""),
                            text_of(k, "created"), text_of(k, "file")});
        print_table({"TAG", "ALGORITHM", "ROLE", "STATE", "CREATED", "FILE"}, rows);
        const auto& sigs = response.value("signatures", json::object());
        std::cout << "signatures: last signing made " << text_of(sigs, "made") << ", kept "
                  << text_of(sigs, "kept") << "; next refresh " << text_of(sigs, "next_refresh") << '\n';
        const auto& rollover = response.value("rollover", json::object());
        if (has_text(rollover, "status"))
            std::cout << "rollover: " << text_of(rollover, "status")
                      << (has_text(rollover, "next") ? "; next event " + text_of(rollover, "next") : "")
                      << '\n';
        for (const auto& k : response["keys"])
            if (has_text(k, "ds")) std::cout << text_of(k, "ds") << '\n';
        return;
    }
    if (response.contains("foreign")) {
        std::cout << name << ": the other signers' keys (multi-signer)"
                  << (has_text(response, "file") ? ", file " + text_of(response, "file") : "") << '\n';
        std::vector<std::vector<std::string>> rows;
        for (const auto& k : response["foreign"])
            rows.push_back(
                {text_of(k, "tag"), text_of(k, "algorithm"), text_of(k, "role"), text_of(k, "source")});
        print_table({"TAG", "ALGORITHM", "ROLE", "SOURCE"}, rows);
        return;
    }
    if (response.contains("rollover")) {
        const auto& rollover = response["rollover"];
        std::cout << name << ": serial " << text_of(response, "serial")
                  << "; rollover: " << text_of(rollover, "status")
                  << (has_text(rollover, "next") ? "; next event " + text_of(rollover, "next") : "") << '\n';
        return;
    }
    if (response.contains("key"))
        std::cout << name << ": imported key " << text_of(response["key"], "tag") << " ("
                  << text_of(response["key"], "role") << ")\n";
    std::cout << name << ": serial " << text_of(response, "old_serial") << " -> "
              << text_of(response, "serial") << '\n';
    if (has_text(response, "note")) std::cout << "  note: " << text_of(response, "note") << '\n';
}

// lab set ZONE PEER FAULT [ARGS...] | clear [ZONE [PEER]] | list | report ZONE [PEER]
json lab_request(const char* name, const Args& args) {
    json request = {{"command", name}, {"action", args.action}};
    const auto& w = args.words;
    if (!w.empty()) request["zone"] = w[0];
    if (w.size() > 1) request["peer"] = w[1];
    if (w.size() > 2) {
        std::string fault;
        for (std::size_t i = 2; i < w.size(); ++i) fault += (fault.empty() ? "" : " ") + w[i];
        request["fault"] = fault;
    }
    if (args.since_ms) request["since_ms"] = *args.since_ms;
    return request;
}

bool verify_in_sync(const json& response) {
    const auto it = response.find("in_sync");
    return it != response.end() && it->is_boolean() && it->get<bool>();
}

constexpr Command kCommands[] = {
    {"status", "show the zones served: serial, records, load time, file, last error",
     [](CLI::App& sub, Args& args) { add_zone_argument(sub, args); }, zone_request, print_status, nullptr},
    {"reload", "reload zone files from disk (every zone, or one)",
     [](CLI::App& sub, Args& args) {
         add_zone_argument(sub, args);
         sub.add_flag("--force", args.force,
                      "accept a serial that went backwards (secondaries then need a full transfer)");
     },
     zone_request, print_reload, nullptr},
    {"reload-tls",
     "read the TLS certificate, key and client CA again; new TLS connections use them, open ones keep theirs",
     [](CLI::App&, Args&) {}, plain_request, print_reload_tls, nullptr},
    {"reconfigure",
     "read the config file again and apply it whole: zones added and removed, ACLs, keys, NOTIFY targets; "
     "any error changes nothing",
     [](CLI::App&, Args&) {}, plain_request, print_reconfigure, nullptr},
    {"keygen", "print a new random TSIG key as a TOML [[key]] block and in BIND format (offline)",
     [](CLI::App& sub, Args& args) {
         sub.add_option("name", args.key_name, "key name, e.g. xfr-key")->required();
         sub.add_option("--algorithm,-a", args.algorithm,
                        "hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512")
             ->capture_default_str();
     },
     nullptr, nullptr, run_keygen},
    {"bump", "serve a new version with the next serial and write it into the zone file",
     [](CLI::App& sub, Args& args) {
         sub.add_option("zone", args.zone, "zone name")->required();
         auto* policy =
             sub.add_option("--policy", args.policy,
                            "increment, unixtime or dateserial (default: the zone's serial_policy)");
         sub.add_option("--set", args.set_serial, "this exact serial (must be newer, RFC 1982)")
             ->excludes(policy);
     },
     bump_request, print_bump, nullptr},
    {"sync", "write the served version (dynamic updates included) to the zone file now",
     [](CLI::App& sub, Args& args) { sub.add_option("zone", args.zone, "zone name")->required(); },
     zone_request, print_sync, nullptr},
    {"journal", "list a zone's IXFR history: serial from/to, when, records removed/added, bytes",
     [](CLI::App& sub, Args& args) { sub.add_option("zone", args.zone, "zone name")->required(); },
     zone_request, print_journal, nullptr},
    {"secondaries", "show what each secondary holds, its lag, last transfer and SOA query, and NOTIFY state",
     [](CLI::App& sub, Args& args) { sub.add_option("zone", args.zone, "zone name")->required(); },
     zone_request, print_secondaries, nullptr},
    {"notify", "send NOTIFY for a zone again, to every target or one",
     [](CLI::App& sub, Args& args) {
         sub.add_option("zone", args.zone, "zone name")->required();
         sub.add_option("target", args.target, "one of the zone's notify targets (default: all)");
     },
     notify_request, print_notify, nullptr},
    {"verify",
     "check that the secondaries serve what we serve (SOA, then AXFR diff or sampled answers), or with "
     "--delegation the parent's referral; exit status 0 only when every one is in sync",
     [](CLI::App& sub, Args& args) {
         sub.add_option("zone", args.zone, "zone name")->required();
         sub.add_option(
             "--secondary,-s", args.secondaries,
             "address[:port] to check, repeatable (default: the zone's secondaries, else its NOTIFY "
             "targets)");
         sub.add_option("--key,-k", args.verify_key, "TSIG key (configured in the server) for the AXFR");
         sub.add_option("--sample", args.sample,
                        "random RRsets asked when the transfer is refused (default 100)");
         sub.add_option("--query-timeout", args.query_timeout, "milliseconds per query (default 3000)");
         sub.add_flag("--no-transfer", args.no_transfer, "compare answers to sampled questions only");
         sub.add_flag("--delegation", args.delegation,
                      "check the delegation instead: the parent servers' referral lists exactly the apex NS "
                      "names, with matching glue, and not the hidden primary");
         sub.add_option(
             "--parent,-p", args.parents,
             "parent server address[:port] for --delegation, repeatable (default: the zone's parent)");
     },
     verify_request, print_verify, nullptr, verify_in_sync},
    {"dnssec",
     "DNSSEC of a zone: status (keys, signatures, rollover), sign (every signature anew), ds (records for "
     "the parent), import KEYFILE (a BIND/ldns key pair), rollover zsk|ksk|csk (start a rollover now), "
     "ds-seen TAG (the parent serves the new KSK's or CSK's DS), foreign (the other signers' keys)",
     [](CLI::App& sub, Args& args) {
         sub.add_option("action", args.action, "status, sign, ds, import, rollover, ds-seen or foreign")
             ->required()
             ->check(CLI::IsMember({"status", "sign", "ds", "import", "rollover", "ds-seen", "foreign"}));
         sub.add_option("zone", args.zone, "zone name")->required();
         sub.add_option("keyfile", args.key_file,
                        "import: the key's .key or .private file (Kzone.+alg+tag); rollover: zsk, ksk or "
                        "csk; ds-seen: the key tag");
     },
     dnssec_request, print_dnssec, nullptr},
    {"lab",
     "lab mode (server.lab = true): set ZONE PEER FAULT [ARGS], clear [ZONE [PEER]], list, report ZONE "
     "[PEER] "
     "[--html FILE]: faults served on purpose and what each secondary did",
     [](CLI::App& sub, Args& args) {
         sub.add_option("action", args.action, "set, clear, list or report")
             ->required()
             ->check(CLI::IsMember({"set", "clear", "list", "report"}));
         sub.add_option("words", args.words, "ZONE PEER FAULT [ARGS] (set); ZONE [PEER] (clear, report)");
         sub.add_option("--html", args.html_file, "report: also write the timeline as an HTML page (SVG)");
         sub.add_option("--since-ms", args.since_ms, "report: start at this unix time in ms (after a clear)");
     },
     lab_request, headwater::tools::print_lab, nullptr},
};

// ---- the socket -----------------------------------------------------------------------------

struct Fd {
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    int fd;
};

struct ExchangeError {
    bool connecting;  // failed before the server got the request
    int err;          // errno, 0 when the message says it all
    std::string message;
};

// Waits until fd is ready for `events`, at most until deadline; false with errno set otherwise.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

// Sends one request line and reads one response line.
Result<std::string, ExchangeError> exchange(const std::string& socket_path, const std::string& request,
                                            std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        return unexpected(ExchangeError{true, ENAMETOOLONG, {}});
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);

    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (sock.fd < 0) return unexpected(ExchangeError{true, errno, {}});
    // A Unix socket connects at once, or fails with EAGAIN when the server's backlog is full.
    while (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EINPROGRESS) return unexpected(ExchangeError{true, errno, {}});
        if (std::chrono::steady_clock::now() >= deadline) {
            return unexpected(ExchangeError{true, ETIMEDOUT, {}});
        }
        ::usleep(50'000);
    }

    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(sock.fd, POLLOUT, deadline)) {
                return unexpected(ExchangeError{false, errno, "sending the request"});
            }
        } else {
            return unexpected(ExchangeError{false, errno, "sending the request"});
        }
    }

    std::string response;
    char chunk[65536];
    for (;;) {
        if (const auto nl = response.find('\n'); nl != std::string::npos) {
            response.resize(nl);
            return response;
        }
        if (response.size() > kMaxResponse) {
            return unexpected(ExchangeError{false, 0, "response larger than 256 MiB"});
        }
        const ssize_t n = ::recv(sock.fd, chunk, sizeof(chunk), 0);
        if (n > 0) {
            response.append(chunk, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return unexpected(ExchangeError{false, 0, "the server closed the connection without answering"});
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(sock.fd, POLLIN, deadline)) {
                if (errno == ETIMEDOUT) {
                    return unexpected(
                        ExchangeError{false, 0, "timed out after " + std::to_string(timeout.count()) + " s"});
                }
                return unexpected(ExchangeError{false, errno, "waiting for the answer"});
            }
        } else {
            return unexpected(ExchangeError{false, errno, "reading the answer"});
        }
    }
}

void report_exchange_error(const std::string& socket_path, const ExchangeError& e,
                           const std::string& config) {
    std::cerr << "headwaterctl: ";
    if (e.connecting) {
        std::cerr << "cannot connect to " << socket_path << ": " << errno_text(e.err);
        if (e.err == EACCES || e.err == EPERM) {
            std::cerr << " (the control socket is only usable by the user headwater runs as)";
        } else if (e.err == ENOENT || e.err == ECONNREFUSED || e.err == ENOTDIR) {
            std::cerr << " (is headwater running? start it with: headwater --config "
                      << (config.empty() ? "FILE" : config) << ")";
        }
    } else {
        std::cerr << "no answer from " << socket_path << ": " << e.message;
        if (e.err != 0) std::cerr << ": " << errno_text(e.err);
    }
    std::cerr << '\n';
}

std::string pretty(const json& j) {
    return j.dump(2, ' ', false, json::error_handler_t::replace);
}

// The socket to talk to: --socket, else the config's server.control_socket (--config), else the
// environment, else the default. False (reported) when the config cannot be read.
bool resolve_socket(const std::string& config_file, std::string& socket_path) {
    if (!config_file.empty()) {
        auto path = headwater::conf::read_control_socket(config_file);
        if (!path) {
            std::cerr << "headwaterctl: " << path.error().message << '\n';
            return false;
        }
        socket_path = path->string();
    } else if (socket_path.empty()) {
        const char* env = std::getenv(control::kSocketEnvVar);
        socket_path = env != nullptr && *env != '\0' ? env : control::kDefaultSocketPath;
    }
    return true;
}

// The answer as the operator reads it (or as JSON with --json); a refusal's error on stderr.
void print_response(const Command& command, const json& response, bool ok, bool json_output) {
    if (json_output) {
        std::cout << pretty(response) << '\n';
    } else {
        // A refused command may still report per-zone results (reload); a plain refusal has only "error".
        if (ok || !zones_of(response).empty()) command.print(response);
        if (!ok) {
            const auto error = response.find("error");
            if (error != response.end() && error->is_string()) {
                std::cerr << "headwaterctl: " << command.name << ": " << error->get<std::string>() << '\n';
            } else if (zones_of(response).empty()) {
                std::cerr << "headwaterctl: " << command.name << " failed: " << pretty(response) << '\n';
            }
        }
    }
}

int run(int argc, char** argv) {
    CLI::App app{"Control a running headwater server over its control socket."};
    app.name("headwaterctl");
    std::string socket_path;
    std::string config_file;
    bool json_output = false;
    int timeout_seconds = 60;
    auto* socket_opt = app.add_option("--socket", socket_path,
                                      std::string("control socket (default: $") + control::kSocketEnvVar +
                                          ", else " + control::kDefaultSocketPath + ")");
    auto* config_opt = app.add_option("--config", config_file,
                                      "headwater configuration file to read server.control_socket from");
    socket_opt->excludes(config_opt);
    app.add_flag("--json", json_output, "print the server's JSON response");
    app.add_option("--timeout", timeout_seconds, "seconds to wait for the server's answer")
        ->default_val(60)
        ->check(CLI::Range(1, 86400));
    app.require_subcommand(1);
    app.fallthrough();  // global options may also follow the command

    Args args;
    std::vector<CLI::App*> subcommands;
    for (const Command& command : kCommands) {
        CLI::App* sub = app.add_subcommand(command.name, command.help);
        command.add_arguments(*sub, args);
        subcommands.push_back(sub);
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 uses exit codes >= 100 for usage errors; headwaterctl promises 2.
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }

    const Command* command = nullptr;
    for (std::size_t i = 0; i < subcommands.size(); ++i) {
        if (subcommands[i]->parsed()) command = &kCommands[i];
    }
    if (command == nullptr) return kExitUsage;  // require_subcommand(1) makes this unreachable
    if (command->run_local != nullptr) return command->run_local(args);

    if (!resolve_socket(config_file, socket_path)) return kExitUsage;

    const json request = command->build_request(command->name, args);
    auto answer = exchange(socket_path, control::encode_line(request), std::chrono::seconds(timeout_seconds));
    if (!answer) {
        report_exchange_error(socket_path, answer.error(), config_file);
        return kExitUnreachable;
    }

    json response;
    try {
        response = json::parse(*answer);
    } catch (const json::parse_error& e) {
        std::cerr << "headwaterctl: invalid answer from " << socket_path << ": " << e.what() << '\n';
        return kExitUnreachable;
    }

    const bool ok = control::is_ok(response);
    print_response(*command, response, ok, json_output);
    if (ok && !args.html_file.empty()) {
        if (auto written = headwater::tools::write_lab_report_html(response, args.html_file); !written) {
            std::cerr << "headwaterctl: " << written.error() << '\n';
            return kExitFailed;
        }
    }
    std::cout.flush();
    if (ok && command->succeeded != nullptr) return command->succeeded(response) ? kExitOk : kExitFailed;
    return ok ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // a bug, or out of memory: still exit with a message
        std::cerr << "headwaterctl: internal error: " << e.what() << '\n';
        return kExitFailed;
    }
}
