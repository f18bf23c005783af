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
    // The keys that sign the DNSKEY RRset, by tag and algorithm: the entry points a DS may name.
    std::vector<std::pair<uint16_t, uint8_t>> signing;
    const auto sigs = served.find_rrsigs(served.apex(), dns::RRType::DNSKEY);
    for (std::size_t i = sigs.begin; i < sigs.end; ++i)
        if (const auto s = sign::read_rrsig(served.record(i).rdata))
            signing.emplace_back(s->key_tag, s->algorithm);
    const auto keys = served.find_rrset(served.apex(), dns::RRType::DNSKEY);
    std::vector<uint16_t> stale;      // no key of the DNSKEY RRset
    std::vector<uint16_t> elsewhere;  // a key in the RRset that does not sign it here: another signer's
    std::vector<uint16_t> unknown;    // a digest type this check does not compute (RFC 4034 §5.1.3)
    for (const auto& d : ds) {
        if (d.size() < 4) continue;
        const auto tag = static_cast<uint16_t>((d[0] << 8) | d[1]);
        out.served.push_back(tag);
        if (!sign::ds_digest_supported(d[3])) {
            unknown.push_back(tag);
            continue;
        }
        std::vector<uint16_t>* where = &stale;
        for (std::size_t i = keys.begin; i < keys.end; ++i) {
            const auto rdata = served.record(i).rdata;
            if (sign::ds_rdata(served.apex().wire(), rdata, d[3]) != d) continue;
            // RFC 4035 §5.2: the DS must name a key that signs the DNSKEY RRset the resolver is given.
            const std::pair<uint16_t, uint8_t> key{sign::key_tag(rdata), rdata[3]};
            where = std::ranges::count(signing, key) > 0 ? &out.matching : &elsewhere;
            break;
        }
        where->push_back(tag);
    }
    std::vector<std::string> notes;
    if (!elsewhere.empty())
        // RFC 8901 §8: with several signers the DS RRset names each one's KSK; a standby KSK looks the same.
        notes.push_back("DS for key " + sign::tag_list(elsewhere) +
                        " names a key of the DNSKEY RRset that does not sign it here (another signer's, "
                        "or a standby key)");
    if (!stale.empty())
        notes.push_back("DS for key " + sign::tag_list(stale) + " matches no key of the DNSKEY RRset (stale" +
                        std::string(out.matching.empty() ? ")" : "; harmless while another DS matches)"));
    if (!unknown.empty())
        notes.push_back("DS for key " + sign::tag_list(unknown) +
                        " uses a digest type this check does not compute (SHA-1, SHA-256 and SHA-384 are)");
    if (out.served.empty()) {
        out.note = "no DS at the parent: resolvers take the zone as insecure (no chain of trust)";
    } else if (out.matching.empty() && unknown.size() < out.served.size()) {
        out.ok = false;
        out.problem = "the parent's DS (key " + sign::tag_list(out.served) +
                      ") matches no key that signs the DNSKEY RRset: validating resolvers fail on the zone";
    }
    for (const auto& n : notes) out.note += (out.note.empty() ? "" : "; ") + n;
    return out;
}

}  // namespace headwater::verify
