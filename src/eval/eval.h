// Evaluating a quantized model against the float model it came from (`q-implant eval`).
//
// Both models' subgraph 0 run in the reference interpreter (exec/interpreter.h) on the same
// inputs (eval/inputs.h: npy files or seeded random samples). Their inputs must correspond by
// name and shape; graph outputs are matched by name. Every graph output, and with per_tensor
// every tensor whose name and shape both models share (the quantized model's extra QUANTIZE /
// DEQUANTIZE tensors have no float counterpart and are left out), is compared over all samples
// (eval/metrics.h): quantized values are dequantized with their own parameters, per channel,
// and their LSB is their scale; a float tensor the quantized model computes with a DEQUANTIZE
// takes its LSB from the DEQUANTIZE's input. Quantized constants are also compared with the float
// constants directly, and the mistakes behind a large difference diagnosed (eval/diagnose.h);
// computed tensors whose parameters do not fit the float values are reported (RangeFinding).
//
// Thresholds apply to graph outputs: the largest absolute error in real units (max_error) and
// the SNR (min_snr_db). evaluate_implant() first runs the implant (implant.h) into a temporary
// directory in $TMPDIR (else /tmp), removed afterwards, or into implant.output when that is set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/diagnose.h"
#include "eval/inputs.h"
#include "eval/metrics.h"
#include "implant.h"
#include "model/model_file.h"

namespace qimplant::eval {

struct EvalOptions {
  std::string float_model;
  std::string quantized_model;
  std::vector<InputFile> inputs;  // empty: random samples
  int64_t samples = 8;            // random samples
  uint64_t seed = 0;
  bool per_tensor = false;
};

struct TensorComparison {
  std::string name;
  bool constant = false;
  std::string float_type, quantized_type;
  std::vector<int32_t> shape;
  ErrorStats stats;
};

// A computed quantized tensor (per-tensor parameters) whose representable range does not fit
// the values the float model computes there, over all samples:
//   "clipped" - the float values pass the range by more than one step and over 1% of the
//               quantized values sit at the type's limits (the scale is too small);
//   "coarse"  - the float values span less than a tenth of the range (the scale is too large,
//               precision is lost).
struct RangeFinding {
  std::string tensor;
  std::string kind;
  double float_min = 0, float_max = 0;
  double range_min = 0, range_max = 0;  // (qmin - zp) * scale .. (qmax - zp) * scale
  double at_limits = 0;                 // share of quantized values at qmin or qmax
  double factor = 0;                    // about how far the scale is off
  std::string message;
};

struct EvalResult {
  std::string float_model, quantized_model;
  bool random_inputs = false;
  int64_t samples = 0;
  uint64_t seed = 0;
  std::vector<std::string> input_names, input_sources;
  std::vector<TensorComparison> outputs;  // float model output order
  std::vector<TensorComparison> tensors;  // per_tensor: quantized model tensor order
  ConstantDiagnosis constants;
  std::vector<RangeFinding> ranges;  // of the outputs and, with per_tensor, every tensor compared
};

EvalResult evaluate(const EvalOptions& options);
EvalResult evaluate(const ModelFile& float_model, const ModelFile& quantized,
                    const EvalOptions& options);

// `implant.input` is the float model; options.quantized_model is ignored.
EvalResult evaluate_implant(ImplantOptions implant, const EvalOptions& options,
                            ImplantResult* implant_result = nullptr);

struct Thresholds {
  std::optional<double> max_error;  // real units
  std::optional<double> min_snr_db;
};

// Empty when every graph output meets the thresholds; otherwise one message naming each output
// and figure that missed.
std::string check_thresholds(const EvalResult& result, const Thresholds& thresholds);

// The result as a table (one row per tensor, then the constant findings) and as JSON with the
// same figures; infinite SNRs are the strings "inf" / "-inf" in JSON, absent LSB figures null.
std::string eval_table(const EvalResult& result);
nlohmann::ordered_json eval_json(const EvalResult& result, const Thresholds& thresholds);

}  // namespace qimplant::eval
