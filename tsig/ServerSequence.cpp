#include "tsig/ServerSequence.h"

#include "zone/dns/MessageBuilder.h"

namespace headwater::tsig {

namespace {

constexpr uint16_t kErrorAnswerUdpPayload = 1232;  // what the responder advertises too

uint16_t tsig_error_code(RequestStatus status) {
    switch (status) {
        case RequestStatus::BadKey:
            return static_cast<uint16_t>(dns::Rcode::BadKey);
        case RequestStatus::BadSig:
            return static_cast<uint16_t>(dns::Rcode::BadSig);
        case RequestStatus::BadTime:
            return static_cast<uint16_t>(dns::Rcode::BadTime);
        case RequestStatus::BadTrunc:
            return static_cast<uint16_t>(dns::Rcode::BadTrunc);
        default:
            return 0;
    }
}

bool outside_fudge(uint64_t now, uint64_t time_signed, uint16_t fudge) {
    return now > time_signed + fudge || now + fudge < time_signed;
}

std::string seconds_apart(uint64_t now, uint64_t time_signed) {
    return now >= time_signed ? std::to_string(now - time_signed) + " s in the past"
                              : std::to_string(time_signed - now) + " s in the future";
}

}  // namespace

std::string_view to_string(RequestStatus status) {
    switch (status) {
        case RequestStatus::Unsigned:
            return "unsigned";
        case RequestStatus::Verified:
            return "verified";
        case RequestStatus::FormErr:
            return "FORMERR";
        case RequestStatus::BadKey:
            return "BADKEY";
        case RequestStatus::BadSig:
            return "BADSIG";
        case RequestStatus::BadTime:
            return "BADTIME";
        case RequestStatus::BadTrunc:
            return "BADTRUNC";
    }
    return "?";
}

dns::Rcode error_rcode(RequestStatus status) {
    switch (status) {
        case RequestStatus::Unsigned:
        case RequestStatus::Verified:
            return dns::Rcode::NoError;
        case RequestStatus::FormErr:
            return dns::Rcode::FormErr;
        default:
            return dns::Rcode::NotAuth;
    }
}

std::string RequestVerification::key_text() const {
    return status == RequestStatus::Unsigned ? std::string() : key_name.to_string();
}

ServerSequence::ServerSequence(std::shared_ptr<const Key> key, dns::Name key_name, dns::Name algorithm,
                               std::span<const uint8_t> request_mac)
    : key_(std::move(key)), key_name_(std::move(key_name)), algorithm_(std::move(algorithm)) {
    std::copy(request_mac.begin(), request_mac.end(), prior_mac_.bytes.begin());
    prior_mac_.size = request_mac.size();
}

std::size_t ServerSequence::reserve_size() const {
    return tsig_rr_size(key_name_, algorithm_, digest_size(key_->algorithm()), 0);
}

void ServerSequence::sign(std::vector<uint8_t>& buf, std::size_t message_start, uint64_t now) {
    const bool first = messages_signed_ == 0;
    const std::span<const uint8_t> message = std::span<const uint8_t>(buf).subspan(message_start);
    const auto id = static_cast<uint16_t>((message[0] << 8) | message[1]);
    const uint64_t time_signed = first && first_time_signed_ ? *first_time_signed_ : now;
    const uint16_t error = first ? first_error_ : 0;
    const std::span<const uint8_t> other =
        first ? std::span<const uint8_t>(first_other_) : std::span<const uint8_t>();

    Hmac h(key_->algorithm(), key_->secret());
    digest_prior_mac(h, prior_mac_.view());
    // §5.3.1: the unsigned messages since the last signed one, as sent, come before this one.
    if (!skipped_.empty()) h.update(skipped_);
    skipped_.clear();
    digest_message(h, message, id, false);
    if (first) {
        digest_variables(h, key_name_, algorithm_, time_signed, fudge_, error, other);
    } else {
        digest_timers(h, time_signed, fudge_);
    }
    const Mac mac = h.finish();
    append_tsig(buf, message_start,
                TsigFields{key_name_, algorithm_, time_signed, fudge_, mac.view(), id, error, other});
    prior_mac_ = mac;
    ++messages_signed_;
}

void ServerSequence::skip(std::span<const uint8_t> message) {
    skipped_.insert(skipped_.end(), message.begin(), message.end());
}

void ServerSequence::claim_badtime(uint64_t time_signed, uint64_t our_time) {
    first_error_ = static_cast<uint16_t>(dns::Rcode::BadTime);
    first_time_signed_ = time_signed;
    first_other_.clear();
    for (int shift = 40; shift >= 0; shift -= 8)
        first_other_.push_back(static_cast<uint8_t>(our_time >> shift));
}

// Builds RequestVerification values; a friend of both types.
struct RequestVerifier {
    static void refuse(RequestVerification& v, RequestStatus status, std::string reason) {
        v.status = status;
        v.reason = std::move(reason);
    }

    // RFC 8945 §5.2.1: an unknown key, or a known key used with another algorithm, is BADKEY.
    static bool check_key(RequestVerification& v, const Key* key, const TsigRdata& rd) {
        if (key == nullptr) {
            refuse(v, RequestStatus::BadKey, "unknown key");
            return false;
        }
        const auto alg = algorithm_from_name(rd.algorithm);
        if (!alg || *alg != key->algorithm()) {
            refuse(v, RequestStatus::BadKey,
                   "algorithm " + rd.algorithm.to_string() + " does not match the key's " +
                       std::string(algorithm_text(key->algorithm())));
            return false;
        }
        return true;
    }

    // RFC 8945 §5.2.2.1: longer than the hash, or shorter than max(10, hash/2), is FORMERR.
    // An empty MAC is only for unsigned error answers; in a request it simply does not verify.
    static bool check_mac_size(RequestVerification& v, Algorithm alg, const TsigRdata& rd) {
        const std::size_t full = digest_size(alg);
        const std::size_t shortest = min_mac_size(alg);
        if (rd.mac.size() > full) {
            refuse(v, RequestStatus::FormErr,
                   "MAC of " + std::to_string(rd.mac.size()) + " octets is longer than the " +
                       std::to_string(full) + "-octet hash");
            return false;
        }
        if (rd.mac.empty()) {
            refuse(v, RequestStatus::BadSig, "empty MAC");
            return false;
        }
        if (rd.mac.size() < shortest) {
            refuse(v, RequestStatus::FormErr,
                   "MAC truncated to " + std::to_string(rd.mac.size()) + " octets, below the minimum of " +
                       std::to_string(shortest));
            return false;
        }
        return true;
    }

    static RequestVerification run(std::span<const uint8_t> wire, const dns::Message& parsed,
                                   const KeyStore& keys, uint64_t now, std::size_t required_mac_size) {
        RequestVerification v;
        if (parsed.tsig() == nullptr) return v;  // Unsigned
        v.key_name = parsed.tsig()->owner;

        TsigRecordView tsig;
        if (!parse_tsig(parsed, tsig)) {
            v.status = RequestStatus::FormErr;
            v.reason = "malformed TSIG record";
            return v;
        }
        const TsigRdata& rd = tsig.rdata;
        v.algorithm_name_ = rd.algorithm;

        // §5.2.1: the key; §5.2.2.1: the MAC's length.
        auto key = keys.find(v.key_name);
        if (!check_key(v, key.get(), rd) || !check_mac_size(v, key->algorithm(), rd)) return v;
        const std::size_t full = digest_size(key->algorithm());

        // §4.3.1 / §5.2: the request as it was before the TSIG RR was added.
        Hmac h(key->algorithm(), key->secret());
        digest_message(h, wire.subspan(0, tsig.record->offset), rd.original_id, true);
        digest_variables(h, v.key_name, rd.algorithm, rd.time_signed, rd.fudge, rd.error, rd.other);
        const Mac mac = h.finish();
        if (!constant_time_equal(mac.view().subspan(0, rd.mac.size()), rd.mac)) {
            v.status = RequestStatus::BadSig;
            v.reason = "MAC does not verify";
            return v;
        }

        // From here on the MAC is good, so the answer is signed (§5.3.2), even for BADTIME and BADTRUNC.
        v.key = key;
        v.signer.emplace(ServerSequence(key, v.key_name, rd.algorithm, rd.mac));
        if (outside_fudge(now, rd.time_signed, rd.fudge)) {
            v.status = RequestStatus::BadTime;
            v.reason = "signed " + seconds_apart(now, rd.time_signed) + ", outside the fudge of " +
                       std::to_string(rd.fudge) + " s";
            // §5.2.3: the client's Time Signed, and our time in Other Data, so the client can verify the
            // answer without failing on the time itself.
            v.signer->first_error_ = static_cast<uint16_t>(dns::Rcode::BadTime);
            v.signer->first_time_signed_ = rd.time_signed;
            v.signer->first_other_ = {static_cast<uint8_t>(now >> 40), static_cast<uint8_t>(now >> 32),
                                      static_cast<uint8_t>(now >> 24), static_cast<uint8_t>(now >> 16),
                                      static_cast<uint8_t>(now >> 8),  static_cast<uint8_t>(now)};
            return v;
        }
        if (rd.mac.size() < required_mac_size && rd.mac.size() < full) {
            v.status = RequestStatus::BadTrunc;
            v.reason = "MAC truncated to " + std::to_string(rd.mac.size()) +
                       " octets, local policy requires " + std::to_string(std::min(required_mac_size, full));
            v.signer->first_error_ = static_cast<uint16_t>(dns::Rcode::BadTrunc);
            return v;
        }
        v.status = RequestStatus::Verified;
        return v;
    }
};

RequestVerification verify_request(std::span<const uint8_t> request_wire, const dns::Message& parsed,
                                   const KeyStore& keys, uint64_t now, std::size_t required_mac_size) {
    return RequestVerifier::run(request_wire, parsed, keys, now, required_mac_size);
}

std::vector<uint8_t> error_answer(const dns::Message& request, RequestVerification& v, uint64_t now) {
    const dns::Header& q = request.header();
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, dns::kMaxTcpMessage);
    // Echo opcode and RD (RFC 1035 §4.1.1), as every other answer of ours does.
    mb.header(q.id, static_cast<uint16_t>(dns::flag::QR | (q.flags & 0x7800) | (q.flags & dns::flag::RD)));
    if (const auto& question = request.question())
        mb.question(question->qname, dns::to_u16(question->qtype), question->qclass);
    if (request.edns()) mb.set_edns(kErrorAnswerUdpPayload, false);
    mb.set_rcode(error_rcode(v.status));
    mb.finish();

    switch (v.status) {
        case RequestStatus::BadKey:
        case RequestStatus::BadSig: {
            // §5.3.2: errors about the key or the MAC are answered unsigned: MAC Size 0.
            const dns::Name& alg = v.algorithm_name_;
            append_tsig(
                out, 0,
                TsigFields{v.key_name, alg, now, kDefaultFudge, {}, q.id, tsig_error_code(v.status), {}});
            break;
        }
        case RequestStatus::BadTime:
        case RequestStatus::BadTrunc:
            v.signer->sign(out, 0, now);
            break;
        default:
            break;  // FORMERR: no TSIG (the record could not be read)
    }
    return out;
}

}  // namespace headwater::tsig
