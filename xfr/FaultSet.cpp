#include "xfr/FaultSet.h"
#include "zone/base/AsciiText.h"

#include <algorithm>

namespace headwater::xfr {

namespace {

std::string lower(std::string_view s) {
    std::string out = ascii_lower(s);
    if (out.empty() || out.back() != '.') out += '.';
    return out;
}

}  // namespace

void FaultPlan::add(const Fault& f) {
    applied.push_back(f.text());
    switch (f.kind) {
        case FaultKind::Delay:
            delay_ms = f.ms;
            break;
        case FaultKind::Rate:
            rate = f.number;
            break;
        case FaultKind::Stall:
            stall_after = f.number;
            stall_ms = f.ms;
            break;
        case FaultKind::Records:
            records = f.number;
            break;
        case FaultKind::IxfrAsAxfr:
            ixfr_as_axfr = true;
            break;
        case FaultKind::IxfrUncondensed:
            break;  // what Headwater sends anyway: each changeset as journaled (docs/lab.md)
        case FaultKind::IxfrCondensed:
            ixfr_condensed = true;
            break;
        case FaultKind::CutMessages:
            cut_messages = f.number;
            cut_reset = f.reset;
            break;
        case FaultKind::CutBytes:
            cut_bytes = f.number;
            cut_reset = f.reset;
            break;
        case FaultKind::Rcode:
            rcode = f.rcode;
            rcode_only = f.only;
            break;
        case FaultKind::WrongMac:
            wrong_mac = f.number;
            break;
        case FaultKind::SignEvery:
            sign_every = f.number;
            break;
        case FaultKind::BadTime:
            badtime = true;
            break;
        case FaultKind::NoNotify:
            no_notify = true;
            break;
        case FaultKind::NotifySerial:
            notify_serial = static_cast<uint32_t>(f.number);
            break;
        case FaultKind::SoaTc:
            soa_tc = true;
            break;
        case FaultKind::DropSoa:
            drop_soa = true;
            break;
    }
}

std::string FaultPlan::describe() const {
    std::string out;
    for (const auto& a : applied) out += (out.empty() ? "lab: " : ", ") + a;
    return out;
}

bool FaultPlan::shapes_stream() const {
    return delay_ms || rate || stall_after || cut_messages || cut_bytes;
}

uint64_t wait_before_message(const FaultPlan& plan, std::size_t index, std::size_t bytes,
                             uint64_t elapsed_ms) {
    uint64_t wait = 0;
    if (index == 0 && plan.delay_ms) wait = *plan.delay_ms;
    if (plan.stall_after && index == *plan.stall_after && index > 0) wait = std::max(wait, plan.stall_ms);
    if (plan.rate && *plan.rate > 0) {
        // The pace: `bytes` octets may have left no sooner than bytes/rate seconds after the start.
        const uint64_t due = bytes * 1000 / *plan.rate;
        if (due > elapsed_ms) wait = std::max(wait, due - elapsed_ms);
    }
    return wait;
}

StreamCut cut_after(const FaultPlan& plan, std::size_t messages, std::size_t bytes) {
    const bool by_messages = plan.cut_messages && messages >= *plan.cut_messages;
    const bool by_bytes = plan.cut_bytes && bytes >= *plan.cut_bytes;
    if (!by_messages && !by_bytes) return StreamCut::None;
    return plan.cut_reset ? StreamCut::Reset : StreamCut::Close;
}

std::size_t octets_before_cut(const FaultPlan& plan, std::size_t written, std::size_t size) {
    if (!plan.cut_bytes || written + size <= *plan.cut_bytes) return size;
    return written >= *plan.cut_bytes ? 0 : static_cast<std::size_t>(*plan.cut_bytes - written);
}

void FaultSet::set(FaultEntry entry) {
    entry.zone = lower(entry.zone);
    auto same = [&](const FaultEntry& e) {
        return e.zone == entry.zone && e.peer == entry.peer && e.fault.kind == entry.fault.kind;
    };
    if (auto it = std::find_if(entries_.begin(), entries_.end(), same); it != entries_.end())
        *it = std::move(entry);
    else
        entries_.push_back(std::move(entry));
}

std::size_t FaultSet::clear(std::string_view zone, const std::optional<FaultPeer>& peer) {
    const std::string z = zone.empty() ? std::string() : lower(zone);
    const auto before = entries_.size();
    std::erase_if(entries_, [&](const FaultEntry& e) {
        return (z.empty() || e.zone == z) && (!peer || e.peer == *peer);
    });
    return before - entries_.size();
}

FaultPlan FaultSet::plan(std::string_view zone, const dns::IpAddress& from, std::string_view key) const {
    FaultPlan p;
    if (entries_.empty()) return p;
    const std::string z = lower(zone);
    for (const auto& e : entries_)
        if (e.zone == z && e.peer.matches(from, key)) p.add(e.fault);
    return p;
}

std::shared_ptr<const FaultSet> FaultBoard::current() const {
    std::lock_guard lock(mutex_);
    return set_;
}

void FaultBoard::replace(std::shared_ptr<const FaultSet> next) {
    std::lock_guard lock(mutex_);
    set_ = std::move(next);
}

}  // namespace headwater::xfr
