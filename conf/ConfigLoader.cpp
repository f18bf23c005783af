// The only file that sees toml++. It walks the parsed document once, converting what is valid and
// recording every problem with its source position, so a user fixes a broken file in one pass.
#include "conf/ConfigLoader.h"

#include <fcntl.h>
#include <sys/un.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <initializer_list>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include "zone/dns/Base64.h"
#include "zone/dns/KeyFile.h"
#include "zone/dns/Name.h"

#if !TOML_EXCEPTIONS
#error "ConfigLoader expects toml++ with exceptions: toml::parse_error is the one exception boundary"
#endif

namespace headwater::conf {
namespace fs = std::filesystem;

namespace {

constexpr uint16_t kDefaultDnsPort = 53;
constexpr std::string_view kDefaultControlSocket = "run/headwater.sock";
constexpr std::string_view kDefaultStateDir = "state";
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};
// TSIG algorithms (RFC 8945 §6) by their configuration names; tsig/ maps them to its own enum.
constexpr std::array<std::string_view, 6> kTsigAlgorithms = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
                                                             "hmac-sha256", "hmac-sha384", "hmac-sha512"};
// sun_path holds the socket path including its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

std::string errno_message(int err) {
    return std::error_code(err, std::generic_category()).message();
}

template <class Range>
std::string join(const Range& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

std::string in_quotes(std::string_view s) {
    std::string out = "\"";
    out += s;
    out += '"';
    return out;
}

std::string type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
    }
    return "an unknown value";
}

// Reads a whole file, reporting failures the way the shell would ("No such file or directory").
Result<std::string, std::string> read_whole_file(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unexpected(errno_message(errno));
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return unexpected(errno_message(err));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return text;
}

// "90", "90s", "5m", "1h", "1d" -> seconds (BIND-style units, one unit per value).
Result<int64_t, std::string> parse_duration(std::string_view text) {
    if (text.empty()) return unexpected(std::string("empty duration"));
    int64_t unit = 1;
    std::string_view digits = text;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            break;
    }
    // A letter that is not one of the units above leaves `digits` non-numeric, so "5x" is refused.
    if (unit != 1 || text.back() == 's') digits.remove_suffix(1);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return unexpected("invalid duration " + in_quotes(text) + " (expected e.g. \"90s\", \"5m\", \"1h\")");
    int64_t value = 0;
    for (char c : digits) value = value * 10 + (c - '0');
    return value * unit;
}

// "example.com" / "Example.COM." -> "example.com."; errors say what is wrong with the name.
Result<std::string, std::string> normalise_zone_name(std::string_view text) {
    if (text.empty()) return unexpected(std::string("zone name is empty"));
    if (text == ".") return std::string(".");
    std::string_view body = text;
    if (body.back() == '.') body.remove_suffix(1);

    std::string out;
    size_t wire_length = 1;  // the root label
    size_t start = 0;
    for (;;) {
        const size_t dot = body.find('.', start);
        const std::string_view label = body.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty()) return unexpected("empty label in " + in_quotes(text));
        // RFC 1035 section 2.3.4: labels of at most 63 octets, names of at most 255 in wire form.
        if (label.size() > 63) {
            return unexpected("label " + in_quotes(label) + " is " + std::to_string(label.size()) +
                              " characters long, the limit is 63");
        }
        for (char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_';
            if (!ok) {
                const auto byte = static_cast<unsigned char>(c);
                std::string shown = (byte >= 0x21 && byte < 0x7f) ? std::string("'") + c + "'"
                                                                  : "byte " + std::to_string(byte);
                return unexpected("invalid character " + shown + " in " + in_quotes(text) +
                                  " (zone names use letters, digits, '-' and '_')");
            }
            out += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
        }
        out += '.';
        wire_length += label.size() + 1;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (wire_length > 255) {
        return unexpected(in_quotes(text) + " is " + std::to_string(wire_length) +
                          " octets in wire form, the limit is 255");
    }
    return out;
}

std::string lower_ascii(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// "HMAC-SHA256." -> "hmac-sha256"; MD5's name on the wire, "hmac-md5.sig-alg.reg.int", -> "hmac-md5".
std::optional<std::string> normalise_algorithm(std::string_view text) {
    std::string t = lower_ascii(text);
    if (!t.empty() && t.back() == '.') t.pop_back();
    if (t == "hmac-md5.sig-alg.reg.int") return std::string("hmac-md5");
    for (auto a : kTsigAlgorithms)
        if (t == a) return std::string(a);
    return std::nullopt;
}

std::string unknown_algorithm(std::string_view text) {
    return "unknown algorithm " + in_quotes(text) + " (known: " + join(kTsigAlgorithms) + ")";
}

// A TSIG key name: any valid domain name, compared case-insensitively, so "XFR-Key" -> "xfr-key.".
Result<std::string, std::string> normalise_key_name(std::string_view text) {
    if (text.empty()) return unexpected(std::string("key name is empty"));
    auto name = dns::Name::from_text(text);
    if (!name) return unexpected("invalid key name " + in_quotes(text) + ": " + name.error());
    return lower_ascii(name->to_string());
}

// Decoded secrets pass through plain vectors here; overwrite them before they are freed.
void wipe(std::vector<uint8_t>& bytes) {
    volatile uint8_t* p = bytes.data();
    for (size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
}

struct Problem {
    uint32_t line;
    uint32_t column;
    std::string text;  // "<key path>: <problem>"
};

// Walks the document, filling a Config and collecting problems.
class Checker {
  public:
    Checker(std::string display_path, fs::path base_dir)
        : display_path_(std::move(display_path)), base_dir_(std::move(base_dir)) {}

    void error(const toml::source_region& where, std::string_view key_path, std::string_view message) {
        // Nodes the parser created implicitly may have no position; the file's start is the best we have.
        const uint32_t line = where.begin.line == 0 ? 1 : where.begin.line;
        const uint32_t column = where.begin.line == 0 ? 1 : where.begin.column;
        std::string text(key_path);
        text += ": ";
        text += message;
        problems_.push_back({line, column, std::move(text)});
    }

    bool ok() const { return problems_.empty(); }

    ConfigError failure() {
        std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
        std::string message;
        for (const auto& p : problems_) {
            if (!message.empty()) message += '\n';
            message +=
                display_path_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + p.text;
        }
        return ConfigError{std::move(message)};
    }

    // Reports keys of `table` outside `known` (a typo must not silently drop a setting).
    void check_known_keys(const toml::table& table, const std::string& prefix,
                          std::initializer_list<std::string_view> known) {
        for (auto&& [key, node] : table) {
            if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
            const bool is_table = node.is_table() || (node.is_array_of_tables() && !node.as_array()->empty());
            error(key.source(), join_path(prefix, key.str()),
                  std::string(is_table ? "unknown table" : "unknown key") + " (known: " + join(known) + ")");
        }
    }

    static std::string join_path(const std::string& prefix, std::string_view key) {
        return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    }

    // The string at `node`, or nullopt after reporting a type error.
    std::optional<std::string> as_string(const toml::node& node, const std::string& path) {
        if (const auto* s = node.as_string()) return s->get();
        error(node.source(), path, "expected a string, found " + type_name(node.type()));
        return std::nullopt;
    }

    std::optional<int64_t> as_integer_in(const toml::node& node, const std::string& path, int64_t lo,
                                         int64_t hi, std::string_view unit) {
        const auto* i = node.as_integer();
        if (i == nullptr) {
            error(node.source(), path,
                  "expected an integer" + std::string(unit.empty() ? "" : " (") + std::string(unit) +
                      std::string(unit.empty() ? "" : ")") + ", found " + type_name(node.type()));
            return std::nullopt;
        }
        const int64_t v = i->get();
        if (v < lo || v > hi) {
            error(node.source(), path,
                  std::to_string(v) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi) +
                      (unit.empty() ? "" : " " + std::string(unit)));
            return std::nullopt;
        }
        return v;
    }

    const toml::array* as_array(const toml::node& node, const std::string& path) {
        if (const auto* a = node.as_array()) return a;
        error(node.source(), path, "expected an array, found " + type_name(node.type()));
        return nullptr;
    }

    // A path setting: non-empty string, relative to the config file's directory.
    std::optional<fs::path> as_path(const toml::node& node, const std::string& path) {
        auto s = as_string(node, path);
        if (!s) return std::nullopt;
        if (s->empty()) {
            error(node.source(), path, "path is empty");
            return std::nullopt;
        }
        if (s->find('\0') != std::string::npos) {
            error(node.source(), path, "path contains a NUL character");
            return std::nullopt;
        }
        return resolve(*s);
    }

    fs::path resolve(std::string_view text) const {
        fs::path p(text);
        if (p.is_relative()) p = base_dir_ / p;
        return p.lexically_normal();
    }

    // server.control_socket, shared with read_control_socket.
    std::optional<fs::path> control_socket(const toml::table* server) {
        const toml::node* node = server != nullptr ? server->get("control_socket") : nullptr;
        if (node == nullptr) return resolve(kDefaultControlSocket);
        auto p = as_path(*node, "server.control_socket");
        if (!p) return std::nullopt;
        if (p->native().size() > kMaxSocketPath) {
            error(node->source(), "server.control_socket",
                  p->native() + " is " + std::to_string(p->native().size()) +
                      " bytes long, a Unix socket path may have at most " + std::to_string(kMaxSocketPath));
            return std::nullopt;
        }
        return p;
    }

    // The [server] table, or nullptr (after reporting when it has the wrong type).
    const toml::table* server_table(const toml::table& root) {
        const toml::node* node = root.get("server");
        if (node == nullptr) return nullptr;
        if (const auto* t = node->as_table()) return t;
        error(node->source(), "server", "expected a table ([server]), found " + type_name(node->type()));
        return nullptr;
    }

    void check_server(const toml::table& root, ServerConfig& out) {
        out.control_socket = resolve(kDefaultControlSocket);
        out.state_dir = resolve(kDefaultStateDir);
        const toml::table* server = server_table(root);
        if (server == nullptr) {
            if (root.get("server") == nullptr) {
                error(root.source(), "server", "missing [server] table (server.listen is required)");
            }
            return;
        }
        check_known_keys(
            *server, "server",
            {"listen", "control_socket", "state_dir", "log_level", "tcp_idle_timeout", "tcp_max_connections",
             "shutdown_grace", "transfer_log", "tcp_max_per_client", "tcp_write_timeout", "max_transfers",
             "max_query_size", "notify_max_in_flight", "user", "group", "udp_threads", "tcp_threads"});

        check_listen(*server, out.listen);
        if (auto p = control_socket(server)) out.control_socket = *p;
        if (const auto* node = server->get("transfer_log")) {
            if (auto p = as_path(*node, "server.transfer_log")) out.transfer_log = *p;
        }
        if (const auto* node = server->get("state_dir")) {
            if (auto p = as_path(*node, "server.state_dir")) out.state_dir = *p;
        }
        if (const auto* node = server->get("log_level")) {
            if (auto level = as_string(*node, "server.log_level")) {
                if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) != kLogLevels.end()) {
                    out.log_level = *level;
                } else {
                    error(node->source(), "server.log_level",
                          "unknown level " + in_quotes(*level) + " (known: " + join(kLogLevels) + ")");
                }
            }
        }
        if (const auto* node = server->get("tcp_idle_timeout")) {
            if (auto v = as_integer_in(*node, "server.tcp_idle_timeout", 1, 86400, "seconds")) {
                out.tcp_idle_timeout_ms = static_cast<uint32_t>(*v * 1000);
            }
        }
        if (const auto* node = server->get("tcp_max_connections")) {
            if (auto v = as_integer_in(*node, "server.tcp_max_connections", 1, 65535, "")) {
                out.tcp_max_connections = static_cast<uint32_t>(*v);
            }
        }
        if (const auto* node = server->get("shutdown_grace")) {
            if (auto v = as_integer_in(*node, "server.shutdown_grace", 0, 3600, "seconds")) {
                out.shutdown_grace_ms = static_cast<uint32_t>(*v * 1000);
            }
        }
        check_server_limits(*server, out);
    }

    // The resource limits and the identity to run as (docs/operations.md).
    void check_server_limits(const toml::table& server, ServerConfig& out) {
        auto integer = [&](const char* key, int64_t lo, int64_t hi, std::string_view unit, uint32_t& field,
                           uint32_t scale) {
            const toml::node* node = server.get(key);
            if (node == nullptr) return;
            if (auto v = as_integer_in(*node, std::string("server.") + key, lo, hi, unit))
                field = static_cast<uint32_t>(*v) * scale;
        };
        integer("tcp_max_per_client", 1, 65535, "", out.tcp_max_per_client, 1);
        integer("tcp_write_timeout", 1, 3600, "seconds", out.tcp_write_timeout_ms, 1000);
        integer("max_transfers", 1, 65535, "", out.max_transfers, 1);
        // 512: every classic DNS message fits; 65535: the most a TCP length prefix can announce.
        integer("max_query_size", 512, 65535, "octets", out.max_query_size, 1);
        integer("notify_max_in_flight", 1, 65535, "", out.notify_max_in_flight, 1);
        integer("udp_threads", 0, 64, "", out.udp_threads, 1);
        integer("tcp_threads", 0, 64, "", out.tcp_threads, 1);
        auto identity = [&](const char* key, std::string& field) {
            const toml::node* node = server.get(key);
            if (node == nullptr) return;
            const std::string path = std::string("server.") + key;
            auto text = as_string(*node, path);
            if (!text) return;
            // Names as useradd accepts them, or a numeric id: nothing that could surprise getpwnam().
            const bool ok = !text->empty() && text->size() <= 32 &&
                            std::all_of(text->begin(), text->end(),
                                        [](char c) {
                                            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                                   (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                                        }) &&
                            (*text)[0] != '-';
            if (!ok) {
                error(node->source(), path,
                      "invalid name " + in_quotes(*text) +
                          " (a user or group name: letters, digits, '_', '-', '.', at most 32)");
                return;
            }
            field = *text;
        };
        identity("user", out.user);
        identity("group", out.group);
        if (!out.group.empty() && out.user.empty()) {
            error(server.get("group")->source(), "server.group", "needs server.user (the user to run as)");
        }
    }

    void check_listen(const toml::table& server, std::vector<dns::Endpoint>& out) {
        const toml::node* node = server.get("listen");
        if (node == nullptr) {
            error(server.source(), "server.listen",
                  "missing required key (the addresses to serve on, e.g. [\"127.0.0.1:5353\"])");
            return;
        }
        const auto* list = as_array(*node, "server.listen");
        if (list == nullptr) return;
        if (list->empty()) {
            error(node->source(), "server.listen", "must name at least one address");
            return;
        }
        std::vector<size_t> indexes;  // element index of each accepted endpoint, for duplicate messages
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string path = "server.listen[" + std::to_string(i) + "]";
            auto text = as_string(element, path);
            if (!text) continue;
            auto endpoint = dns::Endpoint::parse(*text, kDefaultDnsPort);
            if (!endpoint) {
                error(element.source(), path, endpoint.error());
                continue;
            }
            const auto dup = std::find(out.begin(), out.end(), *endpoint);
            if (dup != out.end()) {
                error(element.source(), path,
                      "duplicate endpoint " + endpoint->to_string() + " (first at server.listen[" +
                          std::to_string(indexes[static_cast<size_t>(dup - out.begin())]) + "])");
                continue;
            }
            out.push_back(*endpoint);
            indexes.push_back(i);
        }
    }

    // The elements of root[key] as tables, reporting anything that is not an array of tables.
    std::vector<std::pair<size_t, const toml::table*>> tables_of(const toml::table& root,
                                                                 std::string_view key) {
        std::vector<std::pair<size_t, const toml::table*>> out;
        const toml::node* node = root.get(key);
        if (node == nullptr) return out;
        const auto* list = node->as_array();
        if (list == nullptr) {
            error(node->source(), std::string(key),
                  "expected an array of tables ([[" + std::string(key) + "]]), found " +
                      type_name(node->type()));
            return out;
        }
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            if (const auto* t = element.as_table()) {
                out.emplace_back(i, t);
            } else {
                error(element.source(), std::string(key) + "[" + std::to_string(i) + "]",
                      "expected a table, found " + type_name(element.type()));
            }
        }
        return out;
    }

    // A required, non-empty string key of `table`; reports when missing.
    std::optional<std::string> required_string(const toml::table& table, const std::string& prefix,
                                               std::string_view key, const toml::node** found = nullptr) {
        const std::string path = join_path(prefix, key);
        const toml::node* node = table.get(key);
        if (found != nullptr) *found = node;
        if (node == nullptr) {
            error(table.source(), path, "missing required key");
            return std::nullopt;
        }
        auto s = as_string(*node, path);
        if (s && s->empty()) {
            error(node->source(), path, "must not be empty");
            return std::nullopt;
        }
        return s;
    }

    // A list of non-empty strings; elements with problems are reported and left out.
    std::vector<std::string> string_list(const toml::node& node, const std::string& path) {
        std::vector<std::string> out;
        const auto* list = as_array(node, path);
        if (list == nullptr) return out;
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string element_path = path + "[" + std::to_string(i) + "]";
            auto s = as_string(element, element_path);
            if (!s) continue;
            if (s->empty()) {
                error(element.source(), element_path, "must not be empty");
                continue;
            }
            out.push_back(std::move(*s));
        }
        return out;
    }

    void check_acls(const toml::table& root, std::vector<AclConfig>& out) {
        for (const auto& [index, table] : tables_of(root, "acl")) {
            const std::string prefix = "acl[" + std::to_string(index) + "]";
            check_known_keys(*table, prefix, {"name", "networks", "keys"});
            AclConfig acl;

            const toml::node* name_node = nullptr;
            auto name = required_string(*table, prefix, "name", &name_node);
            bool keep = name.has_value();
            if (name) {
                const uint32_t line = name_node->source().begin.line;
                const auto [first, inserted] = acl_lines_.emplace(*name, line);
                if (!inserted) {
                    error(name_node->source(), prefix + ".name",
                          "duplicate ACL " + in_quotes(*name) + " (first at line " +
                              std::to_string(first->second) + ")");
                    keep = false;
                }
                acl.name = *name;
            }

            bool has_networks = false;
            bool has_keys = false;
            if (const auto* node = table->get("networks")) {
                has_networks = !node->is_array() || !node->as_array()->empty();
                if (const auto* list = as_array(*node, prefix + ".networks")) {
                    for (size_t i = 0; i < list->size(); ++i) {
                        const toml::node& element = *list->get(i);
                        const std::string path = prefix + ".networks[" + std::to_string(i) + "]";
                        auto text = as_string(element, path);
                        if (!text) continue;
                        auto network = dns::IpNetwork::parse(*text);
                        if (!network) {
                            error(element.source(), path, network.error());
                            continue;
                        }
                        acl.networks.push_back(*network);
                    }
                }
            }
            if (const auto* node = table->get("keys")) {
                has_keys = !node->is_array() || !node->as_array()->empty();
                (void)string_list(*node, prefix + ".keys");  // reports elements that are not strings
                // Each name must be a [[key]] (anywhere in the file), compared like key names are.
                if (const auto* list = node->as_array()) {
                    for (size_t i = 0; i < list->size(); ++i) {
                        const auto* s = list->get(i)->as_string();
                        if (s == nullptr || s->get().empty()) continue;
                        const std::string path = prefix + ".keys[" + std::to_string(i) + "]";
                        if (auto key_name = key_reference(s->source(), path, s->get()))
                            acl.keys.push_back(std::move(*key_name));
                    }
                }
            }
            if (!has_networks && !has_keys) {
                // An ACL that can match nothing is almost certainly a mistake (xfr::Acl requires both
                // networks and keys to match when both are given, see docs/interop.md).
                error(table->source(), prefix, "names neither networks nor keys, so it would match nobody");
            }
            if (keep) out.push_back(std::move(acl));
        }
    }

    void check_keys(const toml::table& root, std::vector<KeyConfig>& out) {
        for (const auto& [index, table] : tables_of(root, "key")) {
            const std::string prefix = "key[" + std::to_string(index) + "]";
            const size_t problems_before = problems_.size();
            check_known_keys(*table, prefix, {"name", "algorithm", "secret", "file"});
            KeyConfig key;

            const toml::node* name_node = nullptr;
            if (auto name = required_string(*table, prefix, "name", &name_node)) {
                auto normalised = normalise_key_name(*name);
                if (!normalised) {
                    error(name_node->source(), prefix + ".name", normalised.error());
                } else {
                    // Registered even when the rest of the key is broken, so ACLs naming it report nothing
                    // more.
                    const uint32_t line = name_node->source().begin.line;
                    const auto [first, inserted] = key_lines_.emplace(*normalised, line);
                    if (!inserted) {
                        error(name_node->source(), prefix + ".name",
                              "duplicate key " + in_quotes(*normalised) + " (first at line " +
                                  std::to_string(first->second) + ")");
                    }
                    key.name = *normalised;
                }
            }

            const toml::node* algorithm_node = table->get("algorithm");
            std::optional<std::string> algorithm;
            if (algorithm_node != nullptr) {
                if (auto text = as_string(*algorithm_node, prefix + ".algorithm")) {
                    algorithm = normalise_algorithm(*text);
                    if (!algorithm)
                        error(algorithm_node->source(), prefix + ".algorithm", unknown_algorithm(*text));
                }
            }

            const toml::node* secret_node = table->get("secret");
            const toml::node* file_node = table->get("file");
            if (secret_node != nullptr && file_node != nullptr) {
                error(table->source(), prefix, "gives both secret and file; give one");
            } else if (secret_node == nullptr && file_node == nullptr) {
                error(table->source(), prefix,
                      "needs a secret (base64) or a file (a BIND key file, as tsig-keygen writes)");
            } else if (secret_node != nullptr) {
                if (algorithm_node == nullptr) {
                    error(table->source(), prefix + ".algorithm",
                          "missing required key (known: " + join(kTsigAlgorithms) + ")");
                }
                if (algorithm) key.algorithm = *algorithm;
                if (auto text = as_string(*secret_node, prefix + ".secret")) {
                    auto bytes = dns::base64_decode(*text);
                    if (!bytes) {
                        error(secret_node->source(), prefix + ".secret", "invalid base64: " + bytes.error());
                    } else if (bytes->empty()) {
                        error(secret_node->source(), prefix + ".secret", "must not be empty");
                    } else {
                        key.secret.assign(bytes->begin(), bytes->end());
                        wipe(*bytes);
                    }
                }
            } else if (auto path = as_path(*file_node, prefix + ".file")) {
                load_key_file(*path, *file_node, prefix, algorithm_node, algorithm, key);
            }
            if (problems_.size() == problems_before) out.push_back(std::move(key));
        }
    }

    // Fills key.algorithm and key.secret from the key named key.name in a BIND key file.
    void load_key_file(const fs::path& path, const toml::node& file_node, const std::string& prefix,
                       const toml::node* algorithm_node, const std::optional<std::string>& algorithm,
                       KeyConfig& key) {
        const std::string where = prefix + ".file";
        auto text = read_whole_file(path);
        if (!text) {
            error(file_node.source(), where, "cannot read " + path.string() + ": " + text.error());
            return;
        }
        auto entries = dns::parse_key_file(*text);
        if (!entries) {
            error(file_node.source(), where, path.string() + ": " + entries.error());
            return;
        }
        if (key.name.empty()) return;  // the name itself is broken (already reported)
        const dns::KeyFileEntry* entry = nullptr;
        std::vector<std::string> names;
        for (const auto& e : *entries) {
            auto n = normalise_key_name(e.name);
            const std::string shown = n ? *n : e.name;
            names.push_back(shown);
            if (n && *n == key.name) entry = &e;
        }
        if (entry == nullptr) {
            error(file_node.source(), where,
                  "no key " + in_quotes(key.name) + " in " + path.string() +
                      (names.empty() ? std::string(" (it defines no key)")
                                     : " (it defines: " + join(names) + ")"));
            return;
        }
        const std::string at_line = path.string() + " line " + std::to_string(entry->line);
        auto file_algorithm = normalise_algorithm(entry->algorithm);
        if (!file_algorithm) {
            error(file_node.source(), where, at_line + ": " + unknown_algorithm(entry->algorithm));
        } else if (algorithm && *algorithm != *file_algorithm) {
            error(algorithm_node->source(), prefix + ".algorithm",
                  in_quotes(*algorithm) + " differs from " + in_quotes(*file_algorithm) + " in " + at_line);
        } else {
            key.algorithm = *file_algorithm;
        }
        auto bytes = dns::base64_decode(entry->secret);
        if (!bytes) {
            error(file_node.source(), where, at_line + ": invalid base64 secret: " + bytes.error());
        } else if (bytes->empty()) {
            error(file_node.source(), where, at_line + ": the secret is empty");
        } else {
            key.secret.assign(bytes->begin(), bytes->end());
            wipe(*bytes);
        }
        key.file = path;
    }

    // A reference to a [[key]] (compared like key names are): the key's name, or nothing once the reason
    // is reported.
    std::optional<std::string> key_reference(const toml::source_region& where, const std::string& path,
                                             std::string_view text) {
        auto key_name = normalise_key_name(text);
        if (!key_name) {
            error(where, path, key_name.error());
            return std::nullopt;
        }
        if (key_lines_.count(*key_name) == 0) {
            error(where, path, "unknown key " + in_quotes(*key_name) + known_keys());
            return std::nullopt;
        }
        return std::move(*key_name);
    }

    std::string known_keys() const {
        if (key_lines_.empty()) return " (no [[key]] is defined)";
        std::string out = " (known: ";
        bool first = true;
        for (const auto& [name, line] : key_lines_) {
            if (!first) out += ", ";
            out += name;
            first = false;
        }
        return out + ")";
    }

    void check_zones(const toml::table& root, std::vector<ZoneConfig>& out) {
        for (const auto& [index, table] : tables_of(root, "zone")) {
            const std::string prefix = "zone[" + std::to_string(index) + "]";
            check_known_keys(
                *table, prefix,
                {"name", "file", "allow_transfer", "serial_policy", "journal_max_changesets",
                 "journal_max_bytes", "max_ixfr_ratio", "notify", "notify_retries", "notify_retry_interval",
                 "notify_delay", "secondaries", "verify_interval", "verify_key", "verify_sample"});
            ZoneConfig zone;

            const toml::node* name_node = nullptr;
            if (auto name = required_string(*table, prefix, "name", &name_node)) {
                auto normalised = normalise_zone_name(*name);
                if (!normalised) {
                    error(name_node->source(), prefix + ".name", normalised.error());
                } else {
                    const uint32_t line = name_node->source().begin.line;
                    const auto [first, inserted] = zone_lines_.emplace(*normalised, line);
                    if (!inserted) {
                        error(name_node->source(), prefix + ".name",
                              "duplicate zone " + in_quotes(*normalised) + " (first at line " +
                                  std::to_string(first->second) + ")");
                    }
                    zone.name = *normalised;
                }
            }

            const toml::node* file_node = table->get("file");
            if (file_node == nullptr) {
                error(table->source(), prefix + ".file", "missing required key");
            } else if (auto file = as_path(*file_node, prefix + ".file")) {
                // Whether the file can be read is the zone's problem, not the config's: one zone file
                // missing or unreadable must not keep the other zones off the air (the server starts
                // without it; --check-config reports it by zone when it loads the zones).
                zone.file = *file;
            }

            if (const auto* node = table->get("allow_transfer")) {
                const auto* list = node->as_array();
                zone.allow_transfer = string_list(*node, prefix + ".allow_transfer");
                // Check each name against the ACLs (all of them, wherever they appear in the file).
                if (list != nullptr) {
                    for (size_t i = 0; i < list->size(); ++i) {
                        const auto* s = list->get(i)->as_string();
                        if (s == nullptr || s->get().empty() || acl_lines_.count(s->get()) != 0) continue;
                        error(list->get(i)->source(), prefix + ".allow_transfer[" + std::to_string(i) + "]",
                              "unknown ACL " + in_quotes(s->get()) + known_acls());
                    }
                }
            }
            if (const auto* node = table->get("serial_policy")) {
                const auto* str = node->as_string();
                static constexpr std::array<std::string_view, 4> kPolicies = {"keep", "increment", "unixtime",
                                                                              "dateserial"};
                if (str == nullptr) {
                    error(node->source(), prefix + ".serial_policy",
                          "expected a string, found " + type_name(node->type()));
                } else if (std::find(kPolicies.begin(), kPolicies.end(), str->get()) == kPolicies.end()) {
                    error(node->source(), prefix + ".serial_policy",
                          "unknown policy " + in_quotes(str->get()) +
                              " (known: keep, increment, unixtime, dateserial)");
                } else {
                    zone.serial_policy = str->get();
                }
            }
            if (const auto* node = table->get("journal_max_changesets")) {
                if (auto v = as_integer_in(*node, prefix + ".journal_max_changesets", 1, 1000000, ""))
                    zone.journal_max_changesets = static_cast<uint32_t>(*v);
            }
            if (const auto* node = table->get("journal_max_bytes")) {
                if (auto v =
                        as_integer_in(*node, prefix + ".journal_max_bytes", 4096, int64_t{1} << 40, "bytes"))
                    zone.journal_max_bytes = static_cast<uint64_t>(*v);
            }
            if (const auto* node = table->get("max_ixfr_ratio")) {
                std::optional<double> v;
                if (const auto* f = node->as_floating_point()) v = f->get();
                if (const auto* i = node->as_integer()) v = static_cast<double>(i->get());
                if (!v) {
                    error(node->source(), prefix + ".max_ixfr_ratio",
                          "expected a number, found " + type_name(node->type()));
                } else if (!(*v > 0.0 && *v <= 100.0)) {
                    error(node->source(), prefix + ".max_ixfr_ratio", "must be above 0 and at most 100");
                } else {
                    zone.max_ixfr_ratio = *v;
                }
            }
            if (const auto* node = table->get("notify")) check_notify(*node, prefix + ".notify", zone.notify);
            if (const auto* node = table->get("notify_retries")) {
                if (auto v = as_integer_in(*node, prefix + ".notify_retries", 0, 20, ""))
                    zone.notify_retries = static_cast<uint32_t>(*v);
            }
            if (const auto* node = table->get("notify_retry_interval")) {
                if (auto v = as_integer_in(*node, prefix + ".notify_retry_interval", 1, 30, "seconds"))
                    zone.notify_retry_interval_ms = static_cast<uint32_t>(*v * 1000);
            }
            if (const auto* node = table->get("notify_delay")) {
                if (auto v = as_integer_in(*node, prefix + ".notify_delay", 0, 60000, "milliseconds"))
                    zone.notify_delay_ms = static_cast<uint32_t>(*v);
            }
            check_verification(*table, prefix, zone);
            out.push_back(std::move(zone));
        }
    }

    // zone.secondaries, verify_interval, verify_key, verify_sample: the verification of the secondaries.
    void check_verification(const toml::table& table, const std::string& prefix, ZoneConfig& zone) {
        if (const auto* node = table.get("secondaries")) {
            if (const auto* list = as_array(*node, prefix + ".secondaries")) {
                for (size_t i = 0; i < list->size(); ++i) {
                    const std::string path = prefix + ".secondaries[" + std::to_string(i) + "]";
                    auto text = as_string(*list->get(i), path);
                    if (!text) continue;
                    auto endpoint = dns::Endpoint::parse(*text, kDefaultDnsPort);
                    if (!endpoint) {
                        error(list->get(i)->source(), path, endpoint.error());
                    } else if (std::find(zone.secondaries.begin(), zone.secondaries.end(), *endpoint) !=
                               zone.secondaries.end()) {
                        error(list->get(i)->source(), path, "duplicate secondary " + endpoint->to_string());
                    } else {
                        zone.secondaries.push_back(*endpoint);
                    }
                }
            }
        }
        if (const auto* node = table.get("verify_interval")) {
            if (auto text = as_string(*node, prefix + ".verify_interval")) {
                auto seconds = parse_duration(*text);
                if (!seconds) {
                    error(node->source(), prefix + ".verify_interval", seconds.error());
                } else if (*seconds < 1 || *seconds > 7 * 86400) {
                    error(node->source(), prefix + ".verify_interval", "must be between 1s and 7d");
                } else {
                    zone.verify_interval_s = static_cast<uint32_t>(*seconds);
                }
            }
        }
        if (const auto* node = table.get("verify_key")) {
            if (auto text = as_string(*node, prefix + ".verify_key")) {
                if (auto key_name = key_reference(node->source(), prefix + ".verify_key", *text))
                    zone.verify_key = std::move(*key_name);
            }
        }
        if (const auto* node = table.get("verify_sample")) {
            if (auto v = as_integer_in(*node, prefix + ".verify_sample", 0, 100000, ""))
                zone.verify_sample = static_cast<uint32_t>(*v);
        }
        if (zone.verify_interval_s != 0 && zone.secondaries.empty()) {
            error(table.source(), prefix + ".verify_interval",
                  "needs the secondaries to check (secondaries = [\"203.0.113.53\", ...])");
        }
    }

    // zone.notify: "host", "host:port", "[v6]:port" or { address, key, source } per target (RFC 1996).
    void check_notify(const toml::node& node, const std::string& path, std::vector<NotifyTargetConfig>& out) {
        const auto* list = as_array(node, path);
        if (list == nullptr) return;
        std::vector<size_t> indexes;  // element index of each accepted target, for duplicate messages
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string element_path = path + "[" + std::to_string(i) + "]";
            NotifyTargetConfig target;
            const toml::node* address_node = &element;
            std::string address_path = element_path;
            bool ok = true;
            if (const auto* t = element.as_table()) {
                check_known_keys(*t, element_path, {"address", "key", "source"});
                address_node = t->get("address");
                address_path = element_path + ".address";
                if (address_node == nullptr) {
                    error(t->source(), address_path, "missing required key");
                    ok = false;
                }
                if (const auto* key_node = t->get("key")) {
                    auto text = as_string(*key_node, element_path + ".key");
                    auto key_name =
                        text ? key_reference(key_node->source(), element_path + ".key", *text) : std::nullopt;
                    if (key_name)
                        target.key = std::move(*key_name);
                    else
                        ok = false;
                }
                if (const auto* source_node = t->get("source")) {
                    if (auto text = as_string(*source_node, element_path + ".source")) {
                        target.source = dns::IpAddress::parse(*text);
                        if (!target.source) {
                            error(source_node->source(), element_path + ".source",
                                  "invalid IP address " + in_quotes(*text) + " (no port, no brackets)");
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                }
            } else if (!element.is_string()) {
                error(element.source(), element_path,
                      "expected a string or a table ({ address = ..., key = ..., source = ... }), found " +
                          type_name(element.type()));
                continue;
            }
            if (address_node == nullptr) continue;
            auto text = as_string(*address_node, address_path);
            if (!text) continue;
            auto endpoint = dns::Endpoint::parse(*text, kDefaultDnsPort);
            if (!endpoint) {
                error(address_node->source(), address_path, endpoint.error());
                continue;
            }
            target.address = *endpoint;
            if (!ok) continue;
            if (target.source && target.source->is_v4() != target.address.address.is_v4()) {
                error(element.as_table()->get("source")->source(), element_path + ".source",
                      target.source->to_string() + " is not of the same address family as " +
                          target.address.to_string());
                continue;
            }
            size_t dup = 0;
            for (; dup < out.size(); ++dup)
                if (out[dup].address == target.address && out[dup].key == target.key) break;
            if (dup < out.size()) {
                error(address_node->source(), address_path,
                      "duplicate target " + target.address.to_string() + " (first at " + path + "[" +
                          std::to_string(indexes[dup]) + "])");
                continue;
            }
            out.push_back(std::move(target));
            indexes.push_back(i);
        }
    }

    std::string known_acls() const {
        if (acl_lines_.empty()) return " (no [[acl]] is defined)";
        std::string out = " (known: ";
        bool first = true;
        for (const auto& [name, line] : acl_lines_) {
            if (!first) out += ", ";
            out += name;
            first = false;
        }
        return out + ")";
    }

  private:
    std::string display_path_;
    fs::path base_dir_;
    std::vector<Problem> problems_;
    std::map<std::string, uint32_t> key_lines_;   // normalised key name -> line of its first definition
    std::map<std::string, uint32_t> acl_lines_;   // ACL name -> line of its first definition
    std::map<std::string, uint32_t> zone_lines_;  // normalised zone name -> line of its first definition
};

fs::path absolute_path(const fs::path& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    return (ec ? p : abs).lexically_normal();
}

// Parses TOML text; a syntax error becomes the single line of a ConfigError.
Result<toml::table, ConfigError> parse_toml(std::string_view text, const std::string& display_path) {
    try {
        return toml::parse(text, std::string(display_path));
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return unexpected(ConfigError{display_path + ":" + std::to_string(where.line) + ":" +
                                      std::to_string(where.column) + ": " + std::string(e.description())});
    }
}

}  // namespace

Result<Config, ConfigError> parse_config(std::string_view toml_text, const fs::path& assumed_path) {
    const std::string display_path = assumed_path.string();
    auto document = parse_toml(toml_text, display_path);
    if (!document) return unexpected(document.error());
    const toml::table& root = *document;

    Config config;
    config.path = absolute_path(assumed_path);
    Checker checker(display_path, config.path.parent_path());
    checker.check_known_keys(root, "", {"server", "key", "acl", "zone"});
    checker.check_server(root, config.server);
    checker.check_keys(root, config.keys);  // before ACLs: an ACL may name a key defined later
    checker.check_acls(root, config.acls);  // before zones: allow_transfer may name an ACL defined later
    checker.check_zones(root, config.zones);
    if (!checker.ok()) return unexpected(checker.failure());
    return config;
}

Result<Config, ConfigError> load_config(const fs::path& file) {
    auto text = read_whole_file(file);
    if (!text) return unexpected(ConfigError{"cannot read " + file.string() + ": " + text.error()});
    return parse_config(*text, file);
}

Result<fs::path, ConfigError> read_control_socket(const fs::path& file) {
    auto text = read_whole_file(file);
    if (!text) return unexpected(ConfigError{"cannot read " + file.string() + ": " + text.error()});
    const std::string display_path = file.string();
    auto document = parse_toml(*text, display_path);
    if (!document) return unexpected(document.error());

    Checker checker(display_path, absolute_path(file).parent_path());
    auto socket = checker.control_socket(checker.server_table(*document));
    if (!socket || !checker.ok()) return unexpected(checker.failure());
    return *socket;
}

}  // namespace headwater::conf
