#include "xfr/IxfrSource.h"

#include <cassert>

namespace headwater::xfr {

using dns::Section;

IxfrSource::IxfrSource(zone::ZoneVersionPtr version, std::vector<zone::Changeset> chain,
                       dns::Question question, uint16_t id, IxfrOptions options)
    : version_(std::move(version)),
      chain_(std::move(chain)),
      question_(std::move(question)),
      id_(id),
      options_(options) {
    assert(chain_.empty() || chain_.back().to() == version_->serial());
}

std::optional<zone::RecordView> IxfrSource::current() const {
    switch (phase_) {
        case Phase::Opening:
        case Phase::Closing:
            return version_->soa();
        case Phase::Steps: {
            const zone::Changeset& cs = chain_[step_];
            const std::size_t removed = cs.removed_count();
            if (in_step_ == 0) return cs.old_soa();
            if (in_step_ <= removed) return cs.removed(in_step_ - 1);
            if (in_step_ == removed + 1) return cs.new_soa();
            return cs.added(in_step_ - removed - 2);
        }
        case Phase::Finished:
            break;
    }
    return std::nullopt;
}

void IxfrSource::advance() {
    switch (phase_) {
        case Phase::Opening:
            // RFC 1995 §2: an up-to-date client gets the current SOA alone.
            phase_ = chain_.empty() ? Phase::Finished : Phase::Steps;
            return;
        case Phase::Steps:
            if (++in_step_ == chain_[step_].record_count()) {
                in_step_ = 0;
                if (++step_ == chain_.size()) phase_ = Phase::Closing;
            }
            return;
        case Phase::Closing:
            phase_ = Phase::Finished;
            return;
        case Phase::Finished:
            return;
    }
}

Step IxfrSource::next(std::vector<uint8_t>& out, std::size_t reserve) {
    dns::MessageBuilder mb(out, options_.max_message);
    mb.header(id_, options_.flags);
    if (messages_ == 0) mb.question(question_.qname, dns::to_u16(question_.qtype), question_.qclass);
    if (options_.edns_payload) mb.set_edns(*options_.edns_payload, false);
    mb.reserve(reserve);

    while (const auto rec = current()) {
        if (options_.max_records != 0 && mb.count(Section::Answer) >= options_.max_records) break;
        if (mb.push_wire(Section::Answer, rec->wire) == dns::Pushed::Full) {
            // A record that does not fit even an empty message cannot be sent: skip it so the transfer
            // ends, and count it (AxfrSource asserts instead; over UDP it is an ordinary "does not fit").
            if (mb.count(Section::Answer) == 0) {
                ++skipped_;
                advance();
            }
            break;
        }
        ++records_;
        advance();
    }
    mb.finish();
    ++messages_;
    return phase_ == Phase::Finished ? Step::Done : Step::More;
}

std::optional<std::vector<uint8_t>> IxfrSource::single_message(zone::ZoneVersionPtr version,
                                                               std::vector<zone::Changeset> chain,
                                                               dns::Question question, uint16_t id,
                                                               IxfrOptions options) {
    IxfrSource src(std::move(version), std::move(chain), std::move(question), id, options);
    std::vector<uint8_t> out;
    if (src.next(out) != Step::Done || src.skipped() != 0) return std::nullopt;
    return out;
}

}  // namespace headwater::xfr
