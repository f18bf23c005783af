#include "server/QueryCounters.h"

namespace headwater::server {

namespace {

// Each thread takes the next shard the first time it counts: with at most kShards threads (udp_threads
// and tcp_threads are at most 64 each, usually 8) two threads rarely share one.
std::size_t thread_shard(std::size_t shards) {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % shards;
    return mine;
}

}  // namespace

QueryCounters::Shard& QueryCounters::shard() {
    return shards_[thread_shard(kShards)];
}

uint64_t QueryCounters::total(QueryTransport transport, std::size_t slot) const {
    uint64_t sum = 0;
    for (const Shard& s : shards_)
        sum += s.counts[static_cast<std::size_t>(transport) * kSlots + slot].load(std::memory_order_relaxed);
    return sum;
}

}  // namespace headwater::server
