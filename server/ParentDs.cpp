#include "server/ParentDs.h"

#include <algorithm>

#include "server/DnsClient.h"
#include "zone/dns/Message.h"
#include "zone/dns/UncompressedRecord.h"
#include "zone/sign/DnssecKey.h"
#include "zone/sign/RrsigCheck.h"

namespace headwater::server {

namespace asio = boost::asio;

namespace {

constexpr uint8_t kRcodeNoError = 0;

// `parsed`: the answer, or null when it did not parse.
ParentDsAnswer read_answer(const dns::Endpoint& server, const dns::Message* parsed, dns::NameView zone) {
    ParentDsAnswer a{server, {}, 0, {}};
    if (parsed == nullptr || !parsed->header().qr()) {
        a.error = "malformed answer";
        return a;
    }
    if (parsed->header().rcode() != kRcodeNoError) {
        a.error = "rcode " + std::to_string(parsed->header().rcode());
        return a;
    }
    // The parent is authoritative for the DS at the child's apex (RFC 4034 §5): an answer without AA is
    // a server that is not the parent's (a referral, or a resolver).
    if ((parsed->header().flags & dns::flag::AA) == 0) {
        a.error = "not authoritative (is it a server of the parent zone?)";
        return a;
    }
    for (const dns::RecordRef& r : parsed->records()) {
        if (r.section != dns::Section::Answer || r.type != dns::RRType::DS || !(r.owner.view() == zone))
            continue;
        a.ds.emplace_back(r.rdata.begin(), r.rdata.end());
        a.ttl = std::max(a.ttl, r.ttl);
    }
    return a;
}

}  // namespace

asio::awaitable<std::vector<ParentDsAnswer>> ask_parent_ds(std::vector<dns::Endpoint> servers, dns::Name zone,
                                                           std::chrono::milliseconds timeout) {
    std::vector<ParentDsAnswer> out;
    for (const dns::Endpoint& server : servers) {
        auto answer = co_await exchange(server, build_query(zone.view(), dns::RRType::DS, true), timeout);
        if (!answer) {
            out.push_back({server, {}, 0, "no answer: " + answer.error().message});
            continue;
        }
        const auto parsed = dns::Message::parse(*answer);
        out.push_back(read_answer(server, parsed ? &*parsed : nullptr, zone.view()));
    }
    co_return out;
}

sign::ParentDs match_parent_ds(const std::vector<ParentDsAnswer>& answers, std::span<const uint8_t> zone_wire,
                               const std::vector<std::vector<uint8_t>>& dnskeys) {
    sign::ParentDs out;
    out.answered = !answers.empty();
    std::vector<uint16_t> everywhere;
    bool first = true;
    for (const ParentDsAnswer& a : answers) {
        out.servers.push_back(a.server.to_string());
        if (!a.error.empty()) {
            out.answered = false;
            out.summary += (out.summary.empty() ? "" : "; ") + a.server.to_string() + ": " + a.error;
            continue;
        }
        std::vector<uint16_t> here;
        std::vector<uint16_t> served;
        for (const auto& ds : a.ds) {
            if (ds.size() < 4) continue;
            served.push_back(static_cast<uint16_t>((ds[0] << 8) | ds[1]));
            for (const auto& key : dnskeys)
                if (sign::ds_rdata(zone_wire, key, ds[3]) == ds) here.push_back(sign::key_tag(key));
        }
        // What each server serves, for the status while a rollover waits ("... serves DS 1000").
        out.summary += (out.summary.empty() ? "" : "; ") + a.server.to_string() +
                       (served.empty() ? " serves no DS" : " serves DS " + sign::tag_list(served));
        out.ttl = std::max(out.ttl, a.ttl);
        if (first) {
            everywhere = here;
            first = false;
        } else {
            std::erase_if(everywhere, [&](uint16_t tag) { return std::ranges::count(here, tag) == 0; });
        }
    }
    std::ranges::sort(everywhere);
    everywhere.erase(std::unique(everywhere.begin(), everywhere.end()), everywhere.end());
    out.tags = std::move(everywhere);
    return out;
}

std::string authenticate_dnskeys(const dns::Message& response, dns::NameView zone,
                                 std::span<const std::vector<uint8_t>> pinned, int64_t now) {
    std::vector<sign::DnssecKey> keys;
    for (const auto& rdata : pinned)
        if (auto k = sign::DnssecKey::from_dnskey(rdata)) keys.push_back(std::move(*k));
    if (keys.empty())
        return "no KSK of the other signers in foreign_dnskeys to authenticate their DNSKEY RRset with";
    std::vector<std::vector<uint8_t>> set;
    std::vector<std::vector<uint8_t>> sigs;
    for (const dns::RecordRef& r : response.records()) {
        if (r.section != dns::Section::Answer || !(r.owner.view() == zone)) continue;
        if (r.type == dns::RRType::DNSKEY) set.push_back(dns::uncompressed_record(response, r));
        if (r.type == dns::RRType::RRSIG && r.rdata.size() >= 2 &&
            ((r.rdata[0] << 8) | r.rdata[1]) == dns::to_u16(dns::RRType::DNSKEY))
            sigs.push_back(dns::uncompressed_record(response, r));
    }
    std::vector<zone::RecordView> rrset;
    rrset.reserve(set.size());
    for (const auto& w : set) rrset.push_back(zone::decode_record(w));
    std::string verdicts;
    for (const auto& w : sigs) {
        const auto check = sign::check_rrsig(zone, rrset, zone::decode_record(w), keys, now);
        if (check.verdict == sign::RrsigVerdict::Valid) return {};
        verdicts += (verdicts.empty() ? "" : ", ") + std::to_string(check.key_tag) + " " +
                    std::string(sign::to_string(check.verdict));
    }
    return "its DNSKEY RRset is not signed by a KSK given in foreign_dnskeys (" +
           (verdicts.empty() ? std::string("no RRSIG") : verdicts) + ")";
}

asio::awaitable<FetchedKeys> fetch_dnskeys(std::vector<dns::Endpoint> servers, dns::Name zone,
                                           std::vector<std::vector<uint8_t>> pinned,
                                           std::chrono::milliseconds timeout) {
    FetchedKeys out;
    for (const dns::Endpoint& server : servers) {
        // With DO (RFC 4035 §3.2.1), for the RRSIGs over the RRset, which authenticate it.
        auto answer =
            co_await exchange(server, build_dnssec_query(zone.view(), dns::RRType::DNSKEY), timeout);
        std::string error = answer ? std::string() : answer.error().message;
        std::vector<std::vector<uint8_t>> keys;
        if (answer) {
            const auto parsed = dns::Message::parse(*answer);
            // AA and NOERROR, as of a parent's DS answer.
            error = read_answer(server, parsed ? &*parsed : nullptr, zone.view()).error;
            if (error.empty())
                for (const dns::RecordRef& r : parsed->records())
                    if (r.section == dns::Section::Answer && r.type == dns::RRType::DNSKEY &&
                        r.owner.view() == zone.view())
                        keys.emplace_back(r.rdata.begin(), r.rdata.end());
            // A signer that serves no key at all (loading, or not signing yet) says nothing about its
            // keys: taking that as "none" would drop them while it still signs with them.
            if (error.empty() && keys.empty()) error = "no DNSKEY in its answer";
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            if (error.empty()) error = authenticate_dnskeys(*parsed, zone.view(), pinned, now);
        }
        if (!error.empty()) {
            out.error += (out.error.empty() ? "" : "; ") + server.to_string() + ": " + error;
            continue;
        }
        out.by_server.emplace_back(server.to_string(), std::move(keys));
    }
    co_return out;
}

asio::awaitable<sign::ParentDs> parent_ds_of(std::vector<dns::Endpoint> servers, dns::Name zone,
                                             std::vector<std::vector<uint8_t>> dnskeys,
                                             std::chrono::milliseconds timeout) {
    const auto answers = co_await ask_parent_ds(std::move(servers), zone, timeout);
    co_return match_parent_ds(answers, zone.wire(), dnskeys);
}

}  // namespace headwater::server
