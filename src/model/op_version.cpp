#include "model/op_version.h"

#include <algorithm>

#include "model/tensor_type.h"
#include "schema/circle_generated.h"

namespace qimplant {

namespace {

using T = TensorType;

const OperandSig& operand(const std::vector<OperandSig>& list, size_t i) {
  static const OperandSig absent;
  return i < list.size() ? list[i] : absent;
}

bool is(const OperandSig& o, TensorType t) {
  return o.present && o.type == t;
}

size_t rank(const OperandSig& o) {
  return o.shape ? o.shape->size() : 0;
}

bool quantized(const OperandSig& o) {
  return o.quant && !o.quant->scale.empty();
}

bool per_channel(const OperandSig& o) {
  return o.quant && o.quant->scale.size() > 1;
}

// op_version.cc's NeedBroadcastForBinaryInputs and GetInputMaxDims, together.
bool broadcast_over_rank4(const OpSignature& sig) {
  if (sig.inputs.size() < 2) return false;
  const OperandSig &a = sig.inputs[0], &b = sig.inputs[1];
  const bool same = a.shape && b.shape ? *a.shape == *b.shape : a.shape == b.shape;
  size_t max_rank = 0;
  for (const OperandSig& o : sig.inputs) max_rank = std::max(max_rank, rank(o));
  return !same && max_rank > 4;
}

// The scale ratio MUL's version 3 is about (its kernel then rescales by a factor >= 1).
bool mul_rescale_at_least_one(const OpSignature& sig) {
  const OperandSig &a = operand(sig.inputs, 0), &b = operand(sig.inputs, 1),
                   &out = operand(sig.outputs, 0);
  if (!quantized(a) || !quantized(b) || !quantized(out)) return false;
  const double sa = a.quant->scale[0], sb = b.quant->scale[0], so = out.quant->scale[0];
  return sa != 0 && sb != 0 && so != 0 && sa * sb / so >= 1.0;
}

// The common shape of many rows: int16 -> 3, int8 -> 2, else 1 (SOFTMAX, MEAN, RELU6, ...).
int32_t int16_3_int8_2(const OperandSig& x) {
  if (is(x, T::Int16)) return 3;
  if (is(x, T::Int8)) return 2;
  return 1;
}

}  // namespace

int32_t operand_version(const OpSignature& sig) {
  using namespace circle;
  const OperandSig& in0 = operand(sig.inputs, 0);
  const OperandSig& in1 = operand(sig.inputs, 1);
  const OperandSig& in2 = operand(sig.inputs, 2);
  const OperandSig& out0 = operand(sig.outputs, 0);
  auto all3 = [&](TensorType a, TensorType w, TensorType o) {
    return is(in0, a) && is(in1, w) && is(out0, o);
  };
  switch (sig.code) {
    case BuiltinOperator_CONV_2D: {
      // Grouped: the filter's input channels are fewer than the input's.
      const bool grouped = rank(in0) == 4 && rank(in1) == 4 && (*in0.shape)[3] > 0 &&
                           (*in1.shape)[3] > 0 && (*in0.shape)[3] != (*in1.shape)[3];
      if (grouped) return 6;
      // op_version.cc compares the second output for this row, which a CONV_2D does not have;
      // the first one is what it means.
      if (all3(T::Int16, T::Int16, T::Int16)) return 4;
      if (all3(T::Int8, T::Int8, T::Int8)) return 3;
      if (all3(T::Int8, T::Int4, T::Int8)) return 7;
      if (all3(T::Float32, T::Int8, T::Float32)) return per_channel(in1) ? 5 : 2;
      return 1;
    }
    case BuiltinOperator_DEPTHWISE_CONV_2D:
      if (all3(T::Int16, T::Int16, T::Int16)) return 5;
      if (all3(T::Float32, T::Int8, T::Float32)) return per_channel(in1) ? 6 : 4;
      if (all3(T::Int8, T::Int8, T::Int8)) return 3;
      if (all3(T::Int8, T::Int4, T::Int8)) return 7;
      return 1;
    case BuiltinOperator_FULLY_CONNECTED:
      if (all3(T::Float32, T::Int8, T::Float32) && per_channel(in1)) return 12;
      if (all3(T::Int16, T::Int16, T::Int16)) return 7;
      if (sig.inputs.size() == 2) return 6;  // no bias operand at all
      if (all3(T::Int8, T::Int8, T::Int8)) return 4;
      if (all3(T::Int8, T::Int4, T::Int8)) return 10;
      if (all3(T::Float32, T::Int8, T::Float32)) return 3;
      return 1;
    case BuiltinOperator_TRANSPOSE_CONV:
      if (sig.inputs.size() == 4 && operand(sig.inputs, 3).present) return 3;
      if (is(in1, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_GATHER:
      if (is(in0, T::Int4)) return 7;
      if (is(in1, T::Int16)) return 6;
      if (is(in0, T::Int16)) return 4;
      if (is(in0, T::Bool)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_GATHER_ND:
      if (is(in0, T::Bool)) return 5;
      if (is(in1, T::Int16)) return 4;
      if (is(in0, T::Int16)) return 3;
      if (is(in0, T::String)) return 2;
      return 1;
    case BuiltinOperator_SVDF:
      if (is(in0, T::Int8)) return 3;
      if (all3(T::Float32, T::Int8, T::Float32)) return 2;
      return 1;
    case BuiltinOperator_SIGN:
      return is(in0, T::Int32) ? 2 : 1;
    case BuiltinOperator_MUL:
      if ((is(in0, T::Int16) && !quantized(in0)) || is(in0, T::UInt32)) return 7;
      if (is(in0, T::Complex64)) return 6;
      if (is(in0, T::Int64)) return 5;
      if (is(in0, T::Int16)) return 4;
      if (mul_rescale_at_least_one(sig)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_ADD:
      if (is(in0, T::Int16) && !quantized(in0)) return 5;
      if (is(in0, T::Int64)) return 4;
      // Version 3 (int16 without power-of-two scales) is an option, pot_scale_int16.
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_SUB:
      // Version 5 (int16 without power-of-two scales) is an option, pot_scale_int16.
      if (is(in0, T::Int64)) return 4;
      if (broadcast_over_rank4(sig)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_DIV:
      return broadcast_over_rank4(sig) ? 2 : 1;
    case BuiltinOperator_MAXIMUM:
    case BuiltinOperator_MINIMUM:
      if (is(in0, T::Int16) && is(out0, T::Int16)) return 4;
      if (broadcast_over_rank4(sig)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_MAX_POOL_2D:
    case BuiltinOperator_AVERAGE_POOL_2D:
    case BuiltinOperator_TANH:
    case BuiltinOperator_LOGISTIC:
      if (is(in0, T::Int16) && is(out0, T::Int16)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_TRANSPOSE:
      if (rank(in0) > 5) return 6;
      if (is(in0, T::Int16)) return 5;
      if (rank(in0) > 4) return 4;
      if (is(in0, T::Bool)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_SPLIT:  // the data is input 1
      if (is(in1, T::Int16)) return 4;
      if (is(in1, T::Int32)) return 3;
      if (is(in1, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_SPARSE_TO_DENSE:
      if (is(in2, T::Int8) || is(in2, T::UInt8)) return 3;
      if (is(in2, T::Int64)) return 2;
      return 1;
    case BuiltinOperator_SLICE:
      if (is(in0, T::UInt32)) return 6;
      if (rank(in0) > 4) return 5;
      if (is(in0, T::Int16)) return 4;
      if (is(in0, T::String)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_UNPACK:
      if (is(in0, T::Int8) || is(in0, T::UInt8)) return 2;
      if (is(in0, T::Bool)) return 3;
      if (is(in0, T::Int16) && is(out0, T::Int16)) return 4;
      return 1;
    case BuiltinOperator_DEQUANTIZE:
      if (is(in0, T::Int4)) return 6;
      if (is(in0, T::Int16) || is(in0, T::Float16)) return 3;
      if (is(in0, T::Int8)) return per_channel(in0) ? 5 : 2;
      return 1;
    case BuiltinOperator_QUANTIZE:
      if (is(in0, T::Int4) || is(out0, T::Int4)) return 4;
      if (per_channel(out0)) return 3;
      if (is(out0, T::Int16)) return 2;
      return 1;
    case BuiltinOperator_FLOOR_DIV:
      if (is(in0, T::Int16) || is(in0, T::Int8)) return 3;
      if (is(in0, T::Float32)) return 2;
      return 1;
    case BuiltinOperator_FLOOR_MOD:
      return is(in0, T::Int16) || is(in0, T::Int8) ? 2 : 1;
    case BuiltinOperator_L2_NORMALIZATION:
      return is(out0, T::Int8) ? 2 : 1;
    case BuiltinOperator_ABS:
      if (is(in0, T::Int32)) return 5;
      if (is(in0, T::Int16)) return quantized(in0) ? 3 : 4;
      if (is(in0, T::Int8) || is(in0, T::UInt8)) return 2;
      return 1;
    case BuiltinOperator_RELU:
      if (is(in0, T::Int16)) return 3;
      if (is(in0, T::Int8) || is(in0, T::UInt8)) return 2;
      return 1;
    case BuiltinOperator_STRIDED_SLICE:
      if (is(in0, T::UInt32)) return 7;
      if (is(in0, T::String)) return 5;
      if (rank(in0) > 4) return 4;
      if (is(in0, T::Bool)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_REVERSE_V2:
      if (is(in0, T::Int8)) return 3;
      if (is(in0, T::Bool)) return 2;
      return 1;
    case BuiltinOperator_RESIZE_BILINEAR:
    case BuiltinOperator_RESIZE_NEAREST_NEIGHBOR:
      // Version 3 (half_pixel_centers, align_corners) is an option.
      if (is(in0, T::Int16)) return 4;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_PACK:
      if (is(in0, T::Int8)) return 2;
      if (is(in0, T::Int16) && is(out0, T::Int16)) return 3;
      if (is(in0, T::UInt32)) return 4;
      return 1;
    case BuiltinOperator_TILE:
      if (is(in0, T::Int8)) return 3;
      if (is(in0, T::String)) return 2;
      return 1;
    case BuiltinOperator_SQUEEZE:
      return is(in0, T::String) ? 2 : 1;
    case BuiltinOperator_SPACE_TO_BATCH_ND:
    case BuiltinOperator_BATCH_TO_SPACE_ND:
      if (is(in0, T::Int16)) return 4;
      if (rank(in0) != 4) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_FILL:
      if (sig.inputs.size() >= 2) {
        if (is(in1, T::Float16)) return 4;
        if (is(in1, T::Int8) || is(in1, T::Int16)) return 3;
        if (is(in1, T::Bool) || is(in1, T::String)) return 2;
      }
      return 1;
    case BuiltinOperator_EQUAL:
      if (is(in0, T::Int16)) return 4;
      if (is(in0, T::String)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_NOT_EQUAL:
      if (is(in0, T::String)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_LEAKY_RELU:
      return is(in0, T::Int16) ? 2 : 1;
    case BuiltinOperator_RANGE:
      return is(in0, T::Int64) ? 2 : 1;
    case BuiltinOperator_BATCH_MATMUL:
      return int16_3_int8_2(in0);
    case BuiltinOperator_PAD:
    case BuiltinOperator_PADV2:
      if (rank(in0) > 4) return 4;
      return int16_3_int8_2(in0);
    case BuiltinOperator_CONCATENATION:
      if (is(in0, T::UInt32)) return 4;
      return int16_3_int8_2(in0);
    case BuiltinOperator_SOFTMAX:
    case BuiltinOperator_MEAN:
    case BuiltinOperator_MIRROR_PAD:
    case BuiltinOperator_REDUCE_MAX:
    case BuiltinOperator_REDUCE_MIN:
    case BuiltinOperator_RELU6:
    case BuiltinOperator_RSQRT:
    case BuiltinOperator_LESS:
    case BuiltinOperator_GREATER_EQUAL:
      return int16_3_int8_2(in0);
    case BuiltinOperator_ARG_MAX:
    case BuiltinOperator_ARG_MIN:
      if (is(in0, T::Bool)) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_SELECT:
      if (is(in0, T::UInt32)) return 4;
      if (rank(in0) == 5 || rank(in1) == 5 || rank(in2) == 5) return 3;
      if (is(in0, T::Int8)) return 2;
      return 1;
    case BuiltinOperator_SELECT_V2:
      return is(in0, T::UInt32) ? 2 : 1;
    case BuiltinOperator_SPACE_TO_DEPTH:
    case BuiltinOperator_SPLIT_V:
    case BuiltinOperator_SUM:
    case BuiltinOperator_LOG_SOFTMAX:
    case BuiltinOperator_GREATER:
    case BuiltinOperator_LESS_EQUAL:
    case BuiltinOperator_SQUARED_DIFFERENCE:
    case BuiltinOperator_DEPTH_TO_SPACE:
      return is(in0, T::Int8) ? 2 : 1;
    case BuiltinOperator_TOPK_V2:
      if (is(in0, T::Int16) || is(in1, T::Int16) || is(operand(sig.outputs, 1), T::Int16)) return 3;
      return is(in0, T::Int8) ? 2 : 1;
    case BuiltinOperator_EXP:
    case BuiltinOperator_LOG:
    case BuiltinOperator_REDUCE_PROD:
      return is(in0, T::Int8) || is(in0, T::Int16) ? 2 : 1;
    case BuiltinOperator_BROADCAST_TO:
      // Version 1 was withdrawn: the lowest is 2.
      return is(in0, T::Int8) || is(in0, T::Int16) ? 3 : 2;
    case BuiltinOperator_CAST: {
      auto either = [&](TensorType t) { return is(in0, t) || is(out0, t); };
      if (either(T::BFloat16)) return 7;
      if (is(in0, T::Int4) && is(out0, T::Float32)) return 6;
      if (either(T::Float64) || either(T::Float16)) return 5;
      if (either(T::UInt16)) return 4;
      if (either(T::Int8)) return 3;
      if (either(T::UInt32)) return 2;
      return 1;
    }
    case BuiltinOperator_WHERE:
      return is(in0, T::Bool) ? 1 : 2;
    case BuiltinOperator_GELU:
      return is(in0, T::Int8) || is(in0, T::UInt8) ? 2 : 1;
    default:
      return 1;
  }
}

}  // namespace qimplant
