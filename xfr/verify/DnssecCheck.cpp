#include "xfr/verify/DnssecCheck.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "zone/dns/UncompressedRecord.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/RrsigCheck.h"

namespace headwater::verify {

namespace {

using zone::RecordView;
using SetKey = std::pair<std::string, uint16_t>;  // owner (NameView::key), type (covered, for RRSIGs)

// The RRsets of some records and the RRSIGs covering each, keyed alike.
struct Grouped {
    std::map<SetKey, std::vector<RecordView>> sets;
    std::map<SetKey, std::vector<RecordView>> rrsigs;

    void add(const RecordView& r) {
        if (r.type == dns::RRType::RRSIG) {
            if (const auto s = sign::read_rrsig(r.rdata))
                rrsigs[{r.owner.key(), dns::to_u16(s->covered)}].push_back(r);
            else
                rrsigs[{r.owner.key(), 0}].push_back(r);  // malformed: shown by no RRset, not checked
            return;
        }
        sets[{r.owner.key(), dns::to_u16(r.type)}].push_back(r);
    }
    std::span<const RecordView> rrsigs_of(const SetKey& k) const {
        const auto it = rrsigs.find(k);
        return it == rrsigs.end() ? std::span<const RecordView>() : std::span<const RecordView>(it->second);
    }
};

std::vector<uint16_t> tags_not_in(const std::vector<std::vector<uint8_t>>& from,
                                  const std::vector<std::vector<uint8_t>>& other) {
    std::vector<uint16_t> out;
    for (const auto& rdata : from)
        if (!std::binary_search(other.begin(), other.end(), rdata)) out.push_back(sign::key_tag(rdata));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

bool DnssecCheck::applies(const zone::ZoneVersion& served) {
    return !served.find_rrset(served.apex(), dns::RRType::DNSKEY).empty();
}

DnssecCheck::DnssecCheck(const zone::ZoneVersion& served, int64_t now, uint32_t warn_within,
                         std::size_t max_listed)
    : apex_(dns::Name::from_wire(served.apex().wire()).value()), now_(now), max_listed_(max_listed) {
    result_.warn_within = warn_within;
    const auto range = served.find_rrset(served.apex(), dns::RRType::DNSKEY);
    for (std::size_t i = range.begin; i < range.end; ++i) {
        const auto rdata = served.record(i).rdata;
        served_dnskeys_.emplace_back(rdata.begin(), rdata.end());
        if (auto key = sign::DnssecKey::from_dnskey(rdata)) keys_.push_back(std::move(*key));
    }
    std::sort(served_dnskeys_.begin(), served_dnskeys_.end());
}

void DnssecCheck::dnskey_failed(std::string why) {
    result_.dnskey_match = false;
    result_.dnskey_error = std::move(why);
}

void DnssecCheck::check_dnskey_answer(const dns::Message& response) {
    if (response.header().rcode() != 0)
        return dnskey_failed("answered " +
                             dns::to_string(static_cast<dns::Rcode>(response.header().rcode())));
    if ((response.header().flags & dns::flag::AA) == 0) return dnskey_failed("not authoritative (AA clear)");
    // DNSKEY RDATA holds no names (RFC 4034 §2.2): its canonical form is the RDATA as it is.
    std::vector<std::vector<uint8_t>> theirs;
    for (const auto& rr : response.records())
        if (rr.section == dns::Section::Answer && rr.type == dns::RRType::DNSKEY && rr.owner.view() == apex_)
            theirs.emplace_back(rr.rdata.begin(), rr.rdata.end());
    std::sort(theirs.begin(), theirs.end());
    theirs.erase(std::unique(theirs.begin(), theirs.end()), theirs.end());
    if (theirs.empty()) result_.dnskey_error = "no DNSKEY RRset in the answer";
    result_.missing_tags = tags_not_in(served_dnskeys_, theirs);
    result_.extra_tags = tags_not_in(theirs, served_dnskeys_);
    result_.dnskey_match = theirs == served_dnskeys_;
    check_response(response);
}

void DnssecCheck::check_response(const dns::Message& response) {
    std::vector<std::vector<uint8_t>> wires;  // the records' bytes: the views below point into them
    bool dname = false;
    for (const auto& rr : response.records()) {
        if (rr.section == dns::Section::Additional || !dns::is_subdomain(rr.owner.view(), apex_)) continue;
        auto wire = dns::uncompressed_record(response, rr);
        if (wire.empty()) continue;  // the content check reports malformed answers
        dname = dname || rr.type == dns::RRType::DNAME;
        wires.push_back(std::move(wire));
    }
    Grouped g;
    for (const auto& w : wires) g.add(zone::decode_record(w));
    for (const auto& [key, rrset] : g.sets) {
        const auto type = rrset.front().type;
        // RFC 4035 §2.2: the NS RRset of a delegation is not signed (only the child signs it).
        if (type == dns::RRType::NS && !(rrset.front().owner == apex_)) continue;
        // RFC 6672 §5.3.1: the CNAME a server synthesizes from a DNAME carries no RRSIG.
        if (type == dns::RRType::CNAME && dname) continue;
        check_rrset(rrset, g.rrsigs_of(key));
    }
}

void DnssecCheck::check_copy(std::span<const WireRecord> records, std::span<const SampleQuery> sample) {
    std::set<SetKey> wanted;
    for (const auto& q : sample)
        if (q.expect == SampleQuery::Expect::Answer) wanted.emplace(q.name.key(), dns::to_u16(q.type));
    Grouped g;
    for (const auto& w : records) {
        if (w.empty()) continue;
        const RecordView r = zone::decode_record(w);
        // Not an optional: GCC 12 takes its fields for uninitialized under -O2.
        sign::RrsigSummary sig{};
        bool is_rrsig = false;
        if (r.type == dns::RRType::RRSIG) {
            if (const auto s = sign::read_rrsig(r.rdata)) {
                sig = *s;
                is_rrsig = true;
            }
        }
        const SetKey key{r.owner.key(), dns::to_u16(is_rrsig ? sig.covered : r.type)};
        if (wanted.contains(key)) {
            g.add(r);
            continue;
        }
        if (!is_rrsig) continue;
        // Not in the sample: dated only. RFC 4035 §5.3.1: outside [inception, expiration] it fails.
        date(sig.expiration);
        const int64_t left = sign::rrsig_seconds_from(sig.expiration, now_);
        const bool early = sign::rrsig_seconds_from(sig.inception, now_) > 0;
        if (left < 0 || early) {
            ++result_.signatures_bad;
            add_problem({dns::Name::from_wire(r.owner.wire()).value(), sig.covered, sig.key_tag,
                         early ? "not-yet-valid" : "expired", sig.expiration});
        } else if (left <= result_.warn_within) {
            ++result_.expiring;
        }
    }
    for (const auto& [key, rrset] : g.sets) check_rrset(rrset, g.rrsigs_of(key));
}

void DnssecCheck::check_rrset(std::span<const RecordView> rrset, std::span<const RecordView> rrsigs) {
    const auto& first = rrset.front();
    if (!checked_.emplace(first.owner.key(), dns::to_u16(first.type)).second) return;
    ++result_.rrsets_checked;
    const auto owner = [&] { return dns::Name::from_wire(first.owner.wire()).value(); };
    // RFC 4035 §3.1.1: every authoritative RRset of a signed zone is answered with its RRSIGs to a DO query.
    if (rrsigs.empty()) {
        ++result_.signatures_bad;
        add_problem({owner(), first.type, 0, "unsigned", 0});
        return;
    }
    for (const auto& rrsig : rrsigs) {
        const auto c = sign::check_rrsig(apex_, rrset, rrsig, keys_, now_);
        ++result_.signatures_checked;
        if (c.verdict != sign::RrsigVerdict::Malformed) date(c.expiration);
        if (c.verdict != sign::RrsigVerdict::Valid) {
            ++result_.signatures_bad;
            add_problem(
                {owner(), first.type, c.key_tag, std::string(sign::to_string(c.verdict)), c.expiration});
        } else if (sign::rrsig_seconds_from(c.expiration, now_) <= result_.warn_within) {
            ++result_.expiring;
        }
    }
}

void DnssecCheck::date(uint32_t expiration) {
    ++result_.signatures_dated;
    const int64_t at = now_ + sign::rrsig_seconds_from(expiration, now_);
    if (!result_.earliest_expiry || at < *result_.earliest_expiry) result_.earliest_expiry = at;
}

void DnssecCheck::add_problem(SignatureProblem p) {
    if (result_.problems.size() < max_listed_) result_.problems.push_back(std::move(p));
}

}  // namespace headwater::verify
