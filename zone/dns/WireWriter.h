// Appends DNS wire data to a byte buffer, with RFC 1035 §4.1.4 name compression inside one message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
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

// Remembers where names were written in one message so later names can point at a common suffix.
// Offsets are relative to the message start; pointers can only reach the first 16 KiB (14-bit offsets).
class NameCompressor {
  public:
    // Writes `name` at the end of `buf` (which holds the message from `message_start`), compressed
    // against earlier names, and records its suffixes for later ones.
    void write(std::vector<uint8_t>& buf, std::size_t message_start, NameView name);
    void clear() { known_.clear(); }
    // Forgets names at or after `offset` (the message was cut back there).
    void forget_from(std::size_t offset);

  private:
    std::unordered_map<std::string, uint16_t> known_;  // lower-cased wire suffix -> offset
    std::string key_;
};

}  // namespace headwater::dns
