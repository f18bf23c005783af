#include "zone/sign/DnssecAlgorithm.h"

#include <array>
#include <charconv>

#include "zone/base/AsciiText.h"

namespace headwater::sign {

namespace {
struct Entry {
    DnssecAlgorithm algorithm;
    std::string_view config;
    std::string_view mnemonic;
};
constexpr std::array<Entry, 4> kAlgorithms{{
    {DnssecAlgorithm::RsaSha256, "rsasha256", "RSASHA256"},
    {DnssecAlgorithm::EcdsaP256Sha256, "ecdsap256sha256", "ECDSAP256SHA256"},
    {DnssecAlgorithm::EcdsaP384Sha384, "ecdsap384sha384", "ECDSAP384SHA384"},
    {DnssecAlgorithm::Ed25519, "ed25519", "ED25519"},
}};

}  // namespace

std::optional<DnssecAlgorithm> parse_algorithm(std::string_view text) {
    for (const Entry& e : kAlgorithms)
        if (iequals(text, e.config)) return e.algorithm;
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc() && end == text.data() + text.size() && number < 256)
        return algorithm_from_number(static_cast<uint8_t>(number));
    return std::nullopt;
}

std::optional<DnssecAlgorithm> algorithm_from_number(uint8_t number) {
    for (const Entry& e : kAlgorithms)
        if (static_cast<uint8_t>(e.algorithm) == number) return e.algorithm;
    return std::nullopt;
}

std::string_view config_name(DnssecAlgorithm a) {
    for (const Entry& e : kAlgorithms)
        if (e.algorithm == a) return e.config;
    return "unknown";
}

std::string_view mnemonic(DnssecAlgorithm a) {
    for (const Entry& e : kAlgorithms)
        if (e.algorithm == a) return e.mnemonic;
    return "UNKNOWN";
}

}  // namespace headwater::sign
