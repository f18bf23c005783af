// Queries answered, by transport (UDP, TCP, TLS) and RCODE, counted on the UDP and TCP threads at query rate.
// Each thread adds to a shard of its own (a cache line apart from the others, relaxed atomics), so counting
// costs one uncontended increment and never a lock; a metrics scrape sums the shards.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace headwater::server {

enum class QueryTransport : uint8_t { Udp, Tcp, Tls };

class QueryCounters {
  public:
    // Slots 0..15: the answer's header RCODE (RFC 1035 §4.1.1; an extended RCODE such as BADVERS counts
    // under its low four bits, as the header carries it). kDropped: a query that got no answer at all.
    static constexpr std::size_t kDropped = 16;
    static constexpr std::size_t kSlots = 17;
    static constexpr std::size_t kTransports = 3;

    // The answer's RCODE is read from its header; an answer shorter than a header counts as dropped.
    void count_answer(QueryTransport transport, std::span<const uint8_t> answer) {
        const std::size_t slot = answer.size() >= 4 ? (answer[3] & 0x0Fu) : kDropped;
        add(transport, slot);
    }
    void count_dropped(QueryTransport transport) { add(transport, kDropped); }

    // The sum over the shards (a scrape; concurrent increments may or may not be included).
    uint64_t total(QueryTransport transport, std::size_t slot) const;

  private:
    static constexpr std::size_t kShards = 32;
    struct alignas(64) Shard {
        std::array<std::atomic<uint64_t>, kTransports * kSlots> counts{};
    };
    void add(QueryTransport transport, std::size_t slot) {
        shard().counts[static_cast<std::size_t>(transport) * kSlots + slot].fetch_add(
            1, std::memory_order_relaxed);
    }
    Shard& shard();

    std::array<Shard, kShards> shards_{};
};

}  // namespace headwater::server
