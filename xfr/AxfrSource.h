// The AXFR producer (RFC 5936): a resumable iterator over one zone version, with no I/O. Each call fills
// one message; the caller sends it and calls again until Done. The version is held for the whole
// transfer, so a reload during the transfer does not change what this peer receives (RFC 5936 §2.2).
#pragma once

#include <cstdint>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {

enum class Step : uint8_t { More, Done };

class AxfrSource {
  public:
    // `question` is echoed as received (case included) in the first message (RFC 5936 §2.2.1).
    AxfrSource(zone::ZoneVersionPtr version, dns::Question question, uint16_t id,
               std::size_t max_message = dns::kMaxTcpMessage);

    // Appends one complete DNS message to `out`, leaving `reserve` octets of room under the size limit
    // (for the TSIG record of issue 3).
    Step next(std::vector<uint8_t>& out, std::size_t reserve = 0);

    const zone::ZoneVersion& version() const { return *version_; }
    std::size_t messages() const { return messages_; }
    std::size_t records() const { return records_; }

  private:
    zone::ZoneVersionPtr version_;
    dns::Question question_;
    uint16_t id_;
    std::size_t max_message_;
    // 0: the opening SOA; 1..size: record index+1 (the SOA itself skipped); size+1: the closing SOA.
    std::size_t position_ = 0;
    std::size_t messages_ = 0;
    std::size_t records_ = 0;
};

}  // namespace headwater::xfr
