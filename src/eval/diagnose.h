// Explaining why a quantized constant does not hold the float model's values.
//
// Every quantized constant of the quantized model (subgraph 0) with a FLOAT32 constant of the
// same name and shape in the float model is dequantized and compared with it. A tensor whose
// error stays within kTolerance LSB (of its own, per-channel, scale) is fine. Otherwise the
// common mistakes are tried, each as a fix of the stored data, and the first that brings the
// error within the tolerance is reported:
//   layout     - for the weight operand of CONV_2D (model layout OHWI: PyTorch OIHW, TF HWIO),
//                DEPTHWISE_CONV_2D ([1, H, W, C]: PyTorch [C, 1, H, W]) and FULLY_CONNECTED
//                ([out, in]: transposed [in, out]): the stored elements read in that layout
//                and transposed back;
//   zero point - the zero points negated;
//   scale      - a scale off by a factor (least-squares fit, one for the tensor and one per
//                channel, each from at least 4 elements) outside [0.5, 2];
// and when none does, the tensor is reported as a plain mismatch, with the share of its values
// sitting at the type's limits (clipped: a scale too small) when that is over 1%.
#pragma once

#include <string>
#include <vector>

#include "eval/metrics.h"
#include "model/model_file.h"

namespace qimplant::eval {

constexpr double kTolerance = 1.5;  // LSB

struct ConstantFinding {
  std::string tensor;
  std::string kind;      // "layout", "zero_point", "scale", "mismatch"
  std::string layout;    // for kind "layout": "OIHW", "HWIO", "[in, out]"...
  double factor = 0;     // for kind "scale": the fitted factor (tensor-wide)
  ErrorStats as_stored;  // dequantized as stored vs the float constant
  ErrorStats fixed;      // after the fix (kind != "mismatch")
  std::string message;   // one line, for people
};

// One comparison per constant tensor present in both models (findings included).
struct ConstantComparison {
  std::string tensor;
  ErrorStats stats;
};

struct ConstantDiagnosis {
  std::vector<ConstantComparison> compared;
  std::vector<ConstantFinding> findings;
};

ConstantDiagnosis diagnose_constants(const ModelFile& float_model, const ModelFile& quantized);

// The mistaken layouts tried for the weight of operator `code` with rank `rank`, each as a name
// and the permutation of model dimensions that layout stores them in (layout dim k is model
// dim perm[k]).
struct Layout {
  std::string name;
  std::vector<int> perm;
};
std::vector<Layout> candidate_layouts(int32_t code, size_t rank);

// `stored` (C order in the model's shape) reread as if it had been written in `layout`, then
// transposed back to the model's dimension order.
std::vector<int64_t> reread_in_layout(const std::vector<int64_t>& stored,
                                      const std::vector<int32_t>& shape, const Layout& layout);

}  // namespace qimplant::eval
