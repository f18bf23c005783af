// One accepted TCP connection inside TLS, for the DNS listeners (DnsListeners.cpp). OpenSSL works on the
// socket itself (a socket BIO on the non-blocking descriptor) and Asio only waits for readiness: that is
// what lets OpenSSL hand the connection to the kernel (kTLS), which Asio's ssl::stream (memory BIOs)
// cannot. When the kernel does not take it, what OpenSSL encrypts goes through a memory BIO instead, so
// a message's records leave in one write rather than one per record. Every operation runs on the connection's
// strand, and none touches the descriptor once the socket was closed (the listeners' watchdog closes it to
// cut a connection; the number may be reused).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>

#include <openssl/types.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "xfr/Peer.h"

namespace headwater::server {

class TlsStream {
  public:
    TlsStream(boost::asio::ip::tcp::socket socket, const std::shared_ptr<SSL_CTX>& ctx);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    boost::asio::ip::tcp::socket& socket() { return socket_; }

    // The server side of the handshake (TLS 1.3, ALPN "dot": TlsContext). On failure, failure() says why.
    boost::asio::awaitable<boost::system::error_code> handshake();
    // Reads exactly buffer.size() octets of application data.
    boost::asio::awaitable<boost::system::error_code> read_exact(boost::asio::mutable_buffer buffer);
    // Writes at least one octet (one TLS record at most) unless it fails.
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write_some(
        boost::asio::const_buffer buffer);
    // Sends close_notify if it can without waiting (RFC 8446 §6.1); the socket is closed by the caller.
    void shutdown();

    // After the handshake: whether the kernel encrypts what we send (kTLS), and the client's certificate
    // (null when it sent none).
    bool ktls_send() const;
    std::shared_ptr<const xfr::ClientCertificate> client_certificate() const;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384": the protocol and the cipher suite agreed.
    std::string cipher() const;
    // Why the last operation failed, in OpenSSL's words (or the ALPN refusal's).
    const std::string& failure() const { return failure_; }

  private:
    // Runs `op` (SSL_accept, SSL_read_ex, SSL_write_ex...) until it completes, waiting for the socket
    // when OpenSSL wants to read or write. Returns the error, or none and op's positive result.
    template <class Op>
    boost::asio::awaitable<std::tuple<boost::system::error_code, int>> drive(Op op);
    // Writes what OpenSSL left in out_ (nothing when the kernel encrypts).
    boost::asio::awaitable<boost::system::error_code> flush();

    boost::asio::ip::tcp::socket socket_;
    SSL* ssl_ = nullptr;
    // Without kTLS, OpenSSL's output after the handshake (a memory BIO the SSL owns): the records of
    // one write leave in one system call. Null with kTLS, and during the handshake.
    BIO* out_ = nullptr;
    std::string failure_;
};

}  // namespace headwater::server
