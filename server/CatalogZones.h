// Catalog zones (RFC 9432) at start-up: each [[catalog]] becomes an ordinary zone whose master file the
// server writes from the config (zone/Catalog.h), so it is served, journaled and notified like any zone.
#pragma once

#include <string>

#include "conf/Config.h"
#include "zone/base/Result.h"

namespace headwater::server {

// For each catalog of `config`: the member IDs read from (and new ones saved to)
// <state_dir>/catalogs/<catalog>ids, the zone text written to <state_dir>/catalogs/<catalog>zone when its
// membership changed (with the next serial; an unchanged membership leaves the file and its serial as
// they are), and the catalog appended to config.zones with that file. Errors (state not writable, a
// malformed ID file) name the file.
Result<void, std::string> add_catalog_zones(conf::Config& config);

}  // namespace headwater::server
