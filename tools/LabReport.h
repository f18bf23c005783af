// headwaterctl lab: the answers of the "lab" control command for a person: the faults as a table, the
// report as a timeline per secondary in text, and the same timeline as a self-contained HTML page with
// one SVG lane per secondary (docs/lab.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "zone/base/Result.h"

namespace headwater::tools {

// `lab set/clear/list`: the faults in force; `lab report`: per peer its summary and its events.
void print_lab(const nlohmann::json& response);

// The report as one HTML page (no script, no external resource): a lane per secondary along a time
// axis, each NOTIFY, SOA query and transfer attempt a mark coloured by outcome, the fault's start and
// the serial changes marked.
std::string lab_report_html(const nlohmann::json& report);

// Writes lab_report_html(report) to `path`.
Result<void, std::string> write_lab_report_html(const nlohmann::json& report, const std::string& path);

}  // namespace headwater::tools
