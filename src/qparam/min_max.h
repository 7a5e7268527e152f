// Scale and zero point from a float range (qparam.json "min" / "max"), computed the way the
// target's own quantizer computes them from a calibrated range:
//
// - TFLite (tensorflow/lite/tools/optimize/quantization_utils.cc): asymmetric tensors use
//   GetAsymmetricQuantizationParams: the range is widened to hold 0, scale = (max - min) /
//   (qmax - qmin) in float, zero point = round(qmin - min / scale) clamped to [qmin, qmax], so
//   0.0 is exactly representable; weights and int16 tensors are symmetric with zero point 0 and
//   scale = max(|min|, |max|) / qmax, on the narrow range (int8 weights -127..127:
//   kMaxQuantizedValue, SymmetricPerChannelQuantization; int16: SymmetricQuantizeFloatsToInt16's
//   32767). A range of only 0 gives TFLite a scale of 0, which no runtime accepts: an error here.
// - ONE (compiler/luci/pass/src/QuantizationUtils.cpp): asymmetric uint8 uses compute_asym_scale_zp
//   (the same nudging in double; scale at least 1e-5); symmetric int16 compute_sym_scale and int8
//   compute_sym_scale_s8 (scale = max(-min, max) / qmax, at least 1e-8). luci has no int8
//   asymmetric or 4-bit rule; those use the same formulas on the type's range.
//
// Which rule applies: constants (weights) are symmetric for signed types, as both quantizers do;
// uint8 weights are asymmetric (ONE's asym_wquant_per_channel); int16 is symmetric for every
// tensor; other activations are asymmetric. int32 / int64 take no range (biases are derived).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qparam/qparam_file.h"
#include "quant/qtype.h"
#include "rules/target.h"

namespace qimplant {

struct RangeParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  std::string rule;  // for messages and -v: "tflite asymmetric int8 [-128, 127]"
};

// `min` and `max` have one value per channel (same length, each min <= max, finite: checked by
// the reader). Throws Error starting with `where` when the target cannot represent the range.
RangeParams params_from_range(const std::vector<float>& min, const std::vector<float>& max,
                              QType qtype, bool is_constant, Target target,
                              const std::string& where);

// `e` with its range turned into scale and zero point (and range_rule set); `where` starts
// every message.
QParamEntry resolve_range(const QParamEntry& e, bool is_constant, Target target,
                          const std::string& where);

}  // namespace qimplant
