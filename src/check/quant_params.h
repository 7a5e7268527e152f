// Whether a tensor's quantization parameters can be used at all, whatever produced them.
//
// Runtimes divide by the scale, store the zero point in the element type and index the scales by
// channel, so a scale that is not finite and > 0, a zero point outside the type, scale and zero
// point vectors of different lengths, or a per-channel vector whose length differs from the
// quantized dimension make a model a runtime refuses (tensorflow/lite/core/interpreter_builder.cc
// checks the lengths; the kernels' Prepare computes multipliers from the scales) or computes
// garbage with. check and the implant's rule check report each as an error.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"

namespace qimplant {

// Every problem of `q` on a tensor of `type` and `shape`, one sentence each (empty: usable).
// Tensors that carry no parameters (both vectors empty) and float tensors have none.
std::vector<std::string> quant_params_problems(int8_t type, const std::vector<int32_t>& shape,
                                               const QuantParams& q);

}  // namespace qimplant
