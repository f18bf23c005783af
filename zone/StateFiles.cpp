#include "zone/StateFiles.h"

#include <dirent.h>

#include <cerrno>
#include <memory>

namespace headwater::zone {

StateFiles StateFiles::list(const std::filesystem::path& dir) {
    StateFiles out;
    // readdir, not directory_iterator: the iterator stats nothing either, but builds a path per entry.
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) {
        out.complete_ = errno == ENOENT;  // no directory: no file in it either (it is made on first use)
        return out;
    }
    for (;;) {
        errno = 0;
        const dirent* e = ::readdir(d.get());
        if (e == nullptr) break;
        out.names_.emplace(e->d_name);
    }
    if (errno != 0) return StateFiles{};  // a listing cut short says nothing about what is missing
    out.complete_ = true;
    out.exists_ = true;
    return out;
}

}  // namespace headwater::zone
