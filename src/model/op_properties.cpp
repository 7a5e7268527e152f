#include "model/op_properties.h"

#include <algorithm>
#include <unordered_map>

#include "schema/circle_generated.h"

namespace qimplant {

namespace {

OpProperty preserving(int32_t code, int data_input = 0, std::vector<int> index_inputs = {}) {
  OpProperty p;
  p.code = code;
  p.value_preserving = true;
  p.data_input = data_input;
  p.index_inputs = std::move(index_inputs);
  return p;
}

OpProperty weighted(int32_t code, int weight, int channel_dim, int bias, std::string layout) {
  OpProperty p;
  p.code = code;
  p.weight_input = weight;
  p.weight_channel_dim = channel_dim;
  p.bias_input = bias;
  p.weight_layout = std::move(layout);
  return p;
}

OpProperty with_indices(int32_t code, std::vector<int> index_inputs) {
  OpProperty p;
  p.code = code;
  p.index_inputs = std::move(index_inputs);
  return p;
}

// MEAN over H, W with keep_dims: TFLite's quantized mean has a path for exactly this case
// (tensorflow/lite/kernels/reduce.cc) and PyTorch's adaptive average pool to 1x1 keeps the
// input's parameters, so a missing output takes them there; other means need their own.
OpProperty mean_row() {
  OpProperty p = with_indices(circle::BuiltinOperator_MEAN, {1});
  p.output_from_input = true;
  p.only_spatial_keep_dims = true;
  return p;
}

std::unordered_map<int32_t, OpProperty> make_table() {
  using namespace circle;
  std::vector<OpProperty> rows = {
      // Value-preserving: shape and layout changes, selections, max pooling, zero padding.
      preserving(BuiltinOperator_RESHAPE, 0, {1}),
      preserving(BuiltinOperator_SQUEEZE),
      preserving(BuiltinOperator_EXPAND_DIMS, 0, {1}),
      preserving(BuiltinOperator_TRANSPOSE, 0, {1}),
      preserving(BuiltinOperator_SPLIT, 1, {0}),
      preserving(BuiltinOperator_SPLIT_V, 0, {1, 2}),
      preserving(BuiltinOperator_SLICE, 0, {1, 2}),
      preserving(BuiltinOperator_STRIDED_SLICE, 0, {1, 2, 3}),
      preserving(BuiltinOperator_GATHER, 0, {1}),
      preserving(BuiltinOperator_GATHER_ND, 0, {1}),
      preserving(BuiltinOperator_MAX_POOL_2D),
      preserving(BuiltinOperator_DEPTH_TO_SPACE),
      preserving(BuiltinOperator_SPACE_TO_DEPTH),
      preserving(BuiltinOperator_BATCH_TO_SPACE_ND, 0, {1, 2}),
      preserving(BuiltinOperator_SPACE_TO_BATCH_ND, 0, {1, 2}),
      preserving(BuiltinOperator_UNPACK),
      preserving(BuiltinOperator_TILE, 0, {1}),
      preserving(BuiltinOperator_REVERSE_V2, 0, {1}),
      preserving(BuiltinOperator_BROADCAST_TO, 0, {1}),
      preserving(BuiltinOperator_RESIZE_NEAREST_NEIGHBOR, 0, {1}),
      preserving(BuiltinOperator_REDUCE_MAX, 0, {1}),
      preserving(BuiltinOperator_REDUCE_MIN, 0, {1}),
      preserving(BuiltinOperator_PAD, 0, {1}),
      preserving(BuiltinOperator_MIRROR_PAD, 0, {1}),
      // Operators with a weight and a bias. Filter layouts: tensorflow/lite/kernels/conv.cc
      // ([out, kH, kW, in]), depthwise_conv.cc ([1, kH, kW, out]), fully_connected.cc
      // ([out, in]), transpose_conv.cc ([out, kH, kW, in]).
      weighted(BuiltinOperator_CONV_2D, 1, 0, 2, "OHWI"),
      weighted(BuiltinOperator_DEPTHWISE_CONV_2D, 1, 3, 2, "IHWO"),
      weighted(BuiltinOperator_FULLY_CONNECTED, 1, 0, 2, "OI"),
      weighted(BuiltinOperator_TRANSPOSE_CONV, 1, 0, 3, "OHWI"),
      // Other operators with integer operands.
      mean_row(),
      with_indices(BuiltinOperator_SUM, {1}),
      with_indices(BuiltinOperator_REDUCE_PROD, {1}),
      preserving(BuiltinOperator_PADV2, 0, {1}),
      with_indices(BuiltinOperator_RESIZE_BILINEAR, {1}),
      with_indices(BuiltinOperator_ARG_MAX, {1}),
      with_indices(BuiltinOperator_ARG_MIN, {1}),
  };
  for (int32_t code : {BuiltinOperator_SOFTMAX, BuiltinOperator_LOGISTIC, BuiltinOperator_TANH}) {
    OpProperty p;
    p.code = code;
    p.fixed_output = true;
    rows.push_back(p);
  }
  for (int32_t code : {BuiltinOperator_CONCATENATION, BuiltinOperator_PACK}) {
    OpProperty p;
    p.code = code;
    p.inputs_share_output = true;
    rows.push_back(p);
  }
  OpProperty quantize;
  quantize.code = BuiltinOperator_QUANTIZE;
  quantize.float_input_ok = true;
  rows.push_back(quantize);
  OpProperty dequantize;
  dequantize.code = BuiltinOperator_DEQUANTIZE;
  dequantize.float_output_ok = true;
  rows.push_back(dequantize);

  for (int32_t code : {BuiltinOperator_RELU, BuiltinOperator_RELU6, BuiltinOperator_RELU_N1_TO_1,
                       BuiltinOperator_AVERAGE_POOL_2D}) {
    OpProperty p;
    p.code = code;
    p.output_from_input = true;
    rows.push_back(p);
  }

  // Which weight types each target's kernels read, per activation type.
  // TFLite (tensorflow/lite/kernels/conv.cc, depthwise_conv.cc, fully_connected.cc; applied to
  // TRANSPOSE_CONV alike, whose quantized paths follow conv's): the uint8 path reads the filter as
  // uint8 with one scale and the filter's zero point (EvalQuantized, a single output multiplier);
  // the int8 and int16 paths read an int8 filter, per channel allowed, zero point 0.
  // depthwise_conv.cc refuses another filter type at Prepare; conv.cc and fully_connected.cc accept
  // an int8 filter next to uint8 activations and read it as uint8. INT4 filters are checked apart
  // (rule_check.cpp). ONE (compiler/luci/pass/src/VerifyQuantizedNodeU8Type.h /
  // VerifyQuantizedNodeS16Type.h, VerifyQuantizedNodeChannelWiseGranularity.h): uint8 activations
  // with uint8 filters (per channel in luci's channel-wise mode); luci has no int8 activations. The
  // rows cover the 8-bit activations; int16 activations keep their own rules in rule_check.cpp
  // (symmetric weights, int64 / int32 bias).
  const TargetKernel tflite_weighted{{{TensorType::UInt8, {TensorType::UInt8}, false},
                                      {TensorType::Int8, {TensorType::Int8}, true}},
                                     {}};
  const TargetKernel one_weighted{{{TensorType::UInt8, {TensorType::UInt8}, true}}, {}};

  for (auto& r : rows) {
    if (r.weight_input >= 0) {
      r.tflite = tflite_weighted;
      r.one = one_weighted;
    }
    // tensorflow/lite/kernels/concatenation.cc: uint8 inputs go through
    // ConcatenationWithScaling, int8 / int16 ones are copied as they are; pack.cc copies every
    // type. luci gives Concatenation's inputs the output's parameters
    // (compiler/luci/pass/src/PropagateConcatenationQparamPass.cpp), and ONE's kernels are
    // taken to copy: no rescaling listed for ONE.
    if (r.code == BuiltinOperator_CONCATENATION) r.tflite.rescales_inputs = {TensorType::UInt8};
    if (r.code == BuiltinOperator_PADV2) r.share_data_input = {2};
    if (r.code == BuiltinOperator_PAD || r.code == BuiltinOperator_PADV2 ||
        r.code == BuiltinOperator_SPACE_TO_BATCH_ND)
      r.pads_with_zero_point = true;
    // TRANSPOSE_CONV takes (output_shape, weights, input, bias).
    if (r.code == BuiltinOperator_TRANSPOSE_CONV) {
      r.data_input = 2;
      r.index_inputs = {0};
    }
  }

  for (auto& r : rows) {
    switch (r.code) {
      case BuiltinOperator_TRANSPOSE:  // onnx2circle / onnx2tf: NCHW <-> NHWC around layers
      case BuiltinOperator_RESHAPE:    // flatten before FULLY_CONNECTED
      case BuiltinOperator_SQUEEZE:
      case BuiltinOperator_EXPAND_DIMS:
      case BuiltinOperator_PAD:  // explicit padding split off a convolution
      case BuiltinOperator_PADV2:
      case BuiltinOperator_MIRROR_PAD:
      case BuiltinOperator_QUANTIZE:  // QDQ models and float interfaces
      case BuiltinOperator_DEQUANTIZE:
        r.converter_inserted = true;
        break;
      default:
        break;
    }
  }

  std::unordered_map<int32_t, OpProperty> table;
  for (auto& r : rows) table.emplace(r.code, std::move(r));
  return table;
}

}  // namespace

bool OpProperty::is_index_input(size_t i) const {
  return std::find(index_inputs.begin(), index_inputs.end(), int(i)) != index_inputs.end();
}

const WeightTypeRule* OpProperty::weight_rule(Target target, int8_t activation) const {
  for (const WeightTypeRule& r : kernel(target).weight_types)
    if (static_cast<int8_t>(r.activation) == activation) return &r;
  return nullptr;
}

bool OpProperty::rescales_inputs(Target target, int8_t type) const {
  for (TensorType t : kernel(target).rescales_inputs)
    if (type == t) return true;
  return false;
}

const OpProperty* op_property(int32_t code) {
  static const auto table = make_table();
  auto it = table.find(code);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace qimplant
