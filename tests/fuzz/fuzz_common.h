// Shared pieces of the libFuzzer targets (tests/fuzz/README.md): zones built from inline text, the checks
// every answer must pass whatever the query was, and draining a transfer to its end.
//
// A broken invariant calls fuzz_fail(), which aborts: libFuzzer then reports a crash and keeps the input.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xfr/Responder.h"
#include "xfr/TransferSession.h"
#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"
#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/dns/WireReader.h"

namespace headwater::fuzz {

// The time every target answers at (seconds since the epoch); make_seeds.py signs its requests with it.
inline constexpr uint64_t kNow = 1'800'000'000;

[[noreturn]] inline void fuzz_fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

inline dns::Name name(std::string_view text) {
    auto n = dns::Name::from_text(text);
    if (!n) fuzz_fail("bad name in the harness", std::string(text));
    return std::move(n).value();
}

// A version from master-file text; the harness's own zones must load.
inline zone::ZoneVersionPtr build_version(std::string_view text, std::string_view origin) {
    zone::ZoneBuilder builder(name(origin));
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return builder.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    if (!loaded) fuzz_fail("harness zone does not load:", loaded.error().to_string());
    auto version = builder.build();
    if (!version) fuzz_fail("harness zone does not build:", version.error().to_string());
    return std::move(version).value();
}

// Feeds a value computed from the octets read into a volatile sink: the optimiser would otherwise drop
// reads whose result is unused, and ASan would never check them.
inline volatile unsigned fuzz_sink = 0;
inline void keep(unsigned value) {
    fuzz_sink = value;
}

// Whether the view `part` lies within `whole` (an empty view lies anywhere).
inline bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
    return part.empty() ||
           (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Reads every octet a parsed message exposes (so ASan sees any view that points outside the buffer) and
// checks that every name survives presentation form and back unchanged (RFC 4343 escapes).
inline void walk_message(const dns::Message& m) {
    unsigned sum = m.header().id ^ m.header().flags ^ m.header().qdcount ^ m.header().ancount ^
                   m.header().nscount ^ m.header().arcount;
    auto touch_name = [&](const dns::Name& n) {
        for (uint8_t b : n.wire()) sum += b;
        const std::string text = n.to_string();
        auto back = dns::Name::from_text(text);
        if (!back) fuzz_fail("a parsed name does not read back from its text:", text + ": " + back.error());
        if (!std::equal(back->wire().begin(), back->wire().end(), n.wire().begin(), n.wire().end()))
            fuzz_fail("a parsed name reads back different from its text:", text);
        sum += static_cast<unsigned>(n.key().size());
    };
    if (m.question()) {
        touch_name(m.question()->qname);
        sum += dns::to_u16(m.question()->qtype) + m.question()->qclass;
    }
    for (const auto& r : m.records()) {
        touch_name(r.owner);
        sum += dns::to_u16(r.type) + r.rclass + r.ttl + static_cast<unsigned>(r.section);
        if (r.offset >= m.wire().size()) fuzz_fail("record offset outside the message");
        if (!inside(r.rdata, m.wire())) fuzz_fail("RDATA view outside the message");
        for (uint8_t b : r.rdata) sum += b;
    }
    if (m.edns()) sum += m.edns()->udp_size + m.edns()->version + m.edns()->extended_rcode;
    if (const auto* t = m.tsig()) {
        if (t != &m.records().back()) fuzz_fail("TSIG is not the last record");
        if (t->type != dns::RRType::TSIG || t->section != dns::Section::Additional)
            fuzz_fail("TSIG misplaced");
    }
    keep(sum);
}

// The largest answer a UDP query may get: 512 without EDNS, else the client's size within [512, ours]
// (RFC 6891 §6.2.5: sizes below 512 count as 512).
inline std::size_t udp_limit(const dns::Message& query, std::size_t ours = 1232) {
    if (!query.edns()) return 512;
    return std::clamp<std::size_t>(query.edns()->udp_size, 512, ours);
}

// What every answer message must be: a parseable response to this query (same ID, QR set, opcode echoed),
// within the UDP limit over UDP. Returns the parsed answer (valid while `answer` lives).
inline dns::Message check_answer(std::span<const uint8_t> query, std::span<const uint8_t> answer,
                                 xfr::Transport transport) {
    auto parsed = dns::Message::parse(answer);
    if (!parsed) fuzz_fail("our answer does not parse");
    const dns::Message& a = parsed.value();
    walk_message(a);
    const auto qh = dns::Message::parse_header(query);
    if (!qh) fuzz_fail("answered a query without a header");
    if (!a.header().qr()) fuzz_fail("answer without QR");
    if (a.header().id != qh->id) fuzz_fail("answer ID differs from the query's");
    if (a.header().opcode() != qh->opcode()) fuzz_fail("answer opcode differs from the query's");
    if (answer.size() > dns::kMaxTcpMessage) fuzz_fail("answer larger than 64 KiB");
    if (transport == xfr::Transport::Udp) {
        auto q = dns::Message::parse(query);
        const std::size_t limit = q ? udp_limit(*q) : 512;
        if (answer.size() > limit)
            fuzz_fail("UDP answer over the limit:",
                      std::to_string(answer.size()) + " > " + std::to_string(limit));
    }
    return parsed.value();
}

// Runs a transfer to its end; every message must pass check_answer(). Returns the messages.
inline std::vector<std::vector<uint8_t>> drain(std::span<const uint8_t> query, xfr::TransferSession& session,
                                               uint64_t now) {
    std::vector<std::vector<uint8_t>> out;
    for (std::size_t guard = 0; guard < 100000; ++guard) {
        std::vector<uint8_t> m;
        const auto step = session.next(m, now);
        check_answer(query, m, xfr::Transport::Tcp);
        out.push_back(std::move(m));
        if (step == xfr::Step::Done) return out;
    }
    fuzz_fail("transfer never finished");
}

// The SERIAL of an SOA record of a parsed message (its RDATA names may be compressed); 0 if malformed.
inline uint32_t soa_serial(const dns::Message& m, const dns::RecordRef& r) {
    dns::WireReader rd(m.wire(), static_cast<std::size_t>(r.rdata.data() - m.wire().data()));
    rd.skip_name();
    rd.skip_name();
    const uint32_t s = rd.u32();
    return rd.ok() ? s : 0;
}

}  // namespace headwater::fuzz
