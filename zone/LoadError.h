// Why a zone could not be loaded (or what its loading changed), located in its master file.
#pragma once

#include <cstddef>
#include <string>

namespace headwater::zone {

struct LoadError {
    std::string file;
    std::size_t line = 0;
    std::string message;

    // "path:line: message", or "path: message" when no line applies.
    std::string to_string() const {
        if (file.empty()) return message;
        if (line == 0) return file + ": " + message;
        return file + ":" + std::to_string(line) + ": " + message;
    }
};

// Something the loader changed or let pass with a remark (a duplicate dropped, a TTL made one per RRset):
// the same shape, located in the master file.
using LoadWarning = LoadError;

}  // namespace headwater::zone
