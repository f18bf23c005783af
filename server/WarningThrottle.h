// A warning that a flood would repeat thousands of times (oversized queries, connections over a limit):
// logged at once, then at most every 10 s with the number of times it happened in between. Thread-safe:
// the TCP listeners' connections share one per kind of warning across their threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace headwater::server {

class WarningThrottle {
  public:
    template <class... Args>
    void warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        if (last_ != std::chrono::steady_clock::time_point() && now - last_ < std::chrono::seconds(10)) {
            ++suppressed_;
            return;
        }
        const std::string text = fmt::format(fmt, std::forward<Args>(args)...);
        if (suppressed_ > 0) {
            spdlog::warn("{} ({} more like this in the last {} s)", text, suppressed_,
                         std::chrono::duration_cast<std::chrono::seconds>(now - last_).count());
        } else {
            spdlog::warn("{}", text);
        }
        last_ = now;
        suppressed_ = 0;
    }

  private:
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
    std::size_t suppressed_ = 0;
};

}  // namespace headwater::server
