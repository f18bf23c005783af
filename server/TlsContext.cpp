#include "server/TlsContext.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstring>

namespace headwater::server {

std::string take_openssl_errors() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += (out.empty() ? "" : "; ") + std::string(buf);
    }
    return out;
}

namespace {

// RFC 7858 §3.2 / RFC 9103 §7.1: the ALPN protocol of DNS over TLS, in wire form (length, name).
constexpr std::array<unsigned char, 4> kAlpnDot = {3, 'd', 'o', 't'};
constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string openssl_errors() {
    std::string out = take_openssl_errors();
    return out.empty() ? std::string("unknown OpenSSL error") : out;
}

// RFC 9103 §7.1: a client that does not offer "dot" is refused with no_application_protocol. OpenSSL
// calls the ALPN callback only when the client sends the extension at all, so its absence is caught
// here, before the handshake goes on.
// TlsStream sets each connection's app data to the string its failure is described in.
void refusal(SSL* ssl, const char* why) {
    if (auto* failure = static_cast<std::string*>(SSL_get_app_data(ssl))) *failure = why;
}

int require_alpn_extension(SSL* ssl, int* alert, void*) {
    const unsigned char* ext = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext, &len) == 1)
        return SSL_CLIENT_HELLO_SUCCESS;
    refusal(ssl, "the client offered no ALPN; zone transfers over TLS need \"dot\" (RFC 9103 §7.1)");
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
}

int select_dot(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kAlpnDot.data(), kAlpnDot.size(), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        refusal(ssl, "the client's ALPN does not offer \"dot\" (RFC 9103 §7.1)");
        return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol (RFC 7301 §3.2)
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

// The chain is checked, but its result is not the handshake's business: a pinned certificate needs no
// CA, and an ACL that asks for names looks at SSL_get_verify_result() itself (xfr::ClientCertificate).
int accept_any_chain(int, X509_STORE_CTX*) {
    return 1;
}

// Whole days from now until the certificate's notAfter (negative once it has expired).
int days_left(X509* cert) {
    int days = 0;
    int seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) != 1) return 0;
    return days - (seconds < 0 ? 1 : 0);
}

std::string describe(SSL_CTX* ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (cert == nullptr) return "no certificate";
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    std::string out = std::string("subject ") + subject;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
            char* text = nullptr;
            const long n = BIO_get_mem_data(bio, &text);
            out += ", expires " + std::string(text, static_cast<std::size_t>(n));
        }
        BIO_free(bio);
    }
    const int left = days_left(cert);
    out += left < 0 ? std::string(" (EXPIRED)") : " (" + std::to_string(left) + " days left)";
    return out;
}

Result<void, std::string> load_files(SSL_CTX* ctx, const TlsSettings& s) {
    if (SSL_CTX_use_certificate_chain_file(ctx, s.certificate.c_str()) != 1)
        return unexpected("server.tls_certificate " + s.certificate.string() + ": " + openssl_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx, s.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        return unexpected("server.tls_key " + s.key.string() +
                          (mismatch ? " does not belong to " + s.certificate.string() : std::string()) +
                          ": " + openssl_errors());
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return unexpected("server.tls_key " + s.key.string() + " does not belong to " +
                          s.certificate.string() + ": " + openssl_errors());
    if (!s.client_ca.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, s.client_ca.c_str(), nullptr) != 1)
            return unexpected("server.tls_client_ca " + s.client_ca.string() + ": " + openssl_errors());
        // The CAs named in the CertificateRequest (RFC 8446 §4.2.4), so a client picks a matching
        // certificate.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca.c_str());
        if (names == nullptr)
            return unexpected("server.tls_client_ca " + s.client_ca.string() + ": " + openssl_errors());
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    return {};
}

Result<std::shared_ptr<SSL_CTX>, std::string> build(const TlsSettings& s) {
    ERR_clear_error();
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) return unexpected("cannot create a TLS context: " + openssl_errors());
    SSL_CTX* c = ctx.get();
    // RFC 9103 §9: XoT needs TLS 1.3; nothing older is offered.
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    // Kernel TLS where the kernel and OpenSSL have it: records are then encrypted in the kernel and the
    // transfer's messages go from our buffers to the socket in one write each. Without it OpenSSL
    // encrypts in user space, silently (TlsStream reports which one a connection got).
    SSL_CTX_set_options(c, SSL_OP_ENABLE_KTLS | SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // AES-128-GCM first: the cheapest of the three per octet with AES instructions (a transfer is
    // mostly bulk encryption), and one the kernel's TLS offers; every TLS 1.3 client has it
    // (RFC 8446 §9.1).
    SSL_CTX_set_ciphersuites(c, kCipherSuites);
    // RFC 9103 §9: no 0-RTT (early data could be replayed). No session tickets and no session cache
    // either, so no resumption (which 0-RTT would need, and which would skip a reloaded client CA).
    SSL_CTX_set_max_early_data(c, 0);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_client_hello_cb(c, require_alpn_extension, nullptr);
    SSL_CTX_set_alpn_select_cb(c, select_dot, nullptr);
    if (s.request_client_certificate)
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any_chain);
    if (auto loaded = load_files(c, s); !loaded) return unexpected(loaded.error());
    return ctx;
}

}  // namespace

TlsContext::TlsContext(TlsSettings settings, std::shared_ptr<SSL_CTX> ctx, std::string description)
    : settings_(std::move(settings)), ctx_(std::move(ctx)), description_(std::move(description)) {}

Result<std::unique_ptr<TlsContext>, std::string> TlsContext::create(TlsSettings settings) {
    auto ctx = build(settings);
    if (!ctx) return unexpected(ctx.error());
    std::string text = describe(ctx->get());
    return std::unique_ptr<TlsContext>(new TlsContext(std::move(settings), std::move(*ctx), std::move(text)));
}

std::shared_ptr<SSL_CTX> TlsContext::current() const {
    std::lock_guard lock(mutex_);
    return ctx_;
}

Result<std::string, std::string> TlsContext::reload() {
    auto ctx = build(settings_);
    if (!ctx) return unexpected(ctx.error());
    std::string text = describe(ctx->get());
    std::lock_guard lock(mutex_);
    ctx_ = std::move(*ctx);
    description_ = text;
    return text;
}

int TlsContext::days_left() const {
    auto ctx = current();
    X509* cert = SSL_CTX_get0_certificate(ctx.get());
    return cert != nullptr ? server::days_left(cert) : 0;
}

std::string TlsContext::description() const {
    std::lock_guard lock(mutex_);
    return description_;
}

}  // namespace headwater::server
