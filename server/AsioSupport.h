// Conversions between Asio and the project's own address type, and the wall clock for TSIG: shared by
// the server's socket code (listeners, UDP workers, notifier, DNS client).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "zone/dns/IpNetwork.h"

namespace headwater::server {

// Completion token for coroutines that inspect error codes instead of catching exceptions.
inline constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

inline dns::IpAddress to_ip(const boost::asio::ip::address& a) {
    if (a.is_v4()) return dns::IpAddress::from_v4(a.to_v4().to_bytes());
    return dns::IpAddress::from_v6(a.to_v6().to_bytes());
}

inline boost::asio::ip::address to_asio(const dns::IpAddress& a) {
    if (a.is_v4()) {
        boost::asio::ip::address_v4::bytes_type b;
        std::copy_n(a.bytes().begin(), 4, b.begin());
        return boost::asio::ip::address_v4(b);
    }
    boost::asio::ip::address_v6::bytes_type b;
    std::copy_n(a.bytes().begin(), 16, b.begin());
    return boost::asio::ip::address_v6(b);
}

// Seconds since the epoch: the time TSIG signs and checks with (protocol code takes it as a parameter).
inline uint64_t unix_now() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

}  // namespace headwater::server
