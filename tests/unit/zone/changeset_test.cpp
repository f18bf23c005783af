#include "zone/Changeset.h"

#include <gtest/gtest.h>

#include <random>

#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

using namespace headwater;
using dns::RRType;
using zone::Changeset;
using zone::RecordView;
using zone::ZoneVersionPtr;

namespace {

ZoneVersionPtr build(std::string_view text, std::string_view origin = "example.com.") {
    zone::ZoneBuilder b(dns::Name::from_text(origin).value());
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    auto v = b.build();
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : nullptr;
}

std::string head(uint32_t serial) {
    return "$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
           " 3600 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.53\n";
}

std::string show(const RecordView& r) {
    return r.owner.to_string() + " " + std::to_string(r.ttl) + " " + dns::to_string(r.type);
}

std::vector<std::string> removed(const Changeset& c) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < c.removed_count(); ++i) out.push_back(show(c.removed(i)));
    return out;
}
std::vector<std::string> added(const Changeset& c) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < c.added_count(); ++i) out.push_back(show(c.added(i)));
    return out;
}

using Strings = std::vector<std::string>;

void expect_round_trip(const zone::ZoneVersion& a, const zone::ZoneVersion& b) {
    const Changeset d = zone::diff(a, b);
    auto applied = zone::apply(a, d);
    ASSERT_TRUE(applied) << applied.error();
    EXPECT_TRUE((*applied)->same_content(b));
    EXPECT_EQ((*applied)->serial(), b.serial());
    EXPECT_EQ((*applied)->soa_index(), b.soa_index());
    EXPECT_EQ((*applied)->size(), b.size());
}

}  // namespace

TEST(Changeset, AdditionsAndRemovals) {
    auto a = build(head(1) + "a IN A 192.0.2.1\nb IN A 192.0.2.2\n");
    auto b = build(head(2) + "b IN A 192.0.2.2\nc IN A 192.0.2.3\nc IN TXT \"x\"\n");
    const Changeset d = zone::diff(*a, *b);
    EXPECT_EQ(d.from().value(), 1u);
    EXPECT_EQ(d.to().value(), 2u);
    EXPECT_EQ(d.old_soa().type, RRType::SOA);
    EXPECT_EQ(d.new_soa().type, RRType::SOA);
    EXPECT_EQ(removed(d), (Strings{"a.example.com. 300 A"}));
    EXPECT_EQ(added(d), (Strings{"c.example.com. 300 A", "c.example.com. 300 TXT"}));
    EXPECT_EQ(d.record_count(), 5u);
    EXPECT_FALSE(d.soa_only());
    expect_round_trip(*a, *b);
    expect_round_trip(*b, *a);
}

TEST(Changeset, TtlChangeIsRemoveOldAddNew) {
    auto a = build(head(1) + "a IN A 192.0.2.1\n");
    auto b = build(head(2) + "a 600 IN A 192.0.2.1\n");
    const Changeset d = zone::diff(*a, *b);
    EXPECT_EQ(removed(d), (Strings{"a.example.com. 300 A"}));
    EXPECT_EQ(added(d), (Strings{"a.example.com. 600 A"}));
    expect_round_trip(*a, *b);
}

TEST(Changeset, RRsetChangeTouchesOnlyTheChangedRecords) {
    auto a = build(head(1) + "www IN A 192.0.2.1\nwww IN A 192.0.2.2\nwww IN A 192.0.2.3\n");
    auto b = build(head(2) + "www IN A 192.0.2.1\nwww IN A 192.0.2.4\nwww IN A 192.0.2.3\n");
    const Changeset d = zone::diff(*a, *b);
    ASSERT_EQ(d.removed_count(), 1u);
    ASSERT_EQ(d.added_count(), 1u);
    EXPECT_EQ(d.removed(0).rdata[3], 2);
    EXPECT_EQ(d.added(0).rdata[3], 4);
    expect_round_trip(*a, *b);
}

TEST(Changeset, ApexChanges) {
    auto a = build(head(1) + "@ IN NS ns2.example.net.\n@ IN MX 10 mail\n");
    auto b = build(
        "$TTL 300\n@ IN SOA ns9 admin 5 7200 900 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
        "@ IN NS ns3.example.net.\n@ IN MX 20 mail\n@ IN TXT \"v=spf1 -all\"\n");
    const Changeset d = zone::diff(*a, *b);
    // The SOAs travel separately, never in the lists.
    for (std::size_t i = 0; i < d.removed_count(); ++i) EXPECT_NE(d.removed(i).type, RRType::SOA);
    for (std::size_t i = 0; i < d.added_count(); ++i) EXPECT_NE(d.added(i).type, RRType::SOA);
    EXPECT_EQ(removed(d), (Strings{"example.com. 300 NS", "example.com. 300 MX"}));
    EXPECT_EQ(added(d), (Strings{"example.com. 300 NS", "example.com. 300 MX", "example.com. 300 TXT"}));
    EXPECT_EQ(d.to().value(), 5u);
    expect_round_trip(*a, *b);
}

TEST(Changeset, SerialOnlyChangeIsEmpty) {
    auto a = build(head(1) + "a IN A 192.0.2.1\n");
    auto b = build(head(2) + "a IN A 192.0.2.1\n");
    const Changeset d = zone::diff(*a, *b);
    EXPECT_TRUE(d.soa_only());
    EXPECT_EQ(d.record_count(), 2u);
    expect_round_trip(*a, *b);
    // Identical versions: an empty diff with equal SOAs.
    const Changeset same = zone::diff(*a, *a);
    EXPECT_TRUE(same.soa_only());
    EXPECT_EQ(same.from(), same.to());
}

TEST(Changeset, OwnerCaseChangeIsTransferred) {
    auto a = build(head(1) + "www IN A 192.0.2.1\n");
    auto b = build(head(2) + "WWW IN A 192.0.2.1\n");
    const Changeset d = zone::diff(*a, *b);
    EXPECT_EQ(d.removed_count(), 1u);
    EXPECT_EQ(d.added_count(), 1u);
    expect_round_trip(*a, *b);
}

TEST(Changeset, ApplyChecksTheBase) {
    auto a = build(head(1) + "a IN A 192.0.2.1\n");
    auto b = build(head(2) + "b IN A 192.0.2.2\n");
    auto c = build(head(3) + "a IN A 192.0.2.1\nb IN A 192.0.2.2\n");
    const Changeset ab = zone::diff(*a, *b);
    // Wrong starting version.
    auto wrong = zone::apply(*b, ab);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().find("serial 1"), std::string::npos) << wrong.error();

    // A record to delete that is missing, and one to add that is present.
    auto a2 = build(head(1) + "z IN A 192.0.2.9\n");
    ASSERT_TRUE(zone::apply(*a2, zone::diff(*a2, *a2)));  // an empty changeset applies
    Changeset del(a->soa().wire, b->soa().wire);
    del.add_removed(
        c->record(c->find_rrset(dns::Name::from_text("b.example.com.").value(), RRType::A).begin).wire);
    auto r1 = zone::apply(*a, del);
    ASSERT_FALSE(r1);
    EXPECT_NE(r1.error().find("not in the zone: b.example.com."), std::string::npos) << r1.error();

    Changeset add(a->soa().wire, b->soa().wire);
    add.add_added(
        a->record(a->find_rrset(dns::Name::from_text("a.example.com.").value(), RRType::A).begin).wire);
    auto r2 = zone::apply(*a, add);
    ASSERT_FALSE(r2);
    EXPECT_NE(r2.error().find("already in the zone: a.example.com."), std::string::npos) << r2.error();

    // A record to delete with another TTL than the one in the zone is missing too.
    auto a600 = build(head(2) + "a 600 IN A 192.0.2.1\n");
    Changeset ttl(a->soa().wire, b->soa().wire);
    ttl.add_removed(
        a600->record(a600->find_rrset(dns::Name::from_text("a.example.com.").value(), RRType::A).begin).wire);
    EXPECT_FALSE(zone::apply(*a, ttl));
}

namespace {

// A random version drawn from a fixed pool of records: names, types, RDATA and TTLs vary.
ZoneVersionPtr random_version(std::mt19937& rng, uint32_t serial) {
    std::string text = head(serial);
    std::bernoulli_distribution keep(0.5);
    std::uniform_int_distribution<int> ttl(0, 2);
    for (int i = 0; i < 60; ++i) {
        const std::string owner = (i % 7 == 0 ? "@" : (i % 5 == 0 ? "Sub" : "h") + std::to_string(i % 23));
        if (keep(rng))
            text += owner + " " + std::to_string(300 * (1 + ttl(rng))) + " IN A 192.0.2." +
                    std::to_string(i) + "\n";
        if (keep(rng)) text += owner + " IN TXT \"t" + std::to_string(i % 4) + "\"\n";
        if (keep(rng)) text += owner + " IN MX " + std::to_string(i) + " mx" + std::to_string(i % 3) + "\n";
        if (keep(rng))
            text += "*.w" + std::to_string(i % 3) + " IN AAAA 2001:db8::" + std::to_string(i) + "\n";
    }
    return build(text);
}

}  // namespace

TEST(Changeset, ApplyOfDiffReproducesRandomVersions) {
    std::mt19937 rng(12345);
    std::vector<ZoneVersionPtr> versions;
    for (uint32_t s = 1; s <= 12; ++s) versions.push_back(random_version(rng, s));
    for (const auto& a : versions)
        for (const auto& b : versions)
            if (a != b) expect_round_trip(*a, *b);
}

TEST(Changeset, CondensedChainEqualsTheDirectDiffAndApplies) {
    std::mt19937 rng(777);
    std::vector<ZoneVersionPtr> v;
    for (uint32_t s = 10; s < 23; ++s) v.push_back(random_version(rng, s));  // 12 steps: uneven halves
    std::vector<Changeset> chain;
    for (std::size_t i = 0; i + 1 < v.size(); ++i) chain.push_back(zone::diff(*v[i], *v[i + 1]));
    auto condensed = zone::condense(chain);
    ASSERT_TRUE(condensed) << condensed.error();
    // Condensing cancels everything that came and went, which leaves exactly the minimal diff.
    EXPECT_TRUE(*condensed == zone::diff(*v.front(), *v.back()));
    auto applied = zone::apply(*v.front(), *condensed);
    ASSERT_TRUE(applied) << applied.error();
    EXPECT_TRUE((*applied)->same_content(*v.back()));

    // Step by step gives the same.
    ZoneVersionPtr cur = v.front();
    for (const Changeset& c : chain) {
        auto next = zone::apply(*cur, c);
        ASSERT_TRUE(next) << next.error();
        cur = *next;
    }
    EXPECT_TRUE(cur->same_content(*v.back()));

    // Not consecutive: an error.
    EXPECT_FALSE(zone::compose(chain[0], chain[2]));
    std::vector<Changeset> gap(chain.begin(), chain.begin() + 5);
    gap.erase(gap.begin() + 3);
    EXPECT_FALSE(zone::condense(gap));
    EXPECT_FALSE(zone::condense(std::span<const Changeset>()));
}

TEST(Changeset, ComposeCancelsARecordAddedThenRemoved) {
    auto a = build(head(1) + "a IN A 192.0.2.1\n");
    auto b = build(head(2) + "a IN A 192.0.2.1\ntmp IN A 192.0.2.7\n");
    auto c = build(head(3) + "a IN A 192.0.2.1\n");
    auto composed = zone::compose(zone::diff(*a, *b), zone::diff(*b, *c));
    ASSERT_TRUE(composed);
    EXPECT_TRUE(composed->soa_only());
    EXPECT_EQ(composed->from().value(), 1u);
    EXPECT_EQ(composed->to().value(), 3u);
}

TEST(Changeset, EncodeDecodeRoundTrip) {
    auto a = build(head(1) + "a IN A 192.0.2.1\nb IN TXT \"hello\"\n");
    auto b = build(head(2) + "b IN TXT \"hello\"\nc IN MX 10 mail.example.net.\n");
    const Changeset d = zone::diff(*a, *b);
    std::vector<uint8_t> wire;
    d.encode_to(wire);
    EXPECT_EQ(wire.size(), d.encoded_size());
    auto back = Changeset::decode(wire);
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE(*back == d);
    EXPECT_EQ(back->from().value(), 1u);
    EXPECT_EQ(back->to().value(), 2u);

    // Every truncation and any trailing octet is an error, never a crash.
    for (std::size_t n = 0; n < wire.size(); ++n)
        EXPECT_FALSE(Changeset::decode(std::span(wire).first(n))) << "length " << n;
    auto longer = wire;
    longer.push_back(0);
    EXPECT_FALSE(Changeset::decode(longer));
    // Arbitrary byte changes: decode either rejects or yields a well-formed changeset.
    for (std::size_t i = 0; i < wire.size(); ++i) {
        for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
            auto bad = wire;
            bad[i] ^= x;
            auto r = Changeset::decode(bad);
            if (r) {
                std::vector<uint8_t> again;
                r->encode_to(again);
                EXPECT_EQ(again, bad);
            }
        }
    }
    // Out-of-order lists are rejected.
    Changeset unordered(a->soa().wire, b->soa().wire);
    unordered.add_added(b->record(b->size() - 1).wire);
    unordered.add_added(
        a->record(a->find_rrset(dns::Name::from_text("a.example.com.").value(), RRType::A).begin).wire);
    std::vector<uint8_t> uw;
    unordered.encode_to(uw);
    EXPECT_FALSE(Changeset::decode(uw));
}

TEST(Changeset, RecordHelpersValidate) {
    const uint8_t rec[] = {0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4};
    EXPECT_EQ(zone::record_wire_length(rec), sizeof rec);
    EXPECT_EQ(zone::record_wire_length(std::span(rec).first(sizeof rec - 1)), 0u);
    EXPECT_EQ(zone::record_wire_length(std::span(rec).first(3)), 0u);
    const uint8_t soa_rdata[] = {0, 0, 0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    ASSERT_TRUE(zone::soa_rdata_serial(soa_rdata));
    EXPECT_EQ(zone::soa_rdata_serial(soa_rdata)->value(), 42u);
    EXPECT_FALSE(zone::soa_rdata_serial(std::span(soa_rdata).first(21)));
}
