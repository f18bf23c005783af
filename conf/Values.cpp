// The syntax of single values, apart from the TOML around them: durations, zone and key names, TSIG
// algorithm names. No toml++ here, so tests can check them directly.
#include "conf/Values.h"

#include <algorithm>
#include <charconv>

#include "zone/base/Duration.h"
#include "zone/dns/Name.h"

namespace headwater::conf {

namespace {

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string lower_ascii(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

Result<int64_t, std::string> parse_duration(std::string_view text, Unit bare_unit) {
    return parse_duration_ms(text, bare_unit == Unit::Seconds ? 1000 : 1);
}

std::string format_duration(int64_t ms) {
    return format_duration_ms(ms);
}

Result<std::string, std::string> normalise_zone_name(std::string_view text) {
    if (text.empty()) return unexpected(std::string("zone name is empty"));
    if (text == ".") return std::string(".");
    std::string_view body = text;
    if (body.back() == '.') body.remove_suffix(1);

    std::string out;
    size_t wire_length = 1;  // the root label
    size_t start = 0;
    for (;;) {
        const size_t dot = body.find('.', start);
        const std::string_view label = body.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty()) return unexpected("empty label in " + in_quotes(text));
        // RFC 1035 section 2.3.4: labels of at most 63 octets, names of at most 255 in wire form.
        if (label.size() > 63) {
            return unexpected("label " + in_quotes(label) + " is " + std::to_string(label.size()) +
                              " characters long, the limit is 63");
        }
        for (char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_';
            if (!ok) {
                const auto byte = static_cast<unsigned char>(c);
                std::string shown = (byte >= 0x21 && byte < 0x7f) ? std::string("'") + c + "'"
                                                                  : "byte " + std::to_string(byte);
                return unexpected("invalid character " + shown + " in " + in_quotes(text) +
                                  " (zone names use letters, digits, '-' and '_')");
            }
            out += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
        }
        out += '.';
        wire_length += label.size() + 1;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (wire_length > 255) {
        return unexpected(in_quotes(text) + " is " + std::to_string(wire_length) +
                          " octets in wire form, the limit is 255");
    }
    return out;
}

std::optional<std::string> normalise_algorithm(std::string_view text,
                                               std::span<const std::string_view> known) {
    std::string t = lower_ascii(text);
    if (!t.empty() && t.back() == '.') t.pop_back();
    if (t == "hmac-md5.sig-alg.reg.int") return std::string("hmac-md5");
    for (auto a : known)
        if (t == a) return std::string(a);
    return std::nullopt;
}

Result<std::string, std::string> normalise_key_name(std::string_view text) {
    if (text.empty()) return unexpected(std::string("key name is empty"));
    auto name = dns::Name::from_text(text);
    if (!name) return unexpected("invalid key name " + in_quotes(text) + ": " + name.error());
    return lower_ascii(name->to_string());
}

Result<HttpUrl, std::string> parse_http_url(std::string_view text) {
    HttpUrl url;
    std::string_view rest = text;
    const std::string lowered = lower_ascii(text.substr(0, std::min<std::size_t>(text.size(), 8)));
    if (lowered.rfind("https://", 0) == 0) {
        url.tls = true;
        url.port = 443;
        rest.remove_prefix(8);
    } else if (lowered.rfind("http://", 0) == 0) {
        url.port = 80;
        rest.remove_prefix(7);
    } else {
        return unexpected(in_quotes(text) + " is not an http:// or https:// URL");
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return unexpected(in_quotes(text) + ": spaces and control characters must be percent-encoded");
    }
    if (rest.find('#') != std::string_view::npos)
        return unexpected(in_quotes(text) + ": a fragment (#...) is never sent; leave it out");
    const std::size_t slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (url.target.front() == '?') url.target.insert(0, "/");
    if (authority.find('@') != std::string_view::npos)
        return unexpected(in_quotes(text) + ": user information in the URL is not supported");
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return unexpected(in_quotes(text) + ": unclosed '[' in the host");
        url.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return unexpected(in_quotes(text) + ": junk after ']'");
        has_port = !after.empty();
        if (has_port) port_text = after.substr(1);
    } else {
        const std::size_t colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        has_port = colon != std::string_view::npos;
        if (has_port) port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return unexpected(in_quotes(text) + " names no host");
    if (has_port) {
        unsigned port = 0;
        const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535)
            return unexpected(in_quotes(text) + ": invalid port " + in_quotes(port_text));
        url.port = static_cast<uint16_t>(port);
    }
    return url;
}

}  // namespace headwater::conf
