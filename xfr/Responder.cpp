#include "xfr/Responder.h"

#include <algorithm>

#include "zone/answer/QueryAnswer.h"
#include "zone/dns/MessageBuilder.h"
#include "zone/dns/WireWriter.h"

namespace headwater::xfr {

using dns::Rcode;
using dns::RRType;
using dns::Section;
using zone::RecordView;
using zone::ZoneVersion;

namespace {

constexpr uint16_t kOurUdpPayload = 1232;

uint16_t response_flags(const dns::Header& q) {
    // Echo opcode and RD (RFC 1035 §4.1.1); we never recurse, so RA stays clear.
    return static_cast<uint16_t>(dns::flag::QR | (q.flags & 0x7800) | (q.flags & dns::flag::RD));
}

// A transfer request as its question and peer describe it, before any rule looked at it.
TransferEvent new_event(const dns::Question& question, const Peer& peer) {
    TransferEvent e;
    e.zone = question.qname.to_string();
    e.type = question.qtype;
    e.address = peer.address;
    e.port = peer.port;
    e.transport = peer.transport;
    e.ktls = peer.ktls;
    return e;
}

// A transfer request whose TSIG did not verify (RFC 8945 §5.2), answered by tsig::error_answer. The key
// is named as the request names it: it did not verify, so no ACL rule saw it.
TransferEvent tsig_refusal(const dns::Question& question, const Peer& peer,
                           const tsig::RequestVerification& v) {
    TransferEvent e = new_event(question, peer);
    e.key = v.key_text().empty() ? "-" : v.key_text();
    e.outcome = TransferOutcome::TsigFailed;
    e.rcode = tsig::error_rcode(v.status);
    e.detail = "TSIG " + std::string(tsig::to_string(v.status)) + ": " + v.reason;
    return e;
}

}  // namespace

std::vector<uint8_t> error_response(const dns::Header& query, const dns::Question* question, Rcode rcode,
                                    bool edns, std::size_t reserve) {
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, dns::kMaxTcpMessage);
    mb.reserve(reserve);
    mb.header(query.id, response_flags(query));
    if (question) mb.question(question->qname, dns::to_u16(question->qtype), question->qclass);
    if (edns) mb.set_edns(kOurUdpPayload, false);
    mb.set_rcode(rcode);
    mb.finish();
    return out;
}

// What one request carries through the rules: its TSIG state, and the time.
struct Responder::Context {
    tsig::RequestVerification tsig;
    uint64_t now = 0;
    std::shared_ptr<const Policy> policy;  // one set of ACLs, keys and options for the whole request

    std::size_t reserve() const { return tsig.signer ? tsig.signer->reserve_size() : 0; }
    // RFC 8945 §5.3: the answer to a verified request is signed, whatever its rcode.
    std::vector<uint8_t> seal(std::vector<uint8_t> message) {
        if (tsig.verified()) tsig.signer->sign(message, 0, now);
        return message;
    }
    std::string key() const { return tsig.verified() ? tsig.key->name().to_string() : std::string("-"); }
};

Responder::Responder(const zone::ZoneStore& store, std::unordered_map<std::string, std::vector<AclRule>> acls,
                     std::shared_ptr<const tsig::KeyStore> keys, ResponderOptions options)
    : store_(store) {
    set_policy(std::move(acls), std::move(keys), std::move(options));
}

void Responder::set_policy(std::unordered_map<std::string, std::vector<AclRule>> acls,
                           std::shared_ptr<const tsig::KeyStore> keys, ResponderOptions options) {
    if (!keys) keys = std::make_shared<const tsig::KeyStore>();
    policy_.store(
        std::make_shared<const Policy>(Policy{std::move(keys), std::move(acls), std::move(options)}));
}

Response Responder::respond(std::span<const uint8_t> query, const Peer& peer, uint64_t now,
                            const TransferAdmission& admit, bool may_defer) const {
    Response r;
    auto parsed = dns::Message::parse(query);
    if (!parsed) {
        // RFC 1035 §4.1.1: FORMERR when we can read enough to answer; with no header there is nothing to
        // echo, so stay silent. Never answer something that claims to be a response (no loops).
        auto header = dns::Message::parse_header(query);
        if (!header || header->qr()) return r;
        r.kind = Response::Kind::Message;
        r.message = error_response(*header, nullptr, Rcode::FormErr, false);
        return r;
    }
    const dns::Message& q = parsed.value();
    if (q.header().qr()) return r;

    r.kind = Response::Kind::Message;
    const bool edns = q.edns().has_value();
    Context ctx;
    ctx.now = now;
    ctx.policy = policy_.load();
    const dns::Question* question = q.question() ? &*q.question() : nullptr;
    if (q.tsig()) {
        // RFC 8945 §5.2: verify before anything else looks at the request.
        ctx.tsig = tsig::verify_request(query, q, *ctx.policy->keys, now);
        if (!ctx.tsig.verified()) {
            r.message = tsig::error_answer(q, ctx.tsig, now);
            if (question && (question->qtype == RRType::AXFR || question->qtype == RRType::IXFR))
                r.event = tsig_refusal(*question, peer, ctx.tsig);
            if (q.header().opcode() == dns::Opcode::Update && ctx.policy->options.on_update) {
                // RFC 8945 §5.2: NOTAUTH with the TSIG error; logged like every refused update.
                UpdateEvent e;
                e.zone = question ? question->qname.to_string() : "-";
                e.address = peer.address.to_string();
                e.port = peer.port;
                e.transport = peer.transport;
                e.key = ctx.tsig.key_text().empty() ? "-" : ctx.tsig.key_text();
                e.rcode = Rcode::NotAuth;
                e.reason = "TSIG " + std::string(tsig::to_string(ctx.tsig.status)) + ": " + ctx.tsig.reason;
                ctx.policy->options.on_update(e);
            }
            return r;
        }
    }
    if (q.header().opcode() == dns::Opcode::Update) return answer_update(q, peer, ctx, may_defer);
    if (q.header().opcode() != dns::Opcode::Query) {
        r.message = ctx.seal(error_response(q.header(), question, Rcode::NotImp, edns, ctx.reserve()));
        return r;
    }
    if (!question) {
        r.message = ctx.seal(error_response(q.header(), nullptr, Rcode::FormErr, edns, ctx.reserve()));
        return r;
    }
    if (edns && q.edns()->version != 0) {
        // RFC 6891 §6.1.3: unsupported EDNS version -> BADVERS (extended rcode 16) with our version 0.
        r.message = ctx.seal(error_response(q.header(), question, Rcode::BadVers, true, ctx.reserve()));
        return r;
    }
    const RRType qtype = question->qtype;
    if (qtype == RRType::AXFR || qtype == RRType::IXFR) return answer_transfer(q, peer, ctx, admit);
    if (qtype == RRType::OPT || qtype == RRType::TSIG || qtype == RRType::TKEY || qtype == RRType::MAILA ||
        qtype == RRType::MAILB) {
        r.message = ctx.seal(error_response(q.header(), question, Rcode::FormErr, edns, ctx.reserve()));
        return r;
    }
    return answer_query(q, peer, ctx);
}

// One AXFR/IXFR request on its way through the steps of answer_transfer.
struct Responder::TransferRequest {
    TransferRequest(const dns::Message& query, const Peer& from, Context& context)
        : q(query), question(*query.question()), peer(from), ctx(context), edns(query.edns().has_value()) {
        r.kind = Response::Kind::Message;
        r.event = new_event(question, peer);
        r.event->key = ctx.key();
    }

    const dns::Message& q;
    const dns::Question& question;
    const Peer& peer;
    Context& ctx;
    const bool edns;
    Response r;     // r.event: the transfer so far
    FaultPlan lab;  // lab mode: what this request is given on purpose
    // Set by check_transfer once the request may have the zone.
    std::shared_ptr<zone::Zone> zone;
    zone::ZoneVersionPtr version;
    const zone::Journal* journal = nullptr;

    TransferEvent& event() { return *r.event; }
    uint16_t answer_flags() const {
        return static_cast<uint16_t>(response_flags(q.header()) | dns::flag::AA);
    }
    // The UDP answer's size limit: the client's EDNS size up to our own cap, 512 without EDNS.
    std::size_t udp_limit(uint16_t max_udp_payload) const {
        return edns ? std::min(q.edns()->udp_size, max_udp_payload) : 512;
    }
};

Response Responder::answer_transfer(const dns::Message& q, const Peer& peer, Context& ctx,
                                    const TransferAdmission& admit) const {
    TransferRequest t(q, peer, ctx);
    if (auto checked = check_transfer(t); !checked) return refuse(t, checked.error());
    if (ctx.policy->options.lab) {
        t.lab = lab_plan(ctx, t.zone->name_text(), peer, ctx.key());
        if (!t.lab.empty()) {
            t.r.lab = t.lab.describe();
            t.event().detail = t.r.lab;
            if (auto r = lab_refusal(t)) return std::move(*r);
        }
    }
    if (t.question.qtype == RRType::AXFR) return start_axfr(t, admit);
    return answer_ixfr(t, admit);
}

// Whether the request may have the zone at all: the transport, the zone, then the ACL and the TSIG key,
// before anything costs a resource (docs/interop.md: BIND once let refused clients use its quota).
Result<void, Responder::Refusal> Responder::check_transfer(TransferRequest& t) const {
    const dns::Question& question = t.question;
    // RFC 5936 §4.2: AXFR is a TCP-only exchange.
    if (question.qtype == RRType::AXFR && t.peer.transport == Transport::Udp)
        return unexpected(Refusal{TransferOutcome::FormErr, Rcode::FormErr, "AXFR over UDP"});
    if (question.qclass != dns::to_u16(dns::RRClass::IN))
        return unexpected(Refusal{TransferOutcome::NotAuth, Rcode::NotAuth, "class not served"});
    // RFC 5936 §2.2.1: the question names the zone apex; anything else is not a zone of ours.
    t.zone = store_.find_exact(question.qname);
    if (!t.zone)
        return unexpected(Refusal{TransferOutcome::NotAuth, Rcode::NotAuth, "not a zone served here"});
    t.event().zone = t.zone->name_text();

    // RFC 5936 §6: the ACL decides, on the address, the transport, the client certificate and the key. The
    // key counts only once its MAC and time verified (RFC 8945 §5.2); an unsigned request has none.
    static const std::vector<AclRule> no_rules;
    const auto& acls = t.ctx.policy->acls;
    auto it = acls.find(t.zone->settings().name.key());
    const auto& rules = it == acls.end() ? no_rules : it->second;
    const std::optional<std::string> key =
        t.ctx.tsig.verified() ? std::optional<std::string>(t.ctx.tsig.key->name().to_string()) : std::nullopt;
    const AclDecision decision = check_acl(rules, t.peer, key);
    if (!decision.allowed)
        return unexpected(Refusal{TransferOutcome::Refused, Rcode::Refused, decision.reason});
    t.event().rule = decision.rule->name;

    t.version = t.zone->current();
    if (!t.version)
        return unexpected(Refusal{TransferOutcome::NotLoaded, Rcode::ServFail, "zone not loaded"});
    t.journal = t.zone->journal();
    return {};
}

// IXFR (RFC 1995): the decision is a pure function of what we know (TransferPlan); here it is carried
// out.
Response Responder::answer_ixfr(TransferRequest& t, const TransferAdmission& admit) const {
    const IxfrRequest req = ixfr_request(t);
    t.event().client_serial = req.client_serial;
    switch (plan_ixfr(req).kind) {
        case TransferPlan::Kind::FormErr:
            return refuse(t, {TransferOutcome::FormErr, Rcode::FormErr,
                              "IXFR without an SOA in the authority section"});
        case TransferPlan::Kind::SoaOnly:
            // Equal or newer (RFC 1982): the client already holds what we serve.
            t.r.up_to_date = req.client_serial && !(*req.client_serial < req.served_serial);
            return answer_soa_only(t);
        case TransferPlan::Kind::Axfr:
            // RFC 1995 §2: over UDP, the SOA alone tells the client to come back over TCP.
            return req.udp ? answer_soa_only(t) : start_axfr(t, admit);
        case TransferPlan::Kind::Ixfr:
            break;
    }
    auto chain = t.journal->chain(*req.client_serial, req.served_serial);
    if (!chain) {
        // The history went away meanwhile: still an answer.
        return req.udp ? answer_soa_only(t) : start_axfr(t, admit);
    }
    if (t.lab.ixfr_as_axfr) return req.udp ? answer_soa_only(t) : start_axfr(t, admit);
    if (t.lab.ixfr_condensed && chain->size() > 1) {
        // RFC 1995 §4 lets a server condense the history into one difference sequence.
        if (auto one = zone::condense(*chain)) {
            std::vector<zone::Changeset> condensed;
            condensed.push_back(std::move(*one));
            *chain = std::move(condensed);
        }
    }
    if (req.udp) return answer_ixfr_udp(t, std::move(*chain), req.udp_limit);
    IxfrOptions opts;
    opts.flags = t.answer_flags();
    opts.max_records = t.lab.records.value_or(0);
    return start_stream(
        t, std::make_unique<IxfrSource>(t.version, std::move(*chain), t.question, t.q.header().id, opts),
        TransferForm::Ixfr, admit);
}

IxfrRequest Responder::ixfr_request(const TransferRequest& t) const {
    IxfrRequest req;
    req.udp = t.peer.transport == Transport::Udp;
    req.client_serial = ixfr_client_serial(t.q);
    req.served_serial = t.version->serial();
    if (t.journal && req.client_serial)
        req.history = t.journal->find_chain(*req.client_serial, req.served_serial);
    req.zone_bytes = t.version->wire_bytes();
    const ResponderOptions& options = t.ctx.policy->options;
    const auto ratio = options.max_ixfr_ratio.find(t.zone->settings().name.key());
    if (ratio != options.max_ixfr_ratio.end()) req.max_ixfr_ratio = ratio->second;
    req.udp_limit = t.udp_limit(options.max_udp_payload);
    return req;
}

// RFC 1995 §2: over UDP the increments go in one message when they fit; otherwise the SOA alone.
Response Responder::answer_ixfr_udp(TransferRequest& t, std::vector<zone::Changeset> chain,
                                    std::size_t udp_limit) const {
    IxfrOptions opts;
    opts.max_message = udp_limit - t.ctx.reserve();
    if (t.edns) opts.edns_payload = kOurUdpPayload;
    opts.flags = t.answer_flags();
    auto one = IxfrSource::single_message(t.version, std::move(chain), t.question, t.q.header().id, opts);
    if (!one) return answer_soa_only(t);
    t.event().form = TransferForm::Ixfr;
    t.event().served_serial = t.version->serial();
    t.r.message = t.ctx.seal(std::move(*one));
    return std::move(t.r);
}

// The SOA-only answer: an up-to-date client, or an IXFR over UDP that does not fit (RFC 1995 §2).
Response Responder::answer_soa_only(TransferRequest& t) const {
    std::vector<uint8_t> out;
    const std::size_t limit = t.peer.transport != Transport::Udp
                                  ? dns::kMaxTcpMessage
                                  : t.udp_limit(t.ctx.policy->options.max_udp_payload);
    dns::MessageBuilder mb(out, limit);
    mb.header(t.q.header().id, t.answer_flags());
    mb.question(t.question.qname, dns::to_u16(t.question.qtype), t.question.qclass);
    if (t.edns) mb.set_edns(kOurUdpPayload, false);
    mb.reserve(t.ctx.reserve());
    (void)mb.push_wire(Section::Answer, t.version->soa().wire);
    mb.finish();
    t.event().form = TransferForm::SoaOnly;
    t.event().served_serial = t.version->serial();
    t.r.message = t.ctx.seal(std::move(out));
    return std::move(t.r);
}

Response Responder::start_axfr(TransferRequest& t, const TransferAdmission& admit) const {
    auto source = std::make_unique<AxfrSource>(t.version, t.question, t.q.header().id);
    if (t.lab.records) source->limit_records(*t.lab.records);
    return start_stream(t, std::move(source), TransferForm::Axfr, admit);
}

Response Responder::start_stream(TransferRequest& t, TransferSession::Source source, TransferForm form,
                                 const TransferAdmission& admit) const {
    // The last check before a stream starts: ACL and TSIG have passed, so only allowed peers take a
    // slot. Past the limit: SERVFAIL, a temporary condition the secondary retries (as BIND does).
    if (admit) {
        if (std::string why = admit(t.peer); !why.empty())
            return refuse(t, {TransferOutcome::NotAdmitted, Rcode::ServFail, std::move(why)});
    }
    // The zone as the version names it: what the stream's SOA records say.
    t.event().zone = t.version->apex().to_string();
    t.event().form = form;
    t.event().served_serial = t.version->serial();
    t.r.kind = Response::Kind::Transfer;
    t.r.transfer = std::make_unique<TransferSession>(std::move(source), std::move(t.ctx.tsig.signer));
    if (!t.lab.empty()) t.r.transfer->set_faults(t.lab);
    return std::move(t.r);
}

// The error answer to a transfer request, and the event that says why.
Response Responder::refuse(TransferRequest& t, Refusal why) {
    t.r.message = t.ctx.seal(error_response(t.q.header(), &t.question, why.rcode, t.edns, t.ctx.reserve()));
    t.event().outcome = why.outcome;
    t.event().rcode = why.rcode;
    t.event().detail = std::move(why.reason);
    return std::move(t.r);
}

Response Responder::answer_query(const dns::Message& q, const Peer& peer, Context& ctx) const {
    Response r;
    r.kind = Response::Kind::Message;
    const dns::Question& question = *q.question();
    const bool edns = q.edns().has_value();

    auto zone = question.qclass == dns::to_u16(dns::RRClass::IN) ? store_.find_best(question.qname) : nullptr;
    if (!zone) {
        r.message = ctx.seal(error_response(q.header(), &question, Rcode::Refused, edns, ctx.reserve()));
        return r;
    }
    zone::ZoneVersionPtr version = zone->current();
    if (!version) {
        r.message = ctx.seal(error_response(q.header(), &question, Rcode::ServFail, edns, ctx.reserve()));
        return r;
    }
    const ZoneVersion& v = *version;
    const bool apex_soa = question.qtype == RRType::SOA && question.qname.view() == v.apex();
    if (apex_soa) {
        r.soa_query = true;
        r.zone = zone->name_text();
        r.key = ctx.key();
        r.transport = peer.transport;
        if (ctx.policy->options.lab && lab_soa(q, peer, ctx, r)) return r;
    }

    std::size_t limit = dns::kMaxTcpMessage;
    if (peer.transport == Transport::Udp)
        limit = edns ? std::clamp<std::size_t>(q.edns()->udp_size, 512, ctx.policy->options.max_udp_payload)
                     : 512;

    // RFC 3225 §3: the DO bit is copied into the answer's OPT.
    const bool dnssec_ok = edns && q.edns()->dnssec_ok;
    std::vector<uint8_t> out;
    dns::MessageBuilder mb(out, limit);
    mb.header(q.header().id, response_flags(q.header()));
    mb.question(question.qname, dns::to_u16(question.qtype), question.qclass);
    if (edns) mb.set_edns(kOurUdpPayload, dnssec_ok);
    mb.reserve(ctx.reserve());

    if (apex_soa && !(dnssec_ok && v.is_signed())) {
        // What secondaries poll, thousands of times a second: the apex is never below a cut or a DNAME
        // and holds exactly one SOA (ZoneBuilder), so QueryAnswer would find just this record.
        mb.add_flags(dns::flag::AA);
        // The usual question spells the apex as the zone does: then the record is rendered already.
        const auto qwire = question.qname.wire();
        const auto awire = v.apex().wire();
        const RecordView soa = v.soa();
        const dns::Pushed pushed = std::equal(qwire.begin(), qwire.end(), awire.begin(), awire.end())
                                       ? mb.push_rendered(Section::Answer, v.soa_answer(), 1)
                                       : mb.push(Section::Answer, soa.owner, dns::to_u16(RRType::SOA),
                                                 soa.rclass, soa.ttl, soa.rdata);
        if (pushed == dns::Pushed::Full) mb.add_flags(dns::flag::TC);
    } else {
        answer::QueryAnswer answer(v, mb, dnssec_ok);
        if (answer.build(question.qname, question.qtype)) mb.add_flags(dns::flag::TC);
    }
    mb.finish();
    r.message = ctx.seal(std::move(out));
    return r;
}

FaultPlan Responder::lab_plan(const Context& ctx, std::string_view zone, const Peer& peer,
                              const std::string& key) {
    return ctx.policy->options.lab->current()->plan(zone, peer.address, key);
}

std::optional<Response> Responder::lab_refusal(TransferRequest& t) const {
    if (t.lab.rcode && (!t.lab.rcode_only || *t.lab.rcode_only == t.question.qtype))
        return refuse(t, {TransferOutcome::LabRefused, *t.lab.rcode, t.lab.describe()});
    if (!t.lab.badtime) return std::nullopt;
    if (!t.ctx.tsig.verified()) {
        // BADTIME is a TSIG error (RFC 8945 §5.2.3): an unsigned request has nothing to answer it with.
        t.event().detail += " (not applied: the request is unsigned)";
        return std::nullopt;
    }
    // As if our clock were a day ahead: the answer is signed, with our time in Other Data (§5.2.3).
    constexpr uint64_t kSkew = 86400;
    t.ctx.tsig.status = tsig::RequestStatus::BadTime;
    t.ctx.tsig.signer->claim_badtime(t.ctx.now, t.ctx.now + kSkew);
    t.r.message = tsig::error_answer(t.q, t.ctx.tsig, t.ctx.now);
    t.event().outcome = TransferOutcome::LabRefused;
    t.event().rcode = Rcode::NotAuth;
    return std::move(t.r);
}

bool Responder::lab_soa(const dns::Message& q, const Peer& peer, Context& ctx, Response& r) const {
    const FaultPlan plan = lab_plan(ctx, r.zone, peer, r.key);
    // The event names the fault that acted, not every fault set for the peer (plan.describe()).
    if (plan.drop_soa) {
        r.lab = "lab: drop-soa";
        r.kind = Response::Kind::Drop;
        return true;
    }
    if (!plan.soa_tc || peer.transport != Transport::Udp) return false;
    // RFC 1035 §4.1.1: TC says the answer did not fit; a secondary should ask again over TCP (RFC 7766).
    r.lab = "lab: soa-tc";
    r.message =
        error_response(q.header(), &*q.question(), Rcode::NoError, q.edns().has_value(), ctx.reserve());
    dns::WireWriter(r.message).patch_u16(
        2, static_cast<uint16_t>(response_flags(q.header()) | dns::flag::AA | dns::flag::TC));
    r.message = ctx.seal(std::move(r.message));
    return true;
}

// An update's answer once its journal entry is durable: the change served, the answer sealed (the TSIG
// signer signs one message, so only then), and the log and NOTIFY told.
class Responder::UpdateAnswer final : public DeferredAnswer {
  public:
    UpdateAnswer(std::shared_ptr<zone::Zone> zone, zone::PendingUpdate pending, Context ctx,
                 const dns::Header& header, const dns::Question* question, bool edns, UpdateEvent event)
        : zone_(std::move(zone)),
          pending_(std::move(pending)),
          ctx_(std::move(ctx)),
          header_(header),
          question_(question != nullptr ? std::optional<dns::Question>(*question) : std::nullopt),
          edns_(edns),
          event_(std::move(event)) {}

    Result<bool, std::string> sync_unless_running() override { return zone_->sync_update(pending_, false); }
    Result<void, std::string> sync() override {
        if (auto r = zone_->sync_update(pending_, true); !r) return unexpected(r.error());
        return {};
    }
    std::vector<uint8_t> finish(const Result<void, std::string>& synced) override {
        const auto served = zone_->finish_update(
            pending_, synced, zone::Clock::from_time_t(static_cast<std::time_t>(ctx_.now)));
        if (!served) {
            event_.rcode = Rcode::ServFail;
            event_.reason = served.error();
            event_.changed = false;
            event_.serial.reset();
        } else if (!served->empty()) {
            event_.reason += (event_.reason.empty() ? "" : "; ") + *served;
        }
        auto message = ctx_.seal(
            error_response(header_, question_ ? &*question_ : nullptr, event_.rcode, edns_, ctx_.reserve()));
        const ResponderOptions& options = ctx_.policy->options;
        if (options.on_update) options.on_update(event_);
        if (event_.changed && options.on_zone_changed) options.on_zone_changed(*zone_);
        return message;
    }

  private:
    std::shared_ptr<zone::Zone> zone_;
    zone::PendingUpdate pending_;
    Context ctx_;
    dns::Header header_;
    std::optional<dns::Question> question_;
    bool edns_;
    UpdateEvent event_;
};

Response Responder::answer_update(const dns::Message& q, const Peer& peer, Context& ctx,
                                  bool may_defer) const {
    Response r;
    r.kind = Response::Kind::Message;
    const dns::Question* question = q.question() ? &*q.question() : nullptr;
    UpdateEvent e;
    e.zone = question ? question->qname.to_string() : "-";
    e.address = peer.address.to_string();
    e.port = peer.port;
    e.transport = peer.transport;
    e.key = ctx.key();
    for (const auto& rec : q.records()) {
        if (rec.section == Section::Answer) ++e.prerequisites;
        if (rec.section == Section::Authority) ++e.updates;
    }
    zone::PendingUpdate pending;
    std::shared_ptr<zone::Zone> updated;
    auto outcome = [&]() -> Result<std::optional<dns::Serial>, UpdateFailure> {
        // RFC 2136 §3.1.1: one zone, of type SOA; a zone not served here is NOTAUTH.
        if (!question || question->qtype != RRType::SOA)
            return unexpected(UpdateFailure{Rcode::FormErr, "the zone section must hold one SOA question"});
        auto zone =
            question->qclass == dns::to_u16(dns::RRClass::IN) ? store_.find_exact(question->qname) : nullptr;
        if (!zone) return unexpected(UpdateFailure{Rcode::NotAuth, "not a zone served here"});
        e.zone = zone->name_text();
        updated = zone;
        return run_update(q, peer, ctx, *zone, e, may_defer ? &pending : nullptr);
    }();
    if (outcome) {
        e.rcode = Rcode::NoError;
        e.serial = *outcome;
    } else {
        e.rcode = outcome.error().rcode;
        e.reason = outcome.error().reason;
    }
    // Answered once the journal's entry is durable: this update's, or, for an answer that changed nothing
    // (a prerequisite that failed, say), the earlier update's it was computed from (RFC 2136 §3.5).
    if (pending.ticket != 0) {
        r.deferred = std::make_shared<UpdateAnswer>(std::move(updated), std::move(pending), std::move(ctx),
                                                    q.header(), question, q.edns().has_value(), std::move(e));
        return r;
    }
    r.message = ctx.seal(error_response(q.header(), question, e.rcode, q.edns().has_value(), ctx.reserve()));
    if (ctx.policy->options.on_update) ctx.policy->options.on_update(e);
    return r;
}

Result<std::optional<dns::Serial>, UpdateFailure> Responder::run_update(const dns::Message& q,
                                                                        const Peer& peer, Context& ctx,
                                                                        zone::Zone& zone, UpdateEvent& event,
                                                                        zone::PendingUpdate* deferred) const {
    auto request = read_update(q);
    if (!request) return unexpected(request.error());
    static const std::vector<AclRule> no_rules;
    const auto it = ctx.policy->options.update_acls.find(zone.settings().name.key());
    const auto& rules = it == ctx.policy->options.update_acls.end() ? no_rules : it->second;
    const std::optional<std::string> key =
        ctx.tsig.verified() ? std::optional<std::string>(ctx.tsig.key->name().to_string()) : std::nullopt;
    const dns::NameView apex = zone.settings().name.view();
    // Who: the address and key factors, and the names and types the matching rule covers (§3.3). Checked
    // before the prerequisites, so a client that may not update learns nothing of the zone's content.
    const UpdateDecision who = authorize_update(rules, peer, key, apex, request->updates);
    if (who.rule) event.rule = who.rule->name;
    if (!who.allowed) return unexpected(UpdateFailure{Rcode::Refused, who.reason});
    if (zone.settings().signer) {
        // The signer owns the DNSSEC records of a zone it signs (its file may not hold them either).
        for (const auto& u : request->updates) {
            const RRType t = u.view().type;
            if (dns::is_signer_type(t))
                return unexpected(UpdateFailure{
                    Rcode::Refused,
                    "the zone is signed here: " + dns::to_string(t) + " records are the signer's"});
        }
    }
    std::optional<UpdateFailure> failure;
    const auto result = zone.apply_change(
        zone::Clock::from_time_t(static_cast<std::time_t>(ctx.now)),
        [&](const ZoneVersion& base, std::optional<dns::Serial> serial,
            std::optional<zone::Changeset>& changes) -> Result<zone::ZoneVersionPtr, std::string> {
            auto checked = check_prerequisites(base, request->prerequisites);
            if (checked) checked = prescan_updates(apex, request->updates);
            if (!checked) {
                failure = checked.error();
                return unexpected(failure->reason);
            }
            auto next = apply_updates(base, request->updates, serial, &changes);
            if (!next) {
                failure = next.error();
                return unexpected(failure->reason);
            }
            return *next;
        },
        deferred);
    if (result.outcome == zone::ReloadOutcome::Error) {
        if (failure) return unexpected(*failure);
        return unexpected(UpdateFailure{Rcode::ServFail, result.error});
    }
    event.changed = result.outcome == zone::ReloadOutcome::Updated;
    if (!result.note.empty()) event.reason = result.note;
    // A deferred answer tells NOTIFY once the version is served (UpdateAnswer::finish).
    const bool served = deferred == nullptr || deferred->ticket == 0;
    if (served && event.changed && ctx.policy->options.on_zone_changed)
        ctx.policy->options.on_zone_changed(zone);
    return result.serial;
}

}  // namespace headwater::xfr
