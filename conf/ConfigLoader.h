// Reads the TOML configuration into conf::Config. The file format:
//
//   [server]
//   listen = ["127.0.0.1:5353", "[::1]:5353"]   # required, non-empty; port 53 if omitted
//   control_socket = "run/headwater.sock"       # default; relative paths are relative to the config file
//   state_dir = "state"                         # default
//   log_level = "info"                          # trace|debug|info|warn|error|critical|off
//   tcp_idle_timeout = 10                       # seconds, 1..86400
//   tcp_max_connections = 256                   # 1..65535
//   shutdown_grace = 5                          # seconds, 0..3600
//   tcp_max_per_client = 16                     # 1..65535 (docs/operations.md, "Limits and fault handling")
//   tcp_write_timeout = 30                      # seconds, 1..3600, without progress
//   max_transfers = 64                          # 1..65535
//   max_query_size = 16384                      # octets, 512..65535
//   notify_max_in_flight = 64                   # 1..65535
//   user = "headwater"                          # optional: switch to this user after binding
//   group = "headwater"                         # optional, needs user; default the user's primary group
//
//   [[key]]                                     # a TSIG key (RFC 8945)
//   name = "xfr-key"                            # required, unique (case and trailing dot insensitive)
//   algorithm = "hmac-sha256"                   # hmac-md5|hmac-sha1|hmac-sha224|hmac-sha256|hmac-sha384|
//                                               # hmac-sha512; required with secret
//   secret = "base64..."                        # either the secret, or
//   file = "keys/xfr-key.key"                   # a BIND key file (tsig-keygen output) holding a key of this
//                                               # name; algorithm, if given too, must match the file's
//
//   [[acl]]
//   name = "providers"                          # required, unique
//   networks = ["127.0.0.0/8", "::1/128"]       # CIDR or bare address
//   keys = ["xfr-key"]                          # names of [[key]]s; an ACL needs networks or keys (or both)
//
//   [[zone]]
//   name = "example.com"                        # required, unique (case and trailing dot insensitive)
//   file = "zones/example.com.zone"             # required, must be readable
//   allow_transfer = ["providers"]              # ACL names; default: nobody
//
// Errors: all problems found are reported, not just the first, one per line of ConfigError::message,
// sorted by position in the file. Each line reads "<file>:<line>:<column>: <key path>: <problem>" where
// <file> is the path as the caller passed it and the key path looks like "server.listen[1]",
// "zone[0].file", "key[0].secret" or "acl[1].networks[0]". A TOML syntax error stops parsing, so it is the
// only line. Unknown keys and tables are errors (a typo must not silently drop a setting).
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
