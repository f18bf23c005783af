// The set of served zones. Lookups take no lock: they read an immutable index, which `replace`
// (reconfigure) swaps for a new one at once; each Zone swaps its own versions atomically.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone/Zone.h"

namespace headwater::zone {

class ZoneStore {
  public:
    ZoneStore();
    // Start-up only (nothing may look up concurrently). Returns false when a zone of that name is already
    // present.
    bool add(std::shared_ptr<Zone> zone);
    // Publishes `zones` as the new set in one step (reconfigure): a lookup sees the old set or the new one,
    // never a mix. Returns false (and changes nothing) when two share a name.
    bool replace(std::vector<std::shared_ptr<Zone>> zones);

    std::shared_ptr<Zone> find_exact(dns::NameView name) const;
    // The served zone that is the closest encloser of `qname` (RFC 1034 §4.3.2 step 2), or null.
    std::shared_ptr<Zone> find_best(dns::NameView qname) const;
    // The zones in config order, as of the call (a copy: a reconfigure may replace the set meanwhile).
    std::vector<std::shared_ptr<Zone>> zones() const { return index_.load()->ordered; }
    std::size_t size() const { return index_.load()->ordered.size(); }

  private:
    // Lower-cased wire form; the suffixes of one key are the keys of the name's ancestors, so find_best
    // lowers the query name once and looks up views into it (heterogeneous lookup, no string per label).
    static std::string key(dns::NameView name);
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
    };
    struct Index {
        std::unordered_map<std::string, std::shared_ptr<Zone>, KeyHash, std::equal_to<>> by_name;
        std::vector<std::shared_ptr<Zone>> ordered;
    };
    std::atomic<std::shared_ptr<Index>> index_;
};

}  // namespace headwater::zone
