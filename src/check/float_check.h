// The final check before writing: no tensor on the compute path may still be float32.
//
// A float tensor is allowed only where a float interface is explicit: entering a QUANTIZE or
// leaving a DEQUANTIZE operator; with `float_operators_ok` (mixed precision) also around an
// operator that runs in float, one without quantized run-time operands (its constants may be
// quantized: weight-only quantization). Each finding names the tensor and the operators around
// it.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

struct FloatFinding {
  TensorRef ref;
  std::string tensor;
  std::string producer;  // "CONV_2D (operator 3)", "graph input" or ""
  std::vector<std::string> users;
  std::string reason;  // why it stays float, when it was asked to (mixed precision)
};

std::vector<FloatFinding> find_float_tensors(const ModelInfo& model, const EditPlan& plan,
                                             bool float_operators_ok = false);

// One message listing every finding, or "" when there are none.
std::string describe_float_findings(const ModelInfo& model,
                                    const std::vector<FloatFinding>& findings);

}  // namespace qimplant
