// One declarative table of what q-implant knows about each operator.
//
// Propagation, derivation and the final check all read this table rather than special-casing
// operators in their own code. Codes are BuiltinOperator values, equal in circle and tflite for
// every operator listed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "rules/target.h"

namespace qimplant {

// For one activation type, the weight types a target's kernel reads correctly, and whether it
// takes them per channel. A weight type not listed is read as if it were one (TFLite's uint8
// CONV_2D / FULLY_CONNECTED read an int8 filter as uint8) or refused when the model loads.
struct WeightTypeRule {
  TensorType activation;
  std::vector<TensorType> weights;
  bool per_channel = true;
};

// What one target's kernel of an operator does, where targets differ (README, "Type table").
struct TargetKernel {
  // Weighted operators: one row per activation type the kernel runs; an activation type
  // without a row is not checked here.
  std::vector<WeightTypeRule> weight_types;
  // Operators whose inputs share the output's parameters (CONCATENATION, PACK): the activation
  // types for which the kernel requantizes an input with other parameters itself. For the
  // others it copies raw values, so such an input needs a requantizing QUANTIZE before it.
  std::vector<TensorType> rescales_inputs;
};

struct OpProperty {
  int32_t code = 0;
  // The output holds values of one input only rearranged, selected or padded with zero, so it
  // must carry that input's type and quantization (TFLite's "restrict same scale" ops).
  bool value_preserving = false;
  int data_input = 0;           // which input carries the values (Split's data is input 1)
  int weight_input = -1;        // constant weight operand, if any
  int weight_channel_dim = -1;  // its output-channel dimension (per-channel quantization)
  int bias_input = -1;          // bias operand, if any
  // The weight's layout as axis letters (O output channels, I input channels per group,
  // H, W kernel size): "OHWI" for CONV_2D and TRANSPOSE_CONV, "IHWO" for DEPTHWISE_CONV_2D
  // ([1, kH, kW, C*M]), "OI" for FULLY_CONNECTED; empty without a weight. Values another
  // producer hands over in its own layout (ONNX's OIHW) are moved to it (qparam/value_layout.h).
  std::string weight_layout;
  // Operands that are shapes, axes, indices or sizes: integer, never quantized.
  std::vector<int> index_inputs;
  // The output range is fixed by the operator (SOFTMAX, LOGISTIC, TANH): its parameters are
  // set by the target, not by calibration.
  bool fixed_output = false;
  // All inputs and the output must carry the same parameters (CONCATENATION, PACK).
  bool inputs_share_output = false;
  // Inputs that must carry the data input's parameters (PADV2's pad value).
  std::vector<int> share_data_input;
  // The output's new elements are the data input's zero point (PAD, SPACE_TO_BATCH_ND; PADV2's
  // pad value shares the data input's parameters), so that zero point must be one value.
  bool pads_with_zero_point = false;
  // A float tensor may legitimately enter (QUANTIZE) or leave (DEQUANTIZE) this operator.
  bool float_input_ok = false;
  bool float_output_ok = false;
  // The target computes the output with the data input's parameters when the model leaves
  // them out (RELU, RELU6, RELU_N1_TO_1, AVERAGE_POOL_2D, MEAN over H, W with keep_dims):
  // PyTorch and TFLite keep the input's parameters there, so a missing output takes them.
  // Unlike value_preserving, other given parameters are fine (the kernels requantize).
  bool output_from_input = false;
  // MEAN: only over axes {1, 2} of a rank-4 input keeping its rank (the spatial mean).
  bool only_spatial_keep_dims = false;
  TargetKernel tflite, one;

  const TargetKernel& kernel(Target target) const {
    return target == Target::TFLite ? tflite : one;
  }
  // Whether input `i` is a shape / axis / index operand.
  bool is_index_input(size_t i) const;
  // The row for `activation` on `target`, or nullptr when the table has none.
  const WeightTypeRule* weight_rule(Target target, int8_t activation) const;
  // Whether `target`'s kernel requantizes inputs of type `type` whose parameters differ from
  // the output's (TFLite's uint8 CONCATENATION does; its int8 / int16 one and PACK do not).
  bool rescales_inputs(Target target, int8_t type) const;
  // Converters insert it between two layers without changing what the values mean (layout and
  // shape changes, padding, type conversions), so structure matching (src/match/) walks through
  // it when the source graph has no node for it.
  bool converter_inserted = false;
};

// The entry for `code`, or nullptr for an operator the table does not describe.
const OpProperty* op_property(int32_t code);

}  // namespace qimplant
