#include "tsig/KeyStore.h"

namespace headwater::tsig {

namespace {

std::string lower_wire(dns::NameView name) {
    return name.key();
}

}  // namespace

Result<void, std::string> KeyStore::add(Key key) {
    std::string k = lower_wire(key.name());
    if (keys_.count(k) != 0) return unexpected("duplicate key \"" + key.name().to_string() + "\"");
    keys_.emplace(std::move(k), std::make_shared<const Key>(std::move(key)));
    return {};
}

std::shared_ptr<const Key> KeyStore::find(dns::NameView name) const {
    const auto it = keys_.find(lower_wire(name));
    return it == keys_.end() ? nullptr : it->second;
}

}  // namespace headwater::tsig
