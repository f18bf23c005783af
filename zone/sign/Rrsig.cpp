#include "zone/sign/Rrsig.h"

#include <algorithm>
#include <optional>

#include "zone/dns/CanonicalRdata.h"

namespace headwater::sign {

namespace {
void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v));
}
uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void append_lower(std::span<const uint8_t> name, std::vector<uint8_t>& out) {
    for (const uint8_t c : name) out.push_back(dns::ascii_lower(c));
}
}  // namespace

uint8_t rrsig_labels(dns::NameView owner) {
    const std::size_t labels = owner.label_count();
    return static_cast<uint8_t>(owner.is_wildcard() ? labels - 1 : labels);
}

void append_rrsig_head(const RrsigFields& f, std::vector<uint8_t>& out) {
    put16(out, dns::to_u16(f.covered));
    out.push_back(static_cast<uint8_t>(f.algorithm));
    out.push_back(f.labels);
    put32(out, f.original_ttl);
    put32(out, f.expiration);
    put32(out, f.inception);
    put16(out, f.key_tag);
    append_lower(f.signer.wire(), out);
}

std::size_t rrsig_record_size(std::span<const uint8_t> owner, std::span<const uint8_t> rdata) {
    return owner.size() + 10 + rdata.size();
}

uint8_t* write_rrsig_record(uint8_t* out, std::span<const uint8_t> owner, uint32_t ttl,
                            std::span<const uint8_t> rdata) {
    const uint16_t type = dns::to_u16(dns::RRType::RRSIG);
    const uint8_t fixed[10] = {static_cast<uint8_t>(type >> 8),
                               static_cast<uint8_t>(type),
                               0,
                               1,  // class IN
                               static_cast<uint8_t>(ttl >> 24),
                               static_cast<uint8_t>(ttl >> 16),
                               static_cast<uint8_t>(ttl >> 8),
                               static_cast<uint8_t>(ttl),
                               static_cast<uint8_t>(rdata.size() >> 8),
                               static_cast<uint8_t>(rdata.size())};
    out = std::copy(owner.begin(), owner.end(), out);
    out = std::copy(std::begin(fixed), std::end(fixed), out);
    return std::copy(rdata.begin(), rdata.end(), out);
}

void append_signed_rrset(std::span<const zone::RecordView> rrset, uint32_t original_ttl,
                         std::vector<uint8_t>& out) {
    for (const zone::RecordView& r : rrset) {
        // RFC 4034 §6.2: the owner lower-cased (a wildcard owner as written, "*" included: §3.1.8.1).
        append_lower(r.owner.wire(), out);
        put16(out, dns::to_u16(r.type));
        put16(out, r.rclass);
        put32(out, original_ttl);
        put16(out, static_cast<uint16_t>(r.rdata.size()));
        dns::append_canonical_rdata(r.type, r.rdata, out);
    }
}

std::optional<RrsigSummary> read_rrsig(std::span<const uint8_t> rdata) {
    if (rdata.size() < 18) return std::nullopt;
    RrsigSummary s;
    s.covered = static_cast<dns::RRType>((rdata[0] << 8) | rdata[1]);
    s.algorithm = rdata[2];
    s.expiration = rd32(rdata.data() + 8);
    s.inception = rd32(rdata.data() + 12);
    s.key_tag = static_cast<uint16_t>((rdata[16] << 8) | rdata[17]);
    return s;
}

}  // namespace headwater::sign
