// Exact type re-expressions: the same real values in the other 8-bit type.
//
// An 8-bit tensor with scale s and zero point z holds the real values s * (q - z); as the other
// 8-bit type it holds the same values with zero point z + 128 (int8 -> uint8) or z - 128, and
// every stored byte flipped in its top bit (q + 128 mod 256). Biases (int32 / int64, scale
// input x weight) do not change, since no scale changes.
// - `activation_type` ("int8" / "uint8", --activation-type): every planned 8-bit tensor that is
//   not an operator's weight (model inputs and outputs, constant operands included) takes it;
// - weights: an edited 8-bit weight whose type the target's kernel does not read next to its
//   activation type (op_properties' type table) is re-expressed when the other 8-bit type is one
//   the kernel reads, with a granularity it takes: int8 -> uint8 always (per channel only where
//   the target's uint8 kernel takes per-channel weights), uint8 -> int8 only with every zero
//   point 128 (int8 weights are symmetric).
// Only tensors the plan writes are re-expressed; each gets its reason in TensorEdit::reexpressed.
// Runs after propagation and derivation, before the float interface and buffer placement.
#pragma once

#include <string>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "rules/target.h"

namespace qimplant {

struct ReexpressOptions {
  Target target = Target::ONE;
  std::string activation_type;  // "", "int8" or "uint8"
};

// Returns how many tensors it re-expressed. Throws Error for an activation type other than
// int8 / uint8.
size_t reexpress_types(const ModelInfo& model, EditPlan& plan, const ReexpressOptions& options);

}  // namespace qimplant
