#include "xfr/verify/DelegationCheck.h"
#include "zone/dns/UncompressedRecord.h"

#include <algorithm>
#include <array>

#include "xfr/verify/VerifySample.h"
#include "zone/base/AsciiText.h"

namespace headwater::verify {

namespace {

std::string name_text(dns::NameView n) {
    return ascii_lower(n.to_string());
}

// An A or AAAA RDATA as an address; nothing when its length is wrong.
std::optional<std::string> address_of(dns::RRType type, std::span<const uint8_t> rdata) {
    if (type == dns::RRType::A && rdata.size() == 4) {
        std::array<uint8_t, 4> b{};
        std::copy(rdata.begin(), rdata.end(), b.begin());
        return dns::IpAddress::from_v4(b).to_string();
    }
    if (type == dns::RRType::AAAA && rdata.size() == 16) {
        std::array<uint8_t, 16> b{};
        std::copy(rdata.begin(), rdata.end(), b.begin());
        return dns::IpAddress::from_v6(b).to_string();
    }
    return std::nullopt;
}

// The name in an NS record of a message (its RDATA may be compressed: RFC 1035 §4.1.4).
std::optional<std::string> ns_target(const dns::Message& m, const dns::RecordRef& r) {
    const WireRecord w = dns::uncompressed_record(m, r);
    const std::size_t rdata_at = r.owner.view().size() + 10;
    if (w.size() <= rdata_at) return std::nullopt;
    auto target = dns::Name::from_wire(std::span(w).subspan(rdata_at));
    if (!target) return std::nullopt;
    return name_text(*target);
}

// The uncompressed name at the start of `rdata` (labels up to the root label), or an empty span.
std::span<const uint8_t> first_name(std::span<const uint8_t> rdata) {
    std::size_t at = 0;
    while (at < rdata.size()) {
        const std::size_t len = rdata[at];
        if (len == 0) return rdata.first(at + 1);
        if (len > 63) break;  // a pointer or a bad label: stored records have neither
        at += len + 1;
    }
    return {};
}

std::string joined(const std::set<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : " ") + i;
    return out.empty() ? "none" : out;
}

bool at_or_below(const std::string& name, const std::string& zone) {
    return name == zone ||
           (name.size() > zone.size() && name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
            name[name.size() - zone.size() - 1] == '.');
}

void compare_ns(const DelegationExpectation& e, DelegationResult& r) {
    for (const auto& n : e.ns)
        if (r.ns.count(n) == 0) r.problems.push_back("misses " + n + " (an apex NS name)");
    for (const auto& n : r.ns) {
        if (e.ns.count(n) != 0) continue;
        if (e.primary_name && n == *e.primary_name)
            r.problems.push_back("lists " + n + ", the hidden primary (the SOA MNAME)");
        else
            r.problems.push_back("lists " + n + ", which is not an apex NS name");
    }
}

void compare_glue(const DelegationExpectation& e, DelegationResult& r) {
    for (const auto& [name, addresses] : r.glue) {
        for (const auto& a : addresses) {
            if (e.primary_addresses.count(a) == 0) continue;
            std::string problem = "glue " + name;
            problem += " " + a;
            problem += " is the hidden primary's address";
            r.problems.push_back(std::move(problem));
        }
        const auto known = e.addresses.find(name);
        if (known == e.addresses.end() || r.ns.count(name) == 0) continue;
        if (addresses != known->second)
            r.problems.push_back("glue " + name + " is " + joined(addresses) + ", the providers serve " +
                                 joined(known->second));
    }
    // A name inside the zone cannot be resolved without glue (RFC 1034 §4.2.1).
    for (const auto& n : r.ns)
        if (at_or_below(n, e.zone) && r.glue.count(n) == 0)
            r.problems.push_back("no glue for " + n + ", which is inside the zone");
}

}  // namespace

DelegationExpectation expect_delegation(const zone::ZoneVersion& served,
                                        std::span<const dns::IpAddress> own_addresses) {
    DelegationExpectation e;
    e.zone = name_text(served.apex());
    const auto ns = served.find_rrset(served.apex(), dns::RRType::NS);
    for (std::size_t i = ns.begin; i < ns.end; ++i) {
        auto target = dns::Name::from_wire(served.record(i).rdata);
        if (!target) continue;
        e.ns.insert(name_text(*target));
        if (!dns::is_subdomain(*target, served.apex())) continue;
        auto& addresses = e.addresses[name_text(*target)];
        for (const auto type : {dns::RRType::A, dns::RRType::AAAA}) {
            const auto rrset = served.find_rrset(*target, type);
            for (std::size_t k = rrset.begin; k < rrset.end; ++k)
                if (auto a = address_of(type, served.record(k).rdata)) addresses.insert(*a);
        }
    }
    // SOA RDATA starts with MNAME (RFC 1035 §3.3.13), uncompressed in a stored record.
    if (auto mname = dns::Name::from_wire(first_name(served.soa().rdata))) {
        if (e.ns.count(name_text(*mname)) == 0) e.primary_name = name_text(*mname);
    }
    for (const auto& a : own_addresses) e.primary_addresses.insert(a.to_string());
    return e;
}

std::vector<std::string> names_to_resolve(const DelegationExpectation& expected) {
    std::vector<std::string> out;
    for (const auto& n : expected.ns)
        if (!at_or_below(n, expected.zone)) out.push_back(n);
    return out;
}

bool add_address_answer(DelegationExpectation& expected, const std::string& name,
                        const dns::Message& response) {
    const auto& h = response.header();
    if ((h.flags & dns::flag::AA) == 0 || h.rcode() != 0) return false;
    auto& addresses = expected.addresses[ascii_lower(name)];
    for (const auto& r : response.records()) {
        if (r.section != dns::Section::Answer || name_text(r.owner) != ascii_lower(name)) continue;
        if (auto a = address_of(r.type, r.rdata)) addresses.insert(*a);
    }
    return true;
}

DelegationResult check_referral(const DelegationExpectation& expected, const dns::Message& response) {
    DelegationResult r;
    const auto& h = response.header();
    if (h.rcode() != 0) {
        r.status = "not-a-referral";
        r.problems.push_back("answered " + dns::to_string(static_cast<dns::Rcode>(h.rcode())) +
                             " (does this server serve the parent zone?)");
        return r;
    }
    const bool authoritative = (h.flags & dns::flag::AA) != 0;
    // A referral carries the NS RRset in the authority section; a server that also serves the child
    // zone answers it authoritatively in the answer section instead.
    const dns::Section ns_section = authoritative ? dns::Section::Answer : dns::Section::Authority;
    for (const auto& rec : response.records()) {
        const std::string owner = name_text(rec.owner);
        if (rec.type == dns::RRType::NS && rec.section == ns_section && owner == expected.zone) {
            if (auto t = ns_target(response, rec)) r.ns.insert(*t);
        } else if (rec.section == dns::Section::Additional &&
                   (rec.type == dns::RRType::A || rec.type == dns::RRType::AAAA)) {
            if (auto a = address_of(rec.type, rec.rdata)) r.glue[owner].insert(*a);
        }
    }
    if (r.ns.empty()) {
        r.status = "not-a-referral";
        r.problems.push_back("no NS RRset for " + expected.zone + " in the answer (not delegated there?)");
        return r;
    }
    if (authoritative) r.problems.push_back("answers for the zone itself (AA): it serves the child zone too");
    const std::size_t notes = r.problems.size();
    compare_ns(expected, r);
    compare_glue(expected, r);
    r.ok = r.problems.size() == notes;
    r.status = r.ok ? "ok" : "mismatch";
    return r;
}

}  // namespace headwater::verify
