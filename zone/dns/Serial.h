// SOA serial numbers with RFC 1982 serial number arithmetic (SERIAL_BITS = 32).
#pragma once

#include <cstdint>

namespace headwater::dns {

class Serial {
  public:
    constexpr Serial() = default;
    constexpr explicit Serial(uint32_t v) : value_(v) {}
    constexpr uint32_t value() const { return value_; }

    // RFC 1982 §3.2: s1 < s2 iff (s1 < s2 and s2 - s1 < 2^31) or (s1 > s2 and s1 - s2 > 2^31). At a
    // distance of exactly 2^31 the comparison is undefined: neither is less than the other.
    constexpr bool operator<(Serial o) const {
        const uint32_t d = o.value_ - value_;
        return d != 0 && d < 0x80000000u;
    }
    constexpr bool operator>(Serial o) const { return o < *this; }
    constexpr bool operator==(Serial o) const { return value_ == o.value_; }
    constexpr bool comparable(Serial o) const { return (o.value_ - value_) != 0x80000000u; }

    // RFC 1982 §3.1: adding n is defined for 0 <= n <= 2^31 - 1.
    constexpr Serial plus(uint32_t n) const { return Serial(value_ + (n & 0x7fffffffu)); }

  private:
    uint32_t value_ = 0;
};

}  // namespace headwater::dns
