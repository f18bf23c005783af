#include "server/NotifierSlot.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace headwater::server {

NotifierSlot::NotifierSlot(boost::asio::io_context& io, std::size_t max_in_flight,
                           std::function<void(Notifier&)> setup)
    : io_(io), max_in_flight_(max_in_flight), setup_(std::move(setup)) {}

Result<void, std::string> NotifierSlot::start(std::vector<NotifyZone> zones) {
    auto n = std::make_shared<Notifier>(io_, std::move(zones));
    n->limit_in_flight(max_in_flight_);
    if (setup_) setup_(*n);
    if (auto started = n->start(); !started) return started;
    std::lock_guard lock(mutex_);
    current_ = std::move(n);
    return {};
}

Result<void, std::string> NotifierSlot::replace(std::vector<NotifyZone> zones,
                                                const std::vector<std::shared_ptr<zone::Zone>>& served,
                                                const std::set<std::string>& announce) {
    auto n = std::make_shared<Notifier>(io_, std::move(zones));
    n->limit_in_flight(max_in_flight_);
    if (setup_) setup_(*n);
    if (auto started = n->start(); !started) return started;
    // What the Notifier being replaced had not finished: a NOTIFY waiting for notify_delay (a reload just
    // before, as SIGHUP does), waiting for room, or retrying. Stopping it drops those; the new one sends
    // them.
    const auto old = current();
    const std::set<std::string> unfinished = old ? old->unfinished_zones() : std::set<std::string>{};
    for (const auto& z : served) {
        auto v = z->current();
        if (!v || !n->has_zone(v->apex())) continue;
        const std::string name = z->settings().name.to_string();
        if (announce.count(name) != 0 || unfinished.count(name) != 0)
            n->zone_changed(v->apex(), v->serial(), v->soa().wire);
        else
            n->remember(v->apex(), v->serial(), v->soa().wire);
    }
    std::lock_guard lock(mutex_);
    if (current_) {
        current_->stop();
        const Notifier* stopped = current_.get();
        retired_.push_back(std::move(current_));
        // Posted after stop() dispatched its own work: on the one DNS thread, in order.
        boost::asio::post(io_, [this, stopped] {
            std::lock_guard released(mutex_);
            std::erase_if(retired_,
                          [stopped](const std::shared_ptr<Notifier>& r) { return r.get() == stopped; });
        });
    }
    current_ = std::move(n);
    return {};
}

std::size_t NotifierSlot::retired() const {
    std::lock_guard lock(mutex_);
    return retired_.size();
}

std::shared_ptr<Notifier> NotifierSlot::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void NotifierSlot::stop() {
    std::lock_guard lock(mutex_);
    if (current_) current_->stop();
}

}  // namespace headwater::server
