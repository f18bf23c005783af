// Where the domain names are inside the RDATA of the types RFC 4034 §6.2 lists: shared by the canonical
// form of RDATA (names lower-cased: the order and duplicate rules of a zone, and the comparison of what a
// secondary serves) and by the expansion of compressed names in a secondary's answers (RFC 3597 §4).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zone/dns/RRType.h"

namespace headwater::dns::rdata_names {

// Types absent from dns::RRType, by number.
inline constexpr uint16_t kRP = 17, kAFSDB = 18, kRT = 21, kSIG = 24, kPX = 26, kNXT = 30, kNAPTR = 35,
                          kKX = 36, kA6 = 38;

constexpr uint16_t num(dns::RRType t) {
    return static_cast<uint16_t>(t);
}

// Walks the RDATA of `type` field by field. `r` reads from the RDATA and provides:
//   bool fixed(std::size_t n)  n octets copied as they are
//   bool name()                one domain name
//   bool string()              one character-string (length octet and content)
//   bool rest()                every remaining octet of the RDATA
//   int peek()                 the next octet, or -1 at the end of the RDATA
// Returns false when a read fails or the layout is violated (A6 prefix above 128). The caller checks
// that the RDATA was consumed exactly. For a type without names it returns r.rest().
template <class Reader>
bool walk(dns::RRType type, Reader& r) {
    using dns::RRType;
    switch (static_cast<uint16_t>(type)) {
        case num(RRType::NS):
        case num(RRType::MD):
        case num(RRType::MF):
        case num(RRType::CNAME):
        case num(RRType::MB):
        case num(RRType::MG):
        case num(RRType::MR):
        case num(RRType::PTR):
        case num(RRType::DNAME):
            return r.name();
        case num(RRType::SOA):  // MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
            return r.name() && r.name() && r.fixed(20);
        case num(RRType::MINFO):  // RMAILBX EMAILBX
        case kRP:                 // mbox-dname txt-dname (RFC 1183 §2.2)
            return r.name() && r.name();
        case num(RRType::MX):
        case kAFSDB:  // subtype hostname (RFC 1183 §1)
        case kRT:     // preference intermediate-host (RFC 1183 §3.3)
        case kKX:     // preference exchanger (RFC 2230 §3.1)
            return r.fixed(2) && r.name();
        case kPX:  // preference MAP822 MAPX400 (RFC 2163 §4)
            return r.fixed(2) && r.name() && r.name();
        case num(RRType::SRV):  // priority weight port target (RFC 2782)
            return r.fixed(6) && r.name();
        case kNAPTR:  // order preference flags services regexp replacement (RFC 3403 §4.1)
            return r.fixed(4) && r.string() && r.string() && r.string() && r.name();
        case kSIG:  // type covered .. key tag (18 octets), signer's name, signature (RFC 2535 §4.1)
        case num(RRType::RRSIG):  // same layout (RFC 4034 §3.1)
            return r.fixed(18) && r.name() && r.rest();
        case kNXT:               // next domain name, type bit map (RFC 2535 §5.2)
        case num(RRType::NSEC):  // same (RFC 4034 §4.1)
            return r.name() && r.rest();
        case kA6: {  // prefix len, address suffix, prefix name when prefix len > 0 (RFC 2874 §3.1.1)
            const int prefix = r.peek();
            if (prefix < 0 || prefix > 128) return false;
            if (!r.fixed(1 + static_cast<std::size_t>((128 - prefix + 7) / 8))) return false;
            return prefix == 0 || r.name();
        }
        default:
            return r.rest();
    }
}

// True for the types whose RDATA holds names walk() finds: the list of RFC 4034 §6.2 without HINFO (it
// holds no name, RFC 6840 §5.1), i.e. NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT,
// SIG, PX, NXT, NAPTR, KX, SRV, DNAME, A6, RRSIG, NSEC. It includes every type whose names RFC 3597 §4
// says a receiver must or should decompress. (A name that was not compressed reads the same either way,
// so expanding "compressed" names in RRSIG or NSEC, which must not be compressed, costs nothing.)
inline bool has_names(dns::RRType type) {
    struct Probe {
        bool named = false;
        bool fixed(std::size_t /*n*/) { return true; }
        bool name() {
            named = true;
            return true;
        }
        bool string() { return true; }
        bool rest() { return true; }
        int peek() { return 1; }  // an A6 prefix that is followed by a name
    } probe;
    walk(type, probe);
    return probe.named;
}

}  // namespace headwater::dns::rdata_names
