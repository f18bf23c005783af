#include "server/MetricsText.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace headwater::server {

void append_label_value(std::string& out, std::string_view value) {
    // Label values are zone names and addresses: almost never anything to escape, so whole runs are
    // appended at once rather than a character at a time (this is the hottest loop of a scrape).
    const auto special = [](char c) { return c == '\\' || c == '"' || c == '\n'; };
    auto run = value.begin();
    for (auto it = std::find_if(run, value.end(), special); it != value.end();
         it = std::find_if(run, value.end(), special)) {
        out.append(run, it);
        out += *it == '\n' ? "\\n" : *it == '"' ? "\\\"" : "\\\\";
        run = it + 1;
    }
    out.append(run, value.end());
}

MetricFamily::MetricFamily(std::string_view name, Type type, std::string_view help)
    : name_(name), type_(type), help_(help) {}

void MetricFamily::start_sample(MetricLabels labels) {
    samples_ += name_;
    if (labels.size() > 0) {
        samples_ += '{';
        bool first = true;
        for (const auto& [label, value] : labels) {
            if (!first) samples_ += ',';
            first = false;
            samples_ += label;
            samples_ += "=\"";
            append_label_value(samples_, value);
            samples_ += '"';
        }
        samples_ += '}';
    }
    samples_ += ' ';
}

void MetricFamily::add(MetricLabels labels, double value) {
    start_sample(labels);
    if (std::isnan(value)) {
        samples_ += "NaN";
    } else if (std::isinf(value)) {
        samples_ += value > 0 ? "+Inf" : "-Inf";
    } else {
        // Shortest round-trip digits in plain notation (Unix times read as 1800000000.25, not 1.8e+09);
        // a value too long for the buffer falls back to exponent notation.
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
        if (r.ec != std::errc()) r = std::to_chars(buf, buf + sizeof buf, value);
        samples_.append(buf, r.ptr);
    }
    samples_ += '\n';
}

void MetricFamily::add(MetricLabels labels, int64_t value) {
    start_sample(labels);
    char buf[24];
    samples_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
    samples_ += '\n';
}

void MetricFamily::add(MetricLabels labels, uint64_t value) {
    start_sample(labels);
    char buf[24];
    samples_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
    samples_ += '\n';
}

void MetricFamily::flush(std::string& out) {
    out += "# HELP ";
    out += name_;
    out += ' ';
    // HELP text escapes only `\` and newlines.
    for (const char c : help_) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    out += "\n# TYPE ";
    out += name_;
    out += type_ == Type::Counter ? " counter\n" : " gauge\n";
    out += samples_;
    samples_.clear();
}

}  // namespace headwater::server
