// Builds zones from inline master-file text for the xfr tests.
#pragma once

#include <gtest/gtest.h>

#include "zone/MasterFile.h"
#include "zone/ZoneBuilder.h"
#include "zone/ZoneStore.h"

namespace headwater::testing {

inline dns::Name name(std::string_view t) {
    return dns::Name::from_text(t).value();
}

inline zone::ZoneVersionPtr build_zone(std::string_view text, std::string_view origin) {
    zone::ZoneBuilder b(name(origin));
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        return b.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    auto v = b.build();
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : nullptr;
}

inline std::shared_ptr<zone::Zone> make_zone(std::string_view text, std::string_view origin) {
    auto z = std::make_shared<zone::Zone>(zone::ZoneSettings{name(origin), "/unused"});
    z->install(build_zone(text, origin), zone::Clock::time_point());
    return z;
}

}  // namespace headwater::testing
