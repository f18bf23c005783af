// $GENERATE expansion (see GenerateTemplate.h). Mirrors genname() and nibbles() of BIND 9.18.
#include "zone/GenerateTemplate.h"

#include <charconv>
#include <climits>
#include <cstdio>
#include <optional>

namespace headwater::zone {

namespace {

constexpr int64_t kMaxValue = INT_MAX;  // BIND keeps the iterator in an int
constexpr uint32_t kMaxWidth = 127;     // BIND formats into a 128-byte buffer

struct Modifier {
    int64_t offset = 0;
    uint32_t width = 0;
    char base = 'd';
};

std::optional<int64_t> parse_int(std::string_view& s, bool allow_sign) {
    size_t used = 0;
    bool negative = false;
    if (allow_sign && !s.empty() && (s[0] == '-' || s[0] == '+')) {
        negative = s[0] == '-';
        used = 1;
    }
    if (used >= s.size() || s[used] < '0' || s[used] > '9') return std::nullopt;  // from_chars takes '-'
    int64_t v = 0;
    const char* first = s.data() + used;
    const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec != std::errc() || ptr == first || v > kMaxValue) return std::nullopt;
    s.remove_prefix(static_cast<size_t>(ptr - s.data()));
    return negative ? -v : v;
}

// `s` starts after "${"; on success it is left after the closing brace.
Result<Modifier, std::string> parse_modifier(std::string_view& s) {
    const std::string_view whole =
        s.substr(0, s.find('}') == std::string_view::npos ? s.size() : s.find('}'));
    auto bad = [&] { return unexpected("bad $GENERATE modifier \"${" + std::string(whole) + "}\""); };
    Modifier m;
    auto offset = parse_int(s, true);
    if (!offset) return bad();
    m.offset = *offset;
    if (!s.empty() && s[0] == '}') {
        s.remove_prefix(1);
        return m;
    }
    if (s.empty() || s[0] != ',') return bad();
    s.remove_prefix(1);
    auto width = parse_int(s, false);
    if (!width) return bad();
    if (*width > kMaxWidth) {
        return unexpected("$GENERATE width " + std::to_string(*width) + " above " +
                          std::to_string(kMaxWidth));
    }
    m.width = static_cast<uint32_t>(*width);
    if (!s.empty() && s[0] == '}') {
        s.remove_prefix(1);
        return m;
    }
    if (s.size() < 3 || s[0] != ',' || s[2] != '}' ||
        std::string_view("doxXnN").find(s[1]) == std::string_view::npos) {
        return bad();
    }
    m.base = s[1];
    s.remove_prefix(3);
    return m;
}

// BIND's nibbles(): hex digits least significant first, a dot between them, padded to `width`
// characters (dots included), so a width ending on a separator leaves a trailing dot.
void append_nibbles(std::string& out, uint64_t value, uint32_t width, bool upper) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        out.push_back(digits[value & 0x0fU]);
        value >>= 4U;
        if (width > 0) --width;
        if (width > 0 || value != 0) {
            out.push_back('.');
            if (width > 0) --width;
        }
    } while (value != 0 || width > 0);
}

Result<void, std::string> append_value(std::string& out, int64_t value, const Modifier& m) {
    const int64_t v = value + m.offset;
    if (v > kMaxValue) return unexpected(std::string("$GENERATE value out of range"));
    if (v < 0 && m.base != 'd') {
        return unexpected("$GENERATE value " + std::to_string(v) + " below zero for base '" + m.base + "'");
    }
    if (m.base == 'n' || m.base == 'N') {
        append_nibbles(out, static_cast<uint64_t>(v), m.width, m.base == 'N');
        return {};
    }
    char buf[160];
    const int w = static_cast<int>(m.width);
    const auto u = static_cast<unsigned long long>(v);
    int n = 0;
    switch (m.base) {
        case 'o':
            n = std::snprintf(buf, sizeof buf, "%0*llo", w, u);
            break;
        case 'x':
            n = std::snprintf(buf, sizeof buf, "%0*llx", w, u);
            break;
        case 'X':
            n = std::snprintf(buf, sizeof buf, "%0*llX", w, u);
            break;
        default:
            n = std::snprintf(buf, sizeof buf, "%0*lld", w, static_cast<long long>(v));
            break;
    }
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf)
        return unexpected(std::string("$GENERATE field too long"));
    out.append(buf, static_cast<size_t>(n));
    return {};
}

}  // namespace

Result<GenerateRange, std::string> parse_generate_range(std::string_view text) {
    auto bad = [&] {
        return unexpected("$GENERATE: invalid range \"" + std::string(text) +
                          "\" (start-stop[/step], 0 <= start <= stop <= 2147483647, step >= 1)");
    };
    std::string_view s = text;
    GenerateRange r;
    auto start = parse_int(s, false);
    if (!start || s.empty() || s[0] != '-') return bad();
    s.remove_prefix(1);
    auto stop = parse_int(s, false);
    if (!stop) return bad();
    r.start = *start;
    r.stop = *stop;
    if (!s.empty()) {
        if (s[0] != '/') return bad();
        s.remove_prefix(1);
        auto step = parse_int(s, false);
        if (!step || !s.empty() || *step < 1) return bad();
        r.step = *step;
    }
    if (r.stop < r.start) return bad();
    if (r.count() > kMaxGenerateRecords) {
        return unexpected("$GENERATE range \"" + std::string(text) + "\" makes " + std::to_string(r.count()) +
                          " records, more than " + std::to_string(kMaxGenerateRecords));
    }
    return r;
}

Result<void, std::string> expand_generate_field(std::string_view tmpl, int64_t value, std::string& out) {
    std::string_view s = tmpl;
    while (!s.empty()) {
        const char c = s[0];
        s.remove_prefix(1);
        if (c == '\\') {  // copied with the character it escapes, for the name or RDATA parser
            out.push_back(c);
            if (!s.empty()) {
                out.push_back(s[0]);
                s.remove_prefix(1);
            }
            continue;
        }
        if (c != '$') {
            out.push_back(c);
            continue;
        }
        if (!s.empty() && s[0] == '$') {  // "$$": a literal '$' (BIND's older escape)
            out.push_back('$');
            s.remove_prefix(1);
            continue;
        }
        Modifier m;
        if (!s.empty() && s[0] == '{') {
            s.remove_prefix(1);
            auto parsed = parse_modifier(s);
            if (!parsed) return unexpected(parsed.error());
            m = *parsed;
        }
        auto appended = append_value(out, value, m);
        if (!appended) return appended;
    }
    return {};
}

}  // namespace headwater::zone
