// Collects the records of a zone (from the master-file loader or a transfer), sorts them into canonical
// order, drops exact duplicates (RFC 2181 §5) and checks the zone's shape before it may be served.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/LoadError.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/Result.h"

namespace headwater::zone {

class ZoneBuilder {
  public:
    explicit ZoneBuilder(dns::Name apex);

    // Adds one record; checks what can be checked alone (in-zone owner, class IN, SOA only at the apex).
    // `file` and `line` locate the record for error messages.
    dns::Result<void, std::string> add(std::span<const uint8_t> owner, uint16_t type, uint16_t rclass,
                                       uint32_t ttl, std::span<const uint8_t> rdata, std::string_view file,
                                       std::size_t line);

    // Sorts and checks the zone as a whole: exactly one SOA at the apex, NS at the apex, CNAME exclusive
    // (RFC 1034 §3.6.2, RFC 2181 §10.1; DNSSEC records may share the name, RFC 4035 §2.5).
    dns::Result<ZoneVersionPtr, LoadError> build();

  private:
    struct Location {
        uint32_t file;
        uint32_t line;
    };
    LoadError error_at(std::size_t insertion_index, std::string message) const;

    dns::Name apex_;
    std::vector<uint8_t> data_;
    std::vector<uint32_t> offsets_;
    std::vector<Location> locations_;
    std::vector<std::string> files_;
    uint32_t current_file_ = 0;
};

}  // namespace headwater::zone
