#include "zone/dns/CanonicalRdata.h"

#include <algorithm>
#include <cstring>

#include "zone/dns/Name.h"
#include "zone/dns/RdataNames.h"

namespace headwater::dns {

namespace {

// Reads uncompressed RDATA for rdata_names::walk; with an output, copies it with the names lower-cased.
class RdataWalker {
  public:
    RdataWalker(std::span<const uint8_t> in, std::vector<uint8_t>* out) : in_(in), out_(out) {}

    bool fixed(std::size_t n) {
        if (in_.size() - pos_ < n) return false;
        if (out_ != nullptr)
            out_->insert(out_->end(), in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                         in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return true;
    }
    bool name() {
        const std::size_t len = wire_name_length(in_.subspan(pos_));  // 0 for a compression pointer
        if (len == 0) return false;
        // Length octets are at most 63, below 'A': lower-casing the whole wire form touches only letters.
        if (out_ != nullptr)
            for (std::size_t k = 0; k < len; ++k) out_->push_back(ascii_lower(in_[pos_ + k]));
        pos_ += len;
        return true;
    }
    bool string() { return pos_ < in_.size() && fixed(1u + in_[pos_]); }
    bool rest() { return fixed(in_.size() - pos_); }
    int peek() const { return pos_ < in_.size() ? in_[pos_] : -1; }
    bool done() const { return pos_ == in_.size(); }

  private:
    std::span<const uint8_t> in_;
    std::vector<uint8_t>* out_;
    std::size_t pos_ = 0;
};

void append_lowered_names(RRType type, bool lower, std::span<const uint8_t> rdata,
                          std::vector<uint8_t>& out) {
    const std::size_t start = out.size();
    if (lower) {
        RdataWalker w(rdata, &out);
        if (rdata_names::walk(type, w) && w.done()) return;
        out.resize(start);  // does not parse as its type: compare it as it is
    }
    out.insert(out.end(), rdata.begin(), rdata.end());
}

int compare_octets(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    const std::size_t n = std::min(a.size(), b.size());
    if (const int c = n != 0 ? std::memcmp(a.data(), b.data(), n) : 0; c != 0) return c < 0 ? -1 : 1;
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return 0;
}

}  // namespace

bool has_canonical_names(RRType type) {
    return type != RRType::NSEC && rdata_names::has_names(type);
}

bool names_well_formed(RRType type, std::span<const uint8_t> rdata) {
    if (!rdata_names::has_names(type)) return true;
    RdataWalker w(rdata, nullptr);
    return rdata_names::walk(type, w) && w.done();
}

void append_canonical_rdata(RRType type, std::span<const uint8_t> rdata, std::vector<uint8_t>& out) {
    append_lowered_names(type, has_canonical_names(type), rdata, out);
}

void append_case_folded_rdata(RRType type, std::span<const uint8_t> rdata, std::vector<uint8_t>& out) {
    append_lowered_names(type, rdata_names::has_names(type), rdata, out);
}

int compare_canonical_rdata_by_copy(RRType type, std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (!has_canonical_names(type)) return compare_octets(a, b);
    // Rare: the copies are small (one RDATA each).
    thread_local std::vector<uint8_t> ca, cb;
    ca.clear();
    cb.clear();
    append_canonical_rdata(type, a, ca);
    append_canonical_rdata(type, b, cb);
    return compare_octets(ca, cb);
}

}  // namespace headwater::dns
