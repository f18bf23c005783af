// The set of served zones, fixed at start-up. Lookups need no lock: the map never changes after
// construction, and each Zone swaps its own versions atomically.
#pragma once

#include <memory>
#include <string>
#include <string_view>
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
    // Lower-cased wire form; the suffixes of one key are the keys of the name's ancestors, so find_best
    // lowers the query name once and looks up views into it (heterogeneous lookup, no string per label).
    static std::string key(dns::NameView name);
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
    };
    std::unordered_map<std::string, std::shared_ptr<Zone>, KeyHash, std::equal_to<>> by_name_;
    std::vector<std::shared_ptr<Zone>> ordered_;
};

}  // namespace headwater::zone
