// A whole file read into memory, for the files read once (the config, key files, a catalog's last text).
#pragma once

#include <filesystem>
#include <string>

#include "zone/base/Result.h"

namespace headwater {

// The file's bytes; the error is the errno of what failed (ENOENT: there is no such file), for the caller
// to tell "absent" from "unreadable" and to word the message (errno_text).
Result<std::string, int> read_file_text(const std::filesystem::path& file);

}  // namespace headwater
