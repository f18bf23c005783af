// One outgoing zone transfer: the producer of its messages (AXFR, or IXFR per RFC 1995) and, for a signed
// request, the TSIG sequence that signs every one of them (RFC 8945 §5.3.1: the first with the request
// MAC, each next with the MAC of the one before). No I/O: the server asks for the next message and
// writes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tsig/ServerSequence.h"
#include "xfr/AxfrSource.h"
#include "xfr/FaultSet.h"
#include "xfr/IxfrSource.h"

namespace headwater::xfr {

class TransferSession {
  public:
    using Source = std::variant<std::unique_ptr<AxfrSource>, std::unique_ptr<IxfrSource>>;
    TransferSession(Source source, std::optional<tsig::ServerSequence> signer);

    // Appends one complete message (signed when the request was) to `out`. `now` is the time for TSIG.
    Step next(std::vector<uint8_t>& out, uint64_t now);

    // Lab mode: the faults of this transfer. wrong-mac and sign-every act in next(); the server's stream
    // loop reads the rest (delay, rate, stall, cut) from faults().
    void set_faults(FaultPlan plan) { faults_ = std::move(plan); }
    const FaultPlan& faults() const { return faults_; }

    const zone::ZoneVersion& version() const;
    std::size_t messages() const;
    std::size_t records() const;
    bool signed_transfer() const { return signer_.has_value(); }
    bool incremental() const { return source_.index() == 1; }

  private:
    void seal(std::vector<uint8_t>& out, std::size_t start, Step step, uint64_t now);

    Source source_;
    std::optional<tsig::ServerSequence> signer_;
    FaultPlan faults_;
};

}  // namespace headwater::xfr
