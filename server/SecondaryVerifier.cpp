#include "server/SecondaryVerifier.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include <boost/asio.hpp>

#include "server/AsioSupport.h"
#include "server/ControlCommands.h"
#include "server/DnsClient.h"
#include "server/SecondaryRegistry.h"
#include "tsig/ClientSequence.h"
#include "zone/MasterFile.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/dns/UncompressedRecord.h"
#include "zone/sign/DnssecKey.h"

namespace headwater::server {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string_view to_string(VerifyStatus s) {
    switch (s) {
        case VerifyStatus::InSync:
            return "in-sync";
        case VerifyStatus::Behind:
            return "behind";
        case VerifyStatus::Ahead:
            return "ahead";
        case VerifyStatus::Differs:
            return "differs";
        case VerifyStatus::Unreachable:
            return "unreachable";
        case VerifyStatus::Broken:
            return "broken";
    }
    return "unknown";
}

bool VerifyReport::all_in_sync() const {
    return std::all_of(secondaries.begin(), secondaries.end(), [](const auto& s) { return s.in_sync(); });
}

namespace {

// Runs `tasks` concurrently on the current (single-threaded) executor and waits for all of them.
asio::awaitable<void> run_all(std::vector<asio::awaitable<void>> tasks) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    std::size_t pending = tasks.size();
    for (auto& task : tasks) {
        asio::co_spawn(ex, std::move(task), [&pending, &done](const std::exception_ptr&) {
            if (--pending == 0) done.cancel();
        });
    }
    if (pending > 0) co_await done.async_wait(kTuple);
}

// What a secondary says the apex SOA is.
SoaCheck read_soa(const Result<std::vector<uint8_t>, ClientFailure>& answer, const zone::ZoneVersion& served,
                  Clock::duration rtt) {
    SoaCheck out;
    if (!answer) {
        out.error = answer.error().message;
        return out;
    }
    auto parsed = dns::Message::parse(*answer);
    if (!parsed || !parsed->header().qr()) {
        out.error = "malformed answer";
        return out;
    }
    out.answered = true;
    out.rtt = std::chrono::duration_cast<std::chrono::microseconds>(rtt);
    out.authoritative = (parsed->header().flags & dns::flag::AA) != 0;
    out.rcode = dns::to_string(static_cast<dns::Rcode>(parsed->header().rcode()));
    if (parsed->header().rcode() != 0) {
        out.error = "answered " + out.rcode;
        return out;
    }
    for (const auto& rr : parsed->records()) {
        if (rr.section != dns::Section::Answer || rr.type != dns::RRType::SOA ||
            !(rr.owner.view() == served.apex()))
            continue;
        auto wire = dns::uncompressed_record(*parsed, rr);
        if (wire.empty()) break;
        out.serial = zone::soa_rdata_serial(zone::decode_record(wire).rdata);
        break;
    }
    if (!out.serial) {
        out.error = "no SOA for the zone in the answer";
    } else if (!out.authoritative) {
        out.error = "not authoritative (AA clear)";
    } else {
        out.lag = serial_lag(served.serial(), *out.serial);
    }
    return out;
}

struct Context {
    const VerifyRequest& request;
    uint64_t seed = 0;
    int64_t now = 0;  // seconds since 1970: what signatures are checked at
};

asio::awaitable<SoaCheck> soa_over(const Context& ctx, dns::Endpoint to, bool tcp) {
    const auto& served = *ctx.request.served;
    const auto query = build_query(served.apex(), dns::RRType::SOA, false);
    const auto start = Clock::now();
    // Not `tcp ? co_await a : co_await b`: GCC 12 destroys the result of such a conditional twice
    // (double free of the error string when the secondary does not answer).
    if (tcp) {
        auto answer = co_await tcp_exchange(to, query, ctx.request.options.timeout);
        co_return read_soa(answer, served, Clock::now() - start);
    }
    auto answer = co_await udp_exchange(to, query, ctx.request.options.timeout);
    co_return read_soa(answer, served, Clock::now() - start);
}

// AXFR (RFC 5936) of the zone from the secondary; the records without the closing SOA, or why not.
struct TransferResult {
    std::vector<verify::WireRecord> records;
    std::optional<dns::Serial> serial;
    std::string error;  // empty: complete
};

asio::awaitable<TransferResult> transfer(const Context& ctx, dns::Endpoint to) {
    const auto& req = ctx.request;
    const auto timeout = req.options.timeout;
    TransferResult out;
    auto client = co_await TcpClient::connect(to, timeout);
    if (!client) {
        out.error = client.error().message;
        co_return out;
    }
    std::optional<tsig::ClientSequence> tsig;
    if (req.key) tsig.emplace(req.key);
    auto query = build_query(req.served->apex(), dns::RRType::AXFR, false, tsig ? tsig->reserve_size() : 0);
    if (tsig) tsig->sign_request(query, 0, unix_now());
    if (auto sent = co_await (*client)->send(query, timeout); !sent) {
        out.error = sent.error().message;
        co_return out;
    }
    // A copy much larger than ours is not a copy of this zone; stop reading rather than fill memory.
    const std::size_t limit = req.served->size() * 4 + 100000;
    std::size_t soas = 0;
    for (std::size_t messages = 0;; ++messages) {
        auto wire = co_await (*client)->receive(timeout);
        if (!wire) {
            out.error = messages == 0 && wire.error().kind == ClientFailure::Kind::Closed
                            ? "connection closed without an answer (transfer refused?)"
                            : wire.error().message + " after " + std::to_string(messages) + " message(s)";
            co_return out;
        }
        auto parsed = dns::Message::parse(*wire);
        if (!parsed || !parsed->header().qr()) {
            out.error = "malformed message in the transfer";
            co_return out;
        }
        if (tsig) {
            if (auto v = tsig->verify(*wire, *parsed, unix_now()); !v) {
                out.error = "TSIG: " + v.error().message;
                co_return out;
            }
        }
        if (parsed->header().rcode() != 0) {
            out.error = dns::to_string(static_cast<dns::Rcode>(parsed->header().rcode()));
            co_return out;
        }
        for (const auto& rr : parsed->records()) {
            if (rr.section != dns::Section::Answer) continue;
            if (out.records.empty() && soas == 0 && rr.type != dns::RRType::SOA) {
                out.error = "the transfer does not start with an SOA (RFC 5936 §2.2)";
                co_return out;
            }
            auto record = dns::uncompressed_record(*parsed, rr);
            if (record.empty()) {
                out.error = "malformed record in the transfer";
                co_return out;
            }
            if (rr.type == dns::RRType::SOA && ++soas == 2) {
                if (tsig && !tsig->complete()) {
                    out.error = "TSIG: the last message is not signed";
                    co_return out;
                }
                co_return out;  // the closing SOA (RFC 5936 §2.2): complete
            }
            if (soas == 1 && out.records.empty())
                out.serial = zone::soa_rdata_serial(zone::decode_record(record).rdata);
            out.records.push_back(std::move(record));
            if (out.records.size() > limit) {
                out.error = "the transfer is far larger than the zone; stopped reading";
                co_return out;
            }
        }
    }
}

// One sample question: UDP, then TCP when truncated or unanswered. With `dnssec` (a signed zone) it is
// asked with DO and the RRSIGs of the answer are checked too.
asio::awaitable<std::optional<SampleMismatch>> ask(const Context& ctx, dns::Endpoint to,
                                                   const verify::SampleQuery& q,
                                                   verify::DnssecCheck* dnssec) {
    const auto timeout = ctx.request.options.timeout;
    // One datagram lost is not a wrong answer (exchange asks again over UDP before falling back to TCP).
    const auto query = dnssec != nullptr ? build_dnssec_query(q.name.view(), q.type)
                                         : build_query(q.name.view(), q.type, true);
    auto answer = co_await exchange(to, query, timeout);
    SampleMismatch m{q, {}};
    if (!answer) {
        m.result.detail = "no answer: " + answer.error().message;
        co_return m;
    }
    auto parsed = dns::Message::parse(*answer);
    if (!parsed) {
        m.result.detail = "malformed answer";
        co_return m;
    }
    m.result = verify::check_answer(q, *parsed);
    // Only here, between awaits: the workers of one secondary share `dnssec` on one thread.
    if (dnssec != nullptr) dnssec->check_response(*parsed);
    if (m.result.match) co_return std::nullopt;
    co_return m;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string expiry_text(int64_t at) {
    return format_time(std::chrono::system_clock::time_point(std::chrono::seconds(at)));
}

// "DNSKEY RRset differs (missing 1234; extra 5678); 2 of 40 signatures bad (www.example. A 1234
// bad-signature); 3 expire within 7d (first 2026-01-02T03:04:05Z)", or "ok (...)".
std::string dnssec_summary(const verify::DnssecResult& d) {
    std::vector<std::string> parts;
    if (!d.dnskey_error.empty()) parts.push_back("DNSKEY RRset not read (" + d.dnskey_error + ")");
    if (!d.missing_tags.empty() || !d.extra_tags.empty()) {
        std::string keys = "DNSKEY RRset differs (";
        if (!d.missing_tags.empty()) keys += "missing " + sign::tag_list(d.missing_tags);
        if (!d.extra_tags.empty())
            keys += std::string(d.missing_tags.empty() ? "" : "; ") + "extra " + sign::tag_list(d.extra_tags);
        parts.push_back(keys + ")");
    } else if (!d.dnskey_match && d.dnskey_error.empty()) {
        parts.emplace_back("DNSKEY RRset differs");
    }
    if (d.signatures_bad > 0) {
        std::string bad = std::to_string(d.signatures_bad) + " of " + std::to_string(d.signatures_dated) +
                          " signatures bad";
        if (!d.problems.empty()) {
            const auto& p = d.problems.front();
            bad += " (" + p.owner.to_string() + " " + dns::to_string(p.type) + " " +
                   (p.key_tag != 0 ? std::to_string(p.key_tag) + " " : "") + p.problem + ")";
        }
        parts.push_back(bad);
    }
    if (d.expiring > 0)
        parts.push_back(std::to_string(d.expiring) + " expire within " +
                        std::to_string(d.warn_within / 86400) + "d" +
                        (d.earliest_expiry ? " (first " + expiry_text(*d.earliest_expiry) + ")" : ""));
    std::string out = d.ok() ? "ok (" + std::to_string(d.signatures_checked) + " signatures verified)" : "";
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
}

// A signed zone: what a validator would reject makes an otherwise in-sync secondary "differs" (at the
// same serial it serves other keys or signatures than ours: content that differs for a resolver that
// validates). A lagging or broken one keeps its status; the summary says what DNSSEC found either way.
void conclude_dnssec(SecondaryReport& r) {
    if (!r.dnssec) return;
    r.summary += "; DNSSEC " + dnssec_summary(*r.dnssec);
    if (!r.dnssec->ok() && r.status == VerifyStatus::InSync) r.status = VerifyStatus::Differs;
}

void conclude(SecondaryReport& r, const zone::ZoneVersion& served) {
    const SoaCheck& soa = r.udp.serial ? r.udp : r.tcp;
    const std::string content =
        r.method.empty() ? std::string()
        : r.differences == 0
            ? " (" + r.method + ", " + std::to_string(r.checked) +
                  (r.method == "axfr" ? " records)" : " questions)")
            : "; " +
                  plural(r.differences, r.method == "axfr" ? "RRset differs" : "answer differs",
                         r.method == "axfr" ? "RRsets differ" : "answers differ") +
                  " (" + r.method + ")";
    if (!r.udp.answered && !r.tcp.answered) {
        r.status = VerifyStatus::Unreachable;
        r.summary = "unreachable: UDP " + r.udp.error + "; TCP " + r.tcp.error;
        return;
    }
    if (!soa.serial || !soa.authoritative) {
        r.status = VerifyStatus::Broken;
        r.summary = "does not serve the zone: " + (r.udp.answered ? r.udp.error : r.tcp.error);
        return;
    }
    const auto theirs = soa.serial->value();
    const auto ours = served.serial().value();
    if (!soa.lag || *soa.lag != 0) {
        const bool behind = soa.lag && *soa.lag > 0;
        r.status = behind ? VerifyStatus::Behind : VerifyStatus::Ahead;
        r.summary = (soa.lag ? std::string(behind ? "behind by " : "ahead by ") +
                                   plural(static_cast<std::size_t>(std::llabs(*soa.lag)), "serial", "serials")
                             : std::string("serial at the undefined distance 2^31")) +
                    " (serves " + std::to_string(theirs) + ", we serve " + std::to_string(ours) + ")" +
                    content;
    } else if (r.differences > 0) {
        r.status = VerifyStatus::Differs;
        r.summary = "same serial " + std::to_string(ours) + " but different content" + content;
    } else {
        r.status = VerifyStatus::InSync;
        r.summary = "in sync at serial " + std::to_string(ours) + content;
    }
    if (r.udp.answered != r.tcp.answered ||
        (r.udp.serial && r.tcp.serial && *r.udp.serial != *r.tcp.serial)) {
        r.summary += r.udp.answered ? "; TCP: " + (r.tcp.error.empty() ? "serial differs" : r.tcp.error)
                                    : "; UDP: " + r.udp.error;
        if (r.status == VerifyStatus::InSync) r.status = VerifyStatus::Broken;
    }
    conclude_dnssec(r);
}

// The content by AXFR, compared with what we serve; false when the secondary does not transfer.
asio::awaitable<bool> check_by_transfer(const Context& ctx, dns::Endpoint to, SecondaryReport& r,
                                        verify::DnssecCheck* dnssec) {
    const auto& req = ctx.request;
    auto t = co_await transfer(ctx, to);
    if (!t.error.empty()) {
        r.transfer_error = t.error;
        co_return false;
    }
    auto diffs = verify::compare_zone(*req.served, t.records);
    r.method = "axfr";
    r.content_serial = t.serial;
    r.checked = t.records.size();
    r.differences = diffs.size();
    if (diffs.size() > req.options.max_listed) diffs.resize(req.options.max_listed);
    r.rrsets = std::move(diffs);
    if (dnssec != nullptr) {
        // The signatures of the apex and of the same bounded sample the questions would ask: verifying
        // every RRSIG of a large zone would cost a core for minutes; the rest are only dated.
        const auto sample = verify::select_sample(*req.served, req.recent, req.options.sample, ctx.seed);
        dnssec->check_copy(t.records, sample);
    }
    co_return true;
}

// The content by a sample of questions, `parallel_queries` at a time.
asio::awaitable<void> check_by_sample(const Context& ctx, dns::Endpoint to, SecondaryReport& r,
                                      verify::DnssecCheck* dnssec) {
    const auto& req = ctx.request;
    const auto sample = verify::select_sample(*req.served, req.recent, req.options.sample, ctx.seed);
    std::vector<std::optional<SampleMismatch>> results(sample.size());
    std::size_t next = 0;
    auto worker = [&]() -> asio::awaitable<void> {
        while (next < sample.size()) {
            const std::size_t i = next++;
            results[i] = co_await ask(ctx, to, sample[i], dnssec);
        }
    };
    std::vector<asio::awaitable<void>> workers;
    const std::size_t n = std::clamp<std::size_t>(req.options.parallel_queries, 1, 64);
    workers.reserve(n);
    for (std::size_t i = 0; i < n; ++i) workers.push_back(worker());
    co_await run_all(std::move(workers));
    r.method = "sample";
    r.content_serial = r.udp.serial ? r.udp.serial : r.tcp.serial;
    r.checked = sample.size();
    for (auto& m : results) {
        if (!m) continue;
        ++r.differences;
        if (r.answers.size() < req.options.max_listed) r.answers.push_back(std::move(*m));
    }
}

// The apex DNSKEY RRset asked with DO, the way a validating resolver asks it (RFC 4035 §5.3.1 needs it
// before anything else validates).
asio::awaitable<void> check_dnskey(const Context& ctx, dns::Endpoint to, verify::DnssecCheck& dnssec) {
    const auto query = build_dnssec_query(ctx.request.served->apex(), dns::RRType::DNSKEY);
    auto answer = co_await exchange(to, query, ctx.request.options.timeout);
    if (!answer) {
        dnssec.dnskey_failed("no answer: " + answer.error().message);
        co_return;
    }
    auto parsed = dns::Message::parse(*answer);
    if (!parsed || !parsed->header().qr()) {
        dnssec.dnskey_failed("malformed answer");
        co_return;
    }
    dnssec.check_dnskey_answer(*parsed);
}

asio::awaitable<SecondaryReport> verify_one(const Context& ctx, dns::Endpoint to) {
    const auto start = Clock::now();
    const auto& req = ctx.request;
    const auto& served = *req.served;
    SecondaryReport r;
    r.address = to;
    r.udp = co_await soa_over(ctx, to, false);
    r.tcp = co_await soa_over(ctx, to, true);
    const bool serves = (r.udp.serial && r.udp.authoritative) || (r.tcp.serial && r.tcp.authoritative);
    if (serves) {
        std::optional<verify::DnssecCheck> dnssec;
        if (verify::DnssecCheck::applies(served)) {
            dnssec.emplace(served, ctx.now, static_cast<uint32_t>(req.options.signature_warn.count()),
                           req.options.max_listed);
            co_await check_dnskey(ctx, to, *dnssec);
        }
        verify::DnssecCheck* check = dnssec ? &*dnssec : nullptr;
        // Not `a && co_await b`: GCC 12 mishandles co_await in conditional expressions (see soa_over).
        bool transferred = false;
        if (req.options.transfer) transferred = co_await check_by_transfer(ctx, to, r, check);
        if (!transferred) co_await check_by_sample(ctx, to, r, check);
        if (dnssec) r.dnssec = dnssec->result();
    }
    conclude(r, served);
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    co_return r;
}

uint64_t sample_seed(const zone::ZoneVersion& served) {
    // FNV-1a over the apex and the serial: the same version is always checked with the same sample.
    uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](uint8_t b) {
        h ^= b;
        h *= 1099511628211ull;
    };
    for (uint8_t b : served.apex().wire()) mix(static_cast<uint8_t>(std::tolower(b)));
    for (int i = 0; i < 4; ++i) mix(static_cast<uint8_t>(served.serial().value() >> (8 * i)));
    return h;
}

nlohmann::json soa_json(const SoaCheck& s) {
    return {{"answered", s.answered},
            {"serial", s.serial ? nlohmann::json(s.serial->value()) : nlohmann::json(nullptr)},
            {"lag_serials", s.lag ? nlohmann::json(*s.lag) : nlohmann::json(nullptr)},
            {"aa", s.authoritative},
            {"rcode", s.rcode.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.rcode)},
            {"rtt_ms", static_cast<double>(s.rtt.count()) / 1000.0},
            {"error", s.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.error)}};
}

nlohmann::json dnssec_json(const std::optional<verify::DnssecResult>& d) {
    if (!d) return nullptr;
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : d->problems) {
        problems.push_back({{"owner", p.owner.to_string()},
                            {"type", dns::to_string(p.type)},
                            {"key_tag", p.key_tag != 0 ? nlohmann::json(p.key_tag) : nlohmann::json(nullptr)},
                            {"problem", p.problem},
                            {"expiration", p.expiration != 0 ? nlohmann::json(expiry_text(p.expiration))
                                                             : nlohmann::json(nullptr)}});
    }
    return {
        {"ok", d->ok()},
        {"dnskey_match", d->dnskey_match},
        {"dnskey_error", d->dnskey_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(d->dnskey_error)},
        {"missing_tags", d->missing_tags},
        {"extra_tags", d->extra_tags},
        {"rrsets_checked", d->rrsets_checked},
        {"signatures_checked", d->signatures_checked},
        {"signatures_dated", d->signatures_dated},
        {"signatures_bad", d->signatures_bad},
        {"problems", problems},
        {"earliest_expiry",
         d->earliest_expiry ? nlohmann::json(expiry_text(*d->earliest_expiry)) : nlohmann::json(nullptr)},
        {"expiring", d->expiring},
        {"signature_warn_s", d->warn_within}};
}

nlohmann::json texts(const std::vector<verify::WireRecord>& records) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) out.push_back(zone::record_to_text(r));
    return out;
}

}  // namespace

asio::awaitable<VerifyReport> verify_secondaries(VerifyRequest request) {
    VerifyReport report;
    report.zone = dns::NameView(request.served->apex()).to_string();
    report.served = request.served->serial();
    report.at = std::chrono::system_clock::now();
    report.secondaries.resize(request.secondaries.size());
    const Context ctx{request, sample_seed(*request.served),
                      std::chrono::duration_cast<std::chrono::seconds>(report.at.time_since_epoch()).count()};
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < request.secondaries.size(); ++i) {
        tasks.push_back(
            [](const Context& c, dns::Endpoint to, SecondaryReport& out) -> asio::awaitable<void> {
                out = co_await verify_one(c, to);
            }(ctx, request.secondaries[i], report.secondaries[i]));
    }
    co_await run_all(std::move(tasks));
    co_return report;
}

nlohmann::json to_json(const SecondaryReport& r) {
    const SoaCheck& soa = r.udp.serial ? r.udp : r.tcp;
    nlohmann::json rrsets = nlohmann::json::array();
    for (const auto& d : r.rrsets) {
        rrsets.push_back({{"kind", std::string(verify::to_string(d.kind))},
                          {"owner", d.owner.to_string()},
                          {"type", dns::to_string(d.type)},
                          {"served", texts(d.served)},
                          {"theirs", texts(d.theirs)}});
    }
    nlohmann::json answers = nlohmann::json::array();
    for (const auto& m : r.answers) {
        answers.push_back({{"name", m.query.name.to_string()},
                           {"type", dns::to_string(m.query.type)},
                           {"reason", m.query.reason},
                           {"expect", std::string(verify::to_string(m.query.expect))},
                           {"detail", m.result.detail},
                           {"served", texts(m.query.records)},
                           {"theirs", texts(m.result.theirs)}});
    }
    return {{"address", r.address.to_string()},
            {"status", std::string(to_string(r.status))},
            {"in_sync", r.in_sync()},
            {"summary", r.summary},
            {"serial", soa.serial ? nlohmann::json(soa.serial->value()) : nlohmann::json(nullptr)},
            {"lag_serials", soa.lag ? nlohmann::json(*soa.lag) : nlohmann::json(nullptr)},
            {"udp", soa_json(r.udp)},
            {"tcp", soa_json(r.tcp)},
            {"method", r.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.method)},
            {"transfer_error",
             r.transfer_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.transfer_error)},
            {"content_serial",
             r.content_serial ? nlohmann::json(r.content_serial->value()) : nlohmann::json(nullptr)},
            {"checked", r.checked},
            {"differences", r.differences},
            {"rrsets", rrsets},
            {"answers", answers},
            {"dnssec", dnssec_json(r.dnssec)},
            {"duration_ms", r.duration.count()}};
}

nlohmann::json to_json(const VerifyReport& r) {
    nlohmann::json secondaries = nlohmann::json::array();
    for (const auto& s : r.secondaries) secondaries.push_back(to_json(s));
    return {{"zone", r.zone},
            {"serial", r.served.value()},
            {"in_sync", r.all_in_sync()},
            {"secondaries", secondaries}};
}

}  // namespace headwater::server
