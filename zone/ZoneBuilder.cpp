#include "zone/ZoneBuilder.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace headwater::zone {

using dns::RRType;

ZoneBuilder::ZoneBuilder(dns::Name apex) : apex_(std::move(apex)) {}

dns::Result<void, std::string> ZoneBuilder::add(std::span<const uint8_t> owner, uint16_t type,
                                                uint16_t rclass, uint32_t ttl, std::span<const uint8_t> rdata,
                                                std::string_view file, std::size_t line) {
    const dns::NameView owner_name(owner);
    if (!dns::is_subdomain(owner_name, apex_))
        return dns::unexpected("out-of-zone data: " + owner_name.to_string() + " is not in zone " +
                               apex_.to_string());
    if (rclass != dns::to_u16(dns::RRClass::IN))
        return dns::unexpected("class " + dns::to_string(static_cast<dns::RRClass>(rclass)) +
                               " is not supported (only IN)");
    if (type == dns::to_u16(RRType::SOA) && !(owner_name == apex_))
        return dns::unexpected("SOA record at " + owner_name.to_string() + ", which is not the zone apex " +
                               apex_.to_string());
    if (rdata.size() > 0xFFFF) return dns::unexpected(std::string("RDATA longer than 65535 octets"));
    if (data_.size() > 0xFFFF0000u) return dns::unexpected(std::string("zone larger than 4 GiB"));

    // Files are few ($INCLUDE); remember the last one so the common case is one comparison.
    if (files_.empty() || files_[current_file_] != file) {
        auto it = std::find(files_.begin(), files_.end(), file);
        if (it == files_.end()) it = files_.emplace(files_.end(), file);
        current_file_ = static_cast<uint32_t>(it - files_.begin());
    }
    offsets_.push_back(static_cast<uint32_t>(data_.size()));
    locations_.push_back({current_file_, static_cast<uint32_t>(line)});
    data_.insert(data_.end(), owner.begin(), owner.end());
    const uint8_t fixed[10] = {static_cast<uint8_t>(type >> 8),         static_cast<uint8_t>(type),
                               static_cast<uint8_t>(rclass >> 8),       static_cast<uint8_t>(rclass),
                               static_cast<uint8_t>(ttl >> 24),         static_cast<uint8_t>(ttl >> 16),
                               static_cast<uint8_t>(ttl >> 8),          static_cast<uint8_t>(ttl),
                               static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
    data_.insert(data_.end(), std::begin(fixed), std::end(fixed));
    data_.insert(data_.end(), rdata.begin(), rdata.end());
    return {};
}

LoadError ZoneBuilder::error_at(std::size_t insertion_index, std::string message) const {
    const Location& loc = locations_[insertion_index];
    return LoadError{files_[loc.file], loc.line, std::move(message)};
}

dns::Result<ZoneVersionPtr, LoadError> ZoneBuilder::build() {
    const std::span<const uint8_t> data(data_);
    auto view = [&](uint32_t idx) { return decode_record(data.subspan(offsets_[idx])); };

    // Sort insertion indexes, so every record keeps its source location for the checks below.
    std::vector<uint32_t> order(offsets_.size());
    std::iota(order.begin(), order.end(), 0u);
    auto compare = [&](uint32_t a, uint32_t b) {
        const RecordView ra = view(a);
        const RecordView rb = view(b);
        if (const int c = dns::canonical_compare(ra.owner, rb.owner); c != 0) return c;
        if (ra.type != rb.type) return dns::to_u16(ra.type) < dns::to_u16(rb.type) ? -1 : 1;
        // RFC 4034 §6.3: RDATA as left-justified octet strings, a missing octet sorts first.
        const std::size_t n = std::min(ra.rdata.size(), rb.rdata.size());
        if (const int c = n ? std::memcmp(ra.rdata.data(), rb.rdata.data(), n) : 0; c != 0) return c;
        if (ra.rdata.size() != rb.rdata.size()) return ra.rdata.size() < rb.rdata.size() ? -1 : 1;
        return 0;
    };
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return compare(a, b) < 0; });
    // RFC 2181 §5: an RRset holds no duplicates; keep the first occurrence.
    order.erase(
        std::unique(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return compare(a, b) == 0; }),
        order.end());

    // Whole-zone checks, in one linear pass over the sorted records.
    std::size_t soa_count = 0;
    std::size_t soa_pos = 0;
    bool apex_ns = false;
    for (std::size_t i = 0; i < order.size();) {
        const dns::NameView owner = view(order[i]).owner;
        std::size_t j = i;
        std::size_t cname = 0, other = 0;
        std::size_t cname_at = i, other_at = i;
        for (; j < order.size() && view(order[j]).owner == owner; ++j) {
            const RRType t = view(order[j]).type;
            if (t == RRType::CNAME) {
                if (cname++ == 0) cname_at = j;
            } else if (t != RRType::RRSIG && t != RRType::NSEC) {
                if (other++ == 0) other_at = j;
            }
            if (t == RRType::SOA) {
                ++soa_count;
                soa_pos = j;
                if (soa_count > 1)  // report the line that came second in the file
                    return dns::unexpected(error_at(std::max(order[j - 1], order[j]),
                                                    "more than one SOA record at the zone apex"));
            }
            if (t == RRType::NS && owner == apex_) apex_ns = true;
        }
        if (cname > 1)
            return dns::unexpected(
                error_at(order[cname_at + 1], "more than one CNAME at " + owner.to_string()));
        if (cname == 1 && other > 0) {
            const auto at = std::max(order[cname_at], order[other_at]);  // report the later of the two lines
            return dns::unexpected(error_at(at, "CNAME and other data at " + owner.to_string() +
                                                    " (RFC 1034 §3.6.2: a CNAME must be alone at its name)"));
        }
        i = j;
    }
    const std::string file = files_.empty() ? std::string() : files_.front();
    if (soa_count == 0)
        return dns::unexpected(LoadError{file, 0, "no SOA record at the zone apex " + apex_.to_string()});
    if (!apex_ns)
        return dns::unexpected(LoadError{file, 0, "no NS records at the zone apex " + apex_.to_string()});

    // Lay the records out in canonical order in one exactly sized buffer.
    std::size_t total = 0;
    for (uint32_t idx : order) total += view(idx).wire.size();
    std::vector<uint8_t> packed;
    packed.reserve(total);
    std::vector<uint32_t> offsets;
    offsets.reserve(order.size());
    for (uint32_t idx : order) {
        offsets.push_back(static_cast<uint32_t>(packed.size()));
        const auto w = view(idx).wire;
        packed.insert(packed.end(), w.begin(), w.end());
    }
    data_.clear();
    data_.shrink_to_fit();
    offsets_.clear();
    offsets_.shrink_to_fit();
    locations_.clear();
    return std::make_shared<const ZoneVersion>(apex_, std::move(packed), std::move(offsets), soa_pos);
}

}  // namespace headwater::zone
