// The client's side of TSIG (RFC 8945 §5.1, §5.3.1, §5.4): sign a request, then verify the answer, one
// message after another. For NOTIFY with TSIG and for tests; time is always a parameter.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tsig/Hmac.h"
#include "tsig/Key.h"
#include "tsig/TsigRecord.h"
#include "zone/dns/Message.h"

namespace headwater::tsig {

struct ClientError {
    enum class Kind : uint8_t {
        NotSigned,        // the first answer message has no TSIG, or one arrived after a failure
        TooManyUnsigned,  // 100 unsigned messages in a row (§5.3.1 allows 99)
        FormErr,          // malformed TSIG RDATA or a MAC size the RFC forbids (§5.2.2.1)
        WrongKey,         // signed with another key name or algorithm than the request
        BadSig,           // the MAC does not verify
        BadTime,          // verified, but outside the fudge of our clock
        PeerError,        // the server reported a TSIG error (peer_error), e.g. BADKEY or BADTIME
    };
    Kind kind = Kind::NotSigned;
    uint16_t peer_error = 0;            // PeerError: BADSIG, BADKEY, BADTIME, BADTRUNC
    std::optional<uint64_t> peer_time;  // PeerError BADTIME: the server's clock from Other Data
    bool authenticated = false;         // PeerError: whether the error answer itself verified
    std::string message;
};

enum class Verified : uint8_t { Signed, Unsigned };

class ClientSequence {
  public:
    explicit ClientSequence(std::shared_ptr<const Key> key, uint16_t fudge = kDefaultFudge);

    // Octets to keep free in the request for the TSIG RR.
    std::size_t reserve_size() const;

    // Appends the TSIG RR to the complete request at buf[message_start..] and increments ARCOUNT. Starts a
    // new exchange: the following verify() calls expect answers to this request.
    void sign_request(std::vector<uint8_t>& buf, std::size_t message_start, uint64_t now);
    std::span<const uint8_t> request_mac() const { return request_mac_.view(); }

    // Verifies the next message of the answer, `wire` being what `parsed` was parsed from. The first must
    // be signed; later ones may be unsigned, up to 99 in a row (§5.3.1), and are then covered by the next
    // signed one. After an error the exchange is over: every later call fails.
    Result<Verified, ClientError> verify(std::span<const uint8_t> wire, const dns::Message& parsed,
                                         uint64_t now);

    // True when the last message verified was signed: a multi-message answer must end with a signed one.
    bool complete() const { return !failed_ && signed_seen_ && unsigned_run_ == 0; }

  private:
    Result<Verified, ClientError> fail(ClientError e);

    std::shared_ptr<const Key> key_;
    uint16_t fudge_;
    Mac request_mac_;
    Mac prior_mac_;                  // the MAC that the next signed message continues from
    std::unique_ptr<Hmac> running_;  // prior MAC + unsigned messages so far
    std::size_t unsigned_run_ = 0;
    bool signed_seen_ = false;
    bool failed_ = false;
};

}  // namespace headwater::tsig
