// The KSK or CSK rollover, double-KSK style (RFC 7583 §3.3.2; for a CSK with double signatures while both
// keys are in the DNSKEY RRset, §3.3.3), timed by what the secondaries serve and by the parent's DS. Pure,
// like plan_zsk_rollover: the caller carries out the one step returned, records it, and asks again.
//
// The steps of one rollover:
//   1. Generate: a successor KSK (or CSK) is published and active at once: it signs the DNSKEY RRset
//      beside the old key (a CSK also signs the rest of the zone beside it), so that whichever of the two
//      keys a resolver's DS points to, the DNSKEY RRset validates.
//   2. Once every secondary serves a serial carrying it, and the DNSKEY TTL has passed since (no resolver
//      holds a DNSKEY RRset without the successor or its signature): Activate: the successor's CDS and
//      CDNSKEY are published (RFC 7344), asking the parent to replace the DS; the old key goes inactive:
//      it no longer signs the zone's data, but signs the DNSKEY RRset until it is removed, because a
//      resolver may still hold the old DS.
//   3. Once every parent server serves a DS for the successor (or the operator says so), its TTL has
//      passed since, and every secondary serves the serial of step 2 plus the DNSKEY TTL (the zone's
//      largest TTL for a CSK, whose old signatures over data may be cached): Remove: the old key leaves
//      the DNSKEY RRset and the CDS/CDNSKEY are withdrawn.
// Only a successor this planner generated is moved on: a second KSK imported, or a key retired by the
// timing it came with, is left to that timing.
#pragma once

#include "zone/sign/ZskRollover.h"

namespace headwater::sign {

RolloverDecision plan_sep_rollover(const RolloverInput& in);

}  // namespace headwater::sign
