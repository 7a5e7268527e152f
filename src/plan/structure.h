// The model as it will be once the plan's structural edits (added tensors and operators,
// rewired operands) are made, so that checks look at the graph that will be written.
#pragma once

#include <vector>

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

// One operator of the output: an operator of the input model or one the plan adds.
struct OperatorSlot {
  bool added = false;  // index is into plan.structure.operators, else into the input's operators
  uint32_t index = 0;
};

// The operators of subgraph `s` in output order: prepended ones first, each `before` one just
// ahead of its operator, the rest after all existing ones; added operators at one place keep
// their order in the plan. The writer and with_structure both use it, so they agree.
std::vector<OperatorSlot> operator_order(size_t existing_count, const StructureEdit& structure,
                                         uint32_t s);

// A copy of `model`'s metadata with plan.structure applied (buffers still point into the
// input). Operator codes for added operators are appended when the model has none for them.
ModelInfo with_structure(const ModelInfo& model, const EditPlan& plan);

// Index in `model.operator_codes` of builtin `code` (no custom code), or -1.
int32_t find_operator_code(const ModelInfo& model, int32_t code);

}  // namespace qimplant
