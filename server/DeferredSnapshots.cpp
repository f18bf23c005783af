#include "server/DeferredSnapshots.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

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

bool DeferredSnapshots::stopping() {
    const std::lock_guard lock(mutex_);
    return stopping_;
}

void DeferredSnapshots::run() {
    // Behind the serving threads (nice 10, this thread only): right after a start every core is answering
    // the secondaries' first queries. Not idle priority: on a busy machine that could put the snapshots
    // off indefinitely, and until one is written a crash forgets what the zone served.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return wanted_ || stopping_; });
            if (stopping_) return;
            wanted_ = false;
        }
        pass();
    }
}

void DeferredSnapshots::pass() {
    // Every zone is asked: a zone owes nothing unless it was just opened, and asking costs a lock. A stop
    // ends the pass: what it has not reached is written after the next start (nothing is lost meanwhile:
    // those zones' files alone give the same start).
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<zone::Zone>> written;
    for (const auto& z : store_.zones()) {
        if (stopping()) break;
        try {
            auto w = z->write_deferred_snapshot();
            if (!w)
                spdlog::error("zone={} {} (written with the zone's next change)", z->name_text(), w.error());
            else if (*w)
                written.push_back(z);
        } catch (const std::exception& e) {  // a bug, or no memory: this zone waits for its next change
            spdlog::error("zone={} snapshot not written: {}", z->name_text(), e.what());
        }
    }
    if (written.empty()) return;
    // One sync for all of them instead of two fsyncs each; then they count as durable (a zone's first
    // journal entry need not fsync its snapshot), and the time in which a crash could make a zone forget
    // the version it served ends here.
    const std::string& dir = written.front()->settings().state_dir.str();
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && ::syncfs(fd) == 0) {
        // And once more. Measured on ext4 after 100k new snapshots: the next fsync anywhere on the file
        // system still took 20-40 ms (a first reload's or update's, against 1 ms later), and a second
        // syncfs here takes about 20 ms and leaves it at 1 ms: the first sync leaves file-system work
        // (metadata of the new files, most likely) that the next one pays for. This thread pays it. Like
        // the first, it also flushes whatever else is dirty on that file system.
        (void)::syncfs(fd);
        for (const auto& z : written) z->snapshot_synced();
    } else {
        spdlog::warn("state: cannot sync {}: {} (each zone syncs its snapshot before its first change)", dir,
                     std::strerror(errno));
    }
    if (fd >= 0) ::close(fd);
#if defined(__GLIBC__)
    // What the pass allocated and freed stays in its thread's heap otherwise (with 100k zones it was as
    // much again as the zones themselves, for the server's lifetime).
    malloc_trim(0);
#endif
    spdlog::debug(
        "state: {} zone snapshot(s) written and synced in {} ms", written.size(),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
            .count());
}

}  // namespace headwater::server
