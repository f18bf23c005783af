// What a signer must know about each name of an unsigned zone: is it the apex, authoritative data, a
// delegation point, or data below a zone cut (glue, occluded names) that is neither signed nor in the
// denial chain (RFC 4035 §2.2, §2.3; RFC 6672 §2.3 for names below a DNAME).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zone/ZoneVersion.h"

namespace headwater::sign {

enum class NodeKind : uint8_t { Apex, Authoritative, Delegation, Occluded };

struct Node {
    std::size_t begin = 0, end = 0;  // the records of this owner in the version
    NodeKind kind = NodeKind::Authoritative;
    bool has_ds = false;
    bool has_dname = false;
};

// The owners of `v` in canonical order with their kind. `v` holds no RRSIG/NSEC/NSEC3 of its own.
std::vector<Node> zone_shape(const zone::ZoneVersion& v);

// The RRsets of a node a signer signs: every set at the apex and at authoritative names; at a
// delegation point only DS (and the denial records the signer adds there); nothing below a cut.
bool is_signed_set(NodeKind kind, dns::RRType type);

}  // namespace headwater::sign
