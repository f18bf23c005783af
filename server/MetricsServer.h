// GET /metrics over HTTP/1.1 (Boost.Beast) on server.metrics_listen, on a thread and io_context of its
// own: a scrape never takes a serving thread, and a slow scraper only holds its own connection. The body
// is whatever `render` returns (ServerMetrics::render), produced on this thread for each request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "zone/base/Result.h"
#include "zone/dns/IpNetwork.h"

namespace headwater::server {

class MetricsServer {
  public:
    using Render = std::function<std::string()>;

    explicit MetricsServer(Render render);
    ~MetricsServer();  // stops
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds and listens (before the privileges are dropped: the port may be below 1024).
    Result<void, std::string> open(const dns::Endpoint& endpoint);
    // The bound port (useful when the endpoint asked for port 0).
    uint16_t port() const;
    // Serves on the server's own thread until stop().
    void start();
    void stop();

    struct State;

  private:
    std::unique_ptr<State> state_;
};

}  // namespace headwater::server
