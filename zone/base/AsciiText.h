// ASCII text helpers shared by the parsers of zone files, key files and configuration values (mnemonics
// and keywords are ASCII and compared without regard to case, as RFC 1035 §5.1 and RFC 4343 say for
// DNS text).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace headwater {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = ascii_lower(c);
    return out;
}

// Equal when equal after ASCII lower-casing.
inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

}  // namespace headwater
