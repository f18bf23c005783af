#include "zone/dns/NameCompressor.h"

#include <array>

namespace headwater::dns {

namespace {

constexpr std::size_t kMaxPointerOffset = 0x3FFF;

// FNV-1a over the octets, chained from the root towards the first label so every suffix of a
// name gets its own hash in one right-to-left pass.
uint32_t hash_label(uint32_t h, std::span<const uint8_t> label_with_length) {
    for (uint8_t c : label_with_length) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

}  // namespace

void NameCompressor::clear() {
    const auto t = table();
    std::fill(t.begin(), t.end(), Slot{});
    used_ = 0;
    deleted_ = 0;
}

bool NameCompressor::matches(const std::vector<uint8_t>& buf, std::size_t message_start, std::size_t offset,
                             std::span<const uint8_t> suffix) const {
    std::size_t pos = message_start + offset;
    std::size_t i = 0;
    for (int hops = 0; hops < 128;) {
        const uint8_t len = buf[pos];
        if ((len & 0xC0) == 0xC0) {
            pos = message_start + (static_cast<std::size_t>(len & 0x3F) << 8 | buf[pos + 1]);
            ++hops;
            continue;
        }
        if (len != suffix[i]) return false;
        if (len == 0) return true;
        for (std::size_t k = 1; k <= len; ++k)
            if (buf[pos + k] != suffix[i + k]) return false;
        pos += len + 1u;
        i += len + 1u;
    }
    return false;
}

void NameCompressor::insert(uint32_t hash, uint16_t offset) {
    // Tombstones count towards the load: a lookup probes until an empty slot, so a table full of used
    // and deleted slots would never end one.
    if ((used_ + deleted_ + 1) * 2 > size_) grow();
    Slot* const slots = this->slots();
    const std::size_t mask = size_ - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        if (slots[i].state != 1) {
            if (slots[i].state == 2) --deleted_;
            slots[i] = Slot{hash, offset, 1};
            ++used_;
            return;
        }
    }
}

void NameCompressor::grow() {
    const auto old_table = table();
    std::vector<Slot> old(old_table.begin(), old_table.end());
    // Double when the live names need it; otherwise rebuild at the same size, which drops the tombstones
    // (a builder that keeps failing pushes must not keep growing).
    const std::size_t new_size = (used_ + 1) * 4 > size_ ? size_ * 2 : size_;
    if (new_size == kInlineSlots && heap_.empty())
        inline_.fill(Slot{});
    else
        heap_.assign(new_size, Slot{});
    size_ = new_size;
    used_ = 0;
    deleted_ = 0;
    for (const Slot& s : old)
        if (s.state == 1) insert(s.hash, s.offset);
}

void NameCompressor::forget_from(std::size_t offset) {
    for (Slot& s : table())
        if (s.state == 1 && s.offset >= offset) {
            s.state = 2;
            --used_;
        }
}

void NameCompressor::write(std::vector<uint8_t>& buf, std::size_t message_start, NameView name) {
    const auto w = name.wire();
    // Not value-initialised (only the first `labels` entries are read): zeroing 640 octets for every name
    // was the largest cost of a small answer.
    std::array<uint8_t, 128> label_at;      // NOLINT(cppcoreguidelines-pro-type-member-init)
    std::array<uint32_t, 128> suffix_hash;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    std::size_t labels = 0;
    for (std::size_t pos = 0; w[pos] != 0; pos += w[pos] + 1u) label_at[labels++] = static_cast<uint8_t>(pos);
    uint32_t h = 2166136261u;
    for (std::size_t i = labels; i-- > 0;) {
        h = hash_label(h, w.subspan(label_at[i], w[label_at[i]] + 1u));
        suffix_hash[i] = h;
    }

    // Longest known suffix first: the first hit is the best pointer.
    std::size_t match_label = labels;
    uint16_t match_offset = 0;
    const Slot* const slots = this->slots();
    const std::size_t mask = size_ - 1;
    for (std::size_t i = 0; i < labels && match_label == labels; ++i) {
        for (std::size_t s = suffix_hash[i] & mask; slots[s].state != 0; s = (s + 1) & mask) {
            if (slots[s].state == 1 && slots[s].hash == suffix_hash[i] &&
                matches(buf, message_start, slots[s].offset, w.subspan(label_at[i]))) {
                match_label = i;
                match_offset = slots[s].offset;
                break;
            }
        }
    }

    for (std::size_t i = 0; i < match_label; ++i) {
        const std::size_t offset = buf.size() - message_start;
        if (offset <= kMaxPointerOffset) insert(suffix_hash[i], static_cast<uint16_t>(offset));
        const auto label = w.subspan(label_at[i], w[label_at[i]] + 1u);
        buf.insert(buf.end(), label.begin(), label.end());
    }
    if (match_label < labels) {
        buf.push_back(static_cast<uint8_t>(0xC0 | (match_offset >> 8)));
        buf.push_back(static_cast<uint8_t>(match_offset));
    } else {
        buf.push_back(0);
    }
}

}  // namespace headwater::dns
