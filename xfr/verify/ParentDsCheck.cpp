#include "xfr/verify/ParentDsCheck.h"

#include <algorithm>

#include "zone/sign/DnssecKey.h"
#include "zone/sign/Rrsig.h"

namespace headwater::verify {

bool has_dnskey(const zone::ZoneVersion& served) {
    return !served.find_rrset(served.apex(), dns::RRType::DNSKEY).empty();
}

ParentDsCheck check_parent_ds(const zone::ZoneVersion& served, const std::vector<std::vector<uint8_t>>& ds) {
    ParentDsCheck out;
    // The keys that sign the DNSKEY RRset: the entry points a DS may name.
    std::vector<uint16_t> signing;
    const auto sigs = served.find_rrsigs(served.apex(), dns::RRType::DNSKEY);
    for (std::size_t i = sigs.begin; i < sigs.end; ++i)
        if (const auto s = sign::read_rrsig(served.record(i).rdata)) signing.push_back(s->key_tag);
    const auto keys = served.find_rrset(served.apex(), dns::RRType::DNSKEY);
    std::vector<uint16_t> stale;
    for (const auto& d : ds) {
        if (d.size() < 4) continue;
        const auto tag = static_cast<uint16_t>((d[0] << 8) | d[1]);
        out.served.push_back(tag);
        bool matches = false;
        for (std::size_t i = keys.begin; i < keys.end && !matches; ++i) {
            const auto rdata = served.record(i).rdata;
            matches = std::ranges::count(signing, sign::key_tag(rdata)) > 0 &&
                      sign::ds_rdata(served.apex().wire(), rdata, d[3]) == d;
        }
        (matches ? out.matching : stale).push_back(tag);
    }
    if (out.served.empty()) {
        out.note = "no DS at the parent: resolvers take the zone as insecure (no chain of trust)";
    } else if (out.matching.empty()) {
        out.ok = false;
        out.problem = "the parent's DS (key " + sign::tag_list(out.served) +
                      ") matches no key that signs the DNSKEY RRset: validating resolvers fail on the zone";
    } else if (!stale.empty()) {
        out.note = "DS for key " + sign::tag_list(stale) +
                   " matches no key that signs the DNSKEY RRset (stale; " +
                   "harmless while another DS matches)";
    }
    return out;
}

}  // namespace headwater::verify
