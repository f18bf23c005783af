// Building the served set from a config: the zones, the TSIG keys, the transfer ACLs and the responder's
// options. Start-up (Server::create) and `reconfigure` (Reconfigure.h) build them the same way.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/Config.h"
#include "tsig/KeyStore.h"
#include "xfr/Acl.h"
#include "xfr/Responder.h"
#include "zone/Zone.h"
#include "zone/base/Result.h"

namespace headwater::server {

// The directory of the zones' state files: server.state_dir/zones. Made once and handed to every
// make_zone, whose zones all share it.
SharedString zone_state_dir(const conf::Config& config);

// The Zone a [[zone]] (or a catalog, once it has its file) describes, not yet opened; `state_dir` is
// zone_state_dir(config).
std::shared_ptr<zone::Zone> make_zone(const conf::Config& config, const conf::ZoneConfig& zc, dns::Name name,
                                      const SharedString& state_dir);

// The configured keys as a TSIG key store; an algorithm this OpenSSL refuses (MD5 under a FIPS policy) is an
// error here rather than a failure at the first signed request.
Result<std::shared_ptr<const tsig::KeyStore>, std::string> build_keys(const conf::Config& config);

// Each zone's allow_transfer rules (with `update`: its allow_update rules, with their names and types), by
// the zone's Name::key().
std::unordered_map<std::string, std::vector<xfr::AclRule>> transfer_acls(const conf::Config& config,
                                                                         bool update = false);

// max_ixfr_ratio and the allow_update rules per zone; the hooks (UPDATE callbacks, lab faults) are the
// server's to add.
xfr::ResponderOptions responder_options(const conf::Config& config);

}  // namespace headwater::server
