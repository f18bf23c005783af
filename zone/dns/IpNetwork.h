// IP addresses, CIDR networks and listen endpoints, as written in the configuration and matched by ACLs.
// Text is parsed strictly with inet_pton: no host names (we never resolve names), no IPv6 zone ids,
// no shortened IPv4 forms such as "127.1".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "zone/base/Result.h"

namespace headwater::dns {

class IpAddress {
  public:
    // 0.0.0.0, the IPv4 unspecified address (so that structs holding an address can be default-built).
    IpAddress() = default;

    // Accepts "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1". No brackets, ports, prefixes or zone ids.
    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress from_v4(const std::array<uint8_t, 4>& bytes);
    static IpAddress from_v6(const std::array<uint8_t, 16>& bytes);

    bool is_v4() const { return v4_; }
    bool is_v6() const { return !v4_; }
    // 4 bytes for IPv4, 16 for IPv6, network byte order.
    std::span<const uint8_t> bytes() const { return {bytes_.data(), v4_ ? size_t{4} : size_t{16}}; }

    // True for ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2), how a dual-stack socket reports IPv4 peers.
    bool is_v4_mapped() const;
    // The IPv4 address inside an IPv4-mapped IPv6 address; otherwise the address unchanged.
    IpAddress unmapped() const;

    // "192.0.2.1", "2001:db8::1" (RFC 5952 form as produced by inet_ntop).
    std::string to_string() const;

    // Exact comparison: 192.0.2.1 and ::ffff:192.0.2.1 differ here (IpNetwork::contains treats them alike).
    friend bool operator==(const IpAddress&, const IpAddress&) = default;

  private:
    std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4 bytes, the rest stay zero
    bool v4_ = true;
};

class IpNetwork {
  public:
    // Accepts "127.0.0.0/8", "::1/128" and a bare address (a host route: /32 or /128). Rejects host bits
    // set below the prefix ("127.0.0.1/8": the user probably meant something else and should say so),
    // prefixes out of range or not plain decimal, and anything that is not an IP address.
    static Result<IpNetwork, std::string> parse(std::string_view text);

    const IpAddress& address() const { return address_; }
    unsigned prefix_length() const { return prefix_length_; }

    // An IPv4-mapped IPv6 address matches IPv4 networks and an IPv4 address matches a network written
    // as ::ffff:a.b.c.d/n, so dual-stack sockets and v4 sockets see the same ACL.
    bool contains(const IpAddress& address) const;

    // Always with the prefix length: "127.0.0.0/8", "::1/128".
    std::string to_string() const;

    friend bool operator==(const IpNetwork&, const IpNetwork&) = default;

  private:
    IpNetwork(IpAddress address, unsigned prefix_length) : address_(address), prefix_length_(prefix_length) {}

    IpAddress address_;
    unsigned prefix_length_;
};

struct Endpoint {
    IpAddress address;
    uint16_t port;

    // Accepts "127.0.0.1:5353", "127.0.0.1", "[::1]:5353", "[::1]" and "::1" (a bare IPv6 address takes
    // default_port). Ports are plain decimal 1..65535. Host names are rejected: we never resolve names.
    static Result<Endpoint, std::string> parse(std::string_view text, uint16_t default_port);

    // "127.0.0.1:5353", "[::1]:5353".
    std::string to_string() const;

    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace headwater::dns
