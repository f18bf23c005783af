// The TSIG resource record on the wire (RFC 8945 §4.2) and the pieces of the MAC computation (§4.3) that
// the server and client sequences share.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tsig/Hmac.h"
#include "zone/base/Result.h"
#include "zone/dns/Message.h"
#include "zone/dns/Name.h"

namespace headwater::tsig {

inline constexpr uint16_t kDefaultFudge = 300;       // seconds, RFC 8945 §10 recommends 300
inline constexpr std::size_t kBadTimeOtherSize = 6;  // a 48-bit time, §5.2.3

// TSIG RDATA fields. Spans point into the message.
struct TsigRdata {
    dns::Name algorithm;
    uint64_t time_signed = 0;  // 48 bits, seconds since the epoch
    uint16_t fudge = 0;
    std::span<const uint8_t> mac;
    uint16_t original_id = 0;
    uint16_t error = 0;  // an RCODE, BADSIG.. BADTRUNC
    std::span<const uint8_t> other;
};

// The TSIG record of a parsed message, with its RDATA decoded.
struct TsigRecordView {
    const dns::RecordRef* record = nullptr;  // owner = key name; record->offset = where the RR starts
    TsigRdata rdata;
};

// Decodes the TSIG record of `message` (the parser has already made sure it is the last record of the
// additional section). False when the RDATA is malformed: a compressed or invalid algorithm name, fields
// cut short or followed by extra octets, CLASS other than ANY or TTL other than 0 (§4.2) -> FORMERR.
bool parse_tsig(const dns::Message& message, TsigRecordView& out);

// MAC input: the message as it was before the TSIG RR was added (§4.3.1): the TSIG RR cut off, ARCOUNT
// decremented (when `had_tsig`), and the ID replaced by Original ID (§5.4.1 / §5.2: a forwarder may have
// changed it).
void digest_message(Hmac& h, std::span<const uint8_t> message_without_tsig, uint16_t original_id,
                    bool had_tsig);

// A previous MAC as it enters the next computation: its length (2 octets) then the octets (§4.3.2, §4.3.3).
void digest_prior_mac(Hmac& h, std::span<const uint8_t> mac);

// The TSIG variables (§4.3.3) in canonical form: key name and algorithm name lower-cased, CLASS ANY,
// TTL 0, time, fudge, error, other length and data.
void digest_variables(Hmac& h, dns::NameView key_name, dns::NameView algorithm, uint64_t time_signed,
                      uint16_t fudge, uint16_t error, std::span<const uint8_t> other);

// Only the timers (§4.3.1 / §5.3.1): messages after the first of a multi-message response.
void digest_timers(Hmac& h, uint64_t time_signed, uint16_t fudge);

// The fields of a TSIG RR to append.
struct TsigFields {
    dns::NameView key_name;
    dns::NameView algorithm;
    uint64_t time_signed = 0;
    uint16_t fudge = kDefaultFudge;
    std::span<const uint8_t> mac;
    uint16_t original_id = 0;
    uint16_t error = 0;
    std::span<const uint8_t> other;
};

// Appends the TSIG RR (owner uncompressed, CLASS ANY, TTL 0) to the complete message starting at
// buf[message_start] and increments its ARCOUNT.
void append_tsig(std::vector<uint8_t>& buf, std::size_t message_start, const TsigFields& f);

// "BADSIG", "BADKEY", "BADTIME", "BADTRUNC", else "TSIG error N".
std::string tsig_error_text(uint16_t error);

// Octets the TSIG RR takes on the wire.
std::size_t tsig_rr_size(dns::NameView key_name, dns::NameView algorithm, std::size_t mac_size,
                         std::size_t other_size);

}  // namespace headwater::tsig
