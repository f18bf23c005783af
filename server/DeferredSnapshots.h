// The snapshots of zones first loaded with FirstSnapshot::Deferred (start-up, reconfigure), written on a
// thread of their own once the zones are served, then made durable by one syncfs: two fsyncs per zone
// would otherwise be most of the time a start with thousands of zones takes to serve. A zone the thread
// has not reached yet loses nothing in a crash (its file alone gives the same start), and the zone itself
// makes its snapshot durable before it journals a change.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "zone/ZoneStore.h"

namespace headwater::server {

class DeferredSnapshots {
  public:
    explicit DeferredSnapshots(const zone::ZoneStore& store) : store_(store) {}
    ~DeferredSnapshots();  // ends the pass under way, then joins
    DeferredSnapshots(const DeferredSnapshots&) = delete;
    DeferredSnapshots& operator=(const DeferredSnapshots&) = delete;

    // Any thread: the zones in the store have snapshots to write (a pass over them follows).
    void wanted();

  private:
    void run();
    void pass();
    bool stopping();

    const zone::ZoneStore& store_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool wanted_ = false;
    bool stopping_ = false;
    std::thread thread_;  // started by the first wanted()
};

}  // namespace headwater::server
