#include "xfr/AxfrSource.h"

#include <cassert>

#include "zone/dns/MessageBuilder.h"

namespace headwater::xfr {

using dns::Section;

AxfrSource::AxfrSource(zone::ZoneVersionPtr version, dns::Question question, uint16_t id,
                       std::size_t max_message)
    : version_(std::move(version)), question_(std::move(question)), id_(id), max_message_(max_message) {}

Step AxfrSource::next(std::vector<uint8_t>& out, std::size_t reserve) {
    const std::size_t n = version_->size();
    const std::size_t end = n + 2;  // opening SOA + records (SOA skipped, so n-1) + closing SOA, as positions
    dns::MessageBuilder mb(out, max_message_);
    mb.header(id_, dns::flag::QR | dns::flag::AA);
    if (messages_ == 0) mb.question(question_.qname, dns::to_u16(question_.qtype), question_.qclass);
    mb.reserve(reserve);

    while (position_ < end) {
        std::size_t index;
        if (position_ == 0 || position_ == n + 1) {
            index = version_->soa_index();  // RFC 5936 §2.2: the first and last record is the SOA
        } else {
            index = position_ - 1;
            if (index == version_->soa_index()) {
                ++position_;
                continue;
            }
        }
        if (mb.push_wire(Section::Answer, version_->record(index).wire) == dns::Pushed::Full) {
            // A record that does not fit an empty message cannot be sent at all; RDATA is at most 65535
            // octets and a record fits 64 KiB unless the owner is long too: treat it as a bug.
            assert(mb.count(Section::Answer) > 0);
            if (mb.count(Section::Answer) == 0) ++position_;
            break;
        }
        ++records_;
        ++position_;
    }
    mb.finish();
    ++messages_;
    return position_ >= end ? Step::Done : Step::More;
}

}  // namespace headwater::xfr
