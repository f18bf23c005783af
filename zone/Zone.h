// A served zone: its settings, the version being served (swapped atomically), and reload bookkeeping.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "zone/LoadError.h"
#include "zone/ZoneVersion.h"
#include "zone/dns/Result.h"

namespace headwater::zone {

using Clock = std::chrono::system_clock;

struct ZoneSettings {
    dns::Name name;
    std::filesystem::path file;
};

// Loads and checks a master file into a new version (nothing is served from it yet).
dns::Result<ZoneVersionPtr, LoadError> load_zone_file(const dns::Name& apex,
                                                      const std::filesystem::path& file);

enum class ReloadOutcome : uint8_t { Updated, Unchanged, Error };

struct ReloadResult {
    ReloadOutcome outcome = ReloadOutcome::Error;
    std::optional<dns::Serial> old_serial;  // absent before the first successful load
    std::optional<dns::Serial> serial;      // what is served after the reload
    std::string error;                      // "file:line: message" when outcome is Error
};

struct ZoneStatus {
    std::optional<dns::Serial> serial;
    std::size_t records = 0;
    std::optional<Clock::time_point> loaded_at;    // when the served version was loaded
    std::optional<Clock::time_point> last_reload;  // last reload attempt, whatever its outcome
    std::string last_error;                        // empty when the last attempt succeeded
};

class Zone {
  public:
    explicit Zone(ZoneSettings settings) : settings_(std::move(settings)) {}

    const ZoneSettings& settings() const { return settings_; }
    // The served version, or null before the first successful load. A caller keeps its snapshot for as
    // long as it needs (a transfer in flight finishes on the version it started with).
    ZoneVersionPtr current() const { return current_.load(std::memory_order_acquire); }

    // Reads the file and, if it is good and differs, swaps the new version in. Any error leaves the
    // served version untouched. Serial rules (RFC 1982 arithmetic): changed content needs a newer serial;
    // `force` accepts a serial that went backwards (the operator knows the secondaries must refetch).
    ReloadResult reload(Clock::time_point now, bool force = false);
    // For tests and transfers-in: serve `version` as if loaded at `now`.
    void install(ZoneVersionPtr version, Clock::time_point now);

    ZoneStatus status() const;

  private:
    ZoneSettings settings_;
    std::atomic<ZoneVersionPtr> current_;
    mutable std::mutex mutex_;  // serialises reloads and guards the bookkeeping below
    std::optional<Clock::time_point> loaded_at_;
    std::optional<Clock::time_point> last_reload_;
    std::string last_error_;
};

}  // namespace headwater::zone
