// Who sent a request, as the server saw it: the address, the transport and, over TLS, the client
// certificate. Plain data, no I/O: the server fills it in from its sockets; the ACL and the Responder
// only read it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zone/dns/IpNetwork.h"

namespace headwater::xfr {

// Tls is a TCP connection inside TLS (DNS over TLS, RFC 7858; zone transfers over it, RFC 9103): a
// stream transport like Tcp for every DNS rule, and a factor of its own for the ACL.
enum class Transport : uint8_t { Udp, Tcp, Tls };

// "udp", "tcp", "tls": the names the configuration and the log use.
std::string_view transport_name(Transport t);

// What a TLS client's certificate proved, reduced to what an ACL rule can ask for. Over TLS 1.3 the
// client signs the handshake with the key of the certificate it presents (RFC 8446 §4.4.3), so the pin
// of that key is authentic whether or not the certificate chains to a CA; the names in it are trusted
// only when it does (`verified`).
struct ClientCertificate {
    std::string spki_pin;            // base64 of SHA-256 over the SubjectPublicKeyInfo (RFC 7858 §4.2)
    std::vector<std::string> names;  // subjectAltName DNS names, then the subject CN; lower case, no dot
    bool verified = false;           // the chain verified against server.tls_client_ca
};

struct Peer {
    Peer() = default;
    Peer(dns::IpAddress a, uint16_t p, Transport t, std::shared_ptr<const ClientCertificate> cert = nullptr,
         bool kernel_tls = false)
        : address(a), port(p), transport(t), certificate(std::move(cert)), ktls(kernel_tls) {}

    dns::IpAddress address;
    uint16_t port = 0;
    Transport transport = Transport::Udp;
    // Over TLS, when the client presented a certificate; otherwise null.
    std::shared_ptr<const ClientCertificate> certificate;
    // Over TLS: whether the kernel encrypts what we send (kTLS); false otherwise. For the transfer event.
    bool ktls = false;
};

}  // namespace headwater::xfr
