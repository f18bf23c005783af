#include "xfr/Update.h"

#include <algorithm>
#include <map>

#include "zone/Changeset.h"
#include "zone/dns/UncompressedRecord.h"

namespace headwater::xfr {

using dns::Rcode;
using dns::RRType;
using zone::RecordView;

namespace {

constexpr uint16_t kIn = static_cast<uint16_t>(dns::RRClass::IN);
constexpr uint16_t kAny = static_cast<uint16_t>(dns::RRClass::ANY);
constexpr uint16_t kNone = static_cast<uint16_t>(dns::RRClass::NONE);

UpdateFailure fail(Rcode rcode, std::string reason) {
    return UpdateFailure{rcode, std::move(reason)};
}

std::string describe(const RecordView& r) {
    return r.owner.to_string() + " " + dns::to_string(r.type);
}

bool is_meta(RRType t) {
    const uint16_t v = dns::to_u16(t);
    return v == 0 || (v >= 128 && v <= 255) || t == RRType::OPT;
}

// A record with another class and TTL (a class NONE deletion compared with stored records).
std::vector<uint8_t> with_class_ttl(std::span<const uint8_t> wire, uint16_t rclass, uint32_t ttl) {
    std::vector<uint8_t> out(wire.begin(), wire.end());
    const std::size_t at = dns::wire_name_length(out) + 2;
    out[at] = static_cast<uint8_t>(rclass >> 8);
    out[at + 1] = static_cast<uint8_t>(rclass);
    out[at + 2] = static_cast<uint8_t>(ttl >> 24);
    out[at + 3] = static_cast<uint8_t>(ttl >> 16);
    out[at + 4] = static_cast<uint8_t>(ttl >> 8);
    out[at + 5] = static_cast<uint8_t>(ttl);
    return out;
}

using Wire = std::vector<uint8_t>;

bool exact_less(const Wire& a, const Wire& b) {
    return zone::compare_records_exact(zone::decode_record(a), zone::decode_record(b)) < 0;
}

// The records of one name while an update is applied to it.
struct NameState {
    std::vector<Wire> before;  // as in the base version
    std::vector<Wire> records;

    bool has(RRType t) const {
        return std::any_of(records.begin(), records.end(),
                           [t](const Wire& w) { return zone::decode_record(w).type == t; });
    }
    bool has_other_than_cname() const {
        return std::any_of(records.begin(), records.end(), [](const Wire& w) {
            const RRType t = zone::decode_record(w).type;
            return t != RRType::CNAME && !dns::may_accompany_cname(t);
        });
    }
    std::size_t count(RRType t) const {
        return static_cast<std::size_t>(std::count_if(
            records.begin(), records.end(), [t](const Wire& w) { return zone::decode_record(w).type == t; }));
    }
    template <class Pred>
    void erase_if(Pred pred) {
        records.erase(std::remove_if(records.begin(), records.end(),
                                     [&](const Wire& w) { return pred(zone::decode_record(w)); }),
                      records.end());
    }
};

// SERIAL is the first of the five 32-bit fields that end the SOA RDATA (RFC 1035 §3.3.13).
void set_soa_serial(Wire& soa, dns::Serial serial) {
    uint8_t* p = soa.data() + soa.size() - 20;
    const uint32_t v = serial.value();
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

class Applier {
  public:
    Applier(const zone::ZoneVersion& base, std::optional<dns::Serial> serial)
        : base_(base), serial_(serial) {}

    void apply(const RecordView& u) {
        NameState& n = state(u.owner);
        const bool apex = u.owner == base_.apex();
        if (u.rclass == kAny) {
            // §3.4.2.3: delete an RRset, or every RRset at the name; never the apex SOA or NS.
            n.erase_if([&](const RecordView& r) {
                if (apex && (r.type == RRType::SOA || r.type == RRType::NS)) return false;
                return u.type == RRType::ANY || r.type == u.type;
            });
        } else if (u.rclass == kNone) {
            // §3.4.2.4: delete one record; never the SOA, never the last apex NS.
            if (u.type == RRType::SOA) return;
            if (apex && u.type == RRType::NS && n.count(RRType::NS) <= 1) return;
            const Wire target = with_class_ttl(u.wire, kIn, 0);
            const RecordView t = zone::decode_record(target);
            n.erase_if([&](const RecordView& r) { return zone::compare_records(r, t) == 0; });
        } else {
            add(n, u, apex);
        }
    }

    // The new version, or null when nothing changed.
    Result<zone::ZoneVersionPtr, UpdateFailure> finish(std::optional<zone::Changeset>* out) {
        const RecordView old_soa = base_.soa();
        Wire new_soa(old_soa.wire.begin(), old_soa.wire.end());
        std::vector<Wire> removed, added;
        for (auto& [key, n] : names_) {
            std::sort(n.before.begin(), n.before.end(), exact_less);
            std::sort(n.records.begin(), n.records.end(), exact_less);
            for (const Wire& w : n.records)
                if (zone::decode_record(w).type == RRType::SOA) new_soa = w;
            std::set_difference(n.before.begin(), n.before.end(), n.records.begin(), n.records.end(),
                                std::back_inserter(removed), exact_less);
            std::set_difference(n.records.begin(), n.records.end(), n.before.begin(), n.before.end(),
                                std::back_inserter(added), exact_less);
        }
        auto is_soa = [](const Wire& w) { return zone::decode_record(w).type == RRType::SOA; };
        std::erase_if(removed, is_soa);
        std::erase_if(added, is_soa);
        if (removed.empty() && added.empty() &&
            std::equal(new_soa.begin(), new_soa.end(), old_soa.wire.begin(), old_soa.wire.end()))
            return zone::ZoneVersionPtr{};
        // RFC 2136 §3.6: the serial the caller's policy gives, unless the update brought a newer one
        // (§3.4.2.2 ignored an older one already). Set here, the version is built once.
        const auto brought = zone::soa_rdata_serial(zone::decode_record(new_soa).rdata);
        if (serial_ && !(brought && base_.serial() < *brought)) set_soa_serial(new_soa, *serial_);
        zone::Changeset changes(old_soa.wire, new_soa);
        std::sort(removed.begin(), removed.end(), exact_less);
        std::sort(added.begin(), added.end(), exact_less);
        for (const Wire& w : removed) changes.add_removed(w);
        for (const Wire& w : added) changes.add_added(w);
        auto next = zone::apply(base_, changes);
        if (!next) return unexpected(fail(Rcode::ServFail, "update not applied: " + next.error()));
        if (out != nullptr) *out = std::move(changes);
        return *next;
    }

  private:
    NameState& state(dns::NameView owner) {
        const std::string key = dns::Name::from_wire(owner.wire()).value().key();
        auto [it, inserted] = names_.try_emplace(key);
        if (inserted) {
            const auto range = base_.find_name(owner);
            for (std::size_t i = range.begin; i < range.end; ++i) {
                const auto w = base_.record(i).wire;
                it->second.before.emplace_back(w.begin(), w.end());
            }
            it->second.records = it->second.before;
        }
        return it->second;
    }

    // §3.4.2.2: add to an RRset; an equal record (RFC 2181 §5: same RDATA) is replaced, and the RRset
    // takes the new TTL (one TTL per RRset, RFC 2181 §5.2).
    static void add(NameState& n, const RecordView& u, bool apex) {
        if (u.type == RRType::CNAME && n.has_other_than_cname()) return;
        if (u.type != RRType::CNAME && !dns::may_accompany_cname(u.type) && n.has(RRType::CNAME)) return;
        if (u.type == RRType::SOA) {
            if (!apex) return;
            auto current = std::find_if(n.records.begin(), n.records.end(), [](const Wire& w) {
                return zone::decode_record(w).type == RRType::SOA;
            });
            const auto serial = zone::soa_rdata_serial(u.rdata);
            if (!serial || current == n.records.end()) return;
            const auto served = zone::soa_rdata_serial(zone::decode_record(*current).rdata);
            if (served && !(*served < *serial)) return;  // RFC 1982: only a newer serial replaces it
            *current = Wire(u.wire.begin(), u.wire.end());
            return;
        }
        if (u.type == RRType::CNAME) n.erase_if([](const RecordView& r) { return r.type == RRType::CNAME; });
        n.erase_if([&](const RecordView& r) { return zone::compare_records(r, u) == 0; });
        n.records.emplace_back(u.wire.begin(), u.wire.end());
        for (Wire& w : n.records) {
            if (zone::decode_record(w).type == u.type) w = with_class_ttl(w, kIn, u.ttl);
        }
    }

    const zone::ZoneVersion& base_;
    std::optional<dns::Serial> serial_;
    std::map<std::string, NameState> names_;
};

// The records of `v` in the RRset, as wire forms with TTL 0, sorted (for §3.2.5's comparison).
std::vector<Wire> rrset_of(const zone::ZoneVersion& v, dns::NameView owner, RRType type) {
    std::vector<Wire> out;
    const auto range = v.find_rrset(owner, type);
    for (std::size_t i = range.begin; i < range.end; ++i)
        out.push_back(with_class_ttl(v.record(i).wire, kIn, 0));
    return out;
}

bool same_rrset(std::vector<Wire> a, std::vector<Wire> b) {
    auto less = [](const Wire& x, const Wire& y) {
        return zone::compare_records(zone::decode_record(x), zone::decode_record(y)) < 0;
    };
    std::sort(a.begin(), a.end(), less);
    std::sort(b.begin(), b.end(), less);
    // Duplicates in the request count once (an RRset is a set, RFC 2181 §5).
    auto same = [](const Wire& x, const Wire& y) {
        return zone::compare_records(zone::decode_record(x), zone::decode_record(y)) == 0;
    };
    b.erase(std::unique(b.begin(), b.end(), same), b.end());
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same);
}

// One prerequisite of class ANY or NONE (§3.2.1-4).
Result<void, UpdateFailure> check_existence(const zone::ZoneVersion& v, const RecordView& p) {
    const bool in_use = !v.find_name(p.owner).empty();
    const std::string what = describe(p);
    if (p.rclass == kAny) {
        if (p.type == RRType::ANY) {
            if (!in_use)
                return unexpected(
                    fail(Rcode::NXDomain, "prerequisite: name " + p.owner.to_string() + " is not in use"));
        } else if (v.find_rrset(p.owner, p.type).empty()) {
            return unexpected(fail(Rcode::NXRRSet, "prerequisite: RRset " + what + " does not exist"));
        }
    } else if (p.type == RRType::ANY) {
        if (in_use)
            return unexpected(
                fail(Rcode::YXDomain, "prerequisite: name " + p.owner.to_string() + " is in use"));
    } else if (!v.find_rrset(p.owner, p.type).empty()) {
        return unexpected(fail(Rcode::YXRRSet, "prerequisite: RRset " + what + " exists"));
    }
    return {};
}

// The labels of `owner` below `apex`, lower case, leftmost first.
std::vector<std::string> relative_labels(dns::NameView owner, dns::NameView apex) {
    std::vector<std::string> out;
    const std::size_t n = owner.label_count() - apex.label_count();
    dns::NameView at = owner;
    for (std::size_t i = 0; i < n; ++i) {
        const auto l = at.first_label();
        std::string s(l.begin(), l.end());
        for (char& c : s) c = static_cast<char>(dns::ascii_lower(static_cast<uint8_t>(c)));
        out.push_back(std::move(s));
        at = at.parent();
    }
    return out;
}

std::vector<std::string> split_labels(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t dot = text.find('.', start);
        const std::size_t end = dot == std::string_view::npos ? text.size() : dot;
        out.emplace_back(text.substr(start, end - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return out;
}

}  // namespace

Result<UpdateRequest, UpdateFailure> read_update(const dns::Message& m) {
    UpdateRequest req;
    for (const dns::RecordRef& ref : m.records()) {
        if (ref.section == dns::Section::Additional) continue;  // §2.5: the additional section is ignored
        Wire w = dns::uncompressed_record(m, ref);
        if (w.empty())
            return unexpected(fail(Rcode::FormErr, "unreadable RDATA at " + ref.owner.to_string() + " " +
                                                       dns::to_string(ref.type)));
        (ref.section == dns::Section::Answer ? req.prerequisites : req.updates)
            .push_back(UpdateRecord{std::move(w)});
    }
    return req;
}

Result<void, UpdateFailure> check_prerequisites(const zone::ZoneVersion& v,
                                                std::span<const UpdateRecord> prerequisites) {
    // §3.2.3: the value-dependent ones are compared RRset by RRset once all are gathered.
    std::map<std::pair<std::string, uint16_t>, std::vector<Wire>> values;
    std::map<std::pair<std::string, uint16_t>, RecordView> first;
    for (const UpdateRecord& rec : prerequisites) {
        const RecordView p = rec.view();
        if (p.ttl != 0) return unexpected(fail(Rcode::FormErr, "prerequisite " + describe(p) + " has a TTL"));
        if (!dns::is_subdomain(p.owner, v.apex()))
            return unexpected(fail(Rcode::NotZone, "prerequisite " + describe(p) + " is outside the zone"));
        if (p.rclass == kAny || p.rclass == kNone) {
            if (!p.rdata.empty())
                return unexpected(fail(Rcode::FormErr, "prerequisite " + describe(p) + " has RDATA"));
            if (auto ok = check_existence(v, p); !ok) return ok;
        } else if (p.rclass == kIn && !is_meta(p.type)) {
            const auto key =
                std::make_pair(dns::Name::from_wire(p.owner.wire()).value().key(), dns::to_u16(p.type));
            values[key].push_back(with_class_ttl(rec.wire, kIn, 0));
            first.emplace(key, p);
        } else {
            return unexpected(fail(Rcode::FormErr,
                                   "prerequisite " + describe(p) + " has class " + std::to_string(p.rclass)));
        }
    }
    for (const auto& [key, wanted] : values) {
        const RecordView& p = first.at(key);
        if (!same_rrset(rrset_of(v, p.owner, p.type), wanted))
            return unexpected(fail(Rcode::NXRRSet, "prerequisite: RRset " + describe(p) + " differs"));
    }
    return {};
}

Result<void, UpdateFailure> prescan_updates(dns::NameView apex, std::span<const UpdateRecord> updates) {
    for (const UpdateRecord& rec : updates) {
        const RecordView u = rec.view();
        if (!dns::is_subdomain(u.owner, apex))
            return unexpected(fail(Rcode::NotZone, "update " + describe(u) + " is outside the zone"));
        const bool transfer_type = u.type == RRType::AXFR || u.type == RRType::IXFR ||
                                   u.type == RRType::MAILA || u.type == RRType::MAILB;
        if (u.rclass == kIn) {
            if (is_meta(u.type))
                return unexpected(fail(Rcode::FormErr, "update adds a meta type: " + describe(u)));
        } else if (u.rclass == kAny) {
            if (u.ttl != 0 || !u.rdata.empty() || transfer_type || (is_meta(u.type) && u.type != RRType::ANY))
                return unexpected(
                    fail(Rcode::FormErr, "update deleting " + describe(u) + ": TTL and RDATA must be empty"));
        } else if (u.rclass == kNone) {
            if (u.ttl != 0 || is_meta(u.type))
                return unexpected(
                    fail(Rcode::FormErr, "update deleting a record of " + describe(u) + ": TTL must be 0"));
        } else {
            return unexpected(
                fail(Rcode::FormErr, "update " + describe(u) + " has class " + std::to_string(u.rclass)));
        }
    }
    return {};
}

Result<zone::ZoneVersionPtr, UpdateFailure> apply_updates(const zone::ZoneVersion& base,
                                                          std::span<const UpdateRecord> updates,
                                                          std::optional<dns::Serial> serial,
                                                          std::optional<zone::Changeset>* changes) {
    Applier applier(base, serial);
    for (const UpdateRecord& rec : updates) applier.apply(rec.view());
    return applier.finish(changes);
}

bool update_name_matches(std::string_view pattern, dns::NameView owner, dns::NameView apex) {
    if (!dns::is_subdomain(owner, apex)) return false;
    const std::vector<std::string> o = relative_labels(owner, apex);
    if (pattern == "@") return o.empty();
    const std::vector<std::string> p = split_labels(pattern);
    if (p.front() == "*") {
        // Strictly below the rest of the pattern: o ends with p[1..] and has more labels.
        const std::size_t rest = p.size() - 1;
        return o.size() > rest &&
               std::equal(p.begin() + 1, p.end(), o.end() - static_cast<std::ptrdiff_t>(rest));
    }
    if (p.back() == "*") {
        const std::size_t head = p.size() - 1;
        return o.size() >= head && std::equal(p.begin(), p.end() - 1, o.begin());
    }
    return o == p;
}

Result<void, std::string> update_allowed(const AclRule& rule, dns::NameView apex,
                                         std::span<const UpdateRecord> updates) {
    for (const UpdateRecord& rec : updates) {
        const RecordView u = rec.view();
        if (!rule.update_names.empty() &&
            std::none_of(rule.update_names.begin(), rule.update_names.end(),
                         [&](const std::string& p) { return update_name_matches(p, u.owner, apex); }))
            return unexpected("rule " + rule.name + " does not cover the name " + u.owner.to_string());
        if (rule.update_types.empty()) continue;
        if (u.type == RRType::ANY)
            return unexpected("rule " + rule.name + " is limited to some types; deleting every type at " +
                              u.owner.to_string() + " is not allowed");
        if (std::find(rule.update_types.begin(), rule.update_types.end(), dns::to_u16(u.type)) ==
            rule.update_types.end())
            return unexpected("rule " + rule.name + " does not cover the type " + describe(u));
    }
    return {};
}

UpdateDecision authorize_update(std::span<const AclRule> rules, const Peer& peer,
                                const std::optional<std::string>& key, dns::NameView apex,
                                std::span<const UpdateRecord> updates) {
    UpdateDecision d;
    if (!key) {
        d.reason = "unsigned: updates need a TSIG key";
        return d;
    }
    if (rules.empty()) {
        d.reason = "the zone has no allow_update rule";
        return d;
    }
    for (const AclRule& rule : rules) {
        const AclDecision who = check_acl(std::span(&rule, 1), peer, key);
        if (!who.allowed) {
            if (!d.rule) d.reason = who.reason;
            continue;
        }
        auto what = update_allowed(rule, apex, updates);
        if (what) {
            d.allowed = true;
            d.rule = &rule;
            d.reason.clear();
            return d;
        }
        d.rule = &rule;
        d.reason = what.error();
    }
    return d;
}

std::string update_log_line(const UpdateEvent& e) {
    std::string line = "update";
    auto field = [&line](std::string_view name, std::string_view value) {
        line += ' ';
        line += name;
        line += '=';
        line += value.empty() ? std::string_view("-") : value;
    };
    // A reason may hold anything a client sent: one shell word, quoted, control characters as spaces.
    std::string reason = "\"";
    for (const char c : e.reason) {
        if (c == '"' || c == '\\') reason += '\\';
        reason += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    reason += '"';
    field("zone", e.zone);
    field("peer", e.address + ":" + std::to_string(e.port));
    field("transport", transport_name(e.transport));
    field("key", e.key);
    field("rule", e.rule);
    field("rcode", dns::to_string(e.rcode));
    field("serial", e.serial ? std::to_string(e.serial->value()) : std::string());
    field("changed", e.changed ? "yes" : "no");
    field("prerequisites", std::to_string(e.prerequisites));
    field("updates", std::to_string(e.updates));
    field("reason", reason);
    return line;
}

}  // namespace headwater::xfr
