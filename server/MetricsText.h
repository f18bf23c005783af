// The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then one line per
// sample, `name{label="value",...} value`. A family's samples must be contiguous, so each family collects
// its samples in a buffer of its own while the renderer walks the zones once, and the families are joined
// at the end. No library: the format is these few rules, and `promtool check metrics` checks our output
// in the tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace headwater::server {

using MetricLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class MetricFamily {
  public:
    enum class Type : uint8_t { Gauge, Counter };

    // `name` follows the naming rules (headwater_ prefix, base unit suffix, _total for counters).
    MetricFamily(std::string_view name, Type type, std::string_view help);

    void add(MetricLabels labels, double value);
    void add(MetricLabels labels, int64_t value);
    void add(MetricLabels labels, uint64_t value);

    bool empty() const { return samples_.empty(); }
    // Appends the HELP and TYPE lines and the samples to `out` (a family without samples still has its
    // HELP and TYPE lines: a scraper then knows the metric exists), then forgets the samples but keeps
    // the buffer's capacity, so a family kept for the next scrape starts empty and grows no more.
    void flush(std::string& out);

  private:
    void start_sample(MetricLabels labels);

    std::string name_;
    Type type_;
    std::string help_;
    std::string samples_;
};

// A label value with `\`, `"` and newlines escaped as the format requires.
void append_label_value(std::string& out, std::string_view value);

}  // namespace headwater::server
