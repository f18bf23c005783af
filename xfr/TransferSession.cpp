#include "xfr/TransferSession.h"

namespace headwater::xfr {

TransferSession::TransferSession(Source source, std::optional<tsig::ServerSequence> signer)
    : source_(std::move(source)), signer_(std::move(signer)) {}

Step TransferSession::next(std::vector<uint8_t>& out, uint64_t now) {
    const std::size_t start = out.size();
    const std::size_t reserve = signer_ ? signer_->reserve_size() : 0;
    const Step step = std::visit([&](auto& s) { return s->next(out, reserve); }, source_);
    // Every message is signed; RFC 8945 §5.3.1 lets a server skip up to 99, but clients differ in how
    // well they cope, and the cost is one HMAC pass over bytes we send anyway.
    if (signer_) seal(out, start, step, now);
    return step;
}

void TransferSession::seal(std::vector<uint8_t>& out, std::size_t start, Step step, uint64_t now) {
    const std::size_t number = messages();  // of the message just produced, from 1
    // Lab mode (sign-every N): RFC 8945 §5.3.1 wants the first and the last message signed and at most 99
    // unsigned in a row; N is at most 100.
    if (faults_.sign_every && number > 1 && step != Step::Done && (number - 1) % *faults_.sign_every != 0) {
        signer_->skip(std::span<const uint8_t>(out).subspan(start));
        return;
    }
    signer_->sign(out, start, now);
    if (faults_.wrong_mac && *faults_.wrong_mac == number) {
        // The MAC's last octet sits before Original ID, Error and Other Len (Other Data is empty in a
        // transfer's messages): flipped, the MAC no longer verifies.
        constexpr std::size_t kAfterMac = 6;
        out[out.size() - kAfterMac - 1] ^= 0xff;
    }
}

const zone::ZoneVersion& TransferSession::version() const {
    return std::visit([](const auto& s) -> const zone::ZoneVersion& { return s->version(); }, source_);
}

std::size_t TransferSession::messages() const {
    return std::visit([](const auto& s) { return s->messages(); }, source_);
}

std::size_t TransferSession::records() const {
    return std::visit([](const auto& s) { return s->records(); }, source_);
}

}  // namespace headwater::xfr
