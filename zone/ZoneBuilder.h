// Collects the records of a zone (from the master-file loader or a transfer), sorts them into canonical
// order, makes each RRset what RFC 2181 §5 says it is (no duplicates, compared in canonical form; one
// TTL, chosen as BIND chooses it) and checks the zone's shape before it may be served. What it changed is
// reported as warnings that name the file and line.
//
// Sorting a million records by comparing decoded names label by label from the right costs seconds, so
// add() turns each owner, once per run of records with the same owner, into a sort key whose plain byte
// order is the canonical order (RFC 4034 §6.1): the labels below the apex, from the apex down, lower-cased,
// each followed by a 0 octet (octets 0 and 1 inside labels are escaped as 1,1 and 1,2, which keeps the
// order). build() then sorts fixed-size entries that carry the key's first 16 octets and the type, and only
// looks further (rest of the key, RDATA) on a tie.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/LoadError.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"

namespace headwater::zone {

class ZoneBuilder {
  public:
    explicit ZoneBuilder(dns::Name apex);

    // Adds one record; checks what can be checked alone (in-zone owner, class IN, SOA only at the apex).
    // `file` and `line` locate the record for error messages.
    Result<void, std::string> add(std::span<const uint8_t> owner, uint16_t type, uint16_t rclass,
                                  uint32_t ttl, std::span<const uint8_t> rdata, std::string_view file,
                                  std::size_t line);

    // Room for about `records` records of `bytes` wire octets in all, so that a large zone is not copied
    // again each time a buffer doubles. A hint: more simply grows, less costs only address space.
    void reserve(std::size_t records, std::size_t bytes);

    // Sorts and checks the zone as a whole: exactly one SOA at the apex, NS at the apex, CNAME exclusive
    // (RFC 1034 §3.6.2, RFC 2181 §10.1; DNSSEC records may share the name, RFC 4035 §2.5). Before the
    // checks, every RRset is normalised: duplicates dropped (the first in the file kept), and one TTL: the
    // first of the set's last run of lines with the same owner (BIND's choice, see normalise_rrsets).
    Result<ZoneVersionPtr, LoadError> build();

    // What build() changed, one warning per record, in file order; at most kMaxWarnings of them, the rest
    // only counted (a generated zone can repeat one mistake a million times).
    static constexpr std::size_t kMaxWarnings = 100;
    const std::vector<LoadWarning>& warnings() const { return warnings_; }
    std::size_t suppressed_warnings() const { return suppressed_warnings_; }

  private:
    struct Location {
        uint32_t file;
        uint32_t line;
        uint32_t run;  // a run is a sequence of records with the same owner, spelled alike (the TTL rule)
    };
    // One record in sort order terms: the first 16 octets of its owner's key (big-endian, zero-padded:
    // no key has a 0 octet where another key that shares its first octets goes on), the key, the type and
    // the record's insertion index (the last tie-break: the first of two duplicates is kept), and the
    // record's layout in data_.
    struct Entry {
        uint64_t prefix[2];
        uint32_t key;
        uint32_t index;
        uint16_t type;
        uint16_t rdlength;
        uint8_t owner_length;
    };
    LoadError error_at(std::size_t insertion_index, std::string message) const;
    std::span<const uint8_t> key(uint32_t k) const {
        return std::span(keys_).subspan(key_offsets_[k], key_offsets_[k + 1] - key_offsets_[k]);
    }
    int compare_owner(const Entry& a, const Entry& b) const;
    int compare(const Entry& a, const Entry& b) const;  // owner, type, canonical RDATA; not the index
    std::span<const uint8_t> rdata(const Entry& e) const {
        return std::span(data_).subspan(offsets_[e.index] + e.owner_length + 10u, e.rdlength);
    }
    uint32_t ttl(const Entry& e) const;
    void set_ttl(const Entry& e, uint32_t value);
    std::string describe(const Entry& e) const;  // "owner TYPE"
    std::string where(const Entry& e) const;     // "file:line"
    void warn(const Entry& e, std::string message);
    // build()'s steps, in order.
    void sort_canonical();    // entries_ in canonical order (RFC 4034 §6.3), ties in insertion order
    void normalise_rrsets();  // duplicates and TTLs, over the sorted entries
    void unify_ttl(std::size_t begin, std::size_t end);  // one TTL for the set entries_[begin, end)
    // The whole-zone checks (one SOA and NS records at the apex, a CNAME alone); the SOA's position.
    Result<std::size_t, LoadError> check_zone() const;
    Result<void, LoadError> check_cname(std::size_t first, std::size_t last) const;  // one owner's records
    ZoneVersionPtr pack(std::size_t soa_pos);  // the version; the builder's buffers are released

    dns::Name apex_;
    std::size_t apex_labels_;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
    std::vector<Entry> entries_;
    std::vector<uint8_t> keys_;
    std::vector<uint32_t> key_offsets_{0};  // key k is keys_[key_offsets_[k] .. key_offsets_[k + 1])
    std::vector<Location> locations_;
    std::vector<std::string> files_;
    uint32_t current_file_ = 0;
    uint32_t run_ = 0;
    std::vector<LoadWarning> warnings_;
    std::vector<uint32_t> warning_order_;  // the insertion index of each warning's record
    std::size_t suppressed_warnings_ = 0;
};

}  // namespace headwater::zone
