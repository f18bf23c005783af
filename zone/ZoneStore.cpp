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
    const std::size_t labels = qname.label_count();
    for (std::size_t i = 0; i <= labels; ++i)
        if (auto z = find_exact(qname.parent(i))) return z;
    return nullptr;
}

}  // namespace headwater::zone
