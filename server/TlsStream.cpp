#include "server/TlsStream.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "server/AsioSupport.h"
#include "server/TlsContext.h"
#include "zone/base/AsciiText.h"
#include "zone/dns/Base64.h"

namespace headwater::server {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A name as an ACL compares it: lower case, no trailing dot.
std::string normalised_name(const unsigned char* data, int length) {
    std::string name(reinterpret_cast<const char*>(data), static_cast<std::size_t>(std::max(length, 0)));
    if (!name.empty() && name.back() == '.') name.pop_back();
    return ascii_lower(name);
}

// RFC 7858 §4.2: the pin is the SHA-256 of the DER SubjectPublicKeyInfo, in base64.
std::string spki_pin(X509* cert) {
    X509_PUBKEY* key = X509_get_X509_PUBKEY(cert);
    const int len = i2d_X509_PUBKEY(key, nullptr);
    if (len <= 0) return {};
    std::vector<uint8_t> der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509_PUBKEY(key, &p);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(der.data(), der.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) return {};
    return dns::base64_encode({digest, digest_len});
}

// The subjectAltName DNS names, then the subject's common name (RFC 6125 §6.4.4 prefers the former).
std::vector<std::string> certificate_names(X509* cert) {
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
            if (g->type == GEN_DNS)
                names.push_back(
                    normalised_name(ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName)));
        }
        GENERAL_NAMES_free(sans);
    }
    X509_NAME* subject = X509_get_subject_name(cert);
    if (const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0) {
        unsigned char* utf8 = nullptr;
        const int len =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
        if (len > 0) names.push_back(normalised_name(utf8, len));
        OPENSSL_free(utf8);
    }
    return names;
}

}  // namespace

TlsStream::TlsStream(asio::ip::tcp::socket socket, const std::shared_ptr<SSL_CTX>& ctx)
    : socket_(std::move(socket)), ssl_(SSL_new(ctx.get())) {
    error_code ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_ != nullptr) {
        SSL_set_fd(ssl_, socket_.native_handle());
        // A write may return after one record, and be retried from a moved buffer.
        SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        // The ALPN callbacks of TlsContext.cpp say here why they refused a client.
        SSL_set_app_data(ssl_, &failure_);
    }
}

TlsStream::~TlsStream() {
    SSL_free(ssl_);  // the descriptor is the socket's (SSL_set_fd does not own it)
}

template <class Op>
asio::awaitable<std::tuple<error_code, int>> TlsStream::drive(Op op) {
    if (ssl_ == nullptr) co_return std::tuple{error_code(asio::error::no_memory), 0};
    for (;;) {
        // Once the socket is closed its descriptor number may belong to another connection already.
        if (!socket_.is_open()) co_return std::tuple{error_code(asio::error::operation_aborted), 0};
        ERR_clear_error();
        errno = 0;
        const int r = op();
        // Read OpenSSL's verdict now: its error queue and errno belong to this thread, and the strand
        // may resume this coroutine on another one after the flush below.
        const int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
        const int saved_errno = errno;
        const unsigned long code = ERR_peek_error();
        const std::string errors = take_openssl_errors();
        if ((err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) && failure_.empty()) failure_ = errors;
        // Whatever OpenSSL wrote (records, alerts, a KeyUpdate answer) leaves before anything else.
        if (auto ec = co_await flush()) co_return std::tuple{ec, 0};
        if (err == SSL_ERROR_NONE) co_return std::tuple{error_code(), r};
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            const auto wait = err == SSL_ERROR_WANT_READ ? asio::ip::tcp::socket::wait_read
                                                         : asio::ip::tcp::socket::wait_write;
            auto [ec] = co_await socket_.async_wait(wait, kTuple);
            if (ec) co_return std::tuple{ec, 0};
            continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN) co_return std::tuple{error_code(asio::error::eof), 0};
        if (err == SSL_ERROR_SYSCALL) {
            if (saved_errno == 0) co_return std::tuple{error_code(asio::error::eof), 0};
            co_return std::tuple{error_code(saved_errno, boost::system::system_category()), 0};
        }
        if (failure_.empty()) failure_ = "TLS error";
        co_return std::tuple{error_code(static_cast<int>(code), asio::error::get_ssl_category()), 0};
    }
}

asio::awaitable<error_code> TlsStream::handshake() {
    auto [ec, r] = co_await drive([this] { return SSL_accept(ssl_); });
    (void)r;
    if (!ec && !ktls_send()) {
        // No kTLS: OpenSSL encrypts, and would hand each 16 KiB record to the kernel in a write of its
        // own. Records collect in memory instead, and each message's go out in one write, as over TCP.
        if (BIO* out = BIO_new(BIO_s_mem())) {
            SSL_set0_wbio(ssl_, out);  // the SSL owns it (and drops its reference to the socket BIO)
            out_ = out;
            SSL_clear_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE);  // a memory BIO takes every record
        }
    }
    co_return ec;
}

asio::awaitable<error_code> TlsStream::flush() {
    if (out_ == nullptr) co_return error_code();
    char* data = nullptr;
    const long pending = BIO_get_mem_data(out_, &data);
    if (pending <= 0) co_return error_code();
    if (!socket_.is_open()) co_return error_code(asio::error::operation_aborted);
    auto [ec, n] =
        co_await asio::async_write(socket_, asio::buffer(data, static_cast<std::size_t>(pending)), kTuple);
    (void)n;
    (void)BIO_reset(out_);  // a read-write memory BIO is emptied by a reset
    co_return ec;
}

asio::awaitable<error_code> TlsStream::read_exact(asio::mutable_buffer buffer) {
    auto* p = static_cast<unsigned char*>(buffer.data());
    std::size_t left = buffer.size();
    while (left > 0) {
        const int want = static_cast<int>(std::min<std::size_t>(left, INT_MAX));
        auto [ec, n] = co_await drive([&] { return SSL_read(ssl_, p, want); });
        if (ec) co_return ec;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    co_return error_code();
}

asio::awaitable<std::tuple<error_code, std::size_t>> TlsStream::write_some(asio::const_buffer buffer) {
    const int want = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
    auto [ec, n] = co_await drive([&] { return SSL_write(ssl_, buffer.data(), want); });
    co_return std::tuple{ec, static_cast<std::size_t>(n)};
}

void TlsStream::shutdown() {
    if (ssl_ != nullptr && socket_.is_open() && SSL_is_init_finished(ssl_) == 1) {
        ERR_clear_error();
        (void)SSL_shutdown(ssl_);  // non-blocking: sent if the socket takes it now, otherwise not at all
        ERR_clear_error();
        char* data = nullptr;
        if (const long pending = out_ != nullptr ? BIO_get_mem_data(out_, &data) : 0; pending > 0) {
            error_code ignored;
            (void)socket_.write_some(asio::buffer(data, static_cast<std::size_t>(pending)), ignored);
            (void)BIO_reset(out_);
        }
    }
}

bool TlsStream::ktls_send() const {
#ifndef OPENSSL_NO_KTLS
    return ssl_ != nullptr && BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
#else
    return false;
#endif
}

std::shared_ptr<const xfr::ClientCertificate> TlsStream::client_certificate() const {
    X509* cert = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
    if (cert == nullptr) return nullptr;
    auto facts = std::make_shared<xfr::ClientCertificate>();
    facts->spki_pin = spki_pin(cert);
    facts->names = certificate_names(cert);
    facts->verified = SSL_get_verify_result(ssl_) == X509_V_OK;
    return facts;
}

std::string TlsStream::cipher() const {
    if (ssl_ == nullptr) return "-";
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace headwater::server
