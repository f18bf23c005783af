// Numeric vocabulary of the DNS: RR types, classes, opcodes and response codes (IANA registries).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace headwater::dns {

// An RR type. Any 16-bit value is valid (RFC 3597); the named ones are those the server treats specially.
enum class RRType : uint16_t {
    A = 1,
    NS = 2,
    MD = 3,
    MF = 4,
    CNAME = 5,
    SOA = 6,
    MB = 7,
    MG = 8,
    MR = 9,
    NULL_ = 10,
    WKS = 11,
    PTR = 12,
    HINFO = 13,
    MINFO = 14,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    DNAME = 39,
    OPT = 41,
    DS = 43,
    IPSECKEY = 45,
    RRSIG = 46,
    NSEC = 47,
    DNSKEY = 48,
    NSEC3 = 50,
    NSEC3PARAM = 51,
    TKEY = 249,
    TSIG = 250,
    IXFR = 251,
    AXFR = 252,
    MAILB = 253,
    MAILA = 254,
    ANY = 255,
};

enum class RRClass : uint16_t { IN = 1, CH = 3, HS = 4, NONE = 254, ANY = 255 };

enum class Opcode : uint8_t { Query = 0, IQuery = 1, Status = 2, Notify = 4, Update = 5 };

// RCODEs up to 4095 (the upper 8 bits travel in OPT, RFC 6891 §6.1.3; TSIG errors in the TSIG RR).
enum class Rcode : uint16_t {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NXDomain = 3,
    NotImp = 4,
    Refused = 5,
    YXDomain = 6,
    YXRRSet = 7,
    NXRRSet = 8,
    NotAuth = 9,
    NotZone = 10,
    BadVers = 16,
    BadSig = 16,
    BadKey = 17,
    BadTime = 18,
    BadMode = 19,
    BadName = 20,
    BadAlg = 21,
    BadTrunc = 22,
    BadCookie = 23,
};

std::string to_string(RRType type);    // "A", "TYPE65280" (RFC 3597 §5)
std::string to_string(RRClass klass);  // "IN", "CLASS7"
std::string to_string(Rcode rcode);
std::optional<RRType> rrtype_from_string(std::string_view text);

// RFC 3597 §4: name compression inside RDATA is allowed only for the well-known types of RFC 1035.
// Returns the offsets of compressible names inside the RDATA of `type`, as a small fixed pattern.
struct CompressibleNames {
    uint8_t leading_bytes = 0;  // octets before the first name (MX preference)
    uint8_t count = 0;          // consecutive names after that (SOA MNAME+RNAME, MINFO)
};
CompressibleNames compressible_names(RRType type);

inline uint16_t to_u16(RRType t) {
    return static_cast<uint16_t>(t);
}
inline uint16_t to_u16(RRClass c) {
    return static_cast<uint16_t>(c);
}

// The types that may share an owner with a CNAME: its signature and its NSEC (RFC 2181 §10.1, RFC 4035
// §2.5). One rule for the zone loader and for dynamic updates, so an update never makes a file that
// does not load.
inline bool may_accompany_cname(RRType t) {
    return t == RRType::RRSIG || t == RRType::NSEC;
}

// The records a zone signer makes itself: signatures, the denial chain and its parameters, the keys and
// the records for the parent (CDS and CDNSKEY, RFC 7344). A zone Headwater signs takes none of them from
// its file or from an update.
inline bool is_signer_type(RRType t) {
    constexpr uint16_t kCds = 59, kCdnskey = 60;  // RFC 7344, absent from RRType
    const uint16_t v = to_u16(t);
    return t == RRType::RRSIG || t == RRType::NSEC || t == RRType::NSEC3 || t == RRType::NSEC3PARAM ||
           t == RRType::DNSKEY || v == kCds || v == kCdnskey;
}

}  // namespace headwater::dns
