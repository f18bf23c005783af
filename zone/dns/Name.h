// Domain names in uncompressed wire form (RFC 1035 §3.1), case preserved, compared case-insensitively.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::dns {

inline constexpr std::size_t kMaxNameLength = 255;  // RFC 1035 §2.3.4, wire octets
inline constexpr std::size_t kMaxLabelLength = 63;

inline uint8_t ascii_lower(uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}

// A non-owning view of a valid, absolute, uncompressed wire-format name. Callers guarantee validity
// (names come from Name, from the zone store, or from WireReader which validates).
class NameView {
  public:
    NameView() = default;  // the root name
    explicit NameView(std::span<const uint8_t> wire) : wire_(wire) {}

    std::span<const uint8_t> wire() const { return wire_.empty() ? root_span() : wire_; }
    std::size_t size() const { return wire().size(); }
    bool is_root() const { return wire()[0] == 0; }
    std::size_t label_count() const;  // the root label is not counted
    // The name with the first `n` labels removed (n <= label_count()).
    NameView parent(std::size_t n = 1) const;
    // First label's bytes (without its length octet).
    std::span<const uint8_t> first_label() const { return wire().subspan(1, wire()[0]); }
    bool is_wildcard() const { return wire()[0] == 1 && wire()[1] == '*'; }

    std::string to_string() const;  // presentation form with a trailing dot, RFC 4343 escapes
    // Lower-cased wire form, usable as a map key (names compare without regard to case, RFC 4343).
    std::string key() const;

  private:
    static std::span<const uint8_t> root_span();
    std::span<const uint8_t> wire_;
};

// Case-insensitive equality (RFC 4343).
bool operator==(NameView a, NameView b);
// RFC 4034 §6.1 canonical order: compare label by label from the most significant (rightmost), each label
// as lower-cased octet strings. Returns <0, 0, >0.
int canonical_compare(NameView a, NameView b);
// True when `name` equals `ancestor` or lies below it.
bool is_subdomain(NameView name, NameView ancestor);
// Appends a sort key for the name made of the first `labels` labels of `name` (all: label_count()) whose
// plain octet order (a key that is a prefix of another first) is the canonical order above: the labels
// from the rightmost, lower-cased, each ended by a 0 octet, octets 0 and 1 inside a label escaped as 1,1
// and 1,2 so that 0 only ends a label. Sorting many names by keys made once beats canonical_compare.
void append_canonical_key(NameView name, std::size_t labels, std::vector<uint8_t>& out);

// An owned name (at most 255 octets).
class Name {
  public:
    Name() : wire_{0} {}  // the root, never "empty"
    static Result<Name, std::string> from_text(std::string_view text, NameView origin = NameView());
    static Result<Name, std::string> from_wire(std::span<const uint8_t> uncompressed);

    NameView view() const { return NameView(wire_); }
    operator NameView() const { return view(); }  // NOLINT(google-explicit-constructor)
    std::span<const uint8_t> wire() const { return wire_; }
    std::string to_string() const { return view().to_string(); }
    std::string key() const { return view().key(); }  // see NameView::key

  private:
    explicit Name(std::vector<uint8_t> wire) : wire_(std::move(wire)) {}
    std::vector<uint8_t> wire_;
};

// The length of the valid uncompressed name starting at data[0], or 0 when it is not one.
std::size_t wire_name_length(std::span<const uint8_t> data);

}  // namespace headwater::dns
