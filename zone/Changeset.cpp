#include "zone/Changeset.h"

#include <algorithm>
#include <cstring>

#include "zone/base/HugePages.h"
#include "zone/dns/CanonicalRdata.h"

namespace headwater::zone {

using dns::RRType;

namespace {

uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
    out.push_back(static_cast<uint8_t>(v >> 24));
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

bool same_wire(const RecordView& a, const RecordView& b) {
    return a.wire.size() == b.wire.size() && std::memcmp(a.wire.data(), b.wire.data(), a.wire.size()) == 0;
}

std::string describe(const RecordView& r) {
    return r.owner.to_string() + " " + std::to_string(r.ttl) + " " + dns::to_string(r.type);
}

// A sorted list of records from one changeset.
using List = std::vector<RecordView>;

List removed_list(const Changeset& c) {
    List out;
    out.reserve(c.removed_count());
    for (std::size_t i = 0; i < c.removed_count(); ++i) out.push_back(c.removed(i));
    return out;
}
List added_list(const Changeset& c) {
    List out;
    out.reserve(c.added_count());
    for (std::size_t i = 0; i < c.added_count(); ++i) out.push_back(c.added(i));
    return out;
}

// Sorted-list set operations under compare_records_exact, each one linear pass.
List minus(const List& a, const List& b) {
    List out;
    std::size_t j = 0;
    for (const RecordView& r : a) {
        while (j < b.size() && compare_records_exact(b[j], r) < 0) ++j;
        if (j < b.size() && compare_records_exact(b[j], r) == 0) continue;
        out.push_back(r);
    }
    return out;
}
List merge(const List& a, const List& b) {
    List out;
    out.reserve(a.size() + b.size());
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size()) {
            out.push_back(a[i++]);
        } else if (i == a.size()) {
            out.push_back(b[j++]);
        } else {
            const int c = compare_records_exact(a[i], b[j]);
            if (c <= 0) out.push_back(a[i++]);
            if (c == 0) ++j;  // the same record in both: keep one
            if (c > 0) out.push_back(b[j++]);
        }
    }
    return out;
}

}  // namespace

int compare_rrsets(const RecordView& a, const RecordView& b) {
    if (const int c = dns::canonical_compare(a.owner, b.owner); c != 0) return c;
    if (a.type != b.type) return dns::to_u16(a.type) < dns::to_u16(b.type) ? -1 : 1;
    return 0;
}

int compare_records(const RecordView& a, const RecordView& b) {
    if (const int c = compare_rrsets(a, b); c != 0) return c;
    // RFC 4034 §6.3: RDATA in canonical form as left-justified octet strings, a missing octet first.
    return dns::compare_canonical_rdata(a.type, a.rdata, b.rdata);
}

int compare_records_exact(const RecordView& a, const RecordView& b) {
    if (const int c = compare_records(a, b); c != 0) return c;
    const std::size_t n = std::min(a.wire.size(), b.wire.size());
    if (const int c = std::memcmp(a.wire.data(), b.wire.data(), n); c != 0) return c < 0 ? -1 : 1;
    if (a.wire.size() != b.wire.size()) return a.wire.size() < b.wire.size() ? -1 : 1;
    return 0;
}

std::size_t record_wire_length(std::span<const uint8_t> at) {
    const std::size_t owner = dns::wire_name_length(at);
    if (owner == 0 || at.size() < owner + 10) return 0;
    const std::size_t rdlen = rd16(at.data() + owner + 8);
    if (at.size() - owner - 10 < rdlen) return 0;
    return owner + 10 + rdlen;
}

std::optional<dns::Serial> soa_rdata_serial(std::span<const uint8_t> rdata) {
    const std::size_t mname = dns::wire_name_length(rdata);
    if (mname == 0) return std::nullopt;
    const std::size_t rname = dns::wire_name_length(rdata.subspan(mname));
    if (rname == 0 || rdata.size() != mname + rname + 20) return std::nullopt;
    return dns::Serial(rd32(rdata.data() + mname + rname));
}

// ---------------------------------------------------------------------------------------------------------
// Changeset

Changeset::Changeset(std::span<const uint8_t> old_soa, std::span<const uint8_t> new_soa) {
    data_.reserve(old_soa.size() + new_soa.size());
    append(old_soa);
    new_soa_offset_ = append(new_soa);
    // Callers pass SOA records; a malformed one is a bug (decode() validates data from disk first).
    from_ = soa_rdata_serial(this->old_soa().rdata).value_or(dns::Serial());
    to_ = soa_rdata_serial(this->new_soa().rdata).value_or(dns::Serial());
}

uint32_t Changeset::append(std::span<const uint8_t> record) {
    const auto offset = static_cast<uint32_t>(data_.size());
    data_.insert(data_.end(), record.begin(), record.end());
    return offset;
}

void Changeset::add_removed(std::span<const uint8_t> record) {
    removed_.push_back(append(record));
}

void Changeset::add_added(std::span<const uint8_t> record) {
    added_.push_back(append(record));
}

bool Changeset::operator==(const Changeset& other) const {
    if (removed_.size() != other.removed_.size() || added_.size() != other.added_.size()) return false;
    if (!same_wire(old_soa(), other.old_soa()) || !same_wire(new_soa(), other.new_soa())) return false;
    for (std::size_t i = 0; i < removed_.size(); ++i)
        if (!same_wire(removed(i), other.removed(i))) return false;
    for (std::size_t i = 0; i < added_.size(); ++i)
        if (!same_wire(added(i), other.added(i))) return false;
    return true;
}

void Changeset::encode_to(std::vector<uint8_t>& out) const {
    out.reserve(out.size() + encoded_size());
    put32(out, static_cast<uint32_t>(removed_.size()));
    put32(out, static_cast<uint32_t>(added_.size()));
    auto put = [&](const RecordView& r) { out.insert(out.end(), r.wire.begin(), r.wire.end()); };
    put(old_soa());
    put(new_soa());
    for (std::size_t i = 0; i < removed_.size(); ++i) put(removed(i));
    for (std::size_t i = 0; i < added_.size(); ++i) put(added(i));
}

Result<Changeset, std::string> Changeset::decode(std::span<const uint8_t> data) {
    using R = Result<Changeset, std::string>;
    if (data.size() < 8) return unexpected(std::string("changeset: shorter than its counts"));
    const uint32_t removed = rd32(data.data());
    const uint32_t added = rd32(data.data() + 4);
    std::size_t pos = 8;
    // Every record takes at least 11 octets (root owner + fixed fields); reject impossible counts before
    // trusting them for a reservation.
    if ((uint64_t{removed} + added + 2) * 11 > data.size() - 8)
        return unexpected(std::string("changeset: record counts exceed its size"));

    auto next = [&](std::span<const uint8_t>& out) {
        const std::size_t len = record_wire_length(data.subspan(pos));
        if (len == 0) return false;
        out = data.subspan(pos, len);
        pos += len;
        return true;
    };
    std::span<const uint8_t> old_soa, new_soa;
    if (!next(old_soa) || !next(new_soa)) return unexpected(std::string("changeset: malformed SOA"));
    const RecordView o = decode_record(old_soa);
    const RecordView n = decode_record(new_soa);
    if (o.type != RRType::SOA || n.type != RRType::SOA || !soa_rdata_serial(o.rdata) ||
        !soa_rdata_serial(n.rdata) || !(o.owner == n.owner))
        return unexpected(std::string("changeset: the old and new SOA are not SOA records of one zone"));

    Changeset cs(old_soa, new_soa);
    cs.removed_.reserve(removed);
    cs.added_.reserve(added);
    cs.data_.reserve(data.size() - 8);
    for (uint32_t list = 0; list < 2; ++list) {
        const uint32_t count = list == 0 ? removed : added;
        std::span<const uint8_t> prev;
        bool resort = false;
        for (uint32_t i = 0; i < count; ++i) {
            std::span<const uint8_t> rec;
            if (!next(rec)) return R(unexpected("changeset: malformed record " + std::to_string(i)));
            const RecordView v = decode_record(rec);
            if (v.type == RRType::SOA) return R(unexpected(std::string("changeset: SOA inside a list")));
            if (!dns::is_subdomain(v.owner, o.owner))
                return R(unexpected("changeset: out-of-zone record " + v.owner.to_string()));
            if (!prev.empty()) {
                const RecordView p = decode_record(prev);
                if (compare_rrsets(p, v) > 0)
                    return R(unexpected(std::string("changeset: records out of canonical order")));
                // Within an RRset, entries written before RDATA was ordered in canonical form (names
                // lower-cased) may be in octet order: sorted again below rather than refused.
                const int c = compare_records_exact(p, v);
                if (c == 0) return R(unexpected(std::string("changeset: a record listed twice")));
                if (c > 0) resort = true;
            }
            prev = rec;
            if (list == 0)
                cs.add_removed(rec);
            else
                cs.add_added(rec);
        }
        if (resort) {
            auto& offsets = list == 0 ? cs.removed_ : cs.added_;
            std::sort(offsets.begin(), offsets.end(),
                      [&](uint32_t a, uint32_t b) { return compare_records_exact(cs.at(a), cs.at(b)) < 0; });
        }
    }
    if (pos != data.size()) return unexpected(std::string("changeset: trailing octets"));
    return cs;
}

// ---------------------------------------------------------------------------------------------------------
// diff / apply / compose

Changeset diff(const ZoneVersion& from, const ZoneVersion& to) {
    Changeset cs(from.soa().wire, to.soa().wire);
    const std::size_t n = from.size();
    const std::size_t m = to.size();
    std::size_t i = 0, j = 0;
    // Both versions are sorted by compare_records with no two records equal under it (ZoneBuilder drops
    // duplicates), so one merge pass finds every difference. The SOAs travel separately.
    while (i < n || j < m) {
        if (i < n && i == from.soa_index()) {
            ++i;
            continue;
        }
        if (j < m && j == to.soa_index()) {
            ++j;
            continue;
        }
        if (i == n) {
            cs.add_added(to.record(j++).wire);
            continue;
        }
        if (j == m) {
            cs.add_removed(from.record(i++).wire);
            continue;
        }
        // The common case by far: the same octets. Told from the stored bytes, without decoding either
        // record (a one-record update diffs the whole zone).
        const auto ra = from.run(i, i + 1);
        const auto rb = to.run(j, j + 1);
        if (ra.size() == rb.size() && std::memcmp(ra.data(), rb.data(), ra.size()) == 0) {
            ++i;
            ++j;
            continue;
        }
        const RecordView a = from.record(i);
        const RecordView b = to.record(j);
        const int c = compare_records(a, b);
        if (c < 0) {
            cs.add_removed(a.wire);
            ++i;
        } else if (c > 0) {
            cs.add_added(b.wire);
            ++j;
        } else {
            if (!same_wire(a, b)) {  // TTL or owner case changed
                cs.add_removed(a.wire);
                cs.add_added(b.wire);
            }
            ++i;
            ++j;
        }
    }
    return cs;
}

namespace {

// A changeset applies to `base` only if it starts at base's SOA record (RFC 1995 §4: the old SOA opens
// each difference sequence) and its new SOA is at the apex.
Result<void, std::string> check_applies(const ZoneVersion& base, const Changeset& changes) {
    if (!same_wire(base.soa(), changes.old_soa())) {
        if (base.serial() == changes.from())
            return unexpected("changeset from serial " + std::to_string(changes.from().value()) +
                              " does not match the version's SOA record");
        return unexpected("changeset starts at serial " + std::to_string(changes.from().value()) +
                          " but the version is at serial " + std::to_string(base.serial().value()));
    }
    const RecordView new_soa = changes.new_soa();
    if (!(new_soa.owner == base.apex()))
        return unexpected("changeset's new SOA is owned by " + new_soa.owner.to_string() +
                          ", not the zone apex " + base.apex().to_string());
    return {};
}

}  // namespace

namespace {

// Builds apply()'s result: base records copied in runs (the old SOA left out), changes placed between.
class Splicer {
  public:
    Splicer(const ZoneVersion& base, std::size_t capacity, std::size_t records) : base_(base) {
        // The whole zone is copied in at once: huge pages make that a few hundred faults, not 60k.
        reserve_huge(data_, capacity);
        reserve_huge(offsets_, records);
    }

    std::size_t next() const { return i_; }
    // The first base record from next() on that is not less than `r`: a binary search, so a change to a
    // large zone costs a few dozen comparisons rather than one per record.
    std::size_t position(const RecordView& r) const {
        std::size_t lo = i_, hi = base_.size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (compare_records(base_.record(mid), r) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
    // Base records [next(), to) copied as they are, except the old SOA (the changeset brings the new one).
    void copy_to(std::size_t to) {
        const std::size_t soa = base_.soa_index();
        while (i_ < to) {
            const std::size_t stop = i_ <= soa && soa < to ? soa : to;
            if (i_ < stop) {
                const auto bytes = base_.run(i_, stop);
                const uint32_t from = base_.offset(i_);
                const auto at = static_cast<uint32_t>(data_.size());
                for (std::size_t k = i_; k < stop; ++k) offsets_.push_back(at + (base_.offset(k) - from));
                data_.insert(data_.end(), bytes.begin(), bytes.end());
            }
            i_ = stop == soa && stop < to ? stop + 1 : stop;
        }
    }
    void skip() { ++i_; }  // a removed record
    void emit(const RecordView& r) {
        offsets_.push_back(static_cast<uint32_t>(data_.size()));
        data_.insert(data_.end(), r.wire.begin(), r.wire.end());
    }
    std::size_t emitted() const { return offsets_.size(); }

    Result<ZoneVersionPtr, std::string> finish(std::size_t soa_index) {
        copy_to(base_.size());
        if (data_.size() > 0xFFFFFFFFu) return unexpected(std::string("zone larger than 4 GiB"));
        return std::make_shared<const ZoneVersion>(dns::Name::from_wire(base_.apex().wire()).value(),
                                                   std::move(data_), std::move(offsets_), soa_index);
    }

  private:
    const ZoneVersion& base_;
    std::size_t i_ = 0;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
};

}  // namespace

Result<ZoneVersionPtr, std::string> apply(const ZoneVersion& base, const Changeset& changes) {
    using R = Result<ZoneVersionPtr, std::string>;
    if (auto applies = check_applies(base, changes); !applies) return R(unexpected(applies.error()));
    const RecordView new_soa = changes.new_soa();
    const std::size_t nr = changes.removed_count();
    const std::size_t na = changes.added_count();
    std::size_t total = base.wire_bytes() - base.soa().wire.size() + new_soa.wire.size();
    for (std::size_t k = 0; k < na; ++k) total += changes.added(k).wire.size();
    Splicer out(base, total, base.size() + na);

    // The changes in canonical order: removals and additions (the new SOA among them), a removal before an
    // addition it ties with (a TTL change removes the old record first).
    std::size_t r = 0, a = 0, soa_index = 0;
    bool soa_pending = true;
    std::optional<RecordView> addition;  // the next one, the new SOA included
    auto next_addition = [&]() -> std::optional<RecordView> {
        if (a < na) {
            const RecordView next = changes.added(a);
            if (!soa_pending || compare_records(next, new_soa) < 0) return next;
        }
        if (soa_pending) return new_soa;
        return std::nullopt;
    };
    addition = next_addition();
    while (r < nr || addition) {
        if (r < nr && (!addition || compare_records(changes.removed(r), *addition) <= 0)) {
            const RecordView del = changes.removed(r);
            const std::size_t p = out.position(del);
            if (p == base.size() || p == base.soa_index() || !same_wire(base.record(p), del))
                return R(unexpected("record to delete is not in the zone: " + describe(del)));
            out.copy_to(p);
            out.skip();
            ++r;
            continue;
        }
        const RecordView add = *addition;
        std::size_t p = out.position(add);
        if (p == base.soa_index()) ++p;  // the old SOA goes: an addition may equal it (an unchanged SOA)
        if (p < base.size() && compare_records(add, base.record(p)) == 0)
            return R(unexpected("record to add is already in the zone: " + describe(add)));
        out.copy_to(p);
        if (soa_pending && add.wire.data() == new_soa.wire.data()) {
            soa_index = out.emitted();
            soa_pending = false;
        } else {
            ++a;
        }
        out.emit(add);
        addition = next_addition();
    }
    return out.finish(soa_index);
}

Result<Changeset, std::string> compose(const Changeset& first, const Changeset& second) {
    using R = Result<Changeset, std::string>;
    if (!same_wire(first.new_soa(), second.old_soa()))
        return R(unexpected("changesets are not consecutive: " + std::to_string(first.to().value()) +
                            " then " + std::to_string(second.from().value())));
    const List first_removed = removed_list(first);
    const List first_added = added_list(first);
    const List second_removed = removed_list(second);
    const List second_added = added_list(second);
    // Removed: what the first removed from the base, plus what the second removed that was in the base
    // (i.e. not added by the first). Added: what the first added and the second kept, plus what the second
    // added. Then a record in both lists was in the base and is in the result: drop it from both.
    const List removed = merge(first_removed, minus(second_removed, first_added));
    const List added = merge(minus(first_added, second_removed), second_added);
    Changeset out(first.old_soa().wire, second.new_soa().wire);
    for (const RecordView& rec : minus(removed, added)) out.add_removed(rec.wire);
    for (const RecordView& rec : minus(added, removed)) out.add_added(rec.wire);
    return out;
}

Result<Changeset, std::string> condense(std::span<const Changeset> chain) {
    if (chain.empty()) return unexpected(std::string("no changesets to condense"));
    if (chain.size() == 1) return chain.front();
    // Halves, not a left fold: compose() is linear in both sides, so folding n one-record steps into a
    // growing accumulator costs n^2/2 record copies, and halving n log n (a restart replays up to about
    // 1500 update entries at once).
    const std::size_t half = chain.size() / 2;
    auto first = condense(chain.first(half));
    if (!first) return first;
    auto second = condense(chain.subspan(half));
    if (!second) return second;
    return compose(*first, *second);
}

}  // namespace headwater::zone
