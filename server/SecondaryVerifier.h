// Checks that a zone's secondaries serve what we serve: per secondary, its SOA over UDP and
// TCP, then its content — by AXFR diffed against the served version where it allows a transfer, else by
// a sample of questions answered one by one. The comparisons are xfr/ZoneCompare and xfr/VerifySample;
// this file does the talking. Secondaries are checked in parallel on the caller's executor; nothing here
// touches the zone store, the listeners or the registry.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "tsig/Key.h"
#include "xfr/verify/DnssecCheck.h"
#include "xfr/verify/VerifySample.h"
#include "xfr/verify/ZoneCompare.h"
#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/IpNetwork.h"
#include "zone/dns/Serial.h"

namespace headwater::server {

struct VerifyOptions {
    std::chrono::milliseconds timeout{3000};         // per query, per connect, per transfer message
    std::size_t sample = 100;                        // random RRsets when the secondary refuses the transfer
    bool transfer = true;                            // try AXFR first
    std::size_t max_listed = 50;                     // differences listed per secondary (all are counted)
    std::size_t parallel_queries = 8;                // sample questions in flight per secondary
    std::chrono::seconds signature_warn{7 * 86400};  // a signed zone: RRSIGs expiring sooner are reported
};

// One SOA query.
struct SoaCheck {
    bool answered = false;
    std::optional<dns::Serial> serial;
    std::optional<int64_t> lag;  // served - theirs (RFC 1982); empty at the undefined distance 2^31
    bool authoritative = false;  // AA set
    std::string rcode;           // "NOERROR", "REFUSED", ...
    std::chrono::microseconds rtt{0};
    std::string error;  // timeout, network error, or a wrong answer ("not authoritative", "no SOA")
};

struct SampleMismatch {
    verify::SampleQuery query;
    verify::SampleResult result;
};

enum class VerifyStatus : uint8_t {
    InSync,       // same serial, same content
    Behind,       // serves an older serial
    Ahead,        // serves a newer serial than we do (a forced backwards reload on our side?)
    Differs,      // same serial, different content: someone edited the zone there, or a broken transfer;
                  // for a signed zone also another DNSKEY RRset or an RRSIG that does not validate
    Unreachable,  // no answer over UDP nor TCP
    Broken,       // answers, but not authoritatively for the zone (REFUSED, no AA, no SOA)
};
std::string_view to_string(
    VerifyStatus s);  // "in-sync", "behind", "ahead", "differs", "unreachable", "broken"

struct SecondaryReport {
    dns::Endpoint address;
    VerifyStatus status = VerifyStatus::Unreachable;
    std::string summary;  // one line for the table and the log
    SoaCheck udp, tcp;
    std::string method;          // "axfr", "sample" or "" (content not checked)
    std::string transfer_error;  // why AXFR was not used ("REFUSED", "TSIG: BADKEY", timeout...)
    std::optional<dns::Serial> content_serial;    // the SOA serial of the copy compared
    std::size_t checked = 0;                      // records transferred (axfr), or questions asked (sample)
    std::size_t differences = 0;                  // RRsets (axfr) or answers (sample) that differ
    std::vector<verify::RRsetDifference> rrsets;  // the first max_listed of them (axfr)
    std::vector<SampleMismatch> answers;          // the first max_listed of them (sample)
    // A signed zone (DnssecCheck::applies): its DNSKEY RRset and the RRSIGs it serves; empty otherwise
    // or when the content was not checked.
    std::optional<verify::DnssecResult> dnssec;
    std::chrono::milliseconds duration{0};

    bool in_sync() const { return status == VerifyStatus::InSync; }
};

struct VerifyReport {
    std::string zone;
    dns::Serial served;
    std::chrono::system_clock::time_point at;
    std::vector<SecondaryReport> secondaries;
    bool all_in_sync() const;
};

struct VerifyRequest {
    zone::ZoneVersionPtr served;
    std::vector<zone::Changeset> recent;  // journal changesets leading to `served`, oldest first
    std::vector<dns::Endpoint> secondaries;
    std::shared_ptr<const tsig::Key> key;  // signs the AXFR; null: unsigned
    VerifyOptions options;
};

// Checks every secondary of the request in parallel.
boost::asio::awaitable<VerifyReport> verify_secondaries(VerifyRequest request);

// The control response / log form (docs/control.md, "verify").
nlohmann::json to_json(const SecondaryReport& r);
nlohmann::json to_json(const VerifyReport& r);

}  // namespace headwater::server
