#include "zone/dns/IpNetwork.h"

#include <gtest/gtest.h>

namespace headwater::dns {
namespace {

IpAddress addr(std::string_view text) {
    auto a = IpAddress::parse(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(IpAddress{});
}

IpNetwork net(std::string_view text) {
    auto n = IpNetwork::parse(text);
    EXPECT_TRUE(n.has_value()) << text << ": " << (n ? "" : n.error());
    return std::move(n).value();
}

std::string network_error(std::string_view text) {
    auto n = IpNetwork::parse(text);
    EXPECT_FALSE(n.has_value()) << text << " parsed as " << (n ? n->to_string() : "");
    return n ? std::string() : n.error();
}

std::string endpoint_error(std::string_view text) {
    auto e = Endpoint::parse(text, 53);
    EXPECT_FALSE(e.has_value()) << text << " parsed as " << (e ? e->to_string() : "");
    return e ? std::string() : e.error();
}

// ---- IpAddress ----

TEST(IpAddress, ParsesV4) {
    auto a = addr("192.0.2.1");
    EXPECT_TRUE(a.is_v4());
    ASSERT_EQ(a.bytes().size(), 4u);
    EXPECT_EQ(a.bytes()[0], 192);
    EXPECT_EQ(a.bytes()[3], 1);
    EXPECT_EQ(a.to_string(), "192.0.2.1");
    EXPECT_EQ(a, IpAddress::from_v4({192, 0, 2, 1}));
}

TEST(IpAddress, ParsesV6AndPrintsCanonically) {
    auto a = addr("2001:0DB8:0:0:0:0:0:1");
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(a.bytes().size(), 16u);
    EXPECT_EQ(a.to_string(), "2001:db8::1");
    EXPECT_EQ(addr("::1"), IpAddress::from_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(addr("::").to_string(), "::");
}

TEST(IpAddress, RejectsGarbage) {
    for (std::string_view bad :
         {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "127.1", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "localhost",
          "[::1]", "::1/128", "1.2.3.4:53", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":::", "0x7f.0.0.1"}) {
        EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
    }
    EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0", 8)).has_value());
    EXPECT_FALSE(IpAddress::parse(std::string(100, '1')).has_value());
}

TEST(IpAddress, V4AndMappedV6AreDifferentButUnmapToTheSame) {
    auto mapped = addr("::ffff:192.0.2.1");
    EXPECT_TRUE(mapped.is_v6());
    EXPECT_TRUE(mapped.is_v4_mapped());
    EXPECT_NE(mapped, addr("192.0.2.1"));
    EXPECT_EQ(mapped.unmapped(), addr("192.0.2.1"));
    EXPECT_EQ(mapped.to_string(), "::ffff:192.0.2.1");
    EXPECT_FALSE(addr("::1").is_v4_mapped());
    EXPECT_EQ(addr("::1").unmapped(), addr("::1"));
    EXPECT_FALSE(addr("1.2.3.4").is_v4_mapped());
}

TEST(IpAddress, DefaultIsV4Unspecified) {
    IpAddress a;
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.to_string(), "0.0.0.0");
}

// ---- IpNetwork ----

TEST(IpNetwork, ParsesV4Cidr) {
    auto n = net("127.0.0.0/8");
    EXPECT_EQ(n.address(), addr("127.0.0.0"));
    EXPECT_EQ(n.prefix_length(), 8u);
    EXPECT_EQ(n.to_string(), "127.0.0.0/8");
}

TEST(IpNetwork, ParsesV6Cidr) {
    EXPECT_EQ(net("::1/128").to_string(), "::1/128");
    EXPECT_EQ(net("2001:DB8::/32").to_string(), "2001:db8::/32");
    EXPECT_EQ(net("::/0").prefix_length(), 0u);
}

TEST(IpNetwork, BareAddressIsHostRoute) {
    EXPECT_EQ(net("192.0.2.7").to_string(), "192.0.2.7/32");
    EXPECT_EQ(net("::1").to_string(), "::1/128");
}

TEST(IpNetwork, RejectsHostBitsWithSuggestion) {
    EXPECT_EQ(network_error("127.0.0.1/8"), "host bits set in 127.0.0.1/8, did you mean 127.0.0.0/8?");
    EXPECT_EQ(network_error("192.0.2.129/25"),
              "host bits set in 192.0.2.129/25, did you mean 192.0.2.128/25?");
    EXPECT_EQ(network_error("2001:db8::1/64"),
              "host bits set in 2001:db8::1/64, did you mean 2001:db8::/64?");
    EXPECT_EQ(network_error("10.0.0.1/0"), "host bits set in 10.0.0.1/0, did you mean 0.0.0.0/0?");
}

TEST(IpNetwork, RejectsBadPrefixLengths) {
    EXPECT_NE(network_error("10.0.0.0/33").find("prefix length must be a number 0..32 for IPv4"),
              std::string::npos);
    EXPECT_NE(network_error("::/129").find("0..128 for IPv6"), std::string::npos);
    for (std::string_view bad : {"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8a", "10.0.0.0/ 8",
                                 "10.0.0.0/8/8", "10.0.0.0/99999999999999"}) {
        EXPECT_NE(network_error(bad).find("prefix length"), std::string::npos) << bad;
    }
}

TEST(IpNetwork, RejectsGarbage) {
    EXPECT_EQ(network_error("garbage!"), "invalid network \"garbage!\": \"garbage!\" is not an IP address");
    EXPECT_EQ(network_error("example.com/24"),
              "invalid network \"example.com/24\": \"example.com\" is not an IP address (host names are not "
              "resolved)");
    EXPECT_NE(network_error("").find("not an IP address"), std::string::npos);
    EXPECT_NE(network_error("/8").find("not an IP address"), std::string::npos);
    EXPECT_NE(network_error("10.0.0/8").find("not an IP address"), std::string::npos);
}

TEST(IpNetwork, ContainsV4) {
    auto n = net("192.0.2.0/24");
    EXPECT_TRUE(n.contains(addr("192.0.2.0")));
    EXPECT_TRUE(n.contains(addr("192.0.2.255")));
    EXPECT_FALSE(n.contains(addr("192.0.3.0")));
    EXPECT_FALSE(n.contains(addr("192.0.1.255")));
    auto odd = net("10.0.0.128/25");
    EXPECT_TRUE(odd.contains(addr("10.0.0.200")));
    EXPECT_FALSE(odd.contains(addr("10.0.0.127")));
    auto bits = net("10.0.0.0/13");
    EXPECT_TRUE(bits.contains(addr("10.7.255.255")));
    EXPECT_FALSE(bits.contains(addr("10.8.0.0")));
}

TEST(IpNetwork, HostRouteAndEverything) {
    EXPECT_TRUE(net("127.0.0.1").contains(addr("127.0.0.1")));
    EXPECT_FALSE(net("127.0.0.1").contains(addr("127.0.0.2")));
    EXPECT_TRUE(net("0.0.0.0/0").contains(addr("203.0.113.9")));
    EXPECT_FALSE(net("0.0.0.0/0").contains(addr("2001:db8::1")));
}

TEST(IpNetwork, ContainsV6) {
    auto n = net("2001:db8::/32");
    EXPECT_TRUE(n.contains(addr("2001:db8:ffff::1")));
    EXPECT_FALSE(n.contains(addr("2001:db9::1")));
    EXPECT_TRUE(net("::1/128").contains(addr("::1")));
    EXPECT_FALSE(net("::1/128").contains(addr("::2")));
    auto odd = net("2001:db8::/61");
    EXPECT_TRUE(odd.contains(addr("2001:db8:0:7::1")));
    EXPECT_FALSE(odd.contains(addr("2001:db8:0:8::1")));
}

TEST(IpNetwork, FamiliesDoNotMixExceptMapped) {
    EXPECT_FALSE(net("::1/128").contains(addr("127.0.0.1")));
    EXPECT_FALSE(net("127.0.0.0/8").contains(addr("::1")));
    // ::7f00:1 (deprecated IPv4-compatible) is not mapped and must not match 127/8.
    EXPECT_FALSE(net("127.0.0.0/8").contains(addr("::127.0.0.1")));
}

TEST(IpNetwork, MappedV6MatchesV4Network) {
    auto n = net("127.0.0.0/8");
    EXPECT_TRUE(n.contains(addr("::ffff:127.0.0.1")));
    EXPECT_TRUE(n.contains(addr("::FFFF:7F00:2")));
    EXPECT_FALSE(n.contains(addr("::ffff:128.0.0.1")));
    EXPECT_TRUE(net("0.0.0.0/0").contains(addr("::ffff:1.2.3.4")));
}

TEST(IpNetwork, V4MatchesMappedV6Network) {
    auto n = net("::ffff:192.0.2.0/120");
    EXPECT_TRUE(n.contains(addr("192.0.2.77")));
    EXPECT_FALSE(n.contains(addr("192.0.3.77")));
    EXPECT_TRUE(n.contains(addr("::ffff:192.0.2.1")));
}

TEST(IpNetwork, Equality) {
    EXPECT_EQ(net("10.0.0.0/8"), net("10.0.0.0/8"));
    EXPECT_NE(net("10.0.0.0/8"), net("10.0.0.0/9"));
}

// ---- Endpoint ----

TEST(Endpoint, V4WithPort) {
    auto e = Endpoint::parse("127.0.0.1:5353", 53);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->address, addr("127.0.0.1"));
    EXPECT_EQ(e->port, 5353);
    EXPECT_EQ(e->to_string(), "127.0.0.1:5353");
}

TEST(Endpoint, V4DefaultPort) {
    auto e = Endpoint::parse("127.0.0.1", 5300);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->port, 5300);
    EXPECT_EQ(e->to_string(), "127.0.0.1:5300");
}

TEST(Endpoint, BracketedV6) {
    auto e = Endpoint::parse("[::1]:5353", 53);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->address, addr("::1"));
    EXPECT_EQ(e->port, 5353);
    EXPECT_EQ(e->to_string(), "[::1]:5353");

    auto d = Endpoint::parse("[2001:db8::1]", 53);
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(d->port, 53);
    EXPECT_EQ(d->to_string(), "[2001:db8::1]:53");
}

TEST(Endpoint, BareV6TakesDefaultPort) {
    auto e = Endpoint::parse("::1", 5353);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->address, addr("::1"));
    EXPECT_EQ(e->port, 5353);
    // Without brackets a trailing group is part of the address, never a port.
    auto f = Endpoint::parse("::1:53", 5353);
    ASSERT_TRUE(f) << f.error();
    EXPECT_EQ(f->address, addr("::1:53"));
    EXPECT_EQ(f->port, 5353);
}

TEST(Endpoint, PortBounds) {
    EXPECT_EQ(Endpoint::parse("127.0.0.1:1", 53)->port, 1);
    EXPECT_EQ(Endpoint::parse("127.0.0.1:65535", 53)->port, 65535);
    EXPECT_EQ(endpoint_error("127.0.0.1:0"),
              "invalid port \"0\" in \"127.0.0.1:0\": must be a number 1..65535");
    EXPECT_NE(endpoint_error("127.0.0.1:65536").find("invalid port \"65536\""), std::string::npos);
    EXPECT_NE(endpoint_error("[::1]:99999999999").find("invalid port"), std::string::npos);
    EXPECT_NE(endpoint_error("127.0.0.1:").find("invalid port \"\""), std::string::npos);
    EXPECT_NE(endpoint_error("127.0.0.1:dns").find("invalid port \"dns\""), std::string::npos);
    EXPECT_NE(endpoint_error("127.0.0.1:-1").find("invalid port"), std::string::npos);
    EXPECT_NE(endpoint_error("127.0.0.1: 53").find("invalid port"), std::string::npos);
    EXPECT_NE(endpoint_error("[::1]:").find("invalid port"), std::string::npos);
}

TEST(Endpoint, RejectsHostNames) {
    EXPECT_EQ(
        endpoint_error("localhost:53"),
        "invalid address \"localhost:53\": \"localhost\" is not an IP address (host names are not resolved)");
    EXPECT_NE(endpoint_error("ns1.example.net").find("(host names are not resolved)"), std::string::npos);
    EXPECT_NE(endpoint_error("[localhost]:53").find("(host names are not resolved)"), std::string::npos);
    EXPECT_EQ(endpoint_error("1.2.3.4.5").find("host names"), std::string::npos);
}

TEST(Endpoint, RejectsGarbage) {
    EXPECT_EQ(endpoint_error(""), "empty address");
    EXPECT_NE(endpoint_error("[::1").find("missing ']'"), std::string::npos);
    EXPECT_NE(endpoint_error("[::1]5353").find("expected ':port' after ']'"), std::string::npos);
    EXPECT_NE(endpoint_error("[127.0.0.1]:53").find("brackets are only for IPv6"), std::string::npos);
    EXPECT_NE(endpoint_error("1.2.3:53").find("is not an IP address"), std::string::npos);
    EXPECT_NE(endpoint_error("*:53").find("is not an IP address"), std::string::npos);
    EXPECT_NE(endpoint_error(":53").find("is not an IP address"), std::string::npos);
    EXPECT_NE(endpoint_error("[]:53").find("is not an IP address"), std::string::npos);
    EXPECT_NE(endpoint_error("127.0.0.1/8").find("is not an IP address"), std::string::npos);
}

TEST(Endpoint, Equality) {
    EXPECT_EQ(*Endpoint::parse("127.0.0.1:53", 0), *Endpoint::parse("127.0.0.1", 53));
    EXPECT_NE(*Endpoint::parse("127.0.0.1:54", 0), *Endpoint::parse("127.0.0.1", 53));
}

}  // namespace
}  // namespace headwater::dns
