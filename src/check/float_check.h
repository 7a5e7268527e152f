// The final check before writing: no tensor on the compute path may still be float32.
//
// A float tensor is allowed only where a float interface is explicit: entering a QUANTIZE or
// leaving a DEQUANTIZE operator. Each finding names the tensor and the operators around it.
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
};

std::vector<FloatFinding> find_float_tensors(const ModelInfo& model, const EditPlan& plan);

// One message listing every finding, or "" when there are none.
std::string describe_float_findings(const ModelInfo& model,
                                    const std::vector<FloatFinding>& findings);

}  // namespace qimplant
