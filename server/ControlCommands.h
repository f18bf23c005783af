// The control commands (docs/control.md), dispatched through a table rather than a chain of ifs.
// Each takes the parsed request and returns the JSON response.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "zone/ZoneStore.h"

namespace headwater::server {

class ControlCommands {
  public:
    using Now = std::function<zone::Clock::time_point()>;
    ControlCommands(zone::ZoneStore& store, Now now);

    nlohmann::json handle(const nlohmann::json& request);

    // Reloads every zone (SIGHUP); returns the same JSON as the reload command.
    nlohmann::json reload_all();

  private:
    nlohmann::json status(const nlohmann::json& request);
    nlohmann::json reload(const nlohmann::json& request);
    nlohmann::json bump(const nlohmann::json& request);
    nlohmann::json journal(const nlohmann::json& request);

    zone::ZoneStore& store_;
    Now now_;
};

std::string format_time(zone::Clock::time_point t);  // RFC 3339, UTC, seconds

}  // namespace headwater::server
