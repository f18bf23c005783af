#include "zone/sign/SignZone.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "zone/ZoneBuilder.h"
#include "zone/base/HugePages.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/ZoneShape.h"

namespace headwater::sign {

using dns::RRType;
using zone::RecordView;
using zone::ZoneVersion;

namespace {

constexpr uint16_t kCds = 59;      // RFC 7344
constexpr uint16_t kCdnskey = 60;  // RFC 7344

// The key-signing keys sign the sets that publish keys; the zone-signing keys the rest (RFC 6781 §3.1).
bool is_key_set(RRType t) {
    const uint16_t v = dns::to_u16(t);
    return t == RRType::DNSKEY || v == kCds || v == kCdnskey;
}

// Serial-number arithmetic on 32-bit times (RFC 4034 §3.1.5): `a` - `b` as a signed difference.
int64_t seconds_between(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b);
}

bool same_records(const ZoneVersion& a, std::size_t ab, std::size_t ae, const ZoneVersion& b, std::size_t bb,
                  std::size_t be) {
    if (ae - ab != be - bb) return false;
    for (std::size_t i = 0; i < ae - ab; ++i) {
        const auto wa = a.record(ab + i).wire;
        const auto wb = b.record(bb + i).wire;
        if (wa.size() != wb.size() || std::memcmp(wa.data(), wb.data(), wa.size()) != 0) return false;
    }
    return true;
}

// One signature to make: the RRset [begin, end) of the unsigned-with-denial version, one key.
struct Job {
    std::size_t begin = 0, end = 0;
    uint32_t key = 0;
    uint32_t expiration = 0;
    uint32_t thread = 0;  // where the signature went
    std::size_t at = 0, length = 0;
};

// One RRSIG of the signed version, at the node `node`: kept from the previous version or made by `job`.
struct SigRef {
    std::size_t node = 0;
    uint32_t ttl = 0;
    std::span<const uint8_t> kept;
    std::size_t job = SIZE_MAX;
};

// Everything sign_zone works on.
struct Signing {
    const ZoneVersion& u;  // the source with the DNSKEY RRset and the denial chain, unsigned
    const ZoneVersion* previous;
    std::span<const SigningKey> keys;
    const SigningPolicy& policy;
    const SignOptions& options;
    std::vector<Node> nodes;
    std::vector<Job> jobs;
    std::vector<SigRef> sigs;
    std::vector<std::vector<uint8_t>> outputs;  // per thread: the new signatures' RDATA
    uint32_t earliest = 0;
    bool any = false;

    void note_expiration(uint32_t e) {
        if (!any || seconds_between(e, earliest) < 0) earliest = e;
        any = true;
    }
};

// The previous version's signature by `key` over the same RRset, if it is still good past the refresh
// window. `prev` are the previous version's records of this owner.
std::optional<std::pair<std::span<const uint8_t>, uint32_t>> kept_signature(const Signing& s,
                                                                            ZoneVersion::Range prev,
                                                                            RRType type,
                                                                            const DnssecKey& key) {
    const uint32_t now = s.options.now;
    const int64_t needed = int64_t{s.policy.signature_refresh} + refresh_batch(s.policy);
    for (std::size_t i = prev.begin; i < prev.end; ++i) {
        const RecordView r = s.previous->record(i);
        if (r.type != RRType::RRSIG) continue;
        const auto sig = read_rrsig(r.rdata);
        if (!sig || sig->covered != type || sig->algorithm != static_cast<uint8_t>(key.algorithm()) ||
            sig->key_tag != key.tag())
            continue;
        if (seconds_between(now, sig->inception) < 0 || seconds_between(sig->expiration, now) <= needed)
            continue;
        return std::make_pair(r.rdata, sig->expiration);
    }
    return std::nullopt;
}

// Walks the RRsets: what each needs signed, kept from the previous version or queued as a job.
void plan_signatures(Signing& s, std::mt19937_64& rng) {
    const ZoneVersion& u = s.u;
    const SigningPolicy& p = s.policy;
    std::size_t pcur = 0;  // the previous version, walked alongside (both in canonical order)
    // At most one signature per record and zone-signing key (most RRsets hold one record), and one more
    // per key-signing key: grown in place.
    const std::size_t per_set = static_cast<std::size_t>(
        std::ranges::count_if(s.keys, [](const SigningKey& k) { return k.signs_zone; }));
    reserve_huge(s.sigs, u.size() * std::max<std::size_t>(per_set, 1) + s.keys.size());
    if (s.previous == nullptr || !s.options.reuse) reserve_huge(s.jobs, s.sigs.capacity());
    for (std::size_t ni = 0; ni < s.nodes.size(); ++ni) {
        const Node& n = s.nodes[ni];
        if (n.kind == NodeKind::Occluded) continue;
        const dns::NameView owner = u.record(n.begin).owner;
        ZoneVersion::Range prev{0, 0};
        if (s.previous != nullptr && s.options.reuse) {
            const ZoneVersion& pv = *s.previous;
            while (pcur < pv.size() && dns::canonical_compare(pv.record(pcur).owner, owner) < 0) ++pcur;
            prev = {pcur, pcur};
            while (prev.end < pv.size() && pv.record(prev.end).owner == owner) ++prev.end;
        }
        for (std::size_t b = n.begin; b < n.end;) {
            const RecordView first = u.record(b);
            std::size_t e = b + 1;
            while (e < n.end && u.record(e).type == first.type) ++e;
            if (is_signed_set(n.kind, first.type)) {
                // The same RRset in the previous version (exactly: owner case, TTL, RDATA)?
                bool same = false;
                if (!prev.empty()) {
                    std::size_t pb = prev.begin;
                    while (pb < prev.end && s.previous->record(pb).type != first.type) ++pb;
                    std::size_t pe = pb;
                    while (pe < prev.end && s.previous->record(pe).type == first.type) ++pe;
                    same = pb != pe && same_records(u, b, e, *s.previous, pb, pe);
                }
                for (uint32_t k = 0; k < s.keys.size(); ++k) {
                    const SigningKey& key = s.keys[k];
                    if (!(is_key_set(first.type) ? key.signs_keys : key.signs_zone)) continue;
                    if (same) {
                        if (auto kept = kept_signature(s, prev, first.type, key.key)) {
                            s.sigs.push_back({ni, first.ttl, kept->first, SIZE_MAX});
                            s.note_expiration(kept->second);
                            continue;
                        }
                    }
                    // RFC 4034 §3.1.5: expirations spread over the jitter so refreshes come in batches.
                    const uint32_t jitter = p.signature_jitter == 0
                                                ? 0
                                                : static_cast<uint32_t>(rng() % (p.signature_jitter + 1ull));
                    Job job;
                    job.begin = b;
                    job.end = e;
                    job.key = k;
                    job.expiration = s.options.now + p.signature_validity - jitter;
                    s.note_expiration(job.expiration);
                    s.sigs.push_back({ni, first.ttl, {}, s.jobs.size()});
                    s.jobs.push_back(job);
                }
            }
            b = e;
        }
    }
}

// Makes the queued signatures, the jobs split over the threads.
Result<void, std::string> make_signatures(Signing& s) {
    const unsigned threads =
        std::max(1u, std::min<unsigned>(s.options.threads, static_cast<unsigned>(s.jobs.size() / 64 + 1)));
    s.outputs.assign(threads, {});
    std::mutex error_mutex;
    std::string error;
    auto work = [&](unsigned t, std::size_t from, std::size_t to) {
        std::vector<DnssecKey::Signer> signers;
        signers.reserve(s.keys.size());
        for (const SigningKey& k : s.keys) signers.push_back(k.key.signer());
        std::vector<RecordView> rrset;
        std::vector<uint8_t> data;
        std::vector<uint8_t>& out = s.outputs[t];
        // An RRSIG's RDATA: 18 octets, the signer's name, the signature, which for RSA and ECDSA is about
        // as long as the DNSKEY RDATA (Ed25519's is longer: the buffer grows then).
        std::size_t largest = 0;
        for (const SigningKey& k : s.keys) largest = std::max(largest, k.key.dnskey_rdata().size());
        reserve_huge(out,
                     (to - from) * (18 + s.u.apex().wire().size() + std::min<std::size_t>(largest, 512)));
        const uint32_t inception = s.options.now - s.policy.inception_offset;
        for (std::size_t j = from; j < to; ++j) {
            Job& job = s.jobs[j];
            rrset.clear();
            for (std::size_t i = job.begin; i < job.end; ++i) rrset.push_back(s.u.record(i));
            const DnssecKey& key = s.keys[job.key].key;
            RrsigFields f{rrset.front().type, key.algorithm(), rrsig_labels(rrset.front().owner),
                          rrset.front().ttl,  job.expiration,  inception,
                          key.tag(),          s.u.apex()};
            job.thread = t;
            job.at = out.size();
            append_rrsig_head(f, out);
            data.assign(out.begin() + static_cast<std::ptrdiff_t>(job.at), out.end());
            append_signed_rrset(rrset, f.original_ttl, data);
            if (auto r = signers[job.key].sign(data, out); !r) {
                const std::lock_guard lock(error_mutex);
                if (error.empty()) error = r.error();
                return;
            }
            job.length = out.size() - job.at;
        }
    };
    std::vector<std::thread> pool;
    const std::size_t per = (s.jobs.size() + threads - 1) / threads;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(work, t, std::min(s.jobs.size(), t * per), std::min(s.jobs.size(), (t + 1) * per));
    work(0, 0, std::min(s.jobs.size(), per));
    for (std::thread& th : pool) th.join();
    if (!error.empty()) return unexpected("signing: " + error);
    return {};
}

// The signed version: the records of each owner in canonical order with its RRSIGs in place (RRSIG is
// type 46: after the types below it, before NSEC, DNSKEY, NSEC3 and NSEC3PARAM).
class Assembler {
  public:
    explicit Assembler(const Signing& s) : s_(s) {}

    zone::ZoneVersionPtr assemble() {
        const ZoneVersion& u = s_.u;
        const std::size_t nodes = s_.nodes.size();
        // Two halves written at once into their places in one buffer: the other core is idle once the
        // signatures are made, and this copy of the whole zone costs a second per million records.
        std::size_t mid = nodes / 2;
        if (s_.options.threads < 2 || u.size() < kParallelFrom) mid = nodes;
        const std::size_t mid_sig = first_sig_at(mid);
        const std::size_t mid_record = mid < nodes ? s_.nodes[mid].begin : u.size();
        const std::size_t first_sigs = sig_bytes(0, mid_sig);
        const std::size_t mid_bytes = mid < nodes ? u.offset(mid_record) + first_sigs : 0;
        const std::size_t total = u.wire_bytes() + first_sigs + sig_bytes(mid_sig, s_.sigs.size());
        reserve_huge(data_, total);
        data_.resize(total);
        reserve_huge(offsets_, u.size() + s_.sigs.size());
        offsets_.resize(u.size() + s_.sigs.size());
        if (mid < nodes) {
            const std::jthread second([&] { write(mid, nodes, mid_sig, mid_bytes, mid_record + mid_sig); });
            write(0, mid, 0, 0, 0);
        } else {
            write(0, nodes, 0, 0, 0);
        }
        return std::make_shared<const ZoneVersion>(dns::Name::from_wire(u.apex().wire()).value(),
                                                   std::move(data_), std::move(offsets_), soa_index_);
    }

  private:
    static constexpr std::size_t kParallelFrom = 1u << 15;

    // The index of the first signature at node `node` or after it (they are in node order).
    std::size_t first_sig_at(std::size_t node) const {
        return static_cast<std::size_t>(
            std::ranges::lower_bound(s_.sigs, node, {}, [](const SigRef& r) { return r.node; }) -
            s_.sigs.begin());
    }
    std::span<const uint8_t> rdata_of(const SigRef& r) const {
        if (r.job == SIZE_MAX) return r.kept;
        const Job& j = s_.jobs[r.job];
        return std::span(s_.outputs[j.thread]).subspan(j.at, j.length);
    }
    // The octets the RRSIG records [from, to) take: owner, type to RDLENGTH, RDATA.
    std::size_t sig_bytes(std::size_t from, std::size_t to) const {
        std::size_t bytes = 0;
        for (std::size_t i = from; i < to; ++i)
            bytes += rrsig_record_size(s_.u.record(s_.nodes[s_.sigs[i].node].begin).owner.wire(),
                                       rdata_of(s_.sigs[i]));
        return bytes;
    }

    // Nodes [from, to), whose signatures begin at `si`, written from octet `at` and record `record` on.
    void write(std::size_t from, std::size_t to, std::size_t si, std::size_t at, std::size_t record) {
        const ZoneVersion& u = s_.u;
        uint8_t* const out = data_.data();
        auto emit = [&](std::span<const uint8_t> wire) {
            offsets_[record++] = static_cast<uint32_t>(at);
            std::memcpy(out + at, wire.data(), wire.size());
            at += wire.size();
        };
        std::vector<std::pair<std::span<const uint8_t>, uint32_t>> here;  // RDATA, TTL
        for (std::size_t ni = from; ni < to; ++ni) {
            const Node& n = s_.nodes[ni];
            here.clear();
            for (; si < s_.sigs.size() && s_.sigs[si].node == ni; ++si)
                here.emplace_back(rdata_of(s_.sigs[si]), s_.sigs[si].ttl);
            // RFC 4034 §6.3: RDATA as left-justified octet strings (the signer name is lower-case already).
            std::sort(here.begin(), here.end(), [](const auto& a, const auto& b) {
                return std::ranges::lexicographical_compare(a.first, b.first);
            });
            bool sigs_done = false;
            auto emit_sigs = [&] {
                const auto owner = u.record(n.begin).owner.wire();
                for (const auto& [rdata, ttl] : here) {
                    offsets_[record++] = static_cast<uint32_t>(at);
                    at = static_cast<std::size_t>(write_rrsig_record(out + at, owner, ttl, rdata) - out);
                }
                sigs_done = true;
            };
            for (std::size_t i = n.begin; i < n.end; ++i) {
                const RecordView r = u.record(i);
                if (!sigs_done && dns::to_u16(r.type) > dns::to_u16(RRType::RRSIG)) emit_sigs();
                if (i == u.soa_index()) soa_index_ = record;  // in the first half: the apex comes first
                emit(r.wire);
            }
            if (!sigs_done) emit_sigs();
        }
    }

    const Signing& s_;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
    std::size_t soa_index_ = 0;
};

// The source with what the signer adds, and its nodes when they are known already.
struct WithDenial {
    zone::ZoneVersionPtr version;
    std::vector<Node> nodes;  // empty: zone_shape() of the version
};

// With NSEC the chain has one record per node that is not occluded, in node order (add_nsec_chain), and
// the signer's apex records come before it in `extras` (`apex_count` of them, by type and RDATA): each
// goes in among its node's records by type (RFC 4034 §6.3), so the zone is not sorted again, and `nodes`
// are the new version's with their ranges moved. Nothing when a node already holds a type the signer adds
// (a source that is not unsigned): the builder merges those.
std::optional<WithDenial> merge_nsec(const ZoneVersion& source, std::vector<Node> nodes,
                                     const RecordList& extras, std::size_t apex_count) {
    std::size_t bytes = source.wire_bytes();
    for (std::size_t i = 0; i < extras.size(); ++i) bytes += extras.record(i).wire.size();
    std::vector<uint8_t> data;
    std::vector<uint32_t> offsets;
    reserve_huge(data, bytes);
    reserve_huge(offsets, source.size() + extras.size());
    auto emit = [&](std::span<const uint8_t> wire) {
        offsets.push_back(static_cast<uint32_t>(data.size()));
        data.insert(data.end(), wire.begin(), wire.end());
    };
    std::size_t soa_index = 0;
    std::size_t next_nsec = apex_count;
    std::vector<RecordView> adds;
    for (Node& n : nodes) {
        adds.clear();
        if (n.kind != NodeKind::Occluded) {
            if (next_nsec == extras.size()) return std::nullopt;
            adds.push_back(extras.record(next_nsec++));
            if (!std::ranges::equal(adds.back().owner.wire(), source.record(n.begin).owner.wire()))
                return std::nullopt;
        }
        if (n.kind == NodeKind::Apex)
            for (std::size_t i = 0; i < apex_count; ++i) adds.push_back(extras.record(i));
        std::size_t a = 0;  // NSEC (47) is below DNSKEY (48), CDS and CDNSKEY: `adds` is in type order
        const std::size_t begin = offsets.size();
        for (std::size_t i = n.begin; i < n.end; ++i) {
            const RecordView r = source.record(i);
            for (; a < adds.size() && dns::to_u16(adds[a].type) <= dns::to_u16(r.type); ++a) {
                if (adds[a].type == r.type) return std::nullopt;
                emit(adds[a].wire);
            }
            if (i == source.soa_index()) soa_index = offsets.size();
            emit(r.wire);
        }
        for (; a < adds.size(); ++a) emit(adds[a].wire);
        n.begin = begin;
        n.end = offsets.size();
    }
    if (next_nsec != extras.size()) return std::nullopt;
    return WithDenial{std::make_shared<const ZoneVersion>(dns::Name::from_wire(source.apex().wire()).value(),
                                                          std::move(data), std::move(offsets), soa_index),
                      std::move(nodes)};
}

// The source with the DNSKEY RRset and the denial chain, unsigned.
Result<WithDenial, std::string> with_denial(const ZoneVersion& source, std::span<const SigningKey> keys,
                                            const SigningPolicy& policy) {
    RecordList extras;
    std::vector<std::vector<uint8_t>> dnskeys;
    for (const SigningKey& k : keys) dnskeys.push_back(k.key.dnskey_rdata());
    std::sort(dnskeys.begin(), dnskeys.end());
    dnskeys.erase(std::unique(dnskeys.begin(), dnskeys.end()), dnskeys.end());
    for (const auto& rdata : dnskeys)
        extras.add(source.apex().wire(), RRType::DNSKEY, policy.dnskey_ttl, rdata);
    std::vector<uint16_t> apex_types{dns::to_u16(RRType::DNSKEY)};

    // RFC 7344 §3: the CDS and CDNSKEY RRsets say what the parent's DS RRset should be (a rollover's
    // successor); RFC 7344 §4.1: signed like the DNSKEY RRset, by the keys the parent's DS points to now.
    std::vector<std::vector<uint8_t>> cds;
    std::vector<std::vector<uint8_t>> cdnskeys;
    for (const SigningKey& k : keys) {
        if (!k.cds) continue;
        cdnskeys.push_back(k.key.dnskey_rdata());
        cds.push_back(ds_rdata(source.apex().wire(), cdnskeys.back()));
    }
    for (auto* set : {&cds, &cdnskeys}) {
        std::sort(set->begin(), set->end());
        set->erase(std::unique(set->begin(), set->end()), set->end());
    }
    for (const auto& rdata : cds)
        extras.add(source.apex().wire(), static_cast<RRType>(kCds), policy.dnskey_ttl, rdata);
    for (const auto& rdata : cdnskeys)
        extras.add(source.apex().wire(), static_cast<RRType>(kCdnskey), policy.dnskey_ttl, rdata);
    if (!cds.empty()) {
        apex_types.push_back(kCds);
        apex_types.push_back(kCdnskey);
    }
    auto nodes = zone_shape(source);
    // RFC 9077: the denial records' TTL is the SOA's negative TTL (the lesser of its TTL and MINIMUM).
    const uint32_t ttl = source.negative_ttl();
    if (policy.denial == Denial::Nsec) {
        const std::size_t apex_count = extras.size();
        add_nsec_chain(source, nodes, apex_types, ttl, extras);
        // The nodes go with the merge (the builder below does not need them).
        if (auto merged = merge_nsec(source, std::move(nodes), extras, apex_count)) return std::move(*merged);
    } else {
        apex_types.push_back(dns::to_u16(RRType::NSEC3PARAM));
        if (auto r = add_nsec3_chain(source, nodes, apex_types, ttl, policy.nsec3, extras); !r)
            return unexpected(r.error());
    }

    zone::ZoneBuilder builder(dns::Name::from_wire(source.apex().wire()).value());
    builder.reserve(source.size() + extras.size(), source.wire_bytes() + extras.size() * 64);
    auto add = [&](const RecordView& r) {
        return builder.add(r.owner.wire(), dns::to_u16(r.type), r.rclass, r.ttl, r.rdata, "signer", 0);
    };
    for (std::size_t i = 0; i < source.size(); ++i)
        if (auto a = add(source.record(i)); !a) return unexpected(a.error());
    for (std::size_t i = 0; i < extras.size(); ++i)
        if (auto a = add(extras.record(i)); !a) return unexpected(a.error());
    auto built = builder.build();
    if (!built) return unexpected(built.error().message);
    return WithDenial{*built, {}};
}

}  // namespace

uint32_t refresh_batch(const SigningPolicy& p) {
    return std::max<uint32_t>(60, p.signature_jitter / 12);
}

Result<void, std::string> check_unsigned(const ZoneVersion& source) {
    for (std::size_t i = 0; i < source.size(); ++i) {
        const RecordView r = source.record(i);
        if (dns::is_signer_type(r.type))
            return unexpected(
                r.owner.to_string() + " " + dns::to_string(r.type) +
                ": the zone is signed by Headwater (it has a dnssec_policy), so its file must be "
                "unsigned; remove the DNSSEC records (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, "
                "CDS, CDNSKEY), or remove the policy to serve the file as it is");
    }
    return {};
}

zone::ZoneVersionPtr strip_dnssec(const ZoneVersion& v) {
    std::vector<uint8_t> data;
    std::vector<uint32_t> offsets;
    reserve_huge(data, v.wire_bytes());
    std::size_t soa_index = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const RecordView r = v.record(i);
        if (dns::is_signer_type(r.type)) continue;
        if (i == v.soa_index()) soa_index = offsets.size();
        offsets.push_back(static_cast<uint32_t>(data.size()));
        data.insert(data.end(), r.wire.begin(), r.wire.end());
    }
    return std::make_shared<const ZoneVersion>(dns::Name::from_wire(v.apex().wire()).value(), std::move(data),
                                               std::move(offsets), soa_index);
}

Result<SignedZone, std::string> sign_zone(const ZoneVersion& source, const ZoneVersion* previous,
                                          std::span<const SigningKey> keys, const SigningPolicy& policy,
                                          const SignOptions& options) {
    if (keys.empty()) return unexpected(std::string("no keys to sign with"));
    if (!std::ranges::any_of(keys, [](const SigningKey& k) { return k.signs_keys; }) ||
        !std::ranges::any_of(keys, [](const SigningKey& k) { return k.signs_zone; }))
        return unexpected(std::string("no key signs the DNSKEY RRset, or none signs the zone"));
    auto u = with_denial(source, keys, policy);
    if (!u) return unexpected(u.error());
    std::vector<Node> nodes = u->nodes.empty() ? zone_shape(*u->version) : std::move(u->nodes);
    Signing s{*u->version, previous, keys, policy, options, std::move(nodes), {}, {}, {}, 0, false};
    std::mt19937_64 rng(options.seed);
    plan_signatures(s, rng);
    if (auto made = make_signatures(s); !made) return unexpected(made.error());
    SignedZone out;
    out.version = Assembler(s).assemble();
    out.signatures_made = s.jobs.size();
    out.signatures_kept = s.sigs.size() - s.jobs.size();
    out.signatures = s.sigs.size();
    out.earliest_expiration = s.earliest;
    out.next_refresh = s.earliest - policy.signature_refresh;
    return out;
}

}  // namespace headwater::sign
