#include "zone/answer/QueryAnswer.h"

namespace headwater::answer {

using dns::Rcode;
using dns::RRType;
using dns::Section;
using zone::RecordView;
using zone::ZoneVersion;

namespace {

constexpr int kMaxCnameChain = 8;

uint16_t covered_type(const RecordView& rrsig) {
    return rrsig.rdata.size() >= 2 ? static_cast<uint16_t>((rrsig.rdata[0] << 8) | rrsig.rdata[1]) : 0;
}

}  // namespace

QueryAnswer::QueryAnswer(const ZoneVersion& v, dns::MessageBuilder& mb, bool dnssec_ok)
    : v_(v), mb_(mb), dnssec_ok_(dnssec_ok), dnssec_(dnssec_ok && v.is_signed()), proof_(v, dnssec_) {}

bool QueryAnswer::push(Section section, const RecordView& rec, dns::NameView owner, uint32_t ttl) {
    if (truncated_) return false;
    if (mb_.push(section, owner, dns::to_u16(rec.type), rec.rclass, ttl, rec.rdata) == dns::Pushed::Full) {
        // RFC 2181 §9: a partial answer or authority section is flagged TC; additional data is optional.
        if (section != Section::Additional) truncated_ = true;
        return false;
    }
    return true;
}

void QueryAnswer::push_range(Section section, ZoneVersion::Range range, std::optional<dns::NameView> owner) {
    for (std::size_t i = range.begin; i < range.end; ++i) {
        const RecordView rec = v_.record(i);
        if (!push(section, rec, owner ? *owner : rec.owner, rec.ttl)) return;
    }
}

void QueryAnswer::push_rrset(Section section, ZoneVersion::Range rrset, std::optional<dns::NameView> owner) {
    push_range(section, rrset, owner);
    if (!dnssec_ || rrset.empty()) return;
    // RFC 4035 §3.1.1: every RRset in the answer and authority sections with the RRSIGs covering it.
    const RecordView first = v_.record(rrset.begin);
    push_range(section, v_.find_rrsigs(first.owner, first.type), owner);
}

void QueryAnswer::push_any(ZoneVersion::Range names, std::optional<dns::NameView> owner) {
    for (std::size_t i = names.begin; i < names.end; ++i) {
        const RecordView rec = v_.record(i);
        // The NSEC of a wildcard describes the wildcard's owner, never a name synthesised from it.
        if (owner && (rec.type == RRType::NSEC ||
                      (rec.type == RRType::RRSIG && covered_type(rec) == dns::to_u16(RRType::NSEC))))
            continue;
        if (!push(Section::Answer, rec, owner ? *owner : rec.owner, rec.ttl)) return;
    }
}

void QueryAnswer::push_glue(ZoneVersion::Range ns) {
    for (std::size_t i = ns.begin; i < ns.end; ++i) {
        const dns::NameView target(v_.record(i).rdata);
        if (!dns::is_subdomain(target, v_.apex())) continue;
        push_range(Section::Additional, v_.find_rrset(target, RRType::A));
        push_range(Section::Additional, v_.find_rrset(target, RRType::AAAA));
    }
}

bool QueryAnswer::build(dns::NameView qname, RRType qtype) {
    qtype_ = qtype;
    current_ = dns::Name::from_wire(qname.wire()).value();
    // RFC 1034 §4.3.2 steps 3a-3c for the query name and for every name a CNAME or DNAME leads to.
    for (int chain = 0; chain <= kMaxCnameChain && !truncated_; ++chain)
        if (resolve() == Step::Done) break;
    finish_sections();
    return truncated_;
}

QueryAnswer::Step QueryAnswer::follow(dns::NameView target) {
    // A target outside the zone ends the answer: the client resolves the rest.
    if (truncated_ || !dns::is_subdomain(target, v_.apex())) return Step::Done;
    current_ = dns::Name::from_wire(target.wire()).value();
    return Step::Follow;
}

QueryAnswer::Step QueryAnswer::resolve() {
    // Walking down from the apex: a zone cut above (or at) the name means a referral, which also ends a
    // chain that reached it (RFC 1034 §4.3.2 step 3b, as Knot and BIND answer); a DNAME above the name
    // redirects it (RFC 6672 §3.2).
    const std::size_t apex_labels = v_.apex().label_count();
    const std::size_t labels = current_.view().label_count();
    for (std::size_t depth = apex_labels; depth <= labels; ++depth) {
        const dns::NameView cut = current_.view().parent(labels - depth);
        // DS lives on the parent side of the cut (RFC 4035 §3.1.4.1), so a DS query at the cut is ours.
        const bool ds_at_cut = depth == labels && qtype_ == RRType::DS;
        if (depth > apex_labels && !ds_at_cut) {
            const auto ns = v_.find_rrset(cut, RRType::NS);
            if (!ns.empty()) {
                // Below a cut we are not authoritative; AA stays only for what a chain added before.
                cut_ = dns::Name::from_wire(cut.wire()).value();
                cut_ns_ = ns;
                return Step::Done;
            }
        }
        if (depth == labels) break;
        const auto dname = v_.find_rrset(cut, RRType::DNAME);
        if (!dname.empty()) return redirect_by_dname(cut, dname);
    }

    mb_.add_flags(dns::flag::AA);
    const auto names = v_.find_name(current_);
    if (names.empty()) return answer_missing_name();
    if (qtype_ == RRType::ANY) {
        push_any(names);
        return Step::Done;
    }
    if (const auto rrset = v_.find_rrset(current_, qtype_); !rrset.empty()) {
        push_rrset(Section::Answer, rrset);
        return Step::Done;
    }
    if (const auto cname = v_.find_rrset(current_, RRType::CNAME); !cname.empty()) {
        push_rrset(Section::Answer, cname);
        return follow(dns::NameView(v_.record(cname.begin).rdata));
    }
    negative_ = true;  // NODATA (RFC 2308 §2.2)
    proof_.no_data(current_);
    return Step::Done;
}

QueryAnswer::Step QueryAnswer::redirect_by_dname(dns::NameView owner, ZoneVersion::Range dname) {
    // RFC 6672 §3.2: the DNAME (signed), then a CNAME synthesised from it with the DNAME's TTL (unsigned:
    // a validator checks it against the DNAME, RFC 6672 §5.3.1).
    mb_.add_flags(dns::flag::AA);
    push_rrset(Section::Answer, dname);
    const RecordView d = v_.record(dname.begin);
    const auto cwire = current_.wire();
    std::vector<uint8_t> target(cwire.begin(), cwire.end() - static_cast<std::ptrdiff_t>(owner.size()));
    target.insert(target.end(), d.rdata.begin(), d.rdata.end());
    if (target.size() > dns::kMaxNameLength) {
        mb_.set_rcode(Rcode::YXDomain);  // §2.2: the substituted name would be too long
        return Step::Done;
    }
    RecordView cname = d;
    cname.type = RRType::CNAME;
    cname.rdata = target;
    if (!push(Section::Answer, cname, current_, d.ttl)) return Step::Done;
    return follow(dns::NameView(target));
}

QueryAnswer::Step QueryAnswer::answer_missing_name() {
    if (v_.name_exists(current_)) {
        negative_ = true;  // an empty non-terminal: NODATA, not NXDOMAIN (RFC 8020)
        proof_.no_data(current_);
        return Step::Done;
    }
    // RFC 4592 §3.3.1: a wildcard at the closest encloser answers for names that do not exist.
    dns::NameView encloser = current_.view();
    while (!(encloser == v_.apex()) && !v_.name_exists(encloser)) encloser = encloser.parent();
    const auto wild = wildcard_of(encloser);
    const auto wild_names = wild.empty() ? ZoneVersion::Range{} : v_.find_name(dns::NameView(wild));
    if (wild_names.empty()) {
        // RFC 6604 §3: after a CNAME the rcode describes the last name in the chain.
        mb_.set_rcode(Rcode::NXDomain);
        negative_ = true;
        proof_.name_error(current_, encloser);
        return Step::Done;
    }
    const dns::NameView wname(wild);
    const dns::NameView here = current_.view();
    if (qtype_ == RRType::ANY) {
        push_any(wild_names, here);
        proof_.wildcard_answer(here, encloser);
        return Step::Done;
    }
    if (const auto rrset = v_.find_rrset(wname, qtype_); !rrset.empty()) {
        push_rrset(Section::Answer, rrset, here);
        proof_.wildcard_answer(here, encloser);
        return Step::Done;
    }
    if (const auto cname = v_.find_rrset(wname, RRType::CNAME); !cname.empty()) {
        push_rrset(Section::Answer, cname, here);
        proof_.wildcard_answer(here, encloser);
        return follow(dns::NameView(v_.record(cname.begin).rdata));
    }
    negative_ = true;  // NODATA at the wildcard (RFC 2308 §2.2)
    proof_.wildcard_no_data(here, encloser);
    return Step::Done;
}

void QueryAnswer::finish_sections() {
    if (cut_) {
        // The referral: the cut's NS (never signed: the child's data, RFC 4035 §2.2), then its DS with
        // RRSIGs or, for an unsigned delegation, the proof that there is no DS (RFC 4035 §3.1.4).
        push_range(Section::Authority, cut_ns_);
        const auto ds = v_.find_rrset(*cut_, RRType::DS);
        if (dnssec_ok_) push_rrset(Section::Authority, ds);
        if (dnssec_ && ds.empty()) proof_.no_data(*cut_);
    } else if (negative_) {
        // RFC 2308 §3: the SOA in the authority section, its TTL capped by MINIMUM; its RRSIGs with the
        // same TTL, as Knot sends them.
        const RecordView soa = v_.soa();
        push(Section::Authority, soa, soa.owner, v_.negative_ttl());
        if (dnssec_) {
            const auto sigs = v_.find_rrsigs(soa.owner, RRType::SOA);
            for (std::size_t i = sigs.begin; i < sigs.end; ++i)
                push(Section::Authority, v_.record(i), soa.owner, v_.negative_ttl());
        }
    }
    if (dnssec_) {
        for (const std::size_t i : proof_.records()) {
            const RecordView rec = v_.record(i);
            push(Section::Authority, rec, rec.owner, rec.ttl);
            push_range(Section::Authority, v_.find_rrsigs(rec.owner, rec.type));
        }
    }
    if (cut_) push_glue(cut_ns_);
}

}  // namespace headwater::answer
