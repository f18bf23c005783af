// `headwaterctl reconfigure` and SIGHUP (docs/control.md): the config file read again and applied as a
// whole or not at all. The complete new set (keys, ACLs, NOTIFY targets, zones) is built beside the one in
// use, and only when every part of it is right is it swapped in: a config error, a zone file that does not
// load, or a change that needs a restart refuses the whole reconfigure and says what is wrong.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "conf/Config.h"
#include "server/DeferredSnapshots.h"
#include "server/NotifierSlot.h"
#include "tsig/KeyStore.h"
#include "xfr/Responder.h"
#include "zone/ZoneStore.h"

namespace headwater::server {

// What a reconfigure replaces; owned by the running server. Used on the control thread only.
struct Reconfigurable {
    zone::ZoneStore& store;
    xfr::Responder& responder;
    NotifierSlot& notifier;
    conf::Config& config;          // the config in use (catalogs included in `zones`); replaced on success
    DeferredSnapshots& snapshots;  // writes the snapshots of the zones it opens
    // Told of the config and keys in use once a reconfigure applied them (the verification service).
    std::function<void(const conf::Config&, const std::shared_ptr<const tsig::KeyStore>&)> applied = {};
    // Told of every Zone a reconfigure opened (added, rebuilt, or opened again after a refusal), whether
    // or not it ends up served (the zone file writer: a merge it could not write is retried).
    std::function<void(const zone::Zone&)> opened = {};
};

// Reads config.path again and swaps in what it describes. Zones whose name and settings did not change
// keep their Zone (served version, journal, NOTIFY state); new ones are loaded from their files (or
// from state_dir when they were served before); removed ones stop being served (their state stays for
// a later re-add). The response: {ok, added, removed, changed, zones} or {ok:false, error}.
nlohmann::json reconfigure(Reconfigurable& target, zone::Clock::time_point now);

}  // namespace headwater::server
