#include "xfr/NotifyTracker.h"

#include <algorithm>
#include <stdexcept>

#include "zone/dns/Message.h"
#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {

namespace {

// A NOTIFY is one question and one SOA: far below the 512 octets every UDP peer accepts (RFC 1035 §4.2.1).
constexpr std::size_t kMaxNotifySize = 512;

uint16_t notify_flags() {
    return static_cast<uint16_t>((static_cast<uint16_t>(dns::Opcode::Notify) << 11) | dns::flag::AA);
}

// Peers report IPv4 senders on dual-stack sockets as ::ffff:a.b.c.d; compare the addresses themselves.
bool same_peer(const dns::Endpoint& a, const dns::Endpoint& b) {
    return a.port == b.port && a.address.unmapped() == b.address.unmapped();
}

}  // namespace

std::string_view to_string(NotifyStatus status) {
    switch (status) {
        case NotifyStatus::Idle:
            return "idle";
        case NotifyStatus::Scheduled:
            return "scheduled";
        case NotifyStatus::Sending:
            return "sending";
        case NotifyStatus::Acknowledged:
            return "acknowledged";
        case NotifyStatus::Failed:
            return "failed";
        case NotifyStatus::Withheld:
            return "withheld";
    }
    return "unknown";
}

NotifyTracker::NotifyTracker(dns::Name zone, std::vector<NotifyTarget> targets, NotifyOptions options,
                             IdGenerator ids)
    : zone_(std::move(zone)), targets_(std::move(targets)), options_(options), ids_(std::move(ids)) {
    if (!ids_) throw std::invalid_argument("NotifyTracker needs an ID generator");
    states_.resize(targets_.size());
    work_.resize(targets_.size());
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        states_[i].address = targets_[i].address;
        if (targets_[i].key) states_[i].key_name = targets_[i].key->name().to_string();
        states_[i].source = targets_[i].source;
    }
}

void NotifyTracker::restart(std::size_t i, dns::Serial serial, TimePoint at, NotifyStatus status) {
    auto& s = states_[i];
    s.status = status;
    s.serial = serial;
    s.tries = 0;
    s.last_error.clear();
    s.last_error_unix.reset();
    work_[i].next_at = at;
    // Answers to the replaced serial's tries no longer prove anything about the new one.
    work_[i].tries.clear();
}

void NotifyTracker::zone_changed(dns::Serial serial, std::span<const uint8_t> soa_record, TimePoint now) {
    soa_.assign(soa_record.begin(), soa_record.end());
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        // Within a burst the first change fixes the send time, so a stream of reloads still goes out
        // `delay` after it started rather than being pushed back forever.
        const bool in_window = states_[i].status == NotifyStatus::Scheduled && work_[i].next_at;
        const TimePoint at = in_window ? *work_[i].next_at : now + options_.delay;
        restart(i, serial, at, NotifyStatus::Scheduled);
    }
}

bool NotifyTracker::notify_now(std::optional<std::size_t> target, dns::Serial serial, TimePoint now,
                               std::optional<std::span<const uint8_t>> soa_record) {
    if (target && *target >= targets_.size()) return false;
    if (soa_record) soa_.assign(soa_record->begin(), soa_record->end());
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        if (target && *target != i) continue;
        restart(i, serial, now, NotifyStatus::Scheduled);
    }
    return true;
}

std::chrono::milliseconds NotifyTracker::wait_after(unsigned attempt) const {
    // retry_interval * 2^(attempt-1), capped; the shift is bounded so it cannot overflow.
    auto wait = options_.retry_interval;
    for (unsigned k = 1; k < attempt && wait < options_.max_interval; ++k) wait *= 2;
    return std::min(wait, options_.max_interval);
}

namespace {

// Past one uncompressed name at `at` (the tracker's SOA is in uncompressed wire form).
std::size_t skip_name(std::span<const uint8_t> wire, std::size_t at) {
    while (at < wire.size() && wire[at] != 0) at += std::size_t{wire[at]} + 1;
    return at + 1;
}

}  // namespace

// The SOA record's serial (RFC 1035 §3.3.13: after MNAME and RNAME) set to `serial`.
void NotifyTracker::patch_soa_serial(std::vector<uint8_t>& soa, uint32_t serial) {
    constexpr std::size_t kTypeClassTtlLength = 10;
    std::size_t at = skip_name(soa, 0) + kTypeClassTtlLength;
    at = skip_name(soa, skip_name(soa, at));
    if (at + 4 > soa.size()) return;
    for (int k = 0; k < 4; ++k)
        soa[at + static_cast<std::size_t>(k)] = static_cast<uint8_t>(serial >> (24 - 8 * k));
}

std::vector<uint8_t> NotifyTracker::build(std::size_t i, uint16_t id, uint64_t unix_now) {
    std::vector<uint8_t> buf;
    dns::MessageBuilder mb(buf, kMaxNotifySize);
    // RFC 1996 §3.7: opcode NOTIFY, AA set, QTYPE SOA; the SOA in the answer is a hint the slave may use.
    mb.header(id, notify_flags());
    mb.question(zone_, dns::to_u16(dns::RRType::SOA), dns::to_u16(dns::RRClass::IN));
    std::unique_ptr<tsig::ClientSequence> signer;
    if (targets_[i].key) {
        signer = std::make_unique<tsig::ClientSequence>(targets_[i].key);
        mb.reserve(signer->reserve_size());
    }
    if (!soa_.empty()) {
        std::optional<uint32_t> fake = serial_fault_ ? serial_fault_(i) : std::nullopt;
        work_[i].hint_serial = fake;
        if (fake) {
            std::vector<uint8_t> soa = soa_;
            patch_soa_serial(soa, *fake);
            (void)mb.push_wire(dns::Section::Answer, soa);
        } else {
            (void)mb.push_wire(dns::Section::Answer, soa_);  // always fits in 512 octets
        }
    }
    mb.finish();
    if (signer) signer->sign_request(buf, 0, unix_now);
    work_[i].tries.push_back(Try{id, std::move(signer)});
    return buf;
}

void NotifyTracker::withhold(std::size_t target, std::string why, uint64_t unix_now) {
    auto& s = states_.at(target);
    work_[target].next_at.reset();
    work_[target].tries.clear();  // an answer to a try sent before the fault was set no longer counts
    s.status = NotifyStatus::Withheld;
    s.last_error = std::move(why);
    s.last_error_unix = unix_now;
}

void NotifyTracker::conclude(std::size_t i, bool acknowledged, std::string error, TimePoint now,
                             uint64_t unix_now) {
    auto& s = states_[i];
    work_[i].next_at.reset();
    if (acknowledged) {
        s.status = NotifyStatus::Acknowledged;
        s.acknowledged_serial = s.serial;
        s.acknowledged_at = now;
        s.acknowledged_unix = unix_now;
        s.last_error.clear();
        s.last_error_unix.reset();
    } else {
        s.status = NotifyStatus::Failed;
        s.last_error = error;
        s.last_error_unix = unix_now;
    }
    outcomes_.push_back(NotifyOutcome{i, s.serial.value_or(dns::Serial()), s.tries, acknowledged,
                                      std::move(error), work_[i].hint_serial});
}

std::vector<NotifyTracker::Outgoing> NotifyTracker::due(TimePoint now, uint64_t unix_now,
                                                        std::size_t max_new) {
    std::vector<Outgoing> out;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        auto& w = work_[i];
        auto& s = states_[i];
        if (!w.next_at || *w.next_at > now || !s.serial) continue;
        if (s.status == NotifyStatus::Scheduled) {
            if (max_new == 0) continue;  // waits its turn, still due
            --max_new;
        }
        if (s.tries >= options_.retries + 1) {
            // The tries stay known: a very late answer still records the acknowledgement.
            conclude(i, false, "no answer after " + std::to_string(s.tries) + " tries", now, unix_now);
            continue;
        }
        const uint16_t id = ids_();
        ++s.tries;
        s.status = NotifyStatus::Sending;
        w.next_at = now + wait_after(s.tries);
        out.push_back(Outgoing{i, build(i, id, unix_now), *s.serial, s.tries});
    }
    return out;
}

std::optional<NotifyTracker::TimePoint> NotifyTracker::next_wakeup(bool can_start) const {
    std::optional<TimePoint> earliest;
    for (std::size_t i = 0; i < work_.size(); ++i) {
        const auto& w = work_[i];
        if (!can_start && states_[i].status == NotifyStatus::Scheduled) continue;
        if (w.next_at && (!earliest || *w.next_at < *earliest)) earliest = w.next_at;
    }
    return earliest;
}

std::size_t NotifyTracker::in_flight() const {
    return static_cast<std::size_t>(
        std::count_if(states_.begin(), states_.end(),
                      [](const NotifyTargetState& s) { return s.status == NotifyStatus::Sending; }));
}

NotifyTracker::Match NotifyTracker::on_response(std::span<const uint8_t> wire, const dns::Endpoint& from,
                                                TimePoint now, uint64_t unix_now) {
    auto parsed = dns::Message::parse(wire);
    if (!parsed) return Match::NotMatched;
    return on_response(wire, *parsed, from, now, unix_now);
}

NotifyTracker::Match NotifyTracker::on_response(std::span<const uint8_t> wire, const dns::Message& parsed,
                                                const dns::Endpoint& from, TimePoint now, uint64_t unix_now) {
    const auto& h = parsed.header();
    if (!h.qr() || h.opcode() != dns::Opcode::Notify) return Match::NotMatched;
    // RFC 1996 §4.7: the answer must carry the question we asked.
    const auto& q = parsed.question();
    if (!q || h.qdcount != 1 || !(dns::NameView(q->qname) == dns::NameView(zone_)) ||
        q->qtype != dns::RRType::SOA || q->qclass != dns::to_u16(dns::RRClass::IN))
        return Match::NotMatched;

    for (std::size_t i = 0; i < targets_.size(); ++i) {
        if (!same_peer(targets_[i].address, from)) continue;
        auto& tries = work_[i].tries;
        auto t = std::find_if(tries.begin(), tries.end(), [&](const Try& x) { return x.id == h.id; });
        if (t == tries.end()) continue;
        auto& s = states_[i];
        // Once concluded by an answer, further copies change nothing (a give-up may still turn into an
        // acknowledgement, below).
        if (s.status == NotifyStatus::Acknowledged) return Match::Matched;
        if (s.status == NotifyStatus::Failed && !s.last_error.starts_with("no answer")) return Match::Matched;

        if (t->signer) {
            auto verified = t->signer->verify(wire, parsed, unix_now);
            if (!verified) {
                conclude(i, false, "TSIG: " + verified.error().message, now, unix_now);
                tries.clear();  // nothing later can be trusted to undo this
                return Match::Matched;
            }
        }
        uint16_t rcode = h.rcode();
        if (const auto& e = parsed.edns()) rcode = static_cast<uint16_t>(rcode | (e->extended_rcode << 4));
        if (rcode == static_cast<uint16_t>(dns::Rcode::NoError)) {
            conclude(i, true, {}, now, unix_now);
        } else {
            // NOTIMP (RFC 1996 §4.3: the slave does not do NOTIFY), REFUSED, NOTAUTH and the rest: asking
            // again would get the same answer.
            conclude(i, false, dns::to_string(static_cast<dns::Rcode>(rcode)), now, unix_now);
        }
        return Match::Matched;
    }
    return Match::NotMatched;
}

std::vector<NotifyOutcome> NotifyTracker::take_outcomes() {
    std::vector<NotifyOutcome> out;
    out.swap(outcomes_);
    return out;
}

}  // namespace headwater::xfr
