// ControlServer: the control socket (docs/control.md). It knows the framing, not the commands: each
// request object is handed to a Handler whose JSON result is sent back.
//
// Threading: everything runs on the io_context given to open(); call stop() and destroy the server on
// that thread (or while the io_context is not running), and before the io_context itself is destroyed.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "zone/base/Result.h"

namespace headwater::server {

struct ControlServerOptions {
    // A connection with no complete request (or an unread response) for this long is closed.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    // Further connections are closed at once: the socket is the owner's only, this just bounds fds.
    std::size_t max_connections = 64;
    // Commands whose handler runs on a thread of its own (verify: seconds of network I/O), so the socket
    // keeps answering other commands meanwhile. The handler must then be safe to call from that thread.
    std::vector<std::string> offloaded_commands;
};

class ControlServer {
  public:
    // Called on the io_context's thread with a request whose envelope is valid (an object with a string
    // "command"; see control::parse_request). Its result is sent as the response; an exception becomes
    // {"ok":false,"error":"internal error: ..."}.
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

    // Creates the parent directory if missing (mode 0700), refuses when another server answers on
    // socket_path, replaces a stale socket file, binds with mode 0600 and starts accepting.
    static Result<std::unique_ptr<ControlServer>, std::string> open(boost::asio::io_context& io,
                                                                    const std::filesystem::path& socket_path,
                                                                    Handler handler,
                                                                    ControlServerOptions options = {});

    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Closes the acceptor and every connection; idempotent.
    void stop();

    // Stops, waits for offloaded commands still running, then removes the socket file if it is still the
    // one this server bound.
    ~ControlServer();

    const std::filesystem::path& socket_path() const { return socket_path_; }

    struct State;  // shared with the accept and connection coroutines, which may outlive this object

  private:
    ControlServer(std::shared_ptr<State> state, std::filesystem::path socket_path);

    std::shared_ptr<State> state_;
    std::filesystem::path socket_path_;
};

}  // namespace headwater::server
