// A parsed, read-only view of a DNS message (RFC 1035 §4.1). It points into the caller's buffer, which
// must outlive it: TSIG verification needs the original bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "zone/base/Result.h"
#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"

namespace headwater::dns {

inline constexpr std::size_t kHeaderSize = 12;

namespace flag {
inline constexpr uint16_t QR = 0x8000;
inline constexpr uint16_t AA = 0x0400;
inline constexpr uint16_t TC = 0x0200;
inline constexpr uint16_t RD = 0x0100;
inline constexpr uint16_t RA = 0x0080;
inline constexpr uint16_t AD = 0x0020;
inline constexpr uint16_t CD = 0x0010;
}  // namespace flag

struct Header {
    uint16_t id = 0;
    uint16_t flags = 0;
    uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

    Opcode opcode() const { return static_cast<Opcode>((flags >> 11) & 0xF); }
    bool qr() const { return (flags & flag::QR) != 0; }
    uint8_t rcode() const { return static_cast<uint8_t>(flags & 0xF); }
};

enum class Section : uint8_t { Answer, Authority, Additional };

struct RecordRef {
    Name owner;
    RRType type{};
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    std::span<const uint8_t> rdata;  // as in the message (may hold compression pointers)
    std::size_t offset = 0;          // where the record starts in the message
    Section section = Section::Answer;
};

// EDNS(0), RFC 6891 §6.1.
struct Edns {
    uint16_t udp_size = 512;
    uint8_t version = 0;
    uint8_t extended_rcode = 0;
    bool dnssec_ok = false;
};

enum class ParseError : uint8_t {
    NoHeader,   // shorter than a header: nothing to answer to (drop silently)
    Malformed,  // header readable: answer FORMERR
};

struct Question {
    Name qname;
    RRType qtype{};
    uint16_t qclass = 0;
};

class Message {
  public:
    static Result<Message, ParseError> parse(std::span<const uint8_t> wire);
    static std::optional<Header> parse_header(std::span<const uint8_t> wire);

    const Header& header() const { return header_; }
    const std::optional<Question>& question() const { return question_; }
    const std::vector<RecordRef>& records() const { return records_; }
    const std::optional<Edns>& edns() const { return edns_; }
    // The TSIG RR, when present (it is always the last additional record: RFC 8945 §5.1).
    const RecordRef* tsig() const { return tsig_index_ ? &records_[*tsig_index_] : nullptr; }
    std::span<const uint8_t> wire() const { return wire_; }

  private:
    std::span<const uint8_t> wire_;
    Header header_;
    std::optional<Question> question_;
    std::vector<RecordRef> records_;
    std::optional<Edns> edns_;
    std::optional<std::size_t> tsig_index_;
};

}  // namespace headwater::dns
