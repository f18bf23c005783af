#include "tsig/TsigRecord.h"

#include "zone/dns/WireReader.h"
#include "zone/dns/WireWriter.h"

namespace headwater::tsig {

namespace {

void digest_canonical_name(Hmac& h, dns::NameView name) {
    // RFC 8945 §4.3.3: names in canonical wire format (RFC 4034 §6.2): uncompressed, lower case.
    uint8_t lowered[dns::kMaxNameLength];
    const auto wire = name.wire();
    for (std::size_t i = 0; i < wire.size(); ++i) lowered[i] = dns::ascii_lower(wire[i]);
    h.update({lowered, wire.size()});
}

}  // namespace

bool parse_tsig(const dns::Message& message, TsigRecordView& out) {
    const dns::RecordRef* rec = message.tsig();
    if (rec == nullptr) return false;
    if (rec->rclass != dns::to_u16(dns::RRClass::ANY) || rec->ttl != 0) return false;
    const auto rdata = rec->rdata;
    // The algorithm name is never compressed (RFC 8945 §4.2, RFC 3597 §4): read it as a plain name.
    const std::size_t alg_len = dns::wire_name_length(rdata);
    if (alg_len == 0) return false;
    auto alg = dns::Name::from_wire(rdata.subspan(0, alg_len));
    if (!alg) return false;
    dns::WireReader r(rdata, alg_len);
    TsigRdata t;
    t.algorithm = std::move(alg).value();
    const uint64_t hi = r.u16();
    const uint64_t lo = r.u32();
    t.time_signed = (hi << 32) | lo;
    t.fudge = r.u16();
    const uint16_t mac_size = r.u16();
    t.mac = r.bytes(mac_size);
    t.original_id = r.u16();
    t.error = r.u16();
    const uint16_t other_len = r.u16();
    t.other = r.bytes(other_len);
    if (!r.ok() || r.remaining() != 0) return false;
    out.record = rec;
    out.rdata = std::move(t);
    return true;
}

void digest_message(Hmac& h, std::span<const uint8_t> message, uint16_t original_id, bool had_tsig) {
    h.update_u16(original_id);
    h.update(message.subspan(2, dns::kHeaderSize - 4));  // flags, QD/AN/NSCOUNT
    const auto arcount = static_cast<uint16_t>((message[10] << 8) | message[11]);
    h.update_u16(had_tsig ? static_cast<uint16_t>(arcount - 1) : arcount);
    h.update(message.subspan(dns::kHeaderSize));
}

void digest_prior_mac(Hmac& h, std::span<const uint8_t> mac) {
    h.update_u16(static_cast<uint16_t>(mac.size()));
    h.update(mac);
}

void digest_variables(Hmac& h, dns::NameView key_name, dns::NameView algorithm, uint64_t time_signed,
                      uint16_t fudge, uint16_t error, std::span<const uint8_t> other) {
    digest_canonical_name(h, key_name);
    h.update_u16(dns::to_u16(dns::RRClass::ANY));
    h.update_u32(0);  // TTL
    digest_canonical_name(h, algorithm);
    h.update_u48(time_signed);
    h.update_u16(fudge);
    h.update_u16(error);
    h.update_u16(static_cast<uint16_t>(other.size()));
    h.update(other);
}

void digest_timers(Hmac& h, uint64_t time_signed, uint16_t fudge) {
    h.update_u48(time_signed);
    h.update_u16(fudge);
}

std::size_t tsig_rr_size(dns::NameView key_name, dns::NameView algorithm, std::size_t mac_size,
                         std::size_t other_size) {
    // owner, type, class, ttl, rdlength; then algorithm, time (6), fudge, mac size, mac, original id,
    // error, other len, other.
    return key_name.size() + 10 + algorithm.size() + 6 + 2 + 2 + mac_size + 2 + 2 + 2 + other_size;
}

void append_tsig(std::vector<uint8_t>& buf, std::size_t message_start, const TsigFields& f) {
    dns::WireWriter w(buf);
    w.bytes(f.key_name.wire());
    w.u16(dns::to_u16(dns::RRType::TSIG));
    w.u16(dns::to_u16(dns::RRClass::ANY));
    w.u32(0);
    const std::size_t rdlen_at = buf.size();
    w.u16(0);
    w.bytes(f.algorithm.wire());
    w.u16(static_cast<uint16_t>(f.time_signed >> 32));
    w.u32(static_cast<uint32_t>(f.time_signed));
    w.u16(f.fudge);
    w.u16(static_cast<uint16_t>(f.mac.size()));
    w.bytes(f.mac);
    w.u16(f.original_id);
    w.u16(f.error);
    w.u16(static_cast<uint16_t>(f.other.size()));
    w.bytes(f.other);
    w.patch_u16(rdlen_at, static_cast<uint16_t>(buf.size() - rdlen_at - 2));
    const std::size_t ar = message_start + 10;
    const auto arcount = static_cast<uint16_t>((buf[ar] << 8) | buf[ar + 1]);
    w.patch_u16(ar, static_cast<uint16_t>(arcount + 1));
}

std::string tsig_error_text(uint16_t error) {
    switch (error) {
        case 0:
            return "NOERROR";
        case 16:
            return "BADSIG";
        case 17:
            return "BADKEY";
        case 18:
            return "BADTIME";
        case 22:
            return "BADTRUNC";
        default:
            return "TSIG error " + std::to_string(error);
    }
}

}  // namespace headwater::tsig
