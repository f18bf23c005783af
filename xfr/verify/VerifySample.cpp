#include "xfr/verify/VerifySample.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "zone/dns/UncompressedRecord.h"
#include "zone/dns/WireReader.h"

namespace headwater::verify {

namespace {

using dns::RRType;
using zone::RecordView;
using zone::ZoneVersion;

// Never asked as a question type. RRSIG: servers answer a direct RRSIG query in different ways (all
// signatures, a refusal, a minimal answer), and signatures are compared by the AXFR check only. NSEC3:
// its owners are hashes, not names of the zone's tree (RFC 5155 §7.2.8: not answered like data).
bool never_asked(RRType type) {
    return type == RRType::RRSIG || type == RRType::NSEC3;
}

// splitmix64 (Steele, Lea, Flood 2014): tiny, and the same sequence on every platform, unlike the
// distributions of <random> whose algorithms the standard leaves to the implementation.
uint64_t next_random(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::vector<WireRecord> records_of(const ZoneVersion& v, ZoneVersion::Range r) {
    std::vector<WireRecord> out;
    out.reserve(r.end - r.begin);
    for (std::size_t i = r.begin; i < r.end; ++i) {
        const auto w = v.record(i).wire;
        out.emplace_back(w.begin(), w.end());
    }
    return out;
}

// The same records owned by `owner` (a wildcard's RRset as synthesised for a name, RFC 4592 §4.1).
std::vector<WireRecord> records_as(const ZoneVersion& v, ZoneVersion::Range r, dns::NameView owner) {
    std::vector<WireRecord> out;
    out.reserve(r.end - r.begin);
    for (std::size_t i = r.begin; i < r.end; ++i) {
        const RecordView rec = v.record(i);
        WireRecord w(owner.wire().begin(), owner.wire().end());
        w.insert(w.end(), rec.wire.begin() + static_cast<std::ptrdiff_t>(rec.owner.size()), rec.wire.end());
        out.push_back(std::move(w));
    }
    return out;
}

// Where a name stands in the served version's tree.
struct Position {
    enum class Kind : uint8_t {
        Outside,  // not in the zone
        Authoritative,
        AtCut,       // owns NS records and is not the apex: a delegation (RFC 1034 §4.2.1)
        BelowCut,    // below a delegation: glue or occluded data
        BelowDname,  // below a DNAME: answered by synthesis (RFC 6672 §2.3), never from its own data
    };
    Kind kind = Kind::Outside;
    ZoneVersion::Range cut_ns;  // the delegation's NS RRset (AtCut, BelowCut)
};

Position classify(const ZoneVersion& v, dns::NameView name) {
    const dns::NameView apex = v.apex();
    if (!dns::is_subdomain(name, apex)) return {};
    const std::size_t depth = name.label_count() - apex.label_count();
    // From the apex down, the first cut or DNAME decides.
    for (std::size_t j = depth + 1; j-- > 0;) {
        const dns::NameView ancestor = name.parent(j);
        if (j != depth) {
            const auto ns = v.find_rrset(ancestor, RRType::NS);
            if (!ns.empty()) return {j == 0 ? Position::Kind::AtCut : Position::Kind::BelowCut, ns};
        }
        if (j != 0 && !v.find_rrset(ancestor, RRType::DNAME).empty()) return {Position::Kind::BelowDname, {}};
    }
    return {Position::Kind::Authoritative, {}};
}

SampleQuery make_query(dns::NameView name, RRType type, SampleQuery::Expect expect,
                       std::vector<WireRecord> records) {
    SampleQuery q;
    q.name = dns::Name::from_wire(name.wire()).value();
    q.type = type;
    q.expect = expect;
    q.records = std::move(records);
    return q;
}

// What a correct secondary answers to (name, type), from the served version; nothing when the answer
// is not one this check compares (CNAME chains, DNAME synthesis, parent-side DNSSEC records at a cut).
std::optional<SampleQuery> expectation(const ZoneVersion& v, dns::NameView name, RRType type) {
    using Expect = SampleQuery::Expect;
    const Position pos = classify(v, name);
    switch (pos.kind) {
        case Position::Kind::Outside:
        case Position::Kind::BelowDname:
            return std::nullopt;
        case Position::Kind::BelowCut:
            return make_query(name, type, Expect::Referral, records_of(v, pos.cut_ns));
        case Position::Kind::AtCut:
            if (type ==
                RRType::DS) {  // the parent side of the cut is authoritative for DS (RFC 4035 §3.1.4.1)
                const auto ds = v.find_rrset(name, RRType::DS);
                return ds.empty() ? make_query(name, type, Expect::NoData, {})
                                  : make_query(name, type, Expect::Answer, records_of(v, ds));
            }
            // NSEC and RRSIG at a cut belong to the parent too, but servers differ in how they answer a
            // direct query for them; everything else at a cut gets a referral.
            if (type == RRType::NSEC || type == RRType::RRSIG) return std::nullopt;
            return make_query(name, type, Expect::Referral, records_of(v, pos.cut_ns));
        case Position::Kind::Authoritative:
            break;
    }
    // A CNAME answers every other type with itself and its chain (RFC 1034 §4.3.2 step 3a).
    if (type != RRType::CNAME && !v.find_rrset(name, RRType::CNAME).empty()) return std::nullopt;
    if (const auto rrset = v.find_rrset(name, type); !rrset.empty())
        return make_query(name, type, Expect::Answer, records_of(v, rrset));
    if (v.name_exists(name)) return make_query(name, type, Expect::NoData, {});

    // The name does not exist: a wildcard at the closest encloser may still answer (RFC 4592 §3.3.1).
    const dns::NameView apex = v.apex();
    std::size_t up = 1;
    while (!(name.parent(up) == apex) && !v.name_exists(name.parent(up))) ++up;
    const dns::NameView encloser = name.parent(up);
    std::vector<uint8_t> wild = {1, '*'};
    wild.insert(wild.end(), encloser.wire().begin(), encloser.wire().end());
    if (wild.size() > dns::kMaxNameLength || v.find_name(dns::NameView(wild)).empty())
        return make_query(name, type, Expect::NxDomain, {});
    const dns::NameView source(wild);
    if (type != RRType::CNAME && !v.find_rrset(source, RRType::CNAME).empty()) return std::nullopt;
    if (const auto rrset = v.find_rrset(source, type); !rrset.empty())
        return make_query(name, type, Expect::Answer, records_as(v, rrset, name));
    return make_query(name, type, Expect::NoData, {});
}

// (lower-cased owner, type): what "no (name, type) twice" compares.
using SampleKey = std::pair<std::string, uint16_t>;
SampleKey sample_key(dns::NameView name, RRType type) {
    return {name.key(), dns::to_u16(type)};
}

// A changeset's removed and added records in one canonical sequence.
std::vector<RecordView> touched(const zone::Changeset& cs) {
    std::vector<RecordView> out;
    out.reserve(cs.removed_count() + cs.added_count());
    std::size_t r = 0, a = 0;
    while (r < cs.removed_count() || a < cs.added_count()) {
        if (a == cs.added_count() ||
            (r < cs.removed_count() && zone::compare_records(cs.removed(r), cs.added(a)) <= 0))
            out.push_back(cs.removed(r++));
        else
            out.push_back(cs.added(a++));
    }
    return out;
}

void sort_records(std::vector<WireRecord>& records) {
    std::sort(records.begin(), records.end(), [](const WireRecord& a, const WireRecord& b) {
        const int c = zone::compare_records(zone::decode_record(a), zone::decode_record(b));
        return c != 0 ? c < 0 : a < b;
    });
}

}  // namespace

std::string_view to_string(SampleQuery::Expect expect) {
    switch (expect) {
        case SampleQuery::Expect::Answer:
            return "answer";
        case SampleQuery::Expect::NoData:
            return "nodata";
        case SampleQuery::Expect::NxDomain:
            return "nxdomain";
        case SampleQuery::Expect::Referral:
            return "referral";
    }
    return "answer";
}

std::vector<SampleQuery> select_sample(const zone::ZoneVersion& served,
                                       std::span<const zone::Changeset> recent, std::size_t random_count,
                                       uint64_t seed, std::size_t max_changed) {
    std::vector<SampleQuery> out;
    std::set<SampleKey> seen;

    // Every apex RRset (the SOA included: the caller also compares serials, but a stale SOA is drift).
    const auto apex = served.find_name(served.apex());
    for (std::size_t i = apex.begin; i < apex.end; ++i) {
        const RecordView r = served.record(i);
        if (never_asked(r.type) || !seen.insert(sample_key(r.owner, r.type)).second) continue;
        if (auto q = expectation(served, r.owner, r.type)) {
            q->reason = "apex";
            out.push_back(std::move(*q));
        }
    }

    // What the journal says changed, newest first: the likeliest to have been missed.
    std::size_t changed = 0;
    for (auto cs = recent.rbegin(); cs != recent.rend() && changed < max_changed; ++cs) {
        for (const RecordView& r : touched(*cs)) {
            if (changed == max_changed) break;
            if (never_asked(r.type) || !seen.insert(sample_key(r.owner, r.type)).second) continue;
            auto q = expectation(served, r.owner, r.type);
            if (!q) continue;
            q->reason = served.find_rrset(r.owner, r.type).empty() ? "removed" : "changed";
            out.push_back(std::move(*q));
            ++changed;
        }
    }

    // Random RRsets, drawn by record (an RRset's chance grows with its size). Glue and data below a cut
    // are left out: a secondary only refers there, and the cut itself is asked as a referral.
    const std::size_t n = served.size();
    if (random_count == 0 || n == 0) return out;
    std::size_t taken = 0;
    auto consider = [&](std::size_t index) {
        const RecordView r = served.record(index);
        if (never_asked(r.type) || !seen.insert(sample_key(r.owner, r.type)).second) return;
        const Position pos = classify(served, r.owner);
        if (pos.kind == Position::Kind::BelowCut) return;
        if (pos.kind == Position::Kind::AtCut && r.type != RRType::NS && r.type != RRType::DS) return;
        auto q = expectation(served, r.owner, r.type);
        if (!q) return;
        q->reason = "random";
        out.push_back(std::move(*q));
        ++taken;
    };
    uint64_t state = seed;
    // Draws with replacement find new RRsets quickly in a large zone; when they keep hitting ones already
    // taken (a small zone, or few eligible RRsets), a sweep from a random record finishes the job, so a
    // small zone is covered whole.
    const std::size_t attempts = 8 * random_count + 64;
    for (std::size_t k = 0; k < attempts && taken < random_count; ++k)
        consider(static_cast<std::size_t>(next_random(state) % n));
    const auto start = static_cast<std::size_t>(next_random(state) % n);
    for (std::size_t k = 0; k < n && taken < random_count; ++k) consider((start + k) % n);
    return out;
}

namespace {

// The records of a response that check_answer() compares.
struct Picked {
    std::vector<WireRecord> answer;    // the RRset asked for
    std::vector<WireRecord> cname;     // a CNAME in its place
    std::vector<WireRecord> referral;  // the referral's NS RRset
    bool malformed = false;
    bool soa_in_authority = false;
};

// Picks out the records compared: the RRset asked for, a CNAME in its place, the referral's NS RRset;
// each uncompressed and sorted.
Picked pick_records(const SampleQuery& q, const dns::Message& response) {
    std::optional<dns::NameView> cut;  // the delegation the referral should name
    if (q.expect == SampleQuery::Expect::Referral && !q.records.empty()) {
        const auto& first = q.records.front();
        if (zone::record_wire_length(first) == first.size()) cut = zone::decode_record(first).owner;
    }
    Picked p;
    for (const dns::RecordRef& rec : response.records()) {
        std::vector<WireRecord>* into = nullptr;
        if (rec.section == dns::Section::Answer && rec.owner.view() == q.name.view()) {
            if (rec.type == q.type)
                into = &p.answer;
            else if (rec.type == RRType::CNAME)
                into = &p.cname;
        } else if (rec.section == dns::Section::Authority) {
            if (rec.type == RRType::SOA) p.soa_in_authority = true;
            if (rec.type == RRType::NS && (!cut || rec.owner.view() == *cut)) into = &p.referral;
        }
        if (into == nullptr) continue;
        WireRecord w = dns::uncompressed_record(response, rec);
        if (w.empty())
            p.malformed = true;
        else
            into->push_back(std::move(w));
    }
    sort_records(p.answer);
    sort_records(p.cname);
    sort_records(p.referral);
    return p;
}

}  // namespace

SampleResult check_answer(const SampleQuery& q, const dns::Message& response) {
    using Expect = SampleQuery::Expect;
    SampleResult res;
    const dns::Header& h = response.header();
    Picked picked = pick_records(q, response);
    auto& [answer, cname, referral, malformed, soa_in_authority] = picked;

    auto fail = [&](std::string detail, std::vector<WireRecord> theirs) {
        res.match = false;
        res.detail = std::move(detail);
        res.theirs = std::move(theirs);
        return res;
    };
    const std::string type = dns::to_string(q.type);

    if (const auto& question = response.question();
        question && (!(question->qname.view() == q.name.view()) || question->qtype != q.type))
        return fail("answers another question (" + question->qname.to_string() + " " +
                        dns::to_string(question->qtype) + ")",
                    {});
    // The full RCODE: the upper bits travel in OPT (RFC 6891 §6.1.3).
    const auto rcode = static_cast<dns::Rcode>(
        h.rcode() | (response.edns() ? static_cast<uint16_t>(response.edns()->extended_rcode << 4) : 0));
    const auto expected_rcode = q.expect == Expect::NxDomain ? dns::Rcode::NXDomain : dns::Rcode::NoError;
    if (rcode != expected_rcode)
        return fail("rcode " + dns::to_string(rcode) + ", expected " + dns::to_string(expected_rcode),
                    q.expect == Expect::Referral ? std::move(referral) : std::move(answer));
    if (malformed) return fail("malformed record in the response", {});
    // A referral comes from the parent side of a cut, which is not authoritative there (RFC 1034 §4.3.2
    // step 3b: AA is left clear).
    const bool aa = (h.flags & dns::flag::AA) != 0;
    if (q.expect != Expect::Referral && !aa)
        return fail("not authoritative (AA clear)",
                    q.expect == Expect::Answer ? std::move(answer) : std::vector<WireRecord>{});
    if (q.type != RRType::CNAME && !cname.empty())
        return fail("CNAME at the name, expected " + type, std::move(cname));

    switch (q.expect) {
        case Expect::Answer:
            if (answer.empty()) return fail("no " + type + " in the answer", {});
            if (!same_records(q.records, answer)) return fail("answer differs", std::move(answer));
            break;
        case Expect::NoData:
        case Expect::NxDomain:
            if (!answer.empty())
                return fail(type + " in the answer, expected " +
                                std::string(q.expect == Expect::NoData ? "NODATA" : "NXDOMAIN"),
                            std::move(answer));
            // RFC 2308 §3: a negative answer carries the zone's SOA. Its content is not compared here
            // (the serial is checked on its own).
            if (!soa_in_authority) return fail("no SOA in the authority section", {});
            break;
        case Expect::Referral:
            if (referral.empty()) {
                // Answering from the child zone (a secondary that serves both) looks like this too.
                return fail(aa ? "no referral: answered authoritatively (serves the child zone too?)"
                               : "no referral (no NS RRset in the authority section)",
                            std::move(answer));
            }
            if (!same_records(q.records, referral)) return fail("referral differs", std::move(referral));
            res.theirs = std::move(referral);
            res.match = true;
            return res;
    }
    res.match = true;
    res.theirs = std::move(answer);
    return res;
}

}  // namespace headwater::verify
