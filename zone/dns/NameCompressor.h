// RFC 1035 §4.1.4 name compression inside one message, without allocating per name: an open-addressing
// table maps the hash of each name suffix already written to its offset; a hit is confirmed by comparing
// against the bytes in the message itself (following its pointers), so collisions are harmless.
// Matching is case-sensitive on purpose: every name goes out exactly as it was written in the zone
// (a pre-signed zone transfers byte for byte), at the cost of a little compression when cases differ.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "zone/dns/Name.h"

namespace headwater::dns {

class NameCompressor {
  public:
    NameCompressor() = default;
    // Not copied or moved: a moved-from heap table would leave size_ pointing past inline_.
    NameCompressor(const NameCompressor&) = delete;
    NameCompressor& operator=(const NameCompressor&) = delete;

    // Writes `name` at the end of `buf` (the message starts at `message_start`), compressed against
    // earlier names, and records its suffixes for later ones. Pointers reach the first 16 KiB only.
    void write(std::vector<uint8_t>& buf, std::size_t message_start, NameView name);
    // Forgets names at or after `offset` (the message was cut back there).
    void forget_from(std::size_t offset);
    void clear();

  private:
    struct Slot {
        uint32_t hash = 0;
        uint16_t offset = 0;
        uint8_t state = 0;  // 0 empty, 1 used, 2 deleted
    };
    // A small answer (a few names, at most half of kInlineSlots suffixes) never allocates: the table
    // starts inline and moves to the heap only when it grows. One compressor per message built, so this
    // is per query.
    static constexpr std::size_t kInlineSlots = 32;

    bool matches(const std::vector<uint8_t>& buf, std::size_t message_start, std::size_t offset,
                 std::span<const uint8_t> suffix) const;
    void insert(uint32_t hash, uint16_t offset);
    void grow();
    Slot* slots() { return heap_.empty() ? inline_.data() : heap_.data(); }
    std::span<Slot> table() { return {slots(), size_}; }

    std::array<Slot, kInlineSlots> inline_{};
    std::vector<Slot> heap_;
    std::size_t size_ = kInlineSlots;  // slots in the table in use (inline_ or heap_), a power of two
    std::size_t used_ = 0;
    std::size_t deleted_ = 0;  // tombstones left by forget_from(); probing stops only at empty slots
};

}  // namespace headwater::dns
