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
    if (signer_) signer_->sign(out, start, now);
    return step;
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
