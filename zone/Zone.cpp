#include "zone/Zone.h"

#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"

namespace headwater::zone {

dns::Result<ZoneVersionPtr, LoadError> load_zone_file(const dns::Name& apex,
                                                      const std::filesystem::path& file) {
    ZoneBuilder builder(apex);
    auto loaded = load_master_file(file, apex.to_string(), [&](const RawRecord& rr) {
        return builder.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    if (!loaded) return dns::unexpected(loaded.error());
    return builder.build();
}

ReloadResult Zone::reload(Clock::time_point now, bool force) {
    std::lock_guard lock(mutex_);
    last_reload_ = now;
    ReloadResult result;
    const ZoneVersionPtr old = current();
    if (old) result.old_serial = old->serial();
    result.serial = result.old_serial;

    auto fail = [&](std::string message) {
        last_error_ = message;
        result.outcome = ReloadOutcome::Error;
        result.error = std::move(message);
        return result;
    };

    auto loaded = load_zone_file(settings_.name, settings_.file);
    if (!loaded) return fail(loaded.error().to_string());
    ZoneVersionPtr next = std::move(loaded).value();

    if (old) {
        if (next->same_content(*old)) {
            last_error_.clear();
            result.outcome = ReloadOutcome::Unchanged;
            return result;
        }
        const dns::Serial was = old->serial();
        const dns::Serial now_serial = next->serial();
        // Secondaries only fetch a zone whose serial is newer (RFC 1982 §3.2 comparison, RFC 1034 §4.3.5).
        if (now_serial == was)
            return fail(settings_.file.string() + ": zone content changed but the serial is still " +
                        std::to_string(was.value()) +
                        "; increase the SOA serial so secondaries pick up the change");
        if (!(was < now_serial) && !force)
            return fail(settings_.file.string() + ": SOA serial went backwards (" +
                        std::to_string(was.value()) + " -> " + std::to_string(now_serial.value()) +
                        "); secondaries would ignore it. Use a serial newer than " +
                        std::to_string(was.value()));
    }
    current_.store(next, std::memory_order_release);
    loaded_at_ = now;
    last_error_.clear();
    result.outcome = ReloadOutcome::Updated;
    result.serial = next->serial();
    return result;
}

void Zone::install(ZoneVersionPtr version, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    current_.store(std::move(version), std::memory_order_release);
    loaded_at_ = now;
}

ZoneStatus Zone::status() const {
    std::lock_guard lock(mutex_);
    ZoneStatus s;
    if (auto v = current()) {
        s.serial = v->serial();
        s.records = v->size();
    }
    s.loaded_at = loaded_at_;
    s.last_reload = last_reload_;
    s.last_error = last_error_;
    return s;
}

}  // namespace headwater::zone
