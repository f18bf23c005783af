// Reads the TOML configuration into conf::Config. Every key, with its type, range, unit and default, is in
// the schema (conf/Schema.cpp) and explained in docs/configuration.md. In short:
//
//   [server]                      listen (required), control_socket, state_dir, log_level, limits, identity
//   [[key]]                       a TSIG key: name, algorithm and secret, or a BIND key file
//   [[acl]]                       a transfer rule: name, networks and/or keys
//   [[zone]]                      name, file, allow_transfer, journal, NOTIFY and verification settings
//
// Durations take "250ms", "2s", "5m", "1h", "1d" or combinations ("1h30m"); a bare number is in the key's
// own unit (seconds for most, milliseconds for zone.notify_delay).
//
// Errors: all problems found are reported, not just the first, one per line of ConfigError::message,
// sorted by position in the file. Each line reads "<file>:<line>:<column>: <key path>: <problem>" where
// <file> is the path as the caller passed it and the key path looks like "server.listen[1]",
// "zone[0].file", "key[0].secret" or "acl[1].networks[0]". A TOML syntax error stops parsing, so it is the
// only line. Unknown keys and tables are errors that list the known ones (a typo must not silently drop a
// setting).
#pragma once

#include <filesystem>
#include <string_view>

#include "conf/Config.h"
#include "zone/base/Result.h"

namespace headwater::conf {

// Reads and validates the file. Relative paths inside resolve against the file's directory.
Result<Config, ConfigError> load_config(const std::filesystem::path& file);

// The same from text already in memory (for tests): relative paths resolve against assumed_path's
// directory, error lines name assumed_path, and zone files must still exist on disk.
Result<Config, ConfigError> parse_config(std::string_view toml_text,
                                         const std::filesystem::path& assumed_path);

// Only server.control_socket (absolute; the default when absent), for headwaterctl: it must find the
// socket even when the rest of the configuration is broken. Fails only when the file cannot be read, is
// not valid TOML, or that one setting (or [server] itself) has the wrong type or is empty.
Result<std::filesystem::path, ConfigError> read_control_socket(const std::filesystem::path& file);

}  // namespace headwater::conf
