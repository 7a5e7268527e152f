// Carrying quantization through value-preserving operators (Reshape, Transpose, MaxPool2D, ...).
//
// In execution order, an unlisted float32 output of such an operator takes the type and
// quantization of the operator's data input once that input is quantized, so chains of them
// resolve in one pass. Per-channel parameters are not carried: their dimension would not
// survive a layout change.
#pragma once

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

// Adds Propagated edits to `plan`; returns how many it added.
size_t propagate_through_value_ops(const ModelInfo& model, EditPlan& plan);

}  // namespace qimplant
