#include "tsig/ClientSequence.h"

#include <algorithm>

namespace headwater::tsig {

namespace {

constexpr std::size_t kMaxUnsignedInARow = 99;  // RFC 8945 §5.3.1

ClientError error(ClientError::Kind kind, std::string message) {
    ClientError e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
}

}  // namespace

ClientSequence::ClientSequence(std::shared_ptr<const Key> key, uint16_t fudge)
    : key_(std::move(key)), fudge_(fudge) {}

std::size_t ClientSequence::reserve_size() const {
    return tsig_rr_size(key_->name(), algorithm_name(key_->algorithm()), digest_size(key_->algorithm()), 0);
}

void ClientSequence::sign_request(std::vector<uint8_t>& buf, std::size_t message_start, uint64_t now) {
    const std::span<const uint8_t> message = std::span<const uint8_t>(buf).subspan(message_start);
    const auto id = static_cast<uint16_t>((message[0] << 8) | message[1]);
    const dns::NameView alg = algorithm_name(key_->algorithm());
    Hmac h(key_->algorithm(), key_->secret());
    digest_message(h, message, id, false);
    digest_variables(h, key_->name(), alg, now, fudge_, 0, {});
    request_mac_ = h.finish();
    append_tsig(buf, message_start,
                TsigFields{key_->name(), alg, now, fudge_, request_mac_.view(), id, 0, {}});
    prior_mac_ = request_mac_;
    running_.reset();
    unsigned_run_ = 0;
    signed_seen_ = false;
    failed_ = false;
}

Result<Verified, ClientError> ClientSequence::fail(ClientError e) {
    failed_ = true;
    running_.reset();
    return unexpected(std::move(e));
}

Result<Verified, ClientError> ClientSequence::verify(std::span<const uint8_t> wire,
                                                     const dns::Message& parsed, uint64_t now) {
    if (failed_) return unexpected(error(ClientError::Kind::NotSigned, "the exchange already failed"));
    const bool first = !signed_seen_;

    if (parsed.tsig() == nullptr) {
        if (first) return fail(error(ClientError::Kind::NotSigned, "the answer is not signed"));
        if (++unsigned_run_ > kMaxUnsignedInARow)
            return fail(
                error(ClientError::Kind::TooManyUnsigned,
                      "more than " + std::to_string(kMaxUnsignedInARow) + " unsigned messages in a row"));
        // §5.3.1: an unsigned message enters the next MAC whole, as received.
        if (!running_) {
            running_ = std::make_unique<Hmac>(key_->algorithm(), key_->secret());
            digest_prior_mac(*running_, prior_mac_.view());
        }
        running_->update(wire);
        return Verified::Unsigned;
    }

    TsigRecordView tsig;
    if (!parse_tsig(parsed, tsig)) return fail(error(ClientError::Kind::FormErr, "malformed TSIG record"));
    const TsigRdata& rd = tsig.rdata;
    if (!(tsig.record->owner.view() == key_->name().view()) ||
        !(rd.algorithm.view() == algorithm_name(key_->algorithm()).view()))
        return fail(error(ClientError::Kind::WrongKey, "signed with key " + tsig.record->owner.to_string() +
                                                           " (" + rd.algorithm.to_string() + "), expected " +
                                                           key_->name().to_string()));

    const std::size_t full = digest_size(key_->algorithm());
    if (rd.mac.empty() && rd.error != 0) {
        // §5.3.2: BADKEY and BADSIG come back unsigned; nothing to verify.
        ClientError e = error(ClientError::Kind::PeerError,
                              "the server answered TSIG error " + tsig_error_text(rd.error));
        e.peer_error = rd.error;
        return fail(std::move(e));
    }
    if (rd.mac.size() > full || rd.mac.size() < min_mac_size(key_->algorithm()))
        return fail(
            error(ClientError::Kind::FormErr, "MAC of " + std::to_string(rd.mac.size()) +
                                                  " octets is outside the sizes RFC 8945 §5.2.2.1 allows"));

    std::unique_ptr<Hmac> h = std::move(running_);
    if (!h) {
        h = std::make_unique<Hmac>(key_->algorithm(), key_->secret());
        digest_prior_mac(*h, prior_mac_.view());
    }
    digest_message(*h, wire.subspan(0, tsig.record->offset), rd.original_id, true);
    if (first) {
        digest_variables(*h, tsig.record->owner, rd.algorithm, rd.time_signed, rd.fudge, rd.error, rd.other);
    } else {
        digest_timers(*h, rd.time_signed, rd.fudge);
    }
    const Mac mac = h->finish();
    if (!constant_time_equal(mac.view().subspan(0, rd.mac.size()), rd.mac))
        return fail(error(ClientError::Kind::BadSig, "MAC does not verify"));

    if (rd.error != 0) {
        ClientError e = error(ClientError::Kind::PeerError,
                              "the server answered TSIG error " + tsig_error_text(rd.error));
        e.peer_error = rd.error;
        e.authenticated = true;
        if (rd.error == static_cast<uint16_t>(dns::Rcode::BadTime) && rd.other.size() == kBadTimeOtherSize) {
            uint64_t t = 0;
            for (uint8_t b : rd.other) t = (t << 8) | b;
            e.peer_time = t;
        }
        return fail(std::move(e));
    }
    if (now > rd.time_signed + rd.fudge || now + rd.fudge < rd.time_signed)
        return fail(error(ClientError::Kind::BadTime, "signed at " + std::to_string(rd.time_signed) +
                                                          ", outside the fudge of our time " +
                                                          std::to_string(now)));

    std::copy(rd.mac.begin(), rd.mac.end(), prior_mac_.bytes.begin());
    prior_mac_.size = rd.mac.size();
    unsigned_run_ = 0;
    signed_seen_ = true;
    return Verified::Signed;
}

}  // namespace headwater::tsig
