#include "zone/ZoneBuilder.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstring>
#include <thread>

#include "zone/base/HugePages.h"
#include "zone/dns/CanonicalRdata.h"

namespace headwater::zone {

using dns::RRType;

namespace {

template <class V>
void release(V& v) {
    V().swap(v);
}

// Runs fn(begin, end) over [0, n) split in two, the first half on a second thread when the work (the
// number of records) is large: the machine's other core is otherwise idle while a large zone loads, and
// for a small one a thread costs more than it saves. `split` may move the cut to a better place.
template <class Fn, class Split>
void two_ways(std::size_t n, std::size_t records, Split split, Fn fn) {
    constexpr std::size_t kParallel = 1u << 15;
    if (records < kParallel || std::thread::hardware_concurrency() < 2) {
        fn(std::size_t{0}, n);
        return;
    }
    const std::size_t mid = split(n / 2);
    std::thread first([&] { fn(std::size_t{0}, mid); });
    fn(mid, n);
    first.join();
}

// Below this many records a zone is sorted in one std::sort (see sort_canonical).
constexpr std::size_t kRadixFrom = 1u << 12;
// A zone this many octets or larger hands its build's freed memory back to the system (see pack).
constexpr std::size_t kTrimAfter = 4u << 20;

}  // namespace

ZoneBuilder::ZoneBuilder(dns::Name apex) : apex_(std::move(apex)), apex_labels_(apex_.view().label_count()) {}

Result<void, std::string> ZoneBuilder::add(std::span<const uint8_t> owner, uint16_t type, uint16_t rclass,
                                           uint32_t ttl, std::span<const uint8_t> rdata,
                                           std::string_view file, std::size_t line) {
    // The name is checked here too: a transfer-in hands over what a peer sent.
    if (owner.empty() || dns::wire_name_length(owner) != owner.size())
        return unexpected(std::string("invalid owner name"));
    const dns::NameView owner_name(owner);
    const std::size_t labels = owner_name.label_count();
    // In the zone: the last labels are the apex's (RFC 4343: case-insensitively).
    const std::size_t below = labels >= apex_labels_ ? labels - apex_labels_ : 0;
    if (labels < apex_labels_ || !(owner_name.parent(below) == apex_))
        return unexpected("out-of-zone data: " + owner_name.to_string() + " is not in zone " +
                          apex_.to_string());
    if (rclass != dns::to_u16(dns::RRClass::IN))
        return unexpected("class " + dns::to_string(static_cast<dns::RRClass>(rclass)) +
                          " is not supported (only IN)");
    if (type == dns::to_u16(RRType::SOA) && below != 0)
        return unexpected("SOA record at " + owner_name.to_string() + ", which is not the zone apex " +
                          apex_.to_string());
    if (rdata.size() > 0xFFFF) return unexpected(std::string("RDATA longer than 65535 octets"));
    if (data_.size() > 0xFFFF0000u) return unexpected(std::string("zone larger than 4 GiB"));

    // Files are few ($INCLUDE); remember the last one so the common case is one comparison.
    if (files_.empty() || files_[current_file_] != file) {
        auto it = std::find(files_.begin(), files_.end(), file);
        if (it == files_.end()) it = files_.emplace(files_.end(), file);
        current_file_ = static_cast<uint32_t>(it - files_.begin());
    }

    // Records of one owner usually follow each other: they share the key made for the first.
    const auto index = static_cast<uint32_t>(offsets_.size());
    const bool same_owner = !entries_.empty() && entries_.back().owner_length == owner.size() &&
                            std::memcmp(data_.data() + offsets_.back(), owner.data(), owner.size()) == 0;
    if (same_owner) {
        Entry e = entries_.back();
        e.index = index;
        e.type = type;
        e.rdlength = static_cast<uint16_t>(rdata.size());
        entries_.push_back(e);
    } else {
        const std::size_t start = keys_.size();
        dns::append_canonical_key(owner_name, below, keys_);  // the labels below the apex
        Entry e{{0, 0},
                static_cast<uint32_t>(key_offsets_.size() - 1),
                index,
                type,
                static_cast<uint16_t>(rdata.size()),
                static_cast<uint8_t>(owner.size())};
        for (std::size_t k = 0; k < 16; ++k)
            e.prefix[k / 8] = e.prefix[k / 8] << 8 | (start + k < keys_.size() ? keys_[start + k] : 0u);
        key_offsets_.push_back(static_cast<uint32_t>(keys_.size()));
        entries_.push_back(e);
    }

    if (!same_owner) ++run_;
    offsets_.push_back(static_cast<uint32_t>(data_.size()));
    locations_.push_back({current_file_, static_cast<uint32_t>(line), run_});
    data_.insert(data_.end(), owner.begin(), owner.end());
    const uint8_t fixed[10] = {static_cast<uint8_t>(type >> 8),         static_cast<uint8_t>(type),
                               static_cast<uint8_t>(rclass >> 8),       static_cast<uint8_t>(rclass),
                               static_cast<uint8_t>(ttl >> 24),         static_cast<uint8_t>(ttl >> 16),
                               static_cast<uint8_t>(ttl >> 8),          static_cast<uint8_t>(ttl),
                               static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
    data_.insert(data_.end(), std::begin(fixed), std::end(fixed));
    data_.insert(data_.end(), rdata.begin(), rdata.end());
    return {};
}

void ZoneBuilder::reserve(std::size_t records, std::size_t bytes) {
    reserve_huge(data_, bytes);
    reserve_huge(offsets_, records);
    reserve_huge(entries_, records);
    locations_.reserve(records);
    keys_.reserve(records * 8);
    key_offsets_.reserve(records + 1);
}

LoadError ZoneBuilder::error_at(std::size_t insertion_index, std::string message) const {
    const Location& loc = locations_[insertion_index];
    return LoadError{files_[loc.file], loc.line, std::move(message)};
}

int ZoneBuilder::compare_owner(const Entry& a, const Entry& b) const {
    if (a.prefix[0] != b.prefix[0]) return a.prefix[0] < b.prefix[0] ? -1 : 1;
    if (a.prefix[1] != b.prefix[1]) return a.prefix[1] < b.prefix[1] ? -1 : 1;
    if (a.key == b.key) return 0;
    // Equal first 16 octets: either both keys are at least that long, or they are equal.
    const auto ka = key(a.key);
    const auto kb = key(b.key);
    const std::size_t n = std::min(ka.size(), kb.size());
    if (const int c = n > 16 ? std::memcmp(ka.data() + 16, kb.data() + 16, n - 16) : 0; c != 0) return c;
    if (ka.size() != kb.size()) return ka.size() < kb.size() ? -1 : 1;
    return 0;
}

int ZoneBuilder::compare(const Entry& a, const Entry& b) const {
    if (const int c = compare_owner(a, b); c != 0) return c;
    if (a.type != b.type) return a.type < b.type ? -1 : 1;
    // RDATA in canonical form (names of the RFC 4034 §6.2 types lower-cased) as left-justified octet
    // strings, a missing octet first (RFC 4034 §6.3).
    return dns::compare_canonical_rdata(static_cast<RRType>(a.type), rdata(a), rdata(b));
}

uint32_t ZoneBuilder::ttl(const Entry& e) const {
    const uint8_t* p = data_.data() + offsets_[e.index] + e.owner_length + 4;
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void ZoneBuilder::set_ttl(const Entry& e, uint32_t value) {
    uint8_t* p = data_.data() + offsets_[e.index] + e.owner_length + 4;
    p[0] = static_cast<uint8_t>(value >> 24);
    p[1] = static_cast<uint8_t>(value >> 16);
    p[2] = static_cast<uint8_t>(value >> 8);
    p[3] = static_cast<uint8_t>(value);
}

std::string ZoneBuilder::describe(const Entry& e) const {
    return dns::NameView(std::span(data_).subspan(offsets_[e.index], e.owner_length)).to_string() + " " +
           dns::to_string(static_cast<RRType>(e.type));
}

std::string ZoneBuilder::where(const Entry& e) const {
    const Location& loc = locations_[e.index];
    return files_[loc.file] + ":" + std::to_string(loc.line);
}

void ZoneBuilder::warn(const Entry& e, std::string message) {
    if (warnings_.size() < kMaxWarnings) {
        warnings_.push_back(error_at(e.index, std::move(message)));
        warning_order_.push_back(e.index);
    } else {
        ++suppressed_warnings_;
    }
}

void ZoneBuilder::unify_ttl(std::size_t begin, std::size_t end) {
    // RFC 2181 §5.2: the records of an RRset have one TTL; so no IXFR ever adds a record whose TTL differs
    // from its set's (a secondary refuses that), and a TTL change is the removal and re-addition of the
    // whole set. A set written with several TTLs gets the one BIND gives it, so that a zone file moved
    // from BIND serves what it served there: within a run of consecutive lines with the same owner the
    // first TTL of the set holds, and a later run of the set replaces it (measured on BIND 9.18; Knot
    // takes the last record's TTL).
    const auto later = [&](const Entry& a, const Entry& b) {
        const uint32_t ra = locations_[a.index].run;
        const uint32_t rb = locations_[b.index].run;
        return ra != rb ? ra > rb : a.index < b.index;
    };
    std::size_t first = begin;  // the set's first record in its last run
    for (std::size_t k = begin + 1; k < end; ++k)
        if (later(entries_[k], entries_[first])) first = k;
    const uint32_t first_ttl = ttl(entries_[first]);
    for (std::size_t k = begin; k < end; ++k) {
        if (ttl(entries_[k]) == first_ttl) continue;
        warn(entries_[k], "TTL " + std::to_string(ttl(entries_[k])) + " of " + describe(entries_[k]) +
                              " set to " + std::to_string(first_ttl) + ", the TTL of its RRset at " +
                              where(entries_[first]) + " (RFC 2181 §5.2)");
        set_ttl(entries_[k], first_ttl);
    }
}

void ZoneBuilder::normalise_rrsets() {
    // One pass over the sorted entries, one RRset at a time. RFC 2181 §5: an RRset holds no duplicate
    // records. Duplicates compare equal in canonical form (a name in the RDATA of an RFC 4034 §6.2 type
    // matches whatever its case, RFC 4343) and sort next to each other, the first in the file first: that
    // one is kept, as BIND and Knot keep it. RRSIGs form one set per covered type (RFC 4034 §3: each
    // carries its covered set's TTL); the covered type leads the RDATA, so they are adjacent.
    auto same_set = [&](const Entry& a, const Entry& b) {
        if (a.type != b.type || compare_owner(a, b) != 0) return false;
        if (static_cast<RRType>(a.type) != RRType::RRSIG) return true;
        const auto ra = rdata(a);
        const auto rb = rdata(b);
        return ra.size() >= 2 && rb.size() >= 2 && ra[0] == rb[0] && ra[1] == rb[1];
    };
    std::size_t kept = 0;
    std::size_t set_begin = 0;  // the current set is entries_[set_begin, kept)
    constexpr std::size_t kAhead = 8;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        // The sets of more than one record read their records' RDATA and TTL, which lie all over data_ (it
        // is in file order): fetch those a few entries ahead (1M records: a third of this pass's time).
        if (const std::size_t j = i + kAhead; j < entries_.size() &&
                                              entries_[j].type == entries_[j - 1].type &&
                                              entries_[j].prefix[0] == entries_[j - 1].prefix[0]) {
            __builtin_prefetch(data_.data() + offsets_[entries_[j].index]);
            __builtin_prefetch(&locations_[entries_[j].index]);
            if (entries_[j - 2].type != entries_[j - 1].type ||
                entries_[j - 2].prefix[0] != entries_[j - 1].prefix[0]) {
                __builtin_prefetch(data_.data() + offsets_[entries_[j - 1].index]);
                __builtin_prefetch(&locations_[entries_[j - 1].index]);
            }
        }
        const Entry& e = entries_[i];
        if (kept > 0 && same_set(entries_[kept - 1], e)) {
            const Entry& prev = entries_[kept - 1];
            if (dns::compare_canonical_rdata(static_cast<RRType>(e.type), rdata(prev), rdata(e)) == 0) {
                warn(e, "duplicate record " + describe(e) + " dropped (the same as " + where(prev) +
                            "; RFC 2181 §5)");
                continue;
            }
        } else {
            if (kept - set_begin > 1) unify_ttl(set_begin, kept);
            set_begin = kept;
        }
        if (kept != i) entries_[kept] = e;
        ++kept;
    }
    if (kept - set_begin > 1) unify_ttl(set_begin, kept);
    entries_.resize(kept);

    // Reported in file order, as an operator reads them.
    std::vector<std::size_t> by_line(warnings_.size());
    for (std::size_t k = 0; k < by_line.size(); ++k) by_line[k] = k;
    std::stable_sort(by_line.begin(), by_line.end(),
                     [&](std::size_t a, std::size_t b) { return warning_order_[a] < warning_order_[b]; });
    std::vector<LoadWarning> sorted;
    sorted.reserve(warnings_.size());
    for (const std::size_t k : by_line) sorted.push_back(std::move(warnings_[k]));
    warnings_ = std::move(sorted);
    release(warning_order_);
}

void ZoneBuilder::sort_canonical() {
    // The insertion index breaks ties, so the order is total and the same as a stable sort's.
    // Most comparisons are decided by the key's first 16 octets or the type; RDATA is read only inside
    // an RRset.
    const auto less = [&](const Entry& a, const Entry& b) {
        if (a.prefix[0] != b.prefix[0]) return a.prefix[0] < b.prefix[0];
        if (a.prefix[1] != b.prefix[1]) return a.prefix[1] < b.prefix[1];
        if (a.key != b.key)
            if (const int c = compare_owner(a, b); c != 0) return c < 0;
        if (a.type != b.type) return a.type < b.type;
        if (const int c = dns::compare_canonical_rdata(static_cast<RRType>(a.type), rdata(a), rdata(b));
            c != 0)
            return c < 0;
        return a.index < b.index;
    };
    // A small zone (most zones of a hosting primary) is one sort: the radix pass below zeroes and copies
    // half a megabyte of bucket counts, which would cost more than the records themselves.
    if (entries_.size() < kRadixFrom) {
        std::sort(entries_.begin(), entries_.end(), less);
        return;
    }
    // One radix pass on the key's first two octets, then each bucket sorted on its own: fewer comparisons
    // than one big sort, within memory a cache holds, and the buckets split between two threads.
    constexpr std::size_t kBuckets = 1u << 16;
    auto bucket = [](const Entry& e) { return static_cast<std::size_t>(e.prefix[0] >> 48); };
    std::vector<uint32_t> starts(kBuckets + 1, 0);
    for (const Entry& e : entries_) ++starts[bucket(e) + 1];
    for (std::size_t b = 0; b < kBuckets; ++b) starts[b + 1] += starts[b];
    {
        std::vector<uint32_t> next(starts.begin(), starts.end() - 1);
        std::vector<Entry> scattered(entries_.size());
        for (const Entry& e : entries_) scattered[next[bucket(e)]++] = e;
        entries_.swap(scattered);
    }
    two_ways(
        kBuckets, entries_.size(),
        [&](std::size_t) {  // the bucket where half of the records are behind
            return static_cast<std::size_t>(
                std::upper_bound(starts.begin(), starts.end(), entries_.size() / 2) - starts.begin() - 1);
        },
        [&](std::size_t from, std::size_t to) {
            for (std::size_t b = from; b < to; ++b)
                if (starts[b + 1] - starts[b] > 1)
                    std::sort(entries_.begin() + starts[b], entries_.begin() + starts[b + 1], less);
        });
}

Result<void, LoadError> ZoneBuilder::check_cname(std::size_t first, std::size_t last) const {
    std::size_t cname = 0, other = 0;
    std::size_t cname_at = first, other_at = first;
    for (std::size_t j = first; j < last; ++j) {
        const auto t = static_cast<RRType>(entries_[j].type);
        if (t == RRType::CNAME) {
            if (cname++ == 0) cname_at = j;
        } else if (!dns::may_accompany_cname(t)) {
            if (other++ == 0) other_at = j;
        }
    }
    if (cname == 0) return {};
    const auto owner = [&] {
        const Entry& e = entries_[first];
        return dns::NameView(std::span(data_).subspan(offsets_[e.index], e.owner_length)).to_string();
    };
    if (cname > 1)
        return unexpected(error_at(entries_[cname_at + 1].index, "more than one CNAME at " + owner()));
    if (other > 0) {
        // report the later of the two lines
        const auto at = std::max(entries_[cname_at].index, entries_[other_at].index);
        return unexpected(error_at(at, "CNAME and other data at " + owner() +
                                           " (RFC 1034 §3.6.2: a CNAME must be alone at its name)"));
    }
    return {};
}

Result<std::size_t, LoadError> ZoneBuilder::check_zone() const {
    // One linear pass over the sorted records, one owner name at a time.
    const std::vector<Entry>& order = entries_;
    std::size_t soa_count = 0;
    std::size_t soa_pos = 0;
    bool apex_ns = false;
    for (std::size_t i = 0; i < order.size();) {
        const bool at_apex = key(order[i].key).empty();
        std::size_t j = i;
        bool cname = false;
        for (; j < order.size() && compare_owner(order[j], order[i]) == 0; ++j) {
            const auto t = static_cast<RRType>(order[j].type);
            cname = cname || t == RRType::CNAME;
            if (t == RRType::SOA) {
                ++soa_count;
                soa_pos = j;
                if (soa_count > 1)  // report the line that came second in the file
                    return unexpected(error_at(std::max(order[j - 1].index, order[j].index),
                                               "more than one SOA record at the zone apex"));
            }
            if (t == RRType::NS && at_apex) apex_ns = true;
        }
        if (cname)
            if (auto alone = check_cname(i, j); !alone) return unexpected(alone.error());
        i = j;
    }
    const std::string file = files_.empty() ? std::string() : files_.front();
    if (soa_count == 0)
        return unexpected(LoadError{file, 0, "no SOA record at the zone apex " + apex_.to_string()});
    if (!apex_ns)
        return unexpected(LoadError{file, 0, "no NS records at the zone apex " + apex_.to_string()});
    return soa_pos;
}

ZoneVersionPtr ZoneBuilder::pack(std::size_t soa_pos) {
    // Lay the records out in canonical order in one exactly sized buffer (two threads copying halves).
    const std::vector<Entry>& order = entries_;
    std::vector<uint32_t> offsets;
    reserve_huge(offsets, order.size());
    offsets.resize(order.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        offsets[i] = static_cast<uint32_t>(total);
        total += order[i].owner_length + 10u + order[i].rdlength;
    }
    std::vector<uint8_t> packed;
    reserve_huge(packed, total);
    packed.resize(total);
    two_ways(
        order.size(), order.size(), [](std::size_t mid) { return mid; },
        [&](std::size_t from, std::size_t to) {
            for (std::size_t i = from; i < to; ++i) {
                // Sorted order reads all over data_: fetch a few records ahead.
                if (i + 8 < to) __builtin_prefetch(data_.data() + offsets_[order[i + 8].index]);
                const Entry& e = order[i];
                std::memcpy(packed.data() + offsets[i], data_.data() + offsets_[e.index],
                            e.owner_length + 10u + e.rdlength);
            }
        });
    release(data_);
    release(offsets_);
    release(entries_);
    release(keys_);
    key_offsets_.assign(1, 0);
    release(locations_);
#if defined(__GLIBC__)
    // The temporaries above (tens of MB for a large zone) were freed, but glibc keeps freed chunks below
    // its (self-raising) mmap threshold in the arena, where they would stay resident next to the new
    // version for good: hand their pages back. Not after a small zone: the walk over the heap would cost
    // more than the zone's load, and the few pages freed are reused by the next zone.
    if (total >= kTrimAfter) malloc_trim(0);
#endif
    return std::make_shared<const ZoneVersion>(apex_, std::move(packed), std::move(offsets), soa_pos);
}

Result<ZoneVersionPtr, LoadError> ZoneBuilder::build() {
    sort_canonical();    // RFC 4034 §6.3 order
    normalise_rrsets();  // RFC 2181 §5: duplicates dropped, one TTL per RRset
    auto soa_pos = check_zone();
    if (!soa_pos) return unexpected(soa_pos.error());
    return pack(*soa_pos);
}

}  // namespace headwater::zone
