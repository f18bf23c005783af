// What one transfer request produced, from the first look at its question to its last message: the one
// description that the log line, the transfer log, the secondaries view and the refusals share. Pure
// data, no I/O and no clock: the Responder fills in what the request was and how it was answered, the
// server adds what the stream did (messages, octets, duration, how it ended).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "xfr/Peer.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/RRType.h"
#include "zone/dns/Serial.h"

namespace headwater::xfr {

// How a transfer request ended. A refusal was answered with an error rcode and nothing was streamed; an
// abort is a stream that started and did not reach its last message.
enum class TransferOutcome : uint8_t {
    Ok,  // every message written
    // Refusals.
    FormErr,      // AXFR over UDP (RFC 5936 §4.2), IXFR without an SOA (RFC 1995 §3)
    NotAuth,      // not a zone apex served here, or not class IN (RFC 5936 §2.2.1)
    TsigFailed,   // the request's TSIG did not verify (RFC 8945 §5.2): BADKEY, BADSIG, BADTIME...
    Refused,      // no allow_transfer rule admits the address and key (RFC 5936 §6)
    NotLoaded,    // SERVFAIL: the zone has no version to serve
    NotAdmitted,  // SERVFAIL: max_transfers streams are running (TransferAdmission)
    LabRefused,   // lab mode: answered with an error on purpose (rcode, badtime; docs/lab.md)
    // Aborts.
    PeerClosed,     // the peer closed or reset the connection
    TimedOut,       // the peer took nothing for tcp_write_timeout
    WriteError,     // any other write error
    Shutdown,       // the server closed the connection as it stopped
    InternalError,  // a bug while producing a message
    LabCut,         // lab mode: the server ended the stream on purpose (cut-messages, cut-bytes)
};

inline constexpr std::array kTransferOutcomes = {
    TransferOutcome::Ok,          TransferOutcome::FormErr,    TransferOutcome::NotAuth,
    TransferOutcome::TsigFailed,  TransferOutcome::Refused,    TransferOutcome::NotLoaded,
    TransferOutcome::NotAdmitted, TransferOutcome::PeerClosed, TransferOutcome::TimedOut,
    TransferOutcome::WriteError,  TransferOutcome::Shutdown,   TransferOutcome::InternalError,
    TransferOutcome::LabRefused,  TransferOutcome::LabCut,
};

// The outcome's own name, one per value: "ok", "formerr", "notauth", "tsig-failed", "refused",
// "not-loaded", "not-admitted", "peer-closed", "timed-out", "write-error", "shutdown", "internal-error",
// "lab-refused", "lab-cut".
// The `cause` field.
std::string_view outcome_name(TransferOutcome o);
// "ok", "refused" (every refusal) or "aborted" (every abort): the `outcome` field operators and
// scripts grep for.
std::string_view outcome_kind(TransferOutcome o);
bool is_refusal(TransferOutcome o);
bool is_abort(TransferOutcome o);

// What was sent. An IXFR may be answered with the whole zone (RFC 1995 §4: type IXFR, form axfr) or with
// the SOA alone (RFC 1995 §2: the client is up to date, or the increments do not fit in UDP).
enum class TransferForm : uint8_t { None, Axfr, Ixfr, SoaOnly };

// "-" (nothing sent: a refusal), "axfr", "ixfr", "soa-only".
std::string_view form_name(TransferForm f);

struct TransferEvent {
    std::string zone;                          // as served; as asked when refused before the zone was found
    dns::RRType type = dns::RRType::AXFR;      // what was asked: AXFR or IXFR
    TransferForm form = TransferForm::None;    // what was sent
    dns::IpAddress address;                    // the peer
    uint16_t port = 0;                         //
    Transport transport = Transport::Tcp;      // what the request came over
    bool ktls = false;                         // over TLS: the kernel encrypted what we sent (kTLS)
    std::string key = "-";                     // the request's TSIG key, "-" when unsigned
    std::string rule;                          // the ACL rule that allowed it; empty when refused
    std::optional<dns::Serial> client_serial;  // IXFR: the serial the client says it holds
    std::optional<dns::Serial> served_serial;  // the serial sent; empty when refused
    std::size_t messages = 0, records = 0, bytes = 0;
    std::chrono::milliseconds duration{0};
    TransferOutcome outcome = TransferOutcome::Ok;
    dns::Rcode rcode = dns::Rcode::NoError;  // of the answer (a stream's messages are all NOERROR)
    std::string detail;                      // why it was refused or aborted; empty when ok

    // "192.0.2.1#53", "2001:db8::1#53".
    std::string peer() const;
};

// The log line (docs/operations.md), the same fields in the same order every time:
// transfer zone=Z type=T form=F peer=A#P key=K rule=R serial=N messages=M records=R bytes=B
// duration_ms=D outcome=ok|refused|aborted cause=NAME rcode=RCODE transport=udp|tcp|tls|tls+ktls
// reason="DETAIL"
// An absent value is "-"; the reason is quoted with `"` and `\` escaped, so the line splits like a shell
// command line.
std::string transfer_log_line(const TransferEvent& e);

// {"zone","peer","key","type","form","from","to","messages","records","bytes","duration_ms","outcome",
// "cause","rcode","error","rule","transport","ktls"}: a transfer-log line's members (after "time" and
// "event") and the secondaries view's last_transfer (plus "at"). Absent values are null.
nlohmann::json transfer_json(const TransferEvent& e);

}  // namespace headwater::xfr
