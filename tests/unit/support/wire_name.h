// Test names in uncompressed wire form, written out by hand ("www.Example.com." -> 3www7Example3com0;
// test names have no escapes), so that a test compares the loader's octets with octets it did not make.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace headwater::testing {

inline std::vector<uint8_t> wire_name(std::string_view name) {
    std::vector<uint8_t> out;
    while (!name.empty() && name != ".") {
        const std::size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        out.push_back(static_cast<uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    out.push_back(0);
    return out;
}

}  // namespace headwater::testing
