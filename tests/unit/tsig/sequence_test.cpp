// Signing and verifying with a fixed clock: requests, single and multi-message answers, every error the
// server answers with, and the client's side, for every algorithm.
#include <gtest/gtest.h>

#include <string>

#include "tsig/ClientSequence.h"
#include "tsig/ServerSequence.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::tsig {
namespace {

using dns::Rcode;
using dns::RRType;

constexpr uint64_t kNow = 1'700'000'000;  // a fixed clock for every test

dns::Name name(std::string_view text) {
    return dns::Name::from_text(text).value();
}

std::vector<uint8_t> secret_for(Algorithm alg, uint8_t salt = 0) {
    std::vector<uint8_t> s(digest_size(alg));
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + salt + 1);
    return s;
}

std::shared_ptr<const Key> make_key(std::string_view key_name, Algorithm alg, uint8_t salt = 0) {
    return std::make_shared<const Key>(name(key_name), alg, secret_for(alg, salt));
}

KeyStore store_with(std::string_view key_name, Algorithm alg) {
    KeyStore store;
    EXPECT_TRUE(store.add(Key(name(key_name), alg, secret_for(alg))));
    EXPECT_TRUE(
        store.add(Key(name("unrelated.example."), Algorithm::HmacSha1, secret_for(Algorithm::HmacSha1, 9))));
    return store;
}

std::vector<uint8_t> make_query(uint16_t id = 0x1234, RRType qtype = RRType::AXFR, bool edns = false) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, dns::kMaxTcpMessage);
    mb.header(id, 0);
    mb.question(name("example.com."), dns::to_u16(qtype), 1);
    if (edns) mb.set_edns(1232, false);
    mb.finish();
    return buf;
}

// The index-th message of an answer: question only in the first, a few A records each.
std::size_t append_answer(std::vector<uint8_t>& buf, uint16_t id, int index, std::size_t reserve) {
    const std::size_t start = buf.size();
    dns::MessageBuilder mb(buf, dns::kMaxTcpMessage);
    mb.header(id, dns::flag::QR | dns::flag::AA);
    if (index == 0) mb.question(name("example.com."), dns::to_u16(RRType::AXFR), 1);
    mb.reserve(reserve);
    for (int i = 0; i < 5; ++i) {
        const uint8_t a[4] = {192, 0, 2, static_cast<uint8_t>(index * 10 + i)};
        const auto owner = name("host" + std::to_string(index * 10 + i) + ".example.com.");
        EXPECT_EQ(mb.push(dns::Section::Answer, owner, dns::to_u16(RRType::A), 1, 3600, a), dns::Pushed::Ok);
    }
    mb.finish();
    return start;
}

dns::Message parse(const std::vector<uint8_t>& wire) {
    auto m = dns::Message::parse(wire);
    EXPECT_TRUE(m.has_value());
    return std::move(m).value();
}

TsigRdata tsig_of(const dns::Message& m) {
    TsigRecordView v;
    EXPECT_TRUE(parse_tsig(m, v));
    return v.rdata;
}

// Rewrites the TSIG RR of a signed message with another MAC (truncated, extended or empty).
void replace_mac(std::vector<uint8_t>& wire, std::span<const uint8_t> mac) {
    const auto m = parse(wire);
    TsigRecordView v;
    ASSERT_TRUE(parse_tsig(m, v));
    const dns::Name owner = v.record->owner;
    const TsigRdata rd = v.rdata;
    const std::vector<uint8_t> other(rd.other.begin(), rd.other.end());
    std::vector<uint8_t> out(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(v.record->offset));
    out[11] = static_cast<uint8_t>(out[11] - 1);  // ARCOUNT (< 256 here)
    append_tsig(
        out, 0,
        TsigFields{owner, rd.algorithm, rd.time_signed, rd.fudge, mac, rd.original_id, rd.error, other});
    wire = std::move(out);
}

std::string param_name(const ::testing::TestParamInfo<Algorithm>& param) {
    std::string n(algorithm_text(param.param));
    for (auto& c : n)
        if (c == '-') c = '_';
    return n;
}

class Sequences : public ::testing::TestWithParam<Algorithm> {
  protected:
    Algorithm alg() const { return GetParam(); }
};

TEST_P(Sequences, SingleMessageExchange) {
    const KeyStore store = store_with("xfr-key.", alg());
    ClientSequence client(make_key("xfr-key.", alg()));
    auto query = make_query();
    const std::size_t unsigned_size = query.size();
    client.sign_request(query, 0, kNow);
    EXPECT_EQ(query.size() - unsigned_size, client.reserve_size());
    const auto q = parse(query);
    EXPECT_EQ(q.header().arcount, 1);
    ASSERT_NE(q.tsig(), nullptr);
    EXPECT_EQ(tsig_of(q).time_signed, kNow);
    EXPECT_EQ(tsig_of(q).fudge, kDefaultFudge);
    EXPECT_EQ(tsig_of(q).mac.size(), digest_size(alg()));

    auto v = verify_request(query, q, store, kNow);
    ASSERT_EQ(v.status, RequestStatus::Verified) << v.reason;
    EXPECT_EQ(v.key_text(), "xfr-key.");
    EXPECT_EQ(v.key->algorithm(), alg());
    ASSERT_TRUE(v.signer);

    std::vector<uint8_t> answer;
    append_answer(answer, 0x1234, 0, v.signer->reserve_size());
    const std::size_t before = answer.size();
    v.signer->sign(answer, 0, kNow + 1);
    EXPECT_EQ(answer.size() - before, v.signer->reserve_size());
    const auto a = parse(answer);
    EXPECT_EQ(a.header().arcount, 1);
    EXPECT_EQ(tsig_of(a).time_signed, kNow + 1);
    EXPECT_EQ(tsig_of(a).original_id, 0x1234);
    EXPECT_EQ(tsig_of(a).error, 0);
    EXPECT_EQ(a.tsig()->owner.to_string(), "xfr-key.");
    EXPECT_TRUE(tsig_of(a).algorithm.view() == algorithm_name(alg()).view());

    auto r = client.verify(answer, a, kNow + 1);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, Verified::Signed);
    EXPECT_TRUE(client.complete());
}

TEST_P(Sequences, MultiMessageAnswerEveryMessageSigned) {
    const KeyStore store = store_with("xfr-key.", alg());
    ClientSequence client(make_key("xfr-key.", alg()));
    auto query = make_query(0x0abc);
    client.sign_request(query, 0, kNow);
    auto v = verify_request(query, parse(query), store, kNow);
    ASSERT_EQ(v.status, RequestStatus::Verified) << v.reason;

    // As on a TCP connection: each message after a 2-octet length, in one buffer.
    std::vector<uint8_t> stream;
    std::vector<std::pair<std::size_t, std::size_t>> messages;  // start, size
    for (int i = 0; i < 4; ++i) {
        const std::size_t prefix = stream.size();
        stream.resize(prefix + 2);
        const std::size_t start = append_answer(stream, 0x0abc, i, v.signer->reserve_size());
        v.signer->sign(stream, start, kNow + static_cast<uint64_t>(i));
        const std::size_t size = stream.size() - start;
        stream[prefix] = static_cast<uint8_t>(size >> 8);
        stream[prefix + 1] = static_cast<uint8_t>(size);
        messages.emplace_back(start, size);
    }
    EXPECT_EQ(v.signer->messages_signed(), 4u);

    std::vector<uint8_t> previous_mac(tsig_of(parse(query)).mac.begin(), tsig_of(parse(query)).mac.end());
    for (int i = 0; i < 4; ++i) {
        const auto [start, size] = messages[static_cast<std::size_t>(i)];
        const std::vector<uint8_t> wire(stream.begin() + static_cast<std::ptrdiff_t>(start),
                                        stream.begin() + static_cast<std::ptrdiff_t>(start + size));
        const auto m = parse(wire);
        ASSERT_NE(m.tsig(), nullptr) << "message " << i << " is not signed";
        EXPECT_EQ(tsig_of(m).time_signed, kNow + static_cast<uint64_t>(i));

        // Recompute independently of ClientSequence: prior MAC, message, variables (first) or timers.
        Hmac h(alg(), secret_for(alg()));
        digest_prior_mac(h, previous_mac);
        digest_message(h, std::span(wire).subspan(0, m.tsig()->offset), tsig_of(m).original_id, true);
        if (i == 0) {
            digest_variables(h, name("xfr-key."), algorithm_name(alg()), kNow, kDefaultFudge, 0, {});
        } else {
            digest_timers(h, kNow + static_cast<uint64_t>(i), kDefaultFudge);
        }
        const Mac expected = h.finish();
        EXPECT_TRUE(constant_time_equal(expected.view(), tsig_of(m).mac)) << "message " << i;
        previous_mac.assign(tsig_of(m).mac.begin(), tsig_of(m).mac.end());

        auto r = client.verify(wire, m, kNow + 2);
        ASSERT_TRUE(r) << "message " << i << ": " << r.error().message;
        EXPECT_EQ(*r, Verified::Signed);
    }
    EXPECT_TRUE(client.complete());
}

// A signer that leaves messages unsigned, as other servers may (§5.3.1), built from the primitives.
class SparseSigner {
  public:
    SparseSigner(std::shared_ptr<const Key> key, std::span<const uint8_t> request_mac)
        : key_(std::move(key)), prior_(request_mac.begin(), request_mac.end()) {}

    void add(std::vector<uint8_t>& wire, bool sign, uint64_t now) {
        if (!h_) {
            h_ = std::make_unique<Hmac>(key_->algorithm(), key_->secret());
            digest_prior_mac(*h_, prior_);
        }
        if (!sign) {
            h_->update(wire);
            return;
        }
        const auto id = static_cast<uint16_t>((wire[0] << 8) | wire[1]);
        digest_message(*h_, wire, id, false);
        const dns::NameView alg = algorithm_name(key_->algorithm());
        if (first_) {
            digest_variables(*h_, key_->name(), alg, now, kDefaultFudge, 0, {});
        } else {
            digest_timers(*h_, now, kDefaultFudge);
        }
        const Mac mac = h_->finish();
        h_.reset();
        append_tsig(wire, 0, TsigFields{key_->name(), alg, now, kDefaultFudge, mac.view(), id, 0, {}});
        prior_.assign(mac.view().begin(), mac.view().end());
        first_ = false;
    }

  private:
    std::shared_ptr<const Key> key_;
    std::vector<uint8_t> prior_;
    std::unique_ptr<Hmac> h_;
    bool first_ = true;
};

TEST_P(Sequences, ClientAcceptsUnsignedMessagesBetweenSignedOnes) {
    auto key = make_key("xfr-key.", alg());
    ClientSequence client(key);
    auto query = make_query();
    client.sign_request(query, 0, kNow);
    SparseSigner server(key, client.request_mac());
    const bool signed_pattern[] = {true, false, false, true, false, true};
    for (int i = 0; i < 6; ++i) {
        std::vector<uint8_t> wire;
        append_answer(wire, 0x1234, i, 0);
        server.add(wire, signed_pattern[i], kNow);
        auto r = client.verify(wire, parse(wire), kNow);
        ASSERT_TRUE(r) << "message " << i << ": " << r.error().message;
        EXPECT_EQ(*r, signed_pattern[i] ? Verified::Signed : Verified::Unsigned);
        EXPECT_EQ(client.complete(), signed_pattern[i]);
    }
}

TEST_P(Sequences, ServerVerifiesAndSignsAfterATamperedMessageFails) {
    const KeyStore store = store_with("xfr-key.", alg());
    ClientSequence client(make_key("xfr-key.", alg()));
    auto query = make_query();
    client.sign_request(query, 0, kNow);
    auto v = verify_request(query, parse(query), store, kNow);
    ASSERT_TRUE(v.verified());
    std::vector<uint8_t> first;
    append_answer(first, 0x1234, 0, v.signer->reserve_size());
    v.signer->sign(first, 0, kNow);
    std::vector<uint8_t> second;
    append_answer(second, 0x1234, 1, v.signer->reserve_size());
    v.signer->sign(second, 0, kNow);
    second[20] ^= 0x20;  // inside the first record's owner name
    ASSERT_TRUE(client.verify(first, parse(first), kNow));
    auto r = client.verify(second, parse(second), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ClientError::Kind::BadSig);
    EXPECT_FALSE(client.complete());
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, Sequences, ::testing::ValuesIn(kAllAlgorithms), param_name);

// ---- request errors ----------------------------------------------------------------------------

class RequestErrors : public ::testing::TestWithParam<Algorithm> {
  protected:
    Algorithm alg() const { return GetParam(); }
    // A query signed by `signing_key` at `when`.
    std::vector<uint8_t> signed_query(std::shared_ptr<const Key> signing_key, uint64_t when,
                                      bool edns = false) {
        ClientSequence c(std::move(signing_key));
        auto q = make_query(0x4242, RRType::AXFR, edns);
        c.sign_request(q, 0, when);
        return q;
    }
    KeyStore store_ = store_with("xfr-key.", GetParam());
};

TEST_P(RequestErrors, UnsignedRequest) {
    const auto q = make_query();
    const auto v = verify_request(q, parse(q), store_, kNow);
    EXPECT_EQ(v.status, RequestStatus::Unsigned);
    EXPECT_FALSE(v.signer);
    EXPECT_EQ(v.key_text(), "");
}

TEST_P(RequestErrors, UnknownKeyNameIsBadKeyAnsweredUnsigned) {
    const auto q = signed_query(make_key("stranger.", alg()), kNow, true);
    const auto parsed = parse(q);
    auto v = verify_request(q, parsed, store_, kNow);
    ASSERT_EQ(v.status, RequestStatus::BadKey);
    EXPECT_EQ(v.reason, "unknown key");
    EXPECT_EQ(v.key_text(), "stranger.");
    EXPECT_FALSE(v.signer);

    const auto answer = error_answer(parsed, v, kNow);
    const auto a = parse(answer);
    EXPECT_EQ(a.header().id, 0x4242);
    EXPECT_TRUE(a.header().qr());
    EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
    ASSERT_TRUE(a.question());
    EXPECT_EQ(a.question()->qname.to_string(), "example.com.");
    EXPECT_TRUE(a.edns());  // OPT before TSIG
    ASSERT_NE(a.tsig(), nullptr);
    EXPECT_EQ(a.tsig()->owner.to_string(), "stranger.");
    const auto t = tsig_of(a);
    EXPECT_EQ(t.error, static_cast<uint16_t>(Rcode::BadKey));
    EXPECT_TRUE(t.mac.empty());
    EXPECT_EQ(t.original_id, 0x4242);
    EXPECT_TRUE(t.algorithm.view() == algorithm_name(alg()).view());

    // The client sees the peer's error.
    ClientSequence client(make_key("stranger.", alg()));
    auto q2 = make_query(0x4242);
    client.sign_request(q2, 0, kNow);
    auto r = client.verify(answer, a, kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ClientError::Kind::PeerError);
    EXPECT_EQ(r.error().peer_error, static_cast<uint16_t>(Rcode::BadKey));
    EXPECT_FALSE(r.error().authenticated);
}

TEST_P(RequestErrors, KnownNameWithAnotherAlgorithmIsBadKey) {
    const Algorithm other = alg() == Algorithm::HmacSha256 ? Algorithm::HmacSha512 : Algorithm::HmacSha256;
    const auto q =
        signed_query(std::make_shared<const Key>(name("xfr-key."), other, secret_for(alg())), kNow);
    const auto parsed = parse(q);
    auto v = verify_request(q, parsed, store_, kNow);
    ASSERT_EQ(v.status, RequestStatus::BadKey);
    EXPECT_NE(v.reason.find("does not match the key's " + std::string(algorithm_text(alg()))),
              std::string::npos)
        << v.reason;
    const auto error_wire = error_answer(parsed, v, kNow);
    const auto a = parse(error_wire);
    EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
    EXPECT_EQ(tsig_of(a).error, static_cast<uint16_t>(Rcode::BadKey));
    EXPECT_TRUE(tsig_of(a).mac.empty());
    EXPECT_TRUE(tsig_of(a).algorithm.view() == algorithm_name(other).view());  // echoed
}

TEST_P(RequestErrors, WrongSecretIsBadSigAnsweredUnsigned) {
    const auto q = signed_query(make_key("xfr-key.", alg(), /*salt=*/5), kNow);
    const auto parsed = parse(q);
    auto v = verify_request(q, parsed, store_, kNow);
    ASSERT_EQ(v.status, RequestStatus::BadSig);
    EXPECT_EQ(v.reason, "MAC does not verify");
    EXPECT_FALSE(v.signer);
    const auto error_wire = error_answer(parsed, v, kNow);
    const auto a = parse(error_wire);
    EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
    EXPECT_FALSE(a.edns());
    EXPECT_EQ(tsig_of(a).error, static_cast<uint16_t>(Rcode::BadSig));
    EXPECT_TRUE(tsig_of(a).mac.empty());
    EXPECT_EQ(tsig_of(a).time_signed, kNow);
}

TEST_P(RequestErrors, TamperedMessageOrTimeIsBadSig) {
    auto q = signed_query(make_key("xfr-key.", alg()), kNow);
    auto tampered = q;
    tampered[2] ^= 0x01;  // the RD bit
    EXPECT_EQ(verify_request(tampered, parse(tampered), store_, kNow).status, RequestStatus::BadSig);

    // The Time Signed is covered by the MAC: moving it into the window does not help a replay.
    const auto m = parse(q);
    const std::size_t time_at = m.tsig()->offset + m.tsig()->owner.wire().size() + 10 +
                                algorithm_name(alg()).wire().size() + 5;  // low octet of Time Signed
    tampered = q;
    tampered[time_at] ^= 1;
    EXPECT_EQ(verify_request(tampered, parse(tampered), store_, kNow).status, RequestStatus::BadSig);
}

TEST_P(RequestErrors, ChangedIdStillVerifiesThroughOriginalId) {
    auto q = signed_query(make_key("xfr-key.", alg()), kNow);
    q[0] = 0x99;  // a forwarder changed the ID; Original ID in the TSIG still holds 0x4242 (§5.4.1)
    q[1] = 0x01;
    auto v = verify_request(q, parse(q), store_, kNow);
    EXPECT_EQ(v.status, RequestStatus::Verified) << v.reason;
}

TEST_P(RequestErrors, TimeWindowEdgesAndBadTimeAnswer) {
    const auto key = make_key("xfr-key.", alg());
    // Exactly at the fudge is still in time, on both sides.
    for (const uint64_t signed_at : {kNow - 300, kNow + 300}) {
        const auto q = signed_query(key, signed_at);
        EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::Verified) << signed_at;
    }
    // One second further is BADTIME, in the past (ten minutes, as the system test does) and the future.
    for (const uint64_t signed_at : {kNow - 301, kNow - 600, kNow + 301}) {
        const auto q = signed_query(key, signed_at);
        const auto parsed = parse(q);
        auto v = verify_request(q, parsed, store_, kNow);
        ASSERT_EQ(v.status, RequestStatus::BadTime) << signed_at;
        EXPECT_NE(v.reason.find(signed_at < kNow ? "in the past" : "in the future"), std::string::npos)
            << v.reason;
        ASSERT_TRUE(v.key);

        const auto answer = error_answer(parsed, v, kNow);
        const auto a = parse(answer);
        EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
        const auto t = tsig_of(a);
        EXPECT_EQ(t.error, static_cast<uint16_t>(Rcode::BadTime));
        EXPECT_EQ(t.mac.size(), digest_size(alg()));  // signed
        EXPECT_EQ(t.time_signed, signed_at);          // the client's time (§5.2.3)
        ASSERT_EQ(t.other.size(), 6u);                // and ours in Other Data
        uint64_t server_time = 0;
        for (uint8_t b : t.other) server_time = (server_time << 8) | b;
        EXPECT_EQ(server_time, kNow);

        // The client can authenticate the answer, and learns the server's clock.
        ClientSequence client(key);
        auto q2 = make_query(0x4242);
        client.sign_request(q2, 0, signed_at);
        ASSERT_EQ(q2, q);
        auto r = client.verify(answer, a, signed_at);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ClientError::Kind::PeerError);
        EXPECT_EQ(r.error().peer_error, static_cast<uint16_t>(Rcode::BadTime));
        EXPECT_TRUE(r.error().authenticated);
        EXPECT_EQ(r.error().peer_time, kNow);
    }
}

TEST_P(RequestErrors, TruncatedMacs) {
    const auto key = make_key("xfr-key.", alg());
    const auto full = signed_query(key, kNow);
    const auto full_mac = tsig_of(parse(full)).mac;
    const std::vector<uint8_t> mac(full_mac.begin(), full_mac.end());
    const std::size_t minimum = min_mac_size(alg());

    // Accepted down to max(10, hash/2) octets.
    for (std::size_t n : {digest_size(alg()), minimum}) {
        auto q = full;
        replace_mac(q, std::span(mac).subspan(0, n));
        const auto parsed = parse(q);
        auto v = verify_request(q, parsed, store_, kNow);
        ASSERT_EQ(v.status, RequestStatus::Verified) << n << ": " << v.reason;

        // The answer is signed with the request MAC as it was sent (truncated).
        std::vector<uint8_t> answer;
        append_answer(answer, 0x4242, 0, v.signer->reserve_size());
        v.signer->sign(answer, 0, kNow);
        const auto a = parse(answer);
        Hmac h(alg(), secret_for(alg()));
        digest_prior_mac(h, std::span(mac).subspan(0, n));
        digest_message(h, std::span(answer).subspan(0, a.tsig()->offset), 0x4242, true);
        digest_variables(h, name("xfr-key."), algorithm_name(alg()), kNow, kDefaultFudge, 0, {});
        EXPECT_TRUE(constant_time_equal(h.finish().view(), tsig_of(a).mac)) << n;
    }
    // A truncated MAC that does not match is still BADSIG.
    {
        auto q = full;
        auto bad = mac;
        bad[0] ^= 1;
        replace_mac(q, std::span(bad).subspan(0, minimum));
        EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::BadSig);
    }
    // Shorter than the minimum, or longer than the hash: FORMERR (§5.2.2.1), answered without TSIG.
    {
        auto q = full;
        replace_mac(q, std::span(mac).subspan(0, minimum - 1));
        const auto parsed = parse(q);
        auto v = verify_request(q, parsed, store_, kNow);
        ASSERT_EQ(v.status, RequestStatus::FormErr);
        EXPECT_NE(v.reason.find("below the minimum of " + std::to_string(minimum)), std::string::npos)
            << v.reason;
        const auto error_wire = error_answer(parsed, v, kNow);
        const auto a = parse(error_wire);
        EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::FormErr));
        EXPECT_EQ(a.tsig(), nullptr);
        EXPECT_EQ(a.header().arcount, 0);
    }
    {
        auto q = full;
        auto longer = mac;
        longer.push_back(0);
        replace_mac(q, longer);
        auto v = verify_request(q, parse(q), store_, kNow);
        EXPECT_EQ(v.status, RequestStatus::FormErr);
        EXPECT_NE(v.reason.find("longer than the"), std::string::npos) << v.reason;
    }
    // An empty MAC in a request does not verify.
    {
        auto q = full;
        replace_mac(q, {});
        EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::BadSig);
    }
    // A local policy stricter than the RFC: a verified but truncated MAC is BADTRUNC, answered signed.
    {
        auto q = full;
        replace_mac(q, std::span(mac).subspan(0, minimum));
        const auto parsed = parse(q);
        auto v = verify_request(q, parsed, store_, kNow, digest_size(alg()));
        ASSERT_EQ(v.status, RequestStatus::BadTrunc) << v.reason;
        const auto error_wire = error_answer(parsed, v, kNow);
        const auto a = parse(error_wire);
        EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
        EXPECT_EQ(tsig_of(a).error, static_cast<uint16_t>(Rcode::BadTrunc));
        EXPECT_EQ(tsig_of(a).mac.size(), digest_size(alg()));
        // The full MAC satisfies the same policy.
        EXPECT_EQ(verify_request(full, parse(full), store_, kNow, digest_size(alg())).status,
                  RequestStatus::Verified);
    }
}

TEST_P(RequestErrors, KeyNamesCompareCaseInsensitivelyAndAreEchoed) {
    const auto q = signed_query(make_key("XFR-Key.", alg()), kNow);
    auto v = verify_request(q, parse(q), store_, kNow);
    ASSERT_EQ(v.status, RequestStatus::Verified) << v.reason;
    EXPECT_EQ(v.key_text(), "XFR-Key.");
    EXPECT_EQ(v.key->name().to_string(), "xfr-key.");
    std::vector<uint8_t> answer;
    append_answer(answer, 0x4242, 0, v.signer->reserve_size());
    v.signer->sign(answer, 0, kNow);
    const auto a = parse(answer);
    EXPECT_EQ(a.tsig()->owner.to_string(), "XFR-Key.");
    // A client that spells the name differently still verifies the answer (canonical form in the MAC).
    ClientSequence client(make_key("xfr-KEY.", alg()));
    auto q2 = make_query(0x4242);
    client.sign_request(q2, 0, kNow);
    auto v2 = verify_request(q2, parse(q2), store_, kNow);
    ASSERT_TRUE(v2.verified());
    std::vector<uint8_t> answer2;
    append_answer(answer2, 0x4242, 0, v2.signer->reserve_size());
    v2.signer->sign(answer2, 0, kNow);
    EXPECT_TRUE(client.verify(answer2, parse(answer2), kNow));
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, RequestErrors, ::testing::ValuesIn(kAllAlgorithms), param_name);

// ---- malformed TSIG records -----------------------------------------------------------------------

class Malformed : public ::testing::Test {
  protected:
    KeyStore store_ = store_with("xfr-key.", Algorithm::HmacSha256);
    std::vector<uint8_t> query_ = [] {
        ClientSequence c(make_key("xfr-key.", Algorithm::HmacSha256));
        auto q = make_query(0x4242);
        c.sign_request(q, 0, kNow);
        return q;
    }();
    std::size_t tsig_at_ = parse(query_).tsig()->offset;
    std::size_t rdata_at_ = tsig_at_ + 9 + 10;  // owner "xfr-key." is 9 octets
};

TEST_F(Malformed, TrailingOctetInRdataIsFormErr) {
    auto q = query_;
    q.push_back(0);
    const std::size_t rdlen_at = rdata_at_ - 2;
    q[rdlen_at + 1] = static_cast<uint8_t>(q[rdlen_at + 1] + 1);
    const auto parsed = parse(q);
    auto v = verify_request(q, parsed, store_, kNow);
    ASSERT_EQ(v.status, RequestStatus::FormErr);
    EXPECT_EQ(v.reason, "malformed TSIG record");
    const auto error_wire = error_answer(parsed, v, kNow);
    const auto a = parse(error_wire);
    EXPECT_EQ(a.header().rcode(), static_cast<uint8_t>(Rcode::FormErr));
    EXPECT_EQ(a.tsig(), nullptr);
}

TEST_F(Malformed, ClassOtherThanAnyOrTtlOtherThanZeroIsFormErr) {
    auto q = query_;
    q[tsig_at_ + 9 + 2] = 0;  // CLASS 255 -> 1
    q[tsig_at_ + 9 + 3] = 1;
    EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::FormErr);
    q = query_;
    q[tsig_at_ + 9 + 7] = 1;  // TTL 1
    EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::FormErr);
}

TEST_F(Malformed, CompressedAlgorithmNameIsFormErr) {
    // Replace the algorithm name "hmac-sha256." (13 octets) with a pointer to the question name plus
    // padding, keeping RDLENGTH: the name must not be compressed (RFC 3597 §4).
    auto q = query_;
    q[rdata_at_] = 0xC0;
    q[rdata_at_ + 1] = 12;
    EXPECT_EQ(verify_request(q, parse(q), store_, kNow).status, RequestStatus::FormErr);
}

TEST_F(Malformed, TsigNotLastIsRejectedByTheParser) {
    // Append an A record after the TSIG: the message parser refuses it (FORMERR, RFC 8945 §5.1).
    auto q = query_;
    const uint8_t rr[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1};
    q.insert(q.end(), std::begin(rr), std::end(rr));
    q[11] = static_cast<uint8_t>(q[11] + 1);
    auto parsed = dns::Message::parse(q);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), dns::ParseError::Malformed);
}

// ---- client errors -------------------------------------------------------------------------------

TEST(Client, FirstAnswerMustBeSigned) {
    ClientSequence client(make_key("xfr-key.", Algorithm::HmacSha256));
    auto q = make_query();
    client.sign_request(q, 0, kNow);
    std::vector<uint8_t> answer;
    append_answer(answer, 0x1234, 0, 0);
    auto r = client.verify(answer, parse(answer), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ClientError::Kind::NotSigned);
    // And the exchange stays failed.
    EXPECT_FALSE(client.verify(answer, parse(answer), kNow));
    EXPECT_FALSE(client.complete());
}

TEST(Client, NinetyNineUnsignedInARowAreAcceptedNotOneHundred) {
    auto key = make_key("xfr-key.", Algorithm::HmacSha1);
    for (const int unsigned_run : {99, 100}) {
        ClientSequence client(key);
        auto q = make_query();
        client.sign_request(q, 0, kNow);
        SparseSigner server(key, client.request_mac());
        std::vector<uint8_t> wire;
        append_answer(wire, 0x1234, 0, 0);
        server.add(wire, true, kNow);
        ASSERT_TRUE(client.verify(wire, parse(wire), kNow));
        bool failed = false;
        for (int i = 1; i <= unsigned_run; ++i) {
            wire.clear();
            append_answer(wire, 0x1234, i, 0);
            server.add(wire, false, kNow);
            auto r = client.verify(wire, parse(wire), kNow);
            if (!r) {
                EXPECT_EQ(r.error().kind, ClientError::Kind::TooManyUnsigned);
                EXPECT_EQ(i, 100);
                failed = true;
                break;
            }
            EXPECT_FALSE(client.complete());
        }
        EXPECT_EQ(failed, unsigned_run == 100);
        if (failed) continue;
        wire.clear();
        append_answer(wire, 0x1234, 500, 0);
        server.add(wire, true, kNow);
        auto r = client.verify(wire, parse(wire), kNow);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_TRUE(client.complete());
    }
}

TEST(Client, AnswerSignedWithAnotherKeyIsWrongKey) {
    KeyStore store = store_with("other.", Algorithm::HmacSha256);
    ClientSequence client(make_key("xfr-key.", Algorithm::HmacSha256));
    ClientSequence other(make_key("other.", Algorithm::HmacSha256));
    auto q = make_query();
    client.sign_request(q, 0, kNow);
    auto q2 = make_query();
    other.sign_request(q2, 0, kNow);
    auto v = verify_request(q2, parse(q2), store, kNow);
    ASSERT_TRUE(v.verified());
    std::vector<uint8_t> answer;
    append_answer(answer, 0x1234, 0, v.signer->reserve_size());
    v.signer->sign(answer, 0, kNow);
    auto r = client.verify(answer, parse(answer), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ClientError::Kind::WrongKey);
}

TEST(Client, AnswerOutsideTheFudgeIsBadTime) {
    const KeyStore store = store_with("xfr-key.", Algorithm::HmacSha384);
    ClientSequence client(make_key("xfr-key.", Algorithm::HmacSha384));
    auto q = make_query();
    client.sign_request(q, 0, kNow);
    auto v = verify_request(q, parse(q), store, kNow);
    ASSERT_TRUE(v.verified());
    std::vector<uint8_t> answer;
    append_answer(answer, 0x1234, 0, v.signer->reserve_size());
    v.signer->sign(answer, 0, kNow + 1000);
    auto r = client.verify(answer, parse(answer), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ClientError::Kind::BadTime);
}

}  // namespace
}  // namespace headwater::tsig
