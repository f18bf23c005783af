// The keys the server knows, looked up by the owner name of a TSIG record. Keys are shared (shared_ptr) so
// a transfer in progress keeps its key even when a reload replaces the store.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tsig/Key.h"

namespace headwater::tsig {

class KeyStore {
  public:
    // Refuses a second key with the same name (names compare case-insensitively).
    Result<void, std::string> add(Key key);
    // nullptr when no key has that name.
    std::shared_ptr<const Key> find(dns::NameView name) const;
    std::size_t size() const { return keys_.size(); }
    bool empty() const { return keys_.empty(); }

  private:
    std::map<std::string, std::shared_ptr<const Key>, std::less<>> keys_;  // by lower-cased wire name
};

}  // namespace headwater::tsig
