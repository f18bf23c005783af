#include "tsig/Algorithm.h"

#include <string>

#include "zone/base/AsciiText.h"

namespace headwater::tsig {

namespace {

struct AlgorithmInfo {
    Algorithm alg;
    std::string_view text;
    std::string_view wire_text;
    std::size_t digest;
};

constexpr std::array<AlgorithmInfo, 6> kInfo = {{
    {Algorithm::HmacMd5, "hmac-md5", "hmac-md5.sig-alg.reg.int.", 16},
    {Algorithm::HmacSha1, "hmac-sha1", "hmac-sha1.", 20},
    {Algorithm::HmacSha224, "hmac-sha224", "hmac-sha224.", 28},
    {Algorithm::HmacSha256, "hmac-sha256", "hmac-sha256.", 32},
    {Algorithm::HmacSha384, "hmac-sha384", "hmac-sha384.", 48},
    {Algorithm::HmacSha512, "hmac-sha512", "hmac-sha512.", 64},
}};

const AlgorithmInfo& info(Algorithm alg) {
    return kInfo[static_cast<std::size_t>(alg)];
}

}  // namespace

std::string_view algorithm_text(Algorithm alg) {
    return info(alg).text;
}

const dns::Name& algorithm_name(Algorithm alg) {
    static const std::array<dns::Name, 6> names = [] {
        std::array<dns::Name, 6> out;
        for (std::size_t i = 0; i < kInfo.size(); ++i)
            out[i] = dns::Name::from_text(kInfo[i].wire_text).value();
        return out;
    }();
    return names[static_cast<std::size_t>(alg)];
}

std::optional<Algorithm> algorithm_from_text(std::string_view text) {
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    for (const auto& i : kInfo) {
        std::string_view wire = i.wire_text;
        wire.remove_suffix(1);
        if (iequals(text, i.text) || iequals(text, wire)) return i.alg;
    }
    return std::nullopt;
}

std::optional<Algorithm> algorithm_from_name(dns::NameView name) {
    for (const auto& i : kInfo)
        if (algorithm_name(i.alg).view() == name) return i.alg;
    return std::nullopt;
}

std::size_t digest_size(Algorithm alg) {
    return info(alg).digest;
}

std::size_t min_mac_size(Algorithm alg) {
    return std::max<std::size_t>(10, (digest_size(alg) + 1) / 2);
}

std::string_view algorithm_list() {
    return "hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512";
}

}  // namespace headwater::tsig
