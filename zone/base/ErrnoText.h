// An errno value as text for error messages ("No such file or directory"); thread-safe, unlike strerror.
#pragma once

#include <string>

namespace headwater {

std::string errno_text(int err);

}  // namespace headwater
