// Dynamic update (RFC 2136) as pure functions of a zone version and a parsed UPDATE message, no I/O: the
// zone section (§3.1), the prerequisites (§2.4, §3.2), who may change which names and types (§3.3, the
// allow_update rules), the prescan of the update section (§3.4.1) and its application (§3.4.2) as one new
// version. The Responder strings them together inside Zone::apply_change, which journals and serves the
// result.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xfr/Acl.h"
#include "xfr/Peer.h"
#include "zone/Changeset.h"
#include "zone/ZoneVersion.h"
#include "zone/base/Result.h"
#include "zone/dns/Message.h"
#include "zone/dns/RRType.h"
#include "zone/dns/Serial.h"

namespace headwater::xfr {

// One record of the prerequisite or update section, its RDATA's compressed names expanded: owner, type,
// class, TTL, RDLENGTH, RDATA (zone::RecordView::wire form).
struct UpdateRecord {
    std::vector<uint8_t> wire;
    zone::RecordView view() const { return zone::decode_record(wire); }
};

struct UpdateRequest {
    std::vector<UpdateRecord> prerequisites;
    std::vector<UpdateRecord> updates;
};

// Why an update is answered with an error: the rcode and, for the log line, what caused it.
struct UpdateFailure {
    dns::Rcode rcode = dns::Rcode::ServFail;
    std::string reason;
};

// The prerequisite and update sections of `m` (an UPDATE whose zone section was checked), RDATA names
// expanded (RFC 3597 §4). FORMERR when a record cannot be read back.
Result<UpdateRequest, UpdateFailure> read_update(const dns::Message& m);

// RFC 2136 §3.2, evaluated against `v` before anything changes: FORMERR (TTL not 0, RDATA where none
// belongs, a class other than ANY, NONE or the zone's), NOTZONE (outside the zone), NXDOMAIN, YXDOMAIN,
// NXRRSET, YXRRSET.
Result<void, UpdateFailure> check_prerequisites(const zone::ZoneVersion& v,
                                                std::span<const UpdateRecord> prerequisites);

// RFC 2136 §3.4.1: every update record checked before any is applied: NOTZONE outside the zone, FORMERR
// for a class, type, TTL or RDATA the section does not allow.
Result<void, UpdateFailure> prescan_updates(dns::NameView apex, std::span<const UpdateRecord> updates);

// RFC 2136 §3.4.2 on `base`: the new content, or null when the update changes nothing. Its SOA serial is
// the one the update brought when newer than base's, else `serial` (what the zone's policy gives next;
// without it, base's: the caller applies the policy). Applied in order; ignored as the RFC says:
// an SOA that is not newer, a CNAME beside other data or data beside a CNAME (DNSSEC types excepted,
// RFC 4035 §2.5), deleting the apex SOA or its NS RRset, deleting the last apex NS record.
// `changes`, when given, gets what changed (base to the new content, as zone::diff() would give it).
Result<zone::ZoneVersionPtr, UpdateFailure> apply_updates(const zone::ZoneVersion& base,
                                                          std::span<const UpdateRecord> updates,
                                                          std::optional<dns::Serial> serial = std::nullopt,
                                                          std::optional<zone::Changeset>* changes = nullptr);

// Whether a rule's update_names pattern covers `owner` in the zone `apex` (patterns are relative to the
// apex, lower case): "@" the apex; "www" exactly www.<apex>; "*.dyn" any name strictly below dyn.<apex>
// ("*" alone: any name below the apex); "_acme-challenge.*" a name whose leftmost label is
// _acme-challenge, anywhere in the zone (_acme-challenge.<apex> included).
bool update_name_matches(std::string_view pattern, dns::NameView owner, dns::NameView apex);

// Whether `rule` (which matched the peer and key already) lets every update record through: its
// update_names (empty: any name) and update_types (empty: any type; a deletion of every type at a name,
// class ANY type ANY, needs an unrestricted rule). On refusal, the reason names the record.
Result<void, std::string> update_allowed(const AclRule& rule, dns::NameView apex,
                                         std::span<const UpdateRecord> updates);

struct UpdateDecision {
    const AclRule* rule = nullptr;  // the rule that allowed the update, or that refused it last
    std::string reason;             // when refused
    bool allowed = false;
};

// The zone's allow_update rules in order: the first whose address, transport, certificate and key
// factors match and whose names and types cover every update record allows it. An update needs a TSIG
// key that verified (`key`); without one it is refused whatever the rules say.
UpdateDecision authorize_update(std::span<const AclRule> rules, const Peer& peer,
                                const std::optional<std::string>& key, dns::NameView apex,
                                std::span<const UpdateRecord> updates);

// One UPDATE as the log sees it.
struct UpdateEvent {
    std::string zone;  // as the zone section names it
    std::string address;
    uint16_t port = 0;
    Transport transport = Transport::Udp;
    std::string key = "-";
    std::string rule;  // the allow_update rule that allowed or refused it, when one decided
    dns::Rcode rcode = dns::Rcode::NoError;
    std::string reason;  // why it was refused or failed; what happened when it succeeded
    std::size_t prerequisites = 0;
    std::size_t updates = 0;
    std::optional<dns::Serial> serial;  // the serial served after it
    bool changed = false;               // a new version is served
};

// "update zone=example.com. peer=192.0.2.1:5353 transport=tcp key=acme. rule=acme rcode=NOERROR
// serial=2024010101 changed=yes prerequisites=0 updates=1 reason="..."" (fields as the transfer lines)
std::string update_log_line(const UpdateEvent& e);

}  // namespace headwater::xfr
