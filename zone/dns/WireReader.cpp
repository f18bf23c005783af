#include "zone/dns/WireReader.h"

namespace headwater::dns {

bool WireReader::need(std::size_t n) {
    if (!ok_ || msg_.size() - pos_ < n) {
        ok_ = false;
        return false;
    }
    return true;
}

uint8_t WireReader::u8() {
    if (!need(1)) return 0;
    return msg_[pos_++];
}

uint16_t WireReader::u16() {
    if (!need(2)) return 0;
    const auto v = static_cast<uint16_t>((msg_[pos_] << 8) | msg_[pos_ + 1]);
    pos_ += 2;
    return v;
}

uint32_t WireReader::u32() {
    if (!need(4)) return 0;
    const uint32_t v = (uint32_t{msg_[pos_]} << 24) | (uint32_t{msg_[pos_ + 1]} << 16) |
                       (uint32_t{msg_[pos_ + 2]} << 8) | uint32_t{msg_[pos_ + 3]};
    pos_ += 4;
    return v;
}

std::span<const uint8_t> WireReader::bytes(std::size_t n) {
    if (!need(n)) return {};
    auto s = msg_.subspan(pos_, n);
    pos_ += n;
    return s;
}

bool WireReader::name(std::vector<uint8_t>& out) {
    out.clear();
    if (!ok_) return false;
    std::size_t pos = pos_;
    std::size_t end_of_name = 0;  // where reading continues after the first pointer
    int pointers = 0;
    while (true) {
        if (pos >= msg_.size()) return ok_ = false;
        const uint8_t len = msg_[pos];
        if ((len & 0xC0) == 0xC0) {
            if (pos + 1 >= msg_.size()) return ok_ = false;
            const std::size_t target = static_cast<std::size_t>((len & 0x3F) << 8) | msg_[pos + 1];
            if (end_of_name == 0) end_of_name = pos + 2;
            // A pointer must point strictly backwards; this alone rules out loops, the count is a backstop.
            if (target >= pos || ++pointers > 128) return ok_ = false;
            pos = target;
            continue;
        }
        if ((len & 0xC0) != 0) return ok_ = false;  // RFC 6891 §5: extended label types are obsolete
        if (pos + 1 + len > msg_.size()) return ok_ = false;
        if (out.size() + len + 1 > kMaxNameLength) return ok_ = false;
        out.insert(out.end(), msg_.begin() + static_cast<std::ptrdiff_t>(pos),
                   msg_.begin() + static_cast<std::ptrdiff_t>(pos + 1 + len));
        pos += len + 1u;
        if (len == 0) break;
    }
    pos_ = end_of_name != 0 ? end_of_name : pos;
    return true;
}

bool WireReader::skip_name() {
    std::vector<uint8_t> scratch;
    return name(scratch);
}

}  // namespace headwater::dns
