// Catalog zones, producer side (RFC 9432, version 2): the master-file text of a catalog generated from
// its members, and the member IDs that must not change while a zone stays a member (a new ID tells the
// consumers to reset the zone, RFC 9432 §5.4).
//
// The generated zone (§4): SOA and "NS invalid." at the apex (§4.1, §4.2), `version TXT "2"` (§4.3), one
// `<id>.zones PTR <member>` per member (§4.4), `group.<id>.zones TXT` for a member with a group (§4.4.2)
// and `coo.<id>.zones PTR <new catalog>` for a member that moved to another catalog (§4.4.1, §5.1).
// The server writes this text under state_dir and serves it like any zone file, so ACLs, TSIG, AXFR, IXFR
// (the journal) and NOTIFY are those of every zone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::zone {

struct CatalogEntry {
    std::string zone;   // absolute, lower case, trailing dot
    std::string id;     // the member's unique ID: one label
    std::string group;  // empty: no group property
    std::string coo;    // the catalog the zone moved to (absolute), or empty
};

// The catalog's records (everything but the SOA serial is a function of the entries, in their order).
std::string catalog_zone_text(const std::string& catalog, uint32_t serial,
                              const std::vector<CatalogEntry>& entries);

// The serial written in a text catalog_zone_text made, or 0 when it is not one.
uint32_t catalog_text_serial(const std::string& text);

// Member IDs of one catalog, kept in a file ("<zone> <id> listed|gone" per line) so that a restart or a
// reload gives every member the ID it had. A zone that leaves keeps its ID ("gone"), so it comes back
// under the same one.
class CatalogIds {
  public:
    // The file's IDs; a missing file is an empty set, a malformed one an error naming the line.
    static Result<CatalogIds, std::string> load(const std::filesystem::path& file);

    // The zone's ID, a new random one (16 hex digits) when it has none.
    const std::string& id_for(const std::string& zone);
    // Whether the zone was listed when the file was last saved.
    bool was_listed(const std::string& zone) const;
    // The zones listed when the file was last saved.
    std::vector<std::string> listed() const;
    void set_listed(const std::string& zone, bool listed);

    Result<void, std::string> save(const std::filesystem::path& file) const;

  private:
    struct Member {
        std::string id;
        bool listed = false;
    };
    std::map<std::string, Member> members_;
};

}  // namespace headwater::zone
