// How to answer an IXFR query (RFC 1995), decided by one pure function from facts gathered by the
// caller: no I/O, no clock, no zone lookups here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "zone/Journal.h"  // ChainInfo
#include "zone/dns/Message.h"
#include "zone/dns/Serial.h"

namespace headwater::xfr {

// An IXFR larger than the zone itself costs more than the AXFR it replaces: above this share of the zone's
// wire size (history bytes / zone bytes) we answer in AXFR form instead. 1.0 is BIND's default for its
// max-ixfr-ratio (100%); a lower value trades bandwidth for simplicity on the secondary, but makes small
// zones (where a few changed records and their SOAs are a large share) fall back to AXFR often. An IXFR
// carries both the old and the new records, so rewriting every record is about 2.0.
inline constexpr double kDefaultMaxIxfrRatio = 1.0;

struct IxfrRequest {
    bool udp = false;
    // The SERIAL of the SOA in the query's authority section (RFC 1995 §3); absent when there is none.
    std::optional<dns::Serial> client_serial;
    dns::Serial served_serial;
    // journal.find_chain(client serial, served serial); absent when the history has no such path (or
    // there is no journal).
    std::optional<zone::ChainInfo> history;
    std::size_t zone_bytes = 0;  // ZoneVersion::wire_bytes() of the served version
    // Above history->bytes / zone_bytes of this, answer as AXFR. Absent: no limit.
    std::optional<double> max_ixfr_ratio = kDefaultMaxIxfrRatio;
    std::size_t udp_limit = 512;  // the UDP payload we may send (client's EDNS size capped by ours)
};

struct TransferPlan {
    enum class Kind : uint8_t {
        FormErr,  // no SOA in the authority section
        SoaOnly,  // one message with the current SOA in the answer section
        Axfr,     // the whole zone, in AXFR form (RFC 1995 §4 allows it for any IXFR)
        Ixfr,     // the history chain, RFC 1995 §4 framing
    };
    Kind kind = Kind::SoaOnly;
    // Ixfr over UDP: the answer must fit one message of udp_limit octets; render it with IxfrSource
    // (max_message = udp_limit) and if the first message is not the last, send SoaOnly instead (§2).
    bool single_message = false;
    const char* reason = "";  // for the transfer log
};

TransferPlan plan_ixfr(const IxfrRequest& request);

// The client's serial from an IXFR query: the SOA record owned by the zone (the QNAME) in the authority
// section (RFC 1995 §3). Handles compressed names in its RDATA. Absent when there is none or it is
// malformed: answer FORMERR.
std::optional<dns::Serial> ixfr_client_serial(const dns::Message& query);

}  // namespace headwater::xfr
