// One DNSSEC key pair: its DNSKEY (flags, algorithm, public key; RFC 4034 §2), its key tag (RFC 4034
// Appendix B) and the private key that signs. Keys are kept, generated and imported in BIND's key-file
// format (KeyFiles.h), so keys move between Headwater, BIND, Knot's keymgr import and ldns unchanged.
//
// The private key lives in an OpenSSL EVP_PKEY shared by the copies of a DnssecKey; it is never printed.
// A Signer is one thread's signing context for the key (OpenSSL contexts are not shared between threads).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "zone/base/Result.h"
#include "zone/sign/DnssecAlgorithm.h"

struct evp_pkey_st;

namespace headwater::sign {

inline constexpr uint16_t kZoneKeyFlag = 0x0100;       // RFC 4034 §2.1.1: the key signs zone data
inline constexpr uint16_t kSecureEntryPoint = 0x0001;  // RFC 4034 §2.1.1, RFC 3757: a KSK (or CSK)
inline constexpr uint16_t kKskFlags = kZoneKeyFlag | kSecureEntryPoint;  // 257
inline constexpr uint16_t kZskFlags = kZoneKeyFlag;                      // 256

// The RFC 4034 Appendix B key tag of DNSKEY RDATA (algorithm 1's special case excluded: not signed with).
uint16_t key_tag(std::span<const uint8_t> dnskey_rdata);

// Key tags as the logs, the status and verify print them: "12345,54321" (empty for none).
std::string tag_list(std::span<const uint16_t> tags);

// The DS RDATA for a DNSKEY RDATA of `zone` (given as its wire form): digest type 2 (SHA-256, RFC 4509
// §2.1) by default, 1 (SHA-1, RFC 4034 §5.1.4) or 4 (SHA-384, RFC 6605 §2) when a parent serves those;
// empty for another digest type.
std::vector<uint8_t> ds_rdata(std::span<const uint8_t> zone_wire, std::span<const uint8_t> dnskey_rdata,
                              uint8_t digest_type = 2);
// Whether ds_rdata() computes this digest type.
bool ds_digest_supported(uint8_t digest_type);

class DnssecKey {
  public:
    // A new key pair (RSA: 2048 bits, exponent 65537).
    static Result<DnssecKey, std::string> generate(DnssecAlgorithm algorithm, uint16_t flags);
    // The key from its parts as BIND's files hold them: the DNSKEY public key field and the private
    // fields of the .private file ("PrivateKey" for ECDSA and Ed25519; "Modulus", "PublicExponent", ...
    // for RSA), base64-decoded. The private part must match the public key.
    struct PrivateFields {
        std::vector<std::pair<std::string, std::vector<uint8_t>>> fields;  // name, value
        const std::vector<uint8_t>* find(std::string_view name) const;
    };
    static Result<DnssecKey, std::string> from_parts(DnssecAlgorithm algorithm, uint16_t flags,
                                                     std::span<const uint8_t> public_key,
                                                     const PrivateFields& private_fields);
    // A key that can only verify, from DNSKEY RDATA (flags, protocol, algorithm, public key: RFC 4034
    // §2.1), as a validator holds it: checking what a secondary serves against the keys we publish needs
    // no private part. Its signer() fails. An algorithm not listed in DnssecAlgorithm, a protocol other
    // than 3 (RFC 4034 §2.1.2) or a public key OpenSSL refuses is an error.
    static Result<DnssecKey, std::string> from_dnskey(std::span<const uint8_t> rdata);

    DnssecAlgorithm algorithm() const { return algorithm_; }
    uint16_t flags() const { return flags_; }
    bool is_sep() const { return (flags_ & kSecureEntryPoint) != 0; }
    uint16_t tag() const { return tag_; }
    // The DNSKEY public key field (RFC 6605 §4: X | Y; RFC 8080 §3: the 32 octets; RFC 3110 §2 for RSA).
    std::span<const uint8_t> public_key() const { return public_key_; }
    // Flags, protocol 3, algorithm, public key.
    std::vector<uint8_t> dnskey_rdata() const;
    // The private fields as BIND's .private file names them (for KeyFiles), in BIND's order.
    PrivateFields private_fields() const;

    // Signs for one thread. sign() appends the signature in DNSSEC's form (RFC 6605 §4: r | s for ECDSA;
    // RFC 8080; RFC 5702 PKCS #1 v1.5) of `data` to `out`.
    class Signer {
      public:
        explicit Signer(const DnssecKey& key);
        ~Signer();
        Signer(Signer&&) noexcept;
        Signer& operator=(Signer&&) = delete;
        Signer(const Signer&) = delete;
        Signer& operator=(const Signer&) = delete;
        Result<void, std::string> sign(std::span<const uint8_t> data, std::vector<uint8_t>& out);

      private:
        struct Impl;
        std::unique_ptr<Impl> impl_;
    };
    Signer signer() const { return Signer(*this); }

    // Verifies a signature made by sign() (for tests and for checking imported keys).
    bool verify(std::span<const uint8_t> data, std::span<const uint8_t> signature) const;

  private:
    DnssecKey(DnssecAlgorithm algorithm, uint16_t flags, std::shared_ptr<evp_pkey_st> pkey,
              std::vector<uint8_t> public_key);
    DnssecAlgorithm algorithm_;
    uint16_t flags_;
    uint16_t tag_ = 0;
    std::shared_ptr<evp_pkey_st> pkey_;
    std::vector<uint8_t> public_key_;
};

}  // namespace headwater::sign
