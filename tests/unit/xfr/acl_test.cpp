// The transfer ACL: every factor a rule names must match (address, transport, client certificate, TSIG
// key), and a refusal names the factor that failed.
#include <gtest/gtest.h>

#include "xfr/Acl.h"

namespace headwater::xfr {
namespace {

Peer peer(const char* address, Transport transport, std::shared_ptr<const ClientCertificate> cert = nullptr) {
    return Peer{dns::IpAddress::parse(address).value(), 4242, transport, std::move(cert)};
}

std::shared_ptr<const ClientCertificate> cert(std::string pin, std::vector<std::string> names,
                                              bool verified) {
    return std::make_shared<const ClientCertificate>(
        ClientCertificate{std::move(pin), std::move(names), verified});
}

AclRule rule(std::string name) {
    AclRule r;
    r.name = std::move(name);
    r.networks = {dns::IpNetwork::parse("192.0.2.0/24").value()};
    return r;
}

constexpr const char* kPin = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

TEST(AclTest, AddressAndKeyAsBefore) {
    AclRule r = rule("providers");
    r.keys = {"xfr-key."};
    const std::vector<AclRule> rules = {r};
    EXPECT_TRUE(check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::string("xfr-key.")).allowed);
    auto d = check_acl(rules, peer("198.51.100.1", Transport::Tcp), std::string("xfr-key."));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "address 198.51.100.1 not in any allow_transfer rule");
    d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::nullopt);
    EXPECT_EQ(d.reason, "address 192.0.2.7 matches, but the rule requires a TSIG key");
    d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::string("other."));
    EXPECT_EQ(d.reason, "key other. not allowed for address 192.0.2.7");
    EXPECT_EQ(check_acl({}, peer("192.0.2.7", Transport::Tcp), std::nullopt).reason,
              "no allow_transfer rule for this zone");
}

TEST(AclTest, TransportIsAFactor) {
    AclRule r = rule("xot");
    r.transports = {Transport::Tls};
    r.keys = {"xfr-key."};
    const std::vector<AclRule> rules = {r};
    const std::optional<std::string> key("xfr-key.");
    EXPECT_TRUE(check_acl(rules, peer("192.0.2.7", Transport::Tls), key).allowed);
    auto d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), key);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason,
              "address 192.0.2.7 matches, but the rule allows tls only (the request came over tcp)");
    d = check_acl(rules, peer("192.0.2.7", Transport::Udp), key);
    EXPECT_EQ(d.reason,
              "address 192.0.2.7 matches, but the rule allows tls only (the request came over udp)");
    // The transport is checked before the key: over TCP the key does not matter.
    d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::nullopt);
    EXPECT_NE(d.reason.find("allows tls only"), std::string::npos) << d.reason;
    // Over TLS the key still counts.
    d = check_acl(rules, peer("192.0.2.7", Transport::Tls), std::nullopt);
    EXPECT_EQ(d.reason, "address 192.0.2.7 matches, but the rule requires a TSIG key");
}

TEST(AclTest, ASecondRuleCanAdmitWhatTheFirstRefuses) {
    AclRule tls = rule("xot");
    tls.transports = {Transport::Tls};
    AclRule tcp = rule("tcp-with-key");
    tcp.keys = {"xfr-key."};
    const std::vector<AclRule> rules = {tls, tcp};
    auto d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::string("xfr-key."));
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.rule->name, "tcp-with-key");
    // Refused by both: the reason is the first rule's.
    d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::nullopt);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("allows tls only"), std::string::npos) << d.reason;
}

TEST(AclTest, CertificatePin) {
    AclRule r = rule("pinned");
    r.tls_pins = {kPin};
    const std::vector<AclRule> rules = {r};
    // A pin needs no CA: the handshake proved the client holds the key.
    EXPECT_TRUE(
        check_acl(rules, peer("192.0.2.7", Transport::Tls, cert(kPin, {}, false)), std::nullopt).allowed);
    auto d = check_acl(rules, peer("192.0.2.7", Transport::Tls), std::nullopt);
    EXPECT_EQ(d.reason,
              "address 192.0.2.7 matches, but the rule requires a client certificate and none was presented");
    d = check_acl(rules, peer("192.0.2.7", Transport::Tcp), std::nullopt);
    EXPECT_EQ(
        d.reason,
        "address 192.0.2.7 matches, but the rule requires a client certificate, which only TLS carries (the "
        "request came over tcp)");
    d = check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("AAAA", {"xfr.example.net"}, true)),
                  std::nullopt);
    EXPECT_EQ(
        d.reason,
        "address 192.0.2.7 matches, but the client certificate (pin AAAA, name xfr.example.net) matches "
        "neither tls_pins nor tls_names of the rule");
}

TEST(AclTest, CertificateNameNeedsAVerifiedChain) {
    AclRule r = rule("named");
    r.tls_names = {"xfr.example.net", "*.provider.example"};
    r.keys = {"xfr-key."};
    const std::vector<AclRule> rules = {r};
    const std::optional<std::string> key("xfr-key.");
    EXPECT_TRUE(check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"xfr.example.net"}, true)), key)
                    .allowed);
    EXPECT_TRUE(
        check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"Ns1.Provider.Example"}, true)), key)
            .allowed);
    auto d = check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"xfr.example.net"}, false)), key);
    EXPECT_EQ(
        d.reason,
        "address 192.0.2.7 matches, but the client certificate for xfr.example.net did not verify against "
        "server.tls_client_ca");
    // The wildcard stands for one label, never more, never none.
    EXPECT_FALSE(
        check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"a.b.provider.example"}, true)), key)
            .allowed);
    EXPECT_FALSE(
        check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"provider.example"}, true)), key)
            .allowed);
    // Certificate and key: both.
    d = check_acl(rules, peer("192.0.2.7", Transport::Tls, cert("P", {"xfr.example.net"}, true)),
                  std::nullopt);
    EXPECT_EQ(d.reason, "address 192.0.2.7 matches, but the rule requires a TSIG key");
}

TEST(AclTest, CertificateNameMatching) {
    EXPECT_TRUE(certificate_name_matches("xfr.example.net", "XFR.example.NET"));
    EXPECT_FALSE(certificate_name_matches("xfr.example.net", "xfr.example.ne"));
    EXPECT_TRUE(certificate_name_matches("*.example.net", "a.example.net"));
    EXPECT_FALSE(certificate_name_matches("*.example.net", ".example.net"));
    EXPECT_FALSE(certificate_name_matches("*.example.net", "example.net"));
    EXPECT_FALSE(certificate_name_matches("*.example.net", "a.b.example.net"));
}

TEST(AclTest, TransportNames) {
    EXPECT_EQ(transport_name(Transport::Udp), "udp");
    EXPECT_EQ(transport_name(Transport::Tcp), "tcp");
    EXPECT_EQ(transport_name(Transport::Tls), "tls");
}

}  // namespace
}  // namespace headwater::xfr
