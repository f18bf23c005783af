#include "server/DeferredSnapshots.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include <spdlog/spdlog.h>

namespace headwater::server {

DeferredSnapshots::~DeferredSnapshots() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void DeferredSnapshots::wanted() {
    {
        const std::lock_guard lock(mutex_);
        wanted_ = true;
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    wake_.notify_one();
}

void DeferredSnapshots::run() {
    // Behind the serving threads (nice 10, this thread only): right after a start every core is answering
    // the secondaries' first queries. Not idle priority: on a busy machine that could put the snapshots
    // off indefinitely, and until one is written a crash forgets what the zone served.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    for (;;) {
        bool last = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return wanted_ || stopping_; });
            wanted_ = false;
            last = stopping_;
        }
        // One pass over every zone: a zone owes nothing unless it was just opened, and asking costs a lock.
        const auto start = std::chrono::steady_clock::now();
        std::size_t written = 0;
        for (const auto& z : store_.zones()) {
            auto w = z->write_deferred_snapshot();
            if (!w)
                spdlog::error("zone={} {} (written with the zone's next change)", z->name_text(), w.error());
            else if (*w)
                ++written;
        }
        if (written > 0)
            spdlog::debug("state: {} zone snapshot(s) written in {} ms", written,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count());
        if (last) return;
    }
}

}  // namespace headwater::server
