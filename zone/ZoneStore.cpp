#include "zone/ZoneStore.h"

namespace headwater::zone {

std::string ZoneStore::key(dns::NameView name) {
    auto w = name.wire();
    std::string k(w.begin(), w.end());
    for (auto& c : k) c = static_cast<char>(dns::ascii_lower(static_cast<uint8_t>(c)));
    return k;
}

bool ZoneStore::add(std::shared_ptr<Zone> zone) {
    auto [it, inserted] = by_name_.emplace(key(zone->settings().name), zone);
    if (inserted) ordered_.push_back(std::move(zone));
    return inserted;
}

std::shared_ptr<Zone> ZoneStore::find_exact(dns::NameView name) const {
    auto it = by_name_.find(key(name));
    return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<Zone> ZoneStore::find_best(dns::NameView qname) const {
    const std::string k = key(qname);
    const std::string_view whole(k);
    // Longest suffix first: each label start in the wire form begins an ancestor's key, the root last.
    for (std::size_t pos = 0;; pos += static_cast<uint8_t>(k[pos]) + 1u) {
        if (auto it = by_name_.find(whole.substr(pos)); it != by_name_.end()) return it->second;
        if (k[pos] == 0) return nullptr;
    }
}

}  // namespace headwater::zone
