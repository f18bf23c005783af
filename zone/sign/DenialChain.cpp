#include "zone/sign/DenialChain.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "zone/answer/Nsec3Hash.h"

namespace headwater::sign {

using dns::RRType;

namespace {

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

// The types present at a node (each once).
void node_types(const zone::ZoneVersion& v, const Node& n, std::vector<uint16_t>& out) {
    for (std::size_t i = n.begin; i < n.end; ++i) out.push_back(dns::to_u16(v.record(i).type));
}

}  // namespace

void RecordList::add(std::span<const uint8_t> owner, RRType type, uint32_t ttl,
                     std::span<const uint8_t> rdata) {
    offsets_.push_back(data_.size());
    data_.insert(data_.end(), owner.begin(), owner.end());
    put16(data_, dns::to_u16(type));
    put16(data_, dns::to_u16(dns::RRClass::IN));
    put16(data_, static_cast<uint16_t>(ttl >> 16));
    put16(data_, static_cast<uint16_t>(ttl));
    put16(data_, static_cast<uint16_t>(rdata.size()));
    data_.insert(data_.end(), rdata.begin(), rdata.end());
}

std::vector<uint8_t> type_bitmap(std::vector<uint16_t> types) {
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    std::vector<uint8_t> out;
    for (std::size_t i = 0; i < types.size();) {
        const uint8_t window = static_cast<uint8_t>(types[i] >> 8);
        std::array<uint8_t, 32> bits{};
        std::size_t length = 0;
        for (; i < types.size() && (types[i] >> 8) == window; ++i) {
            const uint8_t low = static_cast<uint8_t>(types[i]);
            bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
            length = low / 8 + 1u;
        }
        out.push_back(window);
        out.push_back(static_cast<uint8_t>(length));
        out.insert(out.end(), bits.begin(), bits.begin() + static_cast<std::ptrdiff_t>(length));
    }
    return out;
}

void add_nsec_chain(const zone::ZoneVersion& v, const std::vector<Node>& nodes,
                    std::span<const uint16_t> apex_types, uint32_t ttl, RecordList& out) {
    std::vector<const Node*> chain;
    for (const Node& n : nodes)
        if (n.kind != NodeKind::Occluded) chain.push_back(&n);
    std::vector<uint16_t> types;
    std::vector<uint8_t> rdata;
    for (std::size_t k = 0; k < chain.size(); ++k) {
        const Node& n = *chain[k];
        const Node& next = *chain[(k + 1) % chain.size()];  // the last NSEC names the apex (RFC 4034 §4.1.1)
        types.clear();
        if (n.kind == NodeKind::Delegation) {
            // RFC 4035 §2.3: at a delegation only what the parent is authoritative for.
            types.push_back(dns::to_u16(RRType::NS));
            if (n.has_ds) types.push_back(dns::to_u16(RRType::DS));
        } else {
            node_types(v, n, types);
            if (n.kind == NodeKind::Apex) types.insert(types.end(), apex_types.begin(), apex_types.end());
        }
        types.push_back(dns::to_u16(RRType::RRSIG));
        types.push_back(dns::to_u16(RRType::NSEC));
        rdata.clear();
        const auto next_owner = v.record(next.begin).owner.wire();
        rdata.insert(rdata.end(), next_owner.begin(), next_owner.end());
        const auto bitmap = type_bitmap(types);
        rdata.insert(rdata.end(), bitmap.begin(), bitmap.end());
        out.add(v.record(n.begin).owner.wire(), RRType::NSEC, ttl, rdata);
    }
}

namespace {

struct HashedName {
    answer::Nsec3Digest hash;
    std::size_t types_at;  // into the flat type list
    std::size_t types_count;
};

struct Ancestor {
    dns::NameView name;
    bool empty_non_terminal;
    bool in_chain;
};

}  // namespace

namespace {

// The names the NSEC3 chain covers, hashed, with their types (RFC 5155 §7.1).
struct ChainNames {
    std::vector<HashedName> names;
    std::vector<uint16_t> all_types;  // HashedName::types_at indexes here
};

ChainNames chain_names(const zone::ZoneVersion& v, const std::vector<Node>& nodes,
                       std::span<const uint16_t> apex_types, const Nsec3Settings& settings) {
    ChainNames chain;
    auto& names = chain.names;
    auto& all_types = chain.all_types;
    auto emit = [&](dns::NameView name, const std::vector<uint16_t>& types) {
        names.push_back(
            {answer::nsec3_hash(name, settings.iterations, settings.salt), all_types.size(), types.size()});
        all_types.insert(all_types.end(), types.begin(), types.end());
    };
    // Walking in canonical order, the names above the current one that exist (or are empty non-terminals)
    // are a stack: every descendant of a name follows it directly (RFC 4034 §6.1).
    std::vector<Ancestor> stack;
    std::vector<uint16_t> types;
    const std::vector<uint16_t> none;
    for (const Node& n : nodes) {
        if (n.kind == NodeKind::Occluded) continue;
        const dns::NameView owner = v.record(n.begin).owner;
        while (!stack.empty() && !dns::is_subdomain(owner, stack.back().name)) stack.pop_back();
        if (!stack.empty()) {
            // RFC 5155 §7.1: every empty non-terminal between the closest existing ancestor and this name.
            const std::size_t between = owner.label_count() - stack.back().name.label_count() - 1;
            for (std::size_t k = between; k >= 1; --k) stack.push_back({owner.parent(k), true, false});
        }
        // RFC 5155 §6: with opt-out a delegation without DS (an insecure one) may be left out, and so may
        // the empty non-terminals only it needs.
        const bool in_chain = n.kind != NodeKind::Delegation || !settings.opt_out || n.has_ds;
        if (in_chain) {
            for (Ancestor& a : stack) {
                if (!a.empty_non_terminal || a.in_chain) continue;
                emit(a.name, none);
                a.in_chain = true;
            }
            types.clear();
            if (n.kind == NodeKind::Delegation) {
                types.push_back(dns::to_u16(RRType::NS));
                if (n.has_ds) {
                    types.push_back(dns::to_u16(RRType::DS));
                    types.push_back(dns::to_u16(RRType::RRSIG));
                }
            } else {
                node_types(v, n, types);
                if (n.kind == NodeKind::Apex) types.insert(types.end(), apex_types.begin(), apex_types.end());
                types.push_back(dns::to_u16(RRType::RRSIG));
            }
            emit(owner, types);
        }
        stack.push_back({owner, false, true});
    }
    return chain;
}

}  // namespace

Result<void, std::string> add_nsec3_chain(const zone::ZoneVersion& v, const std::vector<Node>& nodes,
                                          std::span<const uint16_t> apex_types, uint32_t ttl,
                                          const Nsec3Settings& settings, RecordList& out) {
    auto [names, all_types] = chain_names(v, nodes, apex_types, settings);
    if (names.empty()) return {};

    std::sort(names.begin(), names.end(),
              [](const HashedName& a, const HashedName& b) { return a.hash < b.hash; });
    for (std::size_t k = 1; k < names.size(); ++k)
        if (names[k].hash == names[k - 1].hash)
            return unexpected(std::string("two names have the same NSEC3 hash: choose another salt"));

    std::vector<uint8_t> rdata;
    std::vector<uint8_t> owner;
    const auto apex = v.apex().wire();
    for (std::size_t k = 0; k < names.size(); ++k) {
        const HashedName& h = names[k];
        const HashedName& next = names[(k + 1) % names.size()];
        rdata.clear();
        rdata.push_back(answer::kNsec3Sha1);
        rdata.push_back(settings.opt_out ? 1 : 0);  // RFC 5155 §3.1.2.1: the Opt-Out flag
        put16(rdata, settings.iterations);
        rdata.push_back(static_cast<uint8_t>(settings.salt.size()));
        rdata.insert(rdata.end(), settings.salt.begin(), settings.salt.end());
        rdata.push_back(static_cast<uint8_t>(next.hash.size()));
        rdata.insert(rdata.end(), next.hash.begin(), next.hash.end());
        const auto bitmap = type_bitmap(std::vector<uint16_t>(
            all_types.begin() + static_cast<std::ptrdiff_t>(h.types_at),
            all_types.begin() + static_cast<std::ptrdiff_t>(h.types_at + h.types_count)));
        rdata.insert(rdata.end(), bitmap.begin(), bitmap.end());
        const std::string label = answer::base32hex(h.hash);
        owner.clear();
        owner.push_back(static_cast<uint8_t>(label.size()));
        owner.insert(owner.end(), label.begin(), label.end());
        owner.insert(owner.end(), apex.begin(), apex.end());
        if (owner.size() > 255)
            return unexpected(std::string("the zone name is too long for NSEC3 owner names"));
        out.add(owner, RRType::NSEC3, ttl, rdata);
    }
    // RFC 5155 §4: the parameters at the apex, flags 0 (Opt-Out is a property of the NSEC3 records).
    rdata.clear();
    rdata.push_back(answer::kNsec3Sha1);
    rdata.push_back(0);
    put16(rdata, settings.iterations);
    rdata.push_back(static_cast<uint8_t>(settings.salt.size()));
    rdata.insert(rdata.end(), settings.salt.begin(), settings.salt.end());
    out.add(apex, RRType::NSEC3PARAM, 0, rdata);
    return {};
}

}  // namespace headwater::sign
