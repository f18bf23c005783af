// RFC 2136 evaluation without sockets: prerequisites (§2.4, §3.2), the prescan (§3.4.1), the update
// semantics (§3.4.2) and the allow_update name and type rules.
#include <gtest/gtest.h>

#include "support/test_zone.h"
#include "xfr/Update.h"
#include "zone/Changeset.h"

using namespace headwater;
using dns::Rcode;
using dns::RRType;
using headwater::testing::name;

namespace {

constexpr const char* kZone = R"(
$TTL 3600
@        IN SOA ns1 hostmaster 100 3600 600 86400 300
@        IN NS  ns1
@        IN NS  ns2
ns1      IN A   192.0.2.1
ns2      IN A   192.0.2.2
www      IN A   192.0.2.10
www      IN A   192.0.2.11
alias    IN CNAME www
a.b.deep IN TXT "x"
)";

zone::ZoneVersionPtr base() {
    return headwater::testing::build_zone(kZone, "example.com.");
}

std::vector<uint8_t> patch(std::vector<uint8_t> w, uint16_t rclass, uint32_t ttl, bool drop_rdata) {
    const std::size_t at = dns::wire_name_length(w) + 2;
    w[at] = static_cast<uint8_t>(rclass >> 8);
    w[at + 1] = static_cast<uint8_t>(rclass);
    for (int i = 0; i < 4; ++i) w[at + 2 + i] = static_cast<uint8_t>(ttl >> (24 - 8 * i));
    if (drop_rdata) {
        w.resize(at + 8);
        w[at + 6] = 0;
        w[at + 7] = 0;
    }
    return w;
}

xfr::UpdateRecord rr(std::string_view text) {
    return {headwater::testing::wire_records(text).at(0)};
}
// Class ANY, no RDATA, type TXT (any_type() sets another): "RRset exists" / delete an RRset.
xfr::UpdateRecord any(std::string_view owner) {
    return {patch(rr(std::string(owner) + " 0 IN TXT \"\"").wire, 255, 0, true)};
}
xfr::UpdateRecord with_type(xfr::UpdateRecord r, uint16_t type) {
    const std::size_t at = dns::wire_name_length(r.wire);
    r.wire[at] = static_cast<uint8_t>(type >> 8);
    r.wire[at + 1] = static_cast<uint8_t>(type);
    return r;
}
xfr::UpdateRecord any_type(std::string_view owner, RRType type) {
    return with_type(any(owner), dns::to_u16(type));
}
xfr::UpdateRecord none_type(std::string_view owner, RRType type) {
    auto r = any_type(owner, type);
    r.wire = patch(r.wire, 254, 0, true);
    return r;
}
// Class NONE with RDATA: delete one record.
xfr::UpdateRecord none(std::string_view text) {
    return {patch(rr(text).wire, 254, 0, false)};
}
// Class IN, TTL 0: "RRset exists (value dependent)".
xfr::UpdateRecord value(std::string_view text) {
    return {patch(rr(text).wire, 1, 0, false)};
}

Rcode prereq_rcode(std::vector<xfr::UpdateRecord> p) {
    auto r = xfr::check_prerequisites(*base(), p);
    return r ? Rcode::NoError : r.error().rcode;
}

zone::ZoneVersionPtr applied(std::vector<xfr::UpdateRecord> u) {
    auto v = base();
    EXPECT_TRUE(xfr::prescan_updates(v->apex(), u));
    auto r = xfr::apply_updates(*v, u);
    EXPECT_TRUE(r) << r.error().reason;
    return r ? *r : nullptr;
}

std::size_t count(const zone::ZoneVersion& v, std::string_view owner, RRType t) {
    auto range = v.find_rrset(name(owner), t);
    return range.end - range.begin;
}

}  // namespace

TEST(UpdatePrerequisites, EveryKind) {
    // §2.4.1 RRset exists (value independent)
    EXPECT_EQ(prereq_rcode({any_type("www.example.com.", RRType::A)}), Rcode::NoError);
    EXPECT_EQ(prereq_rcode({any_type("www.example.com.", RRType::AAAA)}), Rcode::NXRRSet);
    // §2.4.2 RRset exists (value dependent): the whole RRset, in any order, TTL 0
    EXPECT_EQ(prereq_rcode(
                  {value("www.example.com. 0 IN A 192.0.2.11"), value("www.example.com. 0 IN A 192.0.2.10")}),
              Rcode::NoError);
    EXPECT_EQ(prereq_rcode({value("www.example.com. 0 IN A 192.0.2.10")}), Rcode::NXRRSet);
    // §2.4.3 RRset does not exist
    EXPECT_EQ(prereq_rcode({none_type("www.example.com.", RRType::AAAA)}), Rcode::NoError);
    EXPECT_EQ(prereq_rcode({none_type("www.example.com.", RRType::A)}), Rcode::YXRRSet);
    // §2.4.4 Name is in use (an empty non-terminal is not)
    EXPECT_EQ(prereq_rcode({any_type("www.example.com.", RRType::ANY)}), Rcode::NoError);
    EXPECT_EQ(prereq_rcode({any_type("b.deep.example.com.", RRType::ANY)}), Rcode::NXDomain);
    // §2.4.5 Name is not in use
    EXPECT_EQ(prereq_rcode({none_type("new.example.com.", RRType::ANY)}), Rcode::NoError);
    EXPECT_EQ(prereq_rcode({none_type("www.example.com.", RRType::ANY)}), Rcode::YXDomain);
}

TEST(UpdatePrerequisites, FormErrAndNotZone) {
    EXPECT_EQ(prereq_rcode({rr("www.example.com. 5 IN A 192.0.2.10")}), Rcode::FormErr);  // TTL not 0
    EXPECT_EQ(prereq_rcode({any_type("www.example.org.", RRType::A)}), Rcode::NotZone);
    auto with_rdata = none("www.example.com. 0 IN A 192.0.2.10");  // class NONE with RDATA
    EXPECT_EQ(prereq_rcode({with_rdata}), Rcode::FormErr);
}

TEST(UpdatePrescan, RejectsWhatTheSectionForbids) {
    const auto apex = name("example.com.");
    EXPECT_EQ(xfr::prescan_updates(apex, std::vector{rr("x.example.org. 60 IN A 192.0.2.1")}).error().rcode,
              Rcode::NotZone);
    EXPECT_EQ(xfr::prescan_updates(apex, std::vector{with_type(rr("x.example.com. 60 IN A 192.0.2.1"), 255)})
                  .error()
                  .rcode,
              Rcode::FormErr);  // adding type ANY
    auto ttl = any_type("x.example.com.", RRType::A);
    ttl.wire = patch(ttl.wire, 255, 60, true);
    EXPECT_EQ(xfr::prescan_updates(apex, std::vector{ttl}).error().rcode, Rcode::FormErr);
    EXPECT_EQ(xfr::prescan_updates(apex, std::vector{none_type("x.example.com.", RRType::ANY)}).error().rcode,
              Rcode::FormErr);
    auto chaos = rr("x.example.com. 60 IN A 192.0.2.1");
    chaos.wire = patch(chaos.wire, 3, 60, false);
    EXPECT_EQ(xfr::prescan_updates(apex, std::vector{chaos}).error().rcode, Rcode::FormErr);
}

TEST(UpdateApply, AddReplaceTtlAndDelete) {
    auto v =
        applied({rr("new.example.com. 60 IN TXT \"hello\""), rr("www.example.com. 120 IN A 192.0.2.10")});
    ASSERT_TRUE(v);
    EXPECT_EQ(count(*v, "new.example.com.", RRType::TXT), 1u);
    // The equal record replaced, and the RRset took its TTL.
    const auto range = v->find_rrset(name("www.example.com."), RRType::A);
    ASSERT_EQ(range.end - range.begin, 2u);
    for (auto i = range.begin; i < range.end; ++i) EXPECT_EQ(v->record(i).ttl, 120u);
    EXPECT_EQ(v->serial().value(), 100u);  // the serial is the caller's (the zone's policy)

    v = applied({none("www.example.com. 0 IN A 192.0.2.10"), any_type("a.b.deep.example.com.", RRType::ANY)});
    ASSERT_TRUE(v);
    EXPECT_EQ(count(*v, "www.example.com.", RRType::A), 1u);
    EXPECT_FALSE(v->name_exists(name("deep.example.com.")));
}

TEST(UpdateApply, ApexSoaAndNsAreKept) {
    // Deleting every RRset at the apex keeps SOA and NS; deleting the SOA or the NS RRset is ignored.
    EXPECT_EQ(applied({any_type("example.com.", RRType::ANY)}), nullptr);
    EXPECT_EQ(applied({any_type("example.com.", RRType::SOA), any_type("example.com.", RRType::NS)}),
              nullptr);
    // The last NS record stays.
    auto v = applied(
        {none("example.com. 0 IN NS ns1.example.com."), none("example.com. 0 IN NS ns2.example.com.")});
    ASSERT_TRUE(v);
    EXPECT_EQ(count(*v, "example.com.", RRType::NS), 1u);
    // An SOA with an older serial is ignored; a newer one replaces it.
    EXPECT_EQ(applied({rr("example.com. 3600 IN SOA ns1.example.com. h.example.com. 99 1 1 1 1")}), nullptr);
    v = applied({rr("example.com. 3600 IN SOA ns1.example.com. h.example.com. 200 1 1 1 1")});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->serial().value(), 200u);
    EXPECT_EQ(count(*v, "example.com.", RRType::SOA), 1u);
}

TEST(UpdateApply, TheSerialGivenIsSetUnlessTheUpdateBringsANewerOne) {
    auto v = base();
    const std::vector<xfr::UpdateRecord> add{rr("new.example.com. 60 IN A 192.0.2.77")};
    auto r = xfr::apply_updates(*v, add, dns::Serial(101));
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->serial().value(), 101u);  // built with it: no second copy to change it
    EXPECT_EQ(count(**r, "new.example.com.", RRType::A), 1u);
    // An SOA the update brings with a newer serial wins; one with an older serial is ignored, and the
    // serial given is set all the same.
    const std::vector<xfr::UpdateRecord> newer{
        rr("example.com. 3600 IN SOA ns1.example.com. h.example.com. 300 1 1 1 1")};
    r = xfr::apply_updates(*v, newer, dns::Serial(101));
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->serial().value(), 300u);
    const std::vector<xfr::UpdateRecord> older{
        rr("example.com. 3600 IN SOA ns1.example.com. h.example.com. 99 1 1 1 1"),
        rr("new.example.com. 60 IN A 192.0.2.77")};
    r = xfr::apply_updates(*v, older, dns::Serial(101));
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->serial().value(), 101u);
    // Nothing changed: no version, whatever serial was given.
    const std::vector<xfr::UpdateRecord> absent{none("www.example.com. 0 IN A 198.51.100.1")};
    r = xfr::apply_updates(*v, absent, dns::Serial(101));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, nullptr);
}

TEST(UpdateApply, WhatItChangedIsTheDiffOfTheTwoVersions) {
    // The journal takes the applier's changeset instead of diffing the versions: it must be the same.
    auto v = base();
    const std::vector<std::vector<xfr::UpdateRecord>> cases{
        {rr("new.example.com. 60 IN A 192.0.2.77"), rr("new.example.com. 60 IN TXT \"t\"")},
        {none("www.example.com. 0 IN A 192.0.2.10"), rr("www.example.com. 300 IN A 192.0.2.12")},
        {any_type("www.example.com.", RRType::A), rr("a.b.deep.example.com. 60 IN A 192.0.2.1")},
        {rr("example.com. 3600 IN SOA ns1.example.com. h.example.com. 300 1 1 1 1")},
    };
    for (const auto& u : cases) {
        std::optional<zone::Changeset> changes;
        auto r = xfr::apply_updates(*v, u, dns::Serial(101), &changes);
        ASSERT_TRUE(r && *r && changes);
        EXPECT_TRUE(*changes == zone::diff(*v, **r)) << zone::diff(*v, **r).record_count();
    }
}

TEST(UpdateApply, CnameExclusivity) {
    // Data beside a CNAME and a CNAME beside data are ignored; a CNAME replaces a CNAME.
    EXPECT_EQ(applied({rr("alias.example.com. 60 IN TXT \"x\"")}), nullptr);
    EXPECT_EQ(applied({rr("www.example.com. 60 IN CNAME ns1.example.com.")}), nullptr);
    auto v = applied({rr("alias.example.com. 60 IN CNAME ns1.example.com.")});
    ASSERT_TRUE(v);
    EXPECT_EQ(count(*v, "alias.example.com.", RRType::CNAME), 1u);
    // Only RRSIG and NSEC may stand beside a CNAME, as the zone loader requires: a DNSKEY there would make
    // the written-back file fail to load.
    EXPECT_EQ(
        applied(
            {rr("alias.example.com. 60 IN DNSKEY 256 3 13 "
                "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==")}),
        nullptr);
}

TEST(UpdateApply, NothingChangesIsNull) {
    EXPECT_EQ(applied({none("www.example.com. 0 IN A 203.0.113.1")}), nullptr);
    EXPECT_EQ(applied({rr("www.example.com. 3600 IN A 192.0.2.10")}), nullptr);
}

TEST(UpdateAcl, NamePatterns) {
    const auto apex = name("example.com.");
    EXPECT_TRUE(xfr::update_name_matches("@", apex, apex));
    EXPECT_FALSE(xfr::update_name_matches("@", name("www.example.com."), apex));
    EXPECT_TRUE(xfr::update_name_matches("www", name("WWW.example.com."), apex));
    EXPECT_FALSE(xfr::update_name_matches("www", name("a.www.example.com."), apex));
    EXPECT_TRUE(xfr::update_name_matches("*.dyn", name("h.dyn.example.com."), apex));
    EXPECT_TRUE(xfr::update_name_matches("*.dyn", name("a.h.dyn.example.com."), apex));
    EXPECT_FALSE(xfr::update_name_matches("*.dyn", name("dyn.example.com."), apex));
    EXPECT_TRUE(xfr::update_name_matches("_acme-challenge.*", name("_acme-challenge.example.com."), apex));
    EXPECT_TRUE(
        xfr::update_name_matches("_acme-challenge.*", name("_acme-challenge.www.example.com."), apex));
    EXPECT_FALSE(xfr::update_name_matches("_acme-challenge.*", name("www.example.com."), apex));
    EXPECT_FALSE(xfr::update_name_matches("_acme-challenge.*", name("x._acme-challenge.example.com."), apex));
    EXPECT_FALSE(xfr::update_name_matches("*", apex, apex));
    EXPECT_TRUE(xfr::update_name_matches("*", name("a.example.com."), apex));
}

TEST(UpdateAcl, KeyNamesAndTypes) {
    const auto apex = name("example.com.");
    xfr::AclRule acme;
    acme.name = "acme";
    acme.keys = {"acme-key."};
    acme.update_names = {"_acme-challenge.*"};
    acme.update_types = {dns::to_u16(RRType::TXT)};
    xfr::AclRule admin;
    admin.name = "admin";
    admin.keys = {"admin-key."};
    const std::vector<xfr::AclRule> rules = {acme, admin};
    xfr::Peer peer(dns::IpAddress::parse("127.0.0.1").value(), 5353, xfr::Transport::Tcp);
    const std::vector<xfr::UpdateRecord> challenge = {rr("_acme-challenge.www.example.com. 60 IN TXT \"t\"")};
    const std::vector<xfr::UpdateRecord> a_record = {rr("_acme-challenge.example.com. 60 IN A 192.0.2.1")};
    const std::vector<xfr::UpdateRecord> elsewhere = {rr("www.example.com. 60 IN TXT \"t\"")};
    const std::vector<xfr::UpdateRecord> wipe = {any_type("_acme-challenge.example.com.", RRType::ANY)};

    auto d = xfr::authorize_update(rules, peer, std::string("acme-key."), apex, challenge);
    EXPECT_TRUE(d.allowed);
    ASSERT_TRUE(d.rule);
    EXPECT_EQ(d.rule->name, "acme");
    d = xfr::authorize_update(rules, peer, std::string("acme-key."), apex, a_record);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("type"), std::string::npos) << d.reason;
    d = xfr::authorize_update(rules, peer, std::string("acme-key."), apex, elsewhere);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("www.example.com."), std::string::npos) << d.reason;
    EXPECT_FALSE(xfr::authorize_update(rules, peer, std::string("acme-key."), apex, wipe).allowed);
    EXPECT_TRUE(xfr::authorize_update(rules, peer, std::string("admin-key."), apex, elsewhere).allowed);
    // Unsigned: refused whatever the rules say.
    d = xfr::authorize_update(rules, peer, std::nullopt, apex, challenge);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("TSIG"), std::string::npos);
    EXPECT_FALSE(xfr::authorize_update({}, peer, std::string("admin-key."), apex, challenge).allowed);
}
