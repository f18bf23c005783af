// One immutable version of a zone: every record in wire form, in canonical order (RFC 4034 §6.3),
// packed into one buffer plus one offset per record. Shared by pointer; never changed after build, so
// any number of readers (queries, transfers) use it without locks while a reload builds the next one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"
#include "zone/dns/Serial.h"

namespace headwater::zone {

// A record as stored: owner (uncompressed), type, class, TTL, RDLENGTH, RDATA — i.e. exactly its wire
// form without compression.
struct RecordView {
    dns::NameView owner;
    dns::RRType type{};
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    std::span<const uint8_t> rdata;
    std::span<const uint8_t> wire;  // the whole record
};

RecordView decode_record(std::span<const uint8_t> wire_at);

class ZoneVersion {
  public:
    struct Range {
        std::size_t begin = 0, end = 0;
        bool empty() const { return begin == end; }
    };

    ZoneVersion(dns::Name apex, std::vector<uint8_t> data, std::vector<uint32_t> offsets,
                std::size_t soa_index);

    dns::NameView apex() const { return apex_; }
    dns::Serial serial() const { return serial_; }
    std::size_t size() const { return offsets_.size(); }
    RecordView record(std::size_t i) const { return decode_record(std::span(data_).subspan(offsets_[i])); }
    std::size_t soa_index() const { return soa_index_; }
    RecordView soa() const { return record(soa_index_); }
    // SOA MINIMUM, the negative-caching TTL (RFC 2308 §4), capped by the SOA's own TTL (§5).
    uint32_t negative_ttl() const;

    // Records owned by exactly `name`.
    Range find_name(dns::NameView name) const;
    // The records of one RRset.
    Range find_rrset(dns::NameView name, dns::RRType type) const;
    // True when some record is owned by `name` or by a name below it (so `name` exists, possibly as an
    // empty non-terminal: RFC 8020, NODATA rather than NXDOMAIN).
    bool name_exists(dns::NameView name) const;

    // Whole-content equality (same records, same order, same bytes).
    bool same_content(const ZoneVersion& other) const { return data_ == other.data_; }
    std::size_t wire_bytes() const { return data_.size(); }
    std::size_t memory_bytes() const { return data_.capacity() + offsets_.capacity() * sizeof(uint32_t); }

  private:
    std::size_t lower_bound(dns::NameView name) const;

    dns::Name apex_;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
    std::size_t soa_index_;
    dns::Serial serial_;
};

using ZoneVersionPtr = std::shared_ptr<const ZoneVersion>;

}  // namespace headwater::zone
