// The only file that sees toml++. It walks the parsed document along the schema (Schema.cpp) once,
// converting what is valid and recording every problem with its source position, so a user fixes a broken
// file in one pass.
#include "conf/ConfigLoader.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/un.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "conf/KeyFile.h"
#include "conf/Schema.h"
#include "conf/TomlInParts.h"
#include "conf/Values.h"
#include "zone/base/ErrnoText.h"
#include "zone/base/FileText.h"
#include "zone/base/HugePages.h"
#include "zone/dns/Base64.h"
#include "zone/dns/RRType.h"

#if !TOML_EXCEPTIONS
#error "ConfigLoader expects toml++ with exceptions: toml::parse_error is the one exception boundary"
#endif

namespace headwater::conf {
namespace fs = std::filesystem;

namespace {

constexpr uint16_t kDefaultDnsPort = 53;
constexpr uint16_t kDefaultTlsPort = 853;  // RFC 7858 §3.1
constexpr std::size_t kPinOctets = 32;     // SHA-256
// sun_path holds the socket path including its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

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
    auto text = read_file_text(file);
    if (!text) return unexpected(errno_text(text.error()));
    return std::move(*text);
}

// "1..86400 seconds"; for durations also the short form when it reads differently: " (1s..1d)".
std::string range_text(const SchemaKey& key) {
    std::string out = std::to_string(key.min) + ".." + std::to_string(key.max);
    if (key.unit != Unit::None) out += " " + std::string(unit_name(key.unit));
    if (key.reader == Reader::Duration) {
        const int64_t scale = key.unit == Unit::Seconds ? 1000 : 1;
        const std::string suffix = key.unit == Unit::Seconds ? "s" : "ms";
        const std::string plain = std::to_string(key.min) + suffix + ".." + std::to_string(key.max) + suffix;
        const std::string short_form =
            format_duration(key.min * scale) + ".." + format_duration(key.max * scale);
        if (short_form != plain) out += " (" + short_form + ")";
    }
    return out;
}

const SchemaKey& schema_key(std::string_view path) {
    for (const auto& key : config_schema())
        if (key.path == path) return key;
    std::abort();  // a path this file names is missing from the schema: a programming error
}

std::string known_algorithms() {
    return "(known: " + join(schema_key("key[].algorithm").choices) + ")";
}

std::string unknown_algorithm(std::string_view text) {
    return "unknown algorithm " + in_quotes(text) + " " + known_algorithms();
}

// Decoded secrets pass through plain vectors here; overwrite them before they are freed.
void wipe(std::vector<uint8_t>& bytes) {
    volatile uint8_t* p = bytes.data();
    for (size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
}

// The value a key takes when the file does not set it: its schema default, parsed once as TOML.
const toml::node* default_of(const SchemaKey& key) {
    static const std::vector<toml::table> parsed = [] {
        std::vector<toml::table> out;
        for (const auto& k : config_schema()) {
            out.push_back(k.default_value.empty() ? toml::table{}
                                                  : toml::parse("v = " + std::string(k.default_value)));
        }
        return out;
    }();
    return parsed[static_cast<size_t>(&key - config_schema().data())].get("v");
}

// The threads a large config is parsed and read on: every core, at most 8.
size_t config_threads() {
    return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
}

std::string join_path(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

struct Problem {
    uint32_t line;
    uint32_t column;
    std::string text;  // "<key path>: <problem>"
    std::string file;  // the file the node came from (an included one), or empty: the config file
};

// The keys a [[template]] may hold: every [[zone]] key but those naming one zone.
bool template_key(std::string_view name) {
    if (name == "name" || name == "file" || name == "template") return false;
    const auto& keys = keys_of("zone[]");
    return std::any_of(keys.begin(), keys.end(), [&](const SchemaKey* k) { return key_name(*k) == name; });
}

// The slots whose default read_default copies instead of reading again.
template <class T>
constexpr bool kIsScalarSlot =
    std::is_same_v<T, uint32_t*> || std::is_same_v<T, uint64_t*> || std::is_same_v<T, double*> ||
    std::is_same_v<T, std::string*> || std::is_same_v<T, bool*>;

// The readers whose result depends on the key and the node alone: a default they read can be copied.
// A reference reader (KeyRef, ZoneName, ...) checks and records more than the value.
bool reads_value_only(Reader reader) {
    switch (reader) {
        case Reader::Integer:
        case Reader::Duration:
        case Reader::Choice:
        case Reader::Ratio:
        case Reader::Boolean:
        case Reader::Salt:
        case Reader::Glob:
            return true;
        default:
            return false;
    }
}

// One value being read: the schema entry, the node (from the file or the default), its key path with
// indexes ("zone[2].notify_delay"), the table holding it, and the struct it goes into.
struct Field {
    const SchemaKey& key;
    const toml::node& node;
    std::string path;
    const toml::table& table;
    void* record;
};

template <class T>
T& slot_of(const Field& f) {
    return *std::get<T*>(f.key.slot(f.record));
}

// Walks the document along the schema, filling a Config and collecting problems.
class Loader {
  public:
    Loader(std::string display_path, fs::path base_dir)
        : display_path_(std::move(display_path)), base_dir_(std::move(base_dir)) {}

    bool ok() const { return problems_.empty(); }

    ConfigError failure() {
        std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
        std::string message;
        for (const auto& p : problems_) {
            if (!message.empty()) message += '\n';
            message += (p.file.empty() ? display_path_ : p.file) + ":" + std::to_string(p.line) + ":" +
                       std::to_string(p.column) + ": " + p.text;
        }
        return ConfigError{std::move(message)};
    }

    // Reads every key of `table` (the schema's keys of `section`), defaulting the absent ones and reporting
    // the unknown ones (a typo must not silently drop a setting).
    void walk(const toml::table& table, std::string_view section, const std::string& prefix, void* record) {
        const auto& keys = keys_of(section);
        for (auto&& [name, node] : table) {
            const std::string_view written = name.str();
            if (std::any_of(keys.begin(), keys.end(), [&](auto* k) { return key_name(*k) == written; }))
                continue;
            std::vector<std::string_view> known;
            known.reserve(keys.size());
            for (const auto* k : keys) known.push_back(key_name(*k));
            const bool is_table = node.is_table() || (node.is_array_of_tables() && !node.as_array()->empty());
            error(name.source(), join_path(prefix, name.str()),
                  std::string(is_table ? "unknown table" : "unknown key") + " (known: " + join(known) + ")");
        }
        for (const SchemaKey* key : keys) {
            // The key's path is built only where it is used: most keys of a zone are absent.
            const auto path = [&] { return join_path(prefix, key_name(*key)); };
            if (const toml::node* node = table.get(key_name(*key))) {
                read({*key, *node, path(), table, record});
            } else if (const toml::node* inherited = inherited_value(section, *key)) {
                read({*key, *inherited, path(), table, record});  // errors point at the template's line
            } else if (key->required) {
                error(table.source(), path(),
                      key->reader == Reader::Server
                          ? "missing [server] table (server.listen is required)"
                          : "missing required key (e.g. " + std::string(key->example) + ")");
            } else if (const toml::node* fallback = default_of(*key)) {
                read_default(*key, *fallback, prefix, table, record);
            }
        }
    }

    // An absent key's default. A default is the same value for every table that lacks the key, so a
    // scalar one is read once and then copied: 100k zones each re-reading a dozen defaults ("2s",
    // "increment") was a third of the config's load. Only defaults whose reader reads the value alone.
    void read_default(const SchemaKey& key, const toml::node& fallback, const std::string& prefix,
                      const toml::table& table, void* record) {
        if (!reads_value_only(key.reader))
            return read({key, fallback, join_path(prefix, key_name(key)), table, record});
        auto& cached = default_values_[&key];
        const Slot slot = key.slot(record);
        const bool copied = std::visit(
            [&](auto field) {
                if constexpr (kIsScalarSlot<decltype(field)>) {
                    using Value = std::remove_pointer_t<decltype(field)>;
                    if (const auto* value = std::get_if<Value>(&cached)) {
                        *field = *value;
                        return true;
                    }
                }
                return false;
            },
            slot);
        if (copied) return;
        const std::size_t before = problems_.size();
        read({key, fallback, join_path(prefix, key_name(key)), table, record});
        if (problems_.size() != before) return;
        std::visit(
            [&](auto field) {
                if constexpr (kIsScalarSlot<decltype(field)>) cached = *field;
            },
            slot);
    }

    // server.control_socket alone, for read_control_socket.
    std::optional<fs::path> control_socket(const toml::table& root) {
        static const toml::table empty;
        const toml::node* server = root.get("server");
        if (server != nullptr && !server->is_table()) {
            error(server->source(), "server",
                  "expected a table ([server]), found " + type_name(server->type()));
            return std::nullopt;
        }
        const toml::table& table = server != nullptr ? *server->as_table() : empty;
        const SchemaKey& key = schema_key("server.control_socket");
        const toml::node* node = table.get("control_socket");
        ServerConfig out;
        const size_t before = problems_.size();
        read({key, node != nullptr ? *node : *default_of(key), "server.control_socket", table, &out});
        if (problems_.size() != before) return std::nullopt;
        return out.control_socket;
    }

  private:
    void error(const toml::source_region& where, std::string_view key_path, std::string_view message) {
        // Nodes the parser created implicitly may have no position; the file's start is the best we have.
        const uint32_t line = where.begin.line == 0 ? 1 : where.begin.line;
        const uint32_t column = where.begin.line == 0 ? 1 : where.begin.column;
        std::string text(key_path);
        text += ": ";
        text += message;
        std::string file = where.path && *where.path != display_path_ ? *where.path : std::string();
        problems_.push_back({line, column, std::move(text), std::move(file)});
    }

    void error(const Field& f, std::string_view message) { error(f.node.source(), f.path, message); }

    // A flat dispatch, one case per reader: longer than the function-size limit, simpler than any split.
    void read(const Field& f) {  // NOLINT(readability-function-size)
        switch (f.key.reader) {
            case Reader::Server:
                return read_server(f);
            case Reader::Keys:
                return read_tables<KeyConfig>(f);
            case Reader::Acls:
                return read_tables<AclConfig>(f);
            case Reader::Policies:
                return read_tables<DnssecPolicyConfig>(f);
            case Reader::Zones:
                return read_tables<ZoneConfig>(f);
            case Reader::Alerts:
                return read_tables<AlertConfig>(f);
            case Reader::Labs:
                return read_tables<LabConfig>(f);
            case Reader::NotifyTargets:
                return read_notify_targets(f);
            case Reader::Integer:
                return read_integer(f);
            case Reader::Duration:
                return read_duration(f);
            case Reader::Choice:
                return read_choice(f);
            case Reader::Path:
                if (auto p = as_path(f)) slot_of<fs::path>(f) = *p;
                return;
            case Reader::PathText:
                if (auto p = as_path(f)) slot_of<std::string>(f) = std::move(*p).native();
                return;
            case Reader::Ratio:
                return read_ratio(f);
            case Reader::Boolean:
                if (const auto* b = f.node.as_boolean())
                    slot_of<bool>(f) = b->get();
                else
                    error(f, "expected true or false, found " + type_name(f.node.type()));
                return;
            case Reader::ControlSocket:
                return read_control_socket(f);
            case Reader::Identity:
                return read_identity(f);
            case Reader::Endpoint:
                if (auto endpoint = as_endpoint(f.node, f.path)) slot_of<dns::Endpoint>(f) = *endpoint;
                return;
            case Reader::Endpoints:
            case Reader::TlsEndpoints:
                return read_endpoints(f);
            case Reader::HttpListen:
                return read_http_listen(f);
            case Reader::Url:
                if (auto text = as_string(f.node, f.path)) {
                    if (auto url = parse_http_url(*text))
                        slot_of<std::string>(f) = *text;
                    else
                        error(f, url.error());
                }
                return;
            case Reader::Choices:
                return read_choices(f);
            case Reader::Address:
                return read_address(f);
            case Reader::Networks:
                for_each_string(
                    f, false,
                    [&](const std::string& text, const toml::node& element, const std::string& path) {
                        auto network = dns::IpNetwork::parse(text);
                        if (network)
                            slot_of<std::vector<dns::IpNetwork>>(f).push_back(*network);
                        else
                            error(element.source(), path, network.error());
                    });
                return;
            case Reader::KeyName:
                return read_key_name(f);
            case Reader::Algorithm:
                if (auto text = as_string(f.node, f.path)) {
                    if (auto algorithm = normalise_algorithm(*text, f.key.choices))
                        slot_of<std::string>(f) = *algorithm;
                    else
                        error(f, unknown_algorithm(*text));
                }
                return;
            case Reader::Secret:
                return read_secret(f);
            case Reader::KeyFile:
                return read_key_file(f);
            case Reader::KeyRef:
                if (auto text = as_string(f.node, f.path)) {
                    if (auto name = key_reference(f.node.source(), f.path, *text))
                        slot_of<std::string>(f) = std::move(*name);
                }
                return;
            case Reader::KeyRefs:
                // Each name must be a [[key]] (anywhere in the file), compared like key names are.
                for_each_string(
                    f, true,
                    [&](const std::string& text, const toml::node& element, const std::string& path) {
                        if (auto name = key_reference(element.source(), path, text))
                            slot_of<std::vector<std::string>>(f).push_back(std::move(*name));
                    });
                return;
            case Reader::AclName:
                return read_acl_name(f);
            case Reader::AclRefs:
                // Each name must be an [[acl]], wherever it appears in the file.
                for_each_string(
                    f, true,
                    [&](const std::string& text, const toml::node& element, const std::string& path) {
                        slot_of<std::vector<std::string>>(f).push_back(text);
                        if (acl_lines_.count(text) == 0)
                            error(element.source(), path, "unknown ACL " + in_quotes(text) + known_acls());
                    });
                return;
            case Reader::ZoneName:
                return read_zone_name(f);
            case Reader::PolicyName:
                return read_policy_name(f);
            case Reader::PolicyRef:
                if (auto text = as_name(f)) {
                    if (policy_lines_.count(*text) == 0)
                        return error(f, "unknown DNSSEC policy " + in_quotes(*text) +
                                            known_of(policy_lines_, "[[dnssec_policy]]"));
                    slot_of<std::string>(f) = *text;
                }
                return;
            case Reader::Salt:
                return read_salt(f);
            case Reader::Include:
                return;  // read before the walk (expand_includes)
            case Reader::Templates:
                return read_templates(f);
            case Reader::ZonesDirs:
                return read_tables<ZonesDirConfig>(f);
            case Reader::TemplateName:
                if (auto text = as_name(f)) slot_of<std::string>(f) = *text;
                return;
            case Reader::TemplateRef:
                if (auto text = as_name(f)) {
                    if (templates_.count(*text) == 0)
                        return error(f, "unknown template " + in_quotes(*text) + known_templates());
                    slot_of<std::string>(f) = *text;
                }
                return;
            case Reader::Glob:
                if (auto text = as_name(f)) {
                    if (text->find('/') != std::string::npos)
                        return error(f, in_quotes(*text) +
                                            " is a file name pattern: no '/' (put the directory in path)");
                    slot_of<std::string>(f) = *text;
                }
                return;
            case Reader::CatalogRef:
                if (auto text = as_name(f)) {
                    auto normalised = normalise_zone_name(*text);
                    if (!normalised) return error(f, normalised.error());
                    if (catalog_lines_.count(*normalised) == 0)
                        return error(f, "unknown catalog " + in_quotes(*normalised) +
                                            known_of(catalog_lines_, "[[catalog]]"));
                    slot_of<std::string>(f) = *normalised;
                }
                return;
            case Reader::CatalogGroup:
                if (auto text = as_name(f)) {
                    if (text->size() > 255) return error(f, "longer than 255 octets (one TXT string)");
                    slot_of<std::string>(f) = *text;
                }
                return;
            case Reader::Pins:
                return read_pins(f);
            case Reader::CertNames:
                return read_cert_names(f);
            case Reader::Text:
                if (auto text = as_name(f)) slot_of<std::string>(f) = *text;
                return;
            case Reader::ZoneRef:
                return read_zone_ref(f);
            case Reader::UpdateNames:
                return read_update_names(f);
            case Reader::RRTypes:
                return read_rr_types(f);
        }
    }

    // [[lab]]'s zone: a [[zone]] of this file (they are read first).
    void read_zone_ref(const Field& f) {
        auto name = as_name(f);
        if (!name) return;
        auto normalised = normalise_zone_name(*name);
        if (!normalised) return error(f, normalised.error());
        if (zone_lines_.count(*normalised) == 0)
            return error(f, "unknown zone " + in_quotes(*normalised) + known_of(zone_lines_, "[[zone]]"));
        slot_of<std::string>(f) = *normalised;
    }

    // ---- plain values ----

    // The string at `node`, or nullopt after reporting a type error.
    std::optional<std::string> as_string(const toml::node& node, const std::string& path) {
        if (const auto* s = node.as_string()) return s->get();
        error(node.source(), path, "expected a string, found " + type_name(node.type()));
        return std::nullopt;
    }

    // A string that must not be empty (names).
    std::optional<std::string> as_name(const Field& f) {
        auto s = as_string(f.node, f.path);
        if (s && s->empty()) {
            error(f, "must not be empty");
            return std::nullopt;
        }
        return s;
    }

    const toml::array* as_array(const toml::node& node, const std::string& path) {
        if (const auto* a = node.as_array()) return a;
        error(node.source(), path, "expected an array, found " + type_name(node.type()));
        return nullptr;
    }

    // Calls fn(text, element, element_path) for each string of an array; other elements (and empty
    // strings, when they are not allowed) are reported and skipped.
    template <class Fn>
    void for_each_string(const Field& f, bool non_empty, Fn fn) {
        const auto* list = as_array(f.node, f.path);
        if (list == nullptr) return;
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string path = f.path + "[" + std::to_string(i) + "]";
            auto text = as_string(element, path);
            if (!text) continue;
            if (non_empty && text->empty()) {
                error(element.source(), path, "must not be empty");
                continue;
            }
            fn(*text, element, path);
        }
    }

    // A path setting: non-empty string, relative to the config file's directory.
    std::optional<fs::path> as_path(const Field& f) {
        auto s = as_string(f.node, f.path);
        if (!s) return std::nullopt;
        if (s->empty()) {
            error(f, "path is empty");
            return std::nullopt;
        }
        if (s->find('\0') != std::string::npos) {
            error(f, "path contains a NUL character");
            return std::nullopt;
        }
        // An absolute path with nothing to normalise (no "//", "/./", "/../", trailing "/." or "/..", the
        // usual zone file path) is taken as written: normalising 100k of them is a good part of a load.
        const auto plain = [](std::string_view t) {
            if (t.find("//") != std::string_view::npos || t.find("/./") != std::string_view::npos ||
                t.find("/../") != std::string_view::npos)
                return false;
            return !(t.ends_with("/.") || t.ends_with("/.."));
        };
        if (s->front() == '/' && plain(*s)) return fs::path(std::move(*s));
        // Likewise a relative one ("zones/example.com.zone") below the config's directory, itself normal:
        // joined as text.
        if (!base_dir_.empty() && plain(*s) && !s->starts_with("./") && !s->starts_with("../") && *s != "." &&
            *s != "..") {
            std::string joined = base_dir_.native();
            if (!joined.ends_with('/')) joined += '/';
            return fs::path(joined + *s);
        }
        fs::path p(*s);
        if (p.is_relative()) p = base_dir_ / p;
        return p.lexically_normal();
    }

    std::optional<dns::Endpoint> as_endpoint(const toml::node& node, const std::string& path,
                                             uint16_t default_port = kDefaultDnsPort) {
        auto text = as_string(node, path);
        if (!text) return std::nullopt;
        auto endpoint = dns::Endpoint::parse(*text, default_port);
        if (!endpoint) {
            error(node.source(), path, endpoint.error());
            return std::nullopt;
        }
        return *endpoint;
    }

    void read_integer(const Field& f) {
        const std::string_view unit = unit_name(f.key.unit);
        const auto* i = f.node.as_integer();
        if (i == nullptr) {
            error(f, "expected an integer" + (unit.empty() ? std::string() : " (" + std::string(unit) + ")") +
                         ", found " + type_name(f.node.type()));
            return;
        }
        const int64_t v = i->get();
        if (v < f.key.min || v > f.key.max) {
            error(f, std::to_string(v) + " is out of range " + range_text(f.key));
            return;
        }
        Slot slot = f.key.slot(f.record);
        if (auto** p = std::get_if<uint32_t*>(&slot))
            **p = static_cast<uint32_t>(v);
        else
            *std::get<uint64_t*>(slot) = static_cast<uint64_t>(v);
    }

    // A bare integer is in the key's unit (as before units were accepted); a string may carry a unit.
    void read_duration(const Field& f) {
        const int64_t scale = f.key.unit == Unit::Seconds ? 1000 : 1;
        int64_t ms = 0;
        std::string shown;
        if (const auto* i = f.node.as_integer()) {
            // The range check comes first, so the multiplication cannot overflow.
            shown = std::to_string(i->get());
            ms = i->get() >= f.key.min && i->get() <= f.key.max ? i->get() * scale : -1;
        } else if (const auto* s = f.node.as_string()) {
            auto parsed = parse_duration(s->get(), f.key.unit);
            if (!parsed) return error(f, parsed.error());
            shown = in_quotes(s->get());
            ms = *parsed;
        } else {
            return error(f,
                         "expected a duration (\"250ms\", \"2s\", \"5m\", \"1h\", \"1d\", or a number of " +
                             std::string(unit_name(f.key.unit)) + "), found " + type_name(f.node.type()));
        }
        if (ms < f.key.min * scale || ms > f.key.max * scale)
            return error(f, shown + " is out of range " + range_text(f.key));
        if (f.key.stored == Unit::Seconds) {
            if (ms % 1000 != 0) return error(f, shown + " is not a whole number of seconds");
            ms /= 1000;
        }
        slot_of<uint32_t>(f) = static_cast<uint32_t>(ms);
    }

    void read_choice(const Field& f) {
        auto text = as_string(f.node, f.path);
        if (!text) return;
        if (std::find(f.key.choices.begin(), f.key.choices.end(), *text) == f.key.choices.end()) {
            return error(f, "unknown " + std::string(f.key.noun) + " " + in_quotes(*text) +
                                " (known: " + join(f.key.choices) + ")");
        }
        slot_of<std::string>(f) = *text;
    }

    // An array of distinct choices, at least one (an alert wanting no event is a mistake).
    void read_choices(const Field& f) {
        auto& out = slot_of<std::vector<std::string>>(f);
        const auto* list = as_array(f.node, f.path);
        if (list != nullptr && list->empty())
            return error(f, "must name at least one " + std::string(f.key.noun));
        for_each_string(
            f, true, [&](const std::string& text, const toml::node& element, const std::string& path) {
                if (std::find(f.key.choices.begin(), f.key.choices.end(), text) == f.key.choices.end()) {
                    return error(element.source(), path,
                                 "unknown " + std::string(f.key.noun) + " " + in_quotes(text) +
                                     " (known: " + join(f.key.choices) + ")");
                }
                if (std::find(out.begin(), out.end(), text) != out.end())
                    return error(element.source(), path,
                                 "duplicate " + std::string(f.key.noun) + " " + in_quotes(text));
                out.push_back(text);
            });
    }

    // An HTTP listener: "addr:port", "[v6]:port", or an address alone for the default port.
    void read_http_listen(const Field& f) {
        constexpr uint16_t kDefaultMetricsPort = 9153;  // CoreDNS's metrics port: DNS exporters sit there
        auto text = as_string(f.node, f.path);
        if (!text) return;
        auto endpoint = dns::Endpoint::parse(*text, kDefaultMetricsPort);
        if (!endpoint) return error(f, endpoint.error());
        slot_of<std::optional<dns::Endpoint>>(f) = *endpoint;
    }

    void read_ratio(const Field& f) {
        std::optional<double> v;
        if (const auto* d = f.node.as_floating_point()) v = d->get();
        if (const auto* i = f.node.as_integer()) v = static_cast<double>(i->get());
        if (!v) return error(f, "expected a number, found " + type_name(f.node.type()));
        if (!(*v > static_cast<double>(f.key.min) && *v <= static_cast<double>(f.key.max))) {
            return error(f, "must be above " + std::to_string(f.key.min) + " and at most " +
                                std::to_string(f.key.max));
        }
        slot_of<double>(f) = *v;
    }

    void read_control_socket(const Field& f) {
        auto p = as_path(f);
        if (!p) return;
        if (p->native().size() > kMaxSocketPath) {
            return error(f, p->native() + " is " + std::to_string(p->native().size()) +
                                " bytes long, a Unix socket path may have at most " +
                                std::to_string(kMaxSocketPath));
        }
        slot_of<fs::path>(f) = *p;
    }

    void read_identity(const Field& f) {
        auto text = as_string(f.node, f.path);
        if (!text) return;
        // Names as useradd accepts them, or a numeric id: nothing that could surprise getpwnam().
        const bool ok = !text->empty() && text->size() <= 32 && (*text)[0] != '-' &&
                        std::all_of(text->begin(), text->end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                        });
        if (!ok) {
            return error(f, "invalid name " + in_quotes(*text) +
                                " (a user or group name: letters, digits, '_', '-', '.', at most 32)");
        }
        slot_of<std::string>(f) = *text;
    }

    void read_endpoints(const Field& f) {
        const auto* list = as_array(f.node, f.path);
        if (list == nullptr) return;
        if (list->size() < static_cast<size_t>(f.key.min)) {
            return error(f, f.key.min == 1
                                ? std::string("must name at least one address")
                                : "must name at least " + std::to_string(f.key.min) + " addresses");
        }
        auto& out = slot_of<std::vector<dns::Endpoint>>(f);
        std::vector<size_t> indexes;  // element index of each accepted endpoint, for duplicate messages
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string path = f.path + "[" + std::to_string(i) + "]";
            auto endpoint =
                as_endpoint(*list->get(i), path,
                            f.key.reader == Reader::TlsEndpoints ? kDefaultTlsPort : kDefaultDnsPort);
            if (!endpoint) continue;
            const auto dup = std::find(out.begin(), out.end(), *endpoint);
            if (dup != out.end()) {
                error(list->get(i)->source(), path,
                      "duplicate " + std::string(f.key.noun) + " " + endpoint->to_string() + " (first at " +
                          f.path + "[" + std::to_string(indexes[static_cast<size_t>(dup - out.begin())]) +
                          "])");
                continue;
            }
            out.push_back(*endpoint);
            indexes.push_back(i);
        }
    }

    // RFC 7858 §4.2 pins: base64 of a SHA-256 digest, kept in the one canonical spelling the server
    // computes, so comparing them is comparing strings.
    void read_pins(const Field& f) {
        auto& out = slot_of<std::vector<std::string>>(f);
        for_each_string(
            f, true, [&](const std::string& text, const toml::node& element, const std::string& path) {
                auto bytes = dns::base64_decode(text);
                if (!bytes) return error(element.source(), path, "invalid base64: " + bytes.error());
                if (bytes->size() != kPinOctets)
                    return error(
                        element.source(), path,
                        "a pin is the base64 of a SHA-256 digest (32 octets), this is " +
                            std::to_string(bytes->size()) +
                            " (openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl "
                            "dgst -sha256 -binary | base64)");
                out.push_back(dns::base64_encode(*bytes));
            });
    }

    // Names as a certificate carries them (subjectAltName dNSName): letters, digits, '-', '.', '_', and
    // "*." as the first label only (RFC 6125 §6.4.3).
    void read_cert_names(const Field& f) {
        auto& out = slot_of<std::vector<std::string>>(f);
        for_each_string(f, true,
                        [&](const std::string& text, const toml::node& element, const std::string& path) {
                            std::string name = text;
                            if (name.size() > 1 && name.back() == '.') name.pop_back();
                            const std::string_view rest =
                                name.starts_with("*.") ? std::string_view(name).substr(2) : name;
                            const bool ok = !rest.empty() && rest.front() != '.' &&
                                            rest.find("..") == std::string_view::npos &&
                                            std::all_of(rest.begin(), rest.end(), [](char c) {
                                                return std::isalnum(static_cast<unsigned char>(c)) ||
                                                       c == '-' || c == '.' || c == '_';
                                            });
                            if (!ok)
                                return error(element.source(), path,
                                             "invalid certificate name " + in_quotes(text) +
                                                 " (a domain name, optionally starting with \"*.\")");
                            std::transform(name.begin(), name.end(), name.begin(), [](char c) {
                                return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                            });
                            out.push_back(std::move(name));
                        });
    }

    // Update name patterns, relative to the zone: "@", labels, "*" as the whole first label (names below)
    // or the whole last label (names starting so). Lower-cased; no trailing dot.
    void read_update_names(const Field& f) {
        auto& out = slot_of<std::vector<std::string>>(f);
        for_each_string(
            f, true, [&](const std::string& text, const toml::node& element, const std::string& path) {
                std::string name = text;
                std::transform(name.begin(), name.end(), name.begin(), [](char c) {
                    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                });
                bool ok = name == "@" || (!name.empty() && name.front() != '.' && name.back() != '.' &&
                                          name.find("..") == std::string::npos);
                if (ok && name != "@") {
                    for (std::size_t i = 0; i < name.size(); ++i) {
                        const char c = name[i];
                        if (c != '*') {
                            ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                                        c == '.');
                            continue;
                        }
                        // A star is a label of its own, the first or the last one.
                        const bool first = i == 0 && (name.size() == 1 || name[1] == '.');
                        const bool last = i + 1 == name.size() && i > 0 && name[i - 1] == '.';
                        ok = ok && (first || last) && !(i == 0 && name.size() > 1 && name.back() == '*');
                    }
                }
                if (!ok)
                    return error(element.source(), path,
                                 "invalid update name " + in_quotes(text) +
                                     " (relative to the zone: \"@\", \"www\", \"*.dyn\" for names below dyn, "
                                     "\"_acme-challenge.*\" for names starting with that label)");
                out.push_back(std::move(name));
            });
    }

    void read_rr_types(const Field& f) {
        auto& out = slot_of<std::vector<std::string>>(f);
        for_each_string(
            f, true, [&](const std::string& text, const toml::node& element, const std::string& path) {
                auto type = dns::rrtype_from_string(text);
                if (!type || *type == dns::RRType::ANY || *type == dns::RRType::AXFR ||
                    *type == dns::RRType::IXFR || *type == dns::RRType::OPT || *type == dns::RRType::TSIG)
                    return error(element.source(), path,
                                 "not a record type a zone holds: " + in_quotes(text));
                out.push_back(dns::to_string(*type));
            });
    }

    void read_address(const Field& f) {
        auto text = as_string(f.node, f.path);
        if (!text) return;
        auto address = dns::IpAddress::parse(*text);
        if (!address) return error(f, "invalid IP address " + in_quotes(*text) + " (no port, no brackets)");
        slot_of<std::optional<dns::IpAddress>>(f) = address;
    }

    // ---- names, and references to them ----

    void read_key_name(const Field& f) {
        auto name = as_name(f);
        if (!name) return;
        auto normalised = normalise_key_name(*name);
        if (!normalised) return error(f, normalised.error());
        // Registered even when the rest of the key is broken, so ACLs naming it report nothing more.
        const auto [first, inserted] = key_lines_.emplace(*normalised, f.node.source().begin.line);
        if (!inserted) {
            error(f, "duplicate key " + in_quotes(*normalised) + " (first at line " +
                         std::to_string(first->second) + ")");
        }
        slot_of<std::string>(f) = *normalised;
    }

    void read_acl_name(const Field& f) {
        auto name = as_name(f);
        if (!name) return;
        const auto [first, inserted] = acl_lines_.emplace(*name, f.node.source().begin.line);
        if (!inserted) {
            // Left unnamed, so the duplicate is not kept.
            return error(f, "duplicate ACL " + in_quotes(*name) + " (first at line " +
                                std::to_string(first->second) + ")");
        }
        slot_of<std::string>(f) = *name;
    }

    void read_policy_name(const Field& f) {
        auto name = as_name(f);
        if (!name) return;
        const auto [first, inserted] = policy_lines_.emplace(*name, f.node.source().begin.line);
        if (!inserted) {
            return error(f, "duplicate DNSSEC policy " + in_quotes(*name) + " (first at line " +
                                std::to_string(first->second) + ")");
        }
        slot_of<std::string>(f) = *name;
    }

    // RFC 5155 §3.3: the salt in hex, "-" for none.
    void read_salt(const Field& f) {
        auto text = as_string(f.node, f.path);
        if (!text) return;
        if (*text == "-") text->clear();
        const bool hex = std::all_of(text->begin(), text->end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        });
        if (!hex || text->size() % 2 != 0 || text->size() > 510)
            return error(
                f, in_quotes(*text) + " is not a salt (an even number of hex digits, at most 255 octets)");
        slot_of<std::string>(f) = *text;
    }

    void read_zone_name(const Field& f) {
        auto name = as_name(f);
        if (!name) return;
        auto normalised = normalise_zone_name(*name);
        if (!normalised) return error(f, normalised.error());
        // A helper reading a run of the [[zone]] array leaves the duplicate check to the loader that
        // started it, which makes it in the array's order (read_zones_on_threads).
        if (pending_names_ != nullptr) {
            pending_names_->push_back({element_, &f.node, problems_.size()});
        } else {
            note_zone_name(*normalised, f.node.source(), f.path.starts_with("catalog["),
                           [&] { return f.path; });
        }
        slot_of<std::string>(f) = std::move(*normalised);
    }

    // A zone's (or catalog's) name, taken; one taken already is reported where it is written again.
    template <class PathOf>
    void note_zone_name(const std::string& normalised, const toml::source_region& where, bool catalog,
                        const PathOf& path_of) {
        const auto [first, inserted] = zone_lines_.emplace(normalised, where.begin.line);
        if (inserted && catalog) catalog_lines_.emplace(normalised, first->second);
        if (!inserted) {
            error(where, path_of(),
                  "duplicate zone " + in_quotes(normalised) + " (first at line " +
                      std::to_string(first->second) + ")");
        }
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
            error(where, path, "unknown key " + in_quotes(*key_name) + known_of(key_lines_, "[[key]]"));
            return std::nullopt;
        }
        return std::move(*key_name);
    }

    std::string known_acls() const { return known_of(acl_lines_, "[[acl]]"); }

    // The names defined, sorted; at most 20 (a config may define 100k zones).
    template <class Names>
    static std::string known_of(const Names& names, std::string_view table) {
        if (names.empty()) return " (no " + std::string(table) + " is defined)";
        constexpr std::size_t kShown = 20;
        std::vector<std::string_view> list;
        list.reserve(names.size());
        for (const auto& [name, line] : names) list.push_back(name);
        std::sort(list.begin(), list.end());
        const std::size_t more = list.size() > kShown ? list.size() - kShown : 0;
        list.resize(list.size() - more);
        return " (known: " + join(list) + (more > 0 ? ", and " + std::to_string(more) + " more" : "") + ")";
    }

    // ---- TSIG key material ----

    void read_secret(const Field& f) {
        if (f.table.get("file") != nullptr) return;  // secret and file both given: the [[key]] reports it
        auto text = as_string(f.node, f.path);
        if (!text) return;
        auto bytes = dns::base64_decode(*text);
        if (!bytes) return error(f, "invalid base64: " + bytes.error());
        if (bytes->empty()) return error(f, "must not be empty");
        slot_of<std::string>(f).assign(bytes->begin(), bytes->end());
        wipe(*bytes);
    }

    // Fills the key's algorithm and secret from the key of its name in a BIND key file.
    void read_key_file(const Field& f) {
        if (f.table.get("secret") != nullptr) return;  // secret and file both given: the [[key]] reports it
        auto path = as_path(f);
        if (!path) return;
        auto& key = *static_cast<KeyConfig*>(f.record);
        auto text = read_whole_file(*path);
        if (!text) return error(f, "cannot read " + path->string() + ": " + text.error());
        auto entries = parse_key_file(*text);
        if (!entries) return error(f, path->string() + ": " + entries.error());
        if (key.name.empty()) return;  // the name itself is broken (already reported)
        const KeyFileEntry* entry = nullptr;
        std::vector<std::string> names;
        for (const auto& e : *entries) {
            auto n = normalise_key_name(e.name);
            names.push_back(n ? *n : e.name);
            if (n && *n == key.name) entry = &e;
        }
        if (entry == nullptr) {
            return error(f, "no key " + in_quotes(key.name) + " in " + path->string() +
                                (names.empty() ? std::string(" (it defines no key)")
                                               : " (it defines: " + join(names) + ")"));
        }
        const std::string at_line = path->string() + " line " + std::to_string(entry->line);
        auto file_algorithm = normalise_algorithm(entry->algorithm, schema_key("key[].algorithm").choices);
        const toml::node* algorithm_node = f.table.get("algorithm");
        if (!file_algorithm) {
            error(f, at_line + ": " + unknown_algorithm(entry->algorithm));
        } else if (algorithm_node != nullptr && !key.algorithm.empty() && key.algorithm != *file_algorithm) {
            error(
                algorithm_node->source(), join_path(f.path.substr(0, f.path.rfind('.')), "algorithm"),
                in_quotes(key.algorithm) + " differs from " + in_quotes(*file_algorithm) + " in " + at_line);
        } else {
            key.algorithm = *file_algorithm;
        }
        auto bytes = dns::base64_decode(entry->secret);
        if (!bytes) {
            error(f, at_line + ": invalid base64 secret: " + bytes.error());
        } else if (bytes->empty()) {
            error(f, at_line + ": the secret is empty");
        } else {
            key.secret.assign(bytes->begin(), bytes->end());
            wipe(*bytes);
        }
        key.file = *path;
    }

    // ---- tables ----

    void read_server(const Field& f) {
        const auto* table = f.node.as_table();
        if (table == nullptr)
            return error(f, "expected a table ([server]), found " + type_name(f.node.type()));
        auto& server = slot_of<ServerConfig>(f);
        walk(*table, "server", "server", &server);
        if (!server.group.empty() && server.user.empty())
            error(table->get("group")->source(), "server.group", "needs server.user (the user to run as)");
        check_tls(*table, server);
    }

    // listen_tls needs a certificate and its key; an address cannot be both a plain TCP listener and a
    // TLS one.
    void check_tls(const toml::table& table, const ServerConfig& server) {
        lab_ = server.lab;
        tls_listening_ = !server.listen_tls.empty();
        tls_client_ca_ = !server.tls_client_ca.empty();
        if (tls_listening_) {
            for (const char* key : {"tls_certificate", "tls_key"})
                if (table.get(key) == nullptr)
                    error(table.get("listen_tls")->source(), std::string("server.") + key,
                          "needed with server.listen_tls (PEM file)");
            for (const auto& ep : server.listen_tls)
                if (std::find(server.listen.begin(), server.listen.end(), ep) != server.listen.end())
                    error(table.get("listen_tls")->source(), "server.listen_tls",
                          ep.to_string() + " is also in server.listen (one port serves plain DNS or TLS)");
        } else {
            for (const char* key : {"tls_certificate", "tls_key", "tls_client_ca"})
                if (const toml::node* node = table.get(key))
                    error(node->source(), std::string("server.") + key,
                          "set, but server.listen_tls is empty (no TLS listener would use it)");
        }
    }

    // [[key]], [[acl]], [[zone]]: each element walked along the schema, then checked as a whole (finish).
    template <class Record>
    void read_tables(const Field& f) {
        const auto* list = f.node.as_array();
        if (list == nullptr) {
            return error(
                f, "expected an array of tables ([[" + f.path + "]]), found " + type_name(f.node.type()));
        }
        const std::string section = std::string(f.key.path) + "[]";
        auto& records = slot_of<std::vector<Record>>(f);
        records.reserve(records.size() + list->size());  // a growing vector would copy 100k zones' settings
        if (list->size() >= 4096) prefer_huge_pages(records.data(), records.capacity() * sizeof(Record));
        if constexpr (std::is_same_v<Record, ZoneConfig>) {
            if (section == "zone[]" && list->size() >= 2 * kZonesPerThread)
                return read_zones_on_threads(f, *list, records);
        }
        if (section == "zone[]") zone_lines_.reserve(zone_lines_.size() + list->size());
        for (size_t i = 0; i < list->size(); ++i) {
            const auto* table = list->get(i)->as_table();
            if (table == nullptr) {
                not_a_table(f, i);
                continue;
            }
            // Read in place: with 100k zones, moving each zone's settings into the vector is a good part
            // of the walk.
            if (!read_table(f, section, i, *table, records.emplace_back())) records.pop_back();
        }
    }

    void not_a_table(const Field& f, size_t i) {
        const toml::node& element = *f.node.as_array()->get(i);
        error(element.source(), f.path + "[" + std::to_string(i) + "]",
              "expected a table, found " + type_name(element.type()));
    }

    // Table `i` of the array of tables `f` into `record`: false when the record is not to be kept.
    template <class Record>
    bool read_table(const Field& f, const std::string& section, size_t i, const toml::table& table,
                    Record& record) {
        const std::string prefix = f.path + "[" + std::to_string(i) + "]";
        const size_t problems_before = problems_.size();
        template_ = section == "zone[]" ? template_of(table) : nullptr;
        element_ = i;
        walk(table, section, prefix, &record);
        template_ = nullptr;
        return finish(table, prefix, record, problems_before);
    }

    // A large [[zone]] array, read on several threads: with 100k zones the walk was most of loading the
    // config, at start and at every reconfigure. Each thread reads a run of the array into the records'
    // own places with a copy of this loader (what it read before the zones: keys, ACLs, templates,
    // policies, catalogs). The names are then checked for duplicates here, in the array's order, and the
    // problems joined (failure() sorts them by place): the outcome is the one-thread read's.
    static constexpr size_t kZonesPerThread = 2048;

    void read_zones_on_threads(const Field& f, const toml::array& list, std::vector<ZoneConfig>& records) {
        const size_t n = list.size();
        const size_t base = records.size();
        records.resize(base + n);
        const size_t parts = std::min(config_threads(), n / kZonesPerThread);
        std::vector<std::vector<PendingName>> names(parts);  // each part's names, in order
        std::vector<Loader> helpers;
        helpers.reserve(parts);
        for (size_t k = 0; k < parts; ++k) {
            Loader& h = helpers.emplace_back(*this);
            h.problems_.clear();
            h.pending_names_ = &names[k];
            names[k].reserve(n / parts + 1);
        }
        zone_lines_.reserve(zone_lines_.size() + n);  // after the copies: the helpers use none of it
        std::vector<std::exception_ptr> failed(parts);
        auto run = [&](size_t k) {
            try {
                for (size_t i = n * k / parts; i < n * (k + 1) / parts; ++i) {
                    // A zone's record is kept whatever finish() says: it refuses none (a problem fails
                    // the whole config anyway), and an element that is not a table is one.
                    if (const auto* table = list.get(i)->as_table())
                        (void)helpers[k].read_table(f, "zone[]", i, *table, records[base + i]);
                    else
                        helpers[k].not_a_table(f, i);
                }
            } catch (...) {  // no memory: rethrown on this thread once every part has ended
                failed[k] = std::current_exception();
            }
        };
        std::vector<std::thread> threads;
        threads.reserve(parts);
        for (size_t k = 1; k < parts; ++k) {
            try {
                threads.emplace_back(run, k);
            } catch (...) {  // no thread to be had (or no memory for one): this one reads the part
                run(k);
            }
        }
        run(0);
        for (auto& t : threads) t.join();
        for (const auto& e : failed)
            if (e) std::rethrow_exception(e);

        // Each duplicate goes where the one-thread read would have reported it: among the part's problems,
        // after those found before its name was read (failure() sorts by place only, and two included
        // files can share one).
        for (size_t k = 0; k < parts; ++k) {
            auto& found = helpers[k].problems_;
            size_t taken = 0;
            for (const PendingName& p : names[k]) {  // the record holds the name, normalised
                for (; taken < p.problems_before; ++taken) problems_.push_back(std::move(found[taken]));
                note_zone_name(records[base + p.element].name, p.node->source(), false,
                               [&] { return f.path + "[" + std::to_string(p.element) + "].name"; });
            }
            for (; taken < found.size(); ++taken) problems_.push_back(std::move(found[taken]));
        }
    }

    bool finish(const toml::table&, const std::string&, ZonesDirConfig&, size_t problems_before) {
        return problems_.size() == problems_before;
    }

    // [[template]]: a name, unique, and [[zone]] keys; the values are read when a zone takes them, so an
    // error in one names the template's line and the zone's key path.
    void read_templates(const Field& f) {
        const auto* list = f.node.as_array();
        if (list == nullptr)
            return error(f, "expected an array of tables ([[template]]), found " + type_name(f.node.type()));
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string prefix = f.path + "[" + std::to_string(i) + "]";
            const auto* table = list->get(i)->as_table();
            if (table == nullptr) {
                error(list->get(i)->source(), prefix,
                      "expected a table, found " + type_name(list->get(i)->type()));
                continue;
            }
            const auto* name = table->get("name");
            auto text = name != nullptr ? as_string(*name, prefix + ".name") : std::nullopt;
            if (name == nullptr)
                error(table->source(), prefix + ".name", "missing required key (e.g. name = \"standard\")");
            for (auto&& [key, node] : *table) {
                if (key.str() != "name" && !template_key(key.str()))
                    error(key.source(), prefix + "." + std::string(key.str()),
                          "not a key a template may set (any [[zone]] key but name, file and template)");
            }
            if (!text || text->empty()) continue;
            if (!templates_.emplace(*text, table).second) {
                error(name->source(), prefix + ".name", "duplicate template " + in_quotes(*text));
                continue;
            }
            slot_of<std::vector<std::string>>(f).push_back(*text);
        }
    }

    std::string known_templates() const {
        std::string out;
        for (const auto& [name, table] : templates_) out += (out.empty() ? "" : ", ") + name;
        return out.empty() ? " (no [[template]] is defined)" : " (known: " + out + ")";
    }

    // The [[template]] a zone's table names (null: none, or an unknown one, which its reader reports).
    const toml::table* template_of(const toml::table& zone) const {
        const auto* ref = zone.get_as<std::string>("template");
        if (ref == nullptr) return nullptr;
        auto it = templates_.find(ref->get());
        return it == templates_.end() ? nullptr : it->second;
    }

    // A key a zone does not set, from the template it names (the node keeps its place in the file).
    const toml::node* inherited_value(std::string_view section, const SchemaKey& key) const {
        if (template_ == nullptr || section != "zone[]" || key_name(key) == "name") return nullptr;
        return template_->get(key_name(key));
    }

  public:
    // [[zones_dir]]: each matching file becomes a zone, read as a [[zone]] {name, file, template} would be.
    void expand_zones_dirs(Config& config, const toml::table& root) {
        const auto* dirs = root.get_as<toml::array>("zones_dir");
        for (size_t d = 0; d < config.zones_dirs.size(); ++d) {
            const ZonesDirConfig& zd = config.zones_dirs[d];
            const std::string prefix = "zones_dir[" + std::to_string(d) + "]";
            const toml::source_region where =
                dirs != nullptr && d < dirs->size() ? dirs->get(d)->source() : toml::source_region{};
            std::error_code ec;
            std::vector<fs::path> files;
            for (fs::directory_iterator it(zd.path, ec), end; !ec && it != end; it.increment(ec)) {
                const std::string name = it->path().filename().string();
                if (it->is_regular_file() && ::fnmatch(zd.pattern.c_str(), name.c_str(), FNM_PERIOD) == 0)
                    files.push_back(it->path());
            }
            if (ec) {
                error(where, prefix + ".path", "cannot list " + zd.path.string() + ": " + ec.message());
                continue;
            }
            std::sort(files.begin(), files.end());
            for (const fs::path& file : files) {
                const std::string filename = file.filename().string();
                const size_t dot = filename.rfind('.');
                toml::table table{
                    {"name", dot == 0 || dot == std::string::npos ? filename : filename.substr(0, dot)},
                    {"file", file.string()}};
                if (!zd.template_name.empty()) table.insert("template", zd.template_name);
                ZoneConfig zone;
                template_ = template_of(table);
                std::string zone_path = prefix;
                zone_path += '(';
                zone_path += filename;
                zone_path += ')';
                walk(table, "zone[]", zone_path, &zone);
                template_ = nullptr;
                config.zones.push_back(std::move(zone));
            }
        }
    }

  private:
    // Whether to keep the key: only a complete one (secret or file, and an algorithm).
    bool finish(const toml::table& table, const std::string& prefix, KeyConfig&, size_t problems_before) {
        const bool secret = table.get("secret") != nullptr;
        const bool file = table.get("file") != nullptr;
        if (secret && file) {
            error(table.source(), prefix, "gives both secret and file; give one");
        } else if (!secret && !file) {
            error(table.source(), prefix,
                  "needs a secret (base64) or a file (a BIND key file, as tsig-keygen writes)");
        } else if (secret && table.get("algorithm") == nullptr) {
            error(table.source(), prefix + ".algorithm", "missing required key " + known_algorithms());
        }
        return problems_.size() == problems_before;
    }

    bool finish(const toml::table& table, const std::string& prefix, AclConfig& acl, size_t) {
        auto names_some = [&](std::string_view key) {
            const toml::node* node = table.get(key);
            return node != nullptr && (!node->is_array() || !node->as_array()->empty());
        };
        if (!names_some("networks") && !names_some("keys") && !names_some("tls_pins") &&
            !names_some("tls_names")) {
            // An ACL that can match nothing is almost certainly a mistake (an ACL with both networks and
            // keys needs both to match, so neither cannot mean "anyone").
            error(table.source(), prefix,
                  "names neither networks nor keys (nor tls_pins, tls_names), so it would match nobody");
        }
        check_acl_tls(table, prefix, acl);
        return !acl.name.empty();  // a duplicate (or broken) name is reported and left out
    }

    // A fault served on purpose must never reach a primary that did not ask for lab mode.
    bool finish(const toml::table& table, const std::string& prefix, LabConfig&, size_t problems_before) {
        if (!lab_)
            error(table.source(), prefix,
                  "lab faults need server.lab = true (lab mode; never on a production primary)");
        return problems_.size() == problems_before;
    }

    // What an ACL asks of TLS must be there: a TLS listener, and for names the CA that verifies them.
    void check_acl_tls(const toml::table& table, const std::string& prefix, const AclConfig& acl) {
        const bool tls_only = acl.transports.size() == 1 && acl.transports.front() == "tls";
        const bool certificate = !acl.tls_pins.empty() || !acl.tls_names.empty();
        if ((tls_only || certificate) && !tls_listening_) {
            error(
                table.get(certificate ? (acl.tls_pins.empty() ? "tls_names" : "tls_pins") : "transports")
                    ->source(),
                prefix + (certificate ? (acl.tls_pins.empty() ? ".tls_names" : ".tls_pins") : ".transports"),
                "needs TLS, but server.listen_tls is empty");
        }
        if (certificate && !acl.transports.empty() &&
            std::find(acl.transports.begin(), acl.transports.end(), "tls") == acl.transports.end()) {
            error(table.get("transports")->source(), prefix + ".transports",
                  "leaves out tls, but a client certificate (tls_pins, tls_names) only comes over TLS");
        }
        if (!acl.tls_names.empty() && !tls_client_ca_) {
            error(table.get("tls_names")->source(), prefix + ".tls_names",
                  "needs server.tls_client_ca (names are trusted only in a certificate it verifies)");
        }
    }

    bool finish(const toml::table& table, const std::string& prefix, DnssecPolicyConfig& p, size_t) {
        // The refresh must come before the expiration, with the jitter inside what is left, or a served
        // signature could expire before it is made anew.
        if (p.signature_refresh_s >= p.signature_validity_s) {
            error(table.source(), prefix + ".signature_refresh",
                  "must be shorter than signature_validity (a signature is renewed before it expires)");
        } else if (p.signature_jitter_s >= p.signature_validity_s - p.signature_refresh_s) {
            error(table.source(), prefix + ".signature_jitter",
                  "must be shorter than signature_validity minus signature_refresh");
        }
        // A successor is published this long before the lifetime ends: a shorter lifetime would start
        // the next rollover before the last one is over.
        if (p.zsk_lifetime_s != 0 &&
            uint64_t{p.zsk_lifetime_s} <= 2 * (uint64_t{p.dnskey_ttl_s} + p.propagation_delay_s)) {
            error(table.source(), prefix + ".zsk_lifetime",
                  "must be longer than twice dnskey_ttl plus propagation_delay (or 0: no rollover)");
        }
        if (p.ksk_lifetime_s != 0 &&
            uint64_t{p.ksk_lifetime_s} <= 2 * (uint64_t{p.dnskey_ttl_s} + p.propagation_delay_s)) {
            error(table.source(), prefix + ".ksk_lifetime",
                  "must be longer than twice dnskey_ttl plus propagation_delay (or 0: no rollover)");
        }
        return !p.name.empty();
    }

    bool finish(const toml::table& table, const std::string& prefix, ZoneConfig& zone, size_t) {
        if (!zone.catalog_group.empty() && zone.catalog.empty()) {
            error(table.source(), prefix + ".catalog_group", "needs the zone's catalog (catalog = \"...\")");
        }
        if ((!zone.foreign_dnskeys.empty() || !zone.multi_signer.empty()) && zone.dnssec_policy.empty()) {
            error(
                table.source(), prefix + (zone.multi_signer.empty() ? ".foreign_dnskeys" : ".multi_signer"),
                "needs the zone's dnssec_policy (other signers' keys are published beside Headwater's own)");
        }
        if (!zone.multi_signer.empty() && zone.foreign_dnskeys.empty()) {
            error(
                table.source(), prefix + ".multi_signer",
                "needs foreign_dnskeys with the other signers' KSKs: what their servers serve is taken only "
                "when one of those KSKs signs it");
        }
        if (zone.verify_interval_s != 0 && zone.secondaries.empty()) {
            error(table.source(), prefix + ".verify_interval",
                  "needs the secondaries to check (secondaries = [\"203.0.113.53\", ...])");
        }
        return true;  // a broken zone fails the whole config anyway
    }

    bool finish(const toml::table&, const std::string&, AlertConfig&, size_t problems_before) {
        return problems_.size() == problems_before;
    }

    // zone.notify: "host", "host:port", "[v6]:port" or { address, key, source } per target (RFC 1996).
    void read_notify_targets(const Field& f) {
        const auto* list = as_array(f.node, f.path);
        if (list == nullptr) return;
        auto& out = slot_of<std::vector<NotifyTargetConfig>>(f);
        std::vector<size_t> indexes;  // element index of each accepted target, for duplicate messages
        for (size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string element_path = f.path + "[" + std::to_string(i) + "]";
            NotifyTargetConfig target;
            const size_t problems_before = problems_.size();
            const auto* table = element.as_table();
            if (table != nullptr) {
                walk(*table, "zone[].notify[]", element_path, &target);
            } else if (element.is_string()) {
                read({schema_key("zone[].notify[].address"), element, element_path, f.table, &target});
            } else {
                error(element.source(), element_path,
                      "expected a string or a table ({ address = ..., key = ..., source = ... }), found " +
                          type_name(element.type()));
                continue;
            }
            if (problems_.size() != problems_before) continue;
            if (target.source && target.source->is_v4() != target.address.address.is_v4()) {
                error(table->get("source")->source(), element_path + ".source",
                      target.source->to_string() + " is not of the same address family as " +
                          target.address.to_string());
                continue;
            }
            size_t dup = 0;
            while (dup < out.size() && !(out[dup].address == target.address && out[dup].key == target.key))
                ++dup;
            if (dup < out.size()) {
                const toml::node& address = table != nullptr ? *table->get("address") : element;
                error(address.source(), table != nullptr ? element_path + ".address" : element_path,
                      "duplicate target " + target.address.to_string() + " (first at " + f.path + "[" +
                          std::to_string(indexes[dup]) + "])");
                continue;
            }
            out.push_back(std::move(target));
            indexes.push_back(i);
        }
    }

    std::string display_path_;
    fs::path base_dir_;
    std::vector<Problem> problems_;
    // Defaults read once (read_default).
    std::unordered_map<const SchemaKey*,
                       std::variant<std::monostate, uint32_t, uint64_t, double, std::string, bool>>
        default_values_;
    std::map<std::string, uint32_t> key_lines_;  // normalised key name -> line of its first definition
    std::map<std::string, uint32_t> acl_lines_;  // ACL name -> line of its first definition
    std::unordered_map<std::string, uint32_t> zone_lines_;  // normalised zone name -> line of its first one
    std::map<std::string, uint32_t> catalog_lines_;         // catalog name -> line of its definition
    std::map<std::string, const toml::table*> templates_;
    const toml::table* template_ =
        nullptr;  // the template of the zone being read  // [[template]] by name (the document outlives us)
    std::map<std::string, uint32_t> policy_lines_;  // DNSSEC policy name -> line of its first definition
    // A helper of read_zones_on_threads: the zone names it read, checked by the loader that started it.
    struct PendingName {
        size_t element;          // the [[zone]] table's index
        const toml::node* node;  // its name
        size_t problems_before;  // how many problems the helper had found when it read the name
    };
    std::vector<PendingName>* pending_names_ = nullptr;
    size_t element_ = 0;  // the index of the table read_table() is reading
    // From [server], read before any [[acl]] (the schema's order): what the ACLs' TLS factors need.
    bool lab_ = false;  // server.lab
    bool tls_listening_ = false;
    bool tls_client_ca_ = false;
};

fs::path absolute_path(const fs::path& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    return (ec ? p : abs).lexically_normal();
}

// Parses TOML text; a syntax error becomes the single line of a ConfigError. A large text is parsed in
// parts on every core when it can be (TomlInParts.h); any doubt, and every error, goes through one parse
// of the whole text.
Result<toml::table, ConfigError> parse_toml(std::string_view text, const std::string& display_path) {
    if (auto in_parts = parse_toml_in_parts(text, display_path, config_threads()))
        return std::move(*in_parts);
    try {
        return toml::parse(text, std::string(display_path));
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return unexpected(ConfigError{display_path + ":" + std::to_string(where.line) + ":" +
                                      std::to_string(where.column) + ": " + std::string(e.description())});
    }
}

// `include = "zones.d/*.toml"` (or an array of such): each file matching, in name order, is read and its
// tables appended to this document's, before anything is read. An included file holds only arrays of
// tables ([[zone]], [[template]], [[zones_dir]], [[catalog]], [[acl]], [[key]], [[dnssec_policy]]); its
// errors name it. A pattern without wildcards must name an existing file.
Result<void, ConfigError> expand_includes(toml::table& root, const fs::path& base_dir,
                                          std::vector<std::string>& included) {
    const toml::node* node = root.get("include");
    if (node == nullptr) return {};
    auto fail = [&](const toml::source_region& where, const std::string& file, const std::string& what) {
        return unexpected(ConfigError{file + ":" + std::to_string(where.begin.line) + ":" +
                                      std::to_string(where.begin.column) + ": " + what});
    };
    const std::string main_file = node->source().path ? *node->source().path : std::string();
    std::vector<std::string> patterns;
    if (const auto* s = node->as_string()) patterns.push_back(s->get());
    if (const auto* a = node->as_array())
        for (const auto& e : *a)
            if (const auto* s = e.as_string()) patterns.push_back(s->get());
    if (patterns.empty())
        return fail(node->source(), main_file, "include: expected a file pattern or an array of them");
    static constexpr std::array<std::string_view, 7> kTables = {"zone", "template", "zones_dir",    "catalog",
                                                                "acl",  "key",      "dnssec_policy"};
    for (const std::string& pattern : patterns) {
        const fs::path full = fs::path(pattern).is_absolute() ? fs::path(pattern) : base_dir / pattern;
        glob_t g{};
        const int rc = ::glob(full.c_str(), 0, nullptr, &g);
        std::vector<std::string> files(g.gl_pathv, g.gl_pathv + (rc == 0 ? g.gl_pathc : 0));
        globfree(&g);
        if (files.empty() && full.string().find_first_of("*?[") == std::string::npos)
            return fail(node->source(), main_file, "include: no file " + full.string());
        for (const std::string& file : files) {
            auto text = read_whole_file(file);
            if (!text) return unexpected(ConfigError{"include: cannot read " + file + ": " + text.error()});
            auto doc = parse_toml(*text, file);
            if (!doc) return unexpected(doc.error());
            for (auto&& [key, value] : *doc) {
                const bool known = std::find(kTables.begin(), kTables.end(), key.str()) != kTables.end();
                if (!known || !value.is_array_of_tables())
                    return fail(key.source(), file,
                                std::string(key.str()) +
                                    ": an included file holds only [[zone]], [[template]], "
                                    "[[zones_dir]], [[catalog]], [[acl]], [[key]] and "
                                    "[[dnssec_policy]] tables");
                if (!root.contains(key.str())) root.insert(key, toml::array{});
                auto* target = root.get_as<toml::array>(key.str());
                if (target == nullptr)
                    return fail(key.source(), file,
                                std::string(key.str()) + ": not an array of tables in the main file");
                append_tables(*target, *value.as_array());
            }
            included.push_back(file);
        }
    }
    return {};
}

}  // namespace

Result<Config, ConfigError> parse_config(std::string_view toml_text, const fs::path& assumed_path) {
    const std::string display_path = assumed_path.string();
    auto document = parse_toml(toml_text, display_path);
    if (!document) return unexpected(document.error());

    Config config;
    config.path = absolute_path(assumed_path);
    Loader loader(display_path, config.path.parent_path());
    // The schema's order: keys before ACLs (an ACL may name a key defined later in the file), ACLs before
    // zones (allow_transfer may name an ACL defined later).
    if (auto included = expand_includes(*document, config.path.parent_path(), config.included); !included)
        return unexpected(included.error());
    loader.walk(*document, "", "", &config);
    loader.expand_zones_dirs(config, *document);
    if (!loader.ok()) return unexpected(loader.failure());
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

    Loader loader(display_path, absolute_path(file).parent_path());
    auto socket = loader.control_socket(*document);
    if (!socket || !loader.ok()) return unexpected(loader.failure());
    return *socket;
}

}  // namespace headwater::conf
