// libFuzzer target: IXFR request handling (RFC 1995), query to planned and produced answer.
//
// Three zones with five generations each, loaded through zone::Zone reloads so their history is in real
// journals (a temporary state directory): serials 4294967290, 4294967295, 5, 6, 100, i.e. across the
// RFC 1982 wrap. "example.com." keeps history with the default max_ixfr_ratio, "ratio.example." keeps it
// with a ratio so low that every IXFR becomes AXFR, "plain.example." keeps none.
//
// Each input is one query, answered by xfr::Responder over UDP and over TCP (the transfer drained to its
// last message). Besides the checks every answer gets (fuzz_common.h), an IXFR answer is checked like a
// client would apply it: it starts and ends with the served SOA; in incremental form its first old SOA
// is the client's serial, a generation we hold, and applying the deletions and additions to that
// generation gives exactly the served records; in AXFR form it holds exactly the served records.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "fuzz_common.h"
#include "xfr/Responder.h"
#include "xfr/TransferPlan.h"
#include "zone/ZoneStore.h"

using namespace headwater;
using dns::RRType;

namespace {

constexpr uint32_t kSerials[] = {4294967290u, 4294967295u, 5u, 6u, 100u};

// Generation g of a zone: an apex, static hosts, and hosts whose A, AAAA, TTL and TXT records come and go
// with g.
std::string generation_text(std::size_t g) {
    std::string t =
        "$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(kSerials[g]) +
        " 3600 900 86400 60\n@ IN NS ns1\n@ IN MX 10 mail\nns1 IN A 192.0.2.1\nmail IN A 192.0.2.2\n";
    // Records every generation shares, so that the whole history stays below max_ixfr_ratio of the zone.
    for (std::size_t i = 0; i < 60; ++i)
        t += "s" + std::to_string(i) + " IN A 198.51.100." + std::to_string(i) + "\ns" + std::to_string(i) +
             " IN TXT \"static record " + std::to_string(i) + "\"\n";
    for (std::size_t i = 0; i < 8; ++i) {
        if ((i + g) % 3 == 0) continue;
        const std::string host = "h" + std::to_string(i);
        t += host + " " + std::to_string(300 + 60 * ((i * g) % 2)) + " IN A 192.0.2." +
             std::to_string(i + 10) + "\n";
        if ((i * (g + 1)) % 4 == 1) t += host + " IN TXT \"g" + std::to_string(g) + "\"\n";
        if ((i + 2 * g) % 5 == 0) t += host + " IN AAAA 2001:db8::" + std::to_string(i + g) + "\n";
    }
    return t;
}

// The records an IXFR client tracks here: every type the generations change (A, AAAA, TXT; none of them
// has names in its RDATA, so message compression does not change the RDATA octets).
using RecordSet = std::set<std::string>;

bool tracked(RRType t) {
    return t == RRType::A || t == RRType::AAAA || t == RRType::TXT;
}

std::string record_key(const std::string& owner, uint32_t ttl, RRType type, std::span<const uint8_t> rdata) {
    std::string k;
    for (char c : owner) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    k += " " + std::to_string(ttl) + " " + std::to_string(dns::to_u16(type)) + " ";
    k.append(rdata.begin(), rdata.end());
    return k;
}

RecordSet record_set(const zone::ZoneVersion& v) {
    RecordSet s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (tracked(r.type)) s.insert(record_key(r.owner.to_string(), r.ttl, r.type, r.rdata));
    }
    return s;
}

struct ZoneUnderTest {
    std::shared_ptr<zone::Zone> zone;
    std::map<uint32_t, RecordSet> generations;  // by serial
};

struct Fixture {
    std::filesystem::path dir;
    zone::ZoneStore store;
    std::map<std::string, ZoneUnderTest> zones;  // by Name::key()
    std::unique_ptr<xfr::Responder> responder;

    Fixture() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "hw-fuzz-ixfr-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) fuzz::fuzz_fail("mkdtemp");
        dir = tmpl;
        xfr::ResponderOptions options;
        std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
        for (const char* origin : {"example.com.", "ratio.example.", "plain.example."}) {
            const dns::Name apex = fuzz::name(origin);
            const auto file = dir / (std::string(origin) + "zone");
            const bool history = std::string_view(origin) != "plain.example.";
            ZoneUnderTest zt;
            zt.zone = std::make_shared<zone::Zone>(
                zone::ZoneSettings{apex, file, history ? dir / "state" : std::filesystem::path()});
            auto now = zone::Clock::time_point(std::chrono::seconds(fuzz::kNow));
            for (std::size_t g = 0; g < std::size(kSerials); ++g) {
                std::ofstream(file) << generation_text(g);
                auto r = g == 0 ? zt.zone->open(now) : zt.zone->reload(now);
                if (r.outcome != zone::ReloadOutcome::Updated || !r.serial ||
                    r.serial->value() != kSerials[g])
                    fuzz::fuzz_fail("harness reload", std::string(origin) + " " + r.error + " " + r.note);
                zt.generations[kSerials[g]] = record_set(*zt.zone->current());
                now += std::chrono::seconds(60);
            }
            if (history && zt.zone->journal()->entries().size() != std::size(kSerials) - 1)
                fuzz::fuzz_fail("harness journal lacks history", origin);
            store.add(zt.zone);
            acls[apex.key()] = {xfr::AclRule{
                "local", {dns::IpNetwork::parse("127.0.0.0/8").value()}, {}, {}, {}, {}, {}, {}}};
            if (std::string_view(origin) == "ratio.example.") options.max_ixfr_ratio[apex.key()] = 0.0001;
            zones.emplace(apex.key(), std::move(zt));
        }
        responder = std::make_unique<xfr::Responder>(store, std::move(acls), nullptr, options);
    }

    ~Fixture() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

struct AnswerRecord {
    bool soa = false;
    uint32_t serial = 0;  // SOA
    RRType type{};
    std::string key;  // tracked types
};

// Checks an IXFR answer (all its messages) as a client would apply it.
void check_ixfr_answer(const Fixture& f, const dns::Message& query,
                       const std::vector<std::vector<uint8_t>>& messages) {
    const auto zit = f.zones.find(query.question()->qname.key());
    std::vector<AnswerRecord> recs;
    for (const auto& w : messages) {
        auto m = dns::Message::parse(w);
        if (!m) fuzz::fuzz_fail("answer does not parse");
        if (m->header().rcode() != 0) return;  // refusals and FORMERR are checked by check_answer only
        for (const auto& r : m->records()) {
            if (r.section != dns::Section::Answer) continue;
            AnswerRecord a;
            a.type = r.type;
            if (r.type == RRType::SOA) {
                a.soa = true;
                a.serial = fuzz::soa_serial(*m, r);
            } else if (tracked(r.type)) {
                a.key = record_key(r.owner.to_string(), r.ttl, r.type, r.rdata);
            }
            recs.push_back(std::move(a));
        }
    }
    if (recs.empty()) fuzz::fuzz_fail("IXFR answer without records");
    if (zit == f.zones.end()) fuzz::fuzz_fail("NOERROR IXFR answer for a zone we do not serve");
    const auto served = zit->second.zone->current();
    const uint32_t served_serial = served->serial().value();
    if (!recs.front().soa || recs.front().serial != served_serial)
        fuzz::fuzz_fail("IXFR answer does not open with the served SOA");
    if (recs.size() == 1) return;  // SOA only: up to date, or does not fit UDP
    if (!recs.back().soa || recs.back().serial != served_serial)
        fuzz::fuzz_fail("IXFR answer does not close with the served SOA");
    const RecordSet& expected = zit->second.generations.at(served_serial);

    if (!recs[1].soa) {  // AXFR form (the apex NS sorts before nothing: a second SOA means IXFR form)
        if (recs.size() != served->size() + 1) fuzz::fuzz_fail("AXFR-form answer with a wrong record count");
        RecordSet got;
        for (std::size_t i = 1; i + 1 < recs.size(); ++i) {
            if (recs[i].soa) fuzz::fuzz_fail("SOA inside an AXFR-form answer");
            if (!recs[i].key.empty() && !got.insert(recs[i].key).second) fuzz::fuzz_fail("record sent twice");
        }
        if (got != expected) fuzz::fuzz_fail("AXFR-form answer differs from the served version");
        return;
    }

    // Incremental form: the client's serial, then per step: old SOA, deletions, new SOA, additions.
    const auto client = xfr::ixfr_client_serial(query);
    if (!client) fuzz::fuzz_fail("incremental answer to a query without a client serial");
    if (recs[1].serial != client->value()) fuzz::fuzz_fail("incremental answer starts from another serial");
    const auto from = zit->second.generations.find(client->value());
    if (from == zit->second.generations.end())
        fuzz::fuzz_fail("incremental answer from a serial we never served");
    RecordSet zone = from->second;
    uint32_t at = client->value();
    std::size_t i = 1;
    while (true) {
        if (i >= recs.size() || !recs[i].soa) fuzz::fuzz_fail("IXFR framing: expected an old SOA");
        if (i + 1 == recs.size()) break;  // the closing SOA
        if (recs[i].serial != at) fuzz::fuzz_fail("IXFR step does not start where the last ended");
        for (++i; i < recs.size() && !recs[i].soa; ++i)
            if (!recs[i].key.empty() && zone.erase(recs[i].key) != 1)
                fuzz::fuzz_fail("IXFR deletes a record not held");
        if (i >= recs.size()) fuzz::fuzz_fail("IXFR framing: expected a new SOA");
        at = recs[i].serial;
        for (++i; i < recs.size() && !recs[i].soa; ++i)
            if (!recs[i].key.empty() && !zone.insert(recs[i].key).second)
                fuzz::fuzz_fail("IXFR adds a record held");
    }
    if (at != served_serial) fuzz::fuzz_fail("IXFR steps end at another serial than the served one");
    if (zone != expected) fuzz::fuzz_fail("applying the IXFR does not give the served version");
}

void answer(const Fixture& f, std::span<const uint8_t> wire, xfr::Transport transport) {
    const xfr::Peer peer{*dns::IpAddress::parse("127.0.0.1"), 5353, transport};
    auto r = f.responder->respond(wire, peer, fuzz::kNow);
    std::vector<std::vector<uint8_t>> messages;
    switch (r.kind) {
        case xfr::Response::Kind::Drop:
            return;
        case xfr::Response::Kind::Message:
            fuzz::check_answer(wire, r.message, transport);
            messages.push_back(std::move(r.message));
            break;
        case xfr::Response::Kind::Transfer:
            if (transport != xfr::Transport::Tcp) fuzz::fuzz_fail("a transfer stream over UDP");
            messages = fuzz::drain(wire, *r.transfer, fuzz::kNow);
            break;
    }
    auto q = dns::Message::parse(wire);
    if (q && q->question() && q->question()->qtype == RRType::IXFR && !q->tsig() &&
        q->header().opcode() == dns::Opcode::Query && !(q->edns() && q->edns()->version != 0))
        check_ixfr_answer(f, *q, messages);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the entry point libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const Fixture fixture;
    const std::span<const uint8_t> wire(data, size);
    answer(fixture, wire, xfr::Transport::Udp);
    answer(fixture, wire, xfr::Transport::Tcp);
    return 0;
}
