#include "xfr/Responder.h"

#include <algorithm>

#include "zone/answer/QueryAnswer.h"
#include "zone/dns/MessageBuilder.h"

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
    : store_(store), keys_(std::move(keys)), acls_(std::move(acls)), options_(std::move(options)) {
    if (!keys_) keys_ = std::make_shared<const tsig::KeyStore>();
}

Response Responder::respond(std::span<const uint8_t> query, const Peer& peer, uint64_t now,
                            const TransferAdmission& admit) const {
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
    const dns::Question* question = q.question() ? &*q.question() : nullptr;
    if (q.tsig()) {
        // RFC 8945 §5.2: verify before anything else looks at the request.
        ctx.tsig = tsig::verify_request(query, q, *keys_, now);
        if (!ctx.tsig.verified()) {
            r.message = tsig::error_answer(q, ctx.tsig, now);
            if (question && (question->qtype == RRType::AXFR || question->qtype == RRType::IXFR))
                r.refusal = TransferRefusal{
                    question->qname.to_string(), question->qtype == RRType::AXFR ? "AXFR" : "IXFR",
                    ctx.tsig.key_text().empty() ? "-" : ctx.tsig.key_text(),
                    tsig::error_rcode(ctx.tsig.status),
                    "TSIG " + std::string(tsig::to_string(ctx.tsig.status)) + ": " + ctx.tsig.reason};
            return r;
        }
    }
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

Response Responder::answer_transfer(const dns::Message& q, const Peer& peer, Context& ctx,
                                    const TransferAdmission& admit) const {
    Response r;
    r.kind = Response::Kind::Message;
    const dns::Question& question = *q.question();
    const bool edns = q.edns().has_value();
    const bool is_axfr = question.qtype == RRType::AXFR;
    const std::string type = is_axfr ? "AXFR" : "IXFR";

    auto refuse = [&](Rcode rcode, std::string zone_name, std::string reason) {
        r.message = ctx.seal(error_response(q.header(), &question, rcode, edns, ctx.reserve()));
        r.refusal = TransferRefusal{std::move(zone_name), type, ctx.key(), rcode, std::move(reason)};
        return std::move(r);
    };

    // RFC 5936 §4.2: AXFR is a TCP-only exchange.
    if (is_axfr && peer.transport == Transport::Udp)
        return refuse(Rcode::FormErr, question.qname.to_string(), "AXFR over UDP");
    if (question.qclass != dns::to_u16(dns::RRClass::IN))
        return refuse(Rcode::NotAuth, question.qname.to_string(), "class not served");
    // RFC 5936 §2.2.1: the question names the zone apex; anything else is not a zone of ours.
    auto zone = store_.find_exact(question.qname);
    if (!zone) return refuse(Rcode::NotAuth, question.qname.to_string(), "not a zone served here");
    const std::string& zone_name = zone->name_text();

    // ACL before anything else costs a resource (docs/interop.md: BIND once let refused clients use its
    // quota).
    static const std::vector<AclRule> no_rules;
    auto it = acls_.find(zone->settings().name.key());
    const auto& rules = it == acls_.end() ? no_rules : it->second;
    // The key counts only once its MAC and time verified (RFC 8945 §5.2); an unsigned request has none.
    const std::optional<std::string> key =
        ctx.tsig.verified() ? std::optional<std::string>(ctx.tsig.key->name().to_string()) : std::nullopt;
    AclDecision decision = check_acl(rules, peer.address, key);
    if (!decision.allowed) return refuse(Rcode::Refused, zone_name, decision.reason);

    r.zone = zone_name;
    zone::ZoneVersionPtr version = zone->current();
    if (!version) return refuse(Rcode::ServFail, zone_name, "zone not loaded");

    // The SOA-only answer: an up-to-date client, or an IXFR over UDP that does not fit (RFC 1995 §2).
    auto soa_only = [&]() {
        std::vector<uint8_t> out;
        const std::size_t limit = peer.transport == Transport::Tcp
                                      ? dns::kMaxTcpMessage
                                      : (edns ? std::min(q.edns()->udp_size, options_.max_udp_payload) : 512);
        dns::MessageBuilder mb(out, limit);
        mb.header(q.header().id, static_cast<uint16_t>(response_flags(q.header()) | dns::flag::AA));
        mb.question(question.qname, dns::to_u16(question.qtype), question.qclass);
        if (edns) mb.set_edns(kOurUdpPayload, false);
        mb.reserve(ctx.reserve());
        (void)mb.push_wire(Section::Answer, version->soa().wire);
        mb.finish();
        r.message = ctx.seal(std::move(out));
        return std::move(r);
    };
    auto stream = [&](TransferSession::Source source, std::string kind) {
        // The last check before a stream starts: ACL and TSIG have passed, so only allowed peers count.
        if (admit) {
            if (std::string why = admit(peer); !why.empty()) return refuse(Rcode::ServFail, zone_name, why);
        }
        r.kind = Response::Kind::Transfer;
        r.transfer_type = std::move(kind);
        r.acl_rule = decision.rule->name;
        r.key = ctx.key();
        r.transfer = std::make_unique<TransferSession>(std::move(source), std::move(ctx.tsig.signer));
        return std::move(r);
    };
    auto axfr = [&]() {
        return stream(std::make_unique<AxfrSource>(version, question, q.header().id), type);
    };
    if (is_axfr) return axfr();

    // IXFR (RFC 1995): the decision is a pure function of what we know; see TransferPlan.
    IxfrRequest req;
    req.udp = peer.transport == Transport::Udp;
    req.client_serial = ixfr_client_serial(q);
    r.client_serial = req.client_serial;
    req.served_serial = version->serial();
    const zone::Journal* journal = zone->journal();
    if (journal && req.client_serial)
        req.history = journal->find_chain(*req.client_serial, req.served_serial);
    req.zone_bytes = version->wire_bytes();
    if (auto ratio = options_.max_ixfr_ratio.find(zone->settings().name.key());
        ratio != options_.max_ixfr_ratio.end())
        req.max_ixfr_ratio = ratio->second;
    req.udp_limit = edns ? std::min(q.edns()->udp_size, options_.max_udp_payload) : 512;
    const TransferPlan plan = plan_ixfr(req);
    switch (plan.kind) {
        case TransferPlan::Kind::FormErr:
            return refuse(Rcode::FormErr, zone_name, "IXFR without an SOA in the authority section");
        case TransferPlan::Kind::SoaOnly:
            // Equal or newer (RFC 1982): the client already holds what we serve.
            r.up_to_date = req.client_serial && !(*req.client_serial < req.served_serial);
            r.key = ctx.key();
            return soa_only();
        case TransferPlan::Kind::Axfr:
            return req.udp ? soa_only() : axfr();
        case TransferPlan::Kind::Ixfr:
            break;
    }
    auto chain = journal->chain(*req.client_serial, req.served_serial);
    if (!chain) return req.udp ? soa_only() : axfr();  // the history went away meanwhile: still an answer
    if (req.udp) {
        IxfrOptions opts;
        opts.max_message = req.udp_limit - ctx.reserve();
        if (edns) opts.edns_payload = kOurUdpPayload;
        opts.flags = static_cast<uint16_t>(response_flags(q.header()) | dns::flag::AA);
        auto one = IxfrSource::single_message(version, std::move(*chain), question, q.header().id, opts);
        if (!one) return soa_only();
        r.message = ctx.seal(std::move(*one));
        return r;
    }
    IxfrOptions opts;
    opts.flags = static_cast<uint16_t>(response_flags(q.header()) | dns::flag::AA);
    return stream(std::make_unique<IxfrSource>(version, std::move(*chain), question, q.header().id, opts),
                  "IXFR");
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
    }

    std::size_t limit = dns::kMaxTcpMessage;
    if (peer.transport == Transport::Udp)
        limit = edns ? std::clamp<std::size_t>(q.edns()->udp_size, 512, options_.max_udp_payload) : 512;

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

}  // namespace headwater::xfr
