#include "zone/SerialPolicy.h"

#include <algorithm>
#include <cctype>

#include "zone/base/HugePages.h"

namespace headwater::zone {

namespace {

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
}

dns::Serial plus_one(dns::Serial s) {
    const dns::Serial n = s.plus(1);
    return n.value() == 0 ? dns::Serial(1) : n;
}

// `candidate` when it is newer than `current` under RFC 1982 (hence at most 2^31 - 1 ahead) and not 0,
// else current + 1.
dns::Serial newer_or_increment(dns::Serial current, uint64_t candidate) {
    if (candidate != 0 && candidate <= 0xFFFFFFFFu) {
        const dns::Serial c(static_cast<uint32_t>(candidate));
        if (current < c) return c;
    }
    return plus_one(current);
}

}  // namespace

std::optional<SerialPolicy> parse_serial_policy(std::string_view text) {
    std::string t(text);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "keep") return SerialPolicy::Keep;
    if (t == "increment") return SerialPolicy::Increment;
    if (t == "unixtime") return SerialPolicy::UnixTime;
    if (t == "dateserial") return SerialPolicy::DateSerial;
    return std::nullopt;
}

std::string_view to_string(SerialPolicy policy) {
    switch (policy) {
        case SerialPolicy::Keep:
            return "keep";
        case SerialPolicy::Increment:
            return "increment";
        case SerialPolicy::UnixTime:
            return "unixtime";
        case SerialPolicy::DateSerial:
            return "dateserial";
    }
    return "unknown";
}

Result<dns::Serial, std::string> next_serial(dns::Serial current, SerialPolicy policy, int64_t unix_now) {
    switch (policy) {
        case SerialPolicy::Keep:
            return unexpected("serial_policy keep: the zone content changed but the SOA serial is still " +
                              std::to_string(current.value()) +
                              "; raise the serial in the zone file (secondaries only fetch a newer one)");
        case SerialPolicy::Increment:
            return plus_one(current);
        case SerialPolicy::UnixTime:
            return newer_or_increment(current, unix_now > 0 ? static_cast<uint64_t>(unix_now) : 0);
        case SerialPolicy::DateSerial: {
            if (unix_now < 0) return plus_one(current);
            int64_t y;
            unsigned m, d;
            civil_from_days(unix_now / 86400, y, m, d);
            const uint64_t date = static_cast<uint64_t>(y) * 10000 + m * 100 + d;
            return newer_or_increment(current, date * 100);  // beyond 2^32 (year 4295): plain + 1
        }
    }
    return unexpected(std::string("unknown serial policy"));
}

Result<void, std::string> check_serial_advance(dns::Serial current, dns::Serial next) {
    if (next.value() == 0) return unexpected(std::string("serial 0 is not allowed"));
    if (!(current < next))
        return unexpected("serial " + std::to_string(next.value()) + " is not newer than " +
                          std::to_string(current.value()) +
                          " in RFC 1982 serial arithmetic (a new serial must be ahead by 1 to 2^31-1)");
    return {};
}

ZoneVersionPtr with_serial(const ZoneVersion& version, dns::Serial serial) {
    // One copy of the whole data (every update and policy bump passes here), then the four octets patched.
    const auto all = version.run(0, version.size());
    std::vector<uint8_t> data;
    reserve_huge(data, all.size());
    data.assign(all.begin(), all.end());
    std::vector<uint32_t> offsets;
    reserve_huge(offsets, version.size());
    offsets.resize(version.size());
    const uint32_t first = version.offset(0);
    for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = version.offset(i) - first;
    // SERIAL is the first of the five 32-bit fields that end the SOA RDATA (RFC 1035 §3.3.13).
    const std::size_t soa = version.soa_index();
    uint8_t* p = data.data() + offsets[soa] + version.soa().wire.size() - 20;
    const uint32_t v = serial.value();
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
    return std::make_shared<const ZoneVersion>(dns::Name::from_wire(version.apex().wire()).value(),
                                               std::move(data), std::move(offsets), soa);
}

}  // namespace headwater::zone
