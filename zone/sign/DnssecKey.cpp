#include "zone/sign/DnssecKey.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>

namespace headwater::sign {

namespace {

using PkeyPtr = std::shared_ptr<EVP_PKEY>;
struct BnFree {
    void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

std::string openssl_error(std::string_view what) {
    std::string text(what);
    const unsigned long code = ERR_get_error();
    if (code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        text += ": ";
        text += buf;
    }
    ERR_clear_error();
    return text;
}

// The RSA private fields of BIND's .private files (v1.3) and OpenSSL's names for them, in BIND's order.
constexpr std::array<std::pair<const char*, const char*>, 8> kRsaFields{{
    {"Modulus", OSSL_PKEY_PARAM_RSA_N},
    {"PublicExponent", OSSL_PKEY_PARAM_RSA_E},
    {"PrivateExponent", OSSL_PKEY_PARAM_RSA_D},
    {"Prime1", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"Prime2", OSSL_PKEY_PARAM_RSA_FACTOR2},
    {"Exponent1", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"Exponent2", OSSL_PKEY_PARAM_RSA_EXPONENT2},
    {"Coefficient", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
}};

bool is_ecdsa(DnssecAlgorithm a) {
    return a == DnssecAlgorithm::EcdsaP256Sha256 || a == DnssecAlgorithm::EcdsaP384Sha384;
}
std::size_t ecdsa_size(DnssecAlgorithm a) {  // octets of one coordinate, of r and of s
    return a == DnssecAlgorithm::EcdsaP384Sha384 ? 48 : 32;
}
const char* ec_group(DnssecAlgorithm a) {
    return a == DnssecAlgorithm::EcdsaP384Sha384 ? "P-384" : "P-256";
}
const char* digest_name(DnssecAlgorithm a) {
    return a == DnssecAlgorithm::EcdsaP384Sha384 ? "SHA384" : "SHA256";
}

BnPtr bn_param(EVP_PKEY* pkey, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
    return BnPtr(bn);
}

std::vector<uint8_t> bn_bytes(const BIGNUM* bn, std::size_t pad = 0) {
    std::vector<uint8_t> out(std::max<std::size_t>(pad, static_cast<std::size_t>(BN_num_bytes(bn))));
    BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
    return out;
}

BnPtr bn_from(std::span<const uint8_t> bytes) {
    return BnPtr(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

// The DNSKEY public key field of a key pair OpenSSL holds.
Result<std::vector<uint8_t>, std::string> public_key_field(DnssecAlgorithm a, EVP_PKEY* pkey) {
    if (is_ecdsa(a)) {
        std::array<uint8_t, 1 + 2 * 48> buf{};
        std::size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf.data(), buf.size(),
                                            &len) != 1 ||
            len != 1 + 2 * ecdsa_size(a) || buf[0] != 0x04)
            return unexpected(openssl_error("cannot read the ECDSA public key"));
        return std::vector<uint8_t>(buf.begin() + 1, buf.begin() + static_cast<std::ptrdiff_t>(len));
    }
    if (a == DnssecAlgorithm::Ed25519) {
        std::vector<uint8_t> out(32);
        std::size_t len = out.size();
        if (EVP_PKEY_get_raw_public_key(pkey, out.data(), &len) != 1 || len != 32)
            return unexpected(openssl_error("cannot read the Ed25519 public key"));
        return out;
    }
    // RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent, modulus.
    const BnPtr n = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N);
    const BnPtr e = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return unexpected(openssl_error("cannot read the RSA public key"));
    const std::vector<uint8_t> exponent = bn_bytes(e.get());
    const std::vector<uint8_t> modulus = bn_bytes(n.get());
    std::vector<uint8_t> out;
    if (exponent.size() <= 255) {
        out.push_back(static_cast<uint8_t>(exponent.size()));
    } else {
        out.push_back(0);
        out.push_back(static_cast<uint8_t>(exponent.size() >> 8));
        out.push_back(static_cast<uint8_t>(exponent.size()));
    }
    out.insert(out.end(), exponent.begin(), exponent.end());
    out.insert(out.end(), modulus.begin(), modulus.end());
    return out;
}

Result<PkeyPtr, std::string> pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    const CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* pkey = nullptr;
    const bool ok = params != nullptr && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                    EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params) == 1;
    OSSL_PARAM_free(params);
    if (!ok) return unexpected(openssl_error("OpenSSL refused the key"));
    PkeyPtr owned(pkey, EVP_PKEY_free);
    // The private part must belong to the public key the DNSKEY publishes.
    const CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!check || EVP_PKEY_pairwise_check(check.get()) != 1)
        return unexpected(openssl_error("the private key does not match the public key"));
    return owned;
}

Result<PkeyPtr, std::string> ecdsa_from_parts(DnssecAlgorithm a, std::span<const uint8_t> public_key,
                                              const DnssecKey::PrivateFields& f) {
    const auto* priv = f.find("PrivateKey");
    if (priv == nullptr || priv->size() != ecdsa_size(a))
        return unexpected(std::string("PrivateKey missing or not ") + std::to_string(ecdsa_size(a)) +
                          " octets");
    if (public_key.size() != 2 * ecdsa_size(a))
        return unexpected(std::string("public key is not ") + std::to_string(2 * ecdsa_size(a)) + " octets");
    std::vector<uint8_t> point{0x04};
    point.insert(point.end(), public_key.begin(), public_key.end());
    const BnPtr d = bn_from(*priv);
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                        &OSSL_PARAM_BLD_free);
    if (!d || !bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ec_group(a), 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
        return unexpected(openssl_error("cannot build the ECDSA key"));
    return pkey_from_params("EC", bld.get());
}

Result<PkeyPtr, std::string> ed25519_from_parts(std::span<const uint8_t> public_key,
                                                const DnssecKey::PrivateFields& f) {
    const auto* priv = f.find("PrivateKey");
    if (priv == nullptr || priv->size() != 32)
        return unexpected(std::string("PrivateKey missing or not 32 octets"));
    PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv->data(), priv->size()),
                 EVP_PKEY_free);
    if (!pkey) return unexpected(openssl_error("OpenSSL refused the Ed25519 key"));
    auto derived = public_key_field(DnssecAlgorithm::Ed25519, pkey.get());
    if (!derived) return unexpected(derived.error());
    if (!std::ranges::equal(*derived, public_key))
        return unexpected(std::string("the private key does not match the public key"));
    return pkey;
}

Result<PkeyPtr, std::string> rsa_from_parts(std::span<const uint8_t> public_key,
                                            const DnssecKey::PrivateFields& f) {
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                        &OSSL_PARAM_BLD_free);
    std::vector<BnPtr> numbers;
    for (const auto& [field, param] : kRsaFields) {
        const auto* value = f.find(field);
        if (value == nullptr) return unexpected(std::string(field) + " missing");
        numbers.push_back(bn_from(*value));
        if (!numbers.back() || OSSL_PARAM_BLD_push_BN(bld.get(), param, numbers.back().get()) != 1)
            return unexpected(openssl_error("cannot build the RSA key"));
    }
    auto pkey = pkey_from_params("RSA", bld.get());
    if (!pkey) return pkey;
    auto derived = public_key_field(DnssecAlgorithm::RsaSha256, pkey->get());
    if (!derived || !std::ranges::equal(*derived, public_key))
        return unexpected(std::string("the private key does not match the public key"));
    return pkey;
}

// A public key alone (EVP_PKEY_PUBLIC_KEY): no pairwise check, there is no private part to check.
Result<PkeyPtr, std::string> public_pkey(const char* type, OSSL_PARAM_BLD* bld) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    const CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* pkey = nullptr;
    const bool ok = params != nullptr && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                    EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    if (!ok) return unexpected(openssl_error("OpenSSL refused the public key"));
    return PkeyPtr(pkey, EVP_PKEY_free);
}

Result<PkeyPtr, std::string> public_only(DnssecAlgorithm a, std::span<const uint8_t> public_key) {
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                        &OSSL_PARAM_BLD_free);
    if (!bld) return unexpected(openssl_error("OpenSSL: no parameter builder"));
    if (a == DnssecAlgorithm::Ed25519) {
        // RFC 8080 §3: the 32 octets of the public key.
        PkeyPtr pkey(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()),
            EVP_PKEY_free);
        if (!pkey) return unexpected(openssl_error("OpenSSL refused the Ed25519 public key"));
        return pkey;
    }
    if (is_ecdsa(a)) {
        // RFC 6605 §4: X | Y, which OpenSSL takes as an uncompressed point (0x04 first).
        if (public_key.size() != 2 * ecdsa_size(a))
            return unexpected(std::string("public key is not ") + std::to_string(2 * ecdsa_size(a)) +
                              " octets");
        std::vector<uint8_t> point{0x04};
        point.insert(point.end(), public_key.begin(), public_key.end());
        if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ec_group(a), 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()) != 1)
            return unexpected(openssl_error("cannot build the ECDSA public key"));
        return public_pkey("EC", bld.get());
    }
    // RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent, modulus.
    std::size_t at = 1;
    std::size_t exponent_length = public_key.empty() ? 0 : public_key[0];
    if (!public_key.empty() && exponent_length == 0 && public_key.size() >= 3) {
        exponent_length = (std::size_t{public_key[1]} << 8) | public_key[2];
        at = 3;
    }
    if (exponent_length == 0 || public_key.size() <= at + exponent_length)
        return unexpected(std::string("RSA public key too short"));
    const BnPtr e = bn_from(public_key.subspan(at, exponent_length));
    const BnPtr n = bn_from(public_key.subspan(at + exponent_length));
    if (!e || !n || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
        return unexpected(openssl_error("cannot build the RSA public key"));
    return public_pkey("RSA", bld.get());
}

}  // namespace

namespace {

const EVP_MD* ds_digest(uint8_t digest_type) {
    return digest_type == 1   ? EVP_sha1()
           : digest_type == 2 ? EVP_sha256()
           : digest_type == 4 ? EVP_sha384()
                              : nullptr;
}

}  // namespace

bool ds_digest_supported(uint8_t digest_type) {
    return ds_digest(digest_type) != nullptr;
}

std::vector<uint8_t> ds_rdata(std::span<const uint8_t> zone_wire, std::span<const uint8_t> dnskey_rdata,
                              uint8_t digest_type) {
    const EVP_MD* md = ds_digest(digest_type);
    if (md == nullptr || dnskey_rdata.size() < 4) return {};
    // The owner name in canonical form (lower case, RFC 4034 §6.2), then the DNSKEY RDATA.
    std::vector<uint8_t> input;
    for (const uint8_t c : zone_wire) input.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    input.insert(input.end(), dnskey_rdata.begin(), dnskey_rdata.end());
    const uint16_t tag = key_tag(dnskey_rdata);
    std::vector<uint8_t> out{static_cast<uint8_t>(tag >> 8), static_cast<uint8_t>(tag), dnskey_rdata[3],
                             digest_type};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &len, md, nullptr) != 1) return {};
    out.insert(out.end(), digest, digest + len);
    return out;
}

uint16_t key_tag(std::span<const uint8_t> rdata) {
    uint32_t ac = 0;
    for (std::size_t i = 0; i < rdata.size(); ++i) ac += (i & 1) ? rdata[i] : uint32_t{rdata[i]} << 8;
    ac += (ac >> 16) & 0xFFFF;
    return static_cast<uint16_t>(ac & 0xFFFF);
}

std::string tag_list(std::span<const uint16_t> tags) {
    std::string out;
    for (const uint16_t t : tags) out += (out.empty() ? "" : ",") + std::to_string(t);
    return out;
}

const std::vector<uint8_t>* DnssecKey::PrivateFields::find(std::string_view name) const {
    for (const auto& [n, v] : fields)
        if (n == name) return &v;
    return nullptr;
}

DnssecKey::DnssecKey(DnssecAlgorithm algorithm, uint16_t flags, std::shared_ptr<evp_pkey_st> pkey,
                     std::vector<uint8_t> public_key)
    : algorithm_(algorithm), flags_(flags), pkey_(std::move(pkey)), public_key_(std::move(public_key)) {
    tag_ = key_tag(dnskey_rdata());
}

Result<DnssecKey, std::string> DnssecKey::generate(DnssecAlgorithm algorithm, uint16_t flags) {
    EVP_PKEY* raw = nullptr;
    if (is_ecdsa(algorithm))
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", ec_group(algorithm));
    else if (algorithm == DnssecAlgorithm::Ed25519)
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    else
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
    if (raw == nullptr) return unexpected(openssl_error("key generation failed"));
    PkeyPtr pkey(raw, EVP_PKEY_free);
    auto pub = public_key_field(algorithm, raw);
    if (!pub) return unexpected(pub.error());
    return DnssecKey(algorithm, flags, std::move(pkey), std::move(*pub));
}

Result<DnssecKey, std::string> DnssecKey::from_parts(DnssecAlgorithm algorithm, uint16_t flags,
                                                     std::span<const uint8_t> public_key,
                                                     const PrivateFields& private_fields) {
    Result<PkeyPtr, std::string> pkey = unexpected(std::string());
    if (is_ecdsa(algorithm))
        pkey = ecdsa_from_parts(algorithm, public_key, private_fields);
    else if (algorithm == DnssecAlgorithm::Ed25519)
        pkey = ed25519_from_parts(public_key, private_fields);
    else
        pkey = rsa_from_parts(public_key, private_fields);
    if (!pkey) return unexpected(pkey.error());
    return DnssecKey(algorithm, flags, std::move(*pkey),
                     std::vector<uint8_t>(public_key.begin(), public_key.end()));
}

Result<DnssecKey, std::string> DnssecKey::from_dnskey(std::span<const uint8_t> rdata) {
    if (rdata.size() < 5) return unexpected(std::string("DNSKEY RDATA too short"));
    if (rdata[2] != 3) return unexpected(std::string("DNSKEY protocol is not 3"));
    const auto algorithm = algorithm_from_number(rdata[3]);
    if (!algorithm) return unexpected("algorithm " + std::to_string(rdata[3]) + " not supported");
    const auto public_key = rdata.subspan(4);
    auto pkey = public_only(*algorithm, public_key);
    if (!pkey) return unexpected(pkey.error());
    const auto flags = static_cast<uint16_t>((rdata[0] << 8) | rdata[1]);
    return DnssecKey(*algorithm, flags, std::move(*pkey),
                     std::vector<uint8_t>(public_key.begin(), public_key.end()));
}

std::vector<uint8_t> DnssecKey::dnskey_rdata() const {
    std::vector<uint8_t> rdata{static_cast<uint8_t>(flags_ >> 8), static_cast<uint8_t>(flags_), 3,
                               static_cast<uint8_t>(algorithm_)};
    rdata.insert(rdata.end(), public_key_.begin(), public_key_.end());
    return rdata;
}

DnssecKey::PrivateFields DnssecKey::private_fields() const {
    PrivateFields out;
    if (is_ecdsa(algorithm_)) {
        const BnPtr d = bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY);
        if (d) out.fields.emplace_back("PrivateKey", bn_bytes(d.get(), ecdsa_size(algorithm_)));
    } else if (algorithm_ == DnssecAlgorithm::Ed25519) {
        std::vector<uint8_t> seed(32);
        std::size_t len = seed.size();
        if (EVP_PKEY_get_raw_private_key(pkey_.get(), seed.data(), &len) == 1 && len == 32)
            out.fields.emplace_back("PrivateKey", std::move(seed));
    } else {
        for (const auto& [field, param] : kRsaFields)
            if (const BnPtr v = bn_param(pkey_.get(), param))
                out.fields.emplace_back(field, bn_bytes(v.get()));
    }
    return out;
}

// ---- signing ----

struct DnssecKey::Signer::Impl {
    DnssecAlgorithm algorithm;
    EVP_PKEY* pkey;  // owned by the key, which outlives its signers' use (shared)
    std::shared_ptr<EVP_PKEY> keep;
    CtxPtr ctx;            // ECDSA and RSA: signs digests
    EVP_MD* md = nullptr;  // their digest
    EVP_MD_CTX* md_ctx = nullptr;
    std::vector<uint8_t> der;

    ~Impl() {
        EVP_MD_free(md);
        EVP_MD_CTX_free(md_ctx);
    }
};

DnssecKey::Signer::Signer(const DnssecKey& key) : impl_(std::make_unique<Impl>()) {
    impl_->algorithm = key.algorithm_;
    impl_->pkey = key.pkey_.get();
    impl_->keep = key.pkey_;
    impl_->md_ctx = EVP_MD_CTX_new();
    if (key.algorithm_ == DnssecAlgorithm::Ed25519) return;
    impl_->md = EVP_MD_fetch(nullptr, digest_name(key.algorithm_), nullptr);
    impl_->ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey_.get(), nullptr));
    if (impl_->ctx && EVP_PKEY_sign_init(impl_->ctx.get()) == 1 &&
        key.algorithm_ == DnssecAlgorithm::RsaSha256) {
        EVP_PKEY_CTX_set_rsa_padding(impl_->ctx.get(), RSA_PKCS1_PADDING);
        EVP_PKEY_CTX_set_signature_md(impl_->ctx.get(), impl_->md);
    }
}

DnssecKey::Signer::~Signer() = default;
DnssecKey::Signer::Signer(Signer&&) noexcept = default;

Result<void, std::string> DnssecKey::Signer::sign(std::span<const uint8_t> data, std::vector<uint8_t>& out) {
    Impl& s = *impl_;
    if (s.md_ctx == nullptr) return unexpected(std::string("OpenSSL: no digest context"));
    if (s.algorithm == DnssecAlgorithm::Ed25519) {
        // RFC 8080 §4: PureEdDSA over the data itself.
        std::array<uint8_t, 64> sig{};
        std::size_t len = sig.size();
        if (EVP_DigestSignInit(s.md_ctx, nullptr, nullptr, nullptr, s.pkey) != 1 ||
            EVP_DigestSign(s.md_ctx, sig.data(), &len, data.data(), data.size()) != 1 || len != 64)
            return unexpected(openssl_error("Ed25519 signing failed"));
        out.insert(out.end(), sig.begin(), sig.end());
        return {};
    }
    std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned digest_len = 0;
    if (!s.ctx || s.md == nullptr || EVP_DigestInit_ex(s.md_ctx, s.md, nullptr) != 1 ||
        EVP_DigestUpdate(s.md_ctx, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(s.md_ctx, digest.data(), &digest_len) != 1)
        return unexpected(openssl_error("digest failed"));
    std::size_t len = 0;
    if (EVP_PKEY_sign(s.ctx.get(), nullptr, &len, digest.data(), digest_len) != 1)
        return unexpected(openssl_error("signing failed"));
    s.der.resize(len);
    if (EVP_PKEY_sign(s.ctx.get(), s.der.data(), &len, digest.data(), digest_len) != 1)
        return unexpected(openssl_error("signing failed"));
    if (s.algorithm == DnssecAlgorithm::RsaSha256) {
        out.insert(out.end(), s.der.begin(), s.der.begin() + static_cast<std::ptrdiff_t>(len));
        return {};
    }
    // RFC 6605 §4: r and s, each as many octets as the curve's order, instead of OpenSSL's DER.
    const unsigned char* p = s.der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    if (sig == nullptr) return unexpected(openssl_error("cannot decode the ECDSA signature"));
    const BIGNUM* r = nullptr;
    const BIGNUM* sv = nullptr;
    ECDSA_SIG_get0(sig, &r, &sv);
    const std::size_t n = ecdsa_size(s.algorithm);
    const std::size_t at = out.size();
    out.resize(at + 2 * n);
    BN_bn2binpad(r, out.data() + at, static_cast<int>(n));
    BN_bn2binpad(sv, out.data() + at + n, static_cast<int>(n));
    ECDSA_SIG_free(sig);
    return {};
}

bool DnssecKey::verify(std::span<const uint8_t> data, std::span<const uint8_t> signature) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!md_ctx) return false;
    if (algorithm_ == DnssecAlgorithm::Ed25519) {
        return EVP_DigestVerifyInit(md_ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
               EVP_DigestVerify(md_ctx.get(), signature.data(), signature.size(), data.data(), data.size()) ==
                   1;
    }
    std::vector<uint8_t> sig(signature.begin(), signature.end());
    if (is_ecdsa(algorithm_)) {
        const std::size_t n = ecdsa_size(algorithm_);
        if (signature.size() != 2 * n) return false;
        ECDSA_SIG* es = ECDSA_SIG_new();
        BIGNUM* r = BN_bin2bn(signature.data(), static_cast<int>(n), nullptr);
        BIGNUM* s = BN_bin2bn(signature.data() + n, static_cast<int>(n), nullptr);
        if (es == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(s);
            return false;
        }
        unsigned char* der = nullptr;
        const int der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (der_len <= 0) return false;
        sig.assign(der, der + der_len);
        OPENSSL_free(der);
    }
    EVP_MD* md = EVP_MD_fetch(nullptr, digest_name(algorithm_), nullptr);
    const CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
    std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned digest_len = 0;
    bool ok = md != nullptr && ctx && EVP_DigestInit_ex(md_ctx.get(), md, nullptr) == 1 &&
              EVP_DigestUpdate(md_ctx.get(), data.data(), data.size()) == 1 &&
              EVP_DigestFinal_ex(md_ctx.get(), digest.data(), &digest_len) == 1 &&
              EVP_PKEY_verify_init(ctx.get()) == 1;
    if (ok && algorithm_ == DnssecAlgorithm::RsaSha256)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1;
    ok = ok && EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest_len) == 1;
    EVP_MD_free(md);
    ERR_clear_error();
    return ok;
}

}  // namespace headwater::sign
