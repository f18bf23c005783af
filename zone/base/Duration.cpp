#include "zone/base/Duration.h"

#include <iterator>
#include <utility>

namespace headwater {

namespace {

// Units from the largest down; a duration names each at most once, in this order ("1h30m", not "30m1h").
constexpr std::pair<std::string_view, int64_t> kDurationUnits[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

}  // namespace

Result<int64_t, std::string> parse_duration_ms(std::string_view text, int64_t bare_unit_ms) {
    auto not_a_duration = [&] {
        return unexpected("\"" + std::string(text) + "\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)");
    };
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    int64_t total = 0;
    size_t next_unit = 0;  // index into kDurationUnits of the largest unit still allowed
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t digits_start = pos;
        while (pos < text.size() && is_digit(text[pos])) ++pos;
        const size_t digits = pos - digits_start;
        // Nine digits keep even nine digits of days far from int64_t overflow.
        if (digits == 0 || digits > 9) return not_a_duration();
        int64_t number = 0;
        for (size_t i = digits_start; i < pos; ++i) number = number * 10 + (text[i] - '0');
        const size_t unit_start = pos;
        while (pos < text.size() && !is_digit(text[pos])) ++pos;
        const std::string_view unit = text.substr(unit_start, pos - unit_start);
        if (unit.empty()) {
            // A bare number: only on its own ("90"), never after a unit ("1h30").
            if (digits_start != 0) return not_a_duration();
            return number * bare_unit_ms;
        }
        size_t u = next_unit;
        while (u < std::size(kDurationUnits) && kDurationUnits[u].first != unit) ++u;
        if (u == std::size(kDurationUnits)) return not_a_duration();
        total += number * kDurationUnits[u].second;
        next_unit = u + 1;
    }
    if (text.empty()) return not_a_duration();
    return total;
}

std::string format_duration_ms(int64_t ms) {
    if (ms == 0) return "0";
    for (const auto& [name, size] : kDurationUnits)
        if (ms % size == 0) return std::to_string(ms / size) + std::string(name);
    return std::to_string(ms) + "ms";
}

}  // namespace headwater
