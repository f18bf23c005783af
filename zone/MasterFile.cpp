// Master-file loader. The only file in the project that includes ldns.
//
// How the work is split: this file reads the text, joins parenthesised lines, strips comments, handles
// the directives ($ORIGIN, $TTL, $INCLUDE) and the record header (owner, TTL, class, type) itself, then
// hands ldns one normalised single-line record "<owner> <ttl> CLASS<n> <type> <rdata>" to parse names
// and RDATA. We do not use ldns_rr_new_frm_fp_l because it loses the $INCLUDE file name, accepts
// "$TTL 1h30x" and TTL overflow silently, takes any unknown $WORD as an owner name, only knows the
// "TTL class" order and cannot tell us whether a TTL was written (needed for the RFC 2308 / RFC 1035
// default-TTL rules).
#include "zone/MasterFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "zone/Changeset.h"  // record_wire_length, decode_record
#include "zone/GenerateTemplate.h"
#include "zone/PresentationRdata.h"
#include "zone/base/AsciiText.h"
#include "zone/dns/Name.h"
#include "zone/dns/RRType.h"

// ldns/common.h defines the macros `bool`, `true` and `false` unless stdbool.h was seen first, which
// breaks C++ headers included after it (e.g. <optional>'s operator<=>). Hence stdbool.h, and ldns last.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

namespace headwater::zone {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxIncludeDepth = 16;
constexpr uint32_t kMaxTtl = 0x7fffffff;  // RFC 2181 §8: a TTL is an unsigned 31-bit value
constexpr size_t kMaxExcerpt = 80;        // how much of an offending line an error message quotes
constexpr size_t kMaxRdata = 65535;       // RFC 1035 §3.2.1: RDLENGTH is 16 bits

struct RdfFree {
    void operator()(ldns_rdf* r) const noexcept { ldns_rdf_deep_free(r); }
};
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;

struct RrFree {
    void operator()(ldns_rr* r) const noexcept { ldns_rr_free(r); }
};
using Rr = std::unique_ptr<ldns_rr, RrFree>;

struct BufferFree {
    void operator()(ldns_buffer* b) const noexcept { ldns_buffer_free(b); }
};
using Buffer = std::unique_ptr<ldns_buffer, BufferFree>;

struct FileClose {
    void operator()(FILE* f) const noexcept { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileClose>;

// A master file up to this size is read whole with one read() (most zones); a larger one is streamed.
constexpr off_t kReadWhole = 1 << 20;

// A master file open for reading: in memory (`text`) or as a stream (`fp`).
struct MasterInput {
    File fp;
    std::string text;
    uint64_t size = 0;  // at the open
};

// Opens a master file for reading. Regular files only: a FIFO put in a zone file's place would block
// the reload (and with it the control thread and shutdown) until something writes to it, and a device
// may never end. O_NONBLOCK keeps the open itself from waiting on a FIFO; on a regular file it changes
// nothing, so it is left on.
std::optional<MasterInput> open_master_file(const std::filesystem::path& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        error = std::strerror(errno);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error = S_ISDIR(st.st_mode) ? std::strerror(EISDIR) : "not a regular file";
        ::close(fd);
        return std::nullopt;
    }
    MasterInput in;
    in.size = static_cast<uint64_t>(st.st_size);
    if (st.st_size <= kReadWhole) {
        // Up to the size at the open, plus one octet to see a file that grew meanwhile (then streamed).
        in.text.resize(static_cast<std::size_t>(st.st_size) + 1);
        std::size_t got = 0;
        while (got < in.text.size()) {
            const ssize_t n = ::read(fd, in.text.data() + got, in.text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                error = std::string("read error: ") + std::strerror(errno);
                ::close(fd);
                return std::nullopt;
            }
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
            // All the octets fstat counted came, and not the one asked beyond them: the file has not grown
            // (a regular file's read is short only at its end). Asking again would only read the end of file,
            // one system call per zone more, which counts with 100k zones.
            if (got == static_cast<std::size_t>(st.st_size)) break;
        }
        if (got < in.text.size()) {
            in.text.resize(got);
            ::close(fd);
            return in;
        }
        in.text.clear();
        if (::lseek(fd, 0, SEEK_SET) != 0) {
            error = std::string("cannot seek: ") + std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
    }
    FILE* f = ::fdopen(fd, "r");
    if (f == nullptr) {
        error = std::strerror(errno);
        ::close(fd);
        return std::nullopt;
    }
    in.fp = File(f);
    return in;
}

Rdf clone(const ldns_rdf* r) {
    return Rdf(r != nullptr ? ldns_rdf_clone(r) : nullptr);
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string quote(std::string_view s) {
    return "'" + std::string(s) + "'";
}

// The offending text for an error message: runs of blanks collapsed, long lines cut.
std::string excerpt(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (is_blank(c)) {
            if (!out.empty() && out.back() != ' ') out.push_back(' ');
        } else {
            out.push_back(c);
        }
        if (out.size() > kMaxExcerpt) {
            out.resize(kMaxExcerpt);
            out += "...";
            return out;
        }
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// Drops trailing spaces, except an escaped one (a token may end in "\ ").
void trim_trailing_blanks(std::string& s) {
    while (!s.empty() && s.back() == ' ') {
        size_t backslashes = 0;
        for (size_t i = s.size() - 1; i > 0 && s[i - 1] == '\\'; --i) ++backslashes;
        if (backslashes % 2 == 1) break;
        s.pop_back();
    }
}

// Characters with a meaning to read_logical (inside and outside quotes) and to next_token.
using SpecialTable = std::array<bool, 256>;
constexpr SpecialTable special_table(std::string_view chars) {
    SpecialTable t{};
    for (char c : chars) t[static_cast<uint8_t>(c)] = true;
    return t;
}
constexpr SpecialTable kSpecialUnquoted = special_table(std::string_view("\0\\\";()\t\r", 8));
constexpr SpecialTable kSpecialQuoted = special_table(std::string_view("\0\\\"", 3));
constexpr SpecialTable kTokenEnd = special_table(" \t\\\"");

// Splits the next blank-separated token off `rest`. Backslash escapes and quoted strings do not end a
// token. Comments and parentheses are already gone (see Loader::read_logical).
std::string_view next_token(std::string_view& rest) {
    size_t i = 0;
    while (i < rest.size() && is_blank(rest[i])) ++i;
    const size_t start = i;
    bool quoted = false;
    while (i < rest.size()) {
        if (quoted) {
            while (i < rest.size() && rest[i] != '"' && rest[i] != '\\') ++i;
        } else {
            while (i < rest.size() && !kTokenEnd[static_cast<uint8_t>(rest[i])]) ++i;
        }
        if (i >= rest.size()) break;
        const char c = rest[i];
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c != '"') break;  // a blank outside quotes
        quoted = !quoted;
        ++i;
    }
    i = std::min(i, rest.size());
    std::string_view token = rest.substr(start, i - start);
    rest.remove_prefix(i);
    return token;
}

std::optional<uint32_t> parse_u16_suffix(std::string_view digits) {
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    uint32_t v = 0;
    for (char c : digits) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v > 0xffff) return std::nullopt;
    return v;
}

// A TTL: decimal seconds or BIND-style units (1w2d3h4m5s, any order, case-insensitive; trailing digits
// without a unit are seconds). RFC 2181 §8 caps TTLs at 2^31-1.
Result<uint32_t, std::string> parse_ttl(std::string_view s) {
    uint64_t total = 0;
    uint64_t current = 0;
    bool have_digits = false;
    for (char c : s) {
        if (is_digit(c)) {
            current = current * 10 + static_cast<uint64_t>(c - '0');
            have_digits = true;
            if (current > kMaxTtl) {
                return unexpected("TTL " + quote(s) + " exceeds 2147483647 (RFC 2181 §8)");
            }
            continue;
        }
        uint64_t unit = 0;
        switch (ascii_lower(c)) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86400;
                break;
            case 'w':
                unit = 604800;
                break;
            default:
                return unexpected("invalid TTL " + quote(s));
        }
        if (!have_digits) return unexpected("invalid TTL " + quote(s));
        total += current * unit;
        if (total > kMaxTtl) return unexpected("TTL " + quote(s) + " exceeds 2147483647 (RFC 2181 §8)");
        current = 0;
        have_digits = false;
    }
    if (s.empty()) return unexpected(std::string("missing TTL"));
    total += current;
    if (total > kMaxTtl) return unexpected("TTL " + quote(s) + " exceeds 2147483647 (RFC 2181 §8)");
    return static_cast<uint32_t>(total);
}

// The mnemonics of the types most zones consist of, looked up before asking ldns (whose lookup compares
// against every type it knows, for every record). Same numbers as ldns's table (IANA's).
std::optional<uint16_t> common_type(std::string_view tok) {
    struct Mnemonic {
        std::string_view name;
        uint16_t type;
    };
    static constexpr Mnemonic kCommon[] = {
        {"A", 1},      {"NS", 2},    {"CNAME", 5},  {"SOA", 6},   {"PTR", 12},
        {"MX", 15},    {"TXT", 16},  {"AAAA", 28},  {"SRV", 33},  {"NAPTR", 35},
        {"DNAME", 39}, {"DS", 43},   {"RRSIG", 46}, {"NSEC", 47}, {"DNSKEY", 48},
        {"NSEC3", 50}, {"TLSA", 52}, {"HTTPS", 65}, {"SVCB", 64}, {"CAA", 257},
    };
    for (const Mnemonic& m : kCommon)
        if (iequals(tok, m.name)) return m.type;
    return std::nullopt;
}

// A class token, or nullopt when `tok` is not a class (then it is the type). RFC 3597 §5: CLASSnnn.
Result<std::optional<uint16_t>, std::string> parse_class(std::string_view tok) {
    uint32_t value = 0;
    if (iequals(tok, "IN")) return std::optional<uint16_t>{LDNS_RR_CLASS_IN};
    if (common_type(tok)) return std::optional<uint16_t>{};  // a type, not a class
    if (istarts_with(tok, "CLASS") && tok.size() > 5) {
        auto v = parse_u16_suffix(tok.substr(5));
        if (!v) {
            return unexpected("invalid class " + quote(tok));
        }
        value = *v;
    } else {
        char buf[16];
        if (tok.size() >= sizeof buf) return std::optional<uint16_t>{};
        std::memcpy(buf, tok.data(), tok.size());
        buf[tok.size()] = '\0';
        value = static_cast<uint32_t>(ldns_get_rr_class_by_name(buf));
        if (value == 0) return std::optional<uint16_t>{};
    }
    if (value == LDNS_RR_CLASS_NONE || value == LDNS_RR_CLASS_ANY || value == 0) {
        return unexpected("class " + quote(tok) + " is not allowed in zone data");
    }
    return std::optional<uint16_t>{static_cast<uint16_t>(value)};
}

// RFC 6895 §3.1: type 0 is reserved; OPT is a pseudo-RR; 249-255 are meta-types or QTYPEs. None of them
// belongs in zone data.
bool is_meta_type(uint32_t t) {
    return t == 0 || t == LDNS_RR_TYPE_OPT || (t >= 249 && t <= 255);
}

Result<uint16_t, std::string> parse_type(std::string_view tok) {
    uint32_t value = 0;
    if (auto common = common_type(tok)) return *common;
    if (istarts_with(tok, "TYPE") && tok.size() > 4) {
        auto v = parse_u16_suffix(tok.substr(4));  // RFC 3597 §5: TYPEnnn
        if (!v) return unexpected("invalid type " + quote(tok));
        value = *v;
    } else if (auto ours = presentation_type(tok)) {
        value = *ours;
    } else {
        char buf[32];
        if (tok.size() < sizeof buf) {
            std::memcpy(buf, tok.data(), tok.size());
            buf[tok.size()] = '\0';
            value = static_cast<uint32_t>(ldns_get_rr_type_by_name(buf));
        }
        if (value == 0 || value > 0xffff) return unexpected("unknown RR type " + quote(tok));
    }
    if (is_meta_type(value)) return unexpected("type " + quote(tok) + " is not allowed in zone data");
    return static_cast<uint16_t>(value);
}

// ---- The fast path: the common record types in plain syntax, without ldns ----------------------------
//
// ldns spends most of a large zone's load time (its tokenizer reads one character at a time and each
// record costs several allocations), so records of the types most zones are made of, written in plain
// syntax, are turned into wire form here. "Plain" is deliberately narrow: anything else (escapes, other
// characters, unusual number forms, extra fields...) goes to ldns as before, so what is accepted and the
// bytes it produces do not change (the unit tests parse the same text both ways and compare).

std::atomic<bool> fast_path_enabled{true};

// A plain name: "@" (the origin), or labels of 1..63 letters, digits, '-' and '_' (or a lone '*')
// separated by '.', absolute with a final '.', else completed with `origin`. Appends the wire form to
// `out`; false (and `out` in any state) when the text is not plain or the name is longer than 255 octets.
bool plain_name(std::string_view text, std::span<const uint8_t> origin, std::vector<uint8_t>& out) {
    if (text.empty()) return false;
    if (text == "@") {
        out.insert(out.end(), origin.begin(), origin.end());
        return true;
    }
    const std::size_t begin = out.size();
    std::size_t label_start = out.size();
    out.push_back(0);
    bool absolute = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.') {
            const std::size_t len = out.size() - label_start - 1;
            if (len == 0) return false;
            out[label_start] = static_cast<uint8_t>(len);
            if (i + 1 == text.size()) {
                absolute = true;
                break;
            }
            label_start = out.size();
            out.push_back(0);
            continue;
        }
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
        const bool wildcard =
            c == '*' && out.size() == label_start + 1 && (i + 1 == text.size() || text[i + 1] == '.');
        if (!plain && !wildcard) return false;
        out.push_back(static_cast<uint8_t>(c));
        if (out.size() - label_start - 1 > dns::kMaxLabelLength) return false;
    }
    if (absolute) {
        out.push_back(0);
    } else {
        out[label_start] = static_cast<uint8_t>(out.size() - label_start - 1);
        out.insert(out.end(), origin.begin(), origin.end());
    }
    return out.size() - begin <= dns::kMaxNameLength;
}

// Decimal digits only, at most `max`.
std::optional<uint32_t> plain_number(std::string_view tok, uint32_t max) {
    if (tok.empty() || tok.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : tok) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return static_cast<uint32_t>(v);
}

void put16(std::vector<uint8_t>& out, uint32_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

// A character-string (RFC 1035 §5.1): a quoted string whose escapes are \X (X itself, X not a digit) and
// \DDD (a decimal octet value up to 255), or a bare word without quotes or backslashes; at most 255
// octets. Appended to `out`, after a length octet when `length_octet`.
bool plain_string(std::string_view tok, std::vector<uint8_t>& out, bool length_octet) {
    const std::size_t at = out.size();
    if (length_octet) out.push_back(0);
    if (tok.size() >= 2 && tok.front() == '"' && tok.back() == '"') {
        tok = tok.substr(1, tok.size() - 2);
        for (std::size_t i = 0; i < tok.size(); ++i) {
            char c = tok[i];
            if (c == '"') return false;
            if (c == '\\') {
                if (++i == tok.size()) return false;
                if (is_digit(tok[i])) {  // \DDD, a decimal octet; other digit forms are left to ldns
                    if (i + 2 >= tok.size() || !is_digit(tok[i + 1]) || !is_digit(tok[i + 2])) return false;
                    const int v = (tok[i] - '0') * 100 + (tok[i + 1] - '0') * 10 + (tok[i + 2] - '0');
                    if (v > 255) return false;
                    c = static_cast<char>(v);
                    i += 2;
                } else {
                    c = tok[i];
                }
            }
            out.push_back(static_cast<uint8_t>(c));
        }
    } else {
        if (tok.empty() || tok.find_first_of("\\\"") != std::string_view::npos) return false;
        out.insert(out.end(), tok.begin(), tok.end());
    }
    const std::size_t size = out.size() - at - (length_octet ? 1 : 0);
    if (size > 255) return false;
    if (length_octet) out[at] = static_cast<uint8_t>(size);
    return true;
}

// The RDATA of a record of a fast-path type in plain syntax, appended to `out`; false to leave the record
// to ldns.
bool plain_rdata(uint16_t type, std::string_view rest, std::span<const uint8_t> origin,
                 std::vector<uint8_t>& out) {
    auto name = [&]() { return plain_name(next_token(rest), origin, out); };
    auto number = [&](uint32_t max, int octets) {
        auto v = plain_number(next_token(rest), max);
        if (!v) return false;
        if (octets == 1)
            out.push_back(static_cast<uint8_t>(*v));
        else if (octets == 2)
            put16(out, *v);
        else {
            put16(out, *v >> 16);
            put16(out, *v & 0xFFFF);
        }
        return true;
    };
    bool ok = false;
    switch (type) {
        case LDNS_RR_TYPE_A:
            ok = read_address(next_token(rest), false, out);
            break;
        case LDNS_RR_TYPE_AAAA:
            ok = read_address(next_token(rest), true, out);
            break;
        case LDNS_RR_TYPE_NS:
        case LDNS_RR_TYPE_CNAME:
        case LDNS_RR_TYPE_PTR:
        case LDNS_RR_TYPE_DNAME:
            ok = name();
            break;
        case LDNS_RR_TYPE_MX:
            ok = number(0xFFFF, 2) && name();
            break;
        case LDNS_RR_TYPE_SOA: {
            // RFC 1035 §3.3.13: MNAME, RNAME, then SERIAL and the four timers as 32-bit numbers. Only plain
            // decimals here (the parentheses of the multi-line form are gone by now); timers with units
            // ("1h", "2w") go to ldns. Every zone has one, so with 100k small zones this is a good share of
            // the records.
            ok = name() && name();
            for (int i = 0; ok && i < 5; ++i) ok = number(0xFFFFFFFF, 4);
            break;
        }
        case LDNS_RR_TYPE_SRV:
            ok = number(0xFFFF, 2) && number(0xFFFF, 2) && number(0xFFFF, 2) && name();
            break;
        case LDNS_RR_TYPE_TXT:
            for (std::string_view tok = next_token(rest); !tok.empty(); tok = next_token(rest)) {
                if (!plain_string(tok, out, true)) return false;
                ok = true;
            }
            break;
        case LDNS_RR_TYPE_CAA: {
            // RFC 8659 §4.1: flags, tag (letters and digits), value (the rest, no length octet).
            if (!number(0xFF, 1)) return false;
            const std::string_view tag = next_token(rest);
            if (tag.empty() || tag.size() > 255 || !std::all_of(tag.begin(), tag.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) != 0;
                }))
                return false;
            out.push_back(static_cast<uint8_t>(tag.size()));
            out.insert(out.end(), tag.begin(), tag.end());
            // Quoted only: ldns refuses a bare value.
            const std::string_view value = next_token(rest);
            ok = value.size() >= 2 && value.front() == '"' && plain_string(value, out, false);
            break;
        }
        default:
            return false;
    }
    return ok && next_token(rest).empty() && out.size() <= kMaxRdata;
}

// ldns reads a numeric field with strtol and casts it to the field's width, so "MX 65537 a." would load
// as preference 1, and a CERT type of 0 is refused by a path that leaks the field it allocated. The
// leading single-token fields of the type's ldns descriptor are checked here first: a number (or an
// algorithm / CERT type given as a number) must be decimal digits within the field's width; a CERT
// type of 0 is reserved (RFC 4398 §2.1). Returns the error, or an empty string.
std::string ldns_number_error(uint16_t type, std::string_view rest) {
    const ldns_rr_descriptor* d = ldns_rr_descript(type);
    if (d == nullptr) return {};
    for (size_t i = 0; i < ldns_rr_descriptor_maximum(d); ++i) {
        const ldns_rdf_type field = ldns_rr_descriptor_field_type(d, i);
        const std::string_view tok = next_token(rest);
        if (tok.empty()) return {};
        uint32_t max = 0;
        bool mnemonic_allowed = false;
        switch (field) {
            case LDNS_RDF_TYPE_INT8:
                max = 0xFF;
                break;
            case LDNS_RDF_TYPE_INT16:
                max = 0xFFFF;
                break;
            case LDNS_RDF_TYPE_INT32:
                max = 0xFFFFFFFF;
                break;
            case LDNS_RDF_TYPE_ALG:
            case LDNS_RDF_TYPE_CERTIFICATE_USAGE:  // TLSA and SMIMEA (RFC 6698 §2.1), mnemonics too
            case LDNS_RDF_TYPE_SELECTOR:
            case LDNS_RDF_TYPE_MATCHING_TYPE:
                max = 0xFF;
                mnemonic_allowed = true;
                break;
            case LDNS_RDF_TYPE_CERT_ALG:
                max = 0xFFFF;
                mnemonic_allowed = true;
                break;
            case LDNS_RDF_TYPE_DNAME:
            case LDNS_RDF_TYPE_A:
            case LDNS_RDF_TYPE_AAAA:
            case LDNS_RDF_TYPE_TYPE:
            case LDNS_RDF_TYPE_PERIOD:
            case LDNS_RDF_TYPE_TIME:
                continue;  // one token each, read by ldns without a cast
            default:
                return {};  // a field that may span tokens: the ones after it cannot be told apart
        }
        if (mnemonic_allowed && std::isalpha(static_cast<unsigned char>(tok[0])) != 0) continue;
        const auto v = plain_number(tok, max);
        if (!v)
            return "invalid number " + std::string(tok) + " (field " + std::to_string(i + 1) + ", at most " +
                   std::to_string(max) + ")";
        if (field == LDNS_RDF_TYPE_CERT_ALG && *v == 0) return "CERT type 0 is reserved (RFC 4398 §2.1)";
    }
    return {};
}

// A name from a directive: "@" is `base`, a relative name is appended to `base` (RFC 1035 §5.1).
Rdf make_name(std::string_view text, const ldns_rdf* base) {
    if (text == "@") return clone(base);
    const std::string s(text);
    Rdf name(ldns_dname_new_frm_str(s.c_str()));
    if (!name) return nullptr;
    if (base != nullptr && !ldns_dname_str_absolute(s.c_str())) {
        if (ldns_dname_cat(name.get(), base) != LDNS_STATUS_OK) return nullptr;
    }
    if (ldns_rdf_size(name.get()) > LDNS_MAX_DOMAINLEN) return nullptr;
    return name;
}

// Physical lines from a FILE or from memory; the terminator is not included.
class LineSource {
  public:
    explicit LineSource(std::string_view text) : text_(text) {}
    explicit LineSource(FILE* fp) : fp_(fp) {}
    ~LineSource() { std::free(buf_); }
    LineSource(const LineSource&) = delete;
    LineSource& operator=(const LineSource&) = delete;

    bool next(std::string_view& line) {
        if (fp_ == nullptr) {
            if (pos_ >= text_.size()) return false;
            size_t end = text_.find('\n', pos_);
            if (end == std::string_view::npos) end = text_.size();
            line = text_.substr(pos_, end - pos_);
            pos_ = end + 1;
            return true;
        }
        const ssize_t n = ::getline(&buf_, &cap_, fp_);  // one buffer, reused for every line
        if (n < 0) return false;
        size_t len = static_cast<size_t>(n);
        if (len > 0 && buf_[len - 1] == '\n') --len;
        line = std::string_view(buf_, len);
        return true;
    }

    // errno-style code when reading stopped because of an I/O error, else 0.
    int error() const { return (fp_ != nullptr && std::ferror(fp_) != 0) ? (errno != 0 ? errno : EIO) : 0; }

  private:
    std::string_view text_;
    size_t pos_ = 0;
    FILE* fp_ = nullptr;
    char* buf_ = nullptr;
    size_t cap_ = 0;
};

LineSource line_source(const MasterInput& in) {
    if (in.fp) return LineSource(in.fp.get());
    return LineSource(std::string_view(in.text));
}

// Parser state of one file. An included file gets a copy; nothing flows back (RFC 1035 §5.1).
struct FileState {
    std::string display;  // name used in errors and RawRecord::file
    fs::path dir;         // base for relative $INCLUDE paths (empty: current directory)
    Rdf origin;
    std::vector<uint8_t> prev;            // last owner (wire), for lines starting with whitespace
    std::optional<uint32_t> default_ttl;  // $TTL (RFC 2308 §4)
    std::optional<uint32_t> last_ttl;     // last TTL stated (RFC 1035 §5.1)
    uint16_t last_class = LDNS_RR_CLASS_IN;
};

Unexpected<LoadError> fail(const FileState& st, size_t line, std::string message) {
    return unexpected(LoadError{st.display, line, std::move(message)});
}

class Loader {
  public:
    explicit Loader(const RecordSink& sink) : sink_(sink), rdata_(ldns_buffer_new(512)) {
        logical_.reserve(1024);
        normalized_.reserve(1024);
    }

    // $INCLUDE becomes an error (load_master_part).
    void refuse_includes() { includes_ = false; }

    // Remembers the top-level file so that including it again is reported as a loop. Its canonical path
    // is resolved only at the first $INCLUDE: most zone files have none, and resolving costs a system
    // call per directory level, for every zone of a start.
    void push_open_file(fs::path path, std::string display) {
        open_files_.push_back({std::move(path), std::nullopt, std::move(display)});
    }

    // `line_no`: the lines before the first one `src` gives (a part of a file, load_master_part).
    Result<void, LoadError> load(LineSource& src, FileState& st, size_t line_no = 0) {
        if (!rdata_) return fail(st, 0, "out of memory");
        for (;;) {
            size_t start = 0;
            auto more = read_logical(src, st, line_no, start);
            if (!more) return unexpected(more.error());
            if (!*more) return {};
            auto done = logical_[0] == '$' ? directive(st, start) : record(st, start);
            if (!done) return done;
        }
    }

  private:
    struct OpenFile {
        fs::path path;                      // as opened
        std::optional<fs::path> canonical;  // resolved when first compared
        std::string display;
        const fs::path& resolved() {
            if (!canonical) canonical = canonical_path(path);
            return *canonical;
        }
    };
    static fs::path canonical_path(const fs::path& p) {
        std::error_code ec;
        fs::path c = fs::canonical(p, ec);
        if (ec) c = fs::absolute(p, ec).lexically_normal();
        return c;
    }

    // Reads the next non-empty logical line into logical_: parentheses joined (RFC 1035 §5.1), comments
    // removed (';' outside quotes and not escaped), tabs and CRs turned into spaces outside quotes.
    // `start` receives the line where it begins. False at end of input.
    Result<bool, LoadError> read_logical(LineSource& src, const FileState& st, size_t& line_no,
                                         size_t& start) {
        logical_.clear();
        int depth = 0;
        size_t open_line = 0;
        std::string_view phys;
        while (src.next(phys)) {
            ++line_no;
            if (depth == 0) start = line_no;
            bool quoted = false;
            bool escaped = false;
            // Write through a pointer into pre-sized storage: this loop sees every byte of the file.
            const size_t base = logical_.size();
            logical_.resize(base + phys.size());
            char* out = logical_.data() + base;
            const char* p = phys.data();
            const char* const end = p + phys.size();
            while (p < end) {
                // Runs of characters without a meaning here are copied as they are.
                const SpecialTable& special = quoted ? kSpecialQuoted : kSpecialUnquoted;
                const char* const run = p;
                while (p < end && !special[static_cast<uint8_t>(*p)]) ++p;
                std::memcpy(out, run, static_cast<size_t>(p - run));
                out += p - run;
                if (p == end) break;
                const char c = *p++;
                if (c == '\0') return fail(st, line_no, "NUL byte in line");
                if (c == '\\') {  // the escaped character is copied whatever it is
                    *out++ = c;
                    if (p == end) {
                        escaped = true;
                        break;
                    }
                    if (*p == '\0') return fail(st, line_no, "NUL byte in line");
                    *out++ = *p++;
                } else if (c == '"') {
                    *out++ = c;
                    quoted = !quoted;
                } else if (c == ';') {
                    break;
                } else if (c == '(') {
                    if (depth++ == 0) open_line = line_no;
                    *out++ = ' ';
                } else if (c == ')') {
                    if (depth == 0) return fail(st, line_no, "')' without matching '('");
                    --depth;
                    *out++ = ' ';
                } else {  // '\t', '\r'
                    *out++ = ' ';
                }
            }
            logical_.resize(static_cast<size_t>(out - logical_.data()));
            if (quoted) return fail(st, line_no, "quoted string not closed on its line");
            if (escaped) return fail(st, line_no, "backslash at end of line");
            if (depth > 0) {
                logical_.push_back(' ');
                continue;
            }
            if (logical_.find_first_not_of(' ') == std::string::npos) {
                logical_.clear();  // blank or comment-only line
                continue;
            }
            trim_trailing_blanks(logical_);
            return true;
        }
        if (const int err = src.error(); err != 0) {
            return fail(st, 0, std::string("read error: ") + std::strerror(err));
        }
        if (depth > 0) return fail(st, open_line, "'(' not closed before end of file");
        return false;
    }

    Result<void, LoadError> directive(FileState& st, size_t line) {
        std::string_view rest = logical_;
        const std::string_view word = next_token(rest);
        if (iequals(word, "$ORIGIN")) {
            const std::string_view arg = next_token(rest);
            if (arg.empty()) return fail(st, line, "$ORIGIN needs a domain name");
            if (!next_token(rest).empty()) return fail(st, line, "unexpected text after $ORIGIN name");
            Rdf name = make_name(arg, st.origin.get());
            if (!name) return fail(st, line, "invalid domain name in $ORIGIN: " + quote(arg));
            st.origin = std::move(name);
            return {};
        }
        if (iequals(word, "$TTL")) {
            const std::string_view arg = next_token(rest);
            if (arg.empty()) return fail(st, line, "$TTL needs a value");
            if (!next_token(rest).empty()) return fail(st, line, "unexpected text after $TTL value");
            auto ttl = parse_ttl(arg);
            if (!ttl) return fail(st, line, "$TTL: " + ttl.error());
            st.default_ttl = *ttl;
            return {};
        }
        if (iequals(word, "$INCLUDE")) {
            // A part of a file (load_master_part) stands for its text alone: what it includes can change
            // while its text does not.
            if (!includes_) return fail(st, line, "$INCLUDE in a part of a file");
            std::string_view file = next_token(rest);
            const std::string_view origin = next_token(rest);
            if (file.empty()) return fail(st, line, "$INCLUDE needs a file name");
            if (!next_token(rest).empty()) return fail(st, line, "unexpected text after $INCLUDE origin");
            if (file.size() >= 2 && file.front() == '"' && file.back() == '"') {
                file = file.substr(1, file.size() - 2);
            }
            // Copies: logical_ is reused while the included file is read.
            return include(st, line, std::string(file), std::string(origin));
        }
        if (iequals(word, "$GENERATE")) return generate(st, line, std::string(rest));
        return fail(st, line, "unknown directive " + quote(word));
    }

    // BIND's $GENERATE (GenerateTemplate.h): each generated line goes through record() as if it were
    // written in the file, so it gets the same checks, defaults and file:line errors. `spec` is a copy:
    // logical_ holds the generated line while record() reads it.
    Result<void, LoadError> generate(FileState& st, size_t line, const std::string& spec) {
        std::string_view rest = spec;
        const std::string_view range_text = next_token(rest);
        const std::string_view lhs = next_token(rest);
        if (lhs.empty()) return fail(st, line, "$GENERATE needs a range, an owner, a type and RDATA");
        auto range = parse_generate_range(range_text);
        if (!range) return fail(st, line, range.error());
        // [ttl] [class] type, in either order as for records: copied unchanged into every line.
        std::string_view after = rest;
        for (;;) {
            const std::string_view tok = next_token(after);
            if (tok.empty()) return fail(st, line, "$GENERATE needs a type and RDATA after the owner");
            if (is_digit(tok[0])) continue;
            auto cls = parse_class(tok);
            if (cls && *cls) continue;
            break;
        }
        const std::string_view middle = rest.substr(0, rest.size() - after.size());
        std::string_view rhs = after.substr(std::min(after.find_first_not_of(' '), after.size()));
        if (rhs.empty()) return fail(st, line, "$GENERATE needs RDATA after the type");
        if (rhs.size() >= 2 && rhs.front() == '"' && rhs.find('"', 1) == rhs.size() - 1) {
            rhs = rhs.substr(1, rhs.size() - 2);  // one quoted token, as BIND reads it
        }
        for (int64_t v = range->start; v <= range->stop; v += range->step) {
            logical_.clear();
            auto expanded = expand_generate_field(lhs, v, logical_);
            if (expanded) {
                logical_.append(middle);
                logical_.push_back(' ');
                expanded = expand_generate_field(rhs, v, logical_);
            }
            if (!expanded) return fail(st, line, expanded.error());
            auto done = record(st, line);
            if (!done) {
                LoadError e = done.error();
                e.message = "$GENERATE (value " + std::to_string(v) + "): " + e.message;
                return unexpected(std::move(e));
            }
        }
        return {};
    }

    Result<void, LoadError> include(FileState& st, size_t line, const std::string& name,
                                    const std::string& origin_text) {
        if (include_depth_ >= kMaxIncludeDepth) {
            return fail(st, line,
                        "$INCLUDE nested deeper than " + std::to_string(kMaxIncludeDepth) + " levels");
        }
        fs::path path(name);
        if (path.is_relative() && !st.dir.empty()) path = st.dir / path;
        std::string open_error;
        auto in = open_master_file(path, open_error);
        if (!in)
            return fail(st, line, "cannot open $INCLUDE file " + quote(path.string()) + ": " + open_error);
        fs::path canonical = canonical_path(path);
        for (OpenFile& f : open_files_) {
            if (f.resolved() == canonical) {
                std::string chain;
                for (const OpenFile& g : open_files_) chain += g.display + " -> ";
                return fail(st, line, "$INCLUDE loop: " + chain + path.string());
            }
        }

        FileState child;
        child.display = path.string();
        child.dir = path.parent_path();
        child.origin = origin_text.empty() ? clone(st.origin.get()) : make_name(origin_text, st.origin.get());
        if (!child.origin) return fail(st, line, "invalid origin in $INCLUDE: " + quote(origin_text));
        child.prev = st.prev;
        child.default_ttl = st.default_ttl;
        child.last_ttl = st.last_ttl;
        child.last_class = st.last_class;

        open_files_.push_back({path, std::move(canonical), child.display});
        ++include_depth_;
        LineSource src = line_source(*in);
        auto loaded = load(src, child);
        --include_depth_;
        open_files_.pop_back();
        if (!loaded) {
            LoadError e = loaded.error();
            e.message += " (included from " + st.display + ":" + std::to_string(line) + ")";
            return unexpected(std::move(e));
        }
        return {};
    }

    // What precedes the RDATA of a record line (RFC 1035 §5.1).
    struct Head {
        std::string_view owner;  // empty when blank_owner: the previous owner
        bool blank_owner = false;
        std::optional<uint32_t> ttl;
        std::optional<uint16_t> rclass;
        std::string_view type_token;
        uint16_t type = 0;
        std::string_view rest;  // the RDATA text
    };
    // The TTL a record gets; `from_soa`: the SOA's MINIMUM, known once its RDATA is read.
    struct Ttl {
        uint32_t value = 0;
        bool from_soa = false;
    };

    // One record line: its head, its TTL and class, then the RDATA by the first reader that takes it
    // (the fast path, PresentationRdata, ldns).
    Result<void, LoadError> record(FileState& st, size_t line) {
        auto head = read_head(st, line);
        if (!head) return unexpected(head.error());
        auto ttl = record_ttl(st, line, *head);
        if (!ttl) return unexpected(ttl.error());
        const uint16_t class_value = head->rclass ? *head->rclass : st.last_class;
        st.last_class = class_value;

        if (!ttl->from_soa && fast_path_enabled.load(std::memory_order_relaxed)) {
            const std::span<const uint8_t> origin(ldns_rdf_data(st.origin.get()),
                                                  ldns_rdf_size(st.origin.get()));
            fast_rdata_.clear();
            fast_owner_.clear();
            if (plain_rdata(head->type, head->rest, origin, fast_rdata_) &&
                (head->blank_owner || plain_name(head->owner, origin, fast_owner_))) {
                if (!head->blank_owner) st.prev.swap(fast_owner_);  // fast_owner_ is cleared before reuse
                return emit(st, line, st.prev, head->type, class_value, ttl->value, fast_rdata_);
            }
        }

        // RFC 3597 §5 generic RDATA, and the types ldns reads wrongly: read here (PresentationRdata.h).
        if (std::string_view after = head->rest; next_token(after) == "\\#")
            return own_rdata(st, line, head->owner, head->blank_owner, head->type, class_value, ttl->from_soa,
                             ttl->value, after, true);
        if (reads_presentation_rdata(head->type))
            return own_rdata(st, line, head->owner, head->blank_owner, head->type, class_value, ttl->from_soa,
                             ttl->value, head->rest, false);
        return ldns_record(st, line, *head, class_value, *ttl);
    }

    // RFC 1035 §5.1: <owner> (or blank: the previous one), then [<TTL>] [<class>] in either order, then
    // the type.
    Result<Head, LoadError> read_head(const FileState& st, size_t line) const {
        Head head;
        head.rest = logical_;
        head.blank_owner = logical_[0] == ' ';
        if (head.blank_owner) {
            if (st.prev.empty())
                return fail(st, line, "line starts with whitespace but there is no previous owner");
        } else {
            head.owner = next_token(head.rest);
        }
        for (;;) {
            const std::string_view tok = next_token(head.rest);
            if (tok.empty()) return fail(st, line, "missing RR type in " + quote(excerpt(logical_)));
            if (is_digit(tok[0])) {
                if (head.ttl) return fail(st, line, "two TTLs in " + quote(excerpt(logical_)));
                auto v = parse_ttl(tok);
                if (!v) return fail(st, line, v.error());
                head.ttl = *v;
                continue;
            }
            auto c = parse_class(tok);
            if (!c) return fail(st, line, c.error());
            if (*c) {
                if (head.rclass) return fail(st, line, "two classes in " + quote(excerpt(logical_)));
                head.rclass = **c;
                continue;
            }
            head.type_token = tok;
            break;
        }
        auto type = parse_type(head.type_token);
        if (!type) return fail(st, line, type.error());
        head.type = *type;
        return head;
    }

    // TTL defaults: $TTL (RFC 2308 §4), else the last TTL stated (RFC 1035 §5.1), else for an SOA its
    // MINIMUM field (BIND's choice), else an error.
    static Result<Ttl, LoadError> record_ttl(FileState& st, size_t line, const Head& head) {
        Ttl ttl;
        if (head.ttl) {
            ttl.value = *head.ttl;
            st.last_ttl = ttl.value;
        } else if (st.default_ttl) {
            ttl.value = *st.default_ttl;
        } else if (st.last_ttl) {
            ttl.value = *st.last_ttl;
        } else if (head.type == LDNS_RR_TYPE_SOA) {
            ttl.from_soa = true;
        } else {
            return fail(st, line,
                        "no TTL given and no default: add a $TTL directive or a TTL to this record");
        }
        return ttl;
    }

    // A record whose RDATA ldns reads: ldns gets "<owner> <ttl> CLASS<n> <type> <rdata>"; a leading space
    // means "previous owner".
    Result<void, LoadError> ldns_record(FileState& st, size_t line, const Head& head, uint16_t class_value,
                                        Ttl ttl) {
        normalized_.clear();
        normalized_.append(head.owner);
        char num[16];
        normalized_.push_back(' ');
        normalized_.append(num, std::to_chars(num, num + sizeof num, ttl.value).ptr);
        normalized_.append(" CLASS");
        normalized_.append(num, std::to_chars(num, num + sizeof num, class_value).ptr);
        normalized_.push_back(' ');
        normalized_.append(head.type_token.data(),
                           static_cast<size_t>(logical_.data() + logical_.size() - head.type_token.data()));

        if (const std::string bad = ldns_number_error(head.type, head.rest); !bad.empty())
            return fail(st, line, "invalid record " + quote(excerpt(logical_)) + ": " + bad);
        ldns_rr* raw = nullptr;
        // ldns replaces `prev` when the record names an owner; we take the owner from the record below.
        ldns_rdf* prev = st.prev.empty()
                             ? nullptr
                             : ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, st.prev.size(), st.prev.data());
        const ldns_status status = ldns_rr_new_frm_str(&raw, normalized_.c_str(), 0, st.origin.get(), &prev);
        Rdf prev_owner(prev);
        Rr rr(raw);
        if (status != LDNS_STATUS_OK || !rr) {
            return fail(
                st, line,
                "invalid record " + quote(excerpt(logical_)) + ": " + ldns_get_errorstr_by_id(status));
        }
        if (ldns_rr_get_type(rr.get()) != head.type) {
            return fail(st, line, "type mismatch while parsing " + quote(excerpt(logical_)));
        }
        if (ttl.from_soa) {
            const ldns_rdf* minimum = ldns_rr_rdf(rr.get(), 6);
            if (minimum == nullptr || ldns_rdf_size(minimum) != 4) {
                return fail(st, line, "no TTL given and no default: add a $TTL directive");
            }
            ttl.value = std::min(ldns_rdf2native_int32(minimum), kMaxTtl);
            st.last_ttl = ttl.value;
        }
        return emit_ldns_rr(st, line, rr.get(), head.type, class_value, ttl.value);
    }

    // The owner and RDATA of a record ldns read, in wire form, to the sink.
    Result<void, LoadError> emit_ldns_rr(FileState& st, size_t line, const ldns_rr* rr, uint16_t type,
                                         uint16_t class_value, uint32_t ttl) {
        const ldns_rdf* owner_rdf = ldns_rr_owner(rr);
        const size_t owner_size = owner_rdf != nullptr ? ldns_rdf_size(owner_rdf) : 0;
        if (owner_size == 0 || owner_size > LDNS_MAX_DOMAINLEN ||
            ldns_rdf_data(owner_rdf)[owner_size - 1] != 0) {
            return fail(st, line, "invalid owner name in " + quote(excerpt(logical_)));
        }
        st.prev.assign(ldns_rdf_data(owner_rdf), ldns_rdf_data(owner_rdf) + owner_size);

        ldns_buffer_clear(rdata_.get());
        for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
            if (ldns_rdf2buffer_wire(rdata_.get(), ldns_rr_rdf(rr, i)) != LDNS_STATUS_OK) {
                return fail(st, line, "out of memory");
            }
        }
        const size_t rdata_size = ldns_buffer_position(rdata_.get());
        if (rdata_size > kMaxRdata) return fail(st, line, "RDATA longer than 65535 octets");

        return emit(st, line, std::span<const uint8_t>(ldns_rdf_data(owner_rdf), owner_size), type,
                    class_value, ttl, std::span<const uint8_t>(ldns_buffer_begin(rdata_.get()), rdata_size));
    }

    // Hands one record to the sink; its refusal becomes an error at this line.
    Result<void, LoadError> emit(const FileState& st, size_t line, std::span<const uint8_t> owner,
                                 uint16_t type, uint16_t rclass, uint32_t ttl,
                                 std::span<const uint8_t> rdata) {
        RawRecord rec;
        rec.owner = owner;
        rec.type = type;
        rec.rclass = rclass;
        rec.ttl = ttl;
        rec.rdata = rdata;
        rec.file = st.display;
        rec.line = line;
        auto accepted = sink_(rec);
        if (!accepted) return fail(st, line, accepted.error());
        return {};
    }

    // A record whose RDATA PresentationRdata reads (generic, or a type ldns would get wrong): the owner
    // and the names in the RDATA completed with the origin here.
    Result<void, LoadError> own_rdata(FileState& st, size_t line, std::string_view owner, bool blank_owner,
                                      uint16_t type, uint16_t rclass, bool ttl_from_soa, uint32_t ttl,
                                      std::string_view rest, bool generic) {
        auto parse_name = [&](std::string_view text) -> Result<std::vector<uint8_t>, std::string> {
            const Rdf name = make_name(text, st.origin.get());
            if (!name) return unexpected("invalid domain name " + quote(text));
            return std::vector<uint8_t>(ldns_rdf_data(name.get()),
                                        ldns_rdf_data(name.get()) + ldns_rdf_size(name.get()));
        };
        if (!blank_owner) {
            auto wire = parse_name(owner);
            if (!wire) return fail(st, line, "invalid owner name in " + quote(excerpt(logical_)));
            st.prev = std::move(wire).value();
        }
        std::vector<std::string_view> tokens;
        for (std::string_view tok = next_token(rest); !tok.empty(); tok = next_token(rest))
            tokens.push_back(tok);
        fast_rdata_.clear();
        auto read = generic ? read_generic_rdata(type, tokens, fast_rdata_)
                            : read_presentation_rdata(type, tokens, parse_name, fast_rdata_);
        if (!read) return fail(st, line, "invalid record " + quote(excerpt(logical_)) + ": " + read.error());
        if (fast_rdata_.size() > kMaxRdata) return fail(st, line, "RDATA longer than 65535 octets");
        if (ttl_from_soa) {  // an SOA in generic form without a TTL: its MINIMUM (validated as an SOA above)
            const uint8_t* m = fast_rdata_.data() + fast_rdata_.size() - 4;
            ttl = std::min((uint32_t{m[0]} << 24) | (uint32_t{m[1]} << 16) | (uint32_t{m[2]} << 8) | m[3],
                           kMaxTtl);
            st.last_ttl = ttl;
        }
        return emit(st, line, st.prev, type, rclass, ttl, fast_rdata_);
    }

    const RecordSink& sink_;
    Buffer rdata_;                     // RDATA of the current record, reused
    std::string logical_;              // current logical line, reused
    std::string normalized_;           // what ldns parses, reused
    std::vector<uint8_t> fast_owner_;  // the fast path's owner and RDATA, reused
    std::vector<uint8_t> fast_rdata_;
    std::vector<OpenFile> open_files_;
    size_t include_depth_ = 0;
    bool includes_ = true;
};

Result<Rdf, LoadError> parse_origin(std::string_view origin, const std::string& display) {
    if (origin.empty() || origin == "@") {
        return unexpected(LoadError{display, 0, "invalid zone origin " + quote(origin)});
    }
    Rdf name = make_name(origin, nullptr);  // always absolute, with or without the final dot
    if (!name) return unexpected(LoadError{display, 0, "invalid zone origin " + quote(origin)});
    return name;
}

// RFC 3597 §5: TYPEnnn and \# with the RDATA in hex, which any loader (ours included) reads back.
std::string generic_record_text(dns::NameView owner, uint16_t type, uint16_t rclass, uint32_t ttl,
                                std::span<const uint8_t> rdata) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = owner.to_string() + " " + std::to_string(ttl) + " " +
                      dns::to_string(static_cast<dns::RRClass>(rclass)) + " TYPE" + std::to_string(type) +
                      " \\# " + std::to_string(rdata.size());
    if (!rdata.empty()) out += ' ';
    for (const uint8_t b : rdata) {
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
    }
    return out;
}

// A name's wire form (ParserState keeps no ldns type).
std::vector<uint8_t> wire_of(const ldns_rdf* name) {
    const auto* data = ldns_rdf_data(name);
    return {data, data + ldns_rdf_size(name)};
}

}  // namespace

void set_master_file_fast_path(bool enabled) {
    fast_path_enabled.store(enabled, std::memory_order_relaxed);
}

Result<void, LoadError> load_master_file(const std::filesystem::path& file, std::string_view origin,
                                         const RecordSink& sink, const SizeHint& size_hint) {
    FileState st;
    st.display = file.string();
    st.dir = file.parent_path();
    auto name = parse_origin(origin, st.display);
    if (!name) return unexpected(name.error());
    st.origin = std::move(name).value();

    std::string open_error;
    auto in = open_master_file(file, open_error);
    if (!in) return fail(st, 0, "cannot open: " + open_error);
    if (size_hint) size_hint(in->size);
    Loader loader(sink);
    loader.push_open_file(file, st.display);
    LineSource src = line_source(*in);
    return loader.load(src, st);
}

Result<void, LoadError> load_master_text(std::string_view text, std::string_view origin,
                                         const RecordSink& sink, std::string_view display_name) {
    FileState st;
    st.display = std::string(display_name);
    auto name = parse_origin(origin, st.display);
    if (!name) return unexpected(name.error());
    st.origin = std::move(name).value();

    Loader loader(sink);
    LineSource src(text);
    return loader.load(src, st);
}

Result<ParserState, LoadError> initial_parser_state(std::string_view origin, std::string_view display_name) {
    auto name = parse_origin(origin, std::string(display_name));
    if (!name) return unexpected(name.error());
    ParserState s;
    s.origin = wire_of(name->get());
    return s;
}

Result<ParserState, LoadError> load_master_part(std::string_view text, const ParserState& start,
                                                std::size_t first_line, const std::filesystem::path& file,
                                                const RecordSink& sink, bool follow_includes) {
    FileState st;
    st.display = file.string();
    st.dir = file.parent_path();
    st.origin = Rdf(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, start.origin.size(), start.origin.data()));
    if (!st.origin) return fail(st, first_line, "out of memory");
    st.default_ttl = start.default_ttl;
    st.last_ttl = start.last_ttl;
    st.last_class = start.last_class;
    Loader loader(sink);
    loader.push_open_file(file, st.display);
    if (!follow_includes) loader.refuse_includes();
    LineSource src(text);
    if (auto done = loader.load(src, st, first_line > 0 ? first_line - 1 : 0); !done)
        return unexpected(done.error());
    ParserState end;
    end.origin = wire_of(st.origin.get());
    end.default_ttl = st.default_ttl;
    end.last_ttl = st.last_ttl;
    end.last_class = st.last_class;
    return end;
}

std::string record_to_text(std::span<const uint8_t> wire) {
    if (wire.empty() || record_wire_length(wire) != wire.size()) return {};
    const RecordView record = decode_record(wire);
    const auto rdata = record.rdata;

    // ldns reads empty RDATA as "no RDATA fields" and would print a bare "owner TTL class type"; the types
    // it reads wrongly (PresentationRdata) it would print wrongly too (IPSECKEY only misses the origin).
    if (!rdata.empty() &&
        (!reads_presentation_rdata(dns::to_u16(record.type)) || record.type == dns::RRType::IPSECKEY)) {
        ldns_rr* raw = nullptr;
        size_t pos = 0;
        const ldns_status status = ldns_wire2rr(&raw, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER);
        const Rr rr(raw);
        if (status == LDNS_STATUS_OK && rr && pos == wire.size()) {
            char* text = ldns_rr2str_fmt(ldns_output_format_nocomments, rr.get());
            if (text != nullptr) {
                const std::string_view printed(text);
                std::string out;
                out.reserve(printed.size());
                // ldns separates owner, TTL, class, type and RDATA with tabs, but prints control characters
                // inside character-strings as they are: those become \DDD (RFC 1035 §5.1), the line stays
                // one.
                int separators = 0;
                for (const char c : printed.substr(0, printed.find_last_not_of("\n ") + 1)) {
                    const auto u = static_cast<unsigned char>(c);
                    if (c == '\t' && separators < 4) {
                        ++separators;
                        out += ' ';
                    } else if (u < 0x20 || u == 0x7F) {
                        out += '\\';
                        out += static_cast<char>('0' + u / 100);
                        out += static_cast<char>('0' + u / 10 % 10);
                        out += static_cast<char>('0' + u % 10);
                    } else {
                        out += c;
                    }
                }
                std::free(text);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
                if (separators == 4) return out;
            }
        }
    }
    return generic_record_text(record.owner, dns::to_u16(record.type), record.rclass, record.ttl, rdata);
}

}  // namespace headwater::zone
