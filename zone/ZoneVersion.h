// One immutable version of a zone: every record in wire form, in canonical order (RFC 4034 §6.3),
// packed into one buffer plus one offset per record. Shared by pointer; never changed after build, so
// any number of readers (queries, transfers) use it without locks while a reload builds the next one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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
    ZoneVersion(const ZoneVersion&) = delete;
    ZoneVersion& operator=(const ZoneVersion&) = delete;

    dns::NameView apex() const { return apex_; }
    dns::Serial serial() const { return serial_; }
    std::size_t size() const { return offsets_.size(); }
    RecordView record(std::size_t i) const { return decode_record(std::span(data_).subspan(offsets_[i])); }
    std::size_t soa_index() const { return soa_index_; }
    RecordView soa() const { return record(soa_index_); }
    // The SOA as the answer record of a response whose question (at offset 12) is the apex written
    // exactly as apex() is, compression included: what the Responder sends to the SOA polls of
    // secondaries without compressing the same three names again for every query.
    std::span<const uint8_t> soa_answer() const { return soa_answer_; }
    // SOA MINIMUM, the negative-caching TTL (RFC 2308 §4), capped by the SOA's own TTL (§5).
    uint32_t negative_ttl() const;

    // Records owned by exactly `name`.
    Range find_name(dns::NameView name) const;
    // The records of one RRset.
    Range find_rrset(dns::NameView name, dns::RRType type) const;
    // True when some record is owned by `name` or by a name below it (so `name` exists, possibly as an
    // empty non-terminal: RFC 8020, NODATA rather than NXDOMAIN).
    bool name_exists(dns::NameView name) const;

    // DNSSEC, for answers to queries with the DO bit (RFC 4035 §3.1). The zone counts as signed when its
    // apex holds a DNSKEY RRset and RRSIGs; an unsigned zone has none of the indexes below. They are built
    // on the first query that needs a denial proof, not with the version: a hidden primary mostly serves
    // transfers, and a reload should not walk a million records for an index nobody may use.
    bool is_signed() const { return signed_; }
    // The RRSIGs at `name` covering `covered`. RRSIG RDATA begins with the type covered (RFC 4034 §3.1),
    // so in canonical order they are next to each other.
    Range find_rrsigs(dns::NameView name, dns::RRType covered) const;
    // The NSEC record whose owner is the last one at or before `name` in canonical order (the NSEC that
    // matches or covers it), or, for a name before every NSEC owner, the last NSEC (the chain wraps).
    std::optional<std::size_t> nsec_at_or_before(dns::NameView name) const;
    // The NSEC3 chain named by the apex NSEC3PARAM (RFC 5155 §4; SHA-1, flags 0): its hash parameters,
    // and the NSEC3 record of that chain whose owner is the last at or before `hashed_owner` (its own
    // label is the base32hex hash under the apex), wrapping to the last one as above.
    struct Nsec3Params {
        uint8_t algorithm = 0;
        uint16_t iterations = 0;
        std::span<const uint8_t> salt;  // inside the version's data
    };
    const std::optional<Nsec3Params>& nsec3_params() const { return dnssec_index().nsec3_params; }
    // The earliest expiration (seconds since 1970) of the RRSIGs of a signed zone; nothing for an unsigned
    // one or one without RRSIGs.
    std::optional<uint32_t> earliest_signature_expiration() const {
        return dnssec_index().earliest_expiration;
    }
    std::optional<std::size_t> nsec3_at_or_before(dns::NameView hashed_owner) const;

    // Records [begin, end) as stored: one run of bytes, since every version is built by appending its
    // records in index order (the constructor checks the offsets rise). With offset(), what copies runs
    // of records into a new version without decoding each one uses (apply(), with_serial()).
    std::span<const uint8_t> run(std::size_t begin, std::size_t end) const {
        const std::size_t to = end < offsets_.size() ? offsets_[end] : data_.size();
        return std::span(data_).subspan(offsets_[begin], to - offsets_[begin]);
    }
    uint32_t offset(std::size_t i) const { return offsets_[i]; }

    // Whole-content equality (same records, same order, same bytes).
    bool same_content(const ZoneVersion& other) const { return data_ == other.data_; }
    std::size_t wire_bytes() const { return data_.size(); }
    std::size_t memory_bytes() const;

    // One object a higher layer derives from this version and shares between all its users: xfr/ keeps
    // the version's pre-rendered AXFR messages here. The first caller constructs it from `args` (others
    // wait for that), every caller gets the same object, and it is freed with the version, so it lives
    // exactly as long as someone can still transfer this version. Only one type T may be used per
    // program, and T must be safe to use from several threads itself (the version stays immutable; T is a
    // cache). Nothing is built for a version nobody asks for.
    template <class T, class... Args>
    T& derived(Args&&... args) const {
        std::call_once(derived_once_, [&] { derived_ = std::make_shared<T>(std::forward<Args>(args)...); });
        return *static_cast<T*>(derived_.get());
    }

  private:
    std::size_t lower_bound(dns::NameView name) const;
    dns::NameView owner_at(uint32_t record) const;
    // Record numbers of the NSEC records and of the NSEC3 records of the chosen chain, in canonical
    // order (4 octets per record).
    struct DnssecIndex {
        std::vector<uint32_t> nsec;
        std::vector<uint32_t> nsec3;
        std::optional<Nsec3Params> nsec3_params;
        std::optional<uint32_t> earliest_expiration;
    };
    const DnssecIndex& dnssec_index() const;  // built on first use (empty for an unsigned zone)
    DnssecIndex build_dnssec_index() const;
    std::optional<std::size_t> at_or_before(const std::vector<uint32_t>& index, dns::NameView name) const;

    dns::Name apex_;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
    std::size_t soa_index_;
    dns::Serial serial_;
    std::vector<uint8_t> soa_answer_;
    bool signed_ = false;
    mutable std::once_flag dnssec_once_;
    mutable std::unique_ptr<const DnssecIndex> dnssec_owned_;
    mutable std::atomic<const DnssecIndex*> dnssec_{nullptr};  // set once built, for memory_bytes()
    mutable std::once_flag derived_once_;
    mutable std::shared_ptr<void> derived_;
};

using ZoneVersionPtr = std::shared_ptr<const ZoneVersion>;

}  // namespace headwater::zone
