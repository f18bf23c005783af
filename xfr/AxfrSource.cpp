#include "xfr/AxfrSource.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>

#include "zone/dns/MessageBuilder.h"
#include "zone/dns/WireWriter.h"

namespace headwater::xfr {

using dns::Section;

namespace {

uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// Appends the message of the transfer that starts at `position` (see AxfrSource::position_) to `out`
// and advances `position` past the records it holds. With `question`, the message starts with it,
// written as given and kept out of name compression: the cached first message gets the client's question
// pasted over the apex, so no answer name may point into it (its case can differ; names go out exactly
// as stored).
void render_message(const zone::ZoneVersion& version, std::size_t& position, std::vector<uint8_t>& out,
                    std::size_t max_message, std::size_t reserve, uint16_t id, const dns::Question* question,
                    std::size_t max_records = 0) {
    const std::size_t n = version.size();
    const std::size_t end = n + 2;  // opening SOA + records (SOA skipped, so n-1) + closing SOA, as positions
    const std::size_t start = out.size();
    dns::MessageBuilder mb(out, max_message);
    mb.header(id, dns::flag::QR | dns::flag::AA);
    if (question != nullptr) {
        dns::WireWriter w(out);
        w.bytes(question->qname.wire());
        w.u16(dns::to_u16(question->qtype));
        w.u16(question->qclass);
    }
    mb.reserve(reserve);

    while (position < end) {
        if (max_records != 0 && mb.count(Section::Answer) >= max_records) break;
        std::size_t index;
        if (position == 0 || position == n + 1) {
            index = version.soa_index();  // RFC 5936 §2.2: the first and last record is the SOA
        } else {
            index = position - 1;
            if (index == version.soa_index()) {
                ++position;
                continue;
            }
        }
        if (mb.push_wire(Section::Answer, version.record(index).wire) == dns::Pushed::Full) {
            // A record that does not fit an empty message cannot be sent at all; RDATA is at most 65535
            // octets and a record fits 64 KiB unless the owner is long too: treat it as a bug.
            assert(mb.count(Section::Answer) > 0);
            if (mb.count(Section::Answer) == 0) ++position;
            break;
        }
        ++position;
    }
    mb.finish();
    if (question != nullptr) dns::WireWriter(out).patch_u16(start + 4, 1);  // QDCOUNT
}

// Anonymous memory for rendered messages, mapped directly so that freeing a version's cache gives the
// pages back to the system at once (heap chunks of this size may stay with the allocator), and so that
// pages never written cost no RSS.
class Slab {
  public:
    explicit Slab(std::size_t capacity) : capacity_(capacity) {
        void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<uint8_t*>(p);
    }
    ~Slab() {
        if (data_ != nullptr) ::munmap(data_, capacity_);
    }
    Slab(Slab&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), capacity_(o.capacity_), used_(o.used_) {}
    Slab& operator=(Slab&&) = delete;
    Slab(const Slab&) = delete;
    Slab& operator=(const Slab&) = delete;

    std::size_t room() const { return capacity_ - used_; }
    // Copies `bytes` in (room() must suffice) and returns where they now live; never moves afterwards.
    std::span<const uint8_t> append(std::span<const uint8_t> bytes) {
        uint8_t* at = data_ + used_;
        std::memcpy(at, bytes.data(), bytes.size());
        used_ += bytes.size();
        return {at, bytes.size()};
    }

  private:
    uint8_t* data_ = nullptr;
    std::size_t capacity_;
    std::size_t used_ = 0;
};

}  // namespace

// The pre-rendered messages of one version's AXFR: message i as it goes to every client, with ID 0 and,
// in message 0, the apex (as stored) as the question of type AXFR. Filled on demand, one message per
// call, under a mutex; a message once rendered never moves, so readers keep spans into it.
class AxfrMessages {
  public:
    explicit AxfrMessages(const zone::ZoneVersion& version) : version_(version) {}

    struct Message {
        std::span<const uint8_t> wire;
        bool last = false;
    };

    Message get(std::size_t i) {
        std::lock_guard lock(mutex_);
        while (messages_.size() <= i) {
            // The caller stops at the last message (Step::Done); asking beyond it is a bug.
            if (done_) throw std::logic_error("AXFR message asked for after the last one");
            render_next();
        }
        return messages_[i];
    }

  private:
    void render_next() {
        scratch_.clear();
        std::optional<dns::Question> question;
        if (messages_.empty())
            question = dns::Question{dns::Name::from_wire(version_.apex().wire()).value(), dns::RRType::AXFR,
                                     dns::to_u16(dns::RRClass::IN)};
        render_message(version_, position_, scratch_, dns::kMaxTcpMessage, kRenderedTsigReserve, 0,
                       question ? &*question : nullptr);
        if (slabs_.empty() || slabs_.back().room() < scratch_.size()) slabs_.emplace_back(slab_size());
        done_ = position_ >= version_.size() + 2;
        messages_.push_back(Message{slabs_.back().append(scratch_), done_});
    }

    // Compressed messages take at most the zone's wire size plus a header per message; one slab holds a
    // small zone whole, a large one takes several of 8 MiB.
    std::size_t slab_size() const {
        constexpr std::size_t kPage = 4096;
        constexpr std::size_t kMaxSlab = std::size_t{8} << 20;
        const std::size_t want = version_.wire_bytes() + 2 * version_.soa().wire.size() + 2 * kPage;
        return std::clamp((want + kPage - 1) / kPage * kPage, std::size_t{16} * kPage, kMaxSlab);
    }

    const zone::ZoneVersion& version_;  // owns this object
    std::mutex mutex_;
    std::size_t position_ = 0;
    bool done_ = false;
    std::vector<Message> messages_;
    std::vector<Slab> slabs_;
    std::vector<uint8_t> scratch_;
};

AxfrSource::AxfrSource(zone::ZoneVersionPtr version, dns::Question question, uint16_t id,
                       std::size_t max_message)
    : version_(std::move(version)), question_(std::move(question)), id_(id), max_message_(max_message) {}

Step AxfrSource::next(std::vector<uint8_t>& out, std::size_t reserve) {
    if (mode_ == Mode::Undecided) {
        // The cached messages fit any signer and the TCP limit; the question is pasted over the apex, so
        // it must have the apex's length (the responder only starts an AXFR for the apex, in any case).
        const bool fits = max_message_ == dns::kMaxTcpMessage && max_records_ == 0 &&
                          reserve <= kRenderedTsigReserve &&
                          question_.qname.wire().size() == version_->apex().wire().size();
        mode_ = fits ? Mode::Cached : Mode::Live;
    }

    const std::size_t start = out.size();
    if (mode_ == Mode::Live) {
        render_message(*version_, position_, out, max_message_, reserve, id_,
                       messages_ == 0 ? &question_ : nullptr, max_records_);
        ++messages_;
        records_ += rd16(out.data() + start + 6);
        return position_ >= version_->size() + 2 ? Step::Done : Step::More;
    }

    const AxfrMessages::Message m = version_->derived<AxfrMessages>(*version_).get(messages_);
    out.insert(out.end(), m.wire.begin(), m.wire.end());
    dns::WireWriter w(out);
    w.patch_u16(start, id_);
    if (messages_ == 0) {
        // RFC 5936 §2.2.1: the question as the client sent it (same length as the apex: checked above).
        const auto qname = question_.qname.wire();
        std::copy(qname.begin(), qname.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(start + dns::kHeaderSize));
        const std::size_t after = start + dns::kHeaderSize + qname.size();
        w.patch_u16(after, dns::to_u16(question_.qtype));
        w.patch_u16(after + 2, question_.qclass);
    }
    ++messages_;
    records_ += rd16(out.data() + start + 6);
    return m.last ? Step::Done : Step::More;
}

}  // namespace headwater::xfr
