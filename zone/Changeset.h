// The difference between two versions of a zone, as RFC 1995 §4 transfers it: the old SOA, the records
// removed, the new SOA, the records added. Both lists are in canonical order (RFC 4034 §6.3, the order
// ZoneBuilder sorts by) and never contain an SOA.
//
// A record is identified by its whole wire form. Two records with the same owner, type and RDATA that
// differ in TTL or in the case of the owner name count as different: the old one is removed and the new
// one added, so that apply(from, diff(from, to)) reproduces `to` byte for byte (what a reload compares).
//
// Storage is compact: one byte buffer holding both SOAs and every record in wire form, plus one offset per
// record and list; no per-record heap objects.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"
#include "zone/dns/Serial.h"

namespace headwater::zone {

// The record order of a zone version: owner (canonical, case-insensitive), then type, then RDATA in
// canonical form (names of the RFC 4034 §6.2 types lower-cased) as left-justified octet strings (RFC 4034
// §6.3). TTL and the case of names are not part of it: records equal under it are duplicates (RFC 2181
// §5), of which a version holds one. Returns <0, 0, >0.
int compare_records(const RecordView& a, const RecordView& b);
// The first two keys of compare_records: owner, then type.
int compare_rrsets(const RecordView& a, const RecordView& b);
// A total order on distinct records: compare_records, then the wire octets (TTL and case), so two records
// are equivalent exactly when their wire forms are equal.
int compare_records_exact(const RecordView& a, const RecordView& b);

// The length of the well-formed record (uncompressed owner, type, class, TTL, RDLENGTH, RDATA) starting at
// at[0], or 0 when `at` does not start with one. Used to validate data read back from disk.
std::size_t record_wire_length(std::span<const uint8_t> at);

// The SERIAL field of SOA RDATA (RFC 1035 §3.3.13), or nothing when the RDATA is not exactly MNAME, RNAME
// and five 32-bit fields.
std::optional<dns::Serial> soa_rdata_serial(std::span<const uint8_t> rdata);

class Changeset {
  public:
    // `old_soa` and `new_soa` are SOA records in wire form (RecordView::wire).
    Changeset(std::span<const uint8_t> old_soa, std::span<const uint8_t> new_soa);

    // Appends to a list; callers keep canonical order (diff, compose and decode do).
    void add_removed(std::span<const uint8_t> record);
    void add_added(std::span<const uint8_t> record);

    RecordView old_soa() const { return at(0); }
    RecordView new_soa() const { return at(new_soa_offset_); }
    dns::Serial from() const { return from_; }
    dns::Serial to() const { return to_; }

    std::size_t removed_count() const { return removed_.size(); }
    std::size_t added_count() const { return added_.size(); }
    RecordView removed(std::size_t i) const { return at(removed_[i]); }
    RecordView added(std::size_t i) const { return at(added_[i]); }

    // Only the SOA changed (a serial bump).
    bool soa_only() const { return removed_.empty() && added_.empty(); }
    // Records this step puts in an IXFR answer: old SOA, removed, new SOA, added.
    std::size_t record_count() const { return 2 + removed_.size() + added_.size(); }
    // Wire octets of those records (uncompressed).
    std::size_t wire_bytes() const { return data_.size(); }

    // Same SOAs and same lists (byte for byte, same order).
    bool operator==(const Changeset& other) const;

    // A self-delimiting binary form (the journal's payload): u32 removed count, u32 added count, then the
    // old SOA, the new SOA, the removed and the added records in wire form.
    void encode_to(std::vector<uint8_t>& out) const;
    std::size_t encoded_size() const { return 8 + data_.size(); }
    // Validates everything: record framing, SOAs (type, RDATA, same owner), no SOA in the lists, canonical
    // order of the RRsets in each list and no record twice, exact length. (Within an RRset a list written
    // when RDATA was ordered octet by octet is sorted into today's order.)
    static Result<Changeset, std::string> decode(std::span<const uint8_t> data);

  private:
    RecordView at(uint32_t offset) const { return decode_record(std::span(data_).subspan(offset)); }
    uint32_t append(std::span<const uint8_t> record);

    std::vector<uint8_t> data_;  // old SOA at 0, new SOA, then records in the order they were added
    std::vector<uint32_t> removed_;
    std::vector<uint32_t> added_;
    uint32_t new_soa_offset_ = 0;
    dns::Serial from_;
    dns::Serial to_;
};

// The changes from `from` to `to` (same apex), by one linear merge of the two sorted versions.
Changeset diff(const ZoneVersion& from, const ZoneVersion& to);

// Applies `changes` to `base` (again one linear merge) and returns the new version. Fails, naming the
// record, when base's SOA is not the changeset's old SOA, a record to remove is not in `base`, or a record
// to add is already there (RFC 1995 §4 asks a client to treat such a transfer as an error too). The zone
// checks of ZoneBuilder (CNAME exclusivity, NS at the apex) are not repeated.
Result<ZoneVersionPtr, std::string> apply(const ZoneVersion& base, const Changeset& changes);

// One changeset equivalent to `first` followed by `second` (first.to() == second.from()): what RFC 1995
// §4 calls condensing. A record added by the first and removed by the second disappears; one removed and
// then added back unchanged disappears too.
Result<Changeset, std::string> compose(const Changeset& first, const Changeset& second);
// The whole chain condensed into one step (the chain must be consecutive and not empty).
Result<Changeset, std::string> condense(std::span<const Changeset> chain);

}  // namespace headwater::zone
