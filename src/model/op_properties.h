// One declarative table of what q-implant knows about each operator.
//
// Propagation, derivation and the final check all read this table rather than special-casing
// operators in their own code. Codes are BuiltinOperator values, equal in circle and tflite for
// every operator listed.
#pragma once

#include <cstdint>
#include <vector>

namespace qimplant {

struct OpProperty {
  int32_t code = 0;
  // The output holds values of one input only rearranged, selected or padded with zero, so it
  // must carry that input's type and quantization (TFLite's "restrict same scale" ops).
  bool value_preserving = false;
  int data_input = 0;           // which input carries the values (Split's data is input 1)
  int weight_input = -1;        // constant weight operand, if any
  int weight_channel_dim = -1;  // its output-channel dimension (per-channel quantization)
  int bias_input = -1;          // bias operand, if any
  // Operands that are shapes, axes, indices or sizes: integer, never quantized.
  std::vector<int> index_inputs;
  // The output range is fixed by the operator (SOFTMAX, LOGISTIC, TANH): its parameters are
  // set by the target, not by calibration.
  bool fixed_output = false;
  // All inputs and the output must carry the same parameters (CONCATENATION, PACK).
  bool inputs_share_output = false;
  // Inputs that must carry the data input's parameters (PADV2's pad value).
  std::vector<int> share_data_input;
  // A float tensor may legitimately enter (QUANTIZE) or leave (DEQUANTIZE) this operator.
  bool float_input_ok = false;
  bool float_output_ok = false;
  // Converters insert it between two layers without changing what the values mean (layout and
  // shape changes, padding, type conversions), so structure matching (src/match/) walks through
  // it when the source graph has no node for it.
  bool converter_inserted = false;
};

// The entry for `code`, or nullptr for an operator the table does not describe.
const OpProperty* op_property(int32_t code);

}  // namespace qimplant
