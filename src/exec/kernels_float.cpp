// Float32 kernels, computed as TFLite's reference float kernels define them: NHWC activations,
// CONV_2D weights OHWI, DEPTHWISE_CONV_2D weights [1,H,W,C*M], FULLY_CONNECTED weights
// [out,in]; SAME/VALID padding and output sizes as TFLite computes them; fused activations as
// clamps. Products are accumulated in float in the reference kernels' order (MEAN and SUM in
// double), so results are close to, not guaranteed bit-equal with, any runtime's.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel_support.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {

using namespace ops;

void expect_float(const Node& node, const std::string& label, const Value& v) {
  if (v.type != TensorType::Float32) {
    fail(node, label + " has type " + type_str(v.type) + "; expected FLOAT32");
  }
  const size_t need = static_cast<size_t>(v.element_count()) * 4;
  if (v.data.size() != need) {
    fail(node, label + " holds " + std::to_string(v.data.size()) + " bytes; expected " +
                   std::to_string(need) + " for shape " + shape_text_compact(v.shape));
  }
}

// A float operand, checked; `role` names it in messages.
const Value& input(const Node& node, const Inputs& inputs, size_t i, const char* role) {
  if (i >= inputs.size() || !inputs[i]) {
    fail(node, "input " + std::to_string(i) + " (" + role + ") is missing; found " +
                   std::to_string(inputs.size()) + " inputs");
  }
  expect_float(node, "input " + std::to_string(i) + " (" + role + ")", *inputs[i]);
  return *inputs[i];
}

const Value* optional_input(const Node& node, const Inputs& inputs, size_t i, const char* role) {
  if (i >= inputs.size() || !inputs[i]) return nullptr;
  return &input(node, inputs, i, role);
}

Value& output(const Node& node, Outputs& outputs) {
  if (outputs.empty() || !outputs[0]) fail(node, "output 0 is missing");
  Value& out = *outputs[0];
  if (out.type != TensorType::Float32) {
    fail(node, "output 0 has type " + type_str(out.type) + "; expected FLOAT32");
  }
  out.data.assign(static_cast<size_t>(out.element_count()) * 4, 0);
  return out;
}

void expect_rank(const Node& node, const std::string& label, const Value& v, size_t rank) {
  if (v.shape.size() != rank) {
    fail(node, label + " has shape " + shape_text_compact(v.shape) + "; expected rank " +
                   std::to_string(rank));
  }
}

void expect_shape(const Node& node, const Value& out, const Shape& expected) {
  if (out.shape != expected) {
    fail(node, "output 0 has shape " + shape_text_compact(out.shape) + "; expected " +
                   shape_text_compact(expected));
  }
}

// The fused activation as a clamp (TFLite's CalculateActivationRange).
struct Clamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  float operator()(float x) const { return std::min(std::max(x, lo), hi); }
};

Clamp activation(const Node& node) {
  switch (node.options.activation) {
    case Activation::None:
      return {};
    case Activation::Relu:
      return {0.0f, std::numeric_limits<float>::infinity()};
    case Activation::Relu6:
      return {0.0f, 6.0f};
    case Activation::ReluN1To1:
      return {-1.0f, 1.0f};
    default:
      fail(node, "fused activation " + std::to_string(static_cast<int>(node.options.activation)) +
                     " is not supported; expected NONE, RELU, RELU_N1_TO_1 or RELU6");
  }
}

// ---------------------------------------------------------------------------------------------
// CONV_2D (grouped when the filter has fewer input channels) and DEPTHWISE_CONV_2D.

void conv_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  const Value& w = input(node, inputs, 1, "weights");
  const Value* bias = optional_input(node, inputs, 2, "bias");
  Value& out = output(node, outputs);
  expect_rank(node, "input 0 (input)", in, 4);
  expect_rank(node, "input 1 (weights)", w, 4);
  const int32_t n = in.shape[0], ih = in.shape[1], iw = in.shape[2], ic = in.shape[3];
  const int32_t oc = w.shape[0], kh = w.shape[1], kw = w.shape[2], wc = w.shape[3];
  if (wc < 1 || ic < 1 || ic % wc != 0 || oc % (ic / wc) != 0) {
    fail(node, "input 1 (weights) has shape " + shape_text_compact(w.shape) +
                   " (OHWI); its input channels must divide the " + std::to_string(ic) +
                   " channels of input 0, and the groups must divide its output channels");
  }
  if (bias && bias->element_count() != oc) {
    fail(node, "input 2 (bias) has shape " + shape_text_compact(bias->shape) + "; expected " +
                   std::to_string(oc) + " elements, one per output channel");
  }
  const OpOptions& o = node.options;
  const Spatial sh = spatial(node, "height", ih, kh, o.stride_h, o.dilation_h);
  const Spatial sw = spatial(node, "width", iw, kw, o.stride_w, o.dilation_w);
  expect_shape(node, out, {n, sh.out, sw.out, oc});
  const Clamp act = activation(node);
  const int32_t per_group = oc / (ic / wc);
  const float* x = in.as<float>();
  const float* f = w.as<float>();
  float* y = out.as<float>();
  for (int32_t b = 0; b < n; ++b)
    for (int32_t oy = 0; oy < sh.out; ++oy)
      for (int32_t ox = 0; ox < sw.out; ++ox)
        for (int32_t c = 0; c < oc; ++c) {
          const int32_t group = c / per_group;
          float acc = 0.0f;
          for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t y_in = oy * o.stride_h - sh.pad + ky * o.dilation_h;
            if (y_in < 0 || y_in >= ih) continue;
            for (int32_t kx = 0; kx < kw; ++kx) {
              const int32_t x_in = ox * o.stride_w - sw.pad + kx * o.dilation_w;
              if (x_in < 0 || x_in >= iw) continue;
              for (int32_t k = 0; k < wc; ++k) {
                acc += x[((b * ih + y_in) * iw + x_in) * ic + group * wc + k] *
                       f[((c * kh + ky) * kw + kx) * wc + k];
              }
            }
          }
          if (bias) acc += bias->as<float>()[c];
          y[((b * sh.out + oy) * sw.out + ox) * oc + c] = act(acc);
        }
}

void depthwise_conv_2d(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  const Value& w = input(node, inputs, 1, "weights");
  const Value* bias = optional_input(node, inputs, 2, "bias");
  Value& out = output(node, outputs);
  expect_rank(node, "input 0 (input)", in, 4);
  expect_rank(node, "input 1 (weights)", w, 4);
  const int32_t n = in.shape[0], ih = in.shape[1], iw = in.shape[2], ic = in.shape[3];
  const int32_t kh = w.shape[1], kw = w.shape[2], oc = w.shape[3];
  if (w.shape[0] != 1 || ic < 1 || oc % ic != 0) {
    fail(node, "input 1 (weights) has shape " + shape_text_compact(w.shape) +
                   "; expected [1,H,W,C*M] with C = " + std::to_string(ic) +
                   ", the channels of input 0");
  }
  const int32_t m = oc / ic;
  if (node.options.depth_multiplier != 0 && node.options.depth_multiplier != m) {
    fail(node, "depth_multiplier is " + std::to_string(node.options.depth_multiplier) +
                   "; the weights " + shape_text_compact(w.shape) + " and input 0 " +
                   shape_text_compact(in.shape) + " give " + std::to_string(m));
  }
  if (bias && bias->element_count() != oc) {
    fail(node, "input 2 (bias) has shape " + shape_text_compact(bias->shape) + "; expected " +
                   std::to_string(oc) + " elements, one per output channel");
  }
  const OpOptions& o = node.options;
  const Spatial sh = spatial(node, "height", ih, kh, o.stride_h, o.dilation_h);
  const Spatial sw = spatial(node, "width", iw, kw, o.stride_w, o.dilation_w);
  expect_shape(node, out, {n, sh.out, sw.out, oc});
  const Clamp act = activation(node);
  const float* x = in.as<float>();
  const float* f = w.as<float>();
  float* y = out.as<float>();
  for (int32_t b = 0; b < n; ++b)
    for (int32_t oy = 0; oy < sh.out; ++oy)
      for (int32_t ox = 0; ox < sw.out; ++ox)
        for (int32_t c = 0; c < oc; ++c) {
          const int32_t c_in = c / m;
          float acc = 0.0f;
          for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t y_in = oy * o.stride_h - sh.pad + ky * o.dilation_h;
            if (y_in < 0 || y_in >= ih) continue;
            for (int32_t kx = 0; kx < kw; ++kx) {
              const int32_t x_in = ox * o.stride_w - sw.pad + kx * o.dilation_w;
              if (x_in < 0 || x_in >= iw) continue;
              acc += x[((b * ih + y_in) * iw + x_in) * ic + c_in] * f[(ky * kw + kx) * oc + c];
            }
          }
          if (bias) acc += bias->as<float>()[c];
          y[((b * sh.out + oy) * sw.out + ox) * oc + c] = act(acc);
        }
}

void fully_connected(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  const Value& w = input(node, inputs, 1, "weights");
  const Value* bias = optional_input(node, inputs, 2, "bias");
  Value& out = output(node, outputs);
  expect_rank(node, "input 1 (weights)", w, 2);
  const int32_t units = w.shape[0], depth = w.shape[1];
  if (in.shape.empty() || depth < 1 || in.element_count() % depth != 0) {
    fail(node, "input 0 has shape " + shape_text_compact(in.shape) +
                   ", which does not split into rows of " + std::to_string(depth) +
                   " (the input size of weights " + shape_text_compact(w.shape) + ")");
  }
  if (bias && bias->element_count() != units) {
    fail(node, "input 2 (bias) has shape " + shape_text_compact(bias->shape) + "; expected " +
                   std::to_string(units) + " elements, one per output unit");
  }
  const int32_t batches = static_cast<int32_t>(in.element_count() / depth);
  Shape expected{batches, units};
  if (node.options.keep_dims) {
    if (in.shape.back() != depth) {
      fail(node, "keep_num_dims needs the last dimension of input 0 " +
                     shape_text_compact(in.shape) + " to be " + std::to_string(depth));
    }
    expected = in.shape;
    expected.back() = units;
  }
  expect_shape(node, out, expected);
  const Clamp act = activation(node);
  const float* x = in.as<float>();
  const float* f = w.as<float>();
  float* y = out.as<float>();
  for (int32_t b = 0; b < batches; ++b)
    for (int32_t u = 0; u < units; ++u) {
      float acc = 0.0f;
      for (int32_t d = 0; d < depth; ++d) acc += x[b * depth + d] * f[u * depth + d];
      if (bias) acc += bias->as<float>()[u];
      y[b * units + u] = act(acc);
    }
}

// ---------------------------------------------------------------------------------------------
// Element-wise binary operators with NumPy broadcasting (any rank).

template <typename F>
void binary(const Node& node, const Inputs& inputs, Outputs& outputs, F&& f) {
  const Value& a = input(node, inputs, 0, "x");
  const Value& b = input(node, inputs, 1, "y");
  Value& out = output(node, outputs);
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  Shape shape(rank);
  auto dim = [&](const Value& v, size_t d) {
    const size_t lead = rank - v.shape.size();
    return d < lead ? 1 : v.shape[d - lead];
  };
  for (size_t d = 0; d < rank; ++d) {
    const int32_t x = dim(a, d), y = dim(b, d);
    if (x != y && x != 1 && y != 1) {
      fail(node, "input 0 " + shape_text_compact(a.shape) + " and input 1 " +
                     shape_text_compact(b.shape) + " do not broadcast (dimension " +
                     std::to_string(d) + ": " + std::to_string(x) + " vs " + std::to_string(y) +
                     ")");
    }
    shape[d] = x == 1 ? y : x;
  }
  expect_shape(node, out, shape);
  const Clamp act = activation(node);
  // Strides of each input over the output's dimensions, 0 where it broadcasts.
  std::vector<int64_t> sa(rank, 0), sb(rank, 0);
  int64_t ka = 1, kb = 1;
  for (size_t d = rank; d-- > 0;) {
    if (dim(a, d) != 1) sa[d] = ka;
    if (dim(b, d) != 1) sb[d] = kb;
    ka *= dim(a, d);
    kb *= dim(b, d);
  }
  const float* x = a.as<float>();
  const float* y = b.as<float>();
  float* z = out.as<float>();
  std::vector<int32_t> c(rank, 0);
  const int64_t count = out.element_count();
  for (int64_t i = 0; i < count; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia += c[d] * sa[d];
      ib += c[d] * sb[d];
    }
    z[i] = act(f(x[ia], y[ib]));
    for (size_t d = rank; d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

void add(const Node& node, const Inputs& inputs, Outputs& outputs) {
  binary(node, inputs, outputs, [](float x, float y) { return x + y; });
}
void sub(const Node& node, const Inputs& inputs, Outputs& outputs) {
  binary(node, inputs, outputs, [](float x, float y) { return x - y; });
}
void mul(const Node& node, const Inputs& inputs, Outputs& outputs) {
  binary(node, inputs, outputs, [](float x, float y) { return x * y; });
}
void div(const Node& node, const Inputs& inputs, Outputs& outputs) {
  binary(node, inputs, outputs, [](float x, float y) { return x / y; });
}

// ---------------------------------------------------------------------------------------------
// Pooling: the window is clipped to the input, and AVERAGE_POOL_2D divides by the number of
// input elements inside it (padding is not counted), as TFLite does.

template <bool kAverage>
void pool(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  Value& out = output(node, outputs);
  expect_rank(node, "input 0 (input)", in, 4);
  const OpOptions& o = node.options;
  const int32_t n = in.shape[0], ih = in.shape[1], iw = in.shape[2], ch = in.shape[3];
  const Spatial sh = spatial(node, "height", ih, o.filter_h, o.stride_h, 1);
  const Spatial sw = spatial(node, "width", iw, o.filter_w, o.stride_w, 1);
  expect_shape(node, out, {n, sh.out, sw.out, ch});
  const Clamp act = activation(node);
  const float* x = in.as<float>();
  float* y = out.as<float>();
  for (int32_t b = 0; b < n; ++b)
    for (int32_t oy = 0; oy < sh.out; ++oy)
      for (int32_t ox = 0; ox < sw.out; ++ox) {
        const int32_t y0 = std::max(0, oy * o.stride_h - sh.pad);
        const int32_t y1 = std::min(ih, oy * o.stride_h - sh.pad + o.filter_h);
        const int32_t x0 = std::max(0, ox * o.stride_w - sw.pad);
        const int32_t x1 = std::min(iw, ox * o.stride_w - sw.pad + o.filter_w);
        for (int32_t c = 0; c < ch; ++c) {
          float acc = kAverage ? 0.0f : std::numeric_limits<float>::lowest();
          for (int32_t yy = y0; yy < y1; ++yy)
            for (int32_t xx = x0; xx < x1; ++xx) {
              const float v = x[((b * ih + yy) * iw + xx) * ch + c];
              acc = kAverage ? acc + v : std::max(acc, v);
            }
          const int32_t count = std::max(0, y1 - y0) * std::max(0, x1 - x0);
          if (count == 0) fail(node, "a pooling window lies entirely in the padding");
          if (kAverage) acc /= static_cast<float>(count);
          y[((b * sh.out + oy) * sw.out + ox) * ch + c] = act(acc);
        }
      }
}

// CONCATENATION of float inputs; reached when a fused activation keeps the generic (moving)
// kernel from applying.
void concatenation(const Node& node, const Inputs& inputs, Outputs& outputs) {
  Value& out = output(node, outputs);
  const int64_t rank = static_cast<int64_t>(out.shape.size());
  int64_t axis = node.options.axis;
  if (axis < -rank || axis >= rank) {
    fail(node, "axis is " + std::to_string(axis) + "; expected one in [" + std::to_string(-rank) +
                   ", " + std::to_string(rank - 1) + "] for output 0 " +
                   shape_text_compact(out.shape));
  }
  if (axis < 0) axis += rank;
  if (inputs.empty()) fail(node, "has no inputs");
  Shape expected = out.shape;
  expected[axis] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& in = input(node, inputs, k, "values");
    bool fits = static_cast<int64_t>(in.shape.size()) == rank;
    for (int64_t d = 0; fits && d < rank; ++d) fits = d == axis || in.shape[d] == out.shape[d];
    if (!fits) {
      fail(node, "input " + std::to_string(k) + " has shape " + shape_text_compact(in.shape) +
                     "; expected the dimensions other than axis " + std::to_string(axis) +
                     " of output 0 " + shape_text_compact(out.shape));
    }
    expected[axis] += in.shape[axis];
  }
  expect_shape(node, out, expected);
  const Clamp act = activation(node);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out.shape[d];
  float* y = out.as<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (const Value* in : inputs) {
      const int64_t chunk = in->element_count() / outer;
      const float* x = in->as<float>() + o * chunk;
      for (int64_t i = 0; i < chunk; ++i) *y++ = act(x[i]);
    }
}

// MEAN and SUM over the axes of operand 1, keeping them as size 1 with keep_dims (REDUCE_MAX
// and REDUCE_MIN are generic kernels: they pick elements).
enum class Reduce { Mean, Sum };

template <Reduce kKind>
void reduce(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  Value& out = output(node, outputs);
  if (inputs.size() < 2 || !inputs[1]) fail(node, "input 1 (axes) is missing");
  const Value& axes_v = *inputs[1];
  std::vector<int64_t> axes;
  if (axes_v.type == TensorType::Int32 &&
      axes_v.data.size() == static_cast<size_t>(axes_v.element_count()) * 4) {
    for (int64_t i = 0; i < axes_v.element_count(); ++i) axes.push_back(axes_v.as<int32_t>()[i]);
  } else if (axes_v.type == TensorType::Int64 &&
             axes_v.data.size() == static_cast<size_t>(axes_v.element_count()) * 8) {
    for (int64_t i = 0; i < axes_v.element_count(); ++i) axes.push_back(axes_v.as<int64_t>()[i]);
  } else {
    fail(node, "input 1 (axes) has type " + type_str(axes_v.type) + " and " +
                   std::to_string(axes_v.data.size()) + " bytes; expected INT32 or INT64 values");
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  std::vector<bool> reduced(in.shape.size(), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      fail(node,
           "axis " + std::to_string(a) + " is outside input 0 " + shape_text_compact(in.shape));
    }
    reduced[a < 0 ? a + rank : a] = true;
  }
  Shape expected;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d])
      expected.push_back(in.shape[d]);
    else if (node.options.keep_dims)
      expected.push_back(1);
  }
  expect_shape(node, out, expected);
  // Output position of every input element: the coordinates of the kept dimensions.
  const int64_t count = in.element_count();
  std::vector<double> acc(static_cast<size_t>(out.element_count()), 0.0);
  std::vector<int32_t> c(in.shape.size(), 0);
  const float* x = in.as<float>();
  for (int64_t i = 0; i < count; ++i) {
    int64_t k = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (!reduced[d]) k = k * in.shape[d] + c[d];
    acc[static_cast<size_t>(k)] += x[i];
    for (int64_t d = rank; d-- > 0;) {
      if (++c[d] < in.shape[d]) break;
      c[d] = 0;
    }
  }
  const int64_t per_output = out.element_count() ? count / out.element_count() : 0;
  float* y = out.as<float>();
  for (size_t i = 0; i < acc.size(); ++i) {
    y[i] = static_cast<float>(kKind == Reduce::Mean ? acc[i] / static_cast<double>(per_output)
                                                    : acc[i]);
  }
}

void softmax(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "input");
  Value& out = output(node, outputs);
  if (in.shape.empty()) fail(node, "input 0 is a scalar; expected rank >= 1");
  expect_shape(node, out, in.shape);
  const int64_t depth = in.shape.back();
  const int64_t rows = depth ? in.element_count() / depth : 0;
  const float beta = node.options.beta;
  const float* x = in.as<float>();
  float* y = out.as<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * depth;
    const float max = *std::max_element(row, row + depth);
    float sum = 0.0f;
    for (int64_t i = 0; i < depth; ++i) {
      y[r * depth + i] = std::exp((row[i] - max) * beta);
      sum += y[r * depth + i];
    }
    for (int64_t i = 0; i < depth; ++i) y[r * depth + i] /= sum;
  }
}

template <typename F>
void unary(const Node& node, const Inputs& inputs, Outputs& outputs, F&& f) {
  const Value& in = input(node, inputs, 0, "input");
  Value& out = output(node, outputs);
  expect_shape(node, out, in.shape);
  const float* x = in.as<float>();
  float* y = out.as<float>();
  for (int64_t i = 0; i < in.element_count(); ++i) y[i] = f(x[i]);
}

void logistic(const Node& node, const Inputs& inputs, Outputs& outputs) {
  unary(node, inputs, outputs, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
}
void tanh_kernel(const Node& node, const Inputs& inputs, Outputs& outputs) {
  unary(node, inputs, outputs, [](float x) { return std::tanh(x); });
}
void relu(const Node& node, const Inputs& inputs, Outputs& outputs) {
  unary(node, inputs, outputs, [](float x) { return std::max(x, 0.0f); });
}
void relu6(const Node& node, const Inputs& inputs, Outputs& outputs) {
  unary(node, inputs, outputs, [](float x) { return std::min(std::max(x, 0.0f), 6.0f); });
}
void relu_n1_to_1(const Node& node, const Inputs& inputs, Outputs& outputs) {
  unary(node, inputs, outputs, [](float x) { return std::min(std::max(x, -1.0f), 1.0f); });
}
void leaky_relu(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const float alpha = node.options.alpha;
  unary(node, inputs, outputs, [alpha](float x) { return x > 0.0f ? x : alpha * x; });
}

const std::vector<KernelEntry>& table() {
  static const std::vector<KernelEntry> entries = {
      {kAdd, add},
      {kAveragePool2D, pool<true>},
      {kConcatenation, concatenation},
      {kConv2D, conv_2d},
      {kDepthwiseConv2D, depthwise_conv_2d},
      {kFullyConnected, fully_connected},
      {kLogistic, logistic},
      {kMaxPool2D, pool<false>},
      {kMul, mul},
      {kRelu, relu},
      {kReluN1To1, relu_n1_to_1},
      {kRelu6, relu6},
      {kSoftmax, softmax},
      {kTanh, tanh_kernel},
      {kMean, reduce<Reduce::Mean>},
      {kSub, sub},
      {kDiv, div},
      {kSum, reduce<Reduce::Sum>},
      {kLeakyRelu, leaky_relu},
  };
  return entries;
}

}  // namespace

Kernel find_float_kernel(int32_t code) {
  return find_kernel(table(), code);
}

std::vector<int32_t> float_kernel_codes() {
  return kernel_codes(table());
}

}  // namespace qimplant::exec
