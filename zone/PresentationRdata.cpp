#include "zone/PresentationRdata.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "zone/base/AsciiText.h"
#include "zone/dns/Base64.h"
#include "zone/dns/CanonicalRdata.h"
#include "zone/dns/Name.h"

namespace headwater::zone {

namespace {

constexpr uint16_t kNsapPtr = 23;
constexpr uint16_t kAtma = 34;
constexpr uint16_t kA6 = 38;
constexpr uint16_t kIpseckey = 45;
constexpr uint16_t kTalink = 58;
constexpr uint16_t kAmtrelay = 260;

using R = Result<void, std::string>;

R error(std::string message) {
    return unexpected(std::move(message));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A decimal number up to `max`, digits only.
std::optional<uint32_t> number(std::string_view tok, uint32_t max) {
    if (tok.empty() || tok.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (const char c : tok) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return static_cast<uint32_t>(v);
}

R name(std::string_view tok, const NameParser& parse_name, std::vector<uint8_t>& out) {
    auto wire = parse_name(tok);
    if (!wire) return error(wire.error());
    out.insert(out.end(), wire->begin(), wire->end());
    return {};
}

// The gateway or relay of IPSECKEY (RFC 4025 §3.1) and AMTRELAY (RFC 8777 §4.2): by its type nothing
// (written "."), an IPv4 address, an IPv6 address or a domain name.
R gateway(uint32_t type, std::string_view tok, const NameParser& parse_name, std::vector<uint8_t>& out) {
    switch (type) {
        case 0:
            if (tok != ".") return error("a gateway of type 0 is written '.'");
            return {};
        case 1:
            if (!read_address(tok, false, out))
                return error("invalid IPv4 gateway '" + std::string(tok) + "'");
            return {};
        case 2:
            if (!read_address(tok, true, out))
                return error("invalid IPv6 gateway '" + std::string(tok) + "'");
            return {};
        case 3:
            return name(tok, parse_name, out);
        default:
            return error("unknown gateway type " + std::to_string(type));
    }
}

R need(std::span<const std::string_view> tokens, std::size_t n, std::string_view what) {
    if (tokens.size() < n) return error("missing " + std::string(what));
    return {};
}

R no_more(std::span<const std::string_view> tokens, std::size_t used) {
    if (tokens.size() > used) return error("unexpected text '" + std::string(tokens[used]) + "'");
    return {};
}

// RFC 4025 §3: precedence gateway-type algorithm gateway [public-key (base64, may be split)].
R ipseckey(std::span<const std::string_view> t, const NameParser& parse_name, std::vector<uint8_t>& out) {
    if (auto r = need(t, 4, "IPSECKEY fields (precedence gateway-type algorithm gateway)"); !r) return r;
    const auto precedence = number(t[0], 255);
    const auto gw_type = number(t[1], 255);
    const auto algorithm = number(t[2], 255);
    if (!precedence || !gw_type || !algorithm)
        return error("IPSECKEY precedence, gateway type and algorithm are numbers up to 255");
    out.push_back(static_cast<uint8_t>(*precedence));
    out.push_back(static_cast<uint8_t>(*gw_type));
    out.push_back(static_cast<uint8_t>(*algorithm));
    if (auto r = gateway(*gw_type, t[3], parse_name, out); !r) return r;
    std::string key;
    for (std::size_t i = 4; i < t.size(); ++i) key += t[i];
    if (key.empty()) return {};
    auto bytes = dns::base64_decode(key);
    if (!bytes) return error("IPSECKEY public key: " + bytes.error());
    out.insert(out.end(), bytes->begin(), bytes->end());
    return {};
}

// RFC 8777 §4.3: precedence discovery-optional (0 or 1) type relay.
R amtrelay(std::span<const std::string_view> t, const NameParser& parse_name, std::vector<uint8_t>& out) {
    if (auto r = need(t, 4, "AMTRELAY fields (precedence D-bit type relay)"); !r) return r;
    const auto precedence = number(t[0], 255);
    const auto discovery = number(t[1], 1);
    const auto relay_type = number(t[2], 127);
    if (!precedence || !discovery || !relay_type)
        return error("AMTRELAY precedence (0-255), D-bit (0 or 1) and type (0-127) are numbers");
    out.push_back(static_cast<uint8_t>(*precedence));
    out.push_back(static_cast<uint8_t>(*discovery << 7 | *relay_type));
    if (auto r = gateway(*relay_type, t[3], parse_name, out); !r) return r;
    return no_more(t, 4);
}

// RFC 2874 §3.1.3: prefix-length (0-128), the address suffix (an IPv6 address of which only the last
// 128 - prefix-length bits are stored; absent when the length is 128), the prefix name when length > 0.
R a6(std::span<const std::string_view> t, const NameParser& parse_name, std::vector<uint8_t>& out) {
    if (auto r = need(t, 1, "A6 prefix length"); !r) return r;
    const auto prefix = number(t[0], 128);
    if (!prefix) return error("A6 prefix length is a number from 0 to 128");
    out.push_back(static_cast<uint8_t>(*prefix));
    std::size_t used = 1;
    if (*prefix < 128) {
        if (auto r = need(t, 2, "A6 address suffix"); !r) return r;
        std::vector<uint8_t> addr;
        if (!read_address(t[1], true, addr))
            return error("invalid A6 address suffix '" + std::string(t[1]) + "'");
        const std::size_t octets = (128 - *prefix + 7) / 8;
        const std::size_t first = 16 - octets;
        // The pad bits, those of the first stored octet that belong to the prefix, must be zero (§3.1.1).
        const unsigned pad = *prefix % 8;
        if (pad != 0 && (addr[first] >> (8 - pad)) != 0)
            return error("A6 address suffix has bits set inside the prefix length");
        for (std::size_t i = 0; i < first; ++i)
            if (addr[i] != 0) return error("A6 address suffix has bits set inside the prefix length");
        out.insert(out.end(), addr.begin() + static_cast<std::ptrdiff_t>(first), addr.end());
        used = 2;
    }
    if (*prefix > 0) {
        if (auto r = need(t, used + 1, "A6 prefix name"); !r) return r;
        if (auto r = name(t[used], parse_name, out); !r) return r;
        ++used;
    }
    return no_more(t, used);
}

// ATM Forum af-dans-0152.000: an AESA address in hex (format 0; '.' may separate digits, as BIND
// accepts) or an E.164 number "+digits" (format 1); the format octet leads the RDATA.
R atma(std::span<const std::string_view> t, std::vector<uint8_t>& out) {
    if (auto r = need(t, 1, "ATMA address"); !r) return r;
    if (auto r = no_more(t, 1); !r) return r;
    const std::string_view a = t[0];
    if (a.size() > 1 && a[0] == '+') {
        out.push_back(1);
        for (const char c : a.substr(1)) {
            if (c < '0' || c > '9') return error("an E.164 ATMA address is '+' and digits");
            out.push_back(static_cast<uint8_t>(c));
        }
        return {};
    }
    out.push_back(0);
    std::string digits;
    for (const char c : a)
        if (c != '.') digits.push_back(c);
    if (digits.empty() || digits.size() % 2 != 0)
        return error("an AESA ATMA address is an even number of hex digits");
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        const auto hi = hex_value(digits[i]);
        const auto lo = hex_value(digits[i + 1]);
        if (hi < 0 || lo < 0) return error("an AESA ATMA address is an even number of hex digits");
        out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return {};
}

R names(std::size_t n, std::span<const std::string_view> t, const NameParser& parse_name,
        std::vector<uint8_t>& out) {
    if (auto r = need(t, n, n == 1 ? "domain name" : "domain names"); !r) return r;
    for (std::size_t i = 0; i < n; ++i)
        if (auto r = name(t[i], parse_name, out); !r) return r;
    return no_more(t, n);
}

}  // namespace

namespace {
// Four decimal octets without leading zeros, the form inet_pton accepts (and zone files use): read here,
// at a fifth of inet_pton's cost per A record of a large zone. Anything else goes to inet_pton, which
// decides, so the two agree on what is an address.
bool dotted_quad(std::string_view text, uint8_t (&addr)[4]) {
    std::size_t pos = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0 && (pos >= text.size() || text[pos++] != '.')) return false;
        const std::size_t begin = pos;
        unsigned value = 0;
        while (pos < text.size() && pos - begin < 3 && text[pos] >= '0' && text[pos] <= '9')
            value = value * 10 + static_cast<unsigned>(text[pos++] - '0');
        const std::size_t digits = pos - begin;
        if (digits == 0 || value > 255 || (digits > 1 && text[begin] == '0')) return false;
        addr[octet] = static_cast<uint8_t>(value);
    }
    return pos == text.size();
}
}  // namespace

bool read_address(std::string_view text, bool v6, std::vector<uint8_t>& out) {
    if (uint8_t quad[4]; !v6 && dotted_quad(text, quad)) {
        out.insert(out.end(), quad, quad + 4);
        return true;
    }
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    uint8_t addr[16];
    if (::inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) != 1) return false;
    out.insert(out.end(), addr, addr + (v6 ? 16 : 4));
    return true;
}

std::optional<uint16_t> presentation_type(std::string_view mnemonic) {
    if (iequals(mnemonic, "AMTRELAY")) return kAmtrelay;
    if (iequals(mnemonic, "TALINK")) return kTalink;
    return std::nullopt;
}

bool reads_presentation_rdata(uint16_t type) {
    return type == kNsapPtr || type == kAtma || type == kA6 || type == kIpseckey || type == kTalink ||
           type == kAmtrelay;
}

Result<void, std::string> read_generic_rdata(uint16_t type, std::span<const std::string_view> tokens,
                                             std::vector<uint8_t>& out) {
    if (tokens.empty()) return error("missing RDATA length after \\# (RFC 3597 §5)");
    const auto length = number(tokens[0], 65535);
    if (!length) return error("invalid RDATA length '" + std::string(tokens[0]) + "' after \\#");
    const std::size_t start = out.size();
    int high = -1;
    for (const std::string_view tok : tokens.subspan(1)) {
        for (const char c : tok) {
            const int v = hex_value(c);
            if (v < 0) return error("invalid hex digit '" + std::string(1, c) + "' in \\# RDATA");
            if (high < 0) {
                high = v;
            } else {
                out.push_back(static_cast<uint8_t>(high << 4 | v));
                high = -1;
            }
        }
    }
    if (high >= 0) return error("odd number of hex digits in \\# RDATA");
    const std::size_t got = out.size() - start;
    if (got != *length)
        return error("\\# RDATA length " + std::to_string(*length) + " but " + std::to_string(got) +
                     " octets given");
    const std::span<const uint8_t> rdata(out.data() + start, got);
    const auto t = static_cast<dns::RRType>(type);
    if ((t == dns::RRType::A && got != 4) || (t == dns::RRType::AAAA && got != 16))
        return error("\\# RDATA of " + dns::to_string(t) + " must be " + (t == dns::RRType::A ? "4" : "16") +
                     " octets");
    if (!dns::names_well_formed(t, rdata))
        return error("\\# RDATA is not a valid " + dns::to_string(t) +
                     " (its domain names must be complete and uncompressed, RFC 3597 §5)");
    return {};
}

Result<void, std::string> read_presentation_rdata(uint16_t type, std::span<const std::string_view> tokens,
                                                  const NameParser& parse_name, std::vector<uint8_t>& out) {
    switch (type) {
        case kNsapPtr:  // RFC 1706 §6: one domain name
            return names(1, tokens, parse_name, out);
        case kAtma:
            return atma(tokens, out);
        case kTalink:  // previous and next name of the trust anchor link
            return names(2, tokens, parse_name, out);
        case kA6:
            return a6(tokens, parse_name, out);
        case kIpseckey:
            return ipseckey(tokens, parse_name, out);
        case kAmtrelay:
            return amtrelay(tokens, parse_name, out);
        default:
            return error("no presentation reader for type " + std::to_string(type));
    }
}

}  // namespace headwater::zone
