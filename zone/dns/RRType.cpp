#include "zone/dns/RRType.h"

#include <array>
#include <utility>

namespace headwater::dns {

namespace {

struct TypeName {
    uint16_t value;
    std::string_view name;
};

// Presentation names for diagnostics and logs; the wire never needs them.
constexpr std::array kTypeNames = {
    TypeName{1, "A"},         TypeName{2, "NS"},          TypeName{5, "CNAME"},       TypeName{6, "SOA"},
    TypeName{12, "PTR"},      TypeName{13, "HINFO"},      TypeName{15, "MX"},         TypeName{16, "TXT"},
    TypeName{17, "RP"},       TypeName{18, "AFSDB"},      TypeName{28, "AAAA"},       TypeName{29, "LOC"},
    TypeName{33, "SRV"},      TypeName{35, "NAPTR"},      TypeName{36, "KX"},         TypeName{37, "CERT"},
    TypeName{39, "DNAME"},    TypeName{41, "OPT"},        TypeName{43, "DS"},         TypeName{44, "SSHFP"},
    TypeName{45, "IPSECKEY"}, TypeName{46, "RRSIG"},      TypeName{47, "NSEC"},       TypeName{48, "DNSKEY"},
    TypeName{50, "NSEC3"},    TypeName{51, "NSEC3PARAM"}, TypeName{52, "TLSA"},       TypeName{53, "SMIMEA"},
    TypeName{59, "CDS"},      TypeName{60, "CDNSKEY"},    TypeName{61, "OPENPGPKEY"}, TypeName{62, "CSYNC"},
    TypeName{63, "ZONEMD"},   TypeName{64, "SVCB"},       TypeName{65, "HTTPS"},      TypeName{99, "SPF"},
    TypeName{108, "EUI48"},   TypeName{109, "EUI64"},     TypeName{249, "TKEY"},      TypeName{250, "TSIG"},
    TypeName{251, "IXFR"},    TypeName{252, "AXFR"},      TypeName{255, "ANY"},       TypeName{256, "URI"},
    TypeName{257, "CAA"},
};

}  // namespace

std::string to_string(RRType type) {
    const auto v = to_u16(type);
    for (const auto& t : kTypeNames)
        if (t.value == v) return std::string(t.name);
    return "TYPE" + std::to_string(v);
}

std::optional<RRType> rrtype_from_string(std::string_view text) {
    for (const auto& t : kTypeNames) {
        if (t.name.size() != text.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < text.size() && same; ++i)
            same = (text[i] & ~0x20) == (t.name[i] & ~0x20) || text[i] == t.name[i];
        if (same) return static_cast<RRType>(t.value);
    }
    if (text.size() > 4 && (text.substr(0, 4) == "TYPE" || text.substr(0, 4) == "type")) {
        unsigned long v = 0;
        for (char c : text.substr(4)) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned long>(c - '0');
            if (v > 65535) return std::nullopt;
        }
        return static_cast<RRType>(v);
    }
    return std::nullopt;
}

std::string to_string(RRClass klass) {
    switch (klass) {
        case RRClass::IN:
            return "IN";
        case RRClass::CH:
            return "CH";
        case RRClass::HS:
            return "HS";
        case RRClass::NONE:
            return "NONE";
        case RRClass::ANY:
            return "ANY";
    }
    return "CLASS" + std::to_string(to_u16(klass));
}

std::string to_string(Rcode rcode) {
    switch (static_cast<uint16_t>(rcode)) {
        case 0:
            return "NOERROR";
        case 1:
            return "FORMERR";
        case 2:
            return "SERVFAIL";
        case 3:
            return "NXDOMAIN";
        case 4:
            return "NOTIMP";
        case 5:
            return "REFUSED";
        case 6:
            return "YXDOMAIN";
        case 7:
            return "YXRRSET";
        case 8:
            return "NXRRSET";
        case 9:
            return "NOTAUTH";
        case 10:
            return "NOTZONE";
        case 16:
            return "BADVERS/BADSIG";
        case 17:
            return "BADKEY";
        case 18:
            return "BADTIME";
        default:
            return "RCODE" + std::to_string(static_cast<uint16_t>(rcode));
    }
}

CompressibleNames compressible_names(RRType type) {
    switch (type) {
        case RRType::NS:
        case RRType::MD:
        case RRType::MF:
        case RRType::CNAME:
        case RRType::MB:
        case RRType::MG:
        case RRType::MR:
        case RRType::PTR:
            return {0, 1};
        case RRType::SOA:
        case RRType::MINFO:
            return {0, 2};
        case RRType::MX:
            return {2, 1};
        default:
            return {0, 0};
    }
}

}  // namespace headwater::dns
