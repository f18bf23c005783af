// Lab mode (docs/lab.md): the faults the server serves on purpose, from the [[lab]] tables and the
// `headwaterctl lab` command, and the report of what each secondary did since. Only with
// server.lab = true; otherwise the server has no LabService and the command is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "conf/Config.h"
#include "server/SecondaryRegistry.h"
#include "xfr/FaultSet.h"
#include "zone/ZoneStore.h"
#include "zone/base/Result.h"

namespace headwater::server {

// The [[lab]] tables as a FaultSet, each peer and fault checked ("lab[2].fault: unknown fault ..."), set
// at `now_ms`. Empty when there are none.
Result<xfr::FaultSet, std::string> lab_faults(const conf::Config& config, uint64_t now_ms);

class LabService {
  public:
    // `registry` keeps the timeline the report reads (SecondaryRegistry::enable_timeline).
    LabService(const zone::ZoneStore& store, SecondaryRegistry& registry, xfr::FaultSet initial);

    // What the Responder and the Notifier look faults up in.
    std::shared_ptr<const xfr::FaultBoard> board() const { return board_; }

    // The "lab" control command: {"action": "set"|"clear"|"list"|"report", "zone", "peer", "fault"}
    // (docs/control.md). `now_ms`: unix milliseconds.
    nlohmann::json handle(const nlohmann::json& request, uint64_t now_ms);

  private:
    nlohmann::json set(const nlohmann::json& request, uint64_t now_ms);
    nlohmann::json clear(const nlohmann::json& request);
    nlohmann::json list(const nlohmann::json& request) const;
    nlohmann::json report(const nlohmann::json& request, uint64_t now_ms) const;
    // The served zone a request names, as the store spells it ("example.com."), or why not.
    Result<std::string, std::string> zone_of(const nlohmann::json& request) const;

    const zone::ZoneStore& store_;
    SecondaryRegistry& registry_;
    std::shared_ptr<xfr::FaultBoard> board_ = std::make_shared<xfr::FaultBoard>();
    std::mutex update_mutex_;  // one read-modify-replace of the board at a time
};

// The answer to "lab" when server.lab is off.
nlohmann::json lab_disabled_response();

// Everything in a FaultSet as the `lab list` array: {"zone","peer","fault","since"}.
nlohmann::json faults_json(const xfr::FaultSet& set);

}  // namespace headwater::server
