// The DNSSEC signing algorithms Headwater signs with (IANA "DNS Security Algorithm Numbers"): the ones
// RFC 8624 §3.1 says a signer should use, plus RSA/SHA-256 for parents and validators that still need it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace headwater::sign {

enum class DnssecAlgorithm : uint8_t {
    RsaSha256 = 8,         // RFC 5702
    EcdsaP256Sha256 = 13,  // RFC 6605
    EcdsaP384Sha384 = 14,  // RFC 6605
    Ed25519 = 15,          // RFC 8080
};

// The name used in the configuration ("ecdsap256sha256"), compared without case; also accepts the number.
std::optional<DnssecAlgorithm> parse_algorithm(std::string_view text);
// The configuration name, lower case.
std::string_view config_name(DnssecAlgorithm a);
// The mnemonic of BIND's key files and of DS/DNSKEY presentation ("ECDSAP256SHA256").
std::string_view mnemonic(DnssecAlgorithm a);
// Whether `number` is one of the algorithms above.
std::optional<DnssecAlgorithm> algorithm_from_number(uint8_t number);

}  // namespace headwater::sign
