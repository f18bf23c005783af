// Signing a zone version: which RRsets are signed (not glue, not the NS of a delegation), the NSEC and
// NSEC3 chains (empty non-terminals, delegations, opt-out), every signature verifying, and re-signing
// keeping what did not change. The validators' own verdict is in tests/system/test_signing.py.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "support/test_zone.h"
#include "zone/Changeset.h"
#include "zone/ZoneBuilder.h"
#include "zone/answer/Nsec3Hash.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/SignZone.h"

namespace headwater::sign {
namespace {

using dns::RRType;
using testing::build_zone;
using testing::name;

constexpr const char* kZone = R"(
$TTL 300
@        3600 IN SOA ns1 hostmaster 2026120501 7200 3600 1209600 600
@        IN NS  ns1
@        IN NS  ns2.provider.net.
@        IN MX  10 mail
ns1      IN A   192.0.2.1
mail     IN A   192.0.2.2
*.wild   IN TXT "wildcard"
www      IN CNAME mail
a.b.c    IN A   192.0.2.3
secure   IN NS  ns.secure
secure   IN DS  12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.secure IN A  192.0.2.4
insecure IN NS  ns.insecure
ns.insecure IN A 192.0.2.5
)";

constexpr uint32_t kNow = 1764892800;  // 2025-12-05

std::vector<SigningKey> csk(DnssecAlgorithm a = DnssecAlgorithm::EcdsaP256Sha256) {
    std::vector<SigningKey> keys;
    keys.push_back({DnssecKey::generate(a, kKskFlags).value(), true, true});
    return keys;
}

SignedZone sign(const zone::ZoneVersion& source, const std::vector<SigningKey>& keys, const SigningPolicy& p,
                const zone::ZoneVersion* previous = nullptr, uint32_t now = kNow) {
    SignOptions o;
    o.now = now;
    o.seed = 7;
    o.threads = 2;
    auto s = sign_zone(source, previous, keys, p, o);
    EXPECT_TRUE(s) << s.error();
    return s ? *s : SignedZone{};
}

// (owner text, type) -> records
std::multimap<std::pair<std::string, uint16_t>, zone::RecordView> by_set(const zone::ZoneVersion& v) {
    std::multimap<std::pair<std::string, uint16_t>, zone::RecordView> m;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        m.emplace(std::make_pair(r.owner.to_string(), dns::to_u16(r.type)), r);
    }
    return m;
}

std::set<std::pair<std::string, uint16_t>> signed_sets(const zone::ZoneVersion& v) {
    std::set<std::pair<std::string, uint16_t>> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type == RRType::RRSIG)
            out.emplace(r.owner.to_string(), dns::to_u16(read_rrsig(r.rdata)->covered));
    }
    return out;
}

// Every RRSIG checked against the key with its tag, over the RRset it covers.
void expect_all_signatures_verify(const zone::ZoneVersion& v, const std::vector<SigningKey>& keys) {
    std::size_t checked = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type != RRType::RRSIG) continue;
        const auto s = read_rrsig(r.rdata).value();
        const DnssecKey* key = nullptr;
        for (const auto& k : keys)
            if (k.key.tag() == s.key_tag) key = &k.key;
        ASSERT_NE(key, nullptr);
        const std::size_t head = 18 + dns::wire_name_length(r.rdata.subspan(18));
        std::vector<uint8_t> data(r.rdata.begin(), r.rdata.begin() + static_cast<std::ptrdiff_t>(head));
        const auto set = v.find_rrset(r.owner, s.covered);
        std::vector<zone::RecordView> rrset;
        for (std::size_t j = set.begin; j < set.end; ++j) rrset.push_back(v.record(j));
        ASSERT_FALSE(rrset.empty()) << r.owner.to_string();
        EXPECT_EQ(r.rdata[3], rrsig_labels(r.owner)) << r.owner.to_string();
        EXPECT_EQ(r.ttl, rrset.front().ttl);
        append_signed_rrset(rrset, rrset.front().ttl, data);
        EXPECT_TRUE(key->verify(data, r.rdata.subspan(head)))
            << r.owner.to_string() << " " << dns::to_string(s.covered);
        ++checked;
    }
    EXPECT_GT(checked, 10u);
}

TEST(SignZone, SignsAuthoritativeSetsOnlyAndEveryNameHasItsNsec) {
    const auto source = build_zone(kZone, "example.com.");
    const auto keys = csk();
    const SignedZone s = sign(*source, keys, SigningPolicy{});
    ASSERT_TRUE(s.version);
    const auto sets = signed_sets(*s.version);
    auto has = [&](std::string owner, RRType t) { return sets.count({owner, dns::to_u16(t)}) > 0; };
    EXPECT_TRUE(has("example.com.", RRType::SOA));
    EXPECT_TRUE(has("example.com.", RRType::NS));
    EXPECT_TRUE(has("example.com.", RRType::DNSKEY));
    EXPECT_TRUE(has("*.wild.example.com.", RRType::TXT));
    EXPECT_TRUE(has("www.example.com.", RRType::CNAME));
    EXPECT_TRUE(has("secure.example.com.", RRType::DS));
    EXPECT_TRUE(has("secure.example.com.", RRType::NSEC));
    // RFC 4035 §2.2: not the NS of a delegation, not glue.
    EXPECT_FALSE(has("secure.example.com.", RRType::NS));
    EXPECT_FALSE(has("insecure.example.com.", RRType::NS));
    EXPECT_FALSE(has("ns.secure.example.com.", RRType::A));
    EXPECT_FALSE(has("ns.insecure.example.com.", RRType::A));

    // The NSEC chain: every authoritative name and delegation, none for glue or empty non-terminals,
    // the last pointing at the apex.
    const auto m = by_set(*s.version);
    std::vector<std::string> owners;
    for (std::size_t i = 0; i < s.version->size(); ++i) {
        const auto r = s.version->record(i);
        if (r.type == RRType::NSEC) owners.push_back(r.owner.to_string());
    }
    const std::vector<std::string> expected{
        "example.com.",     "a.b.c.example.com.",  "insecure.example.com.", "mail.example.com.",
        "ns1.example.com.", "secure.example.com.", "*.wild.example.com.",   "www.example.com."};
    EXPECT_EQ(owners, expected);
    const auto last = m.find({"www.example.com.", dns::to_u16(RRType::NSEC)})->second;
    EXPECT_EQ(dns::NameView(last.rdata.subspan(0, dns::wire_name_length(last.rdata))).to_string(),
              "example.com.");
    EXPECT_EQ(last.ttl, 600u);  // RFC 9077: min(SOA TTL, MINIMUM)
    expect_all_signatures_verify(*s.version, keys);
    EXPECT_EQ(s.signatures_made, s.signatures);
    EXPECT_EQ(s.next_refresh, s.earliest_expiration - SigningPolicy{}.signature_refresh);
}

TEST(SignZone, Nsec3ChainCoversEmptyNonTerminalsAndOptOutLeavesInsecureDelegationsOut) {
    const auto source = build_zone(kZone, "example.com.");
    const auto keys = csk(DnssecAlgorithm::Ed25519);
    SigningPolicy p;
    p.denial = Denial::Nsec3;
    auto count_nsec3 = [](const zone::ZoneVersion& v) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < v.size(); ++i) n += v.record(i).type == RRType::NSEC3;
        return n;
    };
    const SignedZone full = sign(*source, keys, p);
    // apex, a.b.c + ENTs b.c and c, insecure, mail, ns1, secure, *.wild + ENT wild, www
    EXPECT_EQ(count_nsec3(*full.version), 11u);
    EXPECT_FALSE(full.version->find_rrset(name("example.com."), RRType::NSEC3PARAM).empty());
    const auto hashed = answer::nsec3_owner(name("b.c.example.com."), name("example.com."), 0, {});
    EXPECT_FALSE(full.version->find_rrset(dns::NameView(hashed), RRType::NSEC3).empty());
    expect_all_signatures_verify(*full.version, keys);

    p.nsec3.opt_out = true;
    const SignedZone opt_out = sign(*source, keys, p);
    EXPECT_EQ(count_nsec3(*opt_out.version), 10u);  // insecure. left out
    const auto insecure = answer::nsec3_owner(name("insecure.example.com."), name("example.com."), 0, {});
    EXPECT_TRUE(opt_out.version->find_rrset(dns::NameView(insecure), RRType::NSEC3).empty());
}

TEST(SignZone, ResigningKeepsSignaturesOfUnchangedSets) {
    const auto source = build_zone(kZone, "example.com.");
    const auto keys = csk();
    const SignedZone first = sign(*source, keys, SigningPolicy{});
    const std::string changed = std::string(kZone) + "new IN A 192.0.2.9\n";
    auto text = changed;
    text.replace(text.find("2026120501"), 10, "2026120502");
    const auto next_source = build_zone(text, "example.com.");
    const SignedZone second = sign(*next_source, keys, SigningPolicy{}, first.version.get(), kNow + 3600);
    // The SOA, new's A and NSEC, and mail's NSEC (it now points to new).
    EXPECT_EQ(second.signatures_made, 4u);
    EXPECT_EQ(second.signatures_kept, second.signatures - 4);
    expect_all_signatures_verify(*second.version, keys);

    // Nothing changed: nothing re-signed, the same content.
    const SignedZone again = sign(*next_source, keys, SigningPolicy{}, second.version.get(), kNow + 7200);
    EXPECT_EQ(again.signatures_made, 0u);
    EXPECT_TRUE(again.version->same_content(*second.version));

    // Inside the refresh window, every signature is made anew.
    const uint32_t later = kNow + SigningPolicy{}.signature_validity - SigningPolicy{}.signature_refresh;
    const SignedZone refreshed = sign(*next_source, keys, SigningPolicy{}, again.version.get(), later);
    EXPECT_EQ(refreshed.signatures_made, refreshed.signatures);
}

TEST(SignZone, SplitKeysSignTheDnskeySetWithTheKskOnly) {
    const auto source = build_zone(kZone, "example.com.");
    std::vector<SigningKey> keys;
    keys.push_back({DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kKskFlags).value(), true, false});
    keys.push_back({DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags).value(), false, true});
    const SignedZone s = sign(*source, keys, SigningPolicy{});
    for (std::size_t i = 0; i < s.version->size(); ++i) {
        const auto r = s.version->record(i);
        if (r.type != RRType::RRSIG) continue;
        const auto sig = read_rrsig(r.rdata).value();
        EXPECT_EQ(sig.key_tag, sig.covered == RRType::DNSKEY ? keys[0].key.tag() : keys[1].key.tag());
    }
    EXPECT_EQ(s.version->find_rrset(name("example.com."), RRType::DNSKEY).end -
                  s.version->find_rrset(name("example.com."), RRType::DNSKEY).begin,
              2u);
    expect_all_signatures_verify(*s.version, keys);
}

// The signed version is laid out as the zone builder would sort the same records (RFC 4034 §6.3): the
// NSEC chain is placed by node and the halves are assembled apart, and neither may change the order. A
// zone past the size where two threads assemble it; apex types above NSEC and DNSKEY; owners in mixed
// case; a CDS and CDNSKEY published; a KSK and a ZSK.
TEST(SignZone, SignedVersionIsInTheBuildersCanonicalOrder) {
    std::string text = kZone;
    text += "@ IN CAA 0 issue \"ca.example\"\n@ IN TYPE65 \\# 3 000100\n@ IN TXT \"apex\"\n";
    for (int i = 0; i < 30000; ++i) {
        text += (i % 3 == 0 ? "Host" : "host") + std::to_string(i) + " IN A 192.0.2." +
                std::to_string(i % 250) + "\n";
        if (i % 7 == 0) text += "host" + std::to_string(i) + " IN TXT \"t" + std::to_string(i) + "\"\n";
        if (i % 101 == 0) text += "cut" + std::to_string(i) + " IN NS ns.cut" + std::to_string(i) + "\n";
    }
    const auto source = build_zone(text, "example.com.");
    ASSERT_GT(source->size(), 1u << 15);
    std::vector<SigningKey> keys;
    keys.push_back(
        {DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kKskFlags).value(), true, false, true});
    keys.push_back({DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags).value(), false, true});
    for (const Denial d : {Denial::Nsec, Denial::Nsec3}) {
        SCOPED_TRACE(d == Denial::Nsec ? "nsec" : "nsec3");
        SigningPolicy p;
        p.denial = d;
        const SignedZone s = sign(*source, keys, p);
        ASSERT_TRUE(s.version);
        zone::ZoneBuilder builder(name("example.com."));
        for (std::size_t i = 0; i < s.version->size(); ++i) {
            const auto r = s.version->record(i);
            ASSERT_TRUE(builder.add(r.owner.wire(), dns::to_u16(r.type), r.rclass, r.ttl, r.rdata, "t", i));
        }
        auto rebuilt = builder.build();
        ASSERT_TRUE(rebuilt);
        EXPECT_TRUE((*rebuilt)->same_content(*s.version));
        EXPECT_EQ((*rebuilt)->soa_index(), s.version->soa_index());
        EXPECT_FALSE(s.version->find_rrset(name("example.com."), static_cast<RRType>(59)).empty());
    }
}

TEST(SignZone, UnsignedSourceIsRequiredAndStrippingGivesItBack) {
    const auto source = build_zone(kZone, "example.com.");
    EXPECT_TRUE(check_unsigned(*source));
    const SignedZone s = sign(*source, csk(), SigningPolicy{});
    auto refused = check_unsigned(*s.version);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("must be unsigned"), std::string::npos) << refused.error();
    EXPECT_TRUE(strip_dnssec(*s.version)->same_content(*source));
}

// The non-RRSIG records of a version as text (owner, type, TTL, RDATA octets), and the (owner, type, key
// tag) of each RRSIG.
std::set<std::string> data_records(const zone::ZoneVersion& v) {
    std::set<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type == RRType::RRSIG) continue;
        out.insert(r.owner.to_string() + " " + std::to_string(r.ttl) + " " + dns::to_string(r.type) + " " +
                   std::string(r.rdata.begin(), r.rdata.end()));
    }
    return out;
}

std::set<std::tuple<std::string, uint16_t, uint16_t>> signature_keys(const zone::ZoneVersion& v) {
    std::set<std::tuple<std::string, uint16_t, uint16_t>> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type != RRType::RRSIG) continue;
        const auto s = read_rrsig(r.rdata).value();
        out.emplace(r.owner.to_string(), dns::to_u16(s.covered), s.key_tag);
    }
    return out;
}

struct OneChange {
    const char* what;
    const char* from;  // a line of kZone ("" adds `to`)
    const char* to;    // its replacement ("" deletes it)
    bool incremental;  // sign_changes derives it (else the whole zone is signed)
};

// Each change, with the serial raised, signed by sign_changes from a full signing of kZone: where it
// derives the change, the same records as a fresh full signing of the new source and as sign_zone reusing
// the previous version, every RRset signed once per key, every signature valid, and the changeset what a
// diff of the two signed versions gives; elsewhere nothing, for the caller to sign the whole zone.
void expect_changes_signed_as_a_full_signing(const SigningPolicy& p) {
    const std::vector<OneChange> changes = {
        {"an A record's address", "mail     IN A   192.0.2.2", "mail     IN A   192.0.2.99", true},
        {"an A record's TTL", "ns1      IN A   192.0.2.1", "ns1 77   IN A   192.0.2.1", true},
        {"a second record in an RRset", "", "mail IN A 192.0.2.77", true},
        {"at a wildcard", "*.wild   IN TXT \"wildcard\"", "*.wild   IN TXT \"other\"", true},
        {"below empty non-terminals", "a.b.c    IN A   192.0.2.3", "a.b.c    IN A   192.0.2.33", true},
        {"a CNAME's target", "www      IN CNAME mail", "www      IN CNAME ns1", true},
        {"a new name", "", "new IN A 192.0.2.9", false},
        {"a name deleted", "mail     IN A   192.0.2.2", "", false},
        {"a new type at a name", "", "mail IN TXT \"x\"", false},
        {"a new name making an empty non-terminal real", "", "b.c IN A 192.0.2.8", false},
        {"glue", "ns.secure IN A  192.0.2.4", "ns.secure IN A  192.0.2.44", false},
        {"a delegation's DS",
         "secure   IN DS  12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "secure   IN DS  12346 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         false},
        {"a new delegation", "", "newcut IN NS ns1.example.com.", false},
        {"at the apex", "@        IN MX  10 mail", "@        IN MX  20 mail", false},
    };
    const auto keys = csk();
    const auto before = build_zone(kZone, "example.com.");
    const SignedZone first = sign(*before, keys, p);
    for (const OneChange& c : changes) {
        SCOPED_TRACE(c.what);
        std::string text = kZone;
        text.replace(text.find("2026120501"), 10, "2026120502");
        if (*c.from == '\0') {
            text += std::string(c.to) + "\n";
        } else {
            ASSERT_NE(text.find(c.from), std::string::npos);
            text.replace(text.find(c.from), std::strlen(c.from), c.to);
        }
        const auto after = build_zone(text, "example.com.");
        const uint32_t now = kNow + 3600;
        SignOptions o;
        o.now = now;
        o.seed = 11;
        const PreviousSigning prev{before.get(), first.version.get(), kNow, first.earliest_expiration,
                                   first.signatures};
        auto inc = sign_changes(*after, prev, keys, p, o);
        ASSERT_TRUE(inc) << inc.error();
        EXPECT_EQ(inc->has_value(), c.incremental);
        if (!*inc) continue;
        const SignedZone& got = (*inc)->zone;
        const SignedZone fresh = sign(*after, keys, p, nullptr, now);
        const SignedZone reused = sign(*after, keys, p, first.version.get(), now);
        EXPECT_EQ(data_records(*got.version), data_records(*fresh.version));
        EXPECT_EQ(signature_keys(*got.version), signature_keys(*fresh.version));
        EXPECT_EQ(got.signatures, fresh.signatures);
        EXPECT_EQ(got.signatures_made, reused.signatures_made);
        EXPECT_EQ(got.signatures_kept, reused.signatures_kept);
        EXPECT_EQ(got.version->serial().value(), 2026120502u);
        expect_all_signatures_verify(*got.version, keys);
        EXPECT_TRUE(zone::diff(*first.version, *got.version) == (*inc)->changes);
        // Apart from the new signatures, the records sign_zone gives when it reuses the previous version.
        std::size_t same = 0;
        for (std::size_t i = 0; i < got.version->size(); ++i) {
            const auto r = got.version->record(i);
            const auto there = reused.version->find_name(r.owner);
            for (std::size_t j = there.begin; j < there.end; ++j)
                same += std::ranges::equal(reused.version->record(j).wire, r.wire);
        }
        EXPECT_EQ(same, got.version->size() - got.signatures_made);
    }
}

TEST(SignZone, ChangesAreSignedAsAFullSigningWouldNsec) {
    expect_changes_signed_as_a_full_signing(SigningPolicy{});
}

TEST(SignZone, ChangesAreSignedAsAFullSigningWouldNsec3) {
    SigningPolicy p;
    p.denial = Denial::Nsec3;
    expect_changes_signed_as_a_full_signing(p);
}

// The incremental path is taken only while every kept signature would be kept by a full signing.
TEST(SignZone, ChangesAreNotSignedIncrementallyWhenSignaturesAreDue) {
    const auto keys = csk();
    const auto before = build_zone(kZone, "example.com.");
    const SignedZone first = sign(*before, keys, SigningPolicy{});
    std::string text = kZone;
    text.replace(text.find("2026120501"), 10, "2026120502");
    text.replace(text.find("192.0.2.2"), 9, "192.0.2.7");
    const auto after = build_zone(text, "example.com.");
    const PreviousSigning prev{before.get(), first.version.get(), kNow, first.earliest_expiration,
                               first.signatures};
    SignOptions o;
    o.now = kNow + SigningPolicy{}.signature_validity - SigningPolicy{}.signature_refresh;
    auto due = sign_changes(*after, prev, keys, SigningPolicy{}, o);
    ASSERT_TRUE(due);
    EXPECT_FALSE(due->has_value());
    o.now = kNow - 10;  // the clock went back: the previous signatures' inception may be ahead
    auto back = sign_changes(*after, prev, keys, SigningPolicy{}, o);
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->has_value());
    o.now = kNow + 10;
    o.reuse = false;
    auto all = sign_changes(*after, prev, keys, SigningPolicy{}, o);
    ASSERT_TRUE(all);
    EXPECT_FALSE(all->has_value());
}

}  // namespace
}  // namespace headwater::sign
