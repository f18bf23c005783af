// Collects the records of a zone (from the master-file loader or a transfer), sorts them into canonical
// order, drops exact duplicates (RFC 2181 §5) and checks the zone's shape before it may be served.
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
#include "zone/dns/Result.h"

namespace headwater::zone {

class ZoneBuilder {
  public:
    explicit ZoneBuilder(dns::Name apex);

    // Adds one record; checks what can be checked alone (in-zone owner, class IN, SOA only at the apex).
    // `file` and `line` locate the record for error messages.
    dns::Result<void, std::string> add(std::span<const uint8_t> owner, uint16_t type, uint16_t rclass,
                                       uint32_t ttl, std::span<const uint8_t> rdata, std::string_view file,
                                       std::size_t line);

    // Room for about `records` records of `bytes` wire octets in all, so that a large zone is not copied
    // again each time a buffer doubles. A hint: more simply grows, less costs only address space.
    void reserve(std::size_t records, std::size_t bytes);

    // Sorts and checks the zone as a whole: exactly one SOA at the apex, NS at the apex, CNAME exclusive
    // (RFC 1034 §3.6.2, RFC 2181 §10.1; DNSSEC records may share the name, RFC 4035 §2.5).
    dns::Result<ZoneVersionPtr, LoadError> build();

  private:
    struct Location {
        uint32_t file;
        uint32_t line;
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
    int compare(const Entry& a, const Entry& b) const;  // owner, type, RDATA; not the index

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
};

}  // namespace headwater::zone
