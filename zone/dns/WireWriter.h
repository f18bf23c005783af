// Appends DNS wire data to a byte buffer, with RFC 1035 §4.1.4 name compression inside one message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zone/dns/Name.h"

namespace headwater::dns {

class WireWriter {
  public:
    explicit WireWriter(std::vector<uint8_t>& buf) : buf_(buf) {}

    void u8(uint8_t v) { buf_.push_back(v); }
    void u16(uint16_t v) {
        buf_.push_back(static_cast<uint8_t>(v >> 8));
        buf_.push_back(static_cast<uint8_t>(v));
    }
    void u32(uint32_t v) {
        u16(static_cast<uint16_t>(v >> 16));
        u16(static_cast<uint16_t>(v));
    }
    void bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
    void patch_u16(std::size_t at, uint16_t v) {
        buf_[at] = static_cast<uint8_t>(v >> 8);
        buf_[at + 1] = static_cast<uint8_t>(v);
    }
    std::size_t size() const { return buf_.size(); }
    std::vector<uint8_t>& buffer() { return buf_; }

  private:
    std::vector<uint8_t>& buf_;
};

}  // namespace headwater::dns
