#include "server/DelegationVerifier.h"

#include <algorithm>

#include <boost/asio.hpp>

#include "server/DnsClient.h"
#include "server/ParentDs.h"
#include "zone/dns/Message.h"

namespace headwater::server {

namespace asio = boost::asio;

namespace {

asio::awaitable<Result<std::vector<uint8_t>, ClientFailure>> ask(dns::Endpoint to, dns::NameView name,
                                                                 dns::RRType type,
                                                                 std::chrono::milliseconds timeout) {
    co_return co_await exchange(to, build_query(name, type, true), timeout);
}

// The addresses of each NS name outside the zone, from the first provider that answers authoritatively.
asio::awaitable<std::vector<std::string>> resolve_at_providers(const DelegationRequest& req,
                                                               verify::DelegationExpectation& expected) {
    std::vector<std::string> unresolved;
    for (const std::string& name_text : verify::names_to_resolve(expected)) {
        auto name = dns::Name::from_text(name_text);
        if (!name) continue;
        bool resolved = false;
        for (const auto& provider : req.providers) {
            bool any = false;
            for (const auto type : {dns::RRType::A, dns::RRType::AAAA}) {
                auto answer = co_await ask(provider, *name, type, req.timeout);
                if (!answer) continue;
                auto parsed = dns::Message::parse(*answer);
                if (parsed && verify::add_address_answer(expected, name_text, *parsed)) any = true;
            }
            if (any) {
                resolved = true;
                break;
            }
        }
        if (!resolved) {
            expected.addresses.erase(name_text);
            unresolved.push_back(name_text);
        }
    }
    co_return unresolved;
}

}  // namespace

bool DelegationReport::ok() const {
    return !parents.empty() &&
           std::all_of(parents.begin(), parents.end(), [](const auto& p) { return p.result.ok; });
}

namespace {

// The parent's DS for a signed zone: a DS that names none of the keys signing our DNSKEY RRset makes the
// delegation wrong however right its NS records are.
asio::awaitable<void> check_ds(ParentReport& p, const zone::ZoneVersion& served,
                               std::chrono::milliseconds timeout) {
    auto answers = co_await ask_parent_ds(std::vector<dns::Endpoint>(1, p.address),
                                          dns::Name::from_wire(served.apex().wire()).value(), timeout);
    if (answers.empty() || !answers.front().error.empty()) {
        p.ds_error = answers.empty() ? "no answer" : answers.front().error;
        co_return;
    }
    p.ds = verify::check_parent_ds(served, answers.front().ds);
    if (p.ds->ok) co_return;
    p.result.ok = false;
    if (p.result.status == "ok") p.result.status = "mismatch";
    p.result.problems.push_back(p.ds->problem);
}

}  // namespace

asio::awaitable<DelegationReport> verify_delegation(DelegationRequest req) {
    DelegationReport report;
    report.at = std::chrono::system_clock::now();
    report.expected = verify::expect_delegation(*req.served, req.own_addresses);
    report.zone = report.expected.zone;
    report.unresolved = co_await resolve_at_providers(req, report.expected);
    for (const auto& parent : req.parents) {
        ParentReport p{parent, {}, std::nullopt, {}};
        auto answer = co_await ask(parent, req.served->apex(), dns::RRType::NS, req.timeout);
        if (!answer) {
            p.result.status = "unreachable";
            p.result.problems.push_back("no answer: " + answer.error().message);
        } else if (auto parsed = dns::Message::parse(*answer); !parsed || !parsed->header().qr()) {
            p.result.status = "not-a-referral";
            p.result.problems.push_back("malformed answer");
        } else {
            p.result = verify::check_referral(report.expected, *parsed);
        }
        if (answer && verify::has_dnskey(*req.served)) co_await check_ds(p, *req.served, req.timeout);
        report.parents.push_back(std::move(p));
    }
    co_return report;
}

namespace {

nlohmann::json ds_json(const ParentReport& p) {
    if (!p.ds_error.empty()) return {{"error", p.ds_error}};
    if (!p.ds) return nullptr;
    return {{"served", p.ds->served},
            {"matching", p.ds->matching},
            {"ok", p.ds->ok},
            {"note", p.ds->note.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.ds->note)}};
}

}  // namespace

nlohmann::json to_json(const DelegationReport& r) {
    using nlohmann::json;
    json parents = json::array();
    for (const auto& p : r.parents) {
        json glue = json::object();
        for (const auto& [name, addresses] : p.result.glue) glue[name] = addresses;
        parents.push_back({{"address", p.address.to_string()},
                           {"status", p.result.status},
                           {"ok", p.result.ok},
                           {"problems", p.result.problems},
                           {"ns", p.result.ns},
                           {"glue", glue},
                           {"ds", ds_json(p)}});
    }
    json addresses = json::object();
    for (const auto& [name, a] : r.expected.addresses) addresses[name] = a;
    return {{"zone", r.zone},
            {"ok", r.ok()},
            {"ns", r.expected.ns},
            {"addresses", addresses},
            {"unresolved", r.unresolved},
            {"hidden_primary", r.expected.primary_name ? json(*r.expected.primary_name) : json(nullptr)},
            {"parents", parents}};
}

}  // namespace headwater::server
