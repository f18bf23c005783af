#include "zone/dns/Base64.h"

#include <array>

namespace headwater::dns {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xFF;
constexpr uint8_t kPad = 0xFE;

constexpr std::array<uint8_t, 256> make_table() {
    std::array<uint8_t, 256> t{};
    for (auto& v : t) v = kInvalid;
    for (std::size_t i = 0; i < kAlphabet.size(); ++i)
        t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
    t['='] = kPad;
    return t;
}
constexpr std::array<uint8_t, 256> kTable = make_table();

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string describe(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
    return "byte " + std::to_string(byte);
}

}  // namespace

std::string base64_encode(std::span<const uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = data.size() - i;
    if (rest == 1) {
        const uint32_t v = uint32_t{data[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

Result<std::vector<uint8_t>, std::string> base64_decode(std::string_view text) {
    std::vector<uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    uint8_t group[4];
    std::size_t in_group = 0;
    std::size_t padding = 0;  // '=' seen so far (only in the last group)
    std::size_t groups_after_padding = 0;
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
        const char c = text[pos];
        if (is_space(c)) continue;
        const uint8_t v = kTable[static_cast<unsigned char>(c)];
        if (v == kInvalid)
            return unexpected("invalid character " + describe(c) + " at position " + std::to_string(pos));
        if (groups_after_padding > 0)
            return unexpected("data after the '=' padding at position " + std::to_string(pos));
        if (v == kPad) {
            // At most two '=' and only in the last two places of a group (RFC 4648 §4).
            if (in_group < 2) return unexpected("misplaced '=' at position " + std::to_string(pos));
            ++padding;
        } else if (padding > 0) {
            return unexpected("data after the '=' padding at position " + std::to_string(pos));
        }
        group[in_group++] = v;
        if (in_group < 4) continue;
        in_group = 0;
        const uint32_t bits = (uint32_t{group[0]} << 18) | (uint32_t{group[1]} << 12) |
                              (uint32_t{padding >= 2 ? uint8_t{0} : group[2]} << 6) |
                              (padding >= 1 ? uint8_t{0} : group[3]);
        out.push_back(static_cast<uint8_t>(bits >> 16));
        if (padding < 2) out.push_back(static_cast<uint8_t>(bits >> 8));
        if (padding < 1) out.push_back(static_cast<uint8_t>(bits));
        // The bits the padding leaves unused must be zero, else two spellings decode to the same bytes.
        if ((padding == 2 && (group[1] & 0x0F) != 0) || (padding == 1 && (group[2] & 0x03) != 0))
            return unexpected(std::string("non-zero bits before the '=' padding"));
        if (padding > 0) ++groups_after_padding;
    }
    if (in_group != 0)
        return unexpected(std::string("length is not a multiple of 4 characters (missing '=' padding?)"));
    return out;
}

}  // namespace headwater::dns
