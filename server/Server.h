// The running server: zones loaded from the config, DNS listeners on the DNS thread, the control socket
// on its own thread (a reload of a big zone never stalls queries or transfers), signals.
#pragma once

#include <memory>
#include <string>

#include "conf/Config.h"
#include "zone/base/Result.h"

namespace headwater::server {

class Server {
  public:
    // Loads every zone. A zone whose file does not load is kept unserved (or served from the state
    // directory) and logged with its file:line error; only config errors are returned, before anything is
    // bound.
    static Result<std::unique_ptr<Server>, std::string> create(conf::Config config);
    ~Server();

    // Binds every socket, serves until SIGTERM/SIGINT, then lets transfers finish within the grace
    // period. Returns the process exit status.
    int run();

    struct Impl;

  private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Checks the config (server.user and server.group included) and loads every zone without serving; prints
// findings, each broken zone by name. Returns the exit status: non-zero when anything is broken.
int check_config(const std::filesystem::path& file);

}  // namespace headwater::server
