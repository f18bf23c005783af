#include "xfr/verify/ZoneCompare.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "zone/Changeset.h"
#include "zone/dns/CanonicalRdata.h"

namespace headwater::verify {

namespace {

using zone::RecordView;

// The RDATA and TTL of one record of an RRset, in the form compared (class kept in case a group mixes).
struct Canonical {
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    std::vector<uint8_t> rdata;
    std::size_t index = 0;  // position in its group, to report the original record
};

bool canonical_less(const Canonical& a, const Canonical& b) {
    if (a.rclass != b.rclass) return a.rclass < b.rclass;
    if (a.rdata != b.rdata) return a.rdata < b.rdata;
    if (a.ttl != b.ttl) return a.ttl < b.ttl;
    return a.index < b.index;
}
bool canonical_equal(const Canonical& a, const Canonical& b) {
    return a.rclass == b.rclass && a.ttl == b.ttl && a.rdata == b.rdata;
}

// The group's records in compared form, sorted, duplicates dropped (the first of each kept).
std::vector<Canonical> canonical_set(std::span<const RecordView> group) {
    std::vector<Canonical> out(group.size());
    for (std::size_t k = 0; k < group.size(); ++k) {
        out[k].rclass = group[k].rclass;
        out[k].ttl = group[k].ttl;
        out[k].index = k;
        dns::append_case_folded_rdata(group[k].type, group[k].rdata, out[k].rdata);
    }
    std::sort(out.begin(), out.end(), canonical_less);
    out.erase(std::unique(out.begin(), out.end(), canonical_equal), out.end());
    return out;
}

bool same_octets(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

int compare_octets(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    const std::size_t n = std::min(a.size(), b.size());
    if (const int c = n != 0 ? std::memcmp(a.data(), b.data(), n) : 0; c != 0) return c < 0 ? -1 : 1;
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return 0;
}

// The RRset key: owner (canonical order), type, class.
int compare_group(const RecordView& a, const RecordView& b) {
    if (const int c = dns::canonical_compare(a.owner, b.owner); c != 0) return c;
    if (a.type != b.type) return dns::to_u16(a.type) < dns::to_u16(b.type) ? -1 : 1;
    if (a.rclass != b.rclass) return a.rclass < b.rclass ? -1 : 1;
    return 0;
}

// The order of the records of an RRset of theirs: RDATA as octets (the order of a zone version), then
// TTL.
int compare_full(const RecordView& a, const RecordView& b) {
    if (const int c = compare_group(a, b); c != 0) return c;
    if (const int c = compare_octets(a.rdata, b.rdata); c != 0) return c;
    if (a.ttl != b.ttl) return a.ttl < b.ttl ? -1 : 1;
    return 0;
}

// The indexes of the well-formed records of `theirs`, sorted by RRset (owner in canonical order, type,
// class; then index, so the order is total). Owners are turned into keys once, and the first eight octets
// past the apex's part of an in-zone key decide most comparisons without touching the records: a
// million records in random order sort in about a second. Servers mostly transfer in this order already
// (a walk of their tree; the records of an RRset together, not necessarily in canonical RDATA order):
// then the check that it is sorted is all the work.
std::vector<uint32_t> rrset_order(std::span<const WireRecord> theirs, dns::NameView apex) {
    struct Entry {
        uint64_t prefix = 0;  // key octets past the apex's, big-endian, 0-padded (in-zone keys only)
        uint32_t key = 0;     // into key_at
        uint32_t index = 0;   // into theirs
        uint16_t type = 0;
        uint16_t rclass = 0;
        bool in_zone = false;
    };
    std::vector<uint8_t> apex_key;
    dns::append_canonical_key(apex, apex.label_count(), apex_key);
    std::vector<uint8_t> keys;
    std::vector<uint32_t> key_at = {0};
    std::vector<Entry> entries;
    entries.reserve(theirs.size());
    std::span<const uint8_t> previous_owner;
    for (std::size_t k = 0; k < theirs.size(); ++k) {
        const WireRecord& w = theirs[k];
        if (w.empty() || zone::record_wire_length(w) != w.size()) continue;
        const RecordView r = zone::decode_record(w);
        Entry e;
        e.index = static_cast<uint32_t>(k);
        e.type = dns::to_u16(r.type);
        e.rclass = r.rclass;
        const auto owner = r.owner.wire();
        if (!entries.empty() && same_octets(owner, previous_owner)) {  // the records of one owner together
            e.prefix = entries.back().prefix;
            e.key = entries.back().key;
            e.in_zone = entries.back().in_zone;
        } else {
            const std::size_t start = keys.size();
            dns::append_canonical_key(r.owner, r.owner.label_count(), keys);
            e.key = static_cast<uint32_t>(key_at.size() - 1);
            key_at.push_back(static_cast<uint32_t>(keys.size()));
            e.in_zone = keys.size() - start >= apex_key.size() &&
                        std::equal(apex_key.begin(), apex_key.end(),
                                   keys.begin() + static_cast<std::ptrdiff_t>(start));
            if (e.in_zone) {
                const std::size_t from = start + apex_key.size();
                for (std::size_t b = 0; b < 8; ++b)
                    e.prefix = e.prefix << 8 | (from + b < keys.size() ? keys[from + b] : 0U);
            }
        }
        previous_owner = owner;
        entries.push_back(e);
    }
    auto less = [&](const Entry& a, const Entry& b) {
        // A shorter key is followed by zeros in its prefix, a longer one by a label octet (never 0).
        if (a.in_zone && b.in_zone && a.prefix != b.prefix) return a.prefix < b.prefix;
        if (a.key != b.key) {
            const std::span<const uint8_t> ka(keys.data() + key_at[a.key], key_at[a.key + 1] - key_at[a.key]);
            const std::span<const uint8_t> kb(keys.data() + key_at[b.key], key_at[b.key + 1] - key_at[b.key]);
            if (const int c = compare_octets(ka, kb); c != 0) return c < 0;
        }
        if (a.type != b.type) return a.type < b.type;
        if (a.rclass != b.rclass) return a.rclass < b.rclass;
        return a.index < b.index;
    };
    if (!std::is_sorted(entries.begin(), entries.end(), less))
        std::sort(entries.begin(), entries.end(), less);
    std::vector<uint32_t> order;
    order.reserve(entries.size());
    for (const Entry& e : entries) order.push_back(e.index);
    return order;
}

bool same_group(std::span<const RecordView> served, std::span<const RecordView> theirs) {
    // The common case, identical copies: both sides hold the same records in the same order.
    if (served.size() == theirs.size()) {
        bool same = true;
        for (std::size_t k = 0; k < served.size() && same; ++k)
            same = served[k].rclass == theirs[k].rclass && served[k].ttl == theirs[k].ttl &&
                   same_octets(served[k].rdata, theirs[k].rdata);
        if (same) return true;
    }
    // Otherwise compare as sets: names in RDATA without regard to case, duplicates once.
    const auto a = canonical_set(served);
    const auto b = canonical_set(theirs);
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), canonical_equal);
}

std::vector<WireRecord> copies(std::span<const RecordView> group) {
    std::vector<WireRecord> out;
    out.reserve(group.size());
    for (const RecordView& r : group) out.emplace_back(r.wire.begin(), r.wire.end());
    return out;
}

// Their records without duplicates, in the order they are sorted in (compare_full).
std::vector<WireRecord> copies_without_duplicates(std::span<const RecordView> group) {
    const auto set = canonical_set(group);
    std::vector<std::size_t> kept;
    kept.reserve(set.size());
    for (const Canonical& c : set) kept.push_back(c.index);
    std::sort(kept.begin(), kept.end());
    std::vector<WireRecord> out;
    out.reserve(kept.size());
    for (const std::size_t k : kept) out.emplace_back(group[k].wire.begin(), group[k].wire.end());
    return out;
}

RRsetDifference make_difference(RRsetDifference::Kind kind, std::span<const RecordView> served,
                                std::span<const RecordView> theirs) {
    RRsetDifference d;
    d.kind = kind;
    const RecordView& first = served.empty() ? theirs.front() : served.front();
    d.owner = dns::Name::from_wire(first.owner.wire()).value();
    d.type = first.type;
    d.served = copies(served);
    if (!theirs.empty()) d.theirs = copies_without_duplicates(theirs);
    return d;
}

// The key same_records compares: lower-cased owner, type, class, TTL, canonical RDATA. A malformed
// record is keyed by its bytes behind an octet no name can start with.
std::vector<uint8_t> record_key(const WireRecord& w) {
    std::vector<uint8_t> key;
    if (w.empty() || zone::record_wire_length(w) != w.size()) {
        key.reserve(w.size() + 1);
        key.push_back(0xFF);
        key.insert(key.end(), w.begin(), w.end());
        return key;
    }
    const RecordView r = zone::decode_record(w);
    key.reserve(w.size());
    for (const uint8_t c : r.owner.wire()) key.push_back(dns::ascii_lower(c));
    const std::size_t owner_len = r.owner.size();
    key.insert(key.end(), w.begin() + static_cast<std::ptrdiff_t>(owner_len),
               w.begin() + static_cast<std::ptrdiff_t>(owner_len + 8));  // type, class, TTL
    dns::append_case_folded_rdata(r.type, r.rdata, key);
    return key;
}

}  // namespace

std::string_view to_string(RRsetDifference::Kind kind) {
    switch (kind) {
        case RRsetDifference::Kind::Missing:
            return "missing";
        case RRsetDifference::Kind::Extra:
            return "extra";
        case RRsetDifference::Kind::Different:
            return "different";
    }
    return "different";
}

bool same_records(std::span<const WireRecord> a, std::span<const WireRecord> b) {
    auto keys = [](std::span<const WireRecord> records) {
        std::vector<std::vector<uint8_t>> out;
        out.reserve(records.size());
        for (const WireRecord& w : records) out.push_back(record_key(w));
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    };
    return keys(a) == keys(b);
}

std::vector<RRsetDifference> compare_zone(const zone::ZoneVersion& served,
                                          std::span<const WireRecord> theirs) {
    // Their well-formed records, sorted by RRset (indexes into `theirs`).
    const std::vector<uint32_t> order = rrset_order(theirs, served.apex());
    auto view = [&](uint32_t k) { return zone::decode_record(theirs[k]); };

    // The served version is already sorted by owner, type, RDATA (compare_records); ZoneBuilder only
    // takes class IN, so its RRsets are runs of equal owner and type.
    const std::size_t n = served.size();
    std::vector<RecordView> mine;  // the current served RRset
    std::size_t i = 0;
    auto next_served = [&] {
        mine.clear();
        if (i == n) return;
        mine.push_back(served.record(i++));
        while (i < n) {
            const RecordView r = served.record(i);
            if (compare_group(mine.front(), r) != 0) break;
            mine.push_back(r);
            ++i;
        }
    };
    std::size_t t = 0;
    std::vector<RecordView> yours;  // the current RRset of theirs
    auto next_theirs = [&] {
        yours.clear();
        if (t == order.size()) return;
        yours.push_back(view(order[t++]));
        while (t < order.size()) {
            const RecordView r = view(order[t]);
            if (compare_group(yours.front(), r) != 0) break;
            yours.push_back(r);
            ++t;
        }
        std::sort(yours.begin(), yours.end(),
                  [](const RecordView& a, const RecordView& b) { return compare_full(a, b) < 0; });
    };

    std::vector<RRsetDifference> out;
    next_served();
    next_theirs();
    while (!mine.empty() || !yours.empty()) {
        const int c = mine.empty() ? 1 : yours.empty() ? -1 : compare_group(mine.front(), yours.front());
        if (c < 0) {
            out.push_back(make_difference(RRsetDifference::Kind::Missing, mine, {}));
            next_served();
        } else if (c > 0) {
            out.push_back(make_difference(RRsetDifference::Kind::Extra, {}, yours));
            next_theirs();
        } else {
            if (!same_group(mine, yours))
                out.push_back(make_difference(RRsetDifference::Kind::Different, mine, yours));
            next_served();
            next_theirs();
        }
    }
    return out;
}

}  // namespace headwater::verify
