#include "server/TcpInfo.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace headwater::server {

std::optional<uint64_t> tcp_bytes_acked(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
    // An older kernel fills a shorter struct (the field came with Linux 4.1).
    if (len < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) return std::nullopt;
    return info.tcpi_bytes_acked;
}

}  // namespace headwater::server
