// The syntax of single values, apart from the TOML around them (the loader adds the key path and the
// position to these errors).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "conf/Schema.h"
#include "zone/base/Result.h"

namespace headwater::conf {

// "250ms", "2s", "5m", "1h", "1d", combinations from the largest unit down ("1h30m", "1d12h"), or a bare
// number of `bare_unit`s ("90") -> milliseconds. Errors read "\"5x\" is not a duration (use ...)".
Result<int64_t, std::string> parse_duration(std::string_view text, Unit bare_unit);

// Milliseconds the shortest way, for messages: 90000 -> "90s", 3600000 -> "1h", 1500 -> "1500ms", 0 -> "0".
std::string format_duration(int64_t ms);

// "example.com" / "Example.COM." -> "example.com." (letters, digits, '-' and '_'; RFC 1035 lengths).
Result<std::string, std::string> normalise_zone_name(std::string_view text);

// A TSIG key name: any valid domain name, compared case-insensitively, so "XFR-Key" -> "xfr-key.".
Result<std::string, std::string> normalise_key_name(std::string_view text);

// "HMAC-SHA256." -> "hmac-sha256" when in `known`; MD5's name on the wire, "hmac-md5.sig-alg.reg.int",
// -> "hmac-md5".
std::optional<std::string> normalise_algorithm(std::string_view text,
                                               std::span<const std::string_view> known);

// An HTTP(S) URL as a webhook client needs it: "https://hooks.example.net/services/T0/B0?x=1" ->
// {https, hooks.example.net, 443, "/services/T0/B0?x=1"}. IPv6 hosts in brackets; no user info; no
// fragment. Errors say what is wrong with the text.
struct HttpUrl {
    bool tls = false;
    std::string host;  // a name or an address, without brackets
    uint16_t port = 0;
    std::string target;  // path and query, "/" when empty
};
Result<HttpUrl, std::string> parse_http_url(std::string_view text);

}  // namespace headwater::conf
