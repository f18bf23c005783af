// Tests for ZoneSigner's key timing (zone/sign/ZoneSigner.h): the keys that sign are those their timing
// makes active, and a timing boundary of an imported key makes the zone due for signing when it passes.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/test_zone.h"
#include "zone/dns/Base64.h"
#include "zone/sign/Rrsig.h"
#include "zone/sign/ZoneSigner.h"

namespace headwater::sign {
namespace {

using testing::build_zone;
using testing::name;
using Clock = std::chrono::system_clock;

constexpr std::string_view kZone = R"($TTL 300
@   IN SOA ns1 hostmaster 1 3600 600 1209600 300
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
)";

// The key tags of the RRSIGs over `type` in a signed version, each once.
std::vector<uint16_t> signer_tags(const zone::ZoneVersion& v, dns::RRType type) {
    std::vector<uint16_t> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (r.type != dns::RRType::RRSIG) continue;
        const auto sig = read_rrsig(r.rdata);
        if (sig && sig->covered == type) out.push_back(sig->key_tag);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

TEST(ZoneSigner, AnImportedKeySignsFromItsActivateAndTheBoundaryMakesTheZoneDue) {
    const auto dir = std::filesystem::temp_directory_path() / ("hw-signer-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    SigningPolicy policy;
    policy.split_keys = true;
    ZoneSigner signer(name("example.com."), policy, false, dir / "keys");
    const auto source = build_zone(kZone, "example.com.");
    const auto t0 = Clock::from_time_t(1'800'000'000);
    auto first = signer.sign(source, nullptr, t0, true);
    ASSERT_TRUE(first) << first.error();
    auto keys = signer.keys(t0);
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 2u);
    uint16_t zsk = 0;
    for (const auto& k : *keys)
        if (k.role == "zsk") zsk = k.tag;
    EXPECT_EQ(signer_tags(*first->version, dns::RRType::A), std::vector<uint16_t>{zsk});

    // A ZSK made elsewhere, published now and active in 100 s.
    auto other = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags);
    ASSERT_TRUE(other);
    KeyTiming timing;
    timing.created = Clock::to_time_t(t0);
    timing.publish = Clock::to_time_t(t0);
    timing.activate = Clock::to_time_t(t0) + 100;
    std::filesystem::create_directories(dir / "elsewhere");
    auto base = write_key_files(dir / "elsewhere", name("example.com."), *other, 3600, timing);
    ASSERT_TRUE(base) << base.error();
    auto imported = signer.import(*base, t0);
    ASSERT_TRUE(imported) << imported.error();
    EXPECT_EQ(imported->state, "published");
    auto second = signer.sign(source, first->version.get(), t0, false);
    ASSERT_TRUE(second) << second.error();
    EXPECT_EQ(signer_tags(*second->version, dns::RRType::A), std::vector<uint16_t>{zsk}) << "not active yet";

    EXPECT_EQ(signer.next_timing_event(t0), Clock::to_time_t(t0) + 100);
    const uint64_t generation = signer.key_generation();
    EXPECT_FALSE(signer.timing_passed(t0 + std::chrono::seconds(99)));
    EXPECT_TRUE(signer.timing_passed(t0 + std::chrono::seconds(100)));
    EXPECT_GT(signer.key_generation(), generation);
    auto third = signer.sign(source, second->version.get(), t0 + std::chrono::seconds(100), false);
    ASSERT_TRUE(third) << third.error();
    std::vector<uint16_t> both{zsk, other->tag()};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(signer_tags(*third->version, dns::RRType::A), both);
    EXPECT_FALSE(signer.timing_passed(t0 + std::chrono::seconds(100)));  // signed with them now
    EXPECT_FALSE(signer.next_timing_event(t0 + std::chrono::seconds(100)));
    std::filesystem::remove_all(dir);
}

// What a rollover observed (a step's serial and propagation, the secondaries and their serials) is read
// back by the signer of a restarted server.
TEST(ZoneSigner, RolloverStateSurvivesARestart) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hw-signer-state-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    SigningPolicy policy;
    policy.split_keys = true;
    const auto t0 = Clock::from_time_t(1'800'000'000);
    uint16_t zsk = 0;
    {
        ZoneSigner signer(name("example.com."), policy, false, dir);
        auto keys = signer.rollover_keys(t0);
        ASSERT_TRUE(keys) << keys.error();
        for (const auto& k : *keys)
            if (!k.sep) zsk = k.tag;
        RolloverDecision d;
        d.action = RolloverAction::Record;
        RolloverKey updated;
        for (const auto& k : *keys)
            if (k.tag == zsk) updated = k;
        updated.retired = {2026120705, 1'800'000'010, 1'800'000'020};
        d.updated = updated;
        ASSERT_TRUE(signer.apply_rollover(d, t0));
        auto unseen = signer.remember_secondaries(
            {{"192.0.2.1", 2026120705}, {"192.0.2.2 (key k)", std::nullopt}}, t0, 86400, true);
        ASSERT_TRUE(unseen);
        EXPECT_TRUE(unseen->empty());
    }
    ZoneSigner again(name("example.com."), policy, false, dir);
    auto keys = again.rollover_keys(t0 + std::chrono::seconds(60));
    ASSERT_TRUE(keys) << keys.error();
    bool found = false;
    for (const auto& k : *keys) {
        if (k.tag != zsk) continue;
        found = true;
        EXPECT_EQ(k.retired, (StepRecord{2026120705, 1'800'000'010, 1'800'000'020}));
    }
    EXPECT_TRUE(found);
    // The ledger of the restarted server knows nobody yet: both are remembered, with what they held.
    auto unseen = again.remember_secondaries({}, t0 + std::chrono::seconds(60), 86400, true);
    ASSERT_TRUE(unseen) << unseen.error();
    ASSERT_EQ(unseen->size(), 2u);
    EXPECT_EQ((*unseen)[0].peer, "192.0.2.1");
    EXPECT_EQ((*unseen)[0].serial, 2026120705u);
    EXPECT_EQ((*unseen)[1].peer, "192.0.2.2 (key k)");
    EXPECT_FALSE((*unseen)[1].serial);
    // Not seen for longer than forget_after: forgotten.
    unseen = again.remember_secondaries({}, t0 + std::chrono::seconds(86400 + 61), 86400, true);
    ASSERT_TRUE(unseen);
    EXPECT_TRUE(unseen->empty());
    std::filesystem::remove_all(dir);
}

// A line of rollover.state this server would not write stops the keys from loading, named by file and
// line: a rollover must not go on from a state it half understood.
TEST(ZoneSigner, AnUnreadableRolloverStateLineIsNamed) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hw-signer-badstate-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const auto t0 = Clock::from_time_t(1'800'000'000);
    {
        ZoneSigner signer(name("example.com."), SigningPolicy{}, false, dir);
        ASSERT_TRUE(signer.rollover_keys(t0));
        ASSERT_TRUE(signer.remember_secondaries({{"192.0.2.1", 7}}, t0, 86400, true));
    }
    std::filesystem::path state;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.path().filename() == "rollover.state") state = e.path();
    ASSERT_FALSE(state.empty());
    std::string good;
    {
        std::ifstream in(state);
        good.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto lines = std::count(good.begin(), good.end(), '\n');
    {
        // Every kind of line this server writes, well formed: read back without complaint.
        std::ofstream(state) << good << "# a comment\n\n"
                             << "4711 generated 1800000000\n4711 ds-seen 1800000100 3600\n";
        ZoneSigner signer(name("example.com."), SigningPolicy{}, false, dir);
        auto keys = signer.rollover_keys(t0);
        EXPECT_TRUE(keys) << keys.error();
    }
    for (const std::string bad :
         {"70000 generated 5", "4711 generated", "4711 ds-seen 5", "4711 ds-seen 5 -1", "4711 retired x",
          "4711 activated 1 2 3", "secondary x", "hello"}) {
        SCOPED_TRACE(bad);
        std::ofstream(state) << good << bad << "\n";
        ZoneSigner signer(name("example.com."), SigningPolicy{}, false, dir);
        auto keys = signer.rollover_keys(t0);
        ASSERT_FALSE(keys);
        EXPECT_NE(
            keys.error().find("rollover.state:" + std::to_string(lines + 1) + ": unreadable line " + bad),
            std::string::npos)
            << keys.error();
    }
    std::filesystem::remove_all(dir);
}

// The RDATAs of the records of type `type` at the apex of a signed version.
std::vector<std::vector<uint8_t>> apex_rdatas(const zone::ZoneVersion& v, uint16_t type) {
    std::vector<std::vector<uint8_t>> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (dns::to_u16(r.type) == type && r.owner == v.apex())
            out.emplace_back(r.rdata.begin(), r.rdata.end());
    }
    return out;
}

// A CSK rollover carried out by the signer step by step (SepRollover.h): the successor signs beside the
// old key, then takes the data over with its CDS/CDNSKEY published while the old key still signs the
// DNSKEY RRset, then the old key and the CDS leave. The parent's DS, once confirmed, survives a restart.
TEST(ZoneSigner, ACskRolloverSignsWithTheKeysEachStepCallsFor) {
    const auto dir = std::filesystem::temp_directory_path() / ("hw-signer-csk-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    SigningPolicy policy;
    ZoneSigner signer(name("example.com."), policy, true, dir);
    const auto source = build_zone(kZone, "example.com.");
    auto t = Clock::from_time_t(1'800'000'000);
    auto v = signer.sign(source, nullptr, t, true);
    ASSERT_TRUE(v) << v.error();
    const uint16_t old = signer_tags(*v->version, dns::RRType::A).at(0);
    auto step = [&](const RolloverDecision& d) {
        t += std::chrono::seconds(10);
        ASSERT_TRUE(signer.apply_rollover(d, t));
        auto next = signer.sign(source, v->version.get(), t, false);
        ASSERT_TRUE(next) << next.error();
        v = std::move(next);
    };
    RolloverDecision generate;
    generate.action = RolloverAction::Generate;
    generate.sep = true;
    step(generate);
    auto keys = signer.keys(t);
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 2u);
    const uint16_t successor = keys->at(0).tag == old ? keys->at(1).tag : keys->at(0).tag;
    std::vector<uint16_t> both{old, successor};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(signer_tags(*v->version, dns::RRType::DNSKEY), both);
    EXPECT_EQ(signer_tags(*v->version, dns::RRType::A), both) << "double signatures while both are CSKs";
    EXPECT_TRUE(apex_rdatas(*v->version, 59).empty()) << "no CDS yet";
    EXPECT_FALSE(signer.confirm_ds(successor, t)) << "no CDS published: nothing to confirm";

    RolloverDecision take_over;
    take_over.action = RolloverAction::Activate;
    take_over.sep = true;
    take_over.tag = successor;
    take_over.retire = {old};
    step(take_over);
    EXPECT_EQ(signer_tags(*v->version, dns::RRType::DNSKEY), both) << "the old DS may still be cached";
    EXPECT_EQ(signer_tags(*v->version, dns::RRType::A), std::vector<uint16_t>{successor});
    const auto cds = apex_rdatas(*v->version, 59);
    const auto cdnskey = apex_rdatas(*v->version, 60);
    ASSERT_EQ(cds.size(), 1u);
    ASSERT_EQ(cdnskey.size(), 1u);
    EXPECT_EQ(key_tag(cdnskey[0]), successor);
    EXPECT_EQ(cds[0], ds_rdata(name("example.com.").wire(), cdnskey[0]));
    EXPECT_EQ(signer_tags(*v->version, static_cast<dns::RRType>(59)), both) << "signed as the DNSKEY RRset";
    EXPECT_FALSE(signer.confirm_ds(old, t));
    ASSERT_TRUE(signer.confirm_ds(successor, t));

    RolloverDecision remove;
    remove.action = RolloverAction::Remove;
    remove.sep = true;
    remove.tag = old;
    remove.sync_end = successor;
    step(remove);
    EXPECT_EQ(signer_tags(*v->version, dns::RRType::DNSKEY), std::vector<uint16_t>{successor});
    EXPECT_EQ(apex_rdatas(*v->version, 48).size(), 1u);
    EXPECT_TRUE(apex_rdatas(*v->version, 59).empty()) << "the CDS withdrawn";

    ZoneSigner again(name("example.com."), policy, true, dir);
    auto after = again.rollover_keys(t);
    ASSERT_TRUE(after) << after.error();
    const auto kept = std::ranges::find_if(*after, [&](const RolloverKey& k) { return k.tag == successor; });
    ASSERT_NE(kept, after->end());
    EXPECT_EQ(kept->ds_seen, Clock::to_time_t(t) - 10) << "confirmed one step earlier";
    EXPECT_EQ(kept->ds_ttl, policy.parent_ds_ttl);
    EXPECT_TRUE(kept->generated) << "a successor of ours, after a restart too";
    std::filesystem::remove_all(dir);
}

// Multi-signer (RFC 8901 model 2): the other signers' keys are published beside ours and signed by our
// KSK only; the CDS names every signer's KSK; what their servers gave survives a restart; a key of an
// algorithm Headwater cannot read is refused with the set left as it was.
TEST(ZoneSigner, TheOtherSignersKeysArePublishedAndSignedByOurKsk) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hw-signer-multi-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    SigningPolicy policy;
    policy.split_keys = true;
    const auto t0 = Clock::from_time_t(1'800'000'000);
    const auto source = build_zone(kZone, "example.com.");
    auto their_ksk = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kKskFlags).value();
    auto their_zsk = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags).value();
    std::vector<uint16_t> ours;
    {
        ZoneSigner signer(name("example.com."), policy, false, dir);
        auto keys = signer.keys(t0);
        ASSERT_TRUE(keys);
        std::vector<std::vector<uint8_t>> served{their_ksk.dnskey_rdata(), their_zsk.dnskey_rdata()};
        uint16_t our_ksk = 0;
        for (const auto& k : *keys) {
            ours.push_back(k.tag);
            if (k.role == "ksk") our_ksk = k.tag;
        }
        // Their servers serve our keys too (each signer publishes every signer's): ours are left out.
        auto signed_once = signer.sign(source, nullptr, t0, true);
        ASSERT_TRUE(signed_once);
        for (const auto& rdata : apex_rdatas(*signed_once->version, 48)) served.push_back(rdata);
        const uint64_t generation = signer.key_generation();
        auto changed = signer.set_foreign_keys(ZoneSigner::ForeignSource::Fetched, served, t0);
        ASSERT_TRUE(changed) << changed.error();
        EXPECT_TRUE(*changed);
        EXPECT_GT(signer.key_generation(), generation);
        EXPECT_FALSE(*signer.set_foreign_keys(ZoneSigner::ForeignSource::Fetched, served, t0));
        ASSERT_EQ(signer.foreign_keys().size(), 2u);

        auto v = signer.sign(source, signed_once->version.get(), t0, false);
        ASSERT_TRUE(v) << v.error();
        EXPECT_EQ(apex_rdatas(*v->version, 48).size(), 4u);
        EXPECT_EQ(signer_tags(*v->version, dns::RRType::DNSKEY), std::vector<uint16_t>{our_ksk});
        std::vector<uint16_t> cds;
        for (const auto& rdata : apex_rdatas(*v->version, 60)) cds.push_back(key_tag(rdata));
        std::vector<uint16_t> ksks{our_ksk, their_ksk.tag()};
        std::sort(cds.begin(), cds.end());
        std::sort(ksks.begin(), ksks.end());
        EXPECT_EQ(cds, std::vector<uint16_t>{our_ksk}) << "a fetched KSK is not offered to the parent";
        EXPECT_EQ(apex_rdatas(*v->version, 59).size(), 1u);

        // Their KSK given in the file (the operator's word): the CDS names every signer's KSK.
        const auto pinned = dir / "pinned.dnskey";
        std::ofstream(pinned) << "example.com. 3600 IN DNSKEY 257 3 13 "
                              << dns::base64_encode(their_ksk.public_key()) << "\n";
        signer.set_foreign_file(pinned);
        auto read = signer.reload_foreign_file(t0);
        ASSERT_TRUE(read) << read.error();
        EXPECT_TRUE(*read) << "known from the fetch, but its place in the CDS changes";
        v = signer.sign(source, v->version.get(), t0, false);
        ASSERT_TRUE(v) << v.error();
        cds.clear();
        for (const auto& rdata : apex_rdatas(*v->version, 60)) cds.push_back(key_tag(rdata));
        std::sort(cds.begin(), cds.end());
        EXPECT_EQ(cds, ksks) << "the CDNSKEY names every signer's KSK";
        EXPECT_EQ(apex_rdatas(*v->version, 59).size(), 2u);

        auto ed448 = their_zsk.dnskey_rdata();
        ed448[3] = 16;
        auto refused = signer.set_foreign_keys(ZoneSigner::ForeignSource::Fetched, {ed448}, t0);
        ASSERT_FALSE(refused);
        EXPECT_NE(refused.error().find("not supported"), std::string::npos) << refused.error();
        EXPECT_EQ(signer.foreign_keys().size(), 2u) << "left as it was";
    }
    ZoneSigner again(name("example.com."), policy, false, dir);
    ASSERT_TRUE(again.keys(t0));
    EXPECT_EQ(again.foreign_keys().size(), 2u) << "kept in foreign.dnskey across a restart";

    // The file: DNSKEY lines, read again on request; a line that is not one names its number.
    const auto file = dir / "provider-b.dnskey";
    std::ofstream(file) << "; provider B\nexample.com. 3600 IN DNSKEY 256 3 13 "
                        << dns::base64_encode(their_zsk.public_key()) << "\n";
    again.set_foreign_file(file);
    auto read = again.reload_foreign_file(t0);
    ASSERT_TRUE(read) << read.error();
    EXPECT_EQ(again.foreign_keys().size(), 2u) << "the same key as fetched, listed once";
    EXPECT_EQ(std::ranges::count_if(again.foreign_keys(), [](const auto& k) { return k.source == "file"; }),
              1);
    std::ofstream(file) << "example.com. 3600 IN DNSKEY 256 3 13 AAAA\nexample.com. IN A 192.0.2.1\n";
    read = again.reload_foreign_file(t0);
    ASSERT_FALSE(read);
    EXPECT_NE(read.error().find("line 2"), std::string::npos) << read.error();

    // The watch's reads (not `always`) skip a file that did not change since the last good read, but
    // never miss an edit: one key swapped for another of the same size, at once, with the time set back.
    std::ofstream(file) << "; provider B\nexample.com. 3600 IN DNSKEY 256 3 13 "
                        << dns::base64_encode(their_zsk.public_key()) << "\n";
    read = again.reload_foreign_file(t0, false);
    ASSERT_TRUE(read) << "read: the last read failed; " << read.error();
    read = again.reload_foreign_file(t0, false);
    ASSERT_TRUE(read) << read.error();
    EXPECT_FALSE(*read) << "nothing changed";
    const auto stamp = std::filesystem::last_write_time(file);
    const auto other = DnssecKey::generate(DnssecAlgorithm::EcdsaP256Sha256, kZskFlags).value();
    std::ofstream(file) << "; provider B\nexample.com. 3600 IN DNSKEY 256 3 13 "
                        << dns::base64_encode(other.public_key()) << "\n";
    std::filesystem::last_write_time(file, stamp);
    read = again.reload_foreign_file(t0, false);
    ASSERT_TRUE(read) << read.error();
    EXPECT_TRUE(*read) << "the new key is read";
    EXPECT_EQ(
        std::ranges::count_if(again.foreign_keys(), [&](const auto& k) { return k.tag == other.tag(); }), 1);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace headwater::sign
