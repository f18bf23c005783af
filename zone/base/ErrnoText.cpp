#include "zone/base/ErrnoText.h"

#include <system_error>

namespace headwater {

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

}  // namespace headwater
