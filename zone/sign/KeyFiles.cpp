#include "zone/sign/KeyFiles.h"

#include <sstream>

#include "zone/DurableFile.h"
#include "zone/base/AsciiText.h"
#include "zone/base/ErrnoText.h"
#include "zone/base/FileText.h"
#include "zone/dns/Base64.h"

namespace headwater::sign {

namespace fs = std::filesystem;

namespace {

std::string timestamp(std::time_t t) {  // YYYYMMDDHHMMSS, UTC (BIND's key timing format)
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

std::optional<std::time_t> parse_timestamp(std::string_view text) {
    if (text.size() != 14) return std::nullopt;
    for (const char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    auto num = [&](std::size_t at, std::size_t n) {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (text[i] - '0');
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(4, 2) - 1;
    tm.tm_mday = num(6, 2);
    tm.tm_hour = num(8, 2);
    tm.tm_min = num(10, 2);
    tm.tm_sec = num(12, 2);
    return timegm(&tm);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::vector<std::string> tokens_of(std::string_view line) {
    std::vector<std::string> out;
    std::string current;
    for (const char c : line) {
        if (c == ';') break;
        if (c == ' ' || c == '\t' || c == '\r' || c == '(' || c == ')') {
            if (!current.empty()) out.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

struct PublicPart {
    uint16_t flags = 0;
    DnssecAlgorithm algorithm{};
    std::vector<uint8_t> key;
};

// The DNSKEY line of a .key file: owner [TTL] [IN] DNSKEY flags 3 algorithm base64...
Result<PublicPart, std::string> parse_public(dns::NameView zone, std::string_view text) {
    std::vector<std::string> t;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        auto more = tokens_of(line);
        t.insert(t.end(), more.begin(), more.end());
    }
    if (t.empty()) return unexpected(std::string("no DNSKEY record"));
    auto owner = dns::Name::from_text(t[0]);
    if (!owner) return unexpected("invalid owner name " + t[0] + ": " + owner.error());
    if (!(owner->view() == zone))
        return unexpected("the key is for " + owner->to_string() + ", not for " + zone.to_string());
    std::size_t i = 1;
    if (i < t.size() && all_digits(t[i])) ++i;
    if (i < t.size() && iequals(t[i], "IN")) ++i;
    if (i < t.size() && all_digits(t[i])) ++i;  // the TTL may follow the class
    if (i + 4 > t.size() || !iequals(t[i], "DNSKEY")) return unexpected(std::string("no DNSKEY record"));
    if (!all_digits(t[i + 1]) || std::stoul(t[i + 1]) > 0xFFFF || t[i + 2] != "3")
        return unexpected(std::string("invalid DNSKEY flags or protocol"));
    PublicPart p;
    p.flags = static_cast<uint16_t>(std::stoul(t[i + 1]));
    const auto alg = parse_algorithm(t[i + 3]);
    if (!alg)
        return unexpected("algorithm " + t[i + 3] +
                          " is not one Headwater signs with (rsasha256, ecdsap256sha256, ecdsap384sha384, "
                          "ed25519)");
    p.algorithm = *alg;
    std::string b64;
    for (std::size_t k = i + 4; k < t.size(); ++k) b64 += t[k];
    auto key = dns::base64_decode(b64);
    if (!key) return unexpected("invalid public key: " + key.error());
    p.key = std::move(*key);
    return p;
}

std::vector<uint8_t> dnskey_rdata_of(const PublicPart& p) {
    std::vector<uint8_t> out{static_cast<uint8_t>(p.flags >> 8), static_cast<uint8_t>(p.flags), 3,
                             static_cast<uint8_t>(p.algorithm)};
    out.insert(out.end(), p.key.begin(), p.key.end());
    return out;
}

struct PrivatePart {
    DnssecKey::PrivateFields fields;
    std::optional<uint8_t> algorithm;
    KeyTiming timing;
};

// The KeyTiming member a timing line sets; null for a line that is not one we keep.
std::optional<std::time_t>* timing_field(KeyTiming& t, std::string_view name) {
    if (name == "Publish") return &t.publish;
    if (name == "Activate") return &t.activate;
    if (name == "Inactive") return &t.inactive;
    if (name == "Delete") return &t.remove;
    if (name == "SyncPublish") return &t.sync_publish;
    if (name == "SyncDelete") return &t.sync_delete;
    return nullptr;
}

Result<PrivatePart, std::string> parse_private(std::string_view text) {
    PrivatePart p;
    std::istringstream in{std::string(text)};
    bool format = false;
    for (std::string raw; std::getline(in, raw);) {
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == ';') continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return unexpected("unreadable line " + std::string(line));
        const std::string name(trim(line.substr(0, colon)));
        const std::string_view value = trim(line.substr(colon + 1));
        if (name == "Private-key-format") {
            if (value != "v1.2" && value != "v1.3")
                return unexpected("unknown Private-key-format " + std::string(value));
            format = true;
        } else if (name == "Algorithm") {
            const auto num = value.substr(0, value.find(' '));
            if (!all_digits(num) || std::stoul(std::string(num)) > 255)
                return unexpected("invalid Algorithm " + std::string(value));
            p.algorithm = static_cast<uint8_t>(std::stoul(std::string(num)));
        } else if (name == "Created") {
            if (auto t = parse_timestamp(value)) p.timing.created = *t;
        } else if (auto* field = timing_field(p.timing, name)) {
            // A time BIND writes as 0 or leaves unparsable means "not set".
            *field = parse_timestamp(value);
        } else if (name == "Revoke") {
            // RFC 5011 revocation is not something Headwater does; the line is not kept.
        } else {
            auto bytes = dns::base64_decode(value);
            if (!bytes) return unexpected(name + ": " + bytes.error());
            p.fields.fields.emplace_back(name, std::move(*bytes));
        }
    }
    if (!format) return unexpected(std::string("not a private key file (no Private-key-format line)"));
    return p;
}

Result<std::string, std::string> read_text(const fs::path& p) {
    auto text = read_file_text(p);
    if (!text) return unexpected("cannot read " + p.string() + ": " + errno_text(text.error()));
    return std::move(*text);
}

}  // namespace

Result<std::vector<std::vector<uint8_t>>, std::string> parse_dnskey_lines(dns::NameView zone,
                                                                          std::string_view text) {
    std::vector<std::vector<uint8_t>> out;
    std::istringstream in{std::string(text)};
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (tokens_of(line).empty()) continue;  // blank, or a comment
        auto p = parse_public(zone, line);
        if (!p) return unexpected("line " + std::to_string(n) + ": " + p.error());
        out.push_back(dnskey_rdata_of(*p));
    }
    return out;
}

std::string key_file_base(dns::NameView zone, const DnssecKey& key) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "+%03u+%05u", static_cast<unsigned>(key.algorithm()),
                  static_cast<unsigned>(key.tag()));
    return "K" + zone.to_string() + buf;
}

std::string public_key_text(dns::NameView zone, const DnssecKey& key, uint32_t ttl, std::time_t created) {
    std::ostringstream out;
    out << "; This is a " << (key.is_sep() ? "key-signing" : "zone-signing") << " key, keyid " << key.tag()
        << ", for " << zone.to_string() << "\n";
    out << "; Created: " << timestamp(created) << "\n";
    out << zone.to_string() << " " << ttl << " IN DNSKEY " << key.flags() << " 3 "
        << static_cast<unsigned>(key.algorithm()) << " " << dns::base64_encode(key.public_key()) << "\n";
    return out.str();
}

KeyTiming active_from(std::time_t created) {
    KeyTiming t;
    t.created = created;
    t.publish = created;
    t.activate = created;
    return t;
}

std::string private_key_text(const DnssecKey& key, const KeyTiming& timing) {
    std::ostringstream out;
    out << "Private-key-format: v1.3\n";
    out << "Algorithm: " << static_cast<unsigned>(key.algorithm()) << " (" << mnemonic(key.algorithm())
        << ")\n";
    for (const auto& [name, value] : key.private_fields().fields)
        out << name << ": " << dns::base64_encode(value) << "\n";
    if (timing.created != 0) out << "Created: " << timestamp(timing.created) << "\n";
    const std::pair<const char*, const std::optional<std::time_t>*> lines[] = {
        {"Publish", &timing.publish},          {"Activate", &timing.activate},
        {"Inactive", &timing.inactive},        {"Delete", &timing.remove},
        {"SyncPublish", &timing.sync_publish}, {"SyncDelete", &timing.sync_delete}};
    for (const auto& [name, value] : lines)
        if (*value) out << name << ": " << timestamp(**value) << "\n";
    return out.str();
}

Result<LoadedKey, std::string> parse_key_files(dns::NameView zone, std::string_view public_text,
                                               std::string_view private_text) {
    auto pub = parse_public(zone, public_text);
    if (!pub) return unexpected(".key: " + pub.error());
    auto priv = parse_private(private_text);
    if (!priv) return unexpected(".private: " + priv.error());
    if (priv->algorithm && *priv->algorithm != static_cast<uint8_t>(pub->algorithm))
        return unexpected(std::string(".private: its algorithm differs from the DNSKEY's"));
    auto key = DnssecKey::from_parts(pub->algorithm, pub->flags, pub->key, priv->fields);
    if (!key) return unexpected(".private: " + key.error());
    return LoadedKey{std::move(*key), priv->timing};
}

Result<LoadedKey, std::string> read_key_files(dns::NameView zone, const fs::path& base) {
    fs::path stem = base;
    if (stem.extension() == ".key" || stem.extension() == ".private") stem.replace_extension();
    const fs::path pub_path = fs::path(stem.string() + ".key");
    const fs::path priv_path = fs::path(stem.string() + ".private");
    auto pub = read_text(pub_path);
    if (!pub) return unexpected(pub.error());
    auto priv = read_text(priv_path);
    if (!priv) return unexpected(priv.error());
    auto key = parse_key_files(zone, *pub, *priv);
    if (!key) return unexpected(stem.filename().string() + key.error());
    return key;
}

Result<fs::path, std::string> write_key_files(const fs::path& dir, dns::NameView zone, const DnssecKey& key,
                                              uint32_t ttl, const KeyTiming& timing) {
    const fs::path base = dir / key_file_base(zone, key);
    const std::string priv = private_key_text(key, timing);
    const std::string pub = public_key_text(zone, key, ttl, timing.created);
    auto bytes = [](const std::string& s) {
        return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    // The public part first: a key pair is found by its .private file, so a crash between the two writes
    // leaves a stray .key that is ignored, never a .private whose pair cannot be read.
    if (auto w = zone::write_file_atomically(fs::path(base.string() + ".key"), bytes(pub), 0644); !w)
        return unexpected(w.error());
    if (auto w = zone::write_file_atomically(fs::path(base.string() + ".private"), bytes(priv), 0600); !w)
        return unexpected(w.error());
    return base;
}

Result<void, std::string> write_key_timing(const fs::path& base, const DnssecKey& key,
                                           const KeyTiming& timing) {
    const std::string priv = private_key_text(key, timing);
    return zone::write_file_atomically(fs::path(base.string() + ".private"),
                                       std::span(reinterpret_cast<const uint8_t*>(priv.data()), priv.size()),
                                       0600);
}

}  // namespace headwater::sign
