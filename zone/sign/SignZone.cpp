#include "zone/sign/SignZone.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "zone/ZoneBuilder.h"
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
zone::ZoneVersionPtr assemble(const Signing& s) {
    const ZoneVersion& u = s.u;
    std::vector<uint8_t> data;
    std::vector<uint32_t> offsets;
    data.reserve(u.wire_bytes() + s.sigs.size() * 120);
    offsets.reserve(u.size() + s.sigs.size());
    std::size_t soa_index = 0;
    auto emit = [&](std::span<const uint8_t> wire) {
        offsets.push_back(static_cast<uint32_t>(data.size()));
        data.insert(data.end(), wire.begin(), wire.end());
    };
    std::vector<std::pair<std::span<const uint8_t>, uint32_t>> here;  // RDATA, TTL
    std::size_t si = 0;
    for (std::size_t ni = 0; ni < s.nodes.size(); ++ni) {
        const Node& n = s.nodes[ni];
        here.clear();
        for (; si < s.sigs.size() && s.sigs[si].node == ni; ++si) {
            const SigRef& r = s.sigs[si];
            if (r.job == SIZE_MAX) {
                here.emplace_back(r.kept, r.ttl);
            } else {
                const Job& j = s.jobs[r.job];
                here.emplace_back(std::span(s.outputs[j.thread]).subspan(j.at, j.length), r.ttl);
            }
        }
        // RFC 4034 §6.3: RDATA as left-justified octet strings (the signer name is lower-case already).
        std::sort(here.begin(), here.end(), [](const auto& a, const auto& b) {
            return std::ranges::lexicographical_compare(a.first, b.first);
        });
        bool sigs_done = false;
        auto emit_sigs = [&] {
            const auto owner = u.record(n.begin).owner.wire();
            for (const auto& [rdata, ttl] : here) {
                offsets.push_back(static_cast<uint32_t>(data.size()));
                data.insert(data.end(), owner.begin(), owner.end());
                const uint8_t fixed[10] = {0,
                                           static_cast<uint8_t>(dns::to_u16(RRType::RRSIG)),
                                           0,
                                           1,
                                           static_cast<uint8_t>(ttl >> 24),
                                           static_cast<uint8_t>(ttl >> 16),
                                           static_cast<uint8_t>(ttl >> 8),
                                           static_cast<uint8_t>(ttl),
                                           static_cast<uint8_t>(rdata.size() >> 8),
                                           static_cast<uint8_t>(rdata.size())};
                data.insert(data.end(), std::begin(fixed), std::end(fixed));
                data.insert(data.end(), rdata.begin(), rdata.end());
            }
            sigs_done = true;
        };
        for (std::size_t i = n.begin; i < n.end; ++i) {
            const RecordView r = u.record(i);
            if (!sigs_done && dns::to_u16(r.type) > dns::to_u16(RRType::RRSIG)) emit_sigs();
            if (i == u.soa_index()) soa_index = offsets.size();
            emit(r.wire);
        }
        if (!sigs_done) emit_sigs();
    }
    return std::make_shared<const ZoneVersion>(dns::Name::from_wire(u.apex().wire()).value(), std::move(data),
                                               std::move(offsets), soa_index);
}

// The source with the DNSKEY RRset and the denial chain, unsigned.
Result<zone::ZoneVersionPtr, std::string> with_denial(const ZoneVersion& source,
                                                      std::span<const SigningKey> keys,
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
    const auto nodes = zone_shape(source);
    // RFC 9077: the denial records' TTL is the SOA's negative TTL (the lesser of its TTL and MINIMUM).
    const uint32_t ttl = source.negative_ttl();
    if (policy.denial == Denial::Nsec) {
        add_nsec_chain(source, nodes, apex_types, ttl, extras);
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
    return *built;
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
    data.reserve(v.wire_bytes());
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
    Signing s{**u, previous, keys, policy, options, zone_shape(**u), {}, {}, {}, 0, false};
    std::mt19937_64 rng(options.seed);
    plan_signatures(s, rng);
    if (auto made = make_signatures(s); !made) return unexpected(made.error());
    SignedZone out;
    out.version = assemble(s);
    out.signatures_made = s.jobs.size();
    out.signatures_kept = s.sigs.size() - s.jobs.size();
    out.signatures = s.sigs.size();
    out.earliest_expiration = s.earliest;
    out.next_refresh = s.earliest - policy.signature_refresh;
    return out;
}

}  // namespace headwater::sign
