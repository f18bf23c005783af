// The incremental path of signing (sign_changes in SignZone.h): a reload that changes a few RRsets at
// names whose types stay the same leaves the denial chain as it was, so the new signed version is the
// previous one with those RRsets, their signatures and the SOA's replaced. Found by one diff of the two
// unsigned versions and made by one splice of the previous signed version (zone::apply), where sign_zone
// would rebuild the chain, sort the zone and match every RRset against the previous version.
#include <algorithm>
#include <random>

#include "zone/sign/Rrsig.h"
#include "zone/sign/SignZone.h"

namespace headwater::sign {

using dns::RRType;
using zone::Changeset;
using zone::RecordView;
using zone::ZoneVersion;

namespace {

int64_t seconds_between(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b);
}

// One RRset the source change touches: its owner and type.
struct ChangedSet {
    dns::NameView owner;
    RRType type{};
};

// The RRsets `changes` touches, each once, or nothing when one of them is not a change sign_changes makes
// (see SignZone.h): at the apex, or of a type that decides the zone's shape (RFC 4035 §2.2: NS and DS at
// a cut; RFC 6672 §2.3: DNAME occludes the names below it).
std::optional<std::vector<ChangedSet>> changed_sets(const Changeset& changes, const ZoneVersion& source) {
    std::vector<ChangedSet> sets;
    auto note = [&](const RecordView& r) {
        if (r.type == RRType::NS || r.type == RRType::DS || r.type == RRType::DNAME) return false;
        if (r.owner == source.apex()) return false;
        sets.push_back({r.owner, r.type});
        return true;
    };
    for (std::size_t i = 0; i < changes.removed_count(); ++i)
        if (!note(changes.removed(i))) return std::nullopt;
    for (std::size_t i = 0; i < changes.added_count(); ++i)
        if (!note(changes.added(i))) return std::nullopt;
    const auto less = [](const ChangedSet& a, const ChangedSet& b) {
        const int c = dns::canonical_compare(a.owner, b.owner);
        return c != 0 ? c < 0 : dns::to_u16(a.type) < dns::to_u16(b.type);
    };
    std::sort(sets.begin(), sets.end(), less);
    sets.erase(std::unique(sets.begin(), sets.end(),
                           [](const ChangedSet& a, const ChangedSet& b) {
                               return a.owner == b.owner && a.type == b.type;
                           }),
               sets.end());
    return sets;
}

// The types at `owner` in `v`, in order, each once.
std::vector<RRType> types_at(const ZoneVersion& v, dns::NameView owner) {
    std::vector<RRType> types;
    const ZoneVersion::Range r = v.find_name(owner);
    for (std::size_t i = r.begin; i < r.end; ++i)
        if (types.empty() || types.back() != v.record(i).type) types.push_back(v.record(i).type);
    return types;
}

// True when `owner` is authoritative data the signer signs in both versions with the same types there, so
// that its NSEC or NSEC3 record and every name's place in the chain stay as they were: not a delegation
// point, not below a cut or a DNAME (RFC 4035 §2.2), and the same non-empty type set (RFC 4034 §4.1.2).
bool same_shape(const ZoneVersion& before, const ZoneVersion& after, dns::NameView owner) {
    const std::vector<RRType> types = types_at(after, owner);
    if (types.empty() || types != types_at(before, owner)) return false;
    if (std::ranges::find(types, RRType::NS) != types.end()) return false;
    const std::size_t apex_labels = after.apex().label_count();
    for (std::size_t k = 1; owner.label_count() - k > apex_labels; ++k) {
        const dns::NameView above = owner.parent(k);
        if (!after.find_rrset(above, RRType::NS).empty() || !after.find_rrset(above, RRType::DNAME).empty())
            return false;
    }
    return true;
}

// Makes the RRSIG records over changed RRsets, with what sign_zone would give them.
class SetSigner {
  public:
    SetSigner(const ZoneVersion& source, std::span<const SigningKey> keys, const SigningPolicy& policy,
              const SignOptions& options)
        : source_(source), keys_(keys), policy_(policy), options_(options), rng_(options.seed) {
        for (const SigningKey& k : keys) signers_.push_back(k.key.signer());
    }

    // One RRSIG record per zone-signing key over the RRset [begin, end) of the source, appended to
    // `records` (each record a buffer of its own). Never the DNSKEY, CDS or CDNSKEY RRset: those are at
    // the apex, whose changes other than the SOA take the whole-zone path.
    Result<void, std::string> sign(std::size_t begin, std::size_t end,
                                   std::vector<std::vector<uint8_t>>& records) {
        std::vector<RecordView> rrset;
        for (std::size_t i = begin; i < end; ++i) rrset.push_back(source_.record(i));
        const RecordView first = rrset.front();
        const auto owner = source_.record(source_.find_name(first.owner).begin).owner.wire();
        for (uint32_t k = 0; k < keys_.size(); ++k) {
            if (!keys_[k].signs_zone) continue;
            const DnssecKey& key = keys_[k].key;
            // RFC 4034 §3.1.5: the expiration jittered as sign_zone does it.
            const uint32_t jitter = policy_.signature_jitter == 0
                                        ? 0
                                        : static_cast<uint32_t>(rng_() % (policy_.signature_jitter + 1ull));
            const uint32_t expiration = options_.now + policy_.signature_validity - jitter;
            const RrsigFields f{first.type, key.algorithm(), rrsig_labels(first.owner),
                                first.ttl,  expiration,      options_.now - policy_.inception_offset,
                                key.tag(),  source_.apex()};
            std::vector<uint8_t> rdata;
            append_rrsig_head(f, rdata);
            std::vector<uint8_t> data = rdata;
            append_signed_rrset(rrset, f.original_ttl, data);
            if (auto r = signers_[k].sign(data, rdata); !r) return unexpected("signing: " + r.error());
            std::vector<uint8_t>& rec = records.emplace_back(rrsig_record_size(owner, rdata));
            write_rrsig_record(rec.data(), owner, first.ttl, rdata);
            if (!any_ || seconds_between(expiration, earliest_) < 0) earliest_ = expiration;
            any_ = true;
        }
        return {};
    }

    std::optional<uint32_t> earliest() const { return any_ ? std::optional(earliest_) : std::nullopt; }

  private:
    const ZoneVersion& source_;
    std::span<const SigningKey> keys_;
    const SigningPolicy& policy_;
    const SignOptions& options_;
    std::mt19937_64 rng_;
    std::vector<DnssecKey::Signer> signers_;
    uint32_t earliest_ = 0;
    bool any_ = false;
};

// True when sign_zone, given the previous version to reuse from, would keep every signature it holds
// over an unchanged RRset: none is due for refresh (nor dated after now, a clock gone back).
bool previous_signatures_kept(const PreviousSigning& previous, const SigningPolicy& policy, uint32_t now) {
    const int64_t needed = int64_t{policy.signature_refresh} + refresh_batch(policy);
    return seconds_between(now, previous.now) >= 0 &&
           seconds_between(previous.earliest_expiration, now) > needed;
}

// The records of `v` in [range) appended to `out`.
void add_range(const ZoneVersion& v, ZoneVersion::Range range, std::vector<RecordView>& out) {
    for (std::size_t i = range.begin; i < range.end; ++i) out.push_back(v.record(i));
}

// The signed changeset: `removed` and `added` in canonical order, records in both (the same octets: an
// RRset's record that stayed) left out of both, as diff() of the two signed versions would give it.
Changeset signed_changeset(const ZoneVersion& before, const ZoneVersion& source,
                           std::vector<RecordView> removed, std::vector<RecordView> added) {
    const auto exact_less = [](const RecordView& a, const RecordView& b) {
        return zone::compare_records_exact(a, b) < 0;
    };
    std::sort(removed.begin(), removed.end(), exact_less);
    std::sort(added.begin(), added.end(), exact_less);
    Changeset out(before.soa().wire, source.soa().wire);
    std::size_t a = 0;
    for (const RecordView& r : removed) {
        while (a < added.size() && exact_less(added[a], r)) out.add_added(added[a++].wire);
        if (a < added.size() && zone::compare_records_exact(added[a], r) == 0) {
            ++a;  // the same record before and after
            continue;
        }
        out.add_removed(r.wire);
    }
    for (; a < added.size(); ++a) out.add_added(added[a].wire);
    return out;
}

}  // namespace

Result<std::optional<SignedChanges>, std::string> sign_changes(const ZoneVersion& source,
                                                               const PreviousSigning& previous,
                                                               std::span<const SigningKey> keys,
                                                               const SigningPolicy& policy,
                                                               const SignOptions& options) {
    using R = Result<std::optional<SignedChanges>, std::string>;
    const ZoneVersion& before = *previous.source;
    const ZoneVersion& signed_before = *previous.signed_version;
    if (!options.reuse || !previous_signatures_kept(previous, policy, options.now) ||
        !(before.apex() == source.apex()) || before.negative_ttl() != source.negative_ttl())
        return R(std::nullopt);
    const Changeset source_changes = zone::diff(before, source);
    if (source_changes.soa_only() &&
        std::ranges::equal(source_changes.old_soa().wire, source_changes.new_soa().wire))
        return R(std::nullopt);  // nothing changed: the whole-zone path says what is due
    const auto sets = changed_sets(source_changes, source);
    if (!sets) return R(std::nullopt);
    for (const ChangedSet& c : *sets)
        if (!same_shape(before, source, c.owner)) return R(std::nullopt);

    SetSigner signer(source, keys, policy, options);
    std::vector<std::vector<uint8_t>> new_sigs;
    std::vector<RecordView> removed;
    std::vector<RecordView> added;
    auto replace = [&](dns::NameView owner, RRType type) -> Result<void, std::string> {
        const ZoneVersion::Range now_set = source.find_rrset(owner, type);
        add_range(signed_before, signed_before.find_rrset(owner, type), removed);
        add_range(signed_before, signed_before.find_rrsigs(owner, type), removed);
        add_range(source, now_set, added);
        if (now_set.empty()) return {};  // the types stay (same_shape), so not reached
        return signer.sign(now_set.begin, now_set.end, new_sigs);
    };
    for (const ChangedSet& c : *sets)
        if (auto r = replace(c.owner, c.type); !r) return R(unexpected(r.error()));
    // The SOA is a change of its own (the serial), which the changeset carries apart from the lists.
    if (auto r = replace(source.apex(), RRType::SOA); !r) return R(unexpected(r.error()));
    std::erase_if(removed, [](const RecordView& r) { return r.type == RRType::SOA; });
    std::erase_if(added, [](const RecordView& r) { return r.type == RRType::SOA; });
    std::size_t removed_sigs = 0;
    for (const RecordView& r : removed) removed_sigs += r.type == RRType::RRSIG;
    for (const auto& rec : new_sigs) added.push_back(zone::decode_record(rec));

    Changeset changes = signed_changeset(signed_before, source, std::move(removed), std::move(added));
    auto version = zone::apply(signed_before, changes);
    if (!version) return R(unexpected("signing: " + version.error()));
    SignedChanges out{{}, std::move(changes)};
    out.zone.version = *version;
    out.zone.signatures_made = new_sigs.size();
    out.zone.signatures = previous.signatures - removed_sigs + new_sigs.size();
    out.zone.signatures_kept = out.zone.signatures - new_sigs.size();
    // The earliest of the kept ones may have gone with the replaced sets: the previous earliest is then
    // earlier than the true one, which only brings the next refresh forward.
    uint32_t earliest = previous.earliest_expiration;
    if (const auto e = signer.earliest(); e && seconds_between(*e, earliest) < 0) earliest = *e;
    out.zone.earliest_expiration = earliest;
    out.zone.next_refresh = earliest - policy.signature_refresh;
    return R(std::move(out));
}

}  // namespace headwater::sign
