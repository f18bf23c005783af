// Builds one DNS message into a caller-owned buffer: header, question, then the answer, authority and
// additional sections in that order, never past a size limit (UDP buffer or 64 KiB), with room kept
// for records added at the end (OPT, TSIG).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "zone/dns/Message.h"
#include "zone/dns/NameCompressor.h"
#include "zone/dns/WireWriter.h"

namespace headwater::dns {

inline constexpr std::size_t kMaxTcpMessage = 65535;
inline constexpr std::size_t kOptRecordSize = 11;  // root owner, type, class, ttl, rdlen 0

enum class Pushed : uint8_t { Ok, Full };

class MessageBuilder {
  public:
    // Starts a message at the end of `buf` (the buffer may already hold a TCP length prefix).
    MessageBuilder(std::vector<uint8_t>& buf, std::size_t max_size);

    void header(uint16_t id, uint16_t flags);
    void set_rcode(Rcode rcode);  // low 4 bits in the header, the rest in OPT (RFC 6891 §6.1.3)
    void add_flags(uint16_t f);
    void question(NameView qname, uint16_t qtype, uint16_t qclass);
    // Adds OPT at finish(); reserves its room now.
    void set_edns(uint16_t udp_size, bool dnssec_ok);
    // Keeps `n` octets free for something appended after finish() (TSIG).
    void reserve(std::size_t n) { reserved_ += n; }

    // Appends one record. Names in RDATA are compressed only for RFC 1035 types (RFC 3597 §4).
    // Sections must be filled in order. On Full nothing of the record stays in the message.
    Pushed push(Section section, NameView owner, uint16_t type, uint16_t rclass, uint32_t ttl,
                std::span<const uint8_t> rdata);
    // Same for a record already in wire form: owner (uncompressed), type, class, ttl, rdlen, rdata.
    Pushed push_wire(Section section, std::span<const uint8_t> record);
    // Appends `count` records rendered beforehand, verbatim. Their compression pointers must be valid in
    // this message (ZoneVersion::soa_answer: they point into the question); their names are not offered
    // to later records for compression.
    Pushed push_rendered(Section section, std::span<const uint8_t> records, uint16_t count);

    uint16_t count(Section s) const { return counts_[static_cast<int>(s) + 1]; }
    std::size_t size() const { return buf_.size() - start_; }
    std::size_t record_count() const { return std::size_t{counts_[1]} + counts_[2] + counts_[3]; }
    // Writes the counts and the OPT record; returns the message size.
    std::size_t finish();

  private:
    std::vector<uint8_t>& buf_;
    std::size_t start_;
    std::size_t max_size_;
    std::size_t reserved_ = 0;
    uint16_t counts_[4] = {0, 0, 0, 0};
    int section_ = 0;
    Rcode rcode_ = Rcode::NoError;
    std::optional<std::pair<uint16_t, bool>> edns_;
    NameCompressor compressor_;
};

}  // namespace headwater::dns
