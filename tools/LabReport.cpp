#include "tools/LabReport.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace headwater::tools {

using nlohmann::json;

namespace {

std::string text(const json& j, const char* key) {
    if (!j.is_object()) return "-";
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "-";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

long long number(const json& j, const char* key) {
    if (!j.is_object()) return 0;
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<long long>() : 0;
}

std::string seconds(long long ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ms) / 1000.0);
    return buf;
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// One event as a line of text: "notify serial 7 ack", "transfer IXFR 5->7 aborted (lab-cut) 3 messages".
std::string event_text(const json& e) {
    const std::string kind = text(e, "kind");
    std::string out = kind;
    if (kind == "soa") {
        out = "SOA query over " + text(e, "transport") + ": " + text(e, "outcome");
    } else if (kind == "notify") {
        out = "NOTIFY serial " + text(e, "serial") + ": " + text(e, "outcome");
    } else if (kind == "up-to-date") {
        out = "IXFR: up to date at serial " + text(e, "serial");
    } else if (kind == "transfer") {
        const json& t = e["transfer"];
        out = text(t, "type") + " (" + text(t, "transport") + ")";
        if (text(t, "form") != "-" && text(t, "form") != "null") out += " answered " + text(t, "form");
        if (text(t, "from") != "-") out += " from " + text(t, "from");
        if (text(t, "to") != "-") out += " to " + text(t, "to");
        out += ": " + text(t, "outcome") + " (" + text(t, "cause") + ", rcode " + text(t, "rcode") + "), " +
               text(t, "messages") + " messages, " + text(t, "bytes") + " bytes";
    }
    if (e.contains("lab")) out += "  [" + text(e, "lab") + "]";
    return out;
}

void print_faults(const json& faults) {
    if (!faults.is_array() || faults.empty()) {
        std::cout << "no lab faults set\n";
        return;
    }
    for (const auto& f : faults)
        std::cout << text(f, "zone") << "  " << text(f, "peer") << "  " << text(f, "fault") << "  since "
                  << text(f, "since") << '\n';
}

void print_peer(const json& p) {
    std::cout << "\npeer " << text(p, "address") << " key " << text(p, "key") << ": holds serial "
              << text(p, "holds");
    if (p.contains("faults") && !p["faults"].empty()) {
        std::string faults;
        for (const auto& f : p["faults"]) faults += (faults.empty() ? "" : ", ") + f.get<std::string>();
        std::cout << "; faults: " << faults;
    }
    std::cout << '\n';
    const json& s = p["summary"];
    std::cout << "  NOTIFYs " << number(s, "notifies") << ", SOA queries " << number(s, "soa_udp")
              << " UDP / " << number(s, "soa_tcp") << " TCP, transfers " << number(s, "transfers_ok")
              << " ok / " << number(s, "refused") << " refused / " << number(s, "aborted")
              << " aborted (AXFR " << number(s, "axfr_requests") << ", IXFR " << number(s, "ixfr_requests")
              << "), IXFR->AXFR " << number(s, "ixfr_to_axfr") << ", UDP->TCP " << number(s, "udp_to_tcp")
              << '\n';
    if (s.contains("retry_gaps_ms") && !s["retry_gaps_ms"].empty()) {
        std::cout << "  gaps between transfer attempts:";
        for (const auto& g : s["retry_gaps_ms"]) std::cout << ' ' << seconds(g.get<long long>());
        std::cout << '\n';
    }
    for (const auto& e : p["events"])
        std::cout << "  +" << seconds(number(e, "t_ms")) << "  " << event_text(e) << '\n';
}

// The colour of a mark: green ok, orange refused or answered oddly, red aborted, dropped or failed.
std::string colour(const json& e) {
    const std::string kind = text(e, "kind");
    const std::string outcome = text(e, "outcome");
    if (outcome == "ok" || outcome == "ack" || outcome == "answered" || outcome == "up-to-date")
        return "#2e9d4a";
    if (outcome == "refused" || outcome == "tc" || outcome == "skipped") return "#e08a00";
    if (kind == "notify" && outcome == "error") return "#c0392b";
    return "#c0392b";
}

// One event as an SVG mark at (x, lane y): NOTIFY a triangle above the lane, an SOA query a dot below
// it, a transfer attempt a bar on it; its details in a <title> (the browser shows it on hover).
std::string mark(const json& e, int x, int y) {
    const std::string kind = text(e, "kind");
    std::string out;
    auto put = [&out](const auto&... parts) { ((out += parts), ...); };
    auto n = [](int v) { return std::to_string(v); };
    if (kind == "notify") {
        put("<polygon points=\"", n(x), ",", n(y - 22), " ", n(x - 5), ",", n(y - 12), " ", n(x + 5), ",",
            n(y - 12), "\"");
    } else if (kind == "soa" || kind == "up-to-date") {
        put("<circle cx=\"", n(x), "\" cy=\"", n(y + 14), "\" r=\"3.5\"");
    } else {
        put("<rect x=\"", n(x - 4), "\" y=\"", n(y - 8), "\" width=\"8\" height=\"16\"");
    }
    const std::string element = kind == "notify" ? "polygon" : (kind == "transfer" ? "rect" : "circle");
    put(" fill=\"", colour(e), "\"><title>+", escape(seconds(number(e, "t_ms"))), " ", escape(event_text(e)),
        "</title></", element, ">\n");
    return out;
}

}  // namespace

void print_lab(const json& response) {
    if (!response.contains("peers")) {
        if (response.contains("cleared")) std::cout << text(response, "cleared") << " fault(s) cleared\n";
        print_faults(response.value("faults", json::array()));
        return;
    }
    std::cout << "zone " << text(response, "zone") << ": served serial " << text(response, "served")
              << "; report since " << text(response, "since") << " ("
              << seconds(number(response, "duration_ms")) << ")\n";
    print_faults(response["faults"]);
    if (response["peers"].empty()) std::cout << "\nno peer seen since then\n";
    for (const auto& p : response["peers"]) print_peer(p);
}

std::string lab_report_html(const json& report) {  // NOLINT(readability-function-size)
    constexpr int kLeft = 190, kWidth = 900, kLane = 70, kTop = 40;
    const auto& peers = report["peers"];
    const long long duration = std::max<long long>(number(report, "duration_ms"), 1);
    const int height = kTop + static_cast<int>(peers.size()) * kLane + 40;
    auto x_of = [&](long long t_ms) {
        return kLeft + static_cast<int>(static_cast<double>(std::clamp<long long>(t_ms, 0, duration)) *
                                        kWidth / static_cast<double>(duration));
    };
    std::string svg;
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kLeft + kWidth + 30) +
           "\" height=\"" + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    // The time axis, with ten ticks.
    const int axis_y = height - 30;
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(axis_y) + "\" x2=\"" +
           std::to_string(kLeft + kWidth) + "\" y2=\"" + std::to_string(axis_y) + "\" stroke=\"#333\"/>\n";
    for (int i = 0; i <= 10; ++i) {
        const int x = kLeft + kWidth * i / 10;
        svg += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(axis_y + 16) +
               "\" text-anchor=\"middle\">" + escape(seconds(duration * i / 10)) + "</text>\n";
    }
    // The fault's start: the report begins there.
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(kTop - 20) + "\" x2=\"" +
           std::to_string(kLeft) + "\" y2=\"" + std::to_string(axis_y) +
           "\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/><text x=\"" + std::to_string(kLeft + 4) +
           "\" y=\"" + std::to_string(kTop - 24) + "\" fill=\"#c0392b\">fault set " +
           escape(text(report, "since")) + "</text>\n";
    int lane = 0;
    for (const auto& p : peers) {
        const int y = kTop + lane * kLane + kLane / 2;
        ++lane;
        svg += "<text x=\"8\" y=\"" + std::to_string(y - 6) + "\" font-weight=\"bold\">" +
               escape(text(p, "address")) + "</text><text x=\"8\" y=\"" + std::to_string(y + 10) + "\">key " +
               escape(text(p, "key")) + ", holds " + escape(text(p, "holds")) + "</text>\n";
        svg += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
               std::to_string(kLeft + kWidth) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"#ddd\"/>\n";
        std::string held;
        for (const auto& e : p["events"]) {
            const int x = x_of(number(e, "t_ms"));
            svg += mark(e, x, y);
            const json& t = e.value("transfer", json::object());
            if (text(e, "kind") == "transfer" && text(e, "outcome") == "ok" && text(t, "to") != "-" &&
                text(t, "to") != held) {
                held = text(t, "to");
                svg += "<text x=\"";
                svg += std::to_string(x + 6);
                svg += "\" y=\"";
                svg += std::to_string(y - 12);
                svg += "\" fill=\"#2e9d4a\">serial ";
                svg += escape(held);
                svg += "</text>\n";
            }
        }
    }
    svg += "</svg>\n";

    std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>headwater lab report " +
                       escape(text(report, "zone")) +
                       "</title></head><body style=\"font-family:sans-serif\">\n";
    html += "<h1>Lab report: " + escape(text(report, "zone")) + "</h1>\n<p>Served serial " +
            escape(text(report, "served")) + "; from " + escape(text(report, "since")) + " to " +
            escape(text(report, "now")) + ".</p>\n<ul>\n";
    for (const auto& f : report["faults"])
        html += "<li>" + escape(text(f, "peer")) + ": <code>" + escape(text(f, "fault")) + "</code> since " +
                escape(text(f, "since")) + "</li>\n";
    html +=
        "</ul>\n<p>Triangles: NOTIFY; dots: SOA queries; bars: transfer attempts. Green: ok; orange: "
        "refused, TC or not sent; red: aborted, dropped or failed. Hover a mark for its details.</p>\n";
    html += svg + "</body></html>\n";
    return html;
}

Result<void, std::string> write_lab_report_html(const json& report, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return unexpected("cannot write " + path);
    out << lab_report_html(report);
    out.close();
    if (!out) return unexpected("cannot write " + path);
    return {};
}

}  // namespace headwater::tools
