// What the implant prints for people: rule-check findings grouped so that one rule broken the
// same way on many tensors is one line, and the summary line. The JSON report (report.h) keeps
// every instance; these only shorten what reaches the terminal.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "check/rule_check.h"
#include "implant.h"

namespace qimplant {

// One line per finding when `each` is set (-v), else one line per group of findings with the
// same severity, rule, operator type, subgraph and message: a group of one is the finding's own
// line (describe_finding_text); a larger group counts the findings, operators and tensors and
// names the first few tensors:
//   warning [one-activation-type] 16x FULLY_CONNECTED (8 operators), 9 tensors: ONE's ...,
//   found INT8 ('input', 'fc0/out', 'fc1/out', ... 6 more)
// `single` writes one finding's own line (describe_finding with the model at hand, say).
std::vector<std::string> finding_lines(
    const std::vector<Finding>& findings, bool each,
    const std::function<std::string(const Finding&)>& single = describe_finding_text);

// The line that says what matters first: written (where, format) or not, the target and the
// rule check's errors / warnings, then the tensors by origin, operators inserted and run in
// float, and the output's size:
//   q-implant: wrote out.circle (circle, one rules: 0 error(s), 2 warning(s)): 4 tensor(s)
//   implanted, 0 propagated, 1 derived, 0 operator(s) inserted; 1234 bytes
std::string summary_line(const ImplantOptions& options, const ImplantResult& result);

}  // namespace qimplant
