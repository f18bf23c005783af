#include "xfr/Responder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "support/test_zone.h"
#include "tsig/ClientSequence.h"
#include "zone/dns/MessageBuilder.h"

using namespace headwater;
using dns::Rcode;
using dns::RRType;
using headwater::testing::name;

namespace {

constexpr std::string_view kZone = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
        IN MX   10 mail
        IN A    192.0.2.10
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
www     IN CNAME @
alias   IN CNAME elsewhere.example.org.
a.b.c   IN TXT  "deep"
*.wild  IN A    192.0.2.77
away    IN DNAME elsewhere.example.net.
here    IN DNAME inside
h.inside IN A   192.0.2.88
into-sub IN CNAME host.sub
to-glue IN CNAME ns.sub
cname-ns IN CNAME sub
dname-sub IN DNAME sub.example.com.
d1      IN DNAME d2.example.com.
d2      IN DNAME d3.example.com.
x.d3    IN TXT  "x.d3"
via-d1  IN CNAME x.d2
to-wild-nodata IN CNAME nothing.wild
sub     IN NS   ns.sub
sub     IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub  IN A    192.0.2.99
big     IN TXT  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
)";

class ResponderTest : public ::testing::Test {
  protected:
    ResponderTest() {
        store_.add(headwater::testing::make_zone(kZone, "example.com."));
        std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
        acls[name("example.com.").key()] = {
            xfr::AclRule{
                "providers", {dns::IpNetwork::parse("127.0.0.1/32").value()}, {}, {}, {}, {}, {}, {}},
            // Both factors: a 127.0.0.5 peer must also sign with xfr-key.
            xfr::AclRule{
                "keyed", {dns::IpNetwork::parse("127.0.0.5/32").value()}, {"xfr-key."}, {}, {}, {}, {}, {}}};
        auto keys = std::make_shared<tsig::KeyStore>();
        const std::vector<uint8_t> secret(32, 0x42);
        EXPECT_TRUE(keys->add(tsig::Key::create("xfr-key", "hmac-sha256", secret).value()));
        EXPECT_TRUE(keys->add(tsig::Key::create("other-key", "hmac-sha256", secret).value()));
        keys_ = keys;
        responder_ = std::make_unique<xfr::Responder>(store_, std::move(acls), keys_);
    }

    static std::vector<uint8_t> query(std::string_view qname, RRType type,
                                      std::optional<uint16_t> edns = std::nullopt, uint8_t edns_version = 0) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, 512);
        mb.header(0xBEEF, dns::flag::RD);
        mb.question(name(qname), dns::to_u16(type), 1);
        if (edns) mb.set_edns(*edns, false);
        mb.finish();
        if (edns && edns_version) out[out.size() - 5] = edns_version;  // OPT TTL: ext-rcode, VERSION, flags
        return out;
    }

    // An IXFR query carrying the client's SOA (serial `serial`) in the authority section (RFC 1995 §3).
    static std::vector<uint8_t> ixfr_query(uint32_t serial) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, 512);
        mb.header(0xBEEF, 0);
        mb.question(name("example.com."), dns::to_u16(RRType::IXFR), 1);
        std::vector<uint8_t> rdata;
        const dns::Name ns1 = name("ns1.example.com."), host = name("hostmaster.example.com.");
        rdata.insert(rdata.end(), ns1.wire().begin(), ns1.wire().end());
        rdata.insert(rdata.end(), host.wire().begin(), host.wire().end());
        for (uint32_t v : {serial, 3600u, 900u, 1209600u, 300u})
            for (int shift = 24; shift >= 0; shift -= 8) rdata.push_back(static_cast<uint8_t>(v >> shift));
        (void)mb.push(dns::Section::Authority, name("example.com."), dns::to_u16(RRType::SOA), 1, 3600,
                      rdata);
        mb.finish();
        return out;
    }

    xfr::Response ask(const std::vector<uint8_t>& q, xfr::Transport t = xfr::Transport::Udp,
                      std::string_view from = "127.0.0.1", uint64_t now = kNow) {
        return responder_->respond(q, xfr::Peer{*dns::IpAddress::parse(from), 5555, t}, now);
    }

    static constexpr uint64_t kNow = 1'800'000'000;

    // Keeps the response bytes alive next to the parsed view.
    struct Answer {
        std::vector<uint8_t> wire;
        dns::Message msg;
    };
    Answer answer(const std::vector<uint8_t>& q, xfr::Transport t = xfr::Transport::Udp) {
        auto r = ask(q, t);
        EXPECT_EQ(r.kind, xfr::Response::Kind::Message);
        Answer a{std::move(r.message), {}};
        auto m = dns::Message::parse(a.wire);
        EXPECT_TRUE(m);
        a.msg = *m;
        return a;
    }

    static std::size_t count(const dns::Message& m, dns::Section s, RRType t) {
        std::size_t c = 0;
        for (const auto& r : m.records())
            if (r.section == s && r.type == t) ++c;
        return c;
    }

    zone::ZoneStore store_;
    std::shared_ptr<const tsig::KeyStore> keys_;
    std::unique_ptr<xfr::Responder> responder_;
};

}  // namespace

TEST_F(ResponderTest, SoaAtApexIsAuthoritative) {
    auto a = answer(query("EXAMPLE.com.", RRType::SOA));
    EXPECT_EQ(a.msg.header().id, 0xBEEF);
    EXPECT_TRUE(a.msg.header().flags & dns::flag::AA);
    EXPECT_TRUE(a.msg.header().flags & dns::flag::RD);  // copied
    EXPECT_FALSE(a.msg.header().flags & dns::flag::RA);
    EXPECT_EQ(a.msg.header().rcode(), 0);
    EXPECT_EQ(a.msg.question()->qname.to_string(), "EXAMPLE.com.");
    EXPECT_EQ(count(a.msg, dns::Section::Answer, RRType::SOA), 1u);
    EXPECT_EQ(a.msg.records().size(), 1u);  // the SOA alone: no authority or additional data
    EXPECT_FALSE(a.msg.edns());             // no OPT without one in the query
    auto r = ask(query("example.com.", RRType::SOA));
    EXPECT_TRUE(r.soa_query);
    EXPECT_EQ(r.zone, "example.com.");
    EXPECT_FALSE(ask(query("www.example.com.", RRType::SOA)).soa_query);
}

TEST_F(ResponderTest, ExactMatchNodataAndNxdomain) {
    auto mx = answer(query("example.com.", RRType::MX));
    EXPECT_EQ(count(mx.msg, dns::Section::Answer, RRType::MX), 1u);

    auto nodata = answer(query("mail.example.com.", RRType::AAAA));
    EXPECT_EQ(nodata.msg.header().rcode(), 0);
    EXPECT_EQ(nodata.msg.header().ancount, 0);
    ASSERT_EQ(count(nodata.msg, dns::Section::Authority, RRType::SOA), 1u);
    EXPECT_EQ(nodata.msg.records()[0].ttl, 300u);  // RFC 2308 §3: min(SOA TTL, MINIMUM)

    auto nx = answer(query("nope.example.com.", RRType::A));
    EXPECT_EQ(nx.msg.header().rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_TRUE(nx.msg.header().flags & dns::flag::AA);
    EXPECT_EQ(count(nx.msg, dns::Section::Authority, RRType::SOA), 1u);

    // An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020).
    auto ent = answer(query("b.c.example.com.", RRType::A));
    EXPECT_EQ(ent.msg.header().rcode(), 0);
    EXPECT_EQ(count(ent.msg, dns::Section::Authority, RRType::SOA), 1u);
}

TEST_F(ResponderTest, CnameIsFollowedInsideTheZoneOnly) {
    auto www = answer(query("www.example.com.", RRType::A));
    EXPECT_EQ(count(www.msg, dns::Section::Answer, RRType::CNAME), 1u);
    EXPECT_EQ(count(www.msg, dns::Section::Answer, RRType::A), 1u);

    auto alias = answer(query("alias.example.com.", RRType::A));
    EXPECT_EQ(count(alias.msg, dns::Section::Answer, RRType::CNAME), 1u);
    EXPECT_EQ(alias.msg.header().ancount, 1);
    EXPECT_EQ(alias.msg.header().rcode(), 0);

    auto cname_itself = answer(query("www.example.com.", RRType::CNAME));
    EXPECT_EQ(cname_itself.msg.header().ancount, 1);
}

TEST_F(ResponderTest, WildcardSynthesisesTheQueriedName) {
    auto w = answer(query("anything.wild.example.com.", RRType::A));
    ASSERT_EQ(w.msg.header().ancount, 1);
    EXPECT_EQ(w.msg.records()[0].owner.to_string(), "anything.wild.example.com.");
    auto nodata = answer(query("anything.wild.example.com.", RRType::MX));
    EXPECT_EQ(nodata.msg.header().rcode(), 0);
    EXPECT_EQ(nodata.msg.header().ancount, 0);
}

TEST_F(ResponderTest, DelegationGivesAReferralWithGlue) {
    auto r = answer(query("host.sub.example.com.", RRType::A));
    EXPECT_FALSE(r.msg.header().flags & dns::flag::AA);
    EXPECT_EQ(r.msg.header().ancount, 0);
    EXPECT_EQ(count(r.msg, dns::Section::Authority, RRType::NS), 1u);
    EXPECT_EQ(count(r.msg, dns::Section::Additional, RRType::A), 1u);

    // The DS RRset belongs to the parent side of the cut (RFC 4035 §3.1.4.1).
    auto ds = answer(query("sub.example.com.", RRType::DS));
    EXPECT_TRUE(ds.msg.header().flags & dns::flag::AA);
    EXPECT_EQ(count(ds.msg, dns::Section::Answer, RRType::DS), 1u);
}

TEST_F(ResponderTest, OutsideOurZonesIsRefused) {
    auto r = answer(query("example.org.", RRType::A));
    EXPECT_EQ(r.msg.header().rcode(), static_cast<uint8_t>(Rcode::Refused));
    auto com = answer(query("com.", RRType::SOA));
    EXPECT_EQ(com.msg.header().rcode(), static_cast<uint8_t>(Rcode::Refused));
}

TEST_F(ResponderTest, EdnsIsHonoured) {
    auto r = answer(query("example.com.", RRType::SOA, 4096));
    ASSERT_TRUE(r.msg.edns());
    EXPECT_EQ(r.msg.edns()->udp_size, 1232);
    auto bad = answer(query("example.com.", RRType::SOA, 4096, 1));
    ASSERT_TRUE(bad.msg.edns());
    EXPECT_EQ(bad.msg.edns()->extended_rcode, 1);  // BADVERS = 16 (RFC 6891 §6.1.3)
}

TEST_F(ResponderTest, UdpTruncatesToTheClientBuffer) {
    auto small = answer(query("big.example.com.", RRType::TXT));
    EXPECT_TRUE(small.msg.header().flags & dns::flag::TC);
    EXPECT_LE(small.wire.size(), 512u);
    auto large = answer(query("big.example.com.", RRType::TXT, 4096));
    EXPECT_FALSE(large.msg.header().flags & dns::flag::TC);
    EXPECT_EQ(large.msg.header().ancount, 6);
    auto tcp = answer(query("big.example.com.", RRType::TXT), xfr::Transport::Tcp);
    EXPECT_FALSE(tcp.msg.header().flags & dns::flag::TC);
}

TEST_F(ResponderTest, MalformedInput) {
    const std::vector<uint8_t> garbage = {1, 2, 3};
    EXPECT_EQ(ask(garbage).kind, xfr::Response::Kind::Drop);

    auto q = query("example.com.", RRType::A);
    q.resize(q.size() - 2);  // cut into the question
    auto r = ask(q);
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    auto m = dns::Message::parse(r.message);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().rcode(), static_cast<uint8_t>(Rcode::FormErr));
    EXPECT_EQ(m->header().id, 0xBEEF);

    // A message that claims to be a response is never answered.
    auto resp = query("example.com.", RRType::A);
    resp[2] |= 0x80;
    EXPECT_EQ(ask(resp).kind, xfr::Response::Kind::Drop);
}

TEST_F(ResponderTest, OtherOpcodesAreNotImplemented) {
    auto q = query("example.com.", RRType::SOA);
    q[2] = static_cast<uint8_t>((q[2] & 0x87) | (2 << 3));  // STATUS
    auto a = answer(q);
    EXPECT_EQ(a.msg.header().rcode(), static_cast<uint8_t>(Rcode::NotImp));
    EXPECT_EQ(a.msg.header().opcode(), dns::Opcode::Status);
}

TEST_F(ResponderTest, UnsignedUpdateIsRefused) {
    // RFC 2136 is served (docs/update.md), but only to TSIG-signed requests an allow_update rule admits.
    auto q = query("example.com.", RRType::SOA);
    q[2] = static_cast<uint8_t>((q[2] & 0x87) | (5 << 3));  // UPDATE
    auto a = answer(q);
    EXPECT_EQ(a.msg.header().rcode(), static_cast<uint8_t>(Rcode::Refused));
    EXPECT_EQ(a.msg.header().opcode(), dns::Opcode::Update);
    q = query("example.org.", RRType::SOA);  // not a zone served here
    q[2] = static_cast<uint8_t>((q[2] & 0x87) | (5 << 3));
    EXPECT_EQ(answer(q).msg.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
}

TEST_F(ResponderTest, TransferRules) {
    // RFC 5936 §4.2: TCP only.
    auto udp = ask(query("example.com.", RRType::AXFR), xfr::Transport::Udp);
    ASSERT_EQ(udp.kind, xfr::Response::Kind::Message);
    EXPECT_EQ(dns::Message::parse(udp.message)->header().rcode(), static_cast<uint8_t>(Rcode::FormErr));

    auto unknown = ask(query("example.org.", RRType::AXFR), xfr::Transport::Tcp);
    ASSERT_EQ(unknown.kind, xfr::Response::Kind::Message);
    EXPECT_EQ(dns::Message::parse(unknown.message)->header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));

    // Not the apex: not a zone of ours.
    auto not_apex = ask(query("www.example.com.", RRType::AXFR), xfr::Transport::Tcp);
    EXPECT_EQ(dns::Message::parse(not_apex.message)->header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));

    auto refused = ask(query("example.com.", RRType::AXFR), xfr::Transport::Tcp, "127.0.0.2");
    ASSERT_EQ(refused.kind, xfr::Response::Kind::Message);
    EXPECT_EQ(dns::Message::parse(refused.message)->header().rcode(), static_cast<uint8_t>(Rcode::Refused));
    ASSERT_TRUE(refused.refused());
    EXPECT_NE(refused.event->detail.find("127.0.0.2"), std::string::npos);

    auto ok = ask(query("example.com.", RRType::AXFR), xfr::Transport::Tcp);
    ASSERT_EQ(ok.kind, xfr::Response::Kind::Transfer);
    EXPECT_EQ(ok.event->rule, "providers");

    // IXFR over UDP with no history: the SOA alone sends the client to TCP (RFC 1995 §2).
    auto ixfr_udp = answer(ixfr_query(2026112500));
    EXPECT_EQ(ixfr_udp.msg.header().rcode(), 0);
    ASSERT_EQ(ixfr_udp.msg.header().ancount, 1);
    EXPECT_EQ(ixfr_udp.msg.records()[0].type, RRType::SOA);
    // Over TCP the whole zone, in AXFR form (RFC 1995 §4).
    auto ixfr_tcp = ask(ixfr_query(2026112500), xfr::Transport::Tcp);
    ASSERT_EQ(ixfr_tcp.kind, xfr::Response::Kind::Transfer);
    EXPECT_FALSE(ixfr_tcp.transfer->incremental());
    EXPECT_EQ(ixfr_tcp.event->client_serial, dns::Serial(2026112500));
    EXPECT_FALSE(ixfr_tcp.up_to_date);
    // Up to date: one SOA, and the secondaries view learns what the client holds.
    auto current = ask(ixfr_query(2026112601), xfr::Transport::Tcp);
    ASSERT_EQ(current.kind, xfr::Response::Kind::Message);
    EXPECT_TRUE(current.up_to_date);
    EXPECT_EQ(current.event->zone, "example.com.");
    EXPECT_EQ(dns::Message::parse(current.message)->header().ancount, 1);
    // No SOA in the authority section: FORMERR (RFC 1995 §3).
    auto no_soa = answer(query("example.com.", RRType::IXFR));
    EXPECT_EQ(no_soa.msg.header().rcode(), static_cast<uint8_t>(Rcode::FormErr));
    auto ixfr_refused = ask(ixfr_query(1), xfr::Transport::Udp, "127.0.0.3");
    EXPECT_EQ(dns::Message::parse(ixfr_refused.message)->header().rcode(),
              static_cast<uint8_t>(Rcode::Refused));
}

TEST_F(ResponderTest, DnameSynthesisesACname) {
    // RFC 6672 §3.2: the DNAME, then a CNAME from the query name to the substituted name.
    auto out = answer(query("host.away.example.com.", RRType::A));
    EXPECT_EQ(out.msg.header().rcode(), 0);
    EXPECT_TRUE(out.msg.header().flags & dns::flag::AA);
    ASSERT_EQ(out.msg.header().ancount, 2);
    EXPECT_EQ(out.msg.records()[0].type, RRType::DNAME);
    EXPECT_EQ(out.msg.records()[1].type, RRType::CNAME);
    EXPECT_EQ(out.msg.records()[1].owner.to_string(), "host.away.example.com.");

    // Inside the zone the synthesised name is followed.
    auto in = answer(query("h.here.example.com.", RRType::A));
    ASSERT_EQ(in.msg.header().ancount, 3);
    EXPECT_EQ(in.msg.records()[2].type, RRType::A);
    auto nx = answer(query("nothing.here.example.com.", RRType::A));
    EXPECT_EQ(nx.msg.header().rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_EQ(nx.msg.header().ancount, 2);

    // The DNAME owner itself is not redirected.
    auto self = answer(query("away.example.com.", RRType::DNAME));
    EXPECT_EQ(self.msg.header().ancount, 1);
}

namespace {

// Signs `q` with `key` at `when` and returns the client state to verify the answer with.
tsig::ClientSequence sign(std::vector<uint8_t>& q, std::shared_ptr<const tsig::Key> key, uint64_t when) {
    tsig::ClientSequence c(std::move(key));
    c.sign_request(q, 0, when);
    return c;
}

}  // namespace

TEST_F(ResponderTest, SignedSoaQueryGetsASignedAnswer) {
    auto q = query("example.com.", RRType::SOA);
    auto client = sign(q, keys_->find(name("XFR-Key.")), kNow);
    auto a = answer(q);
    ASSERT_NE(a.msg.tsig(), nullptr);
    auto v = client.verify(a.wire, a.msg, kNow);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(*v, tsig::Verified::Signed);
    EXPECT_EQ(count(a.msg, dns::Section::Answer, RRType::SOA), 1u);
}

TEST_F(ResponderTest, TsigErrors) {
    // Unknown key: NOTAUTH/BADKEY, unsigned (RFC 8945 §5.2.1).
    auto q = query("example.com.", RRType::SOA);
    auto stranger = std::make_shared<const tsig::Key>(
        tsig::Key::create("stranger", "hmac-sha256", std::vector<uint8_t>(32, 1)).value());
    auto c1 = sign(q, stranger, kNow);
    auto a = answer(q);
    EXPECT_EQ(a.msg.header().rcode(), static_cast<uint8_t>(Rcode::NotAuth));
    auto v = c1.verify(a.wire, a.msg, kNow);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().peer_error, static_cast<uint16_t>(Rcode::BadKey));

    // Known name, wrong secret: NOTAUTH/BADSIG.
    auto q2 = query("example.com.", RRType::SOA);
    auto impostor = std::make_shared<const tsig::Key>(
        tsig::Key::create("xfr-key", "hmac-sha256", std::vector<uint8_t>(32, 7)).value());
    auto c2 = sign(q2, impostor, kNow);
    auto a2 = answer(q2);
    auto v2 = c2.verify(a2.wire, a2.msg, kNow);
    ASSERT_FALSE(v2);
    EXPECT_EQ(v2.error().peer_error, static_cast<uint16_t>(Rcode::BadSig));

    // Signed ten minutes ago: NOTAUTH/BADTIME, signed, with our time (§5.2.3).
    auto q3 = query("example.com.", RRType::SOA);
    auto c3 = sign(q3, keys_->find(name("xfr-key.")), kNow - 600);
    auto a3 = answer(q3);
    auto v3 = c3.verify(a3.wire, a3.msg, kNow - 600);
    ASSERT_FALSE(v3);
    EXPECT_EQ(v3.error().peer_error, static_cast<uint16_t>(Rcode::BadTime));
    EXPECT_TRUE(v3.error().authenticated);
    EXPECT_EQ(v3.error().peer_time, kNow);
}

TEST_F(ResponderTest, AclNeedsBothAddressAndKey) {
    // 127.0.0.5 is in the "keyed" rule, which also names xfr-key.
    auto unsigned_q = query("example.com.", RRType::AXFR);
    auto r = ask(unsigned_q, xfr::Transport::Tcp, "127.0.0.5");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::Refused);
    EXPECT_NE(r.event->detail.find("requires a TSIG key"), std::string::npos) << r.event->detail;

    auto wrong_key = query("example.com.", RRType::AXFR);
    sign(wrong_key, keys_->find(name("other-key.")), kNow);
    r = ask(wrong_key, xfr::Transport::Tcp, "127.0.0.5");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->key, "other-key.");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    EXPECT_NE(dns::Message::parse(r.message)->tsig(), nullptr);  // a refusal to a signed request is signed

    // The right key from an address outside the rule.
    auto elsewhere = query("example.com.", RRType::AXFR);
    sign(elsewhere, keys_->find(name("xfr-key.")), kNow);
    r = ask(elsewhere, xfr::Transport::Tcp, "127.0.0.9");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::Refused);

    // Both factors.
    auto good = query("example.com.", RRType::AXFR);
    auto client = sign(good, keys_->find(name("xfr-key.")), kNow);
    r = ask(good, xfr::Transport::Tcp, "127.0.0.5");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Transfer);
    EXPECT_EQ(r.event->rule, "keyed");
    EXPECT_EQ(r.event->key, "xfr-key.");
    EXPECT_TRUE(r.transfer->signed_transfer());
}

TEST_F(ResponderTest, EveryMessageOfASignedTransferVerifies) {
    // A zone big enough for several messages.
    std::string text =
        "$TTL 300\n@ IN SOA ns1 hostmaster 5 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    for (int i = 0; i < 2000; ++i)
        text += "h" + std::to_string(i) + " IN TXT \"" + std::string(80, 'x') + "\"\n";
    zone::ZoneStore store;
    store.add(headwater::testing::make_zone(text, "big.example."));
    std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
    acls[name("big.example.").key()] = {xfr::AclRule{"k", {}, {"xfr-key."}, {}, {}, {}, {}, {}}};
    xfr::Responder responder(store, acls, keys_);

    auto q = query("big.example.", RRType::AXFR);
    auto client = sign(q, keys_->find(name("xfr-key.")), kNow);
    auto r =
        responder.respond(q, xfr::Peer{*dns::IpAddress::parse("192.0.2.200"), 1, xfr::Transport::Tcp}, kNow);
    ASSERT_EQ(r.kind, xfr::Response::Kind::Transfer);
    std::size_t messages = 0;
    for (xfr::Step step = xfr::Step::More; step == xfr::Step::More; ++messages) {
        std::vector<uint8_t> out;
        step = r.transfer->next(out, kNow + messages);
        ASSERT_LE(out.size(), dns::kMaxTcpMessage);
        auto m = dns::Message::parse(out);
        ASSERT_TRUE(m);
        ASSERT_NE(m->tsig(), nullptr) << "message " << messages;
        auto v = client.verify(out, *m, kNow + messages);
        ASSERT_TRUE(v) << "message " << messages << ": " << v.error().message;
    }
    EXPECT_GT(messages, 2u);
    EXPECT_TRUE(client.complete());
}

TEST_F(ResponderTest, ChainsStopAtZoneCutsAndFollowDnames) {
    // A CNAME into a delegated child: not NXDOMAIN, and nothing from below the cut as an answer.
    auto sub = answer(query("into-sub.example.com.", RRType::A));
    EXPECT_EQ(sub.msg.header().rcode(), 0);
    EXPECT_EQ(sub.msg.header().ancount, 1);
    EXPECT_EQ(sub.msg.records()[0].type, RRType::CNAME);
    auto glue = answer(query("to-glue.example.com.", RRType::A));
    EXPECT_EQ(glue.msg.header().ancount, 1);  // the glue A is not authoritative data
    EXPECT_EQ(count(glue.msg, dns::Section::Answer, RRType::A), 0u);
    EXPECT_EQ(count(glue.msg, dns::Section::Authority, RRType::NS), 1u);
    EXPECT_EQ(count(glue.msg, dns::Section::Additional, RRType::A), 1u);

    // DNAME after DNAME (RFC 6672): x.d1 -> x.d2 -> x.d3.
    auto two = answer(query("x.d1.example.com.", RRType::TXT));
    EXPECT_EQ(two.msg.header().rcode(), 0);
    EXPECT_EQ(count(two.msg, dns::Section::Answer, RRType::DNAME), 2u);
    EXPECT_EQ(count(two.msg, dns::Section::Answer, RRType::TXT), 1u);
    // A CNAME whose target sits below a DNAME.
    auto via = answer(query("via-d1.example.com.", RRType::TXT));
    EXPECT_EQ(count(via.msg, dns::Section::Answer, RRType::TXT), 1u);

    // A CNAME that lands on a wildcard with no data of the type: NODATA with the SOA (RFC 2308 §2.2).
    auto nodata = answer(query("to-wild-nodata.example.com.", RRType::MX));
    EXPECT_EQ(nodata.msg.header().rcode(), 0);
    EXPECT_EQ(count(nodata.msg, dns::Section::Authority, RRType::SOA), 1u);
}

TEST_F(ResponderTest, ChainReachingAZoneCutEndsWithTheReferral) {
    // RFC 1034 §4.3.2 step 3b for a name the chain reached: the CNAME (authoritative, so AA), then the
    // referral of the cut in the authority section and its glue, as Knot and BIND answer.
    for (const char* qname : {"cname-ns.example.com.", "into-sub.example.com."}) {
        SCOPED_TRACE(qname);
        auto a = answer(query(qname, RRType::A));
        EXPECT_EQ(a.msg.header().rcode(), 0);
        EXPECT_TRUE(a.msg.header().flags & dns::flag::AA);
        EXPECT_EQ(a.msg.header().ancount, 1);
        EXPECT_EQ(count(a.msg, dns::Section::Answer, RRType::CNAME), 1u);
        ASSERT_EQ(count(a.msg, dns::Section::Authority, RRType::NS), 1u);
        EXPECT_EQ(a.msg.header().nscount, 1);  // no DS without DO
        EXPECT_EQ(count(a.msg, dns::Section::Additional, RRType::A), 1u);
        for (const auto& rec : a.msg.records()) {
            if (rec.section == dns::Section::Authority) {
                EXPECT_EQ(rec.owner.to_string(), "sub.example.com.");
            }
        }
    }

    // A DS query whose chain reaches the cut: DS is parent-side data, answered from this zone.
    auto ds = answer(query("cname-ns.example.com.", RRType::DS));
    EXPECT_TRUE(ds.msg.header().flags & dns::flag::AA);
    EXPECT_EQ(count(ds.msg, dns::Section::Answer, RRType::CNAME), 1u);
    EXPECT_EQ(count(ds.msg, dns::Section::Answer, RRType::DS), 1u);
    EXPECT_EQ(ds.msg.header().nscount, 0);

    // A DNAME whose substituted name lies below the cut: DNAME, synthesised CNAME, then the referral.
    auto dname = answer(query("host.dname-sub.example.com.", RRType::A));
    EXPECT_TRUE(dname.msg.header().flags & dns::flag::AA);
    EXPECT_EQ(count(dname.msg, dns::Section::Answer, RRType::DNAME), 1u);
    EXPECT_EQ(count(dname.msg, dns::Section::Answer, RRType::CNAME), 1u);
    EXPECT_EQ(count(dname.msg, dns::Section::Authority, RRType::NS), 1u);
    EXPECT_EQ(count(dname.msg, dns::Section::Additional, RRType::A), 1u);

    // The CNAME itself asked for: no referral (the chain is not followed).
    auto self = answer(query("cname-ns.example.com.", RRType::CNAME));
    EXPECT_EQ(self.msg.header().ancount, 1);
    EXPECT_EQ(self.msg.header().nscount, 0);
}

// ---- DNSSEC answers (RFC 4035 §3.1, RFC 5155 §7.2) ----------------------------------------------------
// tests/data/dnssec/{nsec,nsec3}.zone: the same zone with an NSEC chain and with an Opt-Out NSEC3 chain
// (salt aabbccdd, 2 iterations) in which the unsigned delegation usub has no NSEC3; placeholder RRSIGs.
namespace {

std::string read_data(const std::string& file) {
    std::ifstream f(std::string(HEADWATER_TEST_DATA) + "/dnssec/" + file);
    EXPECT_TRUE(f) << file;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// NSEC3 owners of tests/data/dnssec/nsec3.zone (dnspython's nsec3_hash, salt aabbccdd, 2 iterations).
constexpr const char* kApexHash = "rd273ciq2d7fkf7s7hvgfs4irs5vinlu.example.com.";      // matches example.com
constexpr const char* kWwwHash = "fk29vpd51h1rdbq98pnku1mt44hge6cu.example.com.";       // matches www
constexpr const char* kBcHash = "kvnig01c5c29qophjpg46f1julhom4vn.example.com.";        // matches b.c (ENT)
constexpr const char* kCHash = "hluvggdg1j1k1b7f56mdgucfi592t1qj.example.com.";         // matches c (ENT)
constexpr const char* kWildHash = "14vtk8h0rfqcpkvfov5ghtcggccd7e0f.example.com.";      // matches wild (ENT)
constexpr const char* kStarWildHash = "qutmad2ctrsc8nr21tughd9d5i34hu79.example.com.";  // matches *.wild
constexpr const char* kLastHash = "so9gdjbiddo6hbv11oa3uio61qao1s6c.example.com.";      // covers nope, *.c
constexpr const char* kCoversStarHash =
    "5jr540crhc8vtljv10h8tts005gi691s.example.com.";  // covers *.example.com
constexpr const char* kCoversXWildHash =
    "7hj2u1pudk6vltnqbtqm6ieacsju22md.example.com.";  // covers x.wild, x.c
constexpr const char* kCoversUsubHash = "6kimj70hj745sr9ljtffipm06s37qu8j.example.com.";    // covers usub
constexpr const char* kCoversZzBcHash = "14vtk8h0rfqcpkvfov5ghtcggccd7e0f.example.com.";    // covers zz.b.c
constexpr const char* kCoversStarBcHash = "18qc97f8d042fetsfuo2363ko7mo212q.example.com.";  // covers *.b.c

class DnssecAnswerTest : public ::testing::Test {
  protected:
    DnssecAnswerTest() {
        nsec_store_.add(headwater::testing::make_zone(read_data("nsec.zone"), "example.com."));
        nsec3_store_.add(headwater::testing::make_zone(read_data("nsec3.zone"), "example.com."));
        nsec_ = std::make_unique<xfr::Responder>(
            nsec_store_, std::unordered_map<std::string, std::vector<xfr::AclRule>>{}, nullptr);
        nsec3_ = std::make_unique<xfr::Responder>(
            nsec3_store_, std::unordered_map<std::string, std::vector<xfr::AclRule>>{}, nullptr);
    }

    static std::vector<uint8_t> query(std::string_view qname, RRType type, bool dnssec_ok = true,
                                      uint16_t payload = 4096) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, 512);
        mb.header(0x1234, 0);
        mb.question(name(qname), dns::to_u16(type), 1);
        mb.set_edns(payload, dnssec_ok);
        mb.finish();
        return out;
    }

    struct Answer {
        std::vector<uint8_t> wire;
        dns::Message msg;
        bool soa_query = false;
        // One line per record of a section, sorted: "owner TYPE", RRSIGs as "owner RRSIG/COVERED".
        std::vector<std::string> section(dns::Section s) const {
            std::vector<std::string> out;
            for (const auto& r : msg.records()) {
                if (r.section != s || r.type == RRType::OPT) continue;
                std::string line = r.owner.to_string() + " " + dns::to_string(r.type);
                if (r.type == RRType::RRSIG)
                    line += "/" + dns::to_string(static_cast<RRType>((r.rdata[0] << 8) | r.rdata[1]));
                for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                out.push_back(line);
            }
            std::sort(out.begin(), out.end());
            return out;
        }
        uint8_t rcode() const { return msg.header().rcode(); }
        bool aa() const { return (msg.header().flags & dns::flag::AA) != 0; }
        bool tc() const { return (msg.header().flags & dns::flag::TC) != 0; }
    };

    static Answer ask(const xfr::Responder& responder, const std::vector<uint8_t>& q,
                      xfr::Transport t = xfr::Transport::Udp) {
        auto r = responder.respond(q, xfr::Peer{*dns::IpAddress::parse("127.0.0.1"), 5555, t}, 0);
        EXPECT_EQ(r.kind, xfr::Response::Kind::Message);
        Answer a{std::move(r.message), {}, r.soa_query};
        auto m = dns::Message::parse(a.wire);
        EXPECT_TRUE(m);
        if (m) a.msg = *m;
        return a;
    }
    Answer nsec(std::string_view qname, RRType type, bool dnssec_ok = true) {
        return ask(*nsec_, query(qname, type, dnssec_ok));
    }
    Answer nsec3(std::string_view qname, RRType type, bool dnssec_ok = true) {
        return ask(*nsec3_, query(qname, type, dnssec_ok));
    }

    using Lines = std::vector<std::string>;
    static Lines sorted(Lines l) {
        std::sort(l.begin(), l.end());
        return l;
    }
    // An RRset line and its RRSIG line.
    static Lines signed_set(const std::string& owner, const std::string& type) {
        return sorted({owner + " " + type, owner + " rrsig/" + type});
    }
    static Lines join(std::initializer_list<Lines> parts) {
        Lines out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return sorted(out);
    }
    static Lines soa() { return signed_set("example.com.", "soa"); }

    zone::ZoneStore nsec_store_, nsec3_store_;
    std::unique_ptr<xfr::Responder> nsec_, nsec3_;
};

using dns::Section;

}  // namespace

TEST_F(DnssecAnswerTest, PositiveAnswersCarryTheirRrsigs) {
    for (auto* responder : {nsec_.get(), nsec3_.get()}) {
        auto a = ask(*responder, query("www.example.com.", RRType::A));
        EXPECT_TRUE(a.aa());
        EXPECT_EQ(a.section(Section::Answer), signed_set("www.example.com.", "a"));
        EXPECT_TRUE(a.section(Section::Authority).empty());
        ASSERT_TRUE(a.msg.edns());
        EXPECT_TRUE(a.msg.edns()->dnssec_ok);  // RFC 3225 §3: DO copied
    }
}

TEST_F(DnssecAnswerTest, WithoutDoNothingIsAdded) {
    auto a = nsec("www.example.com.", RRType::A, false);
    EXPECT_EQ(a.section(Section::Answer), Lines{"www.example.com. a"});
    auto nx = nsec("nope.example.com.", RRType::A, false);
    EXPECT_EQ(nx.rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_EQ(nx.section(Section::Authority), Lines{"example.com. soa"});
    auto ref = nsec3("host.usub.example.com.", RRType::A, false);
    EXPECT_EQ(ref.section(Section::Authority), Lines{"usub.example.com. ns"});
    auto soa = nsec("example.com.", RRType::SOA, false);
    EXPECT_EQ(soa.section(Section::Answer), Lines{"example.com. soa"});
    EXPECT_TRUE(soa.soa_query);
}

TEST_F(DnssecAnswerTest, UnsignedZoneAnswersAsBeforeWithDo) {
    // The same zone without DNSKEY is not signed: its RRSIGs and NSECs are data, not proofs.
    std::string text = read_data("nsec.zone");
    const auto key = text.find("DNSKEY 257");
    ASSERT_NE(key, std::string::npos);
    text.replace(key, 6, "TXT \"");
    text.insert(text.find('\n', key), "\"");
    zone::ZoneStore store;
    store.add(headwater::testing::make_zone(text, "example.com."));
    xfr::Responder responder(store, {}, nullptr);
    auto a = ask(responder, query("www.example.com.", RRType::A));
    EXPECT_EQ(a.section(Section::Answer), Lines{"www.example.com. a"});
    auto nx = ask(responder, query("nope.example.com.", RRType::A));
    EXPECT_EQ(nx.section(Section::Authority), Lines{"example.com. soa"});
}

TEST_F(DnssecAnswerTest, ApexSoaWithDoIsSigned) {
    auto a = nsec("example.com.", RRType::SOA);
    EXPECT_TRUE(a.soa_query);
    EXPECT_EQ(a.section(Section::Answer), soa());
}

TEST_F(DnssecAnswerTest, NsecNameError) {
    // RFC 4035 §3.1.3.2: the NSEC covering nope (dn -> ns1) and the one covering *.example.com (the apex's).
    auto a = nsec("nope.example.com.", RRType::A);
    EXPECT_EQ(a.rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_TRUE(a.aa());
    EXPECT_TRUE(a.section(Section::Answer).empty());
    EXPECT_EQ(a.section(Section::Authority),
              join({soa(), signed_set("dn.example.com.", "nsec"), signed_set("example.com.", "nsec")}));
    // The SOA's RRSIG gets the SOA's negative TTL (as Knot sends it).
    for (const auto& r : a.msg.records()) {
        if (r.type == RRType::SOA || (r.type == RRType::RRSIG && r.rdata[1] == 6)) {
            EXPECT_EQ(r.ttl, 300u);
        }
    }
}

TEST_F(DnssecAnswerTest, NsecNoDataAndEmptyNonTerminal) {
    auto a = nsec("www.example.com.", RRType::MX);
    EXPECT_EQ(a.rcode(), 0);
    EXPECT_EQ(a.section(Section::Authority), join({soa(), signed_set("www.example.com.", "nsec")}));
    // b.c exists only as the parent of a.b.c: the apex NSEC (next name a.b.c) covers it.
    auto ent = nsec("b.c.example.com.", RRType::TXT);
    EXPECT_EQ(ent.rcode(), 0);
    EXPECT_EQ(ent.section(Section::Authority), join({soa(), signed_set("example.com.", "nsec")}));
}

TEST_F(DnssecAnswerTest, NsecWildcardAnswerAndNoData) {
    // RFC 4035 §3.1.3.3: the expanded RRSIG as stored (labels 3), and the NSEC proving x.wild is absent.
    auto a = nsec("x.wild.example.com.", RRType::A);
    EXPECT_EQ(a.section(Section::Answer), signed_set("x.wild.example.com.", "a"));
    for (const auto& r : a.msg.records()) {
        if (r.type == RRType::RRSIG && r.section == Section::Answer) {
            EXPECT_EQ(r.rdata[3], 3);  // labels of *.wild.example.com., the wildcard not counted
        }
    }
    EXPECT_EQ(a.section(Section::Authority), signed_set("*.wild.example.com.", "nsec"));
    // §3.1.3.4: x.wild is covered by, and the wildcard matched by, the same NSEC.
    auto nodata = nsec("x.wild.example.com.", RRType::MX);
    EXPECT_EQ(nodata.rcode(), 0);
    EXPECT_TRUE(nodata.section(Section::Answer).empty());
    EXPECT_EQ(nodata.section(Section::Authority), join({soa(), signed_set("*.wild.example.com.", "nsec")}));
    // ANY at a wildcard: the wildcard's NSEC is not synthesised for the query name.
    auto any = nsec("x.wild.example.com.", RRType::ANY);
    EXPECT_EQ(any.section(Section::Answer), signed_set("x.wild.example.com.", "a"));
}

TEST_F(DnssecAnswerTest, NsecReferrals) {
    // A signed delegation: NS, DS and its RRSIG; no AA (RFC 4035 §3.1.4).
    auto sub = nsec("host.sub.example.com.", RRType::A);
    EXPECT_FALSE(sub.aa());
    EXPECT_EQ(sub.section(Section::Authority),
              join({{"sub.example.com. ns"}, signed_set("sub.example.com.", "ds")}));
    EXPECT_EQ(sub.section(Section::Additional), Lines{"ns.sub.example.com. a"});
    // An unsigned one: the cut's NSEC (NS, no DS) proves there is no DS.
    auto usub = nsec("host.usub.example.com.", RRType::A);
    EXPECT_EQ(usub.section(Section::Authority),
              join({{"usub.example.com. ns"}, signed_set("usub.example.com.", "nsec")}));
    EXPECT_EQ(usub.section(Section::Additional), Lines{"ns.usub.example.com. a"});
    // The DS query at the unsigned cut: NODATA from the parent side.
    auto ds = nsec("usub.example.com.", RRType::DS);
    EXPECT_TRUE(ds.aa());
    EXPECT_EQ(ds.section(Section::Authority), join({soa(), signed_set("usub.example.com.", "nsec")}));
    auto signed_ds = nsec("sub.example.com.", RRType::DS);
    EXPECT_EQ(signed_ds.section(Section::Answer), signed_set("sub.example.com.", "ds"));
}

TEST_F(DnssecAnswerTest, ChainsAreSignedStepByStep) {
    auto a = nsec("chain.example.com.", RRType::A);
    EXPECT_EQ(a.section(Section::Answer),
              join({signed_set("chain.example.com.", "cname"), signed_set("cname.example.com.", "cname"),
                    signed_set("www.example.com.", "a")}));
    // A CNAME to an unsigned delegation: the signed CNAME (AA), then the referral with its NSEC.
    auto ref = nsec("cname-usub.example.com.", RRType::A);
    EXPECT_TRUE(ref.aa());
    EXPECT_EQ(ref.section(Section::Answer), signed_set("cname-usub.example.com.", "cname"));
    EXPECT_EQ(ref.section(Section::Authority),
              join({{"usub.example.com. ns"}, signed_set("usub.example.com.", "nsec")}));
    // A CNAME to a signed delegation: DS and its RRSIG in the referral.
    auto sref = nsec3("cname-ns.example.com.", RRType::A);
    EXPECT_EQ(sref.section(Section::Authority),
              join({{"sub.example.com. ns"}, signed_set("sub.example.com.", "ds")}));
    // A CNAME to a name that does not exist: the proof is for the target (RFC 6604 §3).
    auto nx = nsec("cnx.example.com.", RRType::A);
    EXPECT_EQ(nx.rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_EQ(nx.section(Section::Answer), signed_set("cnx.example.com.", "cname"));
    EXPECT_EQ(nx.section(Section::Authority),
              join({soa(), signed_set("dn.example.com.", "nsec"), signed_set("example.com.", "nsec")}));
    // A CNAME to a wildcard: the proof that x.wild does not exist goes with the expansion.
    auto cw = nsec("cw.example.com.", RRType::A);
    EXPECT_EQ(cw.section(Section::Answer),
              join({signed_set("cw.example.com.", "cname"), signed_set("x.wild.example.com.", "a")}));
    EXPECT_EQ(cw.section(Section::Authority), signed_set("*.wild.example.com.", "nsec"));
    // DNAME: the DNAME is signed, the synthesised CNAME is not (RFC 6672 §5.3.1).
    auto dn = nsec("x.dn.example.com.", RRType::A);
    EXPECT_EQ(dn.section(Section::Answer), join({signed_set("dn.example.com.", "dname"),
                                                 {"x.dn.example.com. cname"},
                                                 signed_set("x.d.example.com.", "a")}));
}

TEST_F(DnssecAnswerTest, ExplicitDnssecTypes) {
    auto nsec_rr = nsec("www.example.com.", RRType::NSEC);
    EXPECT_EQ(nsec_rr.section(Section::Answer), signed_set("www.example.com.", "nsec"));
    auto sigs = nsec("www.example.com.", RRType::RRSIG);
    EXPECT_EQ(sigs.section(Section::Answer), sorted({"www.example.com. rrsig/a", "www.example.com. rrsig/txt",
                                                     "www.example.com. rrsig/nsec"}));
    auto key = nsec3("example.com.", RRType::DNSKEY);
    EXPECT_EQ(key.section(Section::Answer), signed_set("example.com.", "dnskey"));
}

TEST_F(DnssecAnswerTest, Nsec3NameError) {
    // RFC 5155 §7.2.2: the closest encloser (the apex) matched, nope.example.com covered, *.example.com
    // covered.
    auto a = nsec3("nope.example.com.", RRType::A);
    EXPECT_EQ(a.rcode(), static_cast<uint8_t>(Rcode::NXDomain));
    EXPECT_EQ(a.section(Section::Authority),
              join({soa(), signed_set(kApexHash, "nsec3"), signed_set(kLastHash, "nsec3"),
                    signed_set(kCoversStarHash, "nsec3")}));
    // Below an empty non-terminal: b.c is the closest encloser.
    auto deep = nsec3("zz.b.c.example.com.", RRType::A);
    EXPECT_EQ(deep.section(Section::Authority),
              join({soa(), signed_set(kBcHash, "nsec3"), signed_set(kCoversZzBcHash, "nsec3"),
                    signed_set(kCoversStarBcHash, "nsec3")}));
    // *.c hashes after the last NSEC3 owner: the last NSEC3 covers it (the chain wraps).
    auto wrap = nsec3("x.c.example.com.", RRType::A);
    EXPECT_EQ(wrap.section(Section::Authority),
              join({soa(), signed_set(kCHash, "nsec3"), signed_set(kCoversXWildHash, "nsec3"),
                    signed_set(kLastHash, "nsec3")}));
}

TEST_F(DnssecAnswerTest, Nsec3NoData) {
    auto a = nsec3("www.example.com.", RRType::MX);
    EXPECT_EQ(a.section(Section::Authority), join({soa(), signed_set(kWwwHash, "nsec3")}));
    auto ent = nsec3("b.c.example.com.", RRType::TXT);
    EXPECT_EQ(ent.section(Section::Authority), join({soa(), signed_set(kBcHash, "nsec3")}));
}

TEST_F(DnssecAnswerTest, Nsec3Wildcards) {
    // RFC 5155 §7.2.6: the next closer name (x.wild) covered.
    auto a = nsec3("x.wild.example.com.", RRType::A);
    EXPECT_EQ(a.section(Section::Answer), signed_set("x.wild.example.com.", "a"));
    EXPECT_EQ(a.section(Section::Authority), signed_set(kCoversXWildHash, "nsec3"));
    // §7.2.5: closest encloser matched, next closer covered, wildcard matched.
    auto nodata = nsec3("x.wild.example.com.", RRType::MX);
    EXPECT_EQ(nodata.section(Section::Authority),
              join({soa(), signed_set(kWildHash, "nsec3"), signed_set(kCoversXWildHash, "nsec3"),
                    signed_set(kStarWildHash, "nsec3")}));
}

TEST_F(DnssecAnswerTest, Nsec3Referrals) {
    auto sub = nsec3("host.sub.example.com.", RRType::A);
    EXPECT_EQ(sub.section(Section::Authority),
              join({{"sub.example.com. ns"}, signed_set("sub.example.com.", "ds")}));
    // RFC 5155 §7.2.7 with Opt-Out: usub has no NSEC3, so the closest provable encloser (the apex) and the
    // Opt-Out NSEC3 covering usub.
    auto usub = nsec3("host.usub.example.com.", RRType::A);
    EXPECT_FALSE(usub.aa());
    EXPECT_EQ(usub.section(Section::Authority), join({{"usub.example.com. ns"},
                                                      signed_set(kApexHash, "nsec3"),
                                                      signed_set(kCoversUsubHash, "nsec3")}));
    EXPECT_EQ(usub.section(Section::Additional), Lines{"ns.usub.example.com. a"});
    // §7.2.4: the DS query at that cut.
    auto ds = nsec3("usub.example.com.", RRType::DS);
    EXPECT_EQ(ds.section(Section::Authority),
              join({soa(), signed_set(kApexHash, "nsec3"), signed_set(kCoversUsubHash, "nsec3")}));
    // §7.2.3 at a signed cut: DS present, answered.
    auto sub_ds = nsec3("sub.example.com.", RRType::DS);
    EXPECT_EQ(sub_ds.section(Section::Answer), signed_set("sub.example.com.", "ds"));
}

TEST_F(DnssecAnswerTest, RrsigsThatDoNotFitSetTc) {
    // RFC 4035 §3.1.1: an answer whose RRSIG does not fit is truncated, never sent without it.
    std::string text = read_data("nsec.zone");
    text += "big.example.com. 3600 IN A 192.0.2.1\n";
    text += "big.example.com. 3600 IN RRSIG A 13 3 3600 20300101000000 20200101000000 12345 example.com. " +
            std::string(800, 'A') + "\n";
    zone::ZoneStore store;
    store.add(headwater::testing::make_zone(text, "example.com."));
    xfr::Responder responder(store, {}, nullptr);
    auto small = ask(responder, query("big.example.com.", RRType::A, true, 512));
    EXPECT_TRUE(small.tc());
    EXPECT_LE(small.wire.size(), 512u);
    auto no_do = ask(responder, query("big.example.com.", RRType::A, false, 512));
    EXPECT_FALSE(no_do.tc());
    EXPECT_EQ(no_do.section(Section::Answer), Lines{"big.example.com. a"});
    auto tcp = ask(responder, query("big.example.com.", RRType::A, true, 512), xfr::Transport::Tcp);
    EXPECT_FALSE(tcp.tc());
    EXPECT_EQ(tcp.section(Section::Answer), signed_set("big.example.com.", "a"));
}

namespace {

// A signed UPDATE adding `<label>.example.com. 300 IN A 192.0.2.9`.
std::vector<uint8_t> update_adding(std::string_view label) {
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, 512);
    mb.header(0x1234, 0);
    mb.question(name("example.com."), dns::to_u16(RRType::SOA), 1);
    const std::vector<uint8_t> address{192, 0, 2, 9};
    EXPECT_EQ(mb.push(dns::Section::Authority, name(std::string(label) + ".example.com."),
                      dns::to_u16(RRType::A), 1, 300, address),
              dns::Pushed::Ok);
    mb.finish();
    out[2] = static_cast<uint8_t>((out[2] & 0x87) | (5 << 3));  // opcode UPDATE
    return out;
}

}  // namespace

// An update on a zone with a journal, asked with may_defer: the answer is made once the journal entry is
// durable (DeferredAnswer), and only then is the version served, the log told and the answer signed.
TEST(ResponderDeferredUpdate, TheAnswerWaitsForTheJournalSync) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hw-deferred-update-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "example.com.zone")
        << "$TTL 300\n@ IN SOA ns1 hostmaster 10 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
    const auto now = zone::Clock::time_point(std::chrono::seconds(1'800'000'000));
    auto z = std::make_shared<zone::Zone>(
        zone::ZoneSettings(name("example.com."), dir / "example.com.zone", dir / "state"));
    ASSERT_NE(z->open(now).outcome, zone::ReloadOutcome::Error);
    zone::ZoneStore store;
    ASSERT_TRUE(store.add(z));
    auto keys = std::make_shared<tsig::KeyStore>();
    ASSERT_TRUE(
        keys->add(tsig::Key::create("update-key", "hmac-sha256", std::vector<uint8_t>(32, 0x42)).value()));
    xfr::ResponderOptions options;
    options.update_acls[name("example.com.").key()] = {
        xfr::AclRule{"automation", {}, {"update-key."}, {}, {}, {}, {}, {}}};
    std::vector<xfr::UpdateEvent> logged;
    int notified = 0;
    options.on_update = [&](const xfr::UpdateEvent& e) { logged.push_back(e); };
    options.on_zone_changed = [&](const zone::Zone&) { ++notified; };
    const xfr::Responder responder(store, {}, keys, options);
    const xfr::Peer peer{*dns::IpAddress::parse("127.0.0.1"), 5555, xfr::Transport::Tcp};
    const uint64_t when = 1'800'000'000;

    auto q = update_adding("one");
    auto client = sign(q, keys->find(name("update-key.")), when);
    auto r = responder.respond(q, peer, when, {}, true);
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    ASSERT_NE(r.deferred, nullptr) << "an update between snapshots waits for its sync";
    EXPECT_TRUE(r.message.empty());
    EXPECT_TRUE(logged.empty());
    EXPECT_EQ(notified, 0);
    EXPECT_EQ(z->current()->serial().value(), 10u) << "served before it is durable";

    // A second update meanwhile builds on the first (not served yet either).
    auto q2 = update_adding("two");
    auto client2 = sign(q2, keys->find(name("update-key.")), when);
    auto r2 = responder.respond(q2, peer, when, {}, true);
    ASSERT_NE(r2.deferred, nullptr);

    // Answered in the other order: the newer one served first, the older one does not replace it.
    auto synced2 = r2.deferred->sync_unless_running();
    ASSERT_TRUE(synced2);
    EXPECT_TRUE(*synced2);  // no other sync running: this thread ran it
    const auto wire2 = r2.deferred->finish({});
    EXPECT_EQ(z->current()->serial().value(), 12u);
    ASSERT_TRUE(r.deferred->sync());
    const auto wire = r.deferred->finish({});
    EXPECT_EQ(z->current()->serial().value(), 12u);

    for (const auto* w : {&wire, &wire2}) {
        auto m = dns::Message::parse(*w);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->header().rcode(), static_cast<uint8_t>(Rcode::NoError));
        EXPECT_EQ(m->header().opcode(), dns::Opcode::Update);
    }
    auto m = dns::Message::parse(wire);
    EXPECT_TRUE(client.verify(wire, *m, when)) << "the answer is signed once, when it is made";
    auto m2 = dns::Message::parse(wire2);
    EXPECT_TRUE(client2.verify(wire2, *m2, when));
    ASSERT_EQ(logged.size(), 2u);
    EXPECT_TRUE(logged[0].changed && logged[1].changed);
    EXPECT_EQ(notified, 2);

    // A failed sync: SERVFAIL, and the log says why.
    auto q3 = update_adding("three");
    (void)sign(q3, keys->find(name("update-key.")), when);
    auto r3 = responder.respond(q3, peer, when, {}, true);
    ASSERT_NE(r3.deferred, nullptr);
    const auto failed = r3.deferred->finish(unexpected(std::string("fdatasync: input/output error")));
    auto m3 = dns::Message::parse(failed);
    ASSERT_TRUE(m3);
    EXPECT_EQ(m3->header().rcode(), static_cast<uint8_t>(Rcode::ServFail));
    ASSERT_EQ(logged.size(), 3u);
    EXPECT_FALSE(logged[2].changed);
    EXPECT_NE(logged[2].reason.find("input/output error"), std::string::npos) << logged[2].reason;
    EXPECT_EQ(z->current()->serial().value(), 12u);

    // Without may_defer the answer is complete at once (UDP).
    auto q4 = update_adding("four");
    (void)sign(q4, keys->find(name("update-key.")), when);
    auto r4 = responder.respond(q4, xfr::Peer{*dns::IpAddress::parse("127.0.0.1"), 5555, xfr::Transport::Udp},
                                when);
    EXPECT_EQ(r4.deferred, nullptr);
    auto m4 = dns::Message::parse(r4.message);
    ASSERT_TRUE(m4);
    EXPECT_EQ(m4->header().rcode(), static_cast<uint8_t>(Rcode::NoError));
    EXPECT_EQ(z->current()->serial().value(), 13u);
    std::filesystem::remove_all(dir);
}
