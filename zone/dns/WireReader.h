// Bounds-checked reader over a DNS message. Errors are sticky: once a read fails every later read fails
// and returns zero, so parsing code checks ok() once at the end of a unit instead of after every field.
#pragma once

#include <cstdint>
#include <span>

#include "zone/dns/Name.h"

namespace headwater::dns {

class WireReader {
  public:
    explicit WireReader(std::span<const uint8_t> message, std::size_t pos = 0) : msg_(message), pos_(pos) {}

    uint8_t u8();
    uint16_t u16();
    uint32_t u32();
    std::span<const uint8_t> bytes(std::size_t n);
    void skip(std::size_t n) { (void)bytes(n); }
    // Reads a possibly compressed name (RFC 1035 §4.1.4) into `out` (uncompressed). Pointers must point
    // backwards, and at most 128 are followed, so a crafted loop cannot stall the server.
    bool name(std::vector<uint8_t>& out);
    bool skip_name();

    bool ok() const { return ok_; }
    void fail() { ok_ = false; }
    std::size_t pos() const { return pos_; }
    std::size_t remaining() const { return ok_ ? msg_.size() - pos_ : 0; }
    std::span<const uint8_t> message() const { return msg_; }

  private:
    bool need(std::size_t n);
    std::span<const uint8_t> msg_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace headwater::dns
