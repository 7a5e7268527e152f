// Requantizing QUANTIZE operators for same-scale conflicts, as TFLite's converter inserts them.
//
// Where the target's kernel copies raw values (op_properties: every value-preserving operator;
// CONCATENATION / PACK unless `rescales_inputs` lists the type, as for TFLite's uint8
// CONCATENATION) and the parameters given disagree, the model keeps every given value and a
// QUANTIZE makes them agree:
// - an input of CONCATENATION / PACK whose per-tensor parameters differ from the output's gets
//   a QUANTIZE before the operator into "<input>_requantized" (the output's parameters), which
//   the operator reads instead;
// - a value-preserving operator whose output was given parameters other than its data input's
//   writes "<output>_same_scale" (the input's parameters) instead, and a QUANTIZE right after it
//   requantizes that into the output.
// Only per-tensor parameters of one integer type on both sides are handled; anything else, and
// tensors kept float, are left to the rule check. Runs after the float interface (it reads the
// operands as rewired) and before mixed precision.
#pragma once

#include <cstddef>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "rules/target.h"

namespace qimplant {

// Adds the operators, tensors and rewires to plan.structure; returns how many QUANTIZE it adds.
size_t plan_requantize(const ModelInfo& model, EditPlan& plan, Target target);

}  // namespace qimplant
