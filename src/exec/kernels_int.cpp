// Integer-only kernels, bit-exact with TFLite's reference integer kernels.
//
// Every kernel reads its integer operands widened to int32 (int64 for 16-bit accumulators),
// computes exactly what TFLite's reference code computes (same multipliers from the same
// double/float expressions, same rounding, same clamping order) and stores the result in the
// output's type. Where TFLite's int32 arithmetic would wrap, the int64 sums here are truncated
// back to int32 first, which gives the same bits (two's-complement sums are exact modulo 2^32).
//
// Where TFLite has no defined result the kernels choose, and say so here: non-zero weight zero
// points are subtracted (Jacob et al.'s general formula; TFLite's int8 kernels assume 0);
// CONCATENATION follows TFLite's kernel per type (op_properties' `rescales_inputs`): uint8
// inputs with other parameters are requantized; int8 / int16 ones are refused, since the
// runtimes disagree there (TFLite's builtin kernel copies raw values, its XNNPACK delegate and
// Arm NN compute other things), so no result here could vouch for the model; int16 weights are
// accepted with int16 activations (circle's int16 scheme). Pools, PAD and REDUCE_MAX / MIN, which
// TFLite computes on raw values, require equal input and output parameters and say so instead of
// computing values that mean nothing.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "exec/fixed_point.h"
#include "exec/kernel_support.h"
#include "model/op_properties.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {

using namespace ops;

// One operand with the words that name it in messages: "input 1 (weights, tensor 7)".
struct Arg {
  const Value* v = nullptr;
  std::string label;
  const Value& operator*() const { return *v; }
  const Value* operator->() const { return v; }
};

std::string operand_label(const std::vector<int32_t>& tensors, const char* kind, size_t i,
                          const char* role) {
  std::string s = std::string(kind) + " " + std::to_string(i) + " (";
  if (role && *role) s += std::string(role) + ", ";
  s += "tensor " + (i < tensors.size() ? std::to_string(tensors[i]) : std::string("?")) + ")";
  return s;
}

Arg input(const Node& node, const Inputs& inputs, size_t i, const char* role) {
  if (i >= inputs.size() || inputs[i] == nullptr) {
    fail(node, "input " + std::to_string(i) + " (" + role + ") is missing; expected " +
                   std::to_string(i + 1) + " or more inputs, found " +
                   std::to_string(inputs.size()));
  }
  return {inputs[i], operand_label(node.inputs, "input", i, role)};
}

const Value* optional_input(const Inputs& inputs, size_t i) {
  return i < inputs.size() ? inputs[i] : nullptr;
}

struct Out {
  Value* v = nullptr;
  std::string label;
};

Out output(const Node& node, const Outputs& outputs) {
  if (outputs.empty() || outputs[0] == nullptr) fail(node, "output 0 is missing");
  return {outputs[0], operand_label(node.outputs, "output", 0, "")};
}

bool is_type(const Value& v, TensorType t) {
  return v.type == t;
}

bool one_of(int8_t type, std::initializer_list<TensorType> types) {
  for (TensorType t : types)
    if (type == t) return true;
  return false;
}

std::string type_list(std::initializer_list<TensorType> types) {
  std::string s;
  for (TensorType t : types) s += (s.empty() ? "" : " or ") + type_str(type_code(t));
  return s;
}

void expect_type(const Node& node, const std::string& label, int8_t type,
                 std::initializer_list<TensorType> types) {
  if (!one_of(type, types)) {
    fail(node, label + " has type " + type_str(type) + "; expected " + type_list(types));
  }
}

void expect_same_type(const Node& node, const std::string& label, int8_t type,
                      const std::string& other_label, int8_t other) {
  if (type != other) {
    fail(node, label + " has type " + type_str(type) + "; expected " + type_str(other) +
                   ", the type of " + other_label);
  }
}

void expect_rank(const Node& node, const std::string& label, const Value& v, size_t rank) {
  if (v.shape.size() != rank) {
    fail(node, label + " has shape " + shape_text_compact(v.shape) + "; expected rank " +
                   std::to_string(rank));
  }
}

// Types whose values a kernel reads as plain integers.
constexpr std::initializer_list<TensorType> kActivationTypes = {TensorType::UInt8, TensorType::Int8,
                                                                TensorType::Int16};

int32_t type_min(int8_t type) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::UInt8:
    case TensorType::UInt4:
      return 0;
    case TensorType::Int8:
      return -128;
    case TensorType::Int4:
      return -8;
    case TensorType::Int16:
      return -32768;
    default:
      return std::numeric_limits<int32_t>::min();
  }
}

int32_t type_max(int8_t type) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::UInt8:
      return 255;
    case TensorType::UInt4:
      return 15;
    case TensorType::Int8:
      return 127;
    case TensorType::Int4:
      return 7;
    case TensorType::Int16:
      return 32767;
    default:
      return std::numeric_limits<int32_t>::max();
  }
}

void check_data(const Node& node, const std::string& label, const Value& v) {
  const size_t need = static_cast<size_t>(v.element_count()) * element_size(v.type);
  if (v.data.size() < need) {
    fail(node, label + " holds " + std::to_string(v.data.size()) + " bytes; expected " +
                   std::to_string(need) + " for shape " + shape_text_compact(v.shape) + " of " +
                   type_str(v.type));
  }
}

// The values of an integer operand, widened.
std::vector<int64_t> read_ints(const Node& node, const std::string& label, const Value& v) {
  check_data(node, label, v);
  const size_t n = static_cast<size_t>(v.element_count());
  std::vector<int64_t> r(n);
  switch (static_cast<TensorType>(v.type)) {
    case TensorType::Int8:
    case TensorType::Int4:
      for (size_t i = 0; i < n; ++i) r[i] = v.as<int8_t>()[i];
      break;
    case TensorType::UInt8:
    case TensorType::UInt4:
    case TensorType::Bool:
      for (size_t i = 0; i < n; ++i) r[i] = v.as<uint8_t>()[i];
      break;
    case TensorType::Int16:
      for (size_t i = 0; i < n; ++i) r[i] = v.as<int16_t>()[i];
      break;
    case TensorType::Int32:
      for (size_t i = 0; i < n; ++i) r[i] = v.as<int32_t>()[i];
      break;
    case TensorType::Int64:
      for (size_t i = 0; i < n; ++i) r[i] = v.as<int64_t>()[i];
      break;
    default:
      fail(node, label + " has type " + type_str(v.type) + "; expected an integer type");
  }
  return r;
}

std::vector<int32_t> read_int32(const Node& node, const std::string& label, const Value& v) {
  std::vector<int64_t> wide = read_ints(node, label, v);
  return std::vector<int32_t>(wide.begin(), wide.end());
}

// Stores already clamped values in the output's integer type, sizing its data.
void write_ints(Value& out, const std::vector<int32_t>& values) {
  const size_t size = element_size(out.type);
  out.data.assign(values.size() * size, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (size) {
      case 1: {
        const auto b = static_cast<uint8_t>(values[i] & 0xFF);
        out.data[i] = b;
        break;
      }
      case 2: {
        const auto h = static_cast<int16_t>(values[i]);
        std::memcpy(out.data.data() + 2 * i, &h, 2);
        break;
      }
      default:
        std::memcpy(out.data.data() + 4 * i, &values[i], 4);
    }
  }
}

void write_floats(Value& out, const std::vector<float>& values) {
  out.data.assign(values.size() * 4, 0);
  std::memcpy(out.data.data(), values.data(), values.size() * 4);
}

void expect_count(const Node& node, const Out& out, int64_t count, const std::string& why) {
  if (out.v->element_count() != count) {
    fail(node, out.label + " has shape " + shape_text_compact(out.v->shape) + " (" +
                   std::to_string(out.v->element_count()) + " elements); expected " +
                   std::to_string(count) + " elements " + why);
  }
}

void expect_shape(const Node& node, const Out& out, const std::vector<int32_t>& shape) {
  if (out.v->shape != shape) {
    fail(node, out.label + " has shape " + shape_text_compact(out.v->shape) + "; expected " +
                   shape_text_compact(shape));
  }
}

// ---------------------------------------------------------------------------------------------
// Quantization parameters.

struct TensorQuant {
  float scale = 0;
  int32_t zero_point = 0;
};

void check_scale(const Node& node, const std::string& label, float scale) {
  if (!(scale > 0) || !std::isfinite(scale)) {
    fail(node,
         label + " has scale " + std::to_string(scale) + "; expected a positive finite scale");
  }
}

TensorQuant per_tensor(const Node& node, const std::string& label, const Value& v) {
  const QuantParams& q = v.quant;
  if (q.scale.empty()) {
    fail(node, label + " (" + type_str(v.type) +
                   ") has no quantization parameters; expected one scale and zero point");
  }
  if (q.scale.size() != 1 || q.zero_point.size() > 1) {
    fail(node, label + " has " + std::to_string(q.scale.size()) + " scales and " +
                   std::to_string(q.zero_point.size()) +
                   " zero points; expected per-tensor quantization (one of each)");
  }
  check_scale(node, label, q.scale[0]);
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (zp < type_min(v.type) || zp > type_max(v.type)) {
    fail(node, label + " has zero point " + std::to_string(zp) + "; expected one in [" +
                   std::to_string(type_min(v.type)) + ", " + std::to_string(type_max(v.type)) +
                   "] for " + type_str(v.type));
  }
  return {q.scale[0], static_cast<int32_t>(zp)};
}

// Per-channel (or per-tensor, broadcast) parameters of a weight along `dim`, `channels` long.
struct ChannelQuant {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
};

ChannelQuant per_channel(const Node& node, const std::string& label, const Value& v,
                         size_t channels, int32_t dim) {
  const QuantParams& q = v.quant;
  if (q.scale.empty()) {
    fail(node, label + " (" + type_str(v.type) + ") has no quantization parameters");
  }
  const size_t n = q.scale.size();
  if (n != 1 && n != channels) {
    fail(node, label + " has " + std::to_string(n) + " scales; expected 1 or " +
                   std::to_string(channels) + " (one per channel along dimension " +
                   std::to_string(dim) + ")");
  }
  if (n > 1 && q.quantized_dimension != dim) {
    fail(node, label + " is quantized along dimension " + std::to_string(q.quantized_dimension) +
                   "; expected dimension " + std::to_string(dim));
  }
  if (!q.zero_point.empty() && q.zero_point.size() != n) {
    fail(node, label + " has " + std::to_string(n) + " scales but " +
                   std::to_string(q.zero_point.size()) + " zero points; expected as many");
  }
  ChannelQuant r;
  for (size_t c = 0; c < channels; ++c) {
    const size_t k = n == 1 ? 0 : c;
    check_scale(node, label, q.scale[k]);
    r.scale.push_back(q.scale[k]);
    const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[k];
    if (zp < type_min(v.type) || zp > type_max(v.type)) {
      fail(node, label + " has zero point " + std::to_string(zp) + " for channel " +
                     std::to_string(c) + "; expected one in [" + std::to_string(type_min(v.type)) +
                     ", " + std::to_string(type_max(v.type)) + "]");
    }
    r.zero_point.push_back(static_cast<int32_t>(zp));
  }
  return r;
}

// TFLite's CalculateActivationRangeQuantized: the fused activation as a clamp in the output's
// quantized domain, never wider than the type.
struct Range {
  int32_t lo, hi;
};

Range activation_range(const Node& node, Activation act, int8_t type, TensorQuant out) {
  const int32_t qmin = type_min(type), qmax = type_max(type);
  auto quantize = [&](float f) {
    return out.zero_point + static_cast<int32_t>(std::round(f / out.scale));
  };
  switch (act) {
    case Activation::None:
      return {qmin, qmax};
    case Activation::Relu:
      return {std::max(qmin, quantize(0.0f)), qmax};
    case Activation::Relu6:
      return {std::max(qmin, quantize(0.0f)), std::min(qmax, quantize(6.0f))};
    case Activation::ReluN1To1:
      return {std::max(qmin, quantize(-1.0f)), std::min(qmax, quantize(1.0f))};
    default:
      fail(node, "fused activation " + std::to_string(static_cast<int>(act)) +
                     " is not supported on quantized outputs; expected NONE, RELU, RELU_N1_TO_1 "
                     "or RELU6");
  }
}

int32_t clamp(int64_t v, Range r) {
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(v, r.lo), r.hi));
}

// ---------------------------------------------------------------------------------------------
// Convolutions and FULLY_CONNECTED share operand checks and the output stage.

// Weight type TFLite pairs with each activation type (4-bit weights arrive unpacked). Circle's
// int16 scheme also quantizes weights to int16; ONE's luci-interpreter computes those with the
// same int64 accumulator and 64-bit multiply as TFLite's 16x8 path, so they are accepted too.
void check_weight_type(const Node& node, const Arg& in, const Arg& w) {
  const std::string label = w.label + " (with " + type_str(in->type) + " activations)";
  if (is_type(*in, TensorType::UInt8)) {
    expect_type(node, label, w->type, {TensorType::UInt8, TensorType::UInt4});
  } else if (is_type(*in, TensorType::Int16)) {
    expect_type(node, label, w->type, {TensorType::Int8, TensorType::Int4, TensorType::Int16});
  } else {
    expect_type(node, label, w->type, {TensorType::Int8, TensorType::Int4});
  }
}

// The bias, or zeros when it is omitted: int32 for 8-bit activations, int32 or int64 for int16.
std::vector<int64_t> read_bias(const Node& node, const Inputs& inputs, size_t index, const Arg& in,
                               size_t channels) {
  const Value* b = optional_input(inputs, index);
  if (b == nullptr) return std::vector<int64_t>(channels, 0);
  const std::string label = operand_label(node.inputs, "input", index, "bias");
  if (is_type(*in, TensorType::Int16)) {
    expect_type(node, label + " (with INT16 activations)", b->type,
                {TensorType::Int64, TensorType::Int32});
  } else {
    expect_type(node, label + " (with " + type_str(in->type) + " activations)", b->type,
                {TensorType::Int32});
  }
  if (static_cast<size_t>(b->element_count()) != channels) {
    fail(node, label + " has shape " + shape_text_compact(b->shape) + "; expected " +
                   std::to_string(channels) + " elements, one per output channel");
  }
  return read_ints(node, label, *b);
}

// The output stage of every accumulating kernel: rescale by M_c = S_in * S_w[c] / S_out,
// add the output zero point, clamp to the fused activation.
struct OutputStage {
  std::vector<QuantizedMultiplier> multiplier;
  bool wide = false;  // 16-bit activations: 64-bit accumulator and its multiply form
  int32_t zero_point = 0;
  Range range{0, 0};

  int32_t operator()(int64_t acc, size_t channel) const {
    const QuantizedMultiplier m = multiplier[channel];
    const int32_t scaled = wide ? multiply_by_quantized_multiplier(acc, m)
                                : multiply_by_quantized_multiplier(static_cast<int32_t>(acc), m);
    return clamp(static_cast<int64_t>(scaled) + zero_point, range);
  }
};

OutputStage output_stage(const Node& node, TensorQuant in, const ChannelQuant& w, const Out& out,
                         TensorQuant oq) {
  OutputStage s;
  for (float ws : w.scale) {
    const double real =
        static_cast<double>(in.scale) * static_cast<double>(ws) / static_cast<double>(oq.scale);
    s.multiplier.push_back(quantize_multiplier(real));
  }
  s.wide = is_type(*out.v, TensorType::Int16);
  s.zero_point = oq.zero_point;
  s.range = activation_range(node, node.options.activation, out.v->type, oq);
  return s;
}

void check_geometry(const Node& node) {
  const OpOptions& o = node.options;
  if (o.stride_h < 1 || o.stride_w < 1 || o.dilation_h < 1 || o.dilation_w < 1) {
    fail(node, "strides " + std::to_string(o.stride_h) + "x" + std::to_string(o.stride_w) +
                   " and dilations " + std::to_string(o.dilation_h) + "x" +
                   std::to_string(o.dilation_w) + "; expected all >= 1");
  }
}

void conv_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg w = input(node, inputs, 1, "weights");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  check_weight_type(node, in, w);
  expect_rank(node, in.label, *in, 4);
  expect_rank(node, w.label + " (OHWI)", *w, 4);
  check_geometry(node);
  const int32_t batches = in->shape[0], ih = in->shape[1], iw = in->shape[2], ic = in->shape[3];
  const int32_t oc = w->shape[0], kh = w->shape[1], kw = w->shape[2], wic = w->shape[3];
  if (wic <= 0 || ic % wic != 0 || oc % (ic / wic) != 0) {
    fail(node, w.label + " has shape " + shape_text_compact(w->shape) +
                   "; expected input channels " + "dividing the input's " + std::to_string(ic) +
                   " (OHWI layout) and output channels divisible by the group count");
  }
  const int32_t groups = ic / wic, oc_per_group = oc / groups;
  const OpOptions& o = node.options;
  const Spatial wy = spatial(node, "height", ih, kh, o.stride_h, o.dilation_h);
  const Spatial wx = spatial(node, "width", iw, kw, o.stride_w, o.dilation_w);
  expect_shape(node, out, {batches, wy.out, wx.out, oc});

  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const ChannelQuant wq = per_channel(node, w.label, *w, oc, 0);
  const std::vector<int64_t> bias = read_bias(node, inputs, 2, in, oc);
  const OutputStage stage = output_stage(node, iq, wq, out, oq);

  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& v : x) v -= iq.zero_point;
  std::vector<int32_t> k = read_int32(node, w.label, *w);
  const size_t per_filter = static_cast<size_t>(kh) * kw * wic;
  for (size_t i = 0; i < k.size(); ++i) k[i] -= wq.zero_point[i / per_filter];

  std::vector<int32_t> result(static_cast<size_t>(batches) * wy.out * wx.out * oc);
  size_t r = 0;
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t oy = 0; oy < wy.out; ++oy) {
      for (int32_t ox = 0; ox < wx.out; ++ox) {
        const int32_t y0 = oy * o.stride_h - wy.pad, x0 = ox * o.stride_w - wx.pad;
        for (int32_t c = 0; c < oc; ++c) {
          const int32_t first_ic = (c / oc_per_group) * wic;
          int64_t acc = 0;
          for (int32_t fy = 0; fy < kh; ++fy) {
            const int32_t y = y0 + fy * o.dilation_h;
            if (y < 0 || y >= ih) continue;
            for (int32_t fx = 0; fx < kw; ++fx) {
              const int32_t xx = x0 + fx * o.dilation_w;
              if (xx < 0 || xx >= iw) continue;
              const int32_t* px = &x[((static_cast<size_t>(b) * ih + y) * iw + xx) * ic + first_ic];
              const int32_t* pk = &k[((static_cast<size_t>(c) * kh + fy) * kw + fx) * wic];
              for (int32_t i = 0; i < wic; ++i) acc += static_cast<int64_t>(px[i]) * pk[i];
            }
          }
          result[r++] = stage(acc + bias[c], c);
        }
      }
    }
  }
  write_ints(*out.v, result);
}

void depthwise_conv_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg w = input(node, inputs, 1, "weights");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  check_weight_type(node, in, w);
  expect_rank(node, in.label, *in, 4);
  expect_rank(node, w.label + " ([1,H,W,C*M])", *w, 4);
  check_geometry(node);
  const int32_t batches = in->shape[0], ih = in->shape[1], iw = in->shape[2], ic = in->shape[3];
  const int32_t kh = w->shape[1], kw = w->shape[2], oc = w->shape[3];
  if (w->shape[0] != 1 || ic <= 0 || oc % ic != 0) {
    fail(node, w.label + " has shape " + shape_text_compact(w->shape) +
                   "; expected [1,H,W,C*M] with C = " + std::to_string(ic) + " input channels");
  }
  const int32_t multiplier = oc / ic;
  if (node.options.depth_multiplier > 0 && node.options.depth_multiplier != multiplier) {
    fail(node, "depth_multiplier is " + std::to_string(node.options.depth_multiplier) +
                   "; expected " + std::to_string(multiplier) + " = " + std::to_string(oc) +
                   " weight channels / " + std::to_string(ic) + " input channels");
  }
  const OpOptions& o = node.options;
  const Spatial wy = spatial(node, "height", ih, kh, o.stride_h, o.dilation_h);
  const Spatial wx = spatial(node, "width", iw, kw, o.stride_w, o.dilation_w);
  expect_shape(node, out, {batches, wy.out, wx.out, oc});

  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const ChannelQuant wq = per_channel(node, w.label, *w, oc, 3);
  const std::vector<int64_t> bias = read_bias(node, inputs, 2, in, oc);
  const OutputStage stage = output_stage(node, iq, wq, out, oq);

  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& v : x) v -= iq.zero_point;
  std::vector<int32_t> k = read_int32(node, w.label, *w);
  for (size_t i = 0; i < k.size(); ++i) k[i] -= wq.zero_point[i % oc];

  std::vector<int32_t> result(static_cast<size_t>(batches) * wy.out * wx.out * oc);
  size_t r = 0;
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t oy = 0; oy < wy.out; ++oy) {
      for (int32_t ox = 0; ox < wx.out; ++ox) {
        const int32_t y0 = oy * o.stride_h - wy.pad, x0 = ox * o.stride_w - wx.pad;
        for (int32_t c = 0; c < oc; ++c) {
          const int32_t source = c / multiplier;  // output channel c = source * M + m
          int64_t acc = 0;
          for (int32_t fy = 0; fy < kh; ++fy) {
            const int32_t y = y0 + fy * o.dilation_h;
            if (y < 0 || y >= ih) continue;
            for (int32_t fx = 0; fx < kw; ++fx) {
              const int32_t xx = x0 + fx * o.dilation_w;
              if (xx < 0 || xx >= iw) continue;
              acc += static_cast<int64_t>(
                         x[((static_cast<size_t>(b) * ih + y) * iw + xx) * ic + source]) *
                     k[(static_cast<size_t>(fy) * kw + fx) * oc + c];
            }
          }
          result[r++] = stage(acc + bias[c], c);
        }
      }
    }
  }
  write_ints(*out.v, result);
}

void fully_connected(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg w = input(node, inputs, 1, "weights");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  check_weight_type(node, in, w);
  expect_rank(node, w.label + " ([out,in])", *w, 2);
  const int32_t oc = w->shape[0], depth = w->shape[1];
  const int64_t count = in->element_count();
  if (depth <= 0 || count % depth != 0) {
    fail(node, in.label + " has shape " + shape_text_compact(in->shape) + " (" +
                   std::to_string(count) + " elements); expected a multiple of " + w.label +
                   "'s input size " + std::to_string(depth));
  }
  const int64_t batches = count / depth;
  expect_count(node, out, batches * oc,
               "(" + std::to_string(batches) + " rows x " + std::to_string(oc) + " outputs)");

  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const ChannelQuant wq = per_channel(node, w.label, *w, oc, 0);
  const std::vector<int64_t> bias = read_bias(node, inputs, 2, in, oc);
  const OutputStage stage = output_stage(node, iq, wq, out, oq);

  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& v : x) v -= iq.zero_point;
  std::vector<int32_t> k = read_int32(node, w.label, *w);
  for (size_t i = 0; i < k.size(); ++i) k[i] -= wq.zero_point[i / depth];

  std::vector<int32_t> result(static_cast<size_t>(batches * oc));
  for (int64_t b = 0; b < batches; ++b) {
    for (int32_t c = 0; c < oc; ++c) {
      const int32_t* px = &x[b * depth];
      const int32_t* pk = &k[static_cast<size_t>(c) * depth];
      int64_t acc = 0;
      for (int32_t i = 0; i < depth; ++i) acc += static_cast<int64_t>(px[i]) * pk[i];
      result[b * oc + c] = stage(acc + bias[c], c);
    }
  }
  write_ints(*out.v, result);
}

// ---------------------------------------------------------------------------------------------
// Element-wise binary ops with numpy broadcasting.

// For every element of `out_shape`, the flat index of the element of `shape` it reads.
std::vector<size_t> broadcast_indices(const Node& node, const std::string& label,
                                      const std::vector<int32_t>& shape,
                                      const std::vector<int32_t>& out_shape) {
  const size_t rank = out_shape.size();
  if (shape.size() > rank) {
    fail(node, label + " has shape " + shape_text_compact(shape) +
                   "; expected one that broadcasts to " + shape_text_compact(out_shape));
  }
  std::vector<size_t> stride(rank, 0);
  size_t s = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t d = shape.size() - 1 - k, od = rank - 1 - k;
    if (shape[d] != out_shape[od] && shape[d] != 1) {
      fail(node, label + " has shape " + shape_text_compact(shape) +
                     "; expected one that broadcasts to " + shape_text_compact(out_shape));
    }
    stride[od] = shape[d] == 1 ? 0 : s;
    s *= static_cast<size_t>(shape[d]);
  }
  size_t total = 1;
  for (int32_t d : out_shape) total *= static_cast<size_t>(d);
  std::vector<size_t> index(total);
  std::vector<int32_t> pos(rank, 0);
  size_t at = 0;
  for (size_t i = 0; i < total; ++i) {
    index[i] = at;
    for (size_t d = rank; d-- > 0;) {
      at += stride[d];
      if (++pos[d] < out_shape[d]) break;
      at -= stride[d] * static_cast<size_t>(pos[d]);
      pos[d] = 0;
    }
  }
  return index;
}

struct Binary {
  Arg a, b;
  Out out;
  TensorQuant qa, qb, qo;
  std::vector<int32_t> va, vb;
  std::vector<size_t> ia, ib;
};

Binary binary_operands(const Node& node, const Inputs& inputs, Outputs& outputs) {
  Binary r{input(node, inputs, 0, "x"),
           input(node, inputs, 1, "y"),
           output(node, outputs),
           {},
           {},
           {},
           {},
           {},
           {},
           {}};
  expect_type(node, r.a.label, r.a->type, kActivationTypes);
  expect_same_type(node, r.b.label, r.b->type, r.a.label, r.a->type);
  expect_same_type(node, r.out.label, r.out.v->type, r.a.label, r.a->type);
  r.qa = per_tensor(node, r.a.label, *r.a);
  r.qb = per_tensor(node, r.b.label, *r.b);
  r.qo = per_tensor(node, r.out.label, *r.out.v);
  r.va = read_int32(node, r.a.label, *r.a);
  r.vb = read_int32(node, r.b.label, *r.b);
  r.ia = broadcast_indices(node, r.a.label, r.a->shape, r.out.v->shape);
  r.ib = broadcast_indices(node, r.b.label, r.b->shape, r.out.v->shape);
  return r;
}

// ADD and SUB: both inputs are brought to a common scale (twice the larger input scale) with
// `left_shift` bits of headroom, added, and rescaled to the output, as TFLite's AddElementwise.
void add_or_sub(const Node& node, const Inputs& inputs, Outputs& outputs, bool subtract) {
  Binary op = binary_operands(node, inputs, outputs);
  const int left_shift = is_type(*op.out.v, TensorType::Int16) ? 15 : 20;
  const double twice_max = 2.0 * static_cast<double>(std::max(op.qa.scale, op.qb.scale));
  const QuantizedMultiplier ma = quantize_multiplier(op.qa.scale / twice_max);
  const QuantizedMultiplier mb = quantize_multiplier(op.qb.scale / twice_max);
  const QuantizedMultiplier mo = quantize_multiplier(
      twice_max / (static_cast<double>(1 << left_shift) * static_cast<double>(op.qo.scale)));
  const Range range = activation_range(node, node.options.activation, op.out.v->type, op.qo);
  std::vector<int32_t> result(op.ia.size());
  for (size_t i = 0; i < result.size(); ++i) {
    const int32_t a = wrap_mul(op.va[op.ia[i]] - op.qa.zero_point, 1 << left_shift);
    const int32_t b = wrap_mul(op.vb[op.ib[i]] - op.qb.zero_point, 1 << left_shift);
    const int32_t sa = multiply_by_quantized_multiplier(a, ma);
    const int32_t sb = multiply_by_quantized_multiplier(b, mb);
    const int32_t raw = subtract ? wrap_sub(sa, sb) : wrap_add(sa, sb);
    result[i] = clamp(
        static_cast<int64_t>(multiply_by_quantized_multiplier(raw, mo)) + op.qo.zero_point, range);
  }
  write_ints(*op.out.v, result);
}

void add(const Node& node, const Inputs& inputs, Outputs& outputs) {
  add_or_sub(node, inputs, outputs, false);
}

void sub(const Node& node, const Inputs& inputs, Outputs& outputs) {
  add_or_sub(node, inputs, outputs, true);
}

void mul(const Node& node, const Inputs& inputs, Outputs& outputs) {
  Binary op = binary_operands(node, inputs, outputs);
  // TFLite's mul.cc forms this product and quotient in float, then widens it.
  const float real = op.qa.scale * op.qb.scale / op.qo.scale;
  const QuantizedMultiplier m = quantize_multiplier(static_cast<double>(real));
  const Range range = activation_range(node, node.options.activation, op.out.v->type, op.qo);
  std::vector<int32_t> result(op.ia.size());
  for (size_t i = 0; i < result.size(); ++i) {
    const int32_t a = op.va[op.ia[i]] - op.qa.zero_point;
    const int32_t b = op.vb[op.ib[i]] - op.qb.zero_point;
    result[i] = clamp(static_cast<int64_t>(op.qo.zero_point) +
                          multiply_by_quantized_multiplier(wrap_mul(a, b), m),
                      range);
  }
  write_ints(*op.out.v, result);
}

// ---------------------------------------------------------------------------------------------
// Pools: TFLite computes them on raw values, which is only meaningful when input and output
// share their parameters.

void expect_same_quant(const Node& node, const Arg& in, const Out& out, TensorQuant iq,
                       TensorQuant oq, const char* why) {
  if (iq.scale != oq.scale || iq.zero_point != oq.zero_point) {
    fail(node, out.label + " has scale " + std::to_string(oq.scale) + " and zero point " +
                   std::to_string(oq.zero_point) + "; expected those of " + in.label + " (" +
                   std::to_string(iq.scale) + ", " + std::to_string(iq.zero_point) + ") " + why);
  }
}

void pool(const Node& node, const Inputs& inputs, Outputs& outputs, bool average) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  expect_rank(node, in.label, *in, 4);
  const OpOptions& o = node.options;
  if (o.stride_h < 1 || o.stride_w < 1 || o.filter_h < 1 || o.filter_w < 1) {
    fail(node, "filter " + std::to_string(o.filter_h) + "x" + std::to_string(o.filter_w) +
                   " and strides " + std::to_string(o.stride_h) + "x" + std::to_string(o.stride_w) +
                   "; expected all >= 1");
  }
  const int32_t batches = in->shape[0], ih = in->shape[1], iw = in->shape[2], ch = in->shape[3];
  const Spatial wy = spatial(node, "height", ih, o.filter_h, o.stride_h, 1);
  const Spatial wx = spatial(node, "width", iw, o.filter_w, o.stride_w, 1);
  expect_shape(node, out, {batches, wy.out, wx.out, ch});
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  expect_same_quant(node, in, out, iq, oq, "(TFLite pools raw quantized values)");
  const Range range = activation_range(node, o.activation, out.v->type, oq);
  const std::vector<int32_t> x = read_int32(node, in.label, *in);

  std::vector<int32_t> result(static_cast<size_t>(batches) * wy.out * wx.out * ch);
  size_t r = 0;
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t oy = 0; oy < wy.out; ++oy) {
      for (int32_t ox = 0; ox < wx.out; ++ox) {
        const int32_t y0 = oy * o.stride_h - wy.pad, x0 = ox * o.stride_w - wx.pad;
        const int32_t fy0 = std::max(0, -y0), fy1 = std::min(o.filter_h, ih - y0);
        const int32_t fx0 = std::max(0, -x0), fx1 = std::min(o.filter_w, iw - x0);
        const int32_t count = std::max(0, fy1 - fy0) * std::max(0, fx1 - fx0);
        if (count == 0) {
          fail(node, "the pooling window at output (" + std::to_string(oy) + ", " +
                         std::to_string(ox) + ") covers no input element");
        }
        for (int32_t c = 0; c < ch; ++c) {
          int64_t acc = average ? 0 : std::numeric_limits<int32_t>::min();
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              const int32_t v =
                  x[((static_cast<size_t>(b) * ih + y0 + fy) * iw + x0 + fx) * ch + c];
              acc = average ? acc + v : std::max<int64_t>(acc, v);
            }
          }
          if (average) {
            // Round half away from zero, as TFLite's integer average pool does.
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          result[r++] = clamp(acc, range);
        }
      }
    }
  }
  write_ints(*out.v, result);
}

void average_pool_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  pool(node, inputs, outputs, true);
}

void max_pool_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  pool(node, inputs, outputs, false);
}

// ---------------------------------------------------------------------------------------------
// CONCATENATION: inputs with the output's parameters are copied; for the types whose TFLite
// kernel rescales (uint8), others are requantized in float as ConcatenationWithScaling does
// (round(q * s + bias) + zp_out, clamped). For the rest (int8, int16) TFLite's Eval copies raw
// values (tensorflow/lite/kernels/concatenation.cc) while LiteRT's XNNPACK path and Arm NN give
// other results (measured): refused, naming the fix.

int32_t normalize_axis(const Node& node, int32_t axis, size_t rank, const std::string& what) {
  const int32_t r = static_cast<int32_t>(rank);
  if (axis < -r || axis >= r) {
    fail(node, what + " " + std::to_string(axis) + " is out of range; expected one in [" +
                   std::to_string(-r) + ", " + std::to_string(r - 1) + "]");
  }
  return axis < 0 ? axis + r : axis;
}

void concatenation(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Out out = output(node, outputs);
  expect_type(node, out.label, out.v->type, kActivationTypes);
  if (node.options.activation != Activation::None) {
    fail(node, "fused activation " + std::to_string(static_cast<int>(node.options.activation)) +
                   "; expected NONE (TFLite does not fuse activations into CONCATENATION)");
  }
  if (inputs.empty()) fail(node, "has no inputs; expected at least one");
  const size_t rank = out.v->shape.size();
  const int32_t axis = normalize_axis(node, node.options.axis, rank, "axis");
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const int32_t lo = type_min(out.v->type), hi = type_max(out.v->type);
  const bool rescales = op_property(kConcatenation)->rescales_inputs(Target::TFLite, out.v->type);

  size_t outer = 1, inner = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(out.v->shape[d]);
  for (size_t d = static_cast<size_t>(axis) + 1; d < rank; ++d)
    inner *= static_cast<size_t>(out.v->shape[d]);
  std::vector<std::vector<int32_t>> parts;
  std::vector<size_t> widths;  // elements per outer step
  int64_t axis_total = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Arg in = input(node, inputs, i, "value");
    expect_same_type(node, in.label, in->type, out.label, out.v->type);
    bool fits = in->shape.size() == rank;
    for (size_t d = 0; fits && d < rank; ++d)
      if (static_cast<int32_t>(d) != axis && in->shape[d] != out.v->shape[d]) fits = false;
    if (!fits) {
      fail(node, in.label + " has shape " + shape_text_compact(in->shape) + "; expected " +
                     shape_text_compact(out.v->shape) + " except along axis " +
                     std::to_string(axis));
    }
    axis_total += in->shape[axis];
    const TensorQuant iq = per_tensor(node, in.label, *in);
    std::vector<int32_t> v = read_int32(node, in.label, *in);
    const bool differs = iq.scale != oq.scale || iq.zero_point != oq.zero_point;
    if (differs && !rescales) {
      fail(node, in.label + " has scale " + std::to_string(iq.scale) + ", zero point " +
                     std::to_string(iq.zero_point) + " but " + out.label + " has scale " +
                     std::to_string(oq.scale) + ", zero point " + std::to_string(oq.zero_point) +
                     ": TFLite's " + type_str(out.v->type) +
                     " CONCATENATION does not requantize its inputs (runtimes differ on such a "
                     "model); give the inputs the output's parameters or let q-implant insert a "
                     "requantizing QUANTIZE (without --no-requantize)");
    }
    if (differs) {
      const float scale = iq.scale * (1.0f / oq.scale);
      const float bias = -static_cast<float>(iq.zero_point) * scale;
      for (int32_t& q : v) {
        const int32_t requantized =
            static_cast<int32_t>(std::round(static_cast<float>(q) * scale + bias)) + oq.zero_point;
        q = std::max(lo, std::min(hi, requantized));
      }
    }
    parts.push_back(std::move(v));
    widths.push_back(static_cast<size_t>(in->shape[axis]) * inner);
  }
  if (axis_total != out.v->shape[axis]) {
    fail(node, out.label + " has " + std::to_string(out.v->shape[axis]) + " along axis " +
                   std::to_string(axis) + "; expected " + std::to_string(axis_total) +
                   ", the inputs' sum");
  }
  std::vector<int32_t> result;
  result.reserve(static_cast<size_t>(out.v->element_count()));
  for (size_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < parts.size(); ++i)
      result.insert(result.end(), parts[i].begin() + o * widths[i],
                    parts[i].begin() + (o + 1) * widths[i]);
  write_ints(*out.v, result);
}

// ---------------------------------------------------------------------------------------------
// MEAN, following the three paths of TFLite's EvalMeanReferenceOps.

// Which output element each input element reduces into, for the axes of input 1.
struct Reduction {
  std::vector<int64_t> axes;   // as written in the model
  int64_t count = 1;           // input elements per output element
  std::vector<size_t> target;  // output index of every input element, in input order
  size_t outputs = 1;
};

Reduction reduction(const Node& node, const Arg& in, const Arg& axes, const Out& out) {
  expect_type(node, axes.label, axes->type, {TensorType::Int32, TensorType::Int64});
  Reduction r;
  r.axes = read_ints(node, axes.label, *axes);
  const size_t rank = in->shape.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : r.axes) {
    reduced[normalize_axis(node, static_cast<int32_t>(a), rank, axes.label + " value")] = true;
  }
  for (size_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      r.count *= in->shape[d];
    } else {
      r.outputs *= static_cast<size_t>(in->shape[d]);
    }
  }
  expect_count(node, out, static_cast<int64_t>(r.outputs),
               "after reducing " + in.label + " " + shape_text_compact(in->shape));
  if (r.count == 0) fail(node, in.label + " has no elements along the reduced axes");
  r.target.resize(static_cast<size_t>(in->element_count()));
  std::vector<int32_t> pos(rank, 0);
  for (size_t i = 0; i < r.target.size(); ++i) {
    size_t o = 0;
    for (size_t d = 0; d < rank; ++d)
      if (!reduced[d]) o = o * static_cast<size_t>(in->shape[d]) + static_cast<size_t>(pos[d]);
    r.target[i] = o;
    for (size_t d = rank; d-- > 0;) {
      if (++pos[d] < in->shape[d]) break;
      pos[d] = 0;
    }
  }
  return r;
}

void mean(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg axes = input(node, inputs, 1, "axis");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  const Reduction red = reduction(node, in, axes, out);
  const std::vector<int64_t>& raw_axes = red.axes;
  const size_t rank = in->shape.size();
  const int64_t n = red.count;

  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const std::vector<int32_t> x = read_int32(node, in.label, *in);
  // Sum of raw values per output element (TFLite's temp_sum).
  std::vector<int64_t> sum(red.outputs, 0);
  for (size_t i = 0; i < x.size(); ++i) sum[red.target[i]] += x[i];
  const int32_t lo = type_min(out.v->type), hi = type_max(out.v->type);
  std::vector<int32_t> result(sum.size());
  // The axis list as written, not normalized: TFLite's special case matches it literally.
  const bool spatial =
      node.options.keep_dims && rank == 4 && raw_axes.size() == 2 &&
      ((raw_axes[0] == 1 && raw_axes[1] == 2) || (raw_axes[0] == 2 && raw_axes[1] == 1));
  if (spatial && is_type(*in, TensorType::UInt8)) {
    // reference_ops::Mean for uint8: float-derived bias and a multiplier folding in 1/n.
    const float count = static_cast<float>(n);
    const int32_t bias = oq.zero_point - static_cast<int32_t>(static_cast<float>(iq.zero_point) *
                                                              iq.scale / oq.scale);
    const QuantizedMultiplier m =
        quantize_multiplier(static_cast<double>(iq.scale / (count * oq.scale)));
    for (size_t i = 0; i < sum.size(); ++i) {
      const int32_t acc = multiply_by_quantized_multiplier(static_cast<int32_t>(sum[i]), m) + bias;
      result[i] = std::max(lo, std::min(hi, acc));
    }
  } else if (spatial) {
    // reference_integer_ops::Mean: rescale the zero-point-corrected sum, then a rounded
    // division by the element count.
    const QuantizedMultiplier m =
        quantize_multiplier(static_cast<double>(iq.scale) / static_cast<double>(oq.scale));
    for (size_t i = 0; i < sum.size(); ++i) {
      const int32_t corrected = static_cast<int32_t>(sum[i] - n * iq.zero_point);
      int32_t acc = multiply_by_quantized_multiplier(corrected, m);
      const int32_t count = static_cast<int32_t>(n);
      acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      result[i] = std::max<int32_t>(lo, std::min<int32_t>(hi, acc + oq.zero_point));
    }
  } else if (iq.scale == oq.scale && iq.zero_point == oq.zero_point) {
    // reference_ops::Mean on raw values: truncating integer division.
    for (size_t i = 0; i < sum.size(); ++i)
      result[i] = static_cast<int32_t>(static_cast<int32_t>(sum[i]) / static_cast<int32_t>(n));
  } else {
    // QuantizedMeanOrSum: float arithmetic, as current TFLite has it (older releases added 0.5
    // to the bias before rounding, half a step too much, since removed).
    const float scale = iq.scale / oq.scale;
    const float bias = -static_cast<float>(iq.zero_point) * scale;
    for (size_t i = 0; i < sum.size(); ++i) {
      const float mean_value =
          static_cast<float>(static_cast<int32_t>(sum[i])) / static_cast<float>(n);
      float v = std::round(mean_value * scale + bias) + static_cast<float>(oq.zero_point);
      v = std::max(static_cast<float>(lo), std::min(static_cast<float>(hi), v));
      result[i] = static_cast<int32_t>(v);
    }
  }
  write_ints(*out.v, result);
}

// REDUCE_MAX / REDUCE_MIN: TFLite requires the output's parameters and reduces raw values.
void reduce_extreme(const Node& node, const Inputs& inputs, Outputs& outputs, bool max) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg axes = input(node, inputs, 1, "axis");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  const Reduction red = reduction(node, in, axes, out);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  expect_same_quant(node, in, out, iq, oq, "(TFLite reduces raw quantized values)");
  const std::vector<int32_t> x = read_int32(node, in.label, *in);
  std::vector<int32_t> result(red.outputs, max ? type_min(out.v->type) : type_max(out.v->type));
  for (size_t i = 0; i < x.size(); ++i) {
    int32_t& r = result[red.target[i]];
    r = max ? std::max(r, x[i]) : std::min(r, x[i]);
  }
  write_ints(*out.v, result);
}

void reduce_max(const Node& node, const Inputs& inputs, Outputs& outputs) {
  reduce_extreme(node, inputs, outputs, true);
}

void reduce_min(const Node& node, const Inputs& inputs, Outputs& outputs) {
  reduce_extreme(node, inputs, outputs, false);
}

// ---------------------------------------------------------------------------------------------
// PAD / PADV2: pad with the output zero point, or with PADV2's constant.

void pad(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Arg pads = input(node, inputs, 1, "paddings");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  expect_type(node, pads.label, pads->type, {TensorType::Int32, TensorType::Int64});
  const size_t rank = in->shape.size();
  if (pads->shape != std::vector<int32_t>{static_cast<int32_t>(rank), 2}) {
    fail(node, pads.label + " has shape " + shape_text_compact(pads->shape) + "; expected [" +
                   std::to_string(rank) + ",2]");
  }
  const std::vector<int64_t> p = read_ints(node, pads.label, *pads);
  std::vector<int32_t> shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (p[2 * d] < 0 || p[2 * d + 1] < 0) {
      fail(node, pads.label + " pads dimension " + std::to_string(d) + " by " +
                     std::to_string(p[2 * d]) + " and " + std::to_string(p[2 * d + 1]) +
                     "; expected non-negative amounts");
    }
    shape[d] = static_cast<int32_t>(in->shape[d] + p[2 * d] + p[2 * d + 1]);
  }
  expect_shape(node, out, shape);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  expect_same_quant(node, in, out, iq, oq, "(PAD copies raw quantized values)");
  int32_t fill = oq.zero_point;
  if (const Value* c = optional_input(inputs, 2)) {
    const Arg value{c, operand_label(node.inputs, "input", 2, "constant_values")};
    expect_same_type(node, value.label, c->type, in.label, in->type);
    if (c->element_count() != 1) {
      fail(node,
           value.label + " has shape " + shape_text_compact(c->shape) + "; expected one element");
    }
    const TensorQuant cq = per_tensor(node, value.label, *c);
    if (cq.scale != oq.scale || cq.zero_point != oq.zero_point) {
      fail(node, value.label + " has scale " + std::to_string(cq.scale) + " and zero point " +
                     std::to_string(cq.zero_point) + "; expected the output's (" +
                     std::to_string(oq.scale) + ", " + std::to_string(oq.zero_point) + ")");
    }
    fill = read_int32(node, value.label, *c)[0];
  }
  const std::vector<int32_t> x = read_int32(node, in.label, *in);
  std::vector<int32_t> result(static_cast<size_t>(out.v->element_count()), fill);
  std::vector<int32_t> pos(rank, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    size_t o = 0;
    for (size_t d = 0; d < rank; ++d)
      o = o * static_cast<size_t>(shape[d]) + static_cast<size_t>(pos[d] + p[2 * d]);
    result[o] = x[i];
    for (size_t d = rank; d-- > 0;) {
      if (++pos[d] < in->shape[d]) break;
      pos[d] = 0;
    }
  }
  write_ints(*out.v, result);
}

void expect_fixed_output(const Node& node, const Out& out, TensorQuant oq, float scale,
                         int32_t zero_point) {
  if (std::fabs(oq.scale - scale) > 0.001f * scale || oq.zero_point != zero_point) {
    fail(node, out.label + " has scale " + std::to_string(oq.scale) + " and zero point " +
                   std::to_string(oq.zero_point) + "; TFLite's integer kernel writes scale " +
                   std::to_string(scale) + " and zero point " + std::to_string(zero_point) +
                   " for " + type_str(out.v->type));
  }
}

void refuse_int16(const Node& node, const Arg& in) {
  if (is_type(*in, TensorType::Int16)) {
    fail(node, in.label +
                   " is INT16; the reference interpreter implements this operator for "
                   "UINT8 and INT8 only (TFLite's INT16 kernel is table-based)");
  }
}

void softmax(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  refuse_int16(node, in);
  expect_type(node, in.label, in->type, {TensorType::UInt8, TensorType::Int8});
  if (is_type(*in, TensorType::UInt8)) {
    expect_type(node, out.label, out.v->type, {TensorType::UInt8});
  } else {
    expect_type(node, out.label, out.v->type, {TensorType::Int8, TensorType::Int16});
  }
  if (in->shape.empty()) fail(node, in.label + " is a scalar; expected rank >= 1");
  expect_shape(node, out, in->shape);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const int out_bits = is_type(*out.v, TensorType::Int16) ? 16 : 8;
  expect_fixed_output(node, out, oq, out_bits == 16 ? 1.0f / 65536 : 1.0f / 256,
                      type_min(out.v->type));

  // PreprocessSoftmaxScaling with 5 integer bits for the scaled differences (Q5.26).
  const int kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12;
  const double real =
      std::min<double>(static_cast<double>(node.options.beta) * static_cast<double>(iq.scale) *
                           static_cast<double>(1 << (31 - kScaledDiffIntegerBits)),
                       (1LL << 31) - 1.0);
  const QuantizedMultiplier m = quantize_multiplier(real);
  if (!(real > 1.0) || m.shift < 0) {
    fail(node, "beta * input scale = " + std::to_string(node.options.beta * iq.scale) +
                   " is too small for TFLite's integer softmax (needs beta * scale * 2^26 > 1)");
  }
  const int32_t diff_min = -input_radius(kScaledDiffIntegerBits, m.shift, 31);

  const std::vector<int32_t> x = read_int32(node, in.label, *in);
  const size_t depth = static_cast<size_t>(in->shape.back());
  const int32_t lo = type_min(out.v->type), hi = type_max(out.v->type);
  std::vector<int32_t> result(x.size());
  std::vector<int32_t> exps(depth);
  for (size_t row = 0; depth > 0 && row < x.size() / depth; ++row) {
    const int32_t* v = &x[row * depth];
    const int32_t max_value = *std::max_element(v, v + depth);
    int32_t sum = 0;  // Q12.19
    for (size_t c = 0; c < depth; ++c) {
      const int32_t diff = v[c] - max_value;
      exps[c] = 0;
      if (diff >= diff_min) {
        // MultiplyByQuantizedMultiplierGreaterThanOne: left shift, then the Q31 multiply.
        const int32_t scaled =
            fmul(static_cast<int32_t>(static_cast<uint32_t>(diff) << m.shift), m.multiplier);
        exps[c] = exp_on_negative_values(scaled, kScaledDiffIntegerBits);
        sum = wrap_add(sum, rescale(exps[c], 0, kAccumulationIntegerBits));
      }
    }
    // GetReciprocal: 1 / sum as a Q0.31 value and the number of bits it is above one.
    const int headroom_plus_one = sum == 0 ? 32 : __builtin_clz(static_cast<uint32_t>(sum));
    const int bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
    const int32_t shifted_sum_minus_one = static_cast<int32_t>(
        (static_cast<uint32_t>(sum) << headroom_plus_one) - (static_cast<uint32_t>(1) << 31));
    const int32_t shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
    const int exponent = bits_over_unit + 31 - out_bits;
    for (size_t c = 0; c < depth; ++c) {
      if (v[c] - max_value >= diff_min) {
        const int32_t unsat = rounding_divide_by_pot(fmul(shifted_scale, exps[c]), exponent);
        result[row * depth + c] = std::max(lo, std::min(hi, unsat + lo));
      } else {
        result[row * depth + c] = lo;
      }
    }
  }
  write_ints(*out.v, result);
}

// LOGISTIC and TANH for 8-bit types: the input is rescaled to Q4.27 and the gemmlowp function
// applied, as TFLite's fixed-point reference kernels do (TFLite's interpreter builds an
// equivalent table from float math for 8-bit types; the two can differ by 1 LSB).
void logistic_or_tanh(const Node& node, const Inputs& inputs, Outputs& outputs, bool tanh) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  refuse_int16(node, in);
  expect_type(node, in.label, in->type, {TensorType::UInt8, TensorType::Int8});
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  expect_shape(node, out, in->shape);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const bool is_unsigned = is_type(*in, TensorType::UInt8);
  // Logistic writes [0, 1) in steps of 1/256; tanh writes [-1, 1) in steps of 1/128.
  const int32_t out_zp = tanh ? (is_unsigned ? 128 : 0) : (is_unsigned ? 0 : -128);
  expect_fixed_output(node, out, oq, tanh ? 1.0f / 128 : 1.0f / 256, out_zp);

  const int kInputIntegerBits = 4;
  const QuantizedMultiplier m = quantize_multiplier(
      static_cast<double>(iq.scale) * static_cast<double>(1 << (31 - kInputIntegerBits)));
  if (m.shift < 0) {
    fail(node, in.label + " has scale " + std::to_string(iq.scale) +
                   "; too small for TFLite's fixed-point " + (tanh ? "TANH" : "LOGISTIC"));
  }
  const int32_t radius = input_radius(kInputIntegerBits, m.shift, 31);
  const int32_t lo = type_min(out.v->type), hi = type_max(out.v->type);
  const int out_fraction_bits = tanh ? 7 : 8;

  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& q : x) {
    const int32_t centered = q - iq.zero_point;
    if (centered <= -radius) {
      q = lo;
    } else if (centered >= radius) {
      q = hi;
    } else {
      const int32_t q4 = multiply_by_quantized_multiplier(centered, m);
      const int32_t f =
          tanh ? fixed_tanh(q4, kInputIntegerBits) : fixed_logistic(q4, kInputIntegerBits);
      const int32_t scaled = rounding_divide_by_pot(f, 31 - out_fraction_bits) + out_zp;
      q = std::max(lo, std::min(hi, scaled));  // 1.0 rounds to 2^bits: saturate as TFLite
    }
  }
  write_ints(*out.v, x);
}

void logistic(const Node& node, const Inputs& inputs, Outputs& outputs) {
  logistic_or_tanh(node, inputs, outputs, false);
}

void tanh_kernel(const Node& node, const Inputs& inputs, Outputs& outputs) {
  logistic_or_tanh(node, inputs, outputs, true);
}

// ---------------------------------------------------------------------------------------------
// QUANTIZE, DEQUANTIZE and the quantized RELUs.

// Channel of each element of `v` along its quantized dimension (0 for per-tensor values).
std::vector<size_t> channel_of(const Node& node, const std::string& label, const Value& v) {
  const size_t n = static_cast<size_t>(v.element_count());
  std::vector<size_t> channel(n, 0);
  const size_t count = v.quant.scale.size();
  if (count <= 1) return channel;
  const int32_t dim = v.quant.quantized_dimension;
  if (dim < 0 || static_cast<size_t>(dim) >= v.shape.size() ||
      static_cast<size_t>(v.shape[dim]) != count) {
    fail(node, label + " has " + std::to_string(count) + " scales along dimension " +
                   std::to_string(dim) + " of shape " + shape_text_compact(v.shape) +
                   "; expected that dimension to have one element per scale");
  }
  const ChannelIndex of = channel_index(v.shape, dim);
  for (size_t i = 0; i < n; ++i) channel[i] = of(i);
  return channel;
}

void quantize(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  expect_type(node, out.label, out.v->type, kActivationTypes);
  expect_count(node, out, in->element_count(), "(as many as " + in.label + ")");
  const int32_t lo = type_min(out.v->type), hi = type_max(out.v->type);
  std::vector<int32_t> result(static_cast<size_t>(in->element_count()));
  if (is_type(*in, TensorType::Float32)) {
    // AffineQuantize / PerChannelQuantize: round(x / scale) in float, then add the zero point.
    check_data(node, in.label, *in);
    const std::vector<size_t> channel = channel_of(node, out.label, *out.v);
    const size_t channels = std::max<size_t>(1, out.v->quant.scale.size());
    const ChannelQuant q =
        per_channel(node, out.label, *out.v, channels, out.v->quant.quantized_dimension);
    const float* x = in->as<float>();
    for (size_t i = 0; i < result.size(); ++i) {
      const size_t c = channel[i];
      const double unclamped =
          static_cast<double>(std::round(x[i] / q.scale[c])) + static_cast<double>(q.zero_point[c]);
      result[i] = static_cast<int32_t>(
          std::min(std::max(unclamped, static_cast<double>(lo)), static_cast<double>(hi)));
    }
  } else {
    // Requantize: rescale (q - zp_in) by S_in / S_out with the 32-bit multiply.
    expect_type(node, in.label, in->type,
                {TensorType::Float32, TensorType::UInt8, TensorType::Int8, TensorType::Int16});
    const TensorQuant iq = per_tensor(node, in.label, *in);
    const TensorQuant oq = per_tensor(node, out.label, *out.v);
    const QuantizedMultiplier m =
        quantize_multiplier(static_cast<double>(iq.scale) / static_cast<double>(oq.scale));
    const std::vector<int32_t> x = read_int32(node, in.label, *in);
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t v =
          static_cast<int64_t>(multiply_by_quantized_multiplier(x[i] - iq.zero_point, m)) +
          oq.zero_point;
      result[i] = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(v, lo), hi));
    }
  }
  write_ints(*out.v, result);
}

void dequantize(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  expect_type(node, out.label, out.v->type, {TensorType::Float32});
  expect_count(node, out, in->element_count(), "(as many as " + in.label + ")");
  std::vector<float> result(static_cast<size_t>(in->element_count()));
  if (is_type(*in, TensorType::Float16)) {
    check_data(node, in.label, *in);
    const uint16_t* h = in->as<uint16_t>();
    for (size_t i = 0; i < result.size(); ++i) result[i] = half_to_float(h[i]);
    write_floats(*out.v, result);
    return;
  }
  expect_type(node, in.label, in->type,
              {TensorType::UInt8, TensorType::Int8, TensorType::Int16, TensorType::Int4,
               TensorType::UInt4});
  const std::vector<int32_t> x = read_int32(node, in.label, *in);
  if (in->quant.scale.size() <= 1) {
    // Per-tensor: the scale is widened to double before the multiply.
    const TensorQuant iq = per_tensor(node, in.label, *in);
    for (size_t i = 0; i < x.size(); ++i)
      result[i] = static_cast<float>(static_cast<double>(iq.scale) * (x[i] - iq.zero_point));
  } else {
    // Per-channel: float arithmetic.
    const std::vector<size_t> channel = channel_of(node, in.label, *in);
    const ChannelQuant q =
        per_channel(node, in.label, *in, in->quant.scale.size(), in->quant.quantized_dimension);
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t c = channel[i];
      result[i] = q.scale[c] * static_cast<float>(x[i] - q.zero_point[c]);
    }
  }
  write_floats(*out.v, result);
}

// RELU, RELU6, RELU_N1_TO_1: requantize to the output and clamp at the activation's bounds.
void relu_like(const Node& node, const Inputs& inputs, Outputs& outputs, float low, float high) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  expect_shape(node, out, in->shape);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  // TFLite's activations.cc divides the float scales, then widens the quotient.
  const float real = iq.scale / oq.scale;
  const QuantizedMultiplier m = quantize_multiplier(static_cast<double>(real));
  Range range{std::max(type_min(out.v->type),
                       oq.zero_point + static_cast<int32_t>(std::round(low / oq.scale))),
              type_max(out.v->type)};
  if (std::isfinite(high)) {
    range.hi =
        std::min(range.hi, oq.zero_point + static_cast<int32_t>(std::round(high / oq.scale)));
  }
  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& q : x) {
    q = clamp(static_cast<int64_t>(oq.zero_point) +
                  multiply_by_quantized_multiplier(q - iq.zero_point, m),
              range);
  }
  write_ints(*out.v, x);
}

void relu(const Node& node, const Inputs& inputs, Outputs& outputs) {
  relu_like(node, inputs, outputs, 0.0f, std::numeric_limits<float>::infinity());
}

void relu6(const Node& node, const Inputs& inputs, Outputs& outputs) {
  relu_like(node, inputs, outputs, 0.0f, 6.0f);
}

void relu_n1_to_1(const Node& node, const Inputs& inputs, Outputs& outputs) {
  relu_like(node, inputs, outputs, -1.0f, 1.0f);
}

// LEAKY_RELU: two multipliers, S_in / S_out for x >= 0 and S_in * alpha / S_out below, each
// formed in float as TFLite's activations.cc does; clamped to the type only.
void leaky_relu(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Arg in = input(node, inputs, 0, "input");
  const Out out = output(node, outputs);
  expect_type(node, in.label, in->type, kActivationTypes);
  expect_same_type(node, out.label, out.v->type, in.label, in->type);
  expect_shape(node, out, in->shape);
  const TensorQuant iq = per_tensor(node, in.label, *in);
  const TensorQuant oq = per_tensor(node, out.label, *out.v);
  const float identity = iq.scale / oq.scale;
  const float alpha = iq.scale * node.options.alpha / oq.scale;
  const QuantizedMultiplier mi = quantize_multiplier(static_cast<double>(identity));
  const QuantizedMultiplier ma = quantize_multiplier(static_cast<double>(alpha));
  const Range range{type_min(out.v->type), type_max(out.v->type)};
  std::vector<int32_t> x = read_int32(node, in.label, *in);
  for (int32_t& q : x) {
    const int32_t centered = q - iq.zero_point;
    q = clamp(static_cast<int64_t>(oq.zero_point) +
                  multiply_by_quantized_multiplier(centered, centered >= 0 ? mi : ma),
              range);
  }
  write_ints(*out.v, x);
}

// Every kernel runs behind this check, so that no shape a model declares (negative or absurdly
// large dimensions) can size a buffer before the kernel's own checks see it.
void check_shape(const Node& node, const std::string& label, const Value& v) {
  int64_t count = 1;
  for (int32_t d : v.shape) {
    if (d < 0) {
      fail(node, label + " has shape " + shape_text_compact(v.shape) +
                     "; expected non-negative dimensions");
    }
    count *= d;
    if (count > (int64_t{1} << 31)) {
      fail(node, label + " has shape " + shape_text_compact(v.shape) +
                     "; expected at most 2^31 elements");
    }
  }
}

template <void (*K)(const Node&, const Inputs&, Outputs&)>
void checked(const Node& node, const Inputs& inputs, Outputs& outputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i]) check_shape(node, operand_label(node.inputs, "input", i, ""), *inputs[i]);
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i]) check_shape(node, operand_label(node.outputs, "output", i, ""), *outputs[i]);
  }
  K(node, inputs, outputs);
}

const std::vector<KernelEntry>& table() {
  static const std::vector<KernelEntry> entries = {
      {kAdd, checked<add>},
      {kAveragePool2D, checked<average_pool_2d>},
      {kConcatenation, checked<concatenation>},
      {kConv2D, checked<conv_2d>},
      {kDepthwiseConv2D, checked<depthwise_conv_2d>},
      {kDequantize, checked<dequantize>},
      {kFullyConnected, checked<fully_connected>},
      {kLogistic, checked<logistic>},
      {kMaxPool2D, checked<max_pool_2d>},
      {kMul, checked<mul>},
      {kRelu, checked<relu>},
      {kReluN1To1, checked<relu_n1_to_1>},
      {kRelu6, checked<relu6>},
      {kSoftmax, checked<softmax>},
      {kTanh, checked<tanh_kernel>},
      {kPad, checked<pad>},
      {kMean, checked<mean>},
      {kSub, checked<sub>},
      {kPadV2, checked<pad>},
      {kReduceMax, checked<reduce_max>},
      {kReduceMin, checked<reduce_min>},
      {kLeakyRelu, checked<leaky_relu>},
      {kQuantize, checked<quantize>},
  };
  return entries;
}

}  // namespace

Kernel find_integer_kernel(int32_t code) {
  return find_kernel(table(), code);
}

std::vector<int32_t> integer_kernel_codes() {
  return kernel_codes(table());
}

}  // namespace qimplant::exec
