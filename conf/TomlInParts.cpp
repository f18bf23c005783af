#include "conf/TomlInParts.h"

#if !TOML_EXCEPTIONS
#error "TomlInParts expects toml++ with exceptions"
#endif

#include <algorithm>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

namespace headwater::conf {
namespace {

// Below this a config parses in well under 50 ms: not worth a thread.
constexpr std::size_t kMinimumSize = 1u << 20;

constexpr std::string_view kZoneHeader = "[[zone]]";

// True when a line starting at `at` is exactly a [[zone]] header: "[[zone]]" then the end of the line,
// blanks or a comment. (Only outside multi-line strings, which the caller rules out.)
bool zone_header_at(std::string_view text, std::size_t at) {
    if (text.compare(at, kZoneHeader.size(), kZoneHeader) != 0) return false;
    const std::size_t after = at + kZoneHeader.size();
    if (after == text.size()) return true;
    const char c = text[after];
    return c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == '#';
}

// Where to cut: the starts of [[zone]] header lines near each part's share of the text, increasing, the
// first part starting at 0.
std::vector<std::size_t> cut_points(std::string_view text, std::size_t parts) {
    std::vector<std::size_t> cuts{0};
    for (std::size_t k = 1; k < parts; ++k) {
        std::size_t from = std::max(text.size() / parts * k, cuts.back() + 1);  // at least 1
        for (;;) {
            const std::size_t nl = text.find('\n', from - 1);
            if (nl == std::string_view::npos) return cuts;
            if (zone_header_at(text, nl + 1)) {
                cuts.push_back(nl + 1);
                break;
            }
            from = nl + 2;
        }
    }
    return cuts;
}

// The root of `part` moved into `root`: [[zone]] elements appended, other keys inserted. False when
// `part` defines a key `root` has, other than the [[zone]] array both continue.
bool merge(toml::table& root, toml::table&& part) {
    for (auto&& [key, node] : part) {
        toml::node* mine = root.get(key.str());
        if (mine == nullptr) {
            root.insert(key, std::move(node));
            continue;
        }
        auto* zones = mine->as_array();
        auto* more = node.as_array();
        if (key.str() != "zone" || zones == nullptr || more == nullptr) return false;
        append_tables(*zones, *more);
    }
    return true;
}

// A [[zone]] array made of header tables only: `zone = [{...}]` is a static array, which TOML forbids
// appending to, and the whole-text parse must report that.
bool header_tables_only(const toml::table& root) {
    const toml::node* zones = root.get("zone");
    if (zones == nullptr) return true;
    const auto* list = zones->as_array();
    // `zone = []` too: empty, yet static. A [[zone]] header never makes an empty array.
    if (list == nullptr || list->empty()) return false;
    return std::all_of(list->begin(), list->end(),
                       [](const toml::node& n) { return n.is_table() && !n.as_table()->is_inline(); });
}

}  // namespace

void append_tables(toml::array& to, toml::array& from) {
    for (auto& t : from) to.push_back(std::move(*t.as_table()));
}

std::optional<toml::table> parse_toml_in_parts(std::string_view text, const std::string& source_path,
                                               std::size_t parts) {
    if (parts < 2 || text.size() < kMinimumSize) return std::nullopt;
    if (text.find("'''") != std::string_view::npos || text.find("\"\"\"") != std::string_view::npos)
        return std::nullopt;
    const std::vector<std::size_t> cuts = cut_points(text, parts);
    if (cuts.size() < 2) return std::nullopt;

    // Each piece after the first is preceded by as many newlines as lines come before it in the text:
    // toml++ then numbers its lines as the whole text does. The first is parsed where it is.
    std::vector<std::string> pieces(cuts.size());
    std::size_t line_breaks = 0;
    for (std::size_t k = 1; k < cuts.size(); ++k) {
        const std::size_t end = k + 1 < cuts.size() ? cuts[k + 1] : text.size();
        line_breaks +=
            static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(cuts[k - 1]),
                                                text.begin() + static_cast<std::ptrdiff_t>(cuts[k]), '\n'));
        pieces[k].reserve(line_breaks + end - cuts[k]);
        pieces[k].assign(line_breaks, '\n');
        pieces[k].append(text.substr(cuts[k], end - cuts[k]));
    }
    std::vector<std::optional<toml::table>> parsed(cuts.size());
    const auto parse = [&](std::size_t k) noexcept {
        try {
            parsed[k] =
                toml::parse(k == 0 ? text.substr(0, cuts[1]) : std::string_view(pieces[k]), source_path);
        } catch (...) {
            // A syntax error (or no memory): the whole-text parse reports it, with its own context. Nothing
            // may leave a helper thread.
            parsed[k].reset();
        }
    };
    std::vector<std::thread> helpers;
    helpers.reserve(cuts.size());
    std::size_t started = 1;
    try {
        for (; started < cuts.size(); ++started) helpers.emplace_back(parse, started);
    } catch (const std::system_error&) {
        for (; started < cuts.size(); ++started) parse(started);  // no thread to be had: the rest here
    }
    parse(0);
    for (auto& h : helpers) h.join();

    if (std::any_of(parsed.begin(), parsed.end(), [](const auto& p) { return !p.has_value(); }))
        return std::nullopt;
    toml::table root = std::move(*parsed[0]);
    if (!header_tables_only(root)) return std::nullopt;
    for (std::size_t k = 1; k < parsed.size(); ++k)
        if (!merge(root, std::move(*parsed[k]))) return std::nullopt;
    return root;
}

}  // namespace headwater::conf
