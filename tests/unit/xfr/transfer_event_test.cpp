#include "xfr/TransferEvent.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace headwater::xfr {
namespace {

using nlohmann::json;

TransferEvent ixfr_event() {
    TransferEvent e;
    e.zone = "example.com.";
    e.type = dns::RRType::IXFR;
    e.form = TransferForm::Ixfr;
    e.address = dns::IpAddress::parse("2001:db8::7").value();
    e.port = 41234;
    e.key = "xfr-key.";
    e.rule = "providers";
    e.client_serial = dns::Serial(2026112600);
    e.served_serial = dns::Serial(2026112601);
    e.messages = 2;
    e.records = 17;
    e.bytes = 467;
    e.duration = std::chrono::milliseconds(12);
    return e;
}

// The log line's field names, in order (docs/operations.md); what operators grep and the tests parse.
const std::vector<std::string> kLineFields = {
    "zone",    "type",  "form",        "peer",    "key",   "rule",  "serial",    "messages",
    "records", "bytes", "duration_ms", "outcome", "cause", "rcode", "transport", "reason"};

std::vector<std::string> field_names(const std::string& line) {
    std::vector<std::string> names;
    std::size_t pos = line.find(' ');
    while (pos != std::string::npos) {
        const std::size_t eq = line.find('=', pos);
        names.push_back(line.substr(pos + 1, eq - pos - 1));
        if (line.compare(eq + 1, 1, "\"") == 0) break;  // the quoted reason is last
        pos = line.find(' ', eq);
    }
    return names;
}

TEST(TransferEventTest, EveryOutcomeHasItsOwnName) {
    std::set<std::string_view> names;
    for (const TransferOutcome o : kTransferOutcomes) {
        const std::string_view name = outcome_name(o);
        EXPECT_FALSE(name.empty());
        EXPECT_EQ(name.find(' '), std::string_view::npos) << name;
        EXPECT_TRUE(names.insert(name).second) << "two outcomes named " << name;
        // Exactly one of ok, a refusal, an abort.
        EXPECT_EQ((o == TransferOutcome::Ok) + is_refusal(o) + is_abort(o), 1) << name;
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(TransferOutcome::LabCut) + 1);
}

TEST(TransferEventTest, OutcomeKindIsWhatTheOutcomeFieldAlwaysSaid) {
    EXPECT_EQ(outcome_kind(TransferOutcome::Ok), "ok");
    for (const TransferOutcome o :
         {TransferOutcome::FormErr, TransferOutcome::NotAuth, TransferOutcome::TsigFailed,
          TransferOutcome::Refused, TransferOutcome::NotLoaded, TransferOutcome::NotAdmitted,
          TransferOutcome::LabRefused})
        EXPECT_EQ(outcome_kind(o), "refused") << outcome_name(o);
    for (const TransferOutcome o :
         {TransferOutcome::PeerClosed, TransferOutcome::TimedOut, TransferOutcome::WriteError,
          TransferOutcome::Shutdown, TransferOutcome::InternalError, TransferOutcome::LabCut})
        EXPECT_EQ(outcome_kind(o), "aborted") << outcome_name(o);
}

TEST(TransferEventTest, LogLineOfATransfer) {
    EXPECT_EQ(transfer_log_line(ixfr_event()),
              "transfer zone=example.com. type=IXFR form=ixfr peer=2001:db8::7#41234 key=xfr-key. "
              "rule=providers serial=2026112601 messages=2 records=17 bytes=467 duration_ms=12 outcome=ok "
              "cause=ok rcode=NOERROR transport=tcp reason=\"\"");
}

TEST(TransferEventTest, LogLineOfARefusal) {
    TransferEvent e;
    e.zone = "example.com.";
    e.address = dns::IpAddress::parse("127.0.0.9").value();
    e.port = 5300;
    e.outcome = TransferOutcome::Refused;
    e.rcode = dns::Rcode::Refused;
    e.detail = "address 127.0.0.9 not in any allow_transfer rule";
    EXPECT_EQ(
        transfer_log_line(e),
        "transfer zone=example.com. type=AXFR form=- peer=127.0.0.9#5300 key=- rule=- serial=- messages=0 "
        "records=0 bytes=0 duration_ms=0 outcome=refused cause=refused rcode=REFUSED transport=tcp "
        "reason=\"address 127.0.0.9 not in any allow_transfer rule\"");
}

TEST(TransferEventTest, EveryLineHasEveryFieldInOrder) {
    for (const TransferOutcome o : kTransferOutcomes) {
        TransferEvent e = ixfr_event();
        e.outcome = o;
        e.detail = o == TransferOutcome::Ok ? "" : "why \"quoted\" \\ and\nsplit";
        const std::string line = transfer_log_line(e);
        EXPECT_EQ(line.rfind("transfer ", 0), 0u) << line;
        EXPECT_EQ(field_names(line), kLineFields) << line;
        EXPECT_NE(line.find(" outcome=" + std::string(outcome_kind(o)) +
                            " cause=" + std::string(outcome_name(o)) + " "),
                  std::string::npos)
            << line;
        EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    }
    // An empty event still has every field.
    EXPECT_EQ(field_names(transfer_log_line(TransferEvent{})), kLineFields);
}

TEST(TransferEventTest, ReasonIsOneQuotedWord) {
    TransferEvent e = ixfr_event();
    e.outcome = TransferOutcome::InternalError;
    e.detail = "bug: say \"x\" \\ y\nz";
    const std::string line = transfer_log_line(e);
    EXPECT_NE(line.find(R"(reason="bug: say \"x\" \\ y z")"), std::string::npos) << line;
    EXPECT_EQ(line.back(), '"');
}

TEST(TransferEventTest, JsonOfATransfer) {
    const json j = transfer_json(ixfr_event());
    const json expected = {
        {"zone", "example.com."}, {"peer", "2001:db8::7#41234"},
        {"key", "xfr-key."},      {"type", "IXFR"},
        {"form", "ixfr"},         {"from", 2026112600u},
        {"to", 2026112601u},      {"messages", 2},
        {"records", 17},          {"bytes", 467},
        {"duration_ms", 12},      {"outcome", "ok"},
        {"cause", "ok"},          {"rcode", "NOERROR"},
        {"error", nullptr},       {"rule", "providers"},
        {"transport", "tcp"},     {"ktls", nullptr},
    };
    EXPECT_EQ(j, expected) << j.dump();
}

TEST(TransferEventTest, TlsTransfersSayWhetherTheKernelEncrypted) {
    TransferEvent e = ixfr_event();
    e.transport = Transport::Tls;
    EXPECT_NE(transfer_log_line(e).find(" transport=tls reason="), std::string::npos) << transfer_log_line(e);
    EXPECT_EQ(transfer_json(e)["transport"], "tls");
    EXPECT_EQ(transfer_json(e)["ktls"], false);
    e.ktls = true;
    EXPECT_NE(transfer_log_line(e).find(" transport=tls+ktls "), std::string::npos) << transfer_log_line(e);
    EXPECT_EQ(transfer_json(e)["ktls"], true);
}

TEST(TransferEventTest, JsonHasTheSameMembersForEveryOutcome) {
    const json shape = transfer_json(ixfr_event());
    for (const TransferOutcome o : kTransferOutcomes) {
        TransferEvent e;
        e.outcome = o;
        e.detail = o == TransferOutcome::Ok ? "" : "why";
        const json j = transfer_json(e);
        ASSERT_EQ(j.size(), shape.size()) << j.dump();
        for (const auto& [member, value] : shape.items()) EXPECT_TRUE(j.contains(member)) << member;
        EXPECT_EQ(j["outcome"], outcome_kind(o));
        EXPECT_EQ(j["cause"], outcome_name(o));
        // Nothing sent: form and to are null, not "-" or 0.
        EXPECT_TRUE(j["form"].is_null());
        EXPECT_TRUE(j["to"].is_null());
        EXPECT_TRUE(j["from"].is_null());
        EXPECT_TRUE(j["rule"].is_null());
        EXPECT_EQ(j["error"].is_null(), o == TransferOutcome::Ok);
    }
}

TEST(TransferEventTest, FormNames) {
    EXPECT_EQ(form_name(TransferForm::None), "-");
    EXPECT_EQ(form_name(TransferForm::Axfr), "axfr");
    EXPECT_EQ(form_name(TransferForm::Ixfr), "ixfr");
    EXPECT_EQ(form_name(TransferForm::SoaOnly), "soa-only");
}

}  // namespace
}  // namespace headwater::xfr
