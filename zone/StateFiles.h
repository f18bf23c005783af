// The names of the files in a state directory, read once: a start-up of many zones asks for each zone's
// journal, snapshot and records, and on a first start none of them exists. One directory read answers
// all of those questions instead of a failed open() per file per zone.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>

namespace headwater::zone {

class StateFiles {
  public:
    // The files in `dir` now. A directory that does not exist holds none; one that cannot be read lists
    // nothing known: every may_exist() answers true, and the zones look for themselves.
    static StateFiles list(const std::filesystem::path& dir);

    // False only when the listing was read and `name` was not in it.
    bool may_exist(const std::string& name) const { return !complete_ || names_.count(name) != 0; }
    // Whether the listing is known to be whole (the directory was read, or it does not exist).
    bool complete() const { return complete_; }
    // The directory existed when listed.
    bool directory_exists() const { return exists_; }

  private:
    std::unordered_set<std::string> names_;
    bool complete_ = false;
    bool exists_ = false;
};

}  // namespace headwater::zone
