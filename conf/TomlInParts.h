#pragma once
// Parsing a large config on several cores: the [[zone]] tables of a config listing 100k zones are most of
// its text, and toml++ reads one character at a time on one thread. Internal to conf/ (toml++ types).

#include <toml++/toml.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace headwater::conf {

// The document `text` makes, parsed in up to `parts` pieces at once. The text is cut only in front of
// a line that opens a [[zone]] table, and only when it has no multi-line string (which could hold such a
// line); each piece keeps the line numbers it has in the whole text, so every error and every source
// position is the same as from one parse. Nothing when the text is not cut (too small, no place to cut),
// when a piece does not parse, or when the pieces define anything twice but the [[zone]] array: the
// caller then parses the whole text as usual, which also gives the exact error.
std::optional<toml::table> parse_toml_in_parts(std::string_view text, const std::string& source_path,
                                               std::size_t parts);

// The tables of `from` (an array of tables) moved to the end of `to`. Moved, not copied: a copied toml++
// node forgets where it was written, and every error message names that place.
void append_tables(toml::array& to, toml::array& from);

}  // namespace headwater::conf
