// libFuzzer target: master-file loading (zone::load_master_text, ldns underneath) and zone building.
//
// Each input is the text of a zone file for "example.com.". Its records go into a ZoneBuilder, as
// zone::load_zone_file does; when the zone builds, every record is read back and the version is sent as
// an AXFR whose messages must parse and carry every record once between the two SOAs. Inputs with an
// $INCLUDE directive are skipped: they would read arbitrary files of the machine (/dev/zero, ...).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "xfr/AxfrSource.h"

using namespace headwater;

namespace {

bool has_include(std::string_view text) {
    constexpr std::string_view kDirective = "$include";
    for (std::size_t i = 0; i + kDirective.size() <= text.size(); ++i) {
        if (text[i] != '$') continue;
        bool match = true;
        for (std::size_t j = 1; j < kDirective.size() && match; ++j)
            match = std::tolower(static_cast<unsigned char>(text[i + j])) == kDirective[j];
        if (match) return true;
    }
    return false;
}

void check_version(const zone::ZoneVersionPtr& version) {
    const zone::ZoneVersion& v = *version;
    if (v.size() == 0 || v.soa().type != dns::RRType::SOA) fuzz::fuzz_fail("built zone without its SOA");
    if (!(v.soa().owner == v.apex())) fuzz::fuzz_fail("SOA not at the apex");
    std::size_t soas = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto r = v.record(i);
        if (!dns::is_subdomain(r.owner, v.apex()))
            fuzz::fuzz_fail("record outside the zone:", r.owner.to_string());
        if (r.type == dns::RRType::SOA) ++soas;
        if (i > 0 && dns::canonical_compare(v.record(i - 1).owner, r.owner) > 0)
            fuzz::fuzz_fail("records not in canonical order");
        const auto rrset = v.find_rrset(r.owner, r.type);
        if (i < rrset.begin || i >= rrset.end)
            fuzz::fuzz_fail("find_rrset misses a record:", r.owner.to_string());
        if (!v.name_exists(r.owner)) fuzz::fuzz_fail("name_exists denies an owner:", r.owner.to_string());
    }
    if (soas != 1) fuzz::fuzz_fail("zone with more than one SOA");

    // The version as an AXFR: SOA, every other record once, SOA.
    const dns::Question q{dns::Name::from_wire(v.apex().wire()).value(), dns::RRType::AXFR, 1};
    xfr::AxfrSource src(version, q, 0x1234);
    std::size_t answers = 0;
    for (std::size_t guard = 0;; ++guard) {
        if (guard > 100000) fuzz::fuzz_fail("AXFR never finished");
        std::vector<uint8_t> m;
        const auto step = src.next(m);
        auto parsed = dns::Message::parse(m);
        if (!parsed) fuzz::fuzz_fail("AXFR message does not parse");
        fuzz::walk_message(*parsed);
        answers += parsed->header().ancount;
        if (step == xfr::Step::Done) break;
    }
    if (answers != v.size() + 1)
        fuzz::fuzz_fail("AXFR record count", std::to_string(answers) + " for " + std::to_string(v.size()));
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the entry point libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (has_include(text)) return 0;
    const dns::Name apex = fuzz::name("example.com.");
    zone::ZoneBuilder builder(apex);
    std::size_t records = 0;
    auto loaded = zone::load_master_text(text, "example.com.", [&](const zone::RawRecord& rr) {
        ++records;
        if (dns::wire_name_length(rr.owner) != rr.owner.size())
            fuzz::fuzz_fail("loader gave a bad owner name");
        return builder.add(rr.owner, rr.type, rr.rclass, rr.ttl, rr.rdata, rr.file, rr.line);
    });
    if (!loaded) {
        (void)loaded.error().to_string();
        return 0;
    }
    auto version = builder.build();
    if (!version) {
        (void)version.error().to_string();
        return 0;
    }
    if ((*version)->size() > records) fuzz::fuzz_fail("zone has more records than were loaded");
    check_version(*version);
    return 0;
}
