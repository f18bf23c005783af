#include "zone/dns/Name.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace headwater::dns {

namespace {

// Offsets of each label's length octet, most significant (last) label at the back.
struct LabelOffsets {
    std::array<uint8_t, 128> at{};
    std::size_t count = 0;
};

LabelOffsets label_offsets(std::span<const uint8_t> wire) {
    LabelOffsets out;
    std::size_t pos = 0;
    while (wire[pos] != 0) {
        out.at[out.count++] = static_cast<uint8_t>(pos);
        pos += wire[pos] + 1u;
    }
    return out;
}

int compare_label(const uint8_t* a, const uint8_t* b) {
    const std::size_t la = a[0];
    const std::size_t lb = b[0];
    const std::size_t n = std::min(la, lb);
    for (std::size_t i = 1; i <= n; ++i) {
        const uint8_t ca = ascii_lower(a[i]);
        const uint8_t cb = ascii_lower(b[i]);
        if (ca != cb) return ca < cb ? -1 : 1;
    }
    if (la != lb) return la < lb ? -1 : 1;
    return 0;
}

}  // namespace

std::span<const uint8_t> NameView::root_span() {
    static constexpr uint8_t kRoot[1] = {0};
    return {kRoot, 1};
}

std::size_t NameView::label_count() const {
    auto w = wire();
    std::size_t count = 0;
    for (std::size_t pos = 0; w[pos] != 0; pos += w[pos] + 1u) ++count;
    return count;
}

NameView NameView::parent(std::size_t n) const {
    auto w = wire();
    std::size_t pos = 0;
    for (std::size_t i = 0; i < n && w[pos] != 0; ++i) pos += w[pos] + 1u;
    return NameView(w.subspan(pos));
}

std::string NameView::to_string() const {
    auto w = wire();
    if (w[0] == 0) return ".";
    std::string out;
    out.reserve(w.size() + 8);
    for (std::size_t pos = 0; w[pos] != 0; pos += w[pos] + 1u) {
        for (std::size_t i = 1; i <= w[pos]; ++i) {
            const uint8_t c = w[pos + i];
            if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
                c == '$') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c <= 0x20 || c >= 0x7f) {
                char buf[5];
                std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
    }
    return out;
}

bool operator==(NameView a, NameView b) {
    auto wa = a.wire();
    auto wb = b.wire();
    if (wa.size() != wb.size()) return false;
    // Length octets are < 64 and never letters, so lower-casing every octet is safe.
    for (std::size_t i = 0; i < wa.size(); ++i)
        if (ascii_lower(wa[i]) != ascii_lower(wb[i])) return false;
    return true;
}

int canonical_compare(NameView a, NameView b) {
    auto wa = a.wire();
    auto wb = b.wire();
    const LabelOffsets la = label_offsets(wa);
    const LabelOffsets lb = label_offsets(wb);
    std::size_t ia = la.count;
    std::size_t ib = lb.count;
    while (ia > 0 && ib > 0) {
        --ia;
        --ib;
        const int c = compare_label(&wa[la.at[ia]], &wb[lb.at[ib]]);
        if (c != 0) return c;
    }
    if (ia == ib) return 0;
    return ia < ib ? -1 : 1;  // the name with fewer labels (the ancestor) sorts first
}

bool is_subdomain(NameView name, NameView ancestor) {
    const std::size_t n = name.label_count();
    const std::size_t m = ancestor.label_count();
    if (n < m) return false;
    return name.parent(n - m) == ancestor;
}

void append_canonical_key(NameView name, std::size_t labels, std::vector<uint8_t>& out) {
    const auto w = name.wire();
    const LabelOffsets lo = label_offsets(w);
    for (std::size_t i = std::min(labels, lo.count); i-- > 0;) {
        const uint8_t* label = &w[lo.at[i]];
        for (std::size_t k = 1; k <= label[0]; ++k) {
            const uint8_t c = ascii_lower(label[k]);
            if (c <= 1) {
                out.push_back(1);
                out.push_back(static_cast<uint8_t>(c + 1));
            } else {
                out.push_back(c);
            }
        }
        out.push_back(0);
    }
}

std::size_t wire_name_length(std::span<const uint8_t> data) {
    std::size_t pos = 0;
    while (pos < data.size()) {
        const uint8_t len = data[pos];
        if (len == 0) return pos + 1 <= kMaxNameLength ? pos + 1 : 0;
        if (len > kMaxLabelLength) return 0;
        pos += len + 1u;
        if (pos >= kMaxNameLength) return 0;
    }
    return 0;
}

Result<Name, std::string> Name::from_wire(std::span<const uint8_t> uncompressed) {
    const std::size_t len = wire_name_length(uncompressed);
    if (len == 0 || len != uncompressed.size()) return unexpected(std::string("invalid wire-format name"));
    return Name(std::vector<uint8_t>(uncompressed.begin(), uncompressed.end()));
}

Result<Name, std::string> Name::from_text(std::string_view text, NameView origin) {
    std::vector<uint8_t> wire;
    wire.reserve(text.size() + 2);
    if (text == "@") {
        auto o = origin.wire();
        return Name(std::vector<uint8_t>(o.begin(), o.end()));
    }
    if (text == ".") return Name();
    if (text.empty()) return unexpected(std::string("empty name"));
    std::size_t label_start = 0;
    wire.push_back(0);
    bool absolute = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '.') {
            const std::size_t len = wire.size() - label_start - 1;
            if (len == 0) return unexpected("empty label in \"" + std::string(text) + "\"");
            if (len > kMaxLabelLength)
                return unexpected("label longer than 63 octets in \"" + std::string(text) + "\"");
            wire[label_start] = static_cast<uint8_t>(len);
            if (i + 1 == text.size()) {
                absolute = true;
                break;
            }
            label_start = wire.size();
            wire.push_back(0);
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= text.size()) return unexpected("dangling escape in \"" + std::string(text) + "\"");
            if (i + 3 < text.size() + 0 && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
                const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                if (v > 255) return unexpected("bad escape in \"" + std::string(text) + "\"");
                wire.push_back(static_cast<uint8_t>(v));
                i += 3;
                continue;
            }
            c = text[++i];
        }
        wire.push_back(static_cast<uint8_t>(c));
    }
    if (!absolute) {
        const std::size_t len = wire.size() - label_start - 1;
        if (len == 0) return unexpected("empty label in \"" + std::string(text) + "\"");
        if (len > kMaxLabelLength)
            return unexpected("label longer than 63 octets in \"" + std::string(text) + "\"");
        wire[label_start] = static_cast<uint8_t>(len);
        auto o = origin.wire();
        wire.insert(wire.end(), o.begin(), o.end());
    } else {
        wire.push_back(0);
    }
    if (wire.size() > kMaxNameLength)
        return unexpected("name longer than 255 octets: \"" + std::string(text) + "\"");
    return Name(std::move(wire));
}

std::string NameView::key() const {
    const auto w = wire();
    std::string k(w.begin(), w.end());
    for (auto& c : k) c = static_cast<char>(ascii_lower(static_cast<uint8_t>(c)));
    return k;
}

}  // namespace headwater::dns
