// RFC 9432 catalog zone text and member IDs (see Catalog.h).
#include "zone/Catalog.h"

#include <cerrno>
#include <cstdio>
#include <random>
#include <set>
#include <sstream>

#include "zone/DurableFile.h"
#include "zone/base/ErrnoText.h"
#include "zone/base/FileText.h"

namespace headwater::zone {

namespace {

constexpr const char* kSerialMarker = "; headwater catalog serial ";

std::string new_id() {
    std::random_device rd;
    const uint64_t v = (static_cast<uint64_t>(rd()) << 32U) | rd();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A TXT string in presentation form: quoted, with '"' and '\' escaped, other bytes outside printable
// ASCII as \DDD (RFC 1035 §5.1).
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c > 0x7e) {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

}  // namespace

std::string catalog_zone_text(const std::string& catalog, uint32_t serial,
                              const std::vector<CatalogEntry>& entries) {
    std::ostringstream out;
    // §4.1: the SOA's values are not used by consumers for the members; the timers drive the catalog's own
    // refresh when a NOTIFY is lost.
    out << kSerialMarker << serial << "\n"
        << "$ORIGIN " << catalog << "\n"
        << "$TTL 0\n"
        << "@ SOA invalid. invalid. " << serial << " 60 30 604800 0\n"
        << "@ NS invalid.\n"       // §4.2
        << "version TXT \"2\"\n";  // §4.3
    for (const CatalogEntry& e : entries) {
        out << e.id << ".zones PTR " << e.zone << "\n";                                             // §4.4.1
        if (!e.group.empty()) out << "group." << e.id << ".zones TXT " << quoted(e.group) << "\n";  // §4.4.2
        if (!e.coo.empty()) out << "coo." << e.id << ".zones PTR " << e.coo << "\n";  // §4.4.1, §5.1
    }
    return out.str();
}

uint32_t catalog_text_serial(const std::string& text) {
    const std::string marker = kSerialMarker;
    if (text.compare(0, marker.size(), marker) != 0) return 0;
    return static_cast<uint32_t>(std::strtoul(text.c_str() + marker.size(), nullptr, 10));
}

Result<CatalogIds, std::string> CatalogIds::load(const std::filesystem::path& file) {
    CatalogIds ids;
    // No file: none yet. A file that cannot be read is an error, not "none": new IDs would make every
    // consumer drop and re-add its zones (RFC 9432 §5.3).
    auto text = read_file_text(file);
    if (!text && text.error() == ENOENT) return ids;
    if (!text) return unexpected(file.string() + ": " + errno_text(text.error()));
    std::istringstream in(*text);
    std::string line;
    size_t line_no = 0;
    std::set<std::string> seen_ids;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        std::istringstream fields(line);
        std::string zone;
        std::string id;
        std::string state;
        if (!(fields >> zone >> id >> state) || (state != "listed" && state != "gone") ||
            !seen_ids.insert(id).second) {
            return unexpected(file.string() + ":" + std::to_string(line_no) +
                              ": expected \"<zone> <unique id> listed|gone\"");
        }
        ids.members_[zone] = Member{id, state == "listed"};
    }
    return ids;
}

const std::string& CatalogIds::id_for(const std::string& zone) {
    Member& m = members_[zone];
    if (m.id.empty()) m.id = new_id();
    return m.id;
}

bool CatalogIds::was_listed(const std::string& zone) const {
    auto it = members_.find(zone);
    return it != members_.end() && it->second.listed;
}

std::vector<std::string> CatalogIds::listed() const {
    std::vector<std::string> out;
    for (const auto& [zone, m] : members_)
        if (m.listed) out.push_back(zone);
    return out;
}

void CatalogIds::set_listed(const std::string& zone, bool listed) {
    auto it = members_.find(zone);
    if (it != members_.end()) it->second.listed = listed;
}

Result<void, std::string> CatalogIds::save(const std::filesystem::path& file) const {
    std::string text;
    for (const auto& [zone, m] : members_) text += zone + " " + m.id + (m.listed ? " listed\n" : " gone\n");
    return write_file_atomically(file, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644);
}

}  // namespace headwater::zone
