#include "xfr/TransferPlan.h"

#include "zone/dns/WireReader.h"

namespace headwater::xfr {

namespace {

// The smallest an RR can be in a message: a compression pointer or the root as owner (1 octet at best),
// type, class, TTL, RDLENGTH (10), and no RDATA.
constexpr std::size_t kMinRecord = 11;
constexpr std::size_t kMinHeaderAndQuestion = 12 + 1 + 4;

TransferPlan make(TransferPlan::Kind kind, const char* reason, bool single_message = false) {
    TransferPlan p;
    p.kind = kind;
    p.reason = reason;
    p.single_message = single_message;
    return p;
}

}  // namespace

TransferPlan plan_ixfr(const IxfrRequest& rq) {
    using Kind = TransferPlan::Kind;
    // RFC 1995 §3: the query carries the client's version as an SOA in the authority section.
    if (!rq.client_serial) return make(Kind::FormErr, "IXFR query without an SOA in the authority section");

    // RFC 1995 §2: a client at our version or a newer one (RFC 1982 comparison) gets our SOA alone.
    const dns::Serial client = *rq.client_serial;
    if (client == rq.served_serial) return make(Kind::SoaOnly, "client is up to date");
    if (rq.served_serial < client) return make(Kind::SoaOnly, "client serial is newer than ours");

    // RFC 1995 §4: without the history from the client's version, the whole zone in AXFR form — never an
    // error. Over UDP that cannot fit, and §2 says a reply that does not fit is our SOA alone (the client
    // then comes back over TCP). A serial at the undefined distance 2^31 has no path either.
    if (!rq.history) {
        if (rq.udp) return make(Kind::SoaOnly, "client serial not in history; UDP gets the SOA");
        return make(Kind::Axfr, "client serial not in history");
    }
    if (rq.max_ixfr_ratio &&
        static_cast<double>(rq.history->bytes) > *rq.max_ixfr_ratio * static_cast<double>(rq.zone_bytes)) {
        if (rq.udp) return make(Kind::SoaOnly, "IXFR larger than max_ixfr_ratio; UDP gets the SOA");
        return make(Kind::Axfr, "IXFR larger than max_ixfr_ratio of the zone");
    }
    if (rq.udp) {
        // RFC 1995 §2: over UDP only if the entire answer fits one message. Compression makes the real
        // size unknown until rendered; rule out what cannot fit even at the smallest possible size.
        const std::size_t records = rq.history->records + 2;
        if (kMinHeaderAndQuestion + records * kMinRecord > rq.udp_limit)
            return make(Kind::SoaOnly, "IXFR does not fit a UDP message");
        return make(Kind::Ixfr, "incremental, over UDP if it fits", true);
    }
    return make(Kind::Ixfr, "incremental");
}

std::optional<dns::Serial> ixfr_client_serial(const dns::Message& query) {
    if (!query.question()) return std::nullopt;
    for (const dns::RecordRef& r : query.records()) {
        if (r.section != dns::Section::Authority || r.type != dns::RRType::SOA) continue;
        if (!(r.owner.view() == query.question()->qname.view())) continue;
        // RDATA names may be compressed (RFC 1035 §4.1.4): read them in the message's context.
        const auto wire = query.wire();
        const auto start = static_cast<std::size_t>(r.rdata.data() - wire.data());
        dns::WireReader rd(wire, start);
        rd.skip_name();
        rd.skip_name();
        const uint32_t serial = rd.u32();
        rd.skip(16);
        if (!rd.ok() || rd.pos() != start + r.rdata.size()) return std::nullopt;
        return dns::Serial(serial);
    }
    return std::nullopt;
}

}  // namespace headwater::xfr
