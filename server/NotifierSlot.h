// The Notifier in use, replaceable by `reconfigure`: a new Notifier for the new zones and targets (new
// sockets) is started first, then swapped in; the old one is stopped (its pending retries end) and
// destroyed on the DNS thread, the io_context's only thread: nothing of it runs there at the same time,
// and its coroutines, still winding down, hold only its shared state. Until then it is kept here (and
// with it, at shutdown, when the io_context no longer runs).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/Notifier.h"
#include "zone/ZoneStore.h"

namespace boost::asio {
class io_context;
}

namespace headwater::server {

class NotifierSlot {
  public:
    // `setup` is applied to every Notifier before it starts (event sink); `max_in_flight` likewise.
    NotifierSlot(boost::asio::io_context& io, std::size_t max_in_flight,
                 std::function<void(Notifier&)> setup);

    // The first Notifier (start-up).
    Result<void, std::string> start(std::vector<NotifyZone> zones);
    // A Notifier for `zones` replaces the current one. Of `served` (the zones about to be served), those
    // named in `announce` (Name::to_string()) get a NOTIFY for their current version; the others only
    // remember it (nothing is sent for an unchanged zone). On failure (a socket) the current one stays.
    Result<void, std::string> replace(std::vector<NotifyZone> zones,
                                      const std::vector<std::shared_ptr<zone::Zone>>& served,
                                      const std::set<std::string>& announce);

    std::shared_ptr<Notifier> current() const;
    void stop();
    // Replaced Notifiers not destroyed yet (their release waits for the DNS thread).
    std::size_t retired() const;

  private:
    boost::asio::io_context& io_;
    std::size_t max_in_flight_;
    std::function<void(Notifier&)> setup_;
    mutable std::mutex mutex_;
    std::shared_ptr<Notifier> current_;
    std::vector<std::shared_ptr<Notifier>> retired_;
};

}  // namespace headwater::server
