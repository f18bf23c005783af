#include "zone/answer/DenialProof.h"

#include <algorithm>

#include "zone/answer/Nsec3Hash.h"

namespace headwater::answer {

std::vector<uint8_t> wildcard_of(dns::NameView name) {
    if (name.size() + 2 > dns::kMaxNameLength) return {};
    std::vector<uint8_t> wild{1, '*'};
    wild.insert(wild.end(), name.wire().begin(), name.wire().end());
    return wild;
}

dns::NameView next_closer(dns::NameView qname, dns::NameView encloser) {
    return qname.parent(qname.label_count() - encloser.label_count() - 1);
}

DenialProof::DenialProof(const zone::ZoneVersion& v, bool wanted) : v_(v) {
    if (!wanted || !v.is_signed()) return;
    // A zone with both kinds is served from its NSEC3PARAM's chain: that is the one secondaries and
    // validators expect once the parameters are published.
    if (v.nsec3_params() && v.nsec3_at_or_before(v.apex()))
        kind_ = Kind::Nsec3;
    else if (v.nsec_at_or_before(v.apex()))
        kind_ = Kind::Nsec;
}

void DenialProof::add(std::optional<std::size_t> record) {
    if (record && std::find(records_.begin(), records_.end(), *record) == records_.end())
        records_.push_back(*record);
}

std::vector<uint8_t> DenialProof::hashed(dns::NameView name) const {
    const auto& p = *v_.nsec3_params();
    return nsec3_owner(name, v_.apex(), p.iterations, p.salt);
}

std::optional<std::size_t> DenialProof::nsec3_matching(dns::NameView name) const {
    const auto owner = hashed(name);
    if (owner.empty()) return std::nullopt;
    const auto found = v_.nsec3_at_or_before(dns::NameView(owner));
    if (found && v_.record(*found).owner == dns::NameView(owner)) return found;
    return std::nullopt;
}

std::optional<std::size_t> DenialProof::nsec3_covering(dns::NameView name) const {
    // The NSEC3 whose owner hash is the last before the name's hash covers it (RFC 5155 §3.1.7; the
    // last NSEC3 covers the hashes after it and before the first).
    const auto owner = hashed(name);
    if (owner.empty()) return std::nullopt;
    return v_.nsec3_at_or_before(dns::NameView(owner));
}

dns::NameView DenialProof::closest_provable_encloser(dns::NameView from) const {
    dns::NameView name = from;
    while (!(name == v_.apex()) && !nsec3_matching(name)) name = name.parent();
    return name;
}

void DenialProof::add_nsec_pair(dns::NameView qname, std::span<const uint8_t> wildcard) {
    add(v_.nsec_at_or_before(qname));
    if (!wildcard.empty()) add(v_.nsec_at_or_before(dns::NameView(wildcard)));
}

void DenialProof::name_error(dns::NameView qname, dns::NameView encloser) {
    const auto wild = wildcard_of(encloser);
    if (kind_ == Kind::Nsec) {
        // The NSEC covering the name, and the one covering the wildcard that could have answered.
        add_nsec_pair(qname, wild);
    } else if (kind_ == Kind::Nsec3) {
        // Under Opt-Out an existing empty non-terminal may have no NSEC3: prove the next one up instead.
        const dns::NameView ce = closest_provable_encloser(encloser);
        add(nsec3_matching(ce));
        add(nsec3_covering(next_closer(qname, ce)));
        const auto ce_wild = wildcard_of(ce);
        if (!ce_wild.empty()) add(nsec3_covering(dns::NameView(ce_wild)));
    }
}

void DenialProof::no_data(dns::NameView name) {
    if (kind_ == Kind::Nsec) {
        // The NSEC of the name itself (its type bitmap lacks the type), or for an empty non-terminal the
        // NSEC before it, whose next name lies below it.
        add(v_.nsec_at_or_before(name));
    } else if (kind_ == Kind::Nsec3) {
        if (const auto own = nsec3_matching(name)) {
            add(own);
            return;
        }
        // RFC 5155 §7.2.4: no NSEC3 of its own (an insecure delegation or an empty non-terminal left out
        // under Opt-Out): the closest provable encloser and the NSEC3 covering the next closer name,
        // whose Opt-Out flag says there may be unsigned delegations in between.
        if (name == v_.apex()) return;
        const dns::NameView ce = closest_provable_encloser(name.parent());
        add(nsec3_matching(ce));
        add(nsec3_covering(next_closer(name, ce)));
    }
}

void DenialProof::wildcard_answer(dns::NameView qname, dns::NameView encloser) {
    if (kind_ == Kind::Nsec)
        add(v_.nsec_at_or_before(qname));
    else if (kind_ == Kind::Nsec3)
        add(nsec3_covering(next_closer(qname, encloser)));
}

void DenialProof::wildcard_no_data(dns::NameView qname, dns::NameView encloser) {
    const auto wild = wildcard_of(encloser);
    if (kind_ == Kind::Nsec) {
        // The NSEC covering the name, and the wildcard's own NSEC without the type.
        add_nsec_pair(qname, wild);
    } else if (kind_ == Kind::Nsec3) {
        add(nsec3_matching(encloser));
        add(nsec3_covering(next_closer(qname, encloser)));
        if (!wild.empty()) add(nsec3_matching(dns::NameView(wild)));
    }
}

}  // namespace headwater::answer
