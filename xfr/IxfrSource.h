// The IXFR producer (RFC 1995 §4): a resumable iterator with no I/O, like AxfrSource. The answer is the
// new SOA, then for each changeset the old SOA, the removed records, the new SOA and the added records,
// and finally the new SOA again. Each call fills one message; the caller sends it and calls again until
// Done. The version and the chain are held for the whole transfer.
//
// Same rules as AxfrSource: the question (as received) only in the first message, the query's ID in
// every message, AA set, names compressed within a message only, `reserve` octets kept free for TSIG.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "xfr/AxfrSource.h"  // Step
#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {

struct IxfrOptions {
    std::size_t max_message = dns::kMaxTcpMessage;  // the UDP limit for an answer over UDP
    std::optional<uint16_t> edns_payload;           // add OPT with this size (UDP answer to an EDNS query)
    uint16_t flags = dns::flag::QR | dns::flag::AA;
    std::size_t max_records = 0;  // at most this many records per message; 0: as many as fit (lab mode)
};

class IxfrSource {
  public:
    // `chain` leads consecutively from the client's serial to `version` (its last new SOA is version's
    // SOA); an empty chain gives the single-SOA answer of an up-to-date client (RFC 1995 §2).
    IxfrSource(zone::ZoneVersionPtr version, std::vector<zone::Changeset> chain, dns::Question question,
               uint16_t id, IxfrOptions options = {});

    // Appends one complete DNS message to `out`, leaving `reserve` octets of room under the size limit.
    Step next(std::vector<uint8_t>& out, std::size_t reserve = 0);

    // The whole answer as one message of at most options.max_message octets, or nothing when it needs more
    // (RFC 1995 §2: over UDP the caller then answers with the current SOA alone).
    static std::optional<std::vector<uint8_t>> single_message(zone::ZoneVersionPtr version,
                                                              std::vector<zone::Changeset> chain,
                                                              dns::Question question, uint16_t id,
                                                              IxfrOptions options);

    const zone::ZoneVersion& version() const { return *version_; }
    const std::vector<zone::Changeset>& chain() const { return chain_; }
    std::size_t messages() const { return messages_; }
    std::size_t records() const { return records_; }
    // Records too large for an empty message of max_message octets, skipped (never at TCP sizes unless a
    // record is near 64 KiB); a transfer that skipped any is incomplete.
    std::size_t skipped() const { return skipped_; }

  private:
    // The record at the cursor, or nothing when the answer is complete.
    std::optional<zone::RecordView> current() const;
    void advance();

    zone::ZoneVersionPtr version_;
    std::vector<zone::Changeset> chain_;
    dns::Question question_;
    uint16_t id_;
    IxfrOptions options_;
    // Cursor: opening SOA; then per changeset `step_` the position `in_step_` (0 old SOA, 1..R removed,
    // R+1 new SOA, R+2.. added); then the closing SOA.
    enum class Phase : uint8_t { Opening, Steps, Closing, Finished } phase_ = Phase::Opening;
    std::size_t step_ = 0;
    std::size_t in_step_ = 0;
    std::size_t messages_ = 0;
    std::size_t records_ = 0;
    std::size_t skipped_ = 0;
};

}  // namespace headwater::xfr
