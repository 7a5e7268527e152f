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

// The operator code index of each added operator (by its index in `structure.operators`): the
// model's code for its builtin when it has one, else a code appended after the model's, in
// order of first use (`appended` receives those). with_structure and the writer both use it.
std::vector<uint32_t> added_operator_codes(const ModelInfo& model, const StructureEdit& structure,
                                           std::vector<OperatorCodeInfo>& appended);

// The version each operator code of `planned` (the model with the plan's structure applied)
// needs with the plan's types: the larger of its own and each of its operators'
// operand_version (model/op_version.h), as TFLite's UpdateOpVersion sets it. Custom codes keep
// theirs.
std::vector<int32_t> operator_code_versions(const ModelInfo& planned, const EditPlan& plan);

}  // namespace qimplant
