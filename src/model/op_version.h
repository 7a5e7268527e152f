// The operator version TFLite's versioning gives an operator for its operand types.
//
// Follows GetBuiltinOperatorVersion in tensorflow/lite/tools/versioning/op_version.cc: an int8
// CONV_2D is version 3, an int8 FULLY_CONNECTED 4, a per-channel DEQUANTIZE 5. Only what the
// operands show is read (types, ranks, quantization); builtin options (dilation, keep_num_dims,
// half_pixel_centers, ...) are not, because quantizing does not change them and the input
// model's version already covers them: callers keep the larger of the two, as TFLite's
// UpdateOpVersion does. Codes are BuiltinOperator values, equal in circle and tflite.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"

namespace qimplant {

// One operand as the operator will see it; `present` is false for an omitted optional one.
struct OperandSig {
  bool present = false;
  int8_t type = 0;                              // TensorType value
  const std::vector<int32_t>* shape = nullptr;  // nullptr: unknown
  const QuantParams* quant = nullptr;           // nullptr: none
};

struct OpSignature {
  int32_t code = 0;
  std::vector<OperandSig> inputs, outputs;
};

// The lowest version of `sig.code` that runs these operand types; 1 for operators the table
// does not know.
int32_t operand_version(const OpSignature& sig);

}  // namespace qimplant
