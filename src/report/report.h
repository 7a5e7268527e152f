// The machine-readable report: every change q-implant made (implanted, propagated, derived) and
// every finding of the checks, as JSON for pipelines (`--report report.json`).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/float_check.h"
#include "check/rule_check.h"
#include "implant.h"

namespace qimplant {

nlohmann::ordered_json findings_json(const std::vector<Finding>& findings);
nlohmann::ordered_json float_tensors_json(const std::vector<FloatFinding>& tensors);
nlohmann::ordered_json implant_report(const ImplantOptions& options, const ImplantResult& result);

// Writes `report` to `path` atomically; throws Error naming the path.
// The report as JSON text (indent 2, newline-terminated); bytes that are not UTF-8 become U+FFFD.
std::string json_report_text(const nlohmann::ordered_json& report);
void write_json_file(const std::string& path, const nlohmann::ordered_json& report);

}  // namespace qimplant
