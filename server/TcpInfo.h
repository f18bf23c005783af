// What the kernel knows of a TCP connection that the socket API does not say. Apart from the rest of the
// server because <linux/tcp.h>, which has these fields, cannot share a file with <netinet/tcp.h> (Asio).
#pragma once

#include <cstdint>
#include <optional>

namespace headwater::server {

// Octets of this connection the peer has acknowledged (tcpi_bytes_acked, RFC 4898); nullopt when the
// kernel cannot tell.
std::optional<uint64_t> tcp_bytes_acked(int fd);

}  // namespace headwater::server
