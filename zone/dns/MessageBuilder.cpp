#include "zone/dns/MessageBuilder.h"

#include <algorithm>

namespace headwater::dns {

MessageBuilder::MessageBuilder(std::vector<uint8_t>& buf, std::size_t max_size)
    : buf_(buf), start_(buf.size()), max_size_(max_size) {
    // Room for a typical answer at once: growing from 12 octets by doubling cost a query four
    // reallocations (most answers are a few hundred octets; larger ones still grow as needed).
    buf_.reserve(start_ + std::min<std::size_t>(max_size, 512));
    buf_.resize(start_ + kHeaderSize, 0);
}

void MessageBuilder::header(uint16_t id, uint16_t flags) {
    WireWriter w(buf_);
    w.patch_u16(start_, id);
    w.patch_u16(start_ + 2, flags);
}

void MessageBuilder::add_flags(uint16_t f) {
    const uint16_t cur = static_cast<uint16_t>((buf_[start_ + 2] << 8) | buf_[start_ + 3]);
    WireWriter(buf_).patch_u16(start_ + 2, static_cast<uint16_t>(cur | f));
}

void MessageBuilder::set_rcode(Rcode rcode) {
    rcode_ = rcode;
    buf_[start_ + 3] = static_cast<uint8_t>((buf_[start_ + 3] & 0xF0) | (static_cast<uint16_t>(rcode) & 0xF));
}

void MessageBuilder::question(NameView qname, uint16_t qtype, uint16_t qclass) {
    compressor_.write(buf_, start_, qname);
    WireWriter w(buf_);
    w.u16(qtype);
    w.u16(qclass);
    counts_[0] = 1;
}

void MessageBuilder::set_edns(uint16_t udp_size, bool dnssec_ok) {
    if (!edns_) reserved_ += kOptRecordSize;
    edns_ = std::make_pair(udp_size, dnssec_ok);
}

Pushed MessageBuilder::push(Section section, NameView owner, uint16_t type, uint16_t rclass, uint32_t ttl,
                            std::span<const uint8_t> rdata) {
    const int s = static_cast<int>(section) + 1;
    section_ = std::max(section_, s);
    const std::size_t mark = buf_.size();
    compressor_.write(buf_, start_, owner);
    WireWriter w(buf_);
    w.u16(type);
    w.u16(rclass);
    w.u32(ttl);
    const std::size_t rdlen_at = buf_.size();
    w.u16(0);
    const CompressibleNames cn = compressible_names(static_cast<RRType>(type));
    std::size_t pos = 0;
    if (cn.count > 0 && rdata.size() >= cn.leading_bytes) {
        w.bytes(rdata.subspan(0, cn.leading_bytes));
        pos = cn.leading_bytes;
        for (int i = 0; i < cn.count; ++i) {
            const std::size_t len = wire_name_length(rdata.subspan(pos));
            if (len == 0) break;  // not a valid name: copy the rest verbatim below
            compressor_.write(buf_, start_, NameView(rdata.subspan(pos, len)));
            pos += len;
        }
    }
    w.bytes(rdata.subspan(pos));
    const std::size_t rdlen = buf_.size() - rdlen_at - 2;
    if (buf_.size() - start_ + reserved_ > max_size_ || rdlen > 0xFFFF) {
        buf_.resize(mark);
        compressor_.forget_from(mark - start_);
        return Pushed::Full;
    }
    w.patch_u16(rdlen_at, static_cast<uint16_t>(rdlen));
    ++counts_[s];
    return Pushed::Ok;
}

Pushed MessageBuilder::push_wire(Section section, std::span<const uint8_t> record) {
    const std::size_t owner_len = wire_name_length(record);
    const auto* p = record.data() + owner_len;
    const auto type = static_cast<uint16_t>((p[0] << 8) | p[1]);
    const auto rclass = static_cast<uint16_t>((p[2] << 8) | p[3]);
    const uint32_t ttl = (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
    return push(section, NameView(record.subspan(0, owner_len)), type, rclass, ttl,
                record.subspan(owner_len + 10));
}

Pushed MessageBuilder::push_rendered(Section section, std::span<const uint8_t> records, uint16_t count) {
    if (buf_.size() - start_ + records.size() + reserved_ > max_size_) return Pushed::Full;
    const int s = static_cast<int>(section) + 1;
    section_ = std::max(section_, s);
    buf_.insert(buf_.end(), records.begin(), records.end());
    counts_[s] = static_cast<uint16_t>(counts_[s] + count);
    return Pushed::Ok;
}

std::size_t MessageBuilder::finish() {
    WireWriter w(buf_);
    if (edns_) {
        w.u8(0);
        w.u16(to_u16(RRType::OPT));
        w.u16(edns_->first);
        const uint32_t ext = static_cast<uint32_t>(static_cast<uint16_t>(rcode_) >> 4) << 24;
        w.u32(ext | (edns_->second ? 0x8000u : 0u));
        w.u16(0);
        ++counts_[3];
        reserved_ -= kOptRecordSize;
        edns_.reset();
    }
    for (int i = 0; i < 4; ++i) w.patch_u16(start_ + 4 + 2 * static_cast<std::size_t>(i), counts_[i]);
    return buf_.size() - start_;
}

}  // namespace headwater::dns
