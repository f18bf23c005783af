// Cross-check of tsig/ against ldns's TSIG (a second independent implementation, next to dnspython).
// ldns signs with the wall clock, so the time passed to tsig/ is the Time Signed read from the message:
// tsig/ itself still never reads the clock.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "tsig/ClientSequence.h"
#include "tsig/ServerSequence.h"
#include "zone/dns/Base64.h"
#include "zone/dns/MessageBuilder.h"

// ldns/common.h defines the macros bool/true/false unless stdbool.h was seen first (as zone/MasterFile.cpp
// explains): stdbool.h, and ldns last.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

namespace headwater::tsig {
namespace {

struct PktDeleter {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

const char* kKeyName = "xfr-key.";

std::vector<uint8_t> secret_for(Algorithm alg) {
    std::vector<uint8_t> s(digest_size(alg));
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 31 + 3);
    return s;
}

std::vector<uint8_t> to_wire(const ldns_pkt* p) {
    uint8_t* data = nullptr;
    size_t size = 0;
    EXPECT_EQ(ldns_pkt2wire(&data, p, &size), LDNS_STATUS_OK);
    std::vector<uint8_t> out(data, data + size);
    std::free(data);
    return out;
}

Pkt from_wire(const std::vector<uint8_t>& wire) {
    ldns_pkt* p = nullptr;
    EXPECT_EQ(ldns_wire2pkt(&p, wire.data(), wire.size()), LDNS_STATUS_OK);
    return Pkt(p);
}

// The MAC of a packet's TSIG as an ldns rdf (2-octet length + octets), owned by the packet.
const ldns_rdf* mac_rdf(const ldns_pkt* p) {
    const ldns_rr* tsig = ldns_pkt_tsig(p);
    EXPECT_NE(tsig, nullptr);
    return tsig ? ldns_rr_rdf(tsig, 3) : nullptr;
}

uint64_t time_signed(const std::vector<uint8_t>& wire) {
    auto m = dns::Message::parse(wire);
    TsigRecordView v;
    EXPECT_TRUE(m && parse_tsig(*m, v));
    return v.rdata.time_signed;
}

std::vector<uint8_t> answer_message(uint16_t id, int index, std::size_t reserve) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, dns::kMaxTcpMessage);
    mb.header(id, dns::flag::QR | dns::flag::AA);
    if (index == 0)
        mb.question(dns::Name::from_text("example.com.").value(), dns::to_u16(dns::RRType::AXFR), 1);
    mb.reserve(reserve);
    for (int i = 0; i < 10; ++i) {
        const uint8_t a[4] = {198, 51, 100, static_cast<uint8_t>(index * 10 + i)};
        (void)mb.push(dns::Section::Answer,
                      dns::Name::from_text("h" + std::to_string(index * 10 + i) + ".example.com.").value(),
                      dns::to_u16(dns::RRType::A), 1, 60, a);
    }
    mb.finish();
    return buf;
}

std::string param_name(const ::testing::TestParamInfo<Algorithm>& param) {
    std::string n(algorithm_text(param.param));
    for (auto& c : n)
        if (c == '-') c = '_';
    return n;
}

class LdnsCrossCheck : public ::testing::TestWithParam<Algorithm> {
  protected:
    Algorithm alg() const { return GetParam(); }
    std::string alg_name() const { return algorithm_name(alg()).to_string(); }
    std::string secret_b64() const { return dns::base64_encode(secret_for(alg())); }
    std::shared_ptr<const Key> key() const {
        return std::make_shared<const Key>(dns::Name::from_text(kKeyName).value(), alg(), secret_for(alg()));
    }
};

TEST_P(LdnsCrossCheck, LdnsSignsTheQueryAndVerifiesOurAnswers) {
    KeyStore store;
    ASSERT_TRUE(store.add(Key(dns::Name::from_text(kKeyName).value(), alg(), secret_for(alg()))));

    Pkt query(
        ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0));
    ldns_pkt_set_id(query.get(), 0x5151);
    const std::string secret = secret_b64();
    ASSERT_EQ(ldns_pkt_tsig_sign(query.get(), kKeyName, secret.c_str(), 300, alg_name().c_str(), nullptr),
              LDNS_STATUS_OK);
    const auto query_wire = to_wire(query.get());
    const uint64_t now = time_signed(query_wire);

    auto parsed = dns::Message::parse(query_wire);
    ASSERT_TRUE(parsed);
    auto v = verify_request(query_wire, *parsed, store, now);
    ASSERT_EQ(v.status, RequestStatus::Verified) << v.reason;

    Pkt previous;
    for (int i = 0; i < 3; ++i) {
        auto wire = answer_message(0x5151, i, v.signer->reserve_size());
        v.signer->sign(wire, 0, now);
        Pkt answer = from_wire(wire);
        ASSERT_TRUE(answer);
        const ldns_rdf* prior = i == 0 ? mac_rdf(query.get()) : mac_rdf(previous.get());
        const bool ok = i == 0 ? ldns_pkt_tsig_verify(answer.get(), wire.data(), wire.size(), kKeyName,
                                                      secret.c_str(), prior)
                               : ldns_pkt_tsig_verify_next(answer.get(), wire.data(), wire.size(), kKeyName,
                                                           secret.c_str(), prior, 1);
        EXPECT_TRUE(ok) << "ldns rejects message " << i;
        previous = std::move(answer);
    }
}

TEST_P(LdnsCrossCheck, WeSignTheQueryAndVerifyLdnsAnswers) {
    ClientSequence client(key());
    std::vector<uint8_t> query_wire;
    {
        dns::MessageBuilder mb(query_wire, dns::kMaxTcpMessage);
        mb.header(0x6262, 0);
        mb.question(dns::Name::from_text("example.com.").value(), dns::to_u16(dns::RRType::AXFR), 1);
        mb.finish();
    }
    client.sign_request(query_wire, 0, 1'700'000'000);
    Pkt query = from_wire(query_wire);
    ASSERT_TRUE(query);
    const std::string secret = secret_b64();
    EXPECT_TRUE(ldns_pkt_tsig_verify(query.get(), query_wire.data(), query_wire.size(), kKeyName,
                                     secret.c_str(), nullptr))
        << "ldns rejects our query";

    const ldns_rdf* prior = mac_rdf(query.get());
    Pkt previous;
    for (int i = 0; i < 3; ++i) {
        Pkt answer = from_wire(answer_message(0x6262, i, 0));
        const ldns_status s = i == 0 ? ldns_pkt_tsig_sign(answer.get(), kKeyName, secret.c_str(), 300,
                                                          alg_name().c_str(), prior)
                                     : ldns_pkt_tsig_sign_next(answer.get(), kKeyName, secret.c_str(), 300,
                                                               alg_name().c_str(), prior, 1);
        ASSERT_EQ(s, LDNS_STATUS_OK);
        const auto wire = to_wire(answer.get());
        auto parsed = dns::Message::parse(wire);
        ASSERT_TRUE(parsed);
        auto r = client.verify(wire, *parsed, time_signed(wire));
        ASSERT_TRUE(r) << "message " << i << ": " << r.error().message;
        EXPECT_EQ(*r, Verified::Signed);
        previous = std::move(answer);
        prior = mac_rdf(previous.get());
    }
    EXPECT_TRUE(client.complete());
}

// ldns 1.8 implements these four (its TSIG code knows no SHA-224 or SHA-384:
// LDNS_STATUS_CRYPTO_UNKNOWN_ALGO); dnspython covers all six.
INSTANTIATE_TEST_SUITE_P(LdnsAlgorithms, LdnsCrossCheck,
                         ::testing::Values(Algorithm::HmacMd5, Algorithm::HmacSha1, Algorithm::HmacSha256,
                                           Algorithm::HmacSha512),
                         param_name);

}  // namespace
}  // namespace headwater::tsig
