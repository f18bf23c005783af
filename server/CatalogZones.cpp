#include "server/CatalogZones.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "zone/Catalog.h"
#include "zone/DurableFile.h"
#include "zone/base/ErrnoText.h"
#include "zone/base/FileText.h"

namespace headwater::server {

namespace {

namespace fs = std::filesystem;

// The catalog's entries: its members, then (RFC 9432 §5.1) the zones it listed before that are now
// members of another catalog, with a coo property naming that catalog. Sorted by zone: the text must not
// change when only the config's order does.
std::vector<zone::CatalogEntry> catalog_entries(const conf::ZoneConfig& catalog, const conf::Config& config,
                                                zone::CatalogIds& ids) {
    std::unordered_map<std::string, std::string> catalog_of;
    std::vector<zone::CatalogEntry> entries;
    std::set<std::string> listed;
    for (const auto& zc : config.zones) {
        if (zc.catalog.empty()) continue;
        catalog_of[zc.name] = zc.catalog;
        if (zc.catalog != catalog.name) continue;
        entries.push_back({zc.name, ids.id_for(zc.name), zc.catalog_group, ""});
        listed.insert(zc.name);
    }
    for (const std::string& zone : ids.listed()) {
        if (listed.count(zone) != 0) continue;
        auto moved = catalog_of.find(zone);
        if (moved != catalog_of.end()) {
            entries.push_back({zone, ids.id_for(zone), "", moved->second});
            listed.insert(zone);
        } else {
            ids.set_listed(zone, false);  // removed from the config: it leaves the catalog
        }
    }
    for (const std::string& zone : listed) ids.set_listed(zone, true);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.zone < b.zone; });
    return entries;
}

Result<fs::path, std::string> write_catalog(const conf::ZoneConfig& catalog, const conf::Config& config,
                                            const fs::path& dir) {
    const fs::path ids_file = dir / (catalog.name + "ids");
    const fs::path zone_file = dir / (catalog.name + "zone");
    auto ids = zone::CatalogIds::load(ids_file);
    if (!ids) return unexpected("catalog " + catalog.name + ": " + ids.error());
    const auto entries = catalog_entries(catalog, config, *ids);
    // The IDs are durable before any consumer can see them.
    if (auto saved = ids->save(ids_file); !saved)
        return unexpected("catalog " + catalog.name + ": " + saved.error());
    // The last catalog written: its serial is where the next one continues. Absent (a new catalog) starts
    // at 1; unreadable must not: a catalog restarted at serial 1 would go backwards for every consumer.
    auto read = read_file_text(zone_file);
    if (!read && read.error() != ENOENT)
        return unexpected("catalog " + catalog.name + ": " + zone_file.string() + ": " +
                          errno_text(read.error()));
    const std::string old_text = read ? std::move(*read) : std::string();
    const uint32_t old_serial = zone::catalog_text_serial(old_text);
    if (old_serial != 0 && zone::catalog_zone_text(catalog.name, old_serial, entries) == old_text)
        return zone_file;
    const std::string text = zone::catalog_zone_text(catalog.name, old_serial + 1, entries);
    auto written = zone::write_file_atomically(
        zone_file, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644);
    if (!written) return unexpected("catalog " + catalog.name + ": " + written.error());
    return zone_file;
}

}  // namespace

Result<void, std::string> add_catalog_zones(conf::Config& config) {
    if (config.catalogs.empty()) return {};
    const fs::path dir = config.server.state_dir / "catalogs";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return unexpected("cannot create " + dir.string() + ": " + ec.message());
    std::vector<conf::ZoneConfig> catalogs;
    for (const auto& catalog : config.catalogs) {
        auto file = write_catalog(catalog, config, dir);
        if (!file) return unexpected(file.error());
        conf::ZoneConfig served = catalog;
        served.file = *file;
        catalogs.push_back(std::move(served));
    }
    for (auto& c : catalogs) config.zones.push_back(std::move(c));
    return {};
}

}  // namespace headwater::server
