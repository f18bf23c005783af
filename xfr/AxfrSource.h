// The AXFR producer (RFC 5936): a resumable iterator over one zone version, with no I/O. Each call fills
// one message; the caller sends it and calls again until Done. The version is held for the whole
// transfer, so a reload during the transfer does not change what this peer receives (RFC 5936 §2.2).
//
// The messages of an AXFR are the same for every client except for the ID and the question (which
// echoes the client's case, RFC 5936 §2.2.1). So they are rendered once per version, compressed, into a
// cache the version owns (ZoneVersion::derived) and shared by every transfer of that version; a transfer
// then copies each message, patches ID and question, and the TSIG layer signs it. The cache fills as
// the first transfer goes (one message rendered per call, as before, so no call blocks the server
// longer than one message takes), and is freed with the version.
#pragma once

#include <cstdint>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {

enum class Step : uint8_t { More, Done };

// Room the cached messages leave for a TSIG record: the largest one a transfer can carry (key and
// algorithm names of 255 octets, a 64-octet MAC, no Other Data; RFC 8945 §4.2). A transfer whose signer
// needs more, a smaller size limit or a question of another length is rendered live instead.
inline constexpr std::size_t kRenderedTsigReserve = 2 * dns::kMaxNameLength + 10 + 16 + 64;

class AxfrSource {
  public:
    // `question` is echoed as received (case included) in the first message (RFC 5936 §2.2.1).
    AxfrSource(zone::ZoneVersionPtr version, dns::Question question, uint16_t id,
               std::size_t max_message = dns::kMaxTcpMessage);

    // Appends one complete DNS message to `out`, leaving `reserve` octets of room under the size limit
    // (for the TSIG record). `reserve` must be the same on every call of one transfer.
    Step next(std::vector<uint8_t>& out, std::size_t reserve = 0);

    // Lab mode (records): at most `n` records per message; the messages are then rendered live. Before
    // the first next().
    void limit_records(std::size_t n) { max_records_ = n; }

    const zone::ZoneVersion& version() const { return *version_; }
    std::size_t messages() const { return messages_; }
    std::size_t records() const { return records_; }
    // Whether this transfer copies the version's pre-rendered messages (decided on the first call).
    bool from_cache() const { return mode_ == Mode::Cached; }

  private:
    enum class Mode : uint8_t { Undecided, Cached, Live };

    zone::ZoneVersionPtr version_;
    dns::Question question_;
    uint16_t id_;
    std::size_t max_message_;
    std::size_t max_records_ = 0;  // 0: as many as fit
    Mode mode_ = Mode::Undecided;
    // Live mode: 0 the opening SOA; 1..size: record index+1 (the SOA itself skipped); size+1: the closing
    // SOA.
    std::size_t position_ = 0;
    std::size_t messages_ = 0;
    std::size_t records_ = 0;
};

}  // namespace headwater::xfr
