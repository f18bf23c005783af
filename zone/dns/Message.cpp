#include "zone/dns/Message.h"

#include "zone/dns/WireReader.h"

namespace headwater::dns {

std::optional<Header> Message::parse_header(std::span<const uint8_t> wire) {
    if (wire.size() < kHeaderSize) return std::nullopt;
    WireReader r(wire);
    Header h;
    h.id = r.u16();
    h.flags = r.u16();
    h.qdcount = r.u16();
    h.ancount = r.u16();
    h.nscount = r.u16();
    h.arcount = r.u16();
    return h;
}

Result<Message, ParseError> Message::parse(std::span<const uint8_t> wire) {
    auto header = parse_header(wire);
    if (!header) return unexpected(ParseError::NoHeader);
    Message m;
    m.wire_ = wire;
    m.header_ = *header;
    WireReader r(wire, kHeaderSize);
    std::vector<uint8_t> name;

    // Every opcode we serve carries at most one question (RFC 1035 §4.1.2 allows more, nobody uses it).
    if (m.header_.qdcount > 1) return unexpected(ParseError::Malformed);
    if (m.header_.qdcount == 1) {
        if (!r.name(name)) return unexpected(ParseError::Malformed);
        Question q;
        q.qname = Name::from_wire(name).value();
        q.qtype = static_cast<RRType>(r.u16());
        q.qclass = r.u16();
        if (!r.ok()) return unexpected(ParseError::Malformed);
        m.question_ = std::move(q);
    }

    const std::size_t total = std::size_t{m.header_.ancount} + m.header_.nscount + m.header_.arcount;
    // Each record takes at least 11 octets: a cheap bound before reserving anything.
    if (total * 11 > r.remaining()) return unexpected(ParseError::Malformed);
    m.records_.reserve(total);
    for (std::size_t i = 0; i < total; ++i) {
        RecordRef rec;
        rec.section = i < m.header_.ancount                                    ? Section::Answer
                      : i < std::size_t{m.header_.ancount} + m.header_.nscount ? Section::Authority
                                                                               : Section::Additional;
        rec.offset = r.pos();
        if (!r.name(name)) return unexpected(ParseError::Malformed);
        rec.owner = Name::from_wire(name).value();
        rec.type = static_cast<RRType>(r.u16());
        rec.rclass = r.u16();
        rec.ttl = r.u32();
        const uint16_t rdlen = r.u16();
        rec.rdata = r.bytes(rdlen);
        if (!r.ok()) return unexpected(ParseError::Malformed);

        if (rec.type == RRType::OPT) {
            // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
            if (rec.section != Section::Additional || m.edns_ || !rec.owner.view().is_root())
                return unexpected(ParseError::Malformed);
            Edns e;
            e.udp_size = std::max<uint16_t>(rec.rclass, 512);  // §6.2.5: below 512 means 512
            e.extended_rcode = static_cast<uint8_t>(rec.ttl >> 24);
            e.version = static_cast<uint8_t>(rec.ttl >> 16);
            e.dnssec_ok = (rec.ttl & 0x8000u) != 0;
            m.edns_ = e;
        }
        if (rec.type == RRType::TSIG) {
            // RFC 8945 §5.1: TSIG must be the last record of the additional section, else FORMERR.
            if (rec.section != Section::Additional || i + 1 != total)
                return unexpected(ParseError::Malformed);
            m.tsig_index_ = m.records_.size();
        }
        m.records_.push_back(std::move(rec));
    }
    // Trailing garbage after the counted records is malformed too (RFC 1035 gives no room for it).
    if (r.remaining() != 0) return unexpected(ParseError::Malformed);
    return m;
}

}  // namespace headwater::dns
