// Filling in what the operator rules determine when qparam.json leaves it out.
//
// - bias of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV: int32 (int64 for
//   int16 activations), scale = input scale x weight scale per channel, zero point 0;
// - outputs of SOFTMAX / LOGISTIC / TANH: the target's fixed parameters;
// - CONCATENATION / PACK: an output missing parameters takes its inputs' common ones; inputs
//   missing them take the output's (values the user gave are never overwritten);
// - float constants read by quantized operators: parameters from their own range (asymmetric
//   for 8-bit, symmetric for 16-bit; weights symmetric per channel), PADV2's pad value the
//   input's parameters.
// Every derived tensor is a Derived edit whose `source` says which rule set it.
#pragma once

#include <cstddef>

#include <string>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "quant/quantize.h"
#include "rules/target.h"

namespace qimplant {

struct DeriveOptions {
  bool bias = true;
  bool fixed_outputs = true;
  bool same_scale = true;
  bool constants = true;
  Target target = Target::ONE;
  Rounding rounding = Rounding::HalfToEven;
  std::string model_path;  // for messages
};

// One pass over all operators in execution order; returns how many edits it added. Callers
// alternate it with propagation until neither adds anything.
size_t derive_missing(const ModelInfo& model, EditPlan& plan, const DeriveOptions& options);

// Parameters covering [min, max] (always including 0) for `qtype`; symmetric when asked. A range
// too small for a normal float scale (denormal data) is treated as empty (scale 1), so the scale
// is always finite and > 0. min and max must be finite.
QuantParams params_from_range(float min, float max, QType qtype, bool symmetric);

}  // namespace qimplant
