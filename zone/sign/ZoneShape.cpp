#include "zone/sign/ZoneShape.h"

#include <optional>

namespace headwater::sign {

using dns::RRType;

std::vector<Node> zone_shape(const zone::ZoneVersion& v) {
    std::vector<Node> nodes;
    // In canonical order every name below a cut follows the cut directly, so one cut at a time suffices.
    std::optional<dns::NameView> cut;
    for (std::size_t i = 0; i < v.size();) {
        const dns::NameView owner = v.record(i).owner;
        Node n;
        n.begin = i;
        bool has_ns = false;
        for (; i < v.size(); ++i) {
            const zone::RecordView r = v.record(i);
            if (!(r.owner == owner)) break;
            has_ns = has_ns || r.type == RRType::NS;
            n.has_ds = n.has_ds || r.type == RRType::DS;
            n.has_dname = n.has_dname || r.type == RRType::DNAME;
        }
        n.end = i;
        if (cut && dns::is_subdomain(owner, *cut) && !(owner == *cut)) {
            n.kind = NodeKind::Occluded;
        } else if (owner == v.apex()) {
            n.kind = NodeKind::Apex;
            cut.reset();
        } else if (has_ns) {
            n.kind = NodeKind::Delegation;  // RFC 4035 §2.2: only DS and the NSEC here are the parent's
            cut = owner;
        } else {
            n.kind = NodeKind::Authoritative;
            cut.reset();
            if (n.has_dname) cut = owner;  // RFC 6672 §2.3: nothing below a DNAME is served
        }
        nodes.push_back(n);
    }
    return nodes;
}

bool is_signed_set(NodeKind kind, RRType type) {
    switch (kind) {
        case NodeKind::Apex:
        case NodeKind::Authoritative:
            return true;
        case NodeKind::Delegation:
            return type == RRType::DS || type == RRType::NSEC;
        case NodeKind::Occluded:
            return false;
    }
    return false;
}

}  // namespace headwater::sign
