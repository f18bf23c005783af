#include "xfr/Fault.h"
#include "zone/base/AsciiText.h"
#include "zone/base/Duration.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace headwater::xfr {

namespace {

struct KindInfo {
    FaultKind kind;
    std::string_view name;
    std::string_view usage;
};

constexpr std::array<KindInfo, 17> kKinds = {{
    {FaultKind::Delay, "delay", "delay DURATION"},
    {FaultKind::Rate, "rate", "rate BYTES_PER_SECOND"},
    {FaultKind::Stall, "stall", "stall AFTER_MESSAGES [DURATION]"},
    {FaultKind::Records, "records", "records N (1..65535 records per message)"},
    {FaultKind::IxfrAsAxfr, "ixfr-as-axfr", "ixfr-as-axfr"},
    {FaultKind::IxfrUncondensed, "ixfr-uncondensed", "ixfr-uncondensed"},
    {FaultKind::IxfrCondensed, "ixfr-condensed", "ixfr-condensed"},
    {FaultKind::CutMessages, "cut-messages", "cut-messages N [close|reset]"},
    {FaultKind::CutBytes, "cut-bytes", "cut-bytes N [close|reset]"},
    {FaultKind::Rcode, "rcode", "rcode servfail|refused|notimp [axfr|ixfr]"},
    {FaultKind::WrongMac, "wrong-mac", "wrong-mac N (the Nth message, from 1)"},
    {FaultKind::SignEvery, "sign-every", "sign-every N (1..100)"},
    {FaultKind::BadTime, "badtime", "badtime"},
    {FaultKind::NoNotify, "no-notify", "no-notify"},
    {FaultKind::NotifySerial, "notify-serial", "notify-serial SERIAL"},
    {FaultKind::SoaTc, "soa-tc", "soa-tc"},
    {FaultKind::DropSoa, "drop-soa", "drop-soa"},
}};

constexpr std::array<FaultKind, kKinds.size()> kKindList = [] {
    std::array<FaultKind, kKinds.size()> out{};
    for (std::size_t i = 0; i < kKinds.size(); ++i) out[i] = kKinds[i].kind;
    return out;
}();

const KindInfo& info(FaultKind kind) {
    return kKinds[static_cast<std::size_t>(kind)];
}

std::optional<uint64_t> parse_number(std::string_view text) {
    uint64_t v = 0;
    const auto* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
    return v;
}

// A number argument in lo..hi; the error names the usage.
Result<uint64_t, std::string> number_arg(const KindInfo& k, std::string_view text, uint64_t lo, uint64_t hi) {
    auto v = parse_number(text);
    if (!v || *v < lo || *v > hi)
        return unexpected("\"" + std::string(text) + "\" is not a number in " + std::to_string(lo) + ".." +
                          std::to_string(hi) + " (usage: " + std::string(k.usage) + ")");
    return *v;
}

std::string_view rcode_word(dns::Rcode r) {
    switch (r) {
        case dns::Rcode::Refused:
            return "refused";
        case dns::Rcode::NotImp:
            return "notimp";
        default:
            return "servfail";
    }
}

// "delay takes 1..1 argument(s) (usage: ...)" unless lo <= args.size() <= hi.
Result<void, std::string> arg_count(const KindInfo& k, std::span<const std::string> args, std::size_t lo,
                                    std::size_t hi) {
    if (args.size() >= lo && args.size() <= hi) return {};
    return unexpected(std::string(k.name) + " takes " +
                      (hi == 0 ? std::string("no arguments")
                               : std::to_string(lo) + ".." + std::to_string(hi) + " argument(s)") +
                      " (usage: " + std::string(k.usage) + ")");
}

// rate, records, wrong-mac, sign-every, notify-serial: one number in the kind's range.
Result<void, std::string> read_number(const KindInfo& k, Fault& f, std::span<const std::string> args) {
    if (auto e = arg_count(k, args, 1, 1); !e) return e;
    constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
    const uint64_t hi = f.kind == FaultKind::Records ? 65535 : f.kind == FaultKind::SignEvery ? 100 : kMax32;
    const uint64_t lo = f.kind == FaultKind::NotifySerial ? 0 : 1;
    auto n = number_arg(k, args[0], lo, hi);
    if (!n) return unexpected(n.error());
    f.number = *n;
    return {};
}

// delay DURATION; stall AFTER_MESSAGES [DURATION] (an hour when not given).
Result<void, std::string> read_timing(const KindInfo& k, Fault& f, std::span<const std::string> args) {
    const bool stall = f.kind == FaultKind::Stall;
    if (auto e = arg_count(k, args, 1, stall ? 2 : 1); !e) return e;
    if (stall) {
        auto n = number_arg(k, args[0], 0, std::numeric_limits<uint32_t>::max());
        if (!n) return unexpected(n.error());
        f.number = *n;
        f.ms = 3600 * 1000;
    }
    if (!stall || args.size() == 2) {
        auto ms = parse_lab_duration(args[stall ? 1 : 0]);
        if (!ms) return unexpected(ms.error());
        f.ms = *ms;
    }
    return {};
}

// cut-messages N [close|reset]; cut-bytes N [close|reset].
Result<void, std::string> read_cut(const KindInfo& k, Fault& f, std::span<const std::string> args) {
    if (auto e = arg_count(k, args, 1, 2); !e) return e;
    auto n = number_arg(k, args[0], f.kind == FaultKind::CutMessages ? 0 : 1,
                        std::numeric_limits<uint32_t>::max());
    if (!n) return unexpected(n.error());
    f.number = *n;
    if (args.size() == 2) {
        const std::string how = ascii_lower(args[1]);
        if (how != "close" && how != "reset")
            return unexpected("\"" + args[1] +
                              "\" is neither close nor reset (usage: " + std::string(k.usage) + ")");
        f.reset = how == "reset";
    }
    return {};
}

// rcode servfail|refused|notimp [axfr|ixfr].
Result<void, std::string> read_rcode(const KindInfo& k, Fault& f, std::span<const std::string> args) {
    if (auto e = arg_count(k, args, 1, 2); !e) return e;
    if (args.size() == 2) {
        const std::string type = ascii_lower(args[1]);
        if (type != "axfr" && type != "ixfr")
            return unexpected("\"" + args[1] + "\" is neither axfr nor ixfr (usage: " + std::string(k.usage) +
                              ")");
        f.only = type == "axfr" ? dns::RRType::AXFR : dns::RRType::IXFR;
    }
    const std::string r = ascii_lower(args[0]);
    if (r == "servfail")
        f.rcode = dns::Rcode::ServFail;
    else if (r == "refused")
        f.rcode = dns::Rcode::Refused;
    else if (r == "notimp")
        f.rcode = dns::Rcode::NotImp;
    else
        return unexpected("\"" + args[0] + "\" is not servfail, refused or notimp");
    return {};
}

// The arguments of one kind, read into `f`.
Result<void, std::string> read_args(const KindInfo& k, Fault& f, std::span<const std::string> args) {
    switch (f.kind) {
        case FaultKind::Delay:
        case FaultKind::Stall:
            return read_timing(k, f, args);
        case FaultKind::Rate:
        case FaultKind::Records:
        case FaultKind::WrongMac:
        case FaultKind::SignEvery:
        case FaultKind::NotifySerial:
            return read_number(k, f, args);
        case FaultKind::CutMessages:
        case FaultKind::CutBytes:
            return read_cut(k, f, args);
        case FaultKind::Rcode:
            return read_rcode(k, f, args);
        default:
            return arg_count(k, args, 0, 0);
    }
}

}  // namespace

std::span<const FaultKind> fault_kinds() {
    return kKindList;
}

std::string_view fault_name(FaultKind kind) {
    return info(kind).name;
}

std::string_view fault_usage(FaultKind kind) {
    return info(kind).usage;
}

std::string Fault::text() const {
    std::string out(fault_name(kind));
    switch (kind) {
        case FaultKind::Delay:
            return out + " " + std::to_string(ms) + "ms";
        case FaultKind::Stall:
            return out + " " + std::to_string(number) + " " + std::to_string(ms) + "ms";
        case FaultKind::Rate:
        case FaultKind::Records:
        case FaultKind::WrongMac:
        case FaultKind::SignEvery:
        case FaultKind::NotifySerial:
            return out + " " + std::to_string(number);
        case FaultKind::CutMessages:
        case FaultKind::CutBytes:
            return out + " " + std::to_string(number) + (reset ? " reset" : " close");
        case FaultKind::Rcode:
            return out + " " + std::string(rcode_word(rcode)) +
                   (only ? (*only == dns::RRType::AXFR ? " axfr" : " ixfr") : "");
        default:
            return out;
    }
}

Result<Fault, std::string> parse_fault(std::string_view name, std::span<const std::string> args) {
    const std::string wanted = ascii_lower(name);
    for (const KindInfo& k : kKinds) {
        if (k.name != wanted) continue;
        Fault f;
        f.kind = k.kind;
        if (auto ok = read_args(k, f, args); !ok) return unexpected(ok.error());
        return f;
    }
    std::string known;
    for (const KindInfo& k : kKinds) known += (known.empty() ? "" : ", ") + std::string(k.name);
    return unexpected("unknown fault \"" + std::string(name) + "\" (known: " + known + ")");
}

Result<Fault, std::string> parse_fault(std::string_view text) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
        if (j > i) words.emplace_back(text.substr(i, j - i));
        i = j;
    }
    if (words.empty()) return unexpected(std::string("no fault given"));
    return parse_fault(words.front(), std::span<const std::string>(words).subspan(1));
}

Result<uint64_t, std::string> parse_lab_duration(std::string_view text) {
    // The config's syntax (a bare number is seconds).
    auto ms = parse_duration_ms(text, 1000);
    if (!ms) return unexpected(ms.error());
    return static_cast<uint64_t>(*ms);
}

Result<FaultPeer, std::string> FaultPeer::parse(std::string_view text) {
    FaultPeer p;
    if (text == "*") {
        p.any = true;
        return p;
    }
    if (text.empty()) return unexpected(std::string("no peer given (an address, a TSIG key name or *)"));
    if (auto a = dns::IpAddress::parse(text)) {
        p.address = a->unmapped();
        return p;
    }
    // Not an address: a TSIG key name, compared without case and with its trailing dot.
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
        if (!ok)
            return unexpected("\"" + std::string(text) +
                              "\" is neither an IP address nor a TSIG key name (nor *)");
    }
    p.key = ascii_lower(text);
    if (p.key.back() != '.') p.key += '.';
    return p;
}

bool FaultPeer::matches(const dns::IpAddress& from, std::string_view request_key) const {
    if (any) return true;
    if (address) return *address == from.unmapped();
    return !request_key.empty() && request_key != "-" && ascii_lower(request_key) == key;
}

std::string FaultPeer::text() const {
    if (any) return "*";
    if (address) return address->to_string();
    return key;
}

}  // namespace headwater::xfr
