// What a Zone asks of the signer of a signed zone (zone/sign implements it; the server connects the two).
// Declared here so that a Zone can sign every version it serves without zone/ depending on the signer,
// its keys or OpenSSL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"

namespace headwater::zone {

class ZoneSigning {
  public:
    using Clock = std::chrono::system_clock;
    virtual ~ZoneSigning() = default;

    struct Signed {
        ZoneVersionPtr version;
        std::size_t made = 0;                           // signatures made anew
        std::size_t kept = 0;                           // signatures kept from the previous version
        std::optional<Clock::time_point> next_refresh;  // when the earliest signatures are due
        uint64_t key_generation = 0;                    // key_generation() of the keys it was signed with
        // The change from `previous` to `version` when the signer knows it without a diff (it changed only
        // a few RRsets of `previous`): what the journal records.
        std::optional<Changeset> changes;
    };

    // A zone file that the signer can sign: it holds no DNSSEC records of its own. The error says why.
    virtual Result<void, std::string> check_source(const ZoneVersion& source) const = 0;
    // The unsigned version `signed_version` was made from (after a restart, from the snapshot).
    virtual ZoneVersionPtr source_of(const ZoneVersion& signed_version) const = 0;
    // `source` signed. Signatures in `previous` over the same RRsets are kept while they are good past the
    // refresh window, unless `all` (every signature made anew). Shared: a signer may hold on to it, to
    // sign the next version by its difference from this one.
    virtual Result<Signed, std::string> sign(const ZoneVersionPtr& source, const ZoneVersion* previous,
                                             Clock::time_point now, bool all) = 0;
    // Changes whenever the signing keys change (loaded, generated, imported): a version signed with an
    // older generation needs signing again even when no signature is due.
    virtual uint64_t key_generation() const = 0;
};

}  // namespace headwater::zone
