// The signer of one zone: its policy and its keys, kept in BIND's file format in a directory of their own
// (generated there on first use; a key pair copied there, or imported, is used as it is), signing the
// versions its Zone asks for (zone::ZoneSigning).
//
// Key roles follow the keys' flags: a key with the SEP flag (257) signs the DNSKEY RRset; the others (256)
// sign the rest of the zone; with no key without SEP, the SEP keys sign everything (a combined signing key,
// CSK). So a KSK/ZSK pair imported from BIND keeps working as such whatever the policy's `keys` says, which
// only decides what is generated for a zone that has no key yet.
#pragma once

#include <atomic>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "zone/ZoneSigning.h"
#include "zone/sign/KeyFiles.h"
#include "zone/sign/SignZone.h"
#include "zone/sign/ZskRollover.h"

namespace headwater::sign {

class ZoneSigner final : public zone::ZoneSigning {
  public:
    // `log` receives one line per event worth an operator's attention (a key generated or imported).
    ZoneSigner(dns::Name apex, SigningPolicy policy, bool generate_csk, std::filesystem::path key_dir,
               std::function<void(const std::string&)> log = {});

    Result<void, std::string> check_source(const zone::ZoneVersion& source) const override;
    zone::ZoneVersionPtr source_of(const zone::ZoneVersion& signed_version) const override;
    uint64_t key_generation() const override { return key_generation_.load(std::memory_order_acquire); }
    Result<Signed, std::string> sign(const zone::ZoneVersionPtr& source, const zone::ZoneVersion* previous,
                                     Clock::time_point now, bool all) override;

    const SigningPolicy& policy() const { return policy_; }
    const std::filesystem::path& key_dir() const { return key_dir_; }

    struct KeyInfo {
        uint16_t tag = 0;
        DnssecAlgorithm algorithm{};
        uint16_t flags = 0;
        std::string role;   // "csk", "ksk" or "zsk"
        std::string state;  // "active", "published" (a successor), "retired", "removed", "generated"
        KeyTiming timing;
        std::time_t created = 0;
        std::string file;    // the key pair's base name
        std::string dnskey;  // "<zone>. <ttl> IN DNSKEY ..."
        std::string ds;      // "<zone>. IN DS <tag> <alg> 2 <sha-256>" (SEP keys only, RFC 4509)
        bool cds = false;    // its CDS and CDNSKEY are published (a KSK or CSK rollover asks the parent)
    };
    // The zone's keys (loaded, or generated, first if need be).
    Result<std::vector<KeyInfo>, std::string> keys(Clock::time_point now);

    // Copies the key pair `file` (either of its two files) into the key directory after checking it is
    // a key of this zone; the next signing uses it.
    Result<KeyInfo, std::string> import(const std::filesystem::path& file, Clock::time_point now);

    // Rollovers (ZskRollover.h): the zone's keys with their timing and the steps recorded so far (in
    // rollover.state beside the keys).
    Result<std::vector<RolloverKey>, std::string> rollover_keys(Clock::time_point now);
    // Carries out one decision of plan_zsk_rollover, durably, before the signer acts on it: the key files
    // and rollover.state are written first. A key change bumps key_generation(), so the zone re-signs.
    Result<void, std::string> apply_rollover(const RolloverDecision& decision, Clock::time_point now);
    // What the rollover last said, for `dnssec status`.
    struct RolloverStatus {
        std::string status;
        std::optional<std::time_t> wake;
    };
    void set_rollover_status(RolloverStatus status);
    RolloverStatus rollover_status() const;
    // What the parent's servers last said of the zone's DS (server/ParentDs.h), for KSK and CSK rollovers.
    void set_parent_ds(ParentDs parent);
    ParentDs parent_ds() const;
    // Multi-signer (RFC 8901 §2.1.2, model 2): the DNSKEYs of the zone's other signers, published in the
    // DNSKEY RRset beside ours and signed by our KSK or CSK, so that a resolver holding our DNSKEY RRset
    // validates what another provider signed; their KSKs join our CDS/CDNSKEY. From two sources: the
    // zone's foreign_dnskeys file, and the other signers' servers (multi_signer). Ours among them are left
    // out. Returns whether the set changed (the zone must be signed again); a key Headwater cannot read
    // (an unknown algorithm) is refused with the reason, the set left as it was.
    enum class ForeignSource : uint8_t { File, Fetched };
    Result<bool, std::string> set_foreign_keys(ForeignSource source,
                                               const std::vector<std::vector<uint8_t>>& rdatas,
                                               Clock::time_point now);
    // Reads the foreign_dnskeys file again (nothing when the zone has none). Unless `always`, only when
    // it changed (inode, size, times) since a read that succeeded: the watch asks every pass.
    Result<bool, std::string> reload_foreign_file(Clock::time_point now, bool always = true);
    struct ForeignKey {
        uint16_t tag = 0;
        uint16_t flags = 0;
        uint8_t algorithm = 0;
        std::string source;  // "file" or "fetched"
        std::string dnskey;  // "<zone>. <ttl> IN DNSKEY ..."
    };
    std::vector<ForeignKey> foreign_keys() const;
    // The other signers' KSKs from the file: what authenticates the keys their servers serve.
    std::vector<std::vector<uint8_t>> pinned_ksks() const {
        const std::lock_guard lock(mutex_);
        std::vector<std::vector<uint8_t>> out;
        for (const auto& rdata : foreign_from_file_)
            if (rdata.size() >= 2 && (rdata[1] & kSecureEntryPoint) != 0) out.push_back(rdata);
        return out;
    }
    // The fetched ones as last kept (foreign.dnskey).
    std::vector<std::vector<uint8_t>> fetched_foreign() const {
        const std::lock_guard lock(mutex_);
        return foreign_fetched_;
    }
    void set_foreign_file(std::filesystem::path file) { foreign_file_ = std::move(file); }
    const std::filesystem::path& foreign_file() const { return foreign_file_; }

    // The DNSKEY RDATA of every KSK and CSK, to match the parent's DS against.
    Result<std::vector<std::vector<uint8_t>>, std::string> sep_dnskeys(Clock::time_point now);
    // Whether a key timing boundary (an imported key's Activate, Inactive, Delete...) has passed since
    // the last signing, so the served version no longer has the keys their timing says: then
    // key_generation() moves on, and the zone needs signing again.
    bool timing_passed(Clock::time_point now);
    // The next timing boundary after `now`, if any (when to look again).
    std::optional<std::time_t> next_timing_event(Clock::time_point now);
    // The secondaries a rollover waits for and the serial each last held, remembered across restarts
    // (the ledger is in memory, and a secondary that is up to date does not transfer again after one):
    // `seen` are those the ledger knows now. Returns the remembered ones it does not know, with the serial
    // they held when last seen; one not seen for `forget_after` seconds is forgotten (a secondary gone
    // for good).
    Result<std::vector<ServedSerial>, std::string> remember_secondaries(const std::vector<ServedSerial>& seen,
                                                                        Clock::time_point now,
                                                                        std::time_t forget_after,
                                                                        bool under_way);
    // `headwaterctl dnssec ds-seen`: the operator says the parent serves the DS of `tag`, the successor
    // of a KSK or CSK rollover (SepRollover.h); its TTL is taken as the policy's parent_ds_ttl.
    Result<void, std::string> confirm_ds(uint16_t tag, Clock::time_point now);
    // The largest TTL of `served`: how long a signature may be cached. Remembered for the last version
    // asked about, as a rollover asks on every pass while it waits.
    uint32_t largest_ttl(const zone::ZoneVersionPtr& served);

  private:
    Result<void, std::string> load_keys_locked(Clock::time_point now);
    struct Steps;
    struct Remembered;
    Result<void, std::string> read_rollover_state(std::map<uint16_t, Steps>& steps,
                                                  std::map<std::string, Remembered>& secondaries) const;
    Result<void, std::string> save_records_locked();
    Result<void, std::string> generate_successor_locked(bool sep, std::time_t t);
    Result<void, std::string> set_timing_locked(uint16_t tag, const std::function<void(KeyTiming&)>& change);
    std::vector<SigningKey> signing_keys_locked(Clock::time_point now) const;
    std::vector<std::vector<uint8_t>> foreign_locked() const;  // both sources, ours left out, each once
    std::time_t timing_now_locked(Clock::time_point now) const;
    std::vector<std::pair<uint16_t, int>> key_states_locked(std::time_t t) const;
    KeyInfo info_locked(const LoadedKey& k, Clock::time_point now) const;
    void warn_short_validity_locked(const zone::ZoneVersion& source);  // once per signer
    // `source` signed: by its difference from the last signing when that signed `previous` with the
    // same keys (sign_changes), else the whole zone (sign_zone).
    Result<SignedZone, std::string> sign_with(const zone::ZoneVersionPtr& source,
                                              const zone::ZoneVersion* previous,
                                              const std::vector<SigningKey>& keys, const SignOptions& o,
                                              std::optional<zone::Changeset>& changes);

    dns::Name apex_;
    SigningPolicy policy_;
    bool generate_csk_;
    std::filesystem::path key_dir_;
    std::function<void(const std::string&)> log_;
    mutable std::mutex mutex_;
    bool loaded_ = false;
    bool warned_validity_ = false;
    std::atomic<uint64_t> key_generation_{0};  // bumped under mutex_ whenever keys_ changes
    std::vector<LoadedKey> keys_;
    std::vector<std::string> files_;  // base name of each key's files
    // The last signing, for the next one to sign only its difference. Only the zone's lock calls sign(),
    // so this needs no lock of its own. The version is weak: once the zone drops it, nothing reuses it.
    struct LastSigning {
        std::weak_ptr<const zone::ZoneVersion> version;
        zone::ZoneVersionPtr source;
        std::vector<SigningKey> keys;
        uint32_t now = 0;
        uint32_t earliest_expiration = 0;
        std::size_t signatures = 0;
    };
    std::optional<LastSigning> last_;
    struct Steps {
        StepRecord published;
        StepRecord retired;
        std::optional<std::time_t> ds_seen;
        uint32_t ds_ttl = 0;
        std::optional<std::time_t> generated;
    };
    std::map<uint16_t, Steps> steps_;  // by key tag, from rollover.state
    struct Remembered {
        std::time_t seen = 0;
        std::optional<uint32_t> serial;
    };
    std::map<std::string, Remembered> secondaries_;        // remembered secondaries, ditto
    std::time_t secondaries_saved_ = 0;                    // when secondaries_ was last written
    std::time_t timing_floor_ = 0;                         // the time of the last rollover step written
    std::vector<std::pair<uint16_t, int>> signed_states_;  // key states the last signing used
    std::filesystem::path foreign_file_;                   // the zone's foreign_dnskeys; empty: none
    // The foreign_dnskeys file as last read with success; none: read it.
    struct FileStamp {
        uint64_t inode = 0, size = 0;
        int64_t mtime_s = 0, mtime_ns = 0, ctime_s = 0, ctime_ns = 0;
        bool operator==(const FileStamp&) const = default;
    };
    std::optional<FileStamp> foreign_file_read_;
    std::vector<std::vector<uint8_t>> foreign_from_file_;  // under mutex_, as the last reads gave them
    std::vector<std::vector<uint8_t>> foreign_fetched_;    // under mutex_; kept in foreign.dnskey
    mutable std::mutex status_mutex_;
    RolloverStatus status_;
    ParentDs parent_ds_;                             // under status_mutex_
    std::weak_ptr<const zone::ZoneVersion> ttl_of_;  // under status_mutex_: largest_ttl's version
    uint32_t largest_ttl_ = 0;
};

}  // namespace headwater::sign
