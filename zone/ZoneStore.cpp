#include "zone/ZoneStore.h"

namespace headwater::zone {

std::string ZoneStore::key(dns::NameView name) {
    return name.key();
}

ZoneStore::ZoneStore() : index_(std::make_shared<Index>()) {}

bool ZoneStore::add(std::shared_ptr<Zone> zone) {
    const auto index = index_.load();
    auto [it, inserted] = index->by_name.emplace(key(zone->settings().name), zone);
    if (inserted) index->ordered.push_back(std::move(zone));
    return inserted;
}

bool ZoneStore::replace(std::vector<std::shared_ptr<Zone>> zones) {
    auto index = std::make_shared<Index>();
    index->by_name.reserve(zones.size());
    for (const auto& z : zones)
        if (!index->by_name.emplace(key(z->settings().name), z).second) return false;
    index->ordered = std::move(zones);
    index_.store(std::move(index));
    return true;
}

std::shared_ptr<Zone> ZoneStore::find_exact(dns::NameView name) const {
    const auto index = index_.load();
    auto it = index->by_name.find(key(name));
    return it == index->by_name.end() ? nullptr : it->second;
}

std::shared_ptr<Zone> ZoneStore::find_best(dns::NameView qname) const {
    const std::string k = key(qname);
    const std::string_view whole(k);
    const auto index = index_.load();
    // Longest suffix first: each label start in the wire form begins an ancestor's key, the root last.
    for (std::size_t pos = 0;; pos += static_cast<uint8_t>(k[pos]) + 1u) {
        if (auto it = index->by_name.find(whole.substr(pos)); it != index->by_name.end()) return it->second;
        if (k[pos] == 0) return nullptr;
    }
}

}  // namespace headwater::zone
