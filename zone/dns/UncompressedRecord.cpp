#include "zone/dns/UncompressedRecord.h"

#include <functional>

#include "zone/dns/RdataNames.h"
#include "zone/dns/WireReader.h"

namespace headwater::dns {

namespace {

// Copies RDATA field by field for rdata_names::walk. The reader's message ends where the RDATA ends:
// compression pointers point backwards (WireReader checks), so nothing past it is ever needed, and no
// field can run past it.
class Expander {
  public:
    Expander(std::span<const uint8_t> message_to_rdata_end, std::size_t rdata_begin,
             std::vector<uint8_t>& out)
        : r_(message_to_rdata_end, rdata_begin), out_(out) {}

    bool fixed(std::size_t n) {
        const auto b = r_.bytes(n);
        out_.insert(out_.end(), b.begin(), b.end());
        return r_.ok();
    }
    bool name() {
        if (!r_.name(name_)) return false;
        out_.insert(out_.end(), name_.begin(), name_.end());
        return true;
    }
    bool string() {
        const int len = peek();
        return len >= 0 && fixed(1 + static_cast<std::size_t>(len));
    }
    bool rest() { return fixed(r_.remaining()); }
    int peek() const { return r_.remaining() > 0 ? r_.message()[r_.pos()] : -1; }
    bool done() const { return r_.ok() && r_.remaining() == 0; }

  private:
    WireReader r_;
    std::vector<uint8_t>& out_;
    std::vector<uint8_t> name_;
};

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

bool append_uncompressed(std::span<const uint8_t> wire, RRType type, uint16_t rclass, uint32_t ttl,
                         std::size_t rdata_begin, std::size_t rdlen, std::vector<uint8_t>& out) {
    if (rdata_begin + rdlen > wire.size()) return false;
    put16(out, to_u16(type));
    put16(out, rclass);
    put16(out, static_cast<uint16_t>(ttl >> 16));
    put16(out, static_cast<uint16_t>(ttl));
    const std::size_t rdlen_at = out.size();
    put16(out, 0);
    // Empty RDATA is a record of its own only in the meta classes of RFC 2136 §2.4-2.5 (class ANY: "the
    // RRset exists" or "delete the RRset"; class NONE: "the RRset does not exist"); in any other class a
    // type with names must carry them.
    const bool meta_class = rclass == to_u16(RRClass::ANY) || rclass == to_u16(RRClass::NONE);
    if (!(rdlen == 0 && meta_class) && rdata_names::has_names(type)) {
        Expander x(wire.first(rdata_begin + rdlen), rdata_begin, out);
        if (!rdata_names::walk(type, x) || !x.done()) return false;
    } else {
        const auto rdata = wire.subspan(rdata_begin, rdlen);
        out.insert(out.end(), rdata.begin(), rdata.end());
    }
    const std::size_t expanded = out.size() - rdlen_at - 2;
    if (expanded > 0xFFFF) return false;
    out[rdlen_at] = static_cast<uint8_t>(expanded >> 8);
    out[rdlen_at + 1] = static_cast<uint8_t>(expanded);
    return true;
}

std::vector<uint8_t> uncompressed_record(const Message& message, const RecordRef& record) {
    const auto wire = message.wire();
    // A record of another message (its RDATA not inside this one's) has nothing to expand against.
    const uint8_t* rdata = record.rdata.data();
    if (std::less<>{}(rdata, wire.data()) ||
        std::greater<>{}(rdata + record.rdata.size(), wire.data() + wire.size()))
        return {};
    const auto rdata_begin = static_cast<std::size_t>(rdata - wire.data());
    std::vector<uint8_t> out(record.owner.wire().begin(), record.owner.wire().end());
    if (!append_uncompressed(wire, record.type, record.rclass, record.ttl, rdata_begin, record.rdata.size(),
                             out))
        return {};
    return out;
}

}  // namespace headwater::dns
