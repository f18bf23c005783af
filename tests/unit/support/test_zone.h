// Builds zones from inline master-file text: shared by the unit tests of several modules.
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

// The records of master-file text in stored wire form (owner, type, class, TTL, RDLENGTH, RDATA), in the
// text's order: no sorting, no duplicate removal, any class, as a secondary's transfer hands them over.
inline std::vector<std::vector<uint8_t>> wire_records(std::string_view text,
                                                      std::string_view origin = "example.com.") {
    std::vector<std::vector<uint8_t>> out;
    auto loaded = zone::load_master_text(text, origin, [&](const zone::RawRecord& rr) {
        std::vector<uint8_t> w(rr.owner.begin(), rr.owner.end());
        for (const uint16_t v : {rr.type, rr.rclass, static_cast<uint16_t>(rr.ttl >> 16),
                                 static_cast<uint16_t>(rr.ttl), static_cast<uint16_t>(rr.rdata.size())}) {
            w.push_back(static_cast<uint8_t>(v >> 8));
            w.push_back(static_cast<uint8_t>(v));
        }
        w.insert(w.end(), rr.rdata.begin(), rr.rdata.end());
        out.push_back(std::move(w));
        return Result<void, std::string>{};
    });
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    return out;
}

inline std::shared_ptr<zone::Zone> make_zone(std::string_view text, std::string_view origin) {
    auto z = std::make_shared<zone::Zone>(zone::ZoneSettings{name(origin), "/unused"});
    z->install(build_zone(text, origin), zone::Clock::time_point());
    return z;
}

}  // namespace headwater::testing
