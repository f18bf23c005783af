#include "xfr/TransferEvent.h"

#include <nlohmann/json.hpp>

namespace headwater::xfr {

using nlohmann::json;

std::string_view outcome_name(TransferOutcome o) {
    switch (o) {
        case TransferOutcome::Ok:
            return "ok";
        case TransferOutcome::FormErr:
            return "formerr";
        case TransferOutcome::NotAuth:
            return "notauth";
        case TransferOutcome::TsigFailed:
            return "tsig-failed";
        case TransferOutcome::Refused:
            return "refused";
        case TransferOutcome::NotLoaded:
            return "not-loaded";
        case TransferOutcome::NotAdmitted:
            return "not-admitted";
        case TransferOutcome::PeerClosed:
            return "peer-closed";
        case TransferOutcome::TimedOut:
            return "timed-out";
        case TransferOutcome::WriteError:
            return "write-error";
        case TransferOutcome::Shutdown:
            return "shutdown";
        case TransferOutcome::InternalError:
            return "internal-error";
        case TransferOutcome::LabRefused:
            return "lab-refused";
        case TransferOutcome::LabCut:
            return "lab-cut";
    }
    return "internal-error";
}

bool is_refusal(TransferOutcome o) {
    switch (o) {
        case TransferOutcome::FormErr:
        case TransferOutcome::NotAuth:
        case TransferOutcome::TsigFailed:
        case TransferOutcome::Refused:
        case TransferOutcome::NotLoaded:
        case TransferOutcome::NotAdmitted:
        case TransferOutcome::LabRefused:
            return true;
        default:
            return false;
    }
}

bool is_abort(TransferOutcome o) {
    return o != TransferOutcome::Ok && !is_refusal(o);
}

std::string_view outcome_kind(TransferOutcome o) {
    if (o == TransferOutcome::Ok) return "ok";
    return is_refusal(o) ? "refused" : "aborted";
}

std::string_view form_name(TransferForm f) {
    switch (f) {
        case TransferForm::None:
            return "-";
        case TransferForm::Axfr:
            return "axfr";
        case TransferForm::Ixfr:
            return "ixfr";
        case TransferForm::SoaOnly:
            return "soa-only";
    }
    return "-";
}

std::string TransferEvent::peer() const {
    return address.to_string() + "#" + std::to_string(port);
}

namespace {

// A value that is never empty in the line, so the fields stay in place for `cut` and `awk`.
std::string_view or_dash(std::string_view s) {
    return s.empty() ? std::string_view("-") : s;
}

std::string serial_text(const std::optional<dns::Serial>& s) {
    return s ? std::to_string(s->value()) : std::string("-");
}

// `"text"` with `"` and `\` escaped and control characters as spaces: one shell word however odd the
// reason (an exception's text, a peer's key name).
std::string quoted_word(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    out += '"';
    return out;
}

// "tls+ktls" when the kernel encrypted the stream: which path a TLS transfer took, in one word.
std::string transport_text(const TransferEvent& e) {
    std::string out(transport_name(e.transport));
    if (e.transport == Transport::Tls && e.ktls) out += "+ktls";
    return out;
}

}  // namespace

std::string transfer_log_line(const TransferEvent& e) {
    std::string line = "transfer";
    auto field = [&line](std::string_view name, std::string_view value) {
        line += ' ';
        line += name;
        line += '=';
        line += value;
    };
    field("zone", or_dash(e.zone));
    field("type", dns::to_string(e.type));
    field("form", form_name(e.form));
    field("peer", e.peer());
    field("key", or_dash(e.key));
    field("rule", or_dash(e.rule));
    field("serial", serial_text(e.served_serial));
    field("messages", std::to_string(e.messages));
    field("records", std::to_string(e.records));
    field("bytes", std::to_string(e.bytes));
    field("duration_ms", std::to_string(e.duration.count()));
    field("outcome", outcome_kind(e.outcome));
    field("cause", outcome_name(e.outcome));
    field("rcode", dns::to_string(e.rcode));
    field("transport", transport_text(e));
    field("reason", quoted_word(e.detail));
    return line;
}

json transfer_json(const TransferEvent& e) {
    auto serial = [](const std::optional<dns::Serial>& s) { return s ? json(s->value()) : json(nullptr); };
    auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    return {
        {"zone", e.zone},
        {"peer", e.peer()},
        {"key", or_dash(e.key)},
        {"type", dns::to_string(e.type)},
        {"form", e.form == TransferForm::None ? json(nullptr) : json(form_name(e.form))},
        {"from", serial(e.client_serial)},
        {"to", serial(e.served_serial)},
        {"messages", e.messages},
        {"records", e.records},
        {"bytes", e.bytes},
        {"duration_ms", e.duration.count()},
        {"outcome", outcome_kind(e.outcome)},
        {"cause", outcome_name(e.outcome)},
        {"rcode", dns::to_string(e.rcode)},
        {"error", text(e.detail)},
        {"rule", text(e.rule)},
        {"transport", transport_name(e.transport)},
        {"ktls", e.transport == Transport::Tls ? json(e.ktls) : json(nullptr)},
    };
}

}  // namespace headwater::xfr
