#include "zone/dns/WireWriter.h"

namespace headwater::dns {

void NameCompressor::write(std::vector<uint8_t>& buf, std::size_t message_start, NameView name) {
    auto w = name.wire();
    std::size_t pos = 0;
    while (w[pos] != 0) {
        key_.assign(w.begin() + static_cast<std::ptrdiff_t>(pos), w.end());
        for (auto& c : key_) c = static_cast<char>(ascii_lower(static_cast<uint8_t>(c)));
        if (auto it = known_.find(key_); it != known_.end()) {
            buf.push_back(static_cast<uint8_t>(0xC0 | (it->second >> 8)));
            buf.push_back(static_cast<uint8_t>(it->second));
            return;
        }
        const std::size_t offset = buf.size() - message_start;
        if (offset < 0x4000) known_.emplace(key_, static_cast<uint16_t>(offset));
        const std::size_t len = w[pos];
        buf.insert(buf.end(), w.begin() + static_cast<std::ptrdiff_t>(pos),
                   w.begin() + static_cast<std::ptrdiff_t>(pos + len + 1));
        pos += len + 1;
    }
    buf.push_back(0);
}

void NameCompressor::forget_from(std::size_t offset) {
    std::erase_if(known_, [offset](const auto& kv) { return kv.second >= offset; });
}

}  // namespace headwater::dns
