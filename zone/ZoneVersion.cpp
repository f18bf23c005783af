#include "zone/ZoneVersion.h"

#include "zone/dns/MessageBuilder.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

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
    // run() relies on it; a builder that broke it is a bug, not bad input.
    // The data is the records and nothing else, from its first octet: run() and the snapshot rely on it.
    if (soa_index_ >= offsets_.size() || offsets_.front() != 0 || offsets_.back() >= data_.size() ||
        std::adjacent_find(offsets_.begin(), offsets_.end(), std::greater_equal<>()) != offsets_.end())
        throw std::logic_error(
            "ZoneVersion: record offsets must start at 0 and rise within the data, with the SOA among them");
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

    signed_ =
        !find_rrset(apex_, dns::RRType::DNSKEY).empty() && !find_rrset(apex_, dns::RRType::RRSIG).empty();
}

std::size_t ZoneVersion::memory_bytes() const {
    std::size_t bytes = data_.capacity() + offsets_.capacity() * sizeof(uint32_t);
    if (const DnssecIndex* index = dnssec_.load(std::memory_order_acquire))
        bytes += (index->nsec.capacity() + index->nsec3.capacity()) * sizeof(uint32_t);
    return bytes;
}

const ZoneVersion::DnssecIndex& ZoneVersion::dnssec_index() const {
    std::call_once(dnssec_once_, [&] {
        dnssec_owned_ = std::make_unique<const DnssecIndex>(build_dnssec_index());
        dnssec_.store(dnssec_owned_.get(), std::memory_order_release);
    });
    return *dnssec_owned_;
}

ZoneVersion::DnssecIndex ZoneVersion::build_dnssec_index() const {
    DnssecIndex index;
    if (!signed_) return index;
    // RFC 5155 §4: the NSEC3PARAM at the apex names the chain authoritative servers answer from; one with
    // flags other than 0 or an unknown hash algorithm is not for us (§4.1.2, §4.2).
    const Range params = find_rrset(apex_, dns::RRType::NSEC3PARAM);
    for (std::size_t i = params.begin; i < params.end && !index.nsec3_params; ++i) {
        const auto rd = record(i).rdata;
        if (rd.size() < 5 || rd[0] != 1 || rd[1] != 0 || rd.size() != 5u + rd[4]) continue;
        index.nsec3_params = Nsec3Params{rd[0], rd16(rd.data() + 2), rd.subspan(5)};
    }
    for (std::size_t i = 0; i < offsets_.size(); ++i) {
        const RecordView r = record(i);
        if (r.type == dns::RRType::RRSIG && r.rdata.size() >= 12) {
            // RFC 4034 §3.1.5: the expiration, after type covered, algorithm, labels and original TTL.
            const uint32_t e = rd32(r.rdata.data() + 8);
            if (!index.earliest_expiration || e < *index.earliest_expiration) index.earliest_expiration = e;
        } else if (r.type == dns::RRType::NSEC) {
            index.nsec.push_back(static_cast<uint32_t>(i));
        } else if (r.type == dns::RRType::NSEC3 && index.nsec3_params) {
            // Same algorithm, iterations and salt as the NSEC3PARAM (the flags may carry Opt-Out).
            const auto rd = r.rdata;
            const auto& p = *index.nsec3_params;
            if (rd.size() < 5 || rd[0] != p.algorithm || rd16(rd.data() + 2) != p.iterations ||
                rd.size() < 5u + rd[4] || !std::ranges::equal(rd.subspan(5, rd[4]), p.salt))
                continue;
            // Only hashed owners one label below the apex (RFC 5155 §3) sort like their hashes.
            if (r.owner.label_count() != apex_.view().label_count() + 1 || !dns::is_subdomain(r.owner, apex_))
                continue;
            index.nsec3.push_back(static_cast<uint32_t>(i));
        }
    }
    index.nsec.shrink_to_fit();
    index.nsec3.shrink_to_fit();
    return index;
}

dns::NameView ZoneVersion::owner_at(uint32_t record) const {
    const auto w = std::span(data_).subspan(offsets_[record]);
    return dns::NameView(w.subspan(0, dns::wire_name_length(w)));
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

ZoneVersion::Range ZoneVersion::find_rrsigs(dns::NameView name, dns::RRType covered) const {
    const Range sigs = find_rrset(name, dns::RRType::RRSIG);
    const auto covers = [&](std::size_t i) {
        const auto rd = record(i).rdata;
        return rd.size() >= 2 && static_cast<dns::RRType>(rd16(rd.data())) == covered;
    };
    Range r{sigs.begin, sigs.begin};
    while (r.begin < sigs.end && !covers(r.begin)) ++r.begin;
    r.end = r.begin;
    while (r.end < sigs.end && covers(r.end)) ++r.end;
    return r;
}

std::optional<std::size_t> ZoneVersion::at_or_before(const std::vector<uint32_t>& index,
                                                     dns::NameView name) const {
    if (index.empty()) return std::nullopt;
    const auto it = std::partition_point(index.begin(), index.end(), [&](uint32_t rec) {
        return dns::canonical_compare(owner_at(rec), name) <= 0;
    });
    return it == index.begin() ? index.back() : *(it - 1);
}

std::optional<std::size_t> ZoneVersion::nsec_at_or_before(dns::NameView name) const {
    return at_or_before(dnssec_index().nsec, name);
}

std::optional<std::size_t> ZoneVersion::nsec3_at_or_before(dns::NameView hashed_owner) const {
    return at_or_before(dnssec_index().nsec3, hashed_owner);
}

}  // namespace headwater::zone
