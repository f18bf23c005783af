// The `key` statements of BIND's configuration syntax: what `tsig-keygen` prints and what secondary
// providers hand out, so a user can point the configuration at the file they already exchanged.
//
//   key "xfr-key" {
//       algorithm hmac-sha256;
//       secret "base64...";
//   };
//
// Comments: `# ...`, `// ...` and `/* ... */`. Several keys per file. Names and values may be quoted or
// not. Only text is checked here; whether the algorithm is known and the secret is valid base64 is for the
// caller (the config loader), which can then name the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::conf {

struct KeyFileEntry {
    std::string name;       // as written: "xfr-key", "Transfer.Key."
    std::string algorithm;  // as written: "hmac-sha256"
    std::string secret;     // base64 as written, whitespace included
    uint32_t line = 0;      // of the `key` keyword, 1-based
};

// Errors read "line 4: expected ';' after the secret, found '}'". Duplicate key names (case and trailing
// dot insensitive) are an error, as in BIND.
Result<std::vector<KeyFileEntry>, std::string> parse_key_file(std::string_view text);

}  // namespace headwater::conf
