// The runtime a quantized model is made for, and the facts that differ between targets.
//
// TFLite: the TFLite quantization spec (int8 asymmetric activations, symmetric int8 weights,
// int16 symmetric "16x8"). ONE: luci's rules (uint8 asymmetric or int16 symmetric).
// Default: ONE for circle models, TFLite for tflite models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/model.h"
#include "quant/qtype.h"

namespace qimplant {

enum class Target { TFLite, ONE };
const char* target_name(Target t);  // "tflite" / "one"
std::optional<Target> parse_target(const std::string& text);
Target default_target(Format format);

struct FixedParams {
  float scale;
  int64_t zero_point;
};

// The output parameters `target` requires for operators with a fixed output range (SOFTMAX,
// LOGISTIC, TANH) at activation type `qtype`; nullopt when the op has none or the target does
// not define that combination.
std::optional<FixedParams> fixed_output_params(Target target, int32_t op_code, QType qtype);

// Bias type for an activation type: int64 for int16 activations, int32 otherwise.
QType bias_qtype(QType activation);

}  // namespace qimplant
