// The model as it will be once the plan's structural edits (added tensors and operators,
// rewired operands) are made, so that checks look at the graph that will be written.
#pragma once

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

// A copy of `model`'s metadata with plan.structure applied (buffers still point into the
// input). Operator codes for added operators are appended when the model has none for them.
ModelInfo with_structure(const ModelInfo& model, const EditPlan& plan);

// Index in `model.operator_codes` of builtin `code` (no custom code), or -1.
int32_t find_operator_code(const ModelInfo& model, int32_t code);

}  // namespace qimplant
