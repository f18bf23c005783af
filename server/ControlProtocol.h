// The control protocol shared by the server (ControlServer, ControlCommands) and headwaterctl:
// newline-delimited JSON over a Unix stream socket, one request object per line, one response object per
// line, several requests per connection. Reference: docs/control.md.
//
// Header-only and free of Asio on purpose: tools/ include it without linking the server.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "zone/base/Result.h"
#include "zone/dns/Serial.h"

namespace headwater::server::control {

// A request line longer than this (without its '\n') is refused and the connection closed: a control
// client has no reason to send more, and the server must not buffer without bound.
inline constexpr std::size_t kMaxRequestLine = 64 * 1024;

inline constexpr const char* kDefaultSocketPath = "/run/headwater/headwater.sock";
inline constexpr const char* kSocketEnvVar = "HEADWATER_SOCKET";

// The envelope every command shares. Commands may read further fields from the raw JSON object.
struct Request {
    std::string command;
    std::optional<std::string> zone;  // absent or null: every zone
    bool force = false;
};

inline nlohmann::json make_request(std::string_view command, const std::optional<std::string>& zone = {},
                                   bool force = false) {
    nlohmann::json request = {{"command", std::string(command)}};
    if (zone) request["zone"] = *zone;
    if (force) request["force"] = true;
    return request;
}

// A serial as the answers carry it: its number, or null when there is none.
inline nlohmann::json serial_json(const std::optional<dns::Serial>& s) {
    return s ? nlohmann::json(s->value()) : nlohmann::json(nullptr);
}

inline nlohmann::json ok_response() {
    return {{"ok", true}};
}

inline nlohmann::json error_response(std::string_view message) {
    return {{"ok", false}, {"error", std::string(message)}};
}

// True only for an object whose "ok" member is the boolean true.
inline bool is_ok(const nlohmann::json& response) {
    if (!response.is_object()) return false;
    const auto it = response.find("ok");
    return it != response.end() && it->is_boolean() && it->get<bool>();
}

// Checks the envelope; unknown members are allowed (later commands add their own).
inline Result<Request, std::string> parse_request(const nlohmann::json& json) {
    if (!json.is_object()) return unexpected(std::string("expected a JSON object"));
    Request request;
    const auto command = json.find("command");
    if (command == json.end() || !command->is_string() || command->get_ref<const std::string&>().empty()) {
        return unexpected(std::string("\"command\" must be a non-empty string"));
    }
    request.command = command->get<std::string>();
    if (const auto zone = json.find("zone"); zone != json.end() && !zone->is_null()) {
        if (!zone->is_string()) return unexpected(std::string("\"zone\" must be a string"));
        request.zone = zone->get<std::string>();
    }
    if (const auto force = json.find("force"); force != json.end() && !force->is_null()) {
        if (!force->is_boolean()) return unexpected(std::string("\"force\" must be a boolean"));
        request.force = force->get<bool>();
    }
    return request;
}

// One protocol line: compact JSON and '\n'. Invalid UTF-8 (a zone file name, say) is replaced rather than
// thrown about, so encoding a response cannot fail.
inline std::string encode_line(const nlohmann::json& message) {
    std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    return line;
}

}  // namespace headwater::server::control
