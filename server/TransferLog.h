// The transfer log: an optional JSON-lines file, one object per event (a transfer, a refusal, an SOA
// query, a NOTIFY sent or answered), for a lab to analyse afterwards. Each line is written with
// one write(2) on a descriptor opened with O_APPEND, so lines from several threads never interleave and
// logrotate's copytruncate works (the next line lands at the new end of the file, not at the old offset).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "zone/base/Result.h"

namespace headwater::server {

class TransferLog {
  public:
    TransferLog() = default;
    ~TransferLog();
    TransferLog(const TransferLog&) = delete;
    TransferLog& operator=(const TransferLog&) = delete;

    // Opens (creating with mode 0640) `path` for appending; replaces a file opened before.
    Result<void, std::string> open(const std::filesystem::path& path);
    void close();
    bool is_open() const;

    // Appends `event` as one compact line. A no-op (success) when no file is open. Thread-safe.
    // Invalid UTF-8 in strings is replaced, so encoding cannot fail; a failed write(2) is returned.
    Result<void, std::string> write(const nlohmann::json& event);

    // Lines written since open, and writes that failed (for status and tests).
    std::size_t lines() const;
    std::size_t errors() const;

  private:
    mutable std::mutex mutex_;
    int fd_ = -1;
    std::filesystem::path path_;
    std::size_t lines_ = 0, errors_ = 0;
};

// {"time": "2026-11-26T16:00:00.123Z", "event": kind}: the start of every log line. Milliseconds, UTC:
// a lab measures how soon after a reload each secondary fetched.
nlohmann::json log_event(std::string_view kind, std::chrono::system_clock::time_point at);

// RFC 3339 UTC with milliseconds.
std::string format_time_ms(std::chrono::system_clock::time_point t);

}  // namespace headwater::server
