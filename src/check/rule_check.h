// The per-operator rule check: does the (planned) model satisfy what the target runtime
// requires of a quantized model?
//
// Rules read the operator property table and the target (rules/target.h). Each finding names
// the operator (index and type), the tensors, the rule, and what was expected vs found.
// Errors mean a runtime would reject the model or compute garbage; warnings mean it probably
// runs but deserves a look.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "rules/target.h"

namespace qimplant {

enum class Severity { Warning, Error };

struct Finding {
  Severity severity = Severity::Error;
  std::string rule;  // short id, e.g. "bias-scale"
  uint32_t subgraph = 0;
  int32_t op_index = -1;  // -1: not about one operator
  std::string op;         // "CONV_2D"
  std::vector<std::string> tensors;
  std::string message;  // expected vs found
};

// Checks every operator of `model` with the edits of `plan` applied.
std::vector<Finding> check_rules(const ModelInfo& model, const EditPlan& plan, Target target);

// One line per finding: "error [bias-scale] CONV_2D (operator 0): tensor 'bias': ...".
std::string describe_finding(const ModelInfo& model, const Finding& f);
// The same without the model at hand (subgraph always named when not 0).
std::string describe_finding_text(const Finding& f);

}  // namespace qimplant
