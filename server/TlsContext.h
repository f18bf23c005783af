// The TLS side of DNS over TLS (RFC 7858) as zone transfers over TLS need it (RFC 9103): one OpenSSL
// context built from the configured certificate, key and client CA, TLS 1.3 only, ALPN "dot" required,
// no 0-RTT and no resumption, kernel TLS asked for. reload() builds a new context from the same files and
// swaps it in: connections accepted afterwards use it, the ones open keep theirs.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <openssl/types.h>

#include "zone/base/Result.h"

namespace headwater::server {

// OpenSSL's error queue of this thread as one line, emptied ("" when it was empty).
std::string take_openssl_errors();

struct TlsSettings {
    std::filesystem::path certificate;  // PEM chain, leaf first
    std::filesystem::path key;          // PEM private key
    std::filesystem::path client_ca;    // PEM CAs for client certificates; empty: none
    // Ask clients for a certificate (an ACL has tls_pins or tls_names, or client_ca is set). A client
    // without one is still let in: the ACL decides per zone, and names the missing certificate.
    bool request_client_certificate = false;
};

class TlsContext {
  public:
    static Result<std::unique_ptr<TlsContext>, std::string> create(TlsSettings settings);

    // The context new connections use.
    std::shared_ptr<SSL_CTX> current() const;
    // Re-reads the files. On success new connections use them and the certificate is described ("subject
    // /CN=..., expires ... GMT (N days left)"); on failure the previous context stays and the error says
    // why.
    Result<std::string, std::string> reload();
    // The certificate in use, as reload() describes it.
    std::string description() const;
    // Whole days until the certificate in use expires; negative once it has.
    int days_left() const;

  private:
    TlsContext(TlsSettings settings, std::shared_ptr<SSL_CTX> ctx, std::string description);

    TlsSettings settings_;
    mutable std::mutex mutex_;  // guards ctx_ and description_: reload on the control thread, accept on TCP's
    std::shared_ptr<SSL_CTX> ctx_;
    std::string description_;
};

}  // namespace headwater::server
