// The transfer limit (server.max_transfers) as the Responder applies it: asked only after the ACL and
// TSIG let a request through, answered SERVFAIL (signed when the request was) with a reason when full.
#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "tsig/ClientSequence.h"
#include "xfr/Responder.h"
#include "zone/dns/MessageBuilder.h"

using namespace headwater;
using dns::Rcode;
using dns::RRType;
using headwater::testing::name;

namespace {

constexpr uint64_t kNow = 1'800'000'000;

constexpr std::string_view kZone = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2026112601 3600 900 1209600 300
        IN NS   ns1
ns1     IN A    192.0.2.53
)";

class TransferAdmissionTest : public ::testing::Test {
  protected:
    TransferAdmissionTest() {
        store_.add(headwater::testing::make_zone(kZone, "example.com."));
        std::unordered_map<std::string, std::vector<xfr::AclRule>> acls;
        acls[name("example.com.").key()] = {
            xfr::AclRule{
                "providers", {dns::IpNetwork::parse("127.0.0.1/32").value()}, {}, {}, {}, {}, {}, {}},
            xfr::AclRule{
                "keyed", {dns::IpNetwork::parse("127.0.0.5/32").value()}, {"xfr-key."}, {}, {}, {}, {}, {}}};
        auto keys = std::make_shared<tsig::KeyStore>();
        EXPECT_TRUE(
            keys->add(tsig::Key::create("xfr-key", "hmac-sha256", std::vector<uint8_t>(32, 0x42)).value()));
        keys_ = keys;
        responder_ = std::make_unique<xfr::Responder>(store_, std::move(acls), keys_);
        // Counts the questions and answers as told: a stand-in for the listeners' slot accounting.
        admit_ = [this](const xfr::Peer& peer) {
            ++asked_;
            last_peer_ = peer.address.to_string();
            return verdict_;
        };
    }

    static std::vector<uint8_t> query(RRType type, std::optional<uint32_t> ixfr_serial = std::nullopt) {
        std::vector<uint8_t> out;
        dns::MessageBuilder mb(out, 512);
        mb.header(0x1234, 0);
        mb.question(name("example.com."), dns::to_u16(type), 1);
        if (ixfr_serial) {
            std::vector<uint8_t> rdata;
            const dns::Name ns1 = name("ns1.example.com."), host = name("hostmaster.example.com.");
            rdata.insert(rdata.end(), ns1.wire().begin(), ns1.wire().end());
            rdata.insert(rdata.end(), host.wire().begin(), host.wire().end());
            for (uint32_t v : {*ixfr_serial, 3600u, 900u, 1209600u, 300u})
                for (int shift = 24; shift >= 0; shift -= 8)
                    rdata.push_back(static_cast<uint8_t>(v >> shift));
            (void)mb.push(dns::Section::Authority, name("example.com."), dns::to_u16(RRType::SOA), 1, 3600,
                          rdata);
        }
        mb.finish();
        return out;
    }

    xfr::Response ask(const std::vector<uint8_t>& q, std::string_view from,
                      xfr::Transport t = xfr::Transport::Tcp) {
        return responder_->respond(q, xfr::Peer{*dns::IpAddress::parse(from), 4321, t}, kNow, admit_);
    }

    zone::ZoneStore store_;
    std::shared_ptr<const tsig::KeyStore> keys_;
    std::unique_ptr<xfr::Responder> responder_;
    xfr::TransferAdmission admit_;
    std::string verdict_;  // what admit_ answers: empty admits
    int asked_ = 0;
    std::string last_peer_;
};

TEST_F(TransferAdmissionTest, AnAllowedPeerIsAskedForOnceAndGetsTheStream) {
    auto r = ask(query(RRType::AXFR), "127.0.0.1");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Transfer);
    EXPECT_EQ(asked_, 1);
    EXPECT_EQ(last_peer_, "127.0.0.1");
    EXPECT_FALSE(r.refused());
}

TEST_F(TransferAdmissionTest, OverTheLimitIsServfailWithTheReason) {
    verdict_ = "transfer limit reached (2 running, max_transfers = 2)";
    auto r = ask(query(RRType::AXFR), "127.0.0.1");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    EXPECT_EQ(r.transfer, nullptr);
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::ServFail);
    EXPECT_EQ(r.event->detail, verdict_);
    EXPECT_EQ(r.event->zone, "example.com.");
    EXPECT_EQ(r.event->type, RRType::AXFR);
    auto m = dns::Message::parse(r.message);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().rcode(), static_cast<uint8_t>(Rcode::ServFail));
    EXPECT_EQ(m->header().id, 0x1234);
    ASSERT_TRUE(m->question());  // the question is echoed so the client can match the answer
    EXPECT_EQ(m->question()->qtype, RRType::AXFR);
}

TEST_F(TransferAdmissionTest, RefusedPeersNeverTakeASlot) {
    verdict_ = "must not be asked";
    // Outside every ACL rule.
    auto r = ask(query(RRType::AXFR), "127.0.0.9");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::Refused);
    // In the keyed rule but unsigned.
    r = ask(query(RRType::AXFR), "127.0.0.5");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::Refused);
    // A bad MAC.
    auto q = query(RRType::AXFR);
    auto impostor = std::make_shared<const tsig::Key>(
        tsig::Key::create("xfr-key", "hmac-sha256", std::vector<uint8_t>(32, 7)).value());
    tsig::ClientSequence(impostor).sign_request(q, 0, kNow);
    r = ask(q, "127.0.0.5");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::NotAuth);
    // Not our zone, and AXFR over UDP.
    std::vector<uint8_t> other;
    dns::MessageBuilder mb(other, 512);
    mb.header(1, 0);
    mb.question(name("example.org."), dns::to_u16(RRType::AXFR), 1);
    mb.finish();
    r = ask(other, "127.0.0.1");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::NotAuth);
    r = ask(query(RRType::AXFR), "127.0.0.1", xfr::Transport::Udp);
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::FormErr);
    EXPECT_EQ(asked_, 0);
}

TEST_F(TransferAdmissionTest, AnswersThatAreNoStreamNeedNoSlot) {
    verdict_ = "full";
    // Up to date: one SOA, not a transfer (RFC 1995 §2).
    auto r = ask(query(RRType::IXFR, 2026112601), "127.0.0.1");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    EXPECT_TRUE(r.up_to_date);
    EXPECT_FALSE(r.refused());
    // IXFR over UDP from an unknown serial: the SOA alone, so the client retries over TCP.
    r = ask(query(RRType::IXFR, 2026112500), "127.0.0.1", xfr::Transport::Udp);
    ASSERT_EQ(r.kind, xfr::Response::Kind::Message);
    EXPECT_FALSE(r.refused());
    EXPECT_EQ(asked_, 0);
    // The same IXFR over TCP is a stream (AXFR form here: no history) and so is asked for.
    r = ask(query(RRType::IXFR, 2026112500), "127.0.0.1");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->rcode, Rcode::ServFail);
    EXPECT_EQ(r.event->type, RRType::IXFR);
    EXPECT_EQ(asked_, 1);
}

TEST_F(TransferAdmissionTest, TheServfailToASignedRequestIsSigned) {
    verdict_ = "full";
    auto q = query(RRType::AXFR);
    tsig::ClientSequence client(keys_->find(name("xfr-key.")));
    client.sign_request(q, 0, kNow);
    auto r = ask(q, "127.0.0.5");
    ASSERT_TRUE(r.refused());
    EXPECT_EQ(r.event->key, "xfr-key.");
    EXPECT_EQ(asked_, 1);
    auto m = dns::Message::parse(r.message);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header().rcode(), static_cast<uint8_t>(Rcode::ServFail));
    ASSERT_NE(m->tsig(), nullptr);
    auto v = client.verify(r.message, *m, kNow);
    ASSERT_TRUE(v) << v.error().message;
}

TEST_F(TransferAdmissionTest, WithoutAnAdmissionEveryAllowedRequestStreams) {
    auto r = responder_->respond(
        query(RRType::AXFR), xfr::Peer{*dns::IpAddress::parse("127.0.0.1"), 1, xfr::Transport::Tcp}, kNow);
    EXPECT_EQ(r.kind, xfr::Response::Kind::Transfer);
}

}  // namespace

// Each refusal and each stream carries its event: the outcome names the step that decided, the rest is
// what the log line and the secondaries view show.
TEST_F(TransferAdmissionTest, EachAnswerCarriesItsEvent) {
    auto outcome = [](const xfr::Response& r) {
        return r.event ? r.event->outcome : xfr::TransferOutcome::Ok;
    };
    auto r = ask(query(RRType::AXFR), "127.0.0.9");  // no rule
    EXPECT_EQ(outcome(r), xfr::TransferOutcome::Refused);
    EXPECT_TRUE(r.event->rule.empty());
    r = ask(query(RRType::AXFR), "127.0.0.1", xfr::Transport::Udp);
    EXPECT_EQ(outcome(r), xfr::TransferOutcome::FormErr);
    auto q = query(RRType::AXFR);
    auto impostor = std::make_shared<const tsig::Key>(
        tsig::Key::create("xfr-key", "hmac-sha256", std::vector<uint8_t>(32, 7)).value());
    tsig::ClientSequence(impostor).sign_request(q, 0, kNow);
    r = ask(q, "127.0.0.5");
    EXPECT_EQ(outcome(r), xfr::TransferOutcome::TsigFailed);
    EXPECT_EQ(r.event->key, "xfr-key.");
    EXPECT_EQ(r.event->rcode, Rcode::NotAuth);
    EXPECT_NE(r.event->detail.find("BADSIG"), std::string::npos) << r.event->detail;

    verdict_ = "full";
    r = ask(query(RRType::IXFR, 2026112500), "127.0.0.1");
    EXPECT_EQ(outcome(r), xfr::TransferOutcome::NotAdmitted);
    EXPECT_EQ(r.event->rcode, Rcode::ServFail);
    EXPECT_EQ(r.event->client_serial, dns::Serial(2026112500));
    EXPECT_FALSE(r.event->served_serial);  // nothing was sent
    EXPECT_EQ(r.event->form, xfr::TransferForm::None);

    verdict_.clear();
    r = ask(query(RRType::IXFR, 2026112500), "127.0.0.1");
    ASSERT_EQ(r.kind, xfr::Response::Kind::Transfer);
    ASSERT_TRUE(r.event);
    EXPECT_EQ(r.event->outcome, xfr::TransferOutcome::Ok);
    EXPECT_EQ(r.event->zone, "example.com.");
    EXPECT_EQ(r.event->type, RRType::IXFR);
    EXPECT_EQ(r.event->form, xfr::TransferForm::Axfr);  // no history: the whole zone (RFC 1995 §4)
    EXPECT_EQ(r.event->peer(), "127.0.0.1#4321");
    EXPECT_EQ(r.event->key, "-");
    EXPECT_EQ(r.event->rule, "providers");
    EXPECT_EQ(r.event->served_serial, dns::Serial(2026112601));

    r = ask(query(RRType::IXFR, 2026112601), "127.0.0.1");  // up to date
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.refused());
    EXPECT_EQ(r.event->form, xfr::TransferForm::SoaOnly);
}
