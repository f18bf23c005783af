// The set of served zones, fixed at start-up. Lookups need no lock: the map never changes after
// construction, and each Zone swaps its own versions atomically.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "zone/Zone.h"

namespace headwater::zone {

class ZoneStore {
  public:
    // Returns false when a zone of that name is already present.
    bool add(std::shared_ptr<Zone> zone);

    std::shared_ptr<Zone> find_exact(dns::NameView name) const;
    // The served zone that is the closest encloser of `qname` (RFC 1034 §4.3.2 step 2), or null.
    std::shared_ptr<Zone> find_best(dns::NameView qname) const;
    const std::vector<std::shared_ptr<Zone>>& zones() const { return ordered_; }

  private:
    static std::string key(dns::NameView name);
    std::unordered_map<std::string, std::shared_ptr<Zone>> by_name_;
    std::vector<std::shared_ptr<Zone>> ordered_;
};

}  // namespace headwater::zone
