#include "xfr/TransferSession.h"

namespace headwater::xfr {

TransferSession::TransferSession(std::unique_ptr<AxfrSource> source,
                                 std::optional<tsig::ServerSequence> signer)
    : source_(std::move(source)), signer_(std::move(signer)) {}

Step TransferSession::next(std::vector<uint8_t>& out, uint64_t now) {
    const std::size_t start = out.size();
    const Step step = source_->next(out, signer_ ? signer_->reserve_size() : 0);
    // Every message is signed; RFC 8945 §5.3.1 lets a server skip up to 99, but clients differ in how
    // well they cope, and the cost is one HMAC pass over bytes we send anyway.
    if (signer_) signer_->sign(out, start, now);
    return step;
}

}  // namespace headwater::xfr
