// The server's side of TSIG (RFC 8945 §5.2, §5.3): verify a request, then sign every message of the
// answer, the first with the request MAC and each later one with the MAC of the message before it.
//
// Typical use (time is always a parameter; this code never reads the clock):
//
//   auto v = tsig::verify_request(wire, parsed, keys, now);
//   switch (v.status) {
//     case RequestStatus::Unsigned: ...answer unsigned...
//     case RequestStatus::Verified: ...check the ACL with v.key->name()...
//       for each message: builder.reserve(v.signer->reserve_size()); fill; finish;
//                         v.signer->sign(buf, message_start, now);   // then patch the TCP length
//     default:  // FORMERR, or NOTAUTH + BADKEY/BADSIG/BADTIME/BADTRUNC
//       send tsig::error_answer(parsed, v, now);
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tsig/Hmac.h"
#include "tsig/KeyStore.h"
#include "tsig/TsigRecord.h"
#include "zone/dns/Message.h"

namespace headwater::tsig {

struct RequestVerification;

class ServerSequence {
  public:
    // Appends the TSIG RR to the complete message at buf[message_start..] (header counts final, OPT in
    // place) and increments ARCOUNT. The first call signs with the request MAC and all TSIG variables
    // (§4.3.2); each later call with the previous MAC and only the timers (§4.3.3, §5.3.1). Every message
    // is signed, none skipped. The message's ID is used as Original ID.
    void sign(std::vector<uint8_t>& buf, std::size_t message_start, uint64_t now);

    // Leaves the complete message at buf[message_start..] unsigned (RFC 8945 §5.3.1: up to 99 in a row);
    // the next sign() digests it, as sent, between the prior MAC and its own message. Lab mode only
    // (sign-every); the first message of an answer is always signed.
    void skip(std::span<const uint8_t> message);

    // Lab mode (badtime): the first message becomes a BADTIME error (§5.2.3) as if our clock read
    // `our_time`, echoing `time_signed` as the client's Time Signed. The RequestVerification's status must
    // be set to BadTime too, then error_answer() renders it.
    void claim_badtime(uint64_t time_signed, uint64_t our_time);

    // Octets to keep free in each message for the TSIG RR that sign() appends.
    std::size_t reserve_size() const;

    const Key& key() const { return *key_; }
    const std::shared_ptr<const Key>& shared_key() const { return key_; }
    std::size_t messages_signed() const { return messages_signed_; }

  private:
    friend struct RequestVerifier;
    friend std::vector<uint8_t> error_answer(const dns::Message&, RequestVerification&, uint64_t);

    ServerSequence(std::shared_ptr<const Key> key, dns::Name key_name, dns::Name algorithm,
                   std::span<const uint8_t> request_mac);

    std::shared_ptr<const Key> key_;
    dns::Name key_name_;   // the owner name as the client wrote it, echoed in every answer
    dns::Name algorithm_;  // likewise
    Mac prior_mac_;        // the request MAC, then the MAC of each message signed
    uint16_t fudge_ = kDefaultFudge;
    std::size_t messages_signed_ = 0;
    std::vector<uint8_t> skipped_;  // messages left unsigned since the last signed one (skip())
    // Set only for a signed error answer (BADTIME, BADTRUNC): the first message's TSIG error, Time Signed
    // and Other Data.
    uint16_t first_error_ = 0;
    std::optional<uint64_t> first_time_signed_;
    std::vector<uint8_t> first_other_;
};

enum class RequestStatus : uint8_t {
    Unsigned,  // no TSIG record: answer as usual (the ACL decides whether a key was needed)
    Verified,  // signed by a known key and in time: `signer` signs the answer
    FormErr,   // malformed TSIG RDATA, or a MAC longer than the hash or shorter than the minimum (§5.2.2.1)
    BadKey,    // unknown key name, or the key's algorithm differs (§5.2.1): NOTAUTH, unsigned
    BadSig,    // the MAC does not verify (§5.2.2): NOTAUTH, unsigned
    BadTime,   // MAC verified but outside the fudge (§5.2.3): NOTAUTH, signed, server time in Other Data
    BadTrunc,  // MAC verified but truncated below the local policy (§5.2.4): NOTAUTH, signed
};

std::string_view to_string(RequestStatus status);

struct RequestVerification {
    RequestStatus status = RequestStatus::Unsigned;
    std::shared_ptr<const Key> key;        // the key that verified (Verified, BadTime, BadTrunc)
    std::optional<ServerSequence> signer;  // Verified; also BadTime/BadTrunc, for error_answer()
    dns::Name key_name;                    // the TSIG owner name as sent (root when unsigned)
    std::string reason;                    // for the log when not Verified: "unknown key", ...

    bool verified() const { return status == RequestStatus::Verified; }
    // The key name as the client wrote it ("XFR-Key."), for the log; empty when unsigned. For ACL matching
    // use key->name(): the configured spelling (lower case when it comes from conf/).
    std::string key_text() const;

  private:
    friend struct RequestVerifier;
    friend std::vector<uint8_t> error_answer(const dns::Message&, RequestVerification&, uint64_t);
    dns::Name algorithm_name_;  // as sent
};

// Verifies the TSIG of a request (RFC 8945 §5.2) in the RFC's order: RDATA, key (BADKEY), MAC size
// (FORMERR), MAC (BADSIG), time (BADTIME), truncation policy (BADTRUNC). `request_wire` is the message
// `parsed` was parsed from. `required_mac_size` is a local truncation policy: a MAC that verifies but is
// shorter than it is BADTRUNC; 0 accepts every size the RFC allows, down to max(10, hash/2) octets.
// A MAC Size of 0 in a request is BADSIG (as BIND does; only error answers may omit the MAC).
RequestVerification verify_request(std::span<const uint8_t> request_wire, const dns::Message& parsed,
                                   const KeyStore& keys, uint64_t now, std::size_t required_mac_size = 0);

// The complete answer to a request whose verification failed (status other than Unsigned and
// Verified), echoing ID, opcode, RD and the question, with OPT when the request had one:
//   FormErr            -> FORMERR, no TSIG
//   BadKey, BadSig     -> NOTAUTH + TSIG with that error, MAC Size 0, unsigned (§5.3.2)
//   BadTime, BadTrunc  -> NOTAUTH + TSIG with that error, signed with the request MAC; for BADTIME the
//                         Time Signed is the request's and Other Data holds `now` (§5.2.3)
std::vector<uint8_t> error_answer(const dns::Message& request, RequestVerification& verification,
                                  uint64_t now);

// The RCODE the error answer carries: FormErr or NotAuth (Unsigned/Verified: NoError).
dns::Rcode error_rcode(RequestStatus status);

}  // namespace headwater::tsig
