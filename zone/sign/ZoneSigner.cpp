#include "zone/sign/ZoneSigner.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "zone/DurableFile.h"
#include "zone/base/FileText.h"
#include "zone/dns/Base64.h"

namespace headwater::sign {

namespace fs = std::filesystem;

namespace {

std::string hex(std::span<const uint8_t> data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const uint8_t b : data) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

uint32_t unix_now(ZoneSigner::Clock::time_point t) {
    return static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The files of this zone's key pairs in `dir`: "K<zone>.+<alg>+<tag>.private".
std::vector<fs::path> key_pairs(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
            entry.path().extension() == ".private")
            out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

constexpr const char* kRolloverState = "rollover.state";
// The other signers' DNSKEYs as their servers last gave them (multi_signer): kept so that a restart with
// those servers unreachable still publishes them (dropping them would make what they sign bogus).
constexpr const char* kForeignKeys = "foreign.dnskey";

// rollover.state: one line per recorded step, "<tag> published|retired <serial> <served> <propagated|->"
// "<tag> ds-seen <when> <ttl>" and "<tag> generated <when>" (times in seconds since 1970), so that a
// restart in the middle of a rollover goes on where it was.
std::string step_line(uint16_t tag, const char* which, const StepRecord& r) {
    return std::to_string(tag) + " " + which + " " + std::to_string(*r.serial) + " " +
           std::to_string(r.served) + " " +
           (r.propagated ? std::to_string(*r.propagated) : std::string("-")) + "\n";
}

Result<StepRecord, std::string> parse_step(std::istringstream& in) {
    std::string serial;
    std::string served;
    std::string propagated;
    in >> serial >> served >> propagated;
    const auto number = [](const std::string& t) -> std::optional<int64_t> {
        if (t.empty() || t.size() > 18 ||
            !std::ranges::all_of(t, [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        return std::stoll(t);
    };
    const auto sv = number(serial);
    const auto sd = number(served);
    const auto pg = propagated == "-" ? std::optional<int64_t>(-1) : number(propagated);
    if (!sv || *sv > 0xFFFFFFFF || !sd || !pg) return unexpected(std::string("unreadable step"));
    StepRecord r;
    r.serial = static_cast<uint32_t>(*sv);
    r.served = static_cast<std::time_t>(*sd);
    if (*pg >= 0) r.propagated = static_cast<std::time_t>(*pg);
    return r;
}

// "<last seen> <serial|-> <peer>": the peer, when it was last seen and the serial it held then.
std::optional<std::pair<std::string, std::pair<std::time_t, std::optional<uint32_t>>>> parse_remembered(
    const std::string& text) {
    std::istringstream in(text);
    long long seen = 0;
    std::string serial;
    std::string peer;
    if (!(in >> seen >> serial) || !std::getline(in >> std::ws, peer) || peer.empty()) return std::nullopt;
    std::optional<uint32_t> held;
    if (serial != "-") {
        if (serial.empty() || serial.size() > 10 ||
            !std::ranges::all_of(serial, [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoull(serial) > 0xFFFFFFFF)
            return std::nullopt;
        held = static_cast<uint32_t>(std::stoull(serial));
    }
    return std::make_pair(peer, std::make_pair(static_cast<std::time_t>(seen), held));
}

}  // namespace

ZoneSigner::ZoneSigner(dns::Name apex, SigningPolicy policy, bool generate_csk, fs::path key_dir,
                       std::function<void(const std::string&)> log)
    : apex_(std::move(apex)),
      policy_(std::move(policy)),
      generate_csk_(generate_csk),
      key_dir_(std::move(key_dir)),
      log_(std::move(log)) {}

Result<void, std::string> ZoneSigner::check_source(const zone::ZoneVersion& source) const {
    return check_unsigned(source);
}

zone::ZoneVersionPtr ZoneSigner::source_of(const zone::ZoneVersion& signed_version) const {
    return strip_dnssec(signed_version);
}

// rollover.state, read back (see step_line): what the zone's rollovers have observed so far.
Result<void, std::string> ZoneSigner::read_rollover_state(
    std::map<uint16_t, Steps>& steps, std::map<std::string, Remembered>& secondaries) const {
    if (auto text = read_file_text(key_dir_ / kRolloverState)) {
        std::istringstream lines(*text);
        std::size_t n = 0;
        // One line into `steps` or `secondaries`; false when it is not one this server writes.
        auto read_line = [&](const std::string& line) {
            if (line.rfind("secondary ", 0) == 0) {  // "secondary <last seen> <serial|-> <peer>"
                auto r = parse_remembered(line.substr(10));
                if (r) secondaries[r->first] = {r->second.first, r->second.second};
                return r.has_value();
            }
            std::istringstream in(line);
            unsigned tag = 0;
            std::string which;
            in >> tag >> which;
            if (!in || tag > 0xFFFF) return false;
            auto& key = steps[static_cast<uint16_t>(tag)];
            if (which == "generated") {  // "<tag> generated <time>"
                long long when = -1;
                in >> when;
                if (!in || when < 0) return false;
                key.generated = static_cast<std::time_t>(when);
                return true;
            }
            if (which == "ds-seen") {  // "<tag> ds-seen <time> <the DS's TTL>"
                long long when = -1;
                long long ttl = -1;
                in >> when >> ttl;
                if (!in || when < 0 || ttl < 0 || ttl > 0x7FFFFFFF) return false;
                key.ds_seen = static_cast<std::time_t>(when);
                key.ds_ttl = static_cast<uint32_t>(ttl);
                return true;
            }
            if (which != "published" && which != "retired") return false;
            auto step = parse_step(in);
            if (step) (which == "published" ? key.published : key.retired) = *step;
            return step.has_value();
        };
        for (std::string line; std::getline(lines, line);) {
            ++n;
            if (line.empty() || line.front() == '#') continue;
            if (!read_line(line))
                return unexpected((key_dir_ / kRolloverState).string() + ":" + std::to_string(n) +
                                  ": unreadable line " + line);
        }
    } else if (text.error() != ENOENT) {
        return unexpected("cannot read " + (key_dir_ / kRolloverState).string() + ": " +
                          std::strerror(text.error()));
    }
    return {};
}

Result<void, std::string> ZoneSigner::load_keys_locked(Clock::time_point now) {
    if (loaded_) return {};
    std::error_code ec;
    fs::create_directories(key_dir_, ec);
    if (ec) return unexpected("cannot create the key directory " + key_dir_.string() + ": " + ec.message());
    fs::permissions(key_dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
    std::vector<LoadedKey> keys;
    std::vector<std::string> files;
    for (const fs::path& p : key_pairs(key_dir_, "K" + apex_.to_string() + "+")) {
        auto k = read_key_files(apex_, p);
        if (!k) return unexpected("key " + p.string() + ": " + k.error());
        files.push_back(p.stem().string());
        keys.push_back(std::move(*k));
    }
    if (keys.empty()) {
        // First use: the policy's keys, written before they sign anything (so a crash cannot leave a
        // zone signed with a key that is not on disk).
        std::vector<uint16_t> flags{kKskFlags};
        if (!generate_csk_) flags.push_back(kZskFlags);
        const std::time_t created = Clock::to_time_t(now);
        for (const uint16_t f : flags) {
            auto k = DnssecKey::generate(policy_.algorithm, f);
            if (!k) return unexpected(k.error());
            const KeyTiming timing = active_from(created);
            auto written = write_key_files(key_dir_, apex_, *k, policy_.dnskey_ttl, timing);
            if (!written) return unexpected(written.error());
            files.push_back(written->filename().string());
            keys.push_back({std::move(*k), timing});
            if (log_)
                log_("dnssec: generated " +
                     std::string(f == kKskFlags ? (generate_csk_ ? "csk" : "ksk") : "zsk") + " " +
                     std::string(config_name(policy_.algorithm)) + " key " +
                     std::to_string(keys.back().key.tag()) + " for " + apex_.to_string() + " in " +
                     key_dir_.string());
        }
    }
    std::map<uint16_t, Steps> steps;
    std::map<std::string, Remembered> secondaries;
    if (auto r = read_rollover_state(steps, secondaries); !r) return r;
    if (auto text = read_file_text(key_dir_ / kForeignKeys)) {
        auto fetched = parse_dnskey_lines(apex_, *text);
        if (!fetched) return unexpected((key_dir_ / kForeignKeys).string() + ": " + fetched.error());
        foreign_fetched_ = std::move(*fetched);
    }
    std::erase_if(steps, [&](const auto& entry) {
        return std::ranges::none_of(keys, [&](const LoadedKey& k) { return k.key.tag() == entry.first; });
    });
    keys_ = std::move(keys);
    files_ = std::move(files);
    steps_ = std::move(steps);
    secondaries_ = std::move(secondaries);
    loaded_ = true;
    key_generation_.fetch_add(1, std::memory_order_acq_rel);
    return {};
}

namespace {

// Whether an active key without SEP signs the zone's data at `t`: if not, the SEP keys do (a CSK).
bool any_active_zsk(const std::vector<LoadedKey>& keys, std::time_t t) {
    return std::ranges::any_of(keys,
                               [t](const LoadedKey& k) { return !k.key.is_sep() && k.timing.active(t); });
}

// Whether the key's CDS and CDNSKEY are published at `t` (RFC 7344).
bool cds_published(const KeyTiming& timing, std::time_t t) {
    return timing.sync_publish && *timing.sync_publish <= t &&
           !(timing.sync_delete && *timing.sync_delete <= t) && timing.published(t);
}

// The timing state, as `dnssec status` shows it.
std::string key_state(const KeyTiming& timing, std::time_t t) {
    if (timing.active(t)) return "active";
    if (timing.retired(t)) return "retired";
    if (timing.published(t)) return "published";
    if (timing.remove && *timing.remove <= t) return "removed";
    return "generated";
}

}  // namespace

// A signing that read its clock before a rollover step was written (it waited for the zone's lock
// meanwhile) must not sign with the keys as they were before the step: the time is at least the step's.
std::time_t ZoneSigner::timing_now_locked(Clock::time_point now) const {
    return std::max(Clock::to_time_t(now), timing_floor_);
}

std::vector<std::pair<uint16_t, int>> ZoneSigner::key_states_locked(std::time_t t) const {
    std::vector<std::pair<uint16_t, int>> out;
    for (const LoadedKey& k : keys_)
        out.emplace_back(k.key.tag(), (k.timing.published(t) ? 1 : 0) | (k.timing.active(t) ? 2 : 0) |
                                          (k.timing.retired(t) ? 4 : 0) |
                                          (cds_published(k.timing, t) ? 8 : 0));
    return out;
}

std::vector<SigningKey> ZoneSigner::signing_keys_locked(Clock::time_point now) const {
    const std::time_t t = timing_now_locked(now);
    const bool any_zsk = any_active_zsk(keys_, t);
    // The other signers' keys are published only (RFC 8901 §2.1.2): our KSK or CSK signs the RRset with
    // them. With other signers, the CDS/CDNSKEY always name every signer's KSK, ours that sign included
    // (RFC 8901 §8: the parent's DS RRset must hold each of them).
    const auto foreign = foreign_locked();
    std::vector<SigningKey> out;
    for (const LoadedKey& k : keys_) {
        if (!k.timing.published(t)) continue;  // not yet, or no more, in the DNSKEY RRset
        const bool active = k.timing.active(t);
        // RFC 7583 §3.3.2: a retired KSK or CSK keeps signing the DNSKEY RRset while it is in it: a
        // resolver may still hold the DS that points at it.
        const bool signs_keys = k.key.is_sep() && (active || k.timing.retired(t));
        const bool cds = cds_published(k.timing, t) || (!foreign.empty() && k.key.is_sep() && active);
        out.push_back({k.key, signs_keys, active && (!k.key.is_sep() || !any_zsk), cds});
    }
    for (const auto& rdata : foreign) {
        auto key = DnssecKey::from_dnskey(rdata);  // checked when it was set
        if (!key) continue;
        // Only a KSK the operator gave (the file) goes into the CDS: a parent that reads CDS would trust
        // a key fetched unauthenticated from a server for the whole zone.
        const bool cds = key->is_sep() && std::ranges::count(foreign_from_file_, rdata) > 0;
        out.push_back({std::move(*key), false, false, cds});
    }
    return out;
}

ZoneSigner::KeyInfo ZoneSigner::info_locked(const LoadedKey& k, Clock::time_point now) const {
    const std::time_t t = Clock::to_time_t(now);
    const bool any_zsk = any_active_zsk(keys_, t);
    KeyInfo info;
    info.tag = k.key.tag();
    info.algorithm = k.key.algorithm();
    info.flags = k.key.flags();
    info.role = !k.key.is_sep() ? "zsk" : (any_zsk ? "ksk" : "csk");
    info.state = key_state(k.timing, t);
    info.cds = cds_published(k.timing, t);
    info.timing = k.timing;
    info.created = k.timing.created;
    for (std::size_t i = 0; i < keys_.size(); ++i)
        if (&keys_[i] == &k && i < files_.size()) info.file = files_[i];
    const std::string zone = apex_.to_string();
    info.dnskey = zone + " " + std::to_string(policy_.dnskey_ttl) + " IN DNSKEY " +
                  std::to_string(k.key.flags()) + " 3 " +
                  std::to_string(static_cast<unsigned>(k.key.algorithm())) + " " +
                  dns::base64_encode(k.key.public_key());
    if (k.key.is_sep()) {
        const auto ds = ds_rdata(apex_.wire(), k.key.dnskey_rdata());
        info.ds = zone + " IN DS " + std::to_string(k.key.tag()) + " " +
                  std::to_string(static_cast<unsigned>(k.key.algorithm())) + " 2 " +
                  hex(std::span(ds).subspan(4));
    }
    return info;
}

void ZoneSigner::warn_short_validity_locked(const zone::ZoneVersion& source) {
    // A secondary cut off from the primary keeps serving until the SOA EXPIRE is over, and resolvers keep
    // what they cached for a TTL more: signatures that run out before then make the zone bogus.
    if (warned_validity_ || !log_) return;
    uint32_t max_ttl = 0;
    for (std::size_t i = 0; i < source.size(); ++i) max_ttl = std::max(max_ttl, source.record(i).ttl);
    const auto soa = source.soa().rdata;
    const std::size_t at = soa.size() - 8;  // EXPIRE, then MINIMUM (RFC 1035 §3.3.13)
    const uint32_t expire = (uint32_t{soa[at]} << 24) | (uint32_t{soa[at + 1]} << 16) |
                            (uint32_t{soa[at + 2]} << 8) | soa[at + 3];
    if (uint64_t{policy_.signature_validity} >= uint64_t{expire} + max_ttl) return;
    warned_validity_ = true;
    log_("dnssec: " + apex_.to_string() + ": signature_validity (" +
         std::to_string(policy_.signature_validity) +
         " s) is shorter than the SOA EXPIRE plus the largest TTL (" + std::to_string(expire) + " + " +
         std::to_string(max_ttl) +
         " s): a secondary cut off from the primary could serve expired signatures");
}

namespace {

// The same keys in the same roles: what a signing may reuse the one before it by.
bool same_keys(const std::vector<SigningKey>& a, const std::vector<SigningKey>& b) {
    return std::ranges::equal(a, b, [](const SigningKey& x, const SigningKey& y) {
        return x.signs_keys == y.signs_keys && x.signs_zone == y.signs_zone && x.cds == y.cds &&
               x.key.tag() == y.key.tag() && x.key.dnskey_rdata() == y.key.dnskey_rdata();
    });
}

}  // namespace

Result<SignedZone, std::string> ZoneSigner::sign_with(const zone::ZoneVersionPtr& source,
                                                      const zone::ZoneVersion* previous,
                                                      const std::vector<SigningKey>& keys,
                                                      const SignOptions& o,
                                                      std::optional<zone::Changeset>& changes) {
    const zone::ZoneVersionPtr last_version = last_ ? last_->version.lock() : nullptr;
    if (previous != nullptr && last_version.get() == previous && o.reuse && same_keys(last_->keys, keys)) {
        const PreviousSigning p{last_->source.get(), previous, last_->now, last_->earliest_expiration,
                                last_->signatures};
        auto s = sign_changes(*source, p, keys, policy_, o);
        if (!s) return unexpected(s.error());
        if (*s) {
            changes = std::move((*s)->changes);
            return std::move((*s)->zone);
        }
    }
    return sign_zone(*source, previous, keys, policy_, o);
}

Result<zone::ZoneSigning::Signed, std::string> ZoneSigner::sign(const zone::ZoneVersionPtr& source,
                                                                const zone::ZoneVersion* previous,
                                                                Clock::time_point now, bool all) {
    std::vector<SigningKey> keys;
    uint64_t generation = 0;
    {
        const std::lock_guard lock(mutex_);
        if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
        keys = signing_keys_locked(now);
        signed_states_ = key_states_locked(timing_now_locked(now));
        generation = key_generation_.load(std::memory_order_acquire);
        warn_short_validity_locked(*source);
    }
    SignOptions o;
    o.now = unix_now(now);
    o.seed = std::random_device{}();
    o.threads = std::max(1u, std::thread::hardware_concurrency());
    o.reuse = !all;
    Signed out;
    auto s = sign_with(source, previous, keys, o, out.changes);
    if (!s) return unexpected(s.error());
    last_ = LastSigning{s->version, source, std::move(keys), o.now, s->earliest_expiration, s->signatures};
    out.version = s->version;
    out.made = s->signatures_made;
    out.kept = s->signatures_kept;
    out.key_generation = generation;
    if (s->signatures > 0) out.next_refresh = Clock::from_time_t(static_cast<std::time_t>(s->next_refresh));
    return out;
}

Result<std::vector<ZoneSigner::KeyInfo>, std::string> ZoneSigner::keys(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    std::vector<KeyInfo> out;
    for (const LoadedKey& k : keys_) out.push_back(info_locked(k, now));
    return out;
}

Result<ZoneSigner::KeyInfo, std::string> ZoneSigner::import(const fs::path& file, Clock::time_point now) {
    auto k = read_key_files(apex_, file);
    if (!k) return unexpected(k.error());
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    for (const LoadedKey& have : keys_)
        if (have.key.tag() == k->key.tag())  // rollover steps and timing changes go by tag
            return unexpected("key " + std::to_string(k->key.tag()) + " is already a key of " +
                              apex_.to_string());
    // The key's own timing is kept (a key retired at BIND stays retired here); one without any is
    // published and active from its creation, as BIND reads it.
    KeyTiming timing = k->timing;
    if (timing.created == 0) timing.created = Clock::to_time_t(now);
    if (!timing.publish && !timing.activate) timing.publish = timing.activate = timing.created;
    auto written = write_key_files(key_dir_, apex_, k->key, policy_.dnskey_ttl, timing);
    if (!written) return unexpected(written.error());
    keys_.push_back({k->key, timing});
    files_.push_back(written->filename().string());
    steps_.erase(k->key.tag());  // what a former key of that tag went through is not this key's
    key_generation_.fetch_add(1, std::memory_order_acq_rel);
    const KeyInfo info = info_locked(keys_.back(), now);
    if (log_)
        log_("dnssec: imported " + info.role + " key " + std::to_string(info.tag) + " for " +
             apex_.to_string() + " from " + file.string());
    return info;
}

Result<std::vector<RolloverKey>, std::string> ZoneSigner::rollover_keys(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    std::vector<RolloverKey> out;
    for (const LoadedKey& k : keys_) {
        RolloverKey r;
        r.tag = k.key.tag();
        r.sep = k.key.is_sep();
        r.timing = k.timing;
        if (const auto it = steps_.find(r.tag); it != steps_.end()) {
            r.published = it->second.published;
            r.retired = it->second.retired;
            r.ds_seen = it->second.ds_seen;
            r.ds_ttl = it->second.ds_ttl;
            r.generated = it->second.generated;
        }
        out.push_back(r);
    }
    return out;
}

Result<void, std::string> ZoneSigner::save_records_locked() {
    std::string text = "# Headwater: the steps of the zone's key rollovers as served (see docs/dnssec.md)\n";
    for (const auto& [tag, steps] : steps_) {
        if (steps.published.serial) text += step_line(tag, "published", steps.published);
        if (steps.retired.serial) text += step_line(tag, "retired", steps.retired);
        if (steps.generated)
            text += std::to_string(tag) + " generated " + std::to_string(*steps.generated) + "\n";
        if (steps.ds_seen)
            text += std::to_string(tag) + " ds-seen " + std::to_string(*steps.ds_seen) + " " +
                    std::to_string(steps.ds_ttl) + "\n";
    }
    for (const auto& [peer, r] : secondaries_)
        text += "secondary " + std::to_string(r.seen) + " " + (r.serial ? std::to_string(*r.serial) : "-") +
                " " + peer + "\n";
    return zone::write_file_atomically(key_dir_ / kRolloverState,
                                       std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                                       0600);
}

Result<void, std::string> ZoneSigner::set_timing_locked(uint16_t tag,
                                                        const std::function<void(KeyTiming&)>& change) {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i].key.tag() != tag) continue;
        KeyTiming t = keys_[i].timing;
        change(t);
        if (auto w = write_key_timing(key_dir_ / files_[i], keys_[i].key, t); !w) return w;
        keys_[i].timing = t;
        return {};
    }
    return unexpected("no key " + std::to_string(tag) + " for " + apex_.to_string());
}

Result<void, std::string> ZoneSigner::apply_rollover(const RolloverDecision& d, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    const std::time_t t = Clock::to_time_t(now);
    switch (d.action) {
        case RolloverAction::None:
            return {};
        case RolloverAction::Record: {
            Steps& steps = steps_[d.updated->tag];
            steps.published = d.updated->published;
            steps.retired = d.updated->retired;
            steps.ds_seen = d.updated->ds_seen;
            steps.ds_ttl = d.updated->ds_ttl;
            steps.generated = d.updated->generated;
            return save_records_locked();  // no key changed: nothing to sign again
        }
        case RolloverAction::Generate:
            if (auto r = generate_successor_locked(d.sep, t); !r) return r;
            break;
        case RolloverAction::Activate:
            // The successor first: should the second write fail, both keys sign (valid, only larger)
            // rather than neither.
            if (auto r = set_timing_locked(d.tag,
                                           [t, sep = d.sep](KeyTiming& k) {
                                               if (sep) {
                                                   k.sync_publish = t;  // a KSK or CSK: its CDS now
                                                   k.sync_delete.reset();
                                               } else if (!k.activate || *k.activate > t) {
                                                   k.activate = t;
                                               }
                                           });
                !r)
                return r;
            for (const uint16_t old : d.retire)
                if (auto r = set_timing_locked(old, [t](KeyTiming& k) { k.inactive = t; }); !r) return r;
            break;
        case RolloverAction::Remove:
            // The CDS withdrawn first: a crash between the two writes leaves the old key retired, and
            // the planner asks for this step again.
            if (d.sync_end)
                if (auto r = set_timing_locked(*d.sync_end, [t](KeyTiming& k) { k.sync_delete = t; }); !r)
                    return r;
            if (auto r = set_timing_locked(d.tag, [t](KeyTiming& k) { k.remove = t; }); !r) return r;
            break;
    }
    timing_floor_ = std::max(timing_floor_, t);
    key_generation_.fetch_add(1, std::memory_order_acq_rel);
    return {};
}

bool ZoneSigner::timing_passed(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (!loaded_ || signed_states_.empty()) return false;
    if (key_states_locked(timing_now_locked(now)) == signed_states_) return false;
    key_generation_.fetch_add(1, std::memory_order_acq_rel);
    return true;
}

std::optional<std::time_t> ZoneSigner::next_timing_event(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    const std::time_t t = timing_now_locked(now);
    std::optional<std::time_t> next;
    for (const LoadedKey& k : keys_)
        for (const auto& at : {k.timing.publish, k.timing.activate, k.timing.inactive, k.timing.remove,
                               k.timing.sync_publish, k.timing.sync_delete})
            if (at && *at > t && (!next || *at < *next)) next = *at;
    return next;
}

Result<std::vector<ServedSerial>, std::string> ZoneSigner::remember_secondaries(
    const std::vector<ServedSerial>& seen, Clock::time_point now, std::time_t forget_after, bool under_way) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    const std::time_t t = Clock::to_time_t(now);
    bool changed = false;
    for (const ServedSerial& s : seen) {
        auto [it, added] = secondaries_.try_emplace(s.peer);
        // A serial held matters only while a rollover waits for it (and when one starts).
        changed = changed || added || (under_way && s.serial && it->second.serial != s.serial);
        it->second.seen = t;
        if (s.serial) it->second.serial = s.serial;
    }
    std::vector<ServedSerial> unseen;
    for (auto it = secondaries_.begin(); it != secondaries_.end();) {
        if (std::ranges::any_of(seen, [&](const ServedSerial& s) { return s.peer == it->first; })) {
            ++it;
        } else if (t - it->second.seen > forget_after) {
            if (log_)
                log_("dnssec: " + apex_.to_string() + ": secondary " + it->first +
                     " forgotten by key rollovers (not seen for " + std::to_string(forget_after) + " s)");
            it = secondaries_.erase(it);
            changed = true;
        } else {
            unseen.push_back({it->first, it->second.serial});
            ++it;
        }
    }
    // Written when a secondary is new, or its serial while a rollover is under way; last-seen times alone
    // at most daily (they only decide, in days, when a secondary is forgotten).
    if (changed || t - secondaries_saved_ >= 86400) {
        if (auto w = save_records_locked(); !w) return unexpected(w.error());
        secondaries_saved_ = t;
    }
    return unseen;
}

void ZoneSigner::set_rollover_status(RolloverStatus status) {
    const std::lock_guard lock(status_mutex_);
    status_ = std::move(status);
}

ZoneSigner::RolloverStatus ZoneSigner::rollover_status() const {
    const std::lock_guard lock(status_mutex_);
    return status_;
}

void ZoneSigner::set_parent_ds(ParentDs parent) {
    const std::lock_guard lock(status_mutex_);
    parent_ds_ = std::move(parent);
}

ParentDs ZoneSigner::parent_ds() const {
    const std::lock_guard lock(status_mutex_);
    return parent_ds_;
}

Result<std::vector<std::vector<uint8_t>>, std::string> ZoneSigner::sep_dnskeys(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    std::vector<std::vector<uint8_t>> out;
    for (const LoadedKey& k : keys_)
        if (k.key.is_sep()) out.push_back(k.key.dnskey_rdata());
    return out;
}

Result<void, std::string> ZoneSigner::generate_successor_locked(bool sep, std::time_t t) {
    // The algorithm of the key it replaces (a zone moved from BIND keeps its algorithm: every RRset
    // must stay signed with every algorithm of the DNSKEY RRset, RFC 4035 §2.2).
    DnssecAlgorithm algorithm = policy_.algorithm;
    for (const LoadedKey& k : keys_)
        if (k.key.is_sep() == sep && k.timing.active(t)) algorithm = k.key.algorithm();
    std::optional<DnssecKey> key;
    for (int attempt = 0; attempt < 8 && !key; ++attempt) {
        auto k = DnssecKey::generate(algorithm, sep ? kKskFlags : kZskFlags);
        if (!k) return unexpected(k.error());
        if (std::ranges::none_of(keys_, [&](const LoadedKey& x) { return x.key.tag() == k->tag(); }))
            key = std::move(*k);
    }
    if (!key) return unexpected(std::string("no new key with a tag of its own after 8 tries"));
    // A ZSK successor is published now and active once its DNSKEY has propagated (no Activate yet); a
    // KSK or CSK successor signs the DNSKEY RRset from now (SepRollover.h).
    KeyTiming timing;
    timing.created = t;
    timing.publish = t;
    if (sep) timing.activate = t;
    // rollover.state first: a crash before the key files leaves a line for a tag with no key (dropped at
    // load), a crash after them a successor a restart still knows for ours. Steps of a former key of
    // that tag are not this key's.
    const bool had_steps = steps_.erase(key->tag()) > 0;
    if (sep) steps_[key->tag()].generated = t;
    if (sep || had_steps)
        if (auto w = save_records_locked(); !w) return w;
    auto written = write_key_files(key_dir_, apex_, *key, policy_.dnskey_ttl, timing);
    if (!written) return unexpected(written.error());
    files_.push_back(written->filename().string());  // with keys_, index for index
    keys_.push_back({std::move(*key), timing});
    const bool csk = !any_active_zsk(keys_, t);
    if (log_)
        log_("dnssec: " + apex_.to_string() + ": generated " + (sep ? (csk ? "csk " : "ksk ") : "zsk ") +
             std::to_string(keys_.back().key.tag()) + " (" + std::string(config_name(algorithm)) + "), " +
             (sep ? "published and signing the DNSKEY RRset" : "published, not active yet"));
    return {};
}

Result<void, std::string> ZoneSigner::confirm_ds(uint16_t tag, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    const std::time_t t = Clock::to_time_t(now);
    const auto it = std::ranges::find_if(keys_, [tag](const LoadedKey& k) { return k.key.tag() == tag; });
    if (it == keys_.end()) return unexpected("no key " + std::to_string(tag) + " for " + apex_.to_string());
    if (!it->key.is_sep() || !it->timing.active(t) || !cds_published(it->timing, t))
        return unexpected("key " + std::to_string(tag) + " of " + apex_.to_string() +
                          " is not waiting for its DS: no KSK or CSK rollover has published its CDS");
    Steps& steps = steps_[tag];
    if (steps.ds_seen) return {};  // seen already: the TTL runs from the first sighting
    steps.ds_seen = t;
    steps.ds_ttl = policy_.parent_ds_ttl;
    if (log_)
        log_("dnssec: " + apex_.to_string() + ": the operator confirmed the parent serves the DS of key " +
             std::to_string(tag));
    return save_records_locked();
}

uint32_t ZoneSigner::largest_ttl(const zone::ZoneVersionPtr& served) {
    const std::lock_guard lock(status_mutex_);
    if (ttl_of_.lock() == served) return largest_ttl_;
    uint32_t ttl = 0;
    for (std::size_t i = 0; i < served->size(); ++i) ttl = std::max(ttl, served->record(i).ttl);
    ttl_of_ = served;
    largest_ttl_ = ttl;
    return ttl;
}

std::vector<std::vector<uint8_t>> ZoneSigner::foreign_locked() const {
    std::vector<std::vector<uint8_t>> out = foreign_from_file_;
    out.insert(out.end(), foreign_fetched_.begin(), foreign_fetched_.end());
    std::erase_if(out, [&](const std::vector<uint8_t>& rdata) {
        return std::ranges::any_of(keys_, [&](const LoadedKey& k) { return k.key.dnskey_rdata() == rdata; });
    });
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Result<bool, std::string> ZoneSigner::set_foreign_keys(ForeignSource source,
                                                       const std::vector<std::vector<uint8_t>>& rdatas,
                                                       Clock::time_point now) {
    std::vector<std::vector<uint8_t>> keys;
    for (const auto& rdata : rdatas) {
        auto key = DnssecKey::from_dnskey(rdata);
        if (!key)
            return unexpected("a DNSKEY of another signer (key " + std::to_string(key_tag(rdata)) +
                              "): " + key.error());
        // RFC 8901 §2.1.2 publishes the other signers' zone keys; a key without the zone key flag
        // signs nothing in DNSSEC (RFC 4034 §2.1.1).
        if ((key->flags() & kZoneKeyFlag) == 0) continue;
        // RFC 8901 §4 (and RFC 4035 §2.2: every RRset signed with every algorithm of the DNSKEY RRset):
        // the signers share one algorithm.
        if (key->algorithm() != policy_.algorithm)
            return unexpected("a DNSKEY of another signer (key " + std::to_string(key->tag()) +
                              ") has algorithm " + std::string(config_name(key->algorithm())) +
                              ", the zone's policy " + std::string(config_name(policy_.algorithm)) +
                              ": multi-signer needs one algorithm");
        keys.push_back(rdata);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    const std::lock_guard lock(mutex_);
    if (auto r = load_keys_locked(now); !r) return unexpected(r.error());
    auto& current = source == ForeignSource::File ? foreign_from_file_ : foreign_fetched_;
    if (current == keys) return false;
    const auto before = foreign_locked();
    if (source == ForeignSource::Fetched) {
        std::string text = "; Headwater: the other signers' DNSKEYs, as their servers last served them\n";
        for (const auto& rdata : keys)
            text += apex_.to_string() + " 0 IN DNSKEY " + std::to_string((rdata[0] << 8) | rdata[1]) + " 3 " +
                    std::to_string(rdata[3]) + " " + dns::base64_encode(std::span(rdata).subspan(4)) + "\n";
        if (auto w = zone::write_file_atomically(
                key_dir_ / kForeignKeys,
                std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0600);
            !w)
            return unexpected(w.error());
    }
    current = std::move(keys);
    // The other source having them already changes nothing, unless it is the file: a KSK from the file
    // goes into the CDS, a fetched one does not.
    if (source == ForeignSource::Fetched && foreign_locked() == before) return false;
    key_generation_.fetch_add(1, std::memory_order_acq_rel);
    if (log_) {
        std::vector<uint16_t> tags;
        for (const auto& rdata : foreign_locked()) tags.push_back(key_tag(rdata));
        log_("dnssec: " + apex_.to_string() + ": the other signers' keys are now " +
             (tags.empty() ? std::string("none") : tag_list(tags)) + " (multi-signer)");
    }
    return true;
}

Result<bool, std::string> ZoneSigner::reload_foreign_file(Clock::time_point now, bool always) {
    if (foreign_file_.empty()) return false;
    // What tells an edit: the inode (a file replaced by rename), the size and both times to the
    // nanosecond. A stamp taken within two seconds of its last change is not kept, as git does with
    // "racy" files: a second write in the same clock tick would leave every one of them as it was.
    std::optional<FileStamp> stamp;
    struct stat st {};
    if (::stat(foreign_file_.c_str(), &st) == 0) {
        stamp = FileStamp{static_cast<uint64_t>(st.st_ino),
                          static_cast<uint64_t>(st.st_size),
                          st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec,
                          st.st_ctim.tv_sec,
                          st.st_ctim.tv_nsec};
        const std::time_t changed = std::max(st.st_mtim.tv_sec, st.st_ctim.tv_sec);
        if (Clock::to_time_t(now) - changed < 2) stamp.reset();
    }
    {
        const std::lock_guard lock(mutex_);
        if (!always && stamp && foreign_file_read_ == stamp) return false;
        foreign_file_read_.reset();  // set again below once this read succeeds
    }
    auto text = read_file_text(foreign_file_);
    if (!text)
        return unexpected("cannot read " + foreign_file_.string() + ": " + std::strerror(text.error()));
    auto keys = parse_dnskey_lines(apex_, *text);
    if (!keys) return unexpected(foreign_file_.string() + ": " + keys.error());
    auto changed = set_foreign_keys(ForeignSource::File, *keys, now);
    if (changed) {
        const std::lock_guard lock(mutex_);
        foreign_file_read_ = stamp;
    }
    return changed;
}

std::vector<ZoneSigner::ForeignKey> ZoneSigner::foreign_keys() const {
    const std::lock_guard lock(mutex_);
    std::vector<ForeignKey> out;
    for (const auto& rdata : foreign_locked()) {
        ForeignKey k;
        k.tag = key_tag(rdata);
        k.flags = static_cast<uint16_t>((rdata[0] << 8) | rdata[1]);
        k.algorithm = rdata[3];
        k.source = std::ranges::count(foreign_from_file_, rdata) > 0 ? "file" : "fetched";
        k.dnskey = apex_.to_string() + " " + std::to_string(policy_.dnskey_ttl) + " IN DNSKEY " +
                   std::to_string(k.flags) + " 3 " + std::to_string(k.algorithm) + " " +
                   dns::base64_encode(std::span(rdata).subspan(4));
        out.push_back(std::move(k));
    }
    return out;
}

}  // namespace headwater::sign
