// RRsets as RFC 2181 §5 defines them, made so at load (ZoneBuilder): no duplicate records, compared in
// canonical form (names in the RDATA of the RFC 4034 §6.2 types without regard to case), one TTL per set
// (chosen as BIND 9.18 chooses it), each change reported with the file and line; and what that means for
// the diff an IXFR sends.
#include <gtest/gtest.h>

#include <string>

#include "zone/Changeset.h"
#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"
#include "zone/dns/CanonicalRdata.h"

using namespace headwater;
using dns::Name;
using dns::RRType;

namespace {

Name n(std::string_view t) {
    return Name::from_text(t).value();
}

struct Built {
    zone::ZoneVersionPtr version;
    std::vector<zone::LoadWarning> warnings;
    std::size_t suppressed = 0;
};

Built build(const std::string& body) {
    zone::ZoneBuilder b(n("example.com."));
    const std::string text =
        "$TTL 3600\n"
        "@ IN SOA ns1 hostmaster 7 3600 900 86400 60\n"
        "@ IN NS ns1\n"
        "ns1 IN A 192.0.2.53\n" +
        body;
    auto loaded = zone::load_master_text(
        text, "example.com.",
        [&](const zone::RawRecord& rr) {
            return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
        },
        "z.zone");
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    auto v = b.build();
    EXPECT_TRUE(v) << v.error().to_string();
    return {v ? *v : nullptr, b.warnings(), b.suppressed_warnings()};
}

std::vector<zone::RecordView> rrset(const zone::ZoneVersion& v, std::string_view owner, RRType type) {
    std::vector<zone::RecordView> out;
    const auto r = v.find_rrset(n(owner), type);
    for (std::size_t i = r.begin; i < r.end; ++i) out.push_back(v.record(i));
    return out;
}

}  // namespace

TEST(RrsetNormalisation, CaseVariantDuplicatesCollapseToTheFirstWritten) {
    // RFC 4343: names compare without regard to case, in the owner and inside MX RDATA (RFC 4034 §6.2).
    const Built b = build(
        "dupl MX 10 some.domain.\n"
        "dupl MX 10 Some.Domain.\n"
        "DuPl MX 10 some.domain.\n"
        "dUpL MX 10 sOMe.doMAin.\n");
    ASSERT_TRUE(b.version);
    const auto mx = rrset(*b.version, "dupl.example.com.", RRType::MX);
    ASSERT_EQ(mx.size(), 1u);
    EXPECT_EQ(mx[0].owner.to_string(), "dupl.example.com.");
    EXPECT_EQ(dns::NameView(mx[0].rdata.subspan(2)).to_string(), "some.domain.");
    ASSERT_EQ(b.warnings.size(), 3u);
    for (const auto& w : b.warnings) {
        EXPECT_EQ(w.file, "z.zone");
        EXPECT_NE(w.message.find("duplicate record"), std::string::npos) << w.message;
        EXPECT_NE(w.message.find("the same as z.zone:5"), std::string::npos) << w.message;
    }
    std::vector<std::size_t> lines;
    for (const auto& w : b.warnings) lines.push_back(w.line);
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<std::size_t>{6, 7, 8}));
}

TEST(RrsetNormalisation, NamesOutsideTheCanonicalListKeepTheirCase) {
    // TXT is not a name-bearing type and NSEC's next name keeps its case (RFC 6840 §5.1): not duplicates.
    const Built b = build(
        "t TXT \"Some.Domain.\"\n"
        "t TXT \"some.domain.\"\n");
    ASSERT_TRUE(b.version);
    EXPECT_EQ(rrset(*b.version, "t.example.com.", RRType::TXT).size(), 2u);
    EXPECT_TRUE(b.warnings.empty());
}

TEST(RrsetNormalisation, RdataIsOrderedInCanonicalForm) {
    // Octet order would put "Mail" (0x4d) before "bail" (0x62); canonical order lower-cases first.
    const Built b = build(
        "@ MX 10 Mail.example.net.\n"
        "@ MX 10 bail.example.net.\n");
    ASSERT_TRUE(b.version);
    const auto mx = rrset(*b.version, "example.com.", RRType::MX);
    ASSERT_EQ(mx.size(), 2u);
    EXPECT_EQ(dns::NameView(mx[0].rdata.subspan(2)).to_string(), "bail.example.net.");
    EXPECT_EQ(dns::NameView(mx[1].rdata.subspan(2)).to_string(), "Mail.example.net.");
    EXPECT_LT(zone::compare_records(mx[0], mx[1]), 0);
}

TEST(RrsetNormalisation, AnRrsetGetsTheTtlOfItsFirstRecord) {
    const Built b = build(
        "ttl-mismatch 3600 A 192.0.2.1\n"
        "ttl-mismatch 3600 A 192.0.2.2\n"
        "ttl-mismatch 7200 A 192.0.2.3\n"
        "late 500 AAAA 2001:db8::2\n"
        "late 7200 AAAA 2001:db8::1\n");
    ASSERT_TRUE(b.version);
    for (const auto& r : rrset(*b.version, "ttl-mismatch.example.com.", RRType::A)) EXPECT_EQ(r.ttl, 3600u);
    // The first in the file, not the first in canonical order (2001:db8::1 sorts first).
    const auto late = rrset(*b.version, "late.example.com.", RRType::AAAA);
    ASSERT_EQ(late.size(), 2u);
    EXPECT_EQ(late[0].ttl, 500u);
    EXPECT_EQ(late[1].ttl, 500u);
    ASSERT_EQ(b.warnings.size(), 2u);
    EXPECT_EQ(b.warnings[0].line, 7u);
    EXPECT_NE(
        b.warnings[0].message.find("TTL 7200 of ttl-mismatch.example.com. A set to 3600, the TTL of its "
                                   "RRset at z.zone:5"),
        std::string::npos)
        << b.warnings[0].message;
    EXPECT_EQ(b.warnings[1].line, 9u);
}

TEST(RrsetNormalisation, ALaterRunOfTheSetGivesItsTtlAsBindDoes) {
    // BIND 9.18 (named-compilezone) on this text: a gets 500, c 100, e 200, f 200. A run is a sequence
    // of lines with the same owner, spelled alike; $TTL does not end one.
    const Built b = build(
        "a 3600 A 192.0.2.1\n"
        "a 7200 A 192.0.2.2\n"
        "b A 192.0.2.9\n"
        "a 500 A 192.0.2.3\n"
        "a 900 A 192.0.2.4\n"
        "c 100 A 192.0.2.1\n"
        "c 200 TXT x\n"
        "c 300 A 192.0.2.2\n"
        "d 100 A 192.0.2.1\n"
        "$TTL 50\n"
        "d A 192.0.2.2\n"
        "e 100 A 192.0.2.1\n"
        "E 200 A 192.0.2.2\n"
        "f 100 A 192.0.2.1\n"
        "x.f 1 A 192.0.2.1\n"
        "f 200 A 192.0.2.2\n");
    ASSERT_TRUE(b.version);
    const std::pair<std::string_view, uint32_t> expected[] = {
        {"a", 500}, {"c", 100}, {"d", 100}, {"e", 200}, {"f", 200}};
    for (const auto& [owner, ttl] : expected) {
        const auto set = rrset(*b.version, std::string(owner) + ".example.com.", RRType::A);
        ASSERT_EQ(set.size(), owner == "a" ? 4u : 2u) << owner;
        for (const auto& r : set) EXPECT_EQ(r.ttl, ttl) << owner;
    }
    EXPECT_EQ(rrset(*b.version, "c.example.com.", RRType::TXT)[0].ttl, 200u);
}

TEST(RrsetNormalisation, RrsigsFormOneSetPerCoveredType) {
    // RFC 4034 §3: each RRSIG carries its covered RRset's TTL; sets covering A and TXT may differ.
    const Built b = build(
        "s 300 A 192.0.2.1\n"
        "s 600 TXT hello\n"
        "s 300 RRSIG A 13 3 300 20300101000000 20200101000000 1 example.com. AAAA\n"
        "s 600 RRSIG TXT 13 3 600 20300101000000 20200101000000 1 example.com. AAAA\n"
        "s 900 RRSIG TXT 13 3 600 20300101000000 20200101000000 2 example.com. AAAA\n");
    ASSERT_TRUE(b.version);
    const auto sigs = rrset(*b.version, "s.example.com.", RRType::RRSIG);
    ASSERT_EQ(sigs.size(), 3u);
    EXPECT_EQ(sigs[0].ttl, 300u);  // covers A
    EXPECT_EQ(sigs[1].ttl, 600u);
    EXPECT_EQ(sigs[2].ttl, 600u);  // was 900: one TTL within the TXT signatures
    ASSERT_EQ(b.warnings.size(), 1u);
    EXPECT_EQ(b.warnings[0].line, 9u);
}

TEST(RrsetNormalisation, WarningsAreCappedAndCounted) {
    std::string body;
    for (std::size_t i = 0; i < zone::ZoneBuilder::kMaxWarnings + 7; ++i) body += "d A 192.0.2.1\n";
    const Built b = build(body);
    ASSERT_TRUE(b.version);
    EXPECT_EQ(rrset(*b.version, "d.example.com.", RRType::A).size(), 1u);
    EXPECT_EQ(b.warnings.size(), zone::ZoneBuilder::kMaxWarnings);
    EXPECT_EQ(b.suppressed, 6u);
}

TEST(RrsetNormalisation, DuplicateCnamesAreNotTwoCnames) {
    const Built b = build(
        "c CNAME target\n"
        "c CNAME Target\n");
    ASSERT_TRUE(b.version);
    EXPECT_EQ(rrset(*b.version, "c.example.com.", RRType::CNAME).size(), 1u);
}

TEST(RrsetNormalisation, ATtlChangeReplacesTheWholeSetInTheDiff) {
    // "example.com. 500 MX 20 dns1" appended at the end of a zone whose MX set is at 3600: the set (as BIND
    // reads the same file) is now at 500, and the diff replaces it whole, never adding a record whose TTL
    // differs from the records a secondary keeps (BIND: "add not exact").
    const Built v1 = build("@ MX 10 mail\nwww A 192.0.2.80\n");
    const Built v2 = build("@ MX 10 mail\nwww A 192.0.2.80\n@ 500 MX 20 dns1\n");
    ASSERT_TRUE(v1.version && v2.version);
    for (const auto& r : rrset(*v2.version, "example.com.", RRType::MX)) EXPECT_EQ(r.ttl, 500u);
    const zone::Changeset change = zone::diff(*v1.version, *v2.version);
    ASSERT_EQ(change.removed_count(), 1u);
    EXPECT_EQ(change.removed(0).ttl, 3600u);
    ASSERT_EQ(change.added_count(), 2u);
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(change.added(i).ttl, 500u);
    auto applied = zone::apply(*v1.version, change);
    ASSERT_TRUE(applied) << applied.error();
    EXPECT_TRUE((*applied)->same_content(*v2.version));
    // A record added in the same run keeps the set's TTL: the diff adds one record at 3600.
    const Built same_run = build("@ MX 10 mail\n@ 500 MX 20 dns1\nwww A 192.0.2.80\n");
    ASSERT_TRUE(same_run.version);
    const zone::Changeset add = zone::diff(*v1.version, *same_run.version);
    EXPECT_EQ(add.removed_count(), 0u);
    ASSERT_EQ(add.added_count(), 1u);
    EXPECT_EQ(add.added(0).ttl, 3600u);
}

TEST(RrsetNormalisation, ACaseChangeInsideRdataIsSentAsARemovalAndAnAddition) {
    const Built before = build("@ MX 10 Mail.example.net.\n");
    const Built after = build("@ MX 10 mail.example.net.\n");
    ASSERT_TRUE(before.version && after.version);
    const zone::Changeset c = zone::diff(*before.version, *after.version);
    ASSERT_EQ(c.removed_count(), 1u);
    ASSERT_EQ(c.added_count(), 1u);
    auto applied = zone::apply(*before.version, c);
    ASSERT_TRUE(applied) << applied.error();
    EXPECT_TRUE((*applied)->same_content(*after.version));
}

TEST(CanonicalRdata, LowerCasesNamesOfTheListedTypesOnly) {
    const Name target = n("Mail.Example.");
    std::vector<uint8_t> mx = {0, 10};
    mx.insert(mx.end(), target.wire().begin(), target.wire().end());
    std::vector<uint8_t> out;
    dns::append_canonical_rdata(RRType::MX, mx, out);
    EXPECT_EQ(dns::NameView(std::span(out).subspan(2)).to_string(), "mail.example.");
    // NSEC's next name is not lower-cased in canonical form (RFC 6840 §5.1), but is when folding case.
    std::vector<uint8_t> nsec(target.wire().begin(), target.wire().end());
    nsec.insert(nsec.end(), {0, 1, 0x40});
    out.clear();
    dns::append_canonical_rdata(RRType::NSEC, nsec, out);
    EXPECT_EQ(out, nsec);
    out.clear();
    dns::append_case_folded_rdata(RRType::NSEC, nsec, out);
    EXPECT_EQ(dns::NameView(out).to_string(), "mail.example.");
    EXPECT_EQ(dns::compare_canonical_rdata(RRType::NSEC, nsec, out), -1);  // 'M' < 'm'
    EXPECT_EQ(dns::compare_canonical_rdata(RRType::MX, mx, mx), 0);
}

TEST(ChangesetDecode, ListsInOctetOrderWithinAnRrsetAreSortedAgain) {
    // A changeset journaled when RDATA was ordered octet by octet: "Mail" before "bail".
    const Built base = build("");
    ASSERT_TRUE(base.version);
    const Built a = build("@ MX 10 Mail.example.net.\n@ MX 10 bail.example.net.\n");
    ASSERT_TRUE(a.version);
    const auto soa = base.version->soa().wire;
    zone::Changeset legacy(soa, soa);
    const auto mx = rrset(*a.version, "example.com.", RRType::MX);  // bail, Mail (canonical)
    legacy.add_added(mx[1].wire);
    legacy.add_added(mx[0].wire);
    std::vector<uint8_t> encoded;
    legacy.encode_to(encoded);
    auto decoded = zone::Changeset::decode(encoded);
    ASSERT_TRUE(decoded) << decoded.error();
    ASSERT_EQ(decoded->added_count(), 2u);
    EXPECT_LT(zone::compare_records(decoded->added(0), decoded->added(1)), 0);
    // RRsets out of order, or a record twice, are still refused.
    zone::Changeset twice(soa, soa);
    twice.add_added(mx[0].wire);
    twice.add_added(mx[0].wire);
    encoded.clear();
    twice.encode_to(encoded);
    EXPECT_FALSE(zone::Changeset::decode(encoded));
}
