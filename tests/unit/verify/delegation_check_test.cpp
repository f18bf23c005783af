// The delegation check's rules: what the referral must list (the apex NS names, every one and no other,
// not the hidden primary) and how glue is compared, on hand-built parent answers.
#include "xfr/verify/DelegationCheck.h"

#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::verify {
namespace {

using dns::Section;

// ns1 is inside the zone (needs glue), ns.provider-b.net. outside; the SOA MNAME names the hidden primary.
constexpr std::string_view kZone = R"($ORIGIN child.example.
@ 3600 IN SOA hidden.child.example. hostmaster 5 7200 900 1209600 300
@ 3600 IN NS ns1
@ 3600 IN NS ns.provider-b.net.
ns1 3600 IN A 192.0.2.1
ns1 3600 IN AAAA 2001:db8::1
hidden 3600 IN A 192.0.2.53
)";

std::vector<uint8_t> wire(std::string_view line) {
    return headwater::testing::wire_records(line, "example.").at(0);
}

struct Referral {
    uint16_t flags = 0;
    dns::Rcode rcode = dns::Rcode::NoError;
    std::vector<std::string> authority, additional, answer;
};

std::vector<uint8_t> build(const Referral& r) {
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, 65535);
    mb.header(0x4242, static_cast<uint16_t>(dns::flag::QR | r.flags));
    mb.set_rcode(r.rcode);
    mb.question(headwater::testing::name("child.example."), dns::to_u16(dns::RRType::NS), 1);
    for (const auto& t : r.answer) EXPECT_EQ(mb.push_wire(Section::Answer, wire(t)), dns::Pushed::Ok);
    for (const auto& t : r.authority) EXPECT_EQ(mb.push_wire(Section::Authority, wire(t)), dns::Pushed::Ok);
    for (const auto& t : r.additional) EXPECT_EQ(mb.push_wire(Section::Additional, wire(t)), dns::Pushed::Ok);
    mb.finish();
    return out;
}

class DelegationCheckTest : public ::testing::Test {
  protected:
    void SetUp() override {
        version_ = headwater::testing::build_zone(kZone, "child.example.");
        const dns::IpAddress own = *dns::IpAddress::parse("127.0.0.1");
        expected_ = expect_delegation(*version_, std::span(&own, 1));
    }
    DelegationResult check(const Referral& r) {
        const auto bytes = build(r);
        auto m = dns::Message::parse(bytes);
        EXPECT_TRUE(m.has_value());
        return check_referral(expected_, *m);
    }
    // The right referral, with the provider's name resolved.
    Referral good() const {
        return {0,
                dns::Rcode::NoError,
                {"child.example. 86400 IN NS ns1.child.example.",
                 "child.example. 86400 IN NS NS.Provider-B.net."},
                {"ns1.child.example. 86400 IN A 192.0.2.1", "ns1.child.example. 86400 IN AAAA 2001:db8::1"},
                {}};
    }

    zone::ZoneVersionPtr version_;
    DelegationExpectation expected_;
};

TEST_F(DelegationCheckTest, Expectation) {
    EXPECT_EQ(expected_.zone, "child.example.");
    EXPECT_EQ(expected_.ns, (std::set<std::string>{"ns1.child.example.", "ns.provider-b.net."}));
    EXPECT_EQ(expected_.addresses.at("ns1.child.example."),
              (std::set<std::string>{"192.0.2.1", "2001:db8::1"}));
    EXPECT_EQ(expected_.primary_name, "hidden.child.example.");
    EXPECT_EQ(names_to_resolve(expected_), std::vector<std::string>{"ns.provider-b.net."});
}

TEST_F(DelegationCheckTest, GoodReferral) {
    const auto r = check(good());
    EXPECT_TRUE(r.ok) << ::testing::PrintToString(r.problems);
    EXPECT_EQ(r.status, "ok");
    EXPECT_EQ(r.ns, expected_.ns);  // compared without case
}

TEST_F(DelegationCheckTest, MissesAProvider) {
    auto ref = good();
    ref.authority.pop_back();
    const auto r = check(ref);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, "mismatch");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0], "misses ns.provider-b.net. (an apex NS name)");
}

TEST_F(DelegationCheckTest, ListsTheHiddenPrimary) {
    auto ref = good();
    ref.authority.push_back("child.example. 86400 IN NS hidden.child.example.");
    ref.additional.push_back("hidden.child.example. 86400 IN A 127.0.0.1");
    const auto r = check(ref);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.problems, (std::vector<std::string>{
                              "lists hidden.child.example., the hidden primary (the SOA MNAME)",
                              "glue hidden.child.example. 127.0.0.1 is the hidden primary's address"}));
}

TEST_F(DelegationCheckTest, ExtraNameAndWrongGlue) {
    auto ref = good();
    ref.authority.push_back("child.example. 86400 IN NS ns9.elsewhere.net.");
    ref.additional[0] = "ns1.child.example. 86400 IN A 192.0.2.99";
    ref.additional.pop_back();
    const auto r = check(ref);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.problems,
              (std::vector<std::string>{
                  "lists ns9.elsewhere.net., which is not an apex NS name",
                  "glue ns1.child.example. is 192.0.2.99, the providers serve 192.0.2.1 2001:db8::1"}));
}

TEST_F(DelegationCheckTest, MissingGlueForAnInZoneName) {
    auto ref = good();
    ref.additional.clear();
    const auto r = check(ref);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.problems,
              std::vector<std::string>{"no glue for ns1.child.example., which is inside the zone"});
}

TEST_F(DelegationCheckTest, OutOfZoneGlueComparedWithTheProviders) {
    // The provider's own server says ns.provider-b.net. is 198.51.100.7; the parent's sibling glue differs.
    Referral answer{dns::flag::AA, dns::Rcode::NoError, {}, {}, {"ns.provider-b.net. 300 IN A 198.51.100.7"}};
    const auto bytes = build(answer);
    auto m = dns::Message::parse(bytes);
    ASSERT_TRUE(m);
    EXPECT_TRUE(add_address_answer(expected_, "ns.provider-b.net.", *m));
    auto ref = good();
    ref.additional.push_back("ns.provider-b.net. 86400 IN A 198.51.100.8");
    const auto r = check(ref);
    EXPECT_EQ(r.problems, std::vector<std::string>{
                              "glue ns.provider-b.net. is 198.51.100.8, the providers serve 198.51.100.7"});

    // A non-authoritative answer is not taken.
    answer.flags = 0;
    const auto bytes2 = build(answer);
    EXPECT_FALSE(add_address_answer(expected_, "ns.provider-b.net.", *dns::Message::parse(bytes2)));
}

TEST_F(DelegationCheckTest, NotAReferral) {
    auto r = check({0, dns::Rcode::Refused, {}, {}, {}});
    EXPECT_EQ(r.status, "not-a-referral");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.problems.at(0), "answered REFUSED (does this server serve the parent zone?)");
    r = check({dns::flag::AA, dns::Rcode::NXDomain, {}, {}, {}});
    EXPECT_EQ(r.status, "not-a-referral");
    r = check({0, dns::Rcode::NoError, {}, {}, {}});
    EXPECT_EQ(r.problems.at(0), "no NS RRset for child.example. in the answer (not delegated there?)");
}

}  // namespace
}  // namespace headwater::verify
