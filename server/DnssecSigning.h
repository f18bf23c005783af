// The server's side of DNSSEC: a signer for each zone that names a [[dnssec_policy]] (its keys in
// state_dir/keys/<zone>/), and the watch on the control thread that re-signs what is due, moves key
// rollovers on (KeyRollover.h) and warns about
// served signatures close to expiry (zones signed elsewhere included: an expired RRSIG at a provider is an
// outage for every validating resolver, and nothing else would say so beforehand).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "conf/Config.h"
#include "zone/ZoneStore.h"
#include "zone/sign/ZoneSigner.h"

namespace headwater::server {

class SecondaryRegistry;

// The signer of `zone`, or null when it names no policy.
std::shared_ptr<sign::ZoneSigner> make_zone_signer(const conf::Config& config, const conf::ZoneConfig& zone,
                                                   const dns::Name& name);

// Where a zone's keys live.
std::filesystem::path key_directory(const conf::Config& config, const dns::Name& name);

class SignatureWatch {
  public:
    using Changed = std::function<void(const zone::Zone&)>;  // a new version is served: NOTIFY
    // `registry` (may be null): what each secondary serves, which key rollovers wait for.
    SignatureWatch(boost::asio::io_context& io, zone::ZoneStore& store, const conf::Config& config,
                   Changed changed, const SecondaryRegistry* registry = nullptr);
    void start();
    void stop();
    // The zones' settings the watch acts on (signature_warn, parent, multi_signer and its interval), from
    // the config a reconfigure applied. A zone whose parent or other signers did not change keeps what was
    // asked of them; for one whose did, an answer still on its way is dropped and the question asked anew,
    // at once.
    void configure(const conf::Config& config);

    // One pass now (for tests and start-up): re-sign what is due, warn about expiring signatures.
    void check(zone::Clock::time_point now);
    // A key rollover was started elsewhere (`dnssec rollover`): the next pass comes within kRolloverPoll
    // rather than at the next minute. On the watch's own (control) thread.
    void poke();

  private:
    void schedule(zone::Clock::time_point now);
    void warn_expiring(const zone::Zone& z, zone::Clock::time_point now);
    void drive_rollover(zone::Zone& z, sign::ZoneSigner& signer, zone::Clock::time_point now);
    void refresh_foreign(const std::shared_ptr<zone::Zone>& z, sign::ZoneSigner& signer,
                         zone::Clock::time_point now);
    void resign_with_foreign(zone::Zone& z, zone::Clock::time_point now);
    // A KSK or CSK rollover waits for the parent's DS: its servers are asked every ds_check_interval.
    void ask_parent(const zone::Zone& z, sign::ZoneSigner& signer, zone::Clock::time_point now);
    void forget_parent_answer(const std::string& zone_name);

    boost::asio::io_context& io_;
    boost::asio::steady_timer timer_;
    bool running_ = false;  // between start() and stop()
    zone::ZoneStore& store_;
    std::map<std::string, std::chrono::seconds> warn_within_;  // zone name -> signature_warn, when not usual
    std::chrono::seconds usual_warn_within_{0};                // the default signature_warn
    std::map<std::string, zone::Clock::time_point> warned_;    // zone name -> last warning
    Changed changed_;
    const SecondaryRegistry* registry_;
    // Key rollovers: the earliest time one asked for, and whether one waits for secondaries (then the
    // watch looks every kRolloverPoll, so a step follows a secondary's catching up within seconds).
    std::optional<zone::Clock::time_point> rollover_wake_;
    bool rollover_waiting_ = false;
    struct ParentAsking {
        std::vector<dns::Endpoint> servers;            // the zone's `parent`
        std::weak_ptr<const sign::ZoneSigner> signer;  // the one asked for: a rebuilt zone's is new
        std::optional<zone::Clock::time_point> asked;
        bool in_flight = false;
    };
    std::map<std::string, ParentAsking> parents_;  // zone name -> its parent servers, when configured
    struct OtherSigners {
        std::vector<dns::Endpoint> servers;  // the zone's multi_signer
        std::chrono::seconds interval{3600};
        std::optional<zone::Clock::time_point> asked;
        bool in_flight = false;
        // What each server last served: one that does not answer keeps its keys.
        std::map<std::string, std::vector<std::vector<uint8_t>>> by_server;
    };
    std::map<std::string, OtherSigners> signers_;        // zone name -> the other signers' servers
    std::map<std::string, std::string> foreign_errors_;  // zone name -> the last foreign_dnskeys error
};

}  // namespace headwater::server
