#include "zone/sign/RrsigCheck.h"

#include <algorithm>
#include <vector>

#include "zone/dns/CanonicalRdata.h"
#include "zone/sign/Rrsig.h"

namespace headwater::sign {

namespace {

constexpr std::size_t kRrsigFixed = 18;  // type covered .. key tag (RFC 4034 §3.1)

// The owner the signature was made over: the owner itself, or for a wildcard expansion the wildcard
// "*." + the rightmost `labels` labels (RFC 4035 §5.3.2). Written into `storage`.
dns::NameView signed_owner(dns::NameView owner, uint8_t labels, std::vector<uint8_t>& storage) {
    const std::size_t own = owner.label_count();
    if (labels >= own) return owner;
    const dns::NameView closest = owner.parent(own - labels);
    storage = {1, '*'};
    storage.insert(storage.end(), closest.wire().begin(), closest.wire().end());
    return dns::NameView(storage);
}

// The RRset in canonical order without duplicates (RFC 4034 §6.3; RFC 2181 §5), as append_signed_rrset
// wants it.
std::vector<zone::RecordView> canonical_rrset(std::span<const zone::RecordView> rrset, dns::NameView owner) {
    std::vector<zone::RecordView> out(rrset.begin(), rrset.end());
    for (auto& r : out) r.owner = owner;
    std::sort(out.begin(), out.end(), [](const zone::RecordView& a, const zone::RecordView& b) {
        return dns::compare_canonical_rdata(a.type, a.rdata, b.rdata) < 0;
    });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const zone::RecordView& a, const zone::RecordView& b) {
                              return dns::compare_canonical_rdata(a.type, a.rdata, b.rdata) == 0;
                          }),
              out.end());
    return out;
}

// The checks of RFC 4035 §5.3.1 that need no key: the verdict, or Valid to go on.
RrsigVerdict check_fields(dns::NameView apex, const zone::RecordView& first, const zone::RecordView& rrsig,
                          const RrsigSummary& s, dns::NameView signer, int64_t now) {
    if (!(rrsig.owner == first.owner) || rrsig.rclass != first.rclass) return RrsigVerdict::NotCovering;
    if (s.covered != first.type) return RrsigVerdict::WrongType;
    const uint8_t labels = rrsig.rdata[3];
    if (labels > rrsig_labels(first.owner)) return RrsigVerdict::WrongLabels;
    if (!(signer == apex)) return RrsigVerdict::WrongSigner;
    if (rrsig_seconds_from(s.inception, now) > 0) return RrsigVerdict::NotYetValid;
    if (rrsig_seconds_from(s.expiration, now) < 0) return RrsigVerdict::Expired;
    return RrsigVerdict::Valid;
}

}  // namespace

std::string_view to_string(RrsigVerdict v) {
    switch (v) {
        case RrsigVerdict::Valid:
            return "valid";
        case RrsigVerdict::Malformed:
            return "malformed";
        case RrsigVerdict::NotCovering:
            return "not-covering";
        case RrsigVerdict::WrongType:
            return "wrong-type";
        case RrsigVerdict::WrongLabels:
            return "wrong-labels";
        case RrsigVerdict::WrongSigner:
            return "wrong-signer";
        case RrsigVerdict::NotYetValid:
            return "not-yet-valid";
        case RrsigVerdict::Expired:
            return "expired";
        case RrsigVerdict::NoKey:
            return "no-key";
        case RrsigVerdict::BadSignature:
            return "bad-signature";
    }
    return "unknown";
}

int64_t rrsig_seconds_from(uint32_t field, int64_t now) {
    // The difference taken modulo 2^32 and read as signed: RFC 1982's comparison of 32-bit serials.
    return static_cast<int32_t>(field - static_cast<uint32_t>(now));
}

RrsigCheck check_rrsig(dns::NameView apex, std::span<const zone::RecordView> rrset,
                       const zone::RecordView& rrsig, std::span<const DnssecKey> keys, int64_t now) {
    RrsigCheck out;
    const auto summary = read_rrsig(rrsig.rdata);
    const std::size_t signer_length =
        summary ? dns::wire_name_length(rrsig.rdata.subspan(kRrsigFixed)) : std::size_t{0};
    if (!summary || signer_length == 0) return out;  // Malformed
    out.key_tag = summary->key_tag;
    out.algorithm = summary->algorithm;
    out.expiration = summary->expiration;
    if (rrset.empty()) {
        out.verdict = RrsigVerdict::NotCovering;
        return out;
    }
    const std::size_t head = kRrsigFixed + signer_length;
    const dns::NameView signer(rrsig.rdata.subspan(kRrsigFixed, signer_length));
    out.verdict = check_fields(apex, rrset.front(), rrsig, *summary, signer, now);
    if (out.verdict != RrsigVerdict::Valid) return out;

    // RFC 4034 §3.1.8.1: RRSIG_RDATA without the signature, the signer in canonical (lower-case) form,
    // then the RRset.
    std::vector<uint8_t> data(rrsig.rdata.begin(), rrsig.rdata.begin() + static_cast<std::ptrdiff_t>(head));
    for (std::size_t i = kRrsigFixed; i < head; ++i) data[i] = dns::ascii_lower(data[i]);
    std::vector<uint8_t> wildcard;
    const auto owner = signed_owner(rrset.front().owner, rrsig.rdata[3], wildcard);
    const uint32_t original_ttl = (uint32_t{rrsig.rdata[4]} << 24) | (uint32_t{rrsig.rdata[5]} << 16) |
                                  (uint32_t{rrsig.rdata[6]} << 8) | uint32_t{rrsig.rdata[7]};
    append_signed_rrset(canonical_rrset(rrset, owner), original_ttl, data);
    const auto signature = rrsig.rdata.subspan(head);

    out.verdict = RrsigVerdict::NoKey;
    for (const DnssecKey& key : keys) {
        // RFC 4035 §5.3.1: the key must be a zone key with the RRSIG's tag and algorithm.
        if (key.tag() != summary->key_tag || static_cast<uint8_t>(key.algorithm()) != summary->algorithm ||
            (key.flags() & kZoneKeyFlag) == 0)
            continue;
        if (key.verify(data, signature)) {
            out.verdict = RrsigVerdict::Valid;
            return out;
        }
        out.verdict = RrsigVerdict::BadSignature;
    }
    return out;
}

}  // namespace headwater::sign
