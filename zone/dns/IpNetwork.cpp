#include "zone/dns/IpNetwork.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace headwater::dns {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Plain decimal without sign or spaces; nullopt when not a number or above max_value.
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max_value) {
    if (!all_digits(s) || s.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > max_value) return std::nullopt;
    return static_cast<unsigned>(v);
}

// Looks like something a user meant as a host name ("localhost", "ns1.example.net"), so the error can
// add that names are not resolved.
bool looks_like_host_name(std::string_view s) {
    bool letter = false;
    for (char c : s) {
        const bool is_letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        letter = letter || is_letter;
        if (!is_letter && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') return false;
    }
    return letter;
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    out += s;
    out += '"';
    return out;
}

IpAddress mapped_v6(const IpAddress& v4) {
    std::array<uint8_t, 16> b{};
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), b.begin());
    const auto src = v4.bytes();
    std::copy(src.begin(), src.end(), b.begin() + 12);
    return IpAddress::from_v6(b);
}

// Whether the first prefix_length bits of a and b agree; both have the same length.
bool prefix_equal(std::span<const uint8_t> a, std::span<const uint8_t> b, unsigned prefix_length) {
    for (size_t i = 0; i < a.size(); ++i) {
        const unsigned offset = static_cast<unsigned>(i) * 8;
        if (offset >= prefix_length) break;
        const unsigned bits = std::min(8u, prefix_length - offset);
        const auto mask = static_cast<uint8_t>(0xffu << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    // inet_pton needs a NUL-terminated string; anything longer than the longest textual IPv6 address
    // (INET6_ADDRSTRLEN includes the NUL) or with embedded NULs is not an address.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    std::memcpy(buf, text.data(), text.size());

    IpAddress a;
    if (::inet_pton(AF_INET, buf, a.bytes_.data()) == 1) {
        a.v4_ = true;
        return a;
    }
    if (::inet_pton(AF_INET6, buf, a.bytes_.data()) == 1) {
        a.v4_ = false;
        return a;
    }
    return std::nullopt;
}

IpAddress IpAddress::from_v4(const std::array<uint8_t, 4>& bytes) {
    IpAddress a;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    a.v4_ = true;
    return a;
}

IpAddress IpAddress::from_v6(const std::array<uint8_t, 16>& bytes) {
    IpAddress a;
    a.bytes_ = bytes;
    a.v4_ = false;
    return a;
}

bool IpAddress::is_v4_mapped() const {
    return !v4_ && std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes_.begin());
}

IpAddress IpAddress::unmapped() const {
    if (!is_v4_mapped()) return *this;
    return from_v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

Result<IpNetwork, std::string> IpNetwork::parse(std::string_view text) {
    const auto slash = text.find('/');
    const std::string_view address_text = text.substr(0, slash);
    auto address = IpAddress::parse(address_text);
    if (!address) {
        return unexpected("invalid network " + quoted(text) + ": " + quoted(address_text) +
                          " is not an IP address" +
                          (looks_like_host_name(address_text) ? " (host names are not resolved)" : ""));
    }
    const unsigned max_prefix = address->is_v4() ? 32 : 128;
    if (slash == std::string_view::npos) return IpNetwork(*address, max_prefix);

    const std::string_view prefix_text = text.substr(slash + 1);
    const auto prefix = parse_decimal(prefix_text, max_prefix);
    if (!prefix) {
        return unexpected("invalid network " + quoted(text) + ": prefix length must be a number 0.." +
                          std::to_string(max_prefix) + (address->is_v4() ? " for IPv4" : " for IPv6"));
    }

    // Clear the host bits and compare: a set host bit usually means a typo in the address or the prefix.
    std::array<uint8_t, 16> masked{};
    const auto bytes = address->bytes();
    for (size_t i = 0; i < bytes.size(); ++i) {
        const unsigned offset = static_cast<unsigned>(i) * 8;
        const unsigned bits = offset >= *prefix ? 0u : std::min(8u, *prefix - offset);
        masked[i] = static_cast<uint8_t>(bytes[i] & (0xff00u >> bits));
    }
    const IpAddress network_address = address->is_v4()
                                          ? IpAddress::from_v4({masked[0], masked[1], masked[2], masked[3]})
                                          : IpAddress::from_v6(masked);
    if (!(network_address == *address)) {
        const IpNetwork suggestion(network_address, *prefix);
        return unexpected("host bits set in " + std::string(address_text) + "/" + std::to_string(*prefix) +
                          ", did you mean " + suggestion.to_string() + "?");
    }
    return IpNetwork(*address, *prefix);
}

bool IpNetwork::contains(const IpAddress& address) const {
    IpAddress candidate = address;
    if (address_.is_v4() && candidate.is_v4_mapped()) {
        candidate = candidate.unmapped();
    } else if (address_.is_v6() && candidate.is_v4()) {
        candidate = mapped_v6(candidate);
    }
    if (candidate.is_v4() != address_.is_v4()) return false;
    return prefix_equal(address_.bytes(), candidate.bytes(), prefix_length_);
}

std::string IpNetwork::to_string() const {
    return address_.to_string() + "/" + std::to_string(prefix_length_);
}

Result<Endpoint, std::string> Endpoint::parse(std::string_view text, uint16_t default_port) {
    if (text.empty()) return unexpected(std::string("empty address"));

    std::string_view host = text;
    std::optional<std::string_view> port_text;
    bool bracketed = false;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return unexpected("invalid address " + quoted(text) + ": missing ']'");
        }
        host = text.substr(1, close - 1);
        bracketed = true;
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return unexpected("invalid address " + quoted(text) + ": expected ':port' after ']'");
            }
            port_text = rest.substr(1);
        }
    } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
        // One colon separates host and port; more than one is a bare IPv6 address, which cannot carry a
        // port without brackets ("::1:53" is itself an address).
        if (text.find(':', colon + 1) == std::string_view::npos) {
            host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
        }
    }

    const auto address = IpAddress::parse(host);
    if (!address) {
        return unexpected("invalid address " + quoted(text) + ": " + quoted(host) + " is not an IP address" +
                          (looks_like_host_name(host) ? " (host names are not resolved)" : ""));
    }
    if (bracketed && address->is_v4()) {
        return unexpected("invalid address " + quoted(text) + ": brackets are only for IPv6 addresses");
    }

    uint16_t port = default_port;
    if (port_text) {
        const auto value = parse_decimal(*port_text, 65535);
        if (!value || *value == 0) {
            return unexpected("invalid port " + quoted(*port_text) + " in " + quoted(text) +
                              ": must be a number 1..65535");
        }
        port = static_cast<uint16_t>(*value);
    }
    return Endpoint{*address, port};
}

std::string Endpoint::to_string() const {
    if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
    return "[" + address.to_string() + "]:" + std::to_string(port);
}

}  // namespace headwater::dns
