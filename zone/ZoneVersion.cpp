#include "zone/ZoneVersion.h"

#include "zone/dns/MessageBuilder.h"

#include <algorithm>

namespace headwater::zone {

namespace {
uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
}  // namespace

RecordView decode_record(std::span<const uint8_t> wire_at) {
    RecordView v;
    const std::size_t owner_len = dns::wire_name_length(wire_at);
    v.owner = dns::NameView(wire_at.subspan(0, owner_len));
    const uint8_t* p = wire_at.data() + owner_len;
    v.type = static_cast<dns::RRType>(rd16(p));
    v.rclass = rd16(p + 2);
    v.ttl = rd32(p + 4);
    const uint16_t rdlen = rd16(p + 8);
    v.rdata = wire_at.subspan(owner_len + 10, rdlen);
    v.wire = wire_at.subspan(0, owner_len + 10 + rdlen);
    return v;
}

ZoneVersion::ZoneVersion(dns::Name apex, std::vector<uint8_t> data, std::vector<uint32_t> offsets,
                         std::size_t soa_index)
    : apex_(std::move(apex)), data_(std::move(data)), offsets_(std::move(offsets)), soa_index_(soa_index) {
    const auto soa_rdata = soa().rdata;
    // SERIAL follows MNAME and RNAME (RFC 1035 §3.3.13).
    std::size_t pos = dns::wire_name_length(soa_rdata);
    pos += dns::wire_name_length(soa_rdata.subspan(pos));
    serial_ = dns::Serial(rd32(soa_rdata.data() + pos));

    const RecordView s = soa();
    std::vector<uint8_t> message;
    dns::MessageBuilder mb(message, dns::kMaxTcpMessage);
    mb.question(apex_, dns::to_u16(dns::RRType::SOA), s.rclass);
    const std::size_t answer_at = message.size();
    (void)mb.push(dns::Section::Answer, s.owner, dns::to_u16(dns::RRType::SOA), s.rclass, s.ttl, s.rdata);
    soa_answer_.assign(message.begin() + static_cast<std::ptrdiff_t>(answer_at), message.end());
}

uint32_t ZoneVersion::negative_ttl() const {
    const auto s = soa();
    const uint32_t minimum = rd32(s.rdata.data() + s.rdata.size() - 4);
    return std::min(minimum, s.ttl);
}

std::size_t ZoneVersion::lower_bound(dns::NameView name) const {
    auto it = std::partition_point(offsets_.begin(), offsets_.end(), [&](uint32_t off) {
        const auto w = std::span(data_).subspan(off);
        return dns::canonical_compare(dns::NameView(w.subspan(0, dns::wire_name_length(w))), name) < 0;
    });
    return static_cast<std::size_t>(it - offsets_.begin());
}

ZoneVersion::Range ZoneVersion::find_name(dns::NameView name) const {
    Range r{lower_bound(name), 0};
    r.end = r.begin;
    while (r.end < offsets_.size() && record(r.end).owner == name) ++r.end;
    return r;
}

ZoneVersion::Range ZoneVersion::find_rrset(dns::NameView name, dns::RRType type) const {
    const Range n = find_name(name);
    Range r{n.begin, n.begin};
    while (r.begin < n.end && record(r.begin).type != type) ++r.begin;
    r.end = r.begin;
    while (r.end < n.end && record(r.end).type == type) ++r.end;
    return r;
}

bool ZoneVersion::name_exists(dns::NameView name) const {
    const std::size_t i = lower_bound(name);
    // In canonical order a name's descendants follow it directly.
    return i < offsets_.size() && dns::is_subdomain(record(i).owner, name);
}

}  // namespace headwater::zone
