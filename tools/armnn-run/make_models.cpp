// make_models: writes small float .tflite models and a qparam.json (+ .npy) for each, for the
// Arm NN runtime check (tools/armnn-run/check.py).
//
//   make_models OUT_DIR
//
// Each case goes to OUT_DIR/<case>/: model.tflite (float32), qparam.json and its numbered .npy
// files, input<i>.npy (already-quantized integer inputs) and case.json, which says what the
// operator computes (kind, options, float constants) so that an independent reference can
// recompute the integer result from qparam.json alone. Constants either come with a "value"
// npy or are left for q-implant to quantize from the model's float data.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "model/schema.h"
#include "support/model_builder.h"
#include "support/test_util.h"

namespace qt = qimplant::test;
using qimplant::Format;
using qimplant::TensorType;
using json = nlohmann::ordered_json;

namespace {

// Deterministic generator (no std::uniform_* distributions: their output is
// implementation-defined).
struct Rng {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
  int32_t range(int32_t lo, int32_t hi) {  // inclusive
    return lo + static_cast<int32_t>(next() % static_cast<uint32_t>(hi - lo + 1));
  }
  // In [-0.3, 0.3]: keeps float constants well away from rounding halves.
  float jitter() { return (static_cast<float>(next() % 601) - 300.0f) / 1000.0f; }
};

struct Act {
  std::string dtype;  // "uint8" or "int8"
  int32_t qmin, qmax;
};
const Act kU8{"uint8", 0, 255};
const Act kI8{"int8", -128, 127};

int64_t product(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}
std::vector<int64_t> shape64(const std::vector<int32_t>& s) {
  return {s.begin(), s.end()};
}

void mkdir_p(const std::string& path) {
  mkdir(path.c_str(), 0755);
}

// Quantized random activations, saved as input<index>.npy.
std::vector<int32_t> make_input(Rng& rng, const Act& act, const std::vector<int32_t>& shape,
                                const std::string& dir, int index) {
  std::vector<int32_t> q(static_cast<size_t>(product(shape)));
  for (auto& v : q) v = rng.range(act.qmin, act.qmax);
  const std::string path = dir + "/input" + std::to_string(index) + ".npy";
  if (act.dtype == "uint8") {
    qimplant::npy::save(path, std::vector<uint8_t>(q.begin(), q.end()), shape64(shape));
  } else {
    qimplant::npy::save(path, std::vector<int8_t>(q.begin(), q.end()), shape64(shape));
  }
  return q;
}

std::vector<uint8_t> bytes_of(const std::vector<int32_t>& q, const std::string& dtype) {
  std::vector<uint8_t> out;
  for (int32_t v : q) {
    if (dtype == "int32") {
      const uint32_t u = static_cast<uint32_t>(v);
      for (int b = 0; b < 4; ++b) out.push_back(static_cast<uint8_t>(u >> (8 * b)));
    } else {
      out.push_back(static_cast<uint8_t>(static_cast<int8_t>(v)));  // same bits for u8/i8
    }
  }
  return out;
}
std::string descr_of(const std::string& dtype) {
  return dtype == "int32" ? "<i4" : dtype == "int8" ? "|i1" : "|u1";
}

// Output parameters covering [lo, hi] (float) for `act`, with a little headroom.
void out_params(const Act& act, float lo, float hi, float* scale, int64_t* zp) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const float margin = (hi - lo) * 0.03f;  // keeps the extremes off the clamp limits
  lo -= margin;
  hi += margin;
  const float s = (hi - lo) / static_cast<float>(act.qmax - act.qmin);
  *scale = s > 0 ? s : 1.0f;
  *zp = std::clamp<int64_t>(act.qmin + std::llround(-lo / *scale), act.qmin, act.qmax);
}

// Weights of `shape` with per-channel (along `axis`) or per-tensor params: integers q drawn in
// [qlo, qhi], floats (q - zp + jitter) * scale. Returns the floats, fills `q`.
std::vector<float> make_weights(Rng& rng, const std::vector<int32_t>& shape,
                                const std::vector<float>& scales, int64_t zp, int32_t qlo,
                                int32_t qhi, std::vector<int32_t>* q, size_t axis = 0) {
  const int64_t n = product(shape);
  int64_t inner = 1;  // elements per step along `axis`
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<float> f(static_cast<size_t>(n));
  q->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const size_t ch = static_cast<size_t>((i / inner) % shape[axis]);
    const float s = scales.size() == 1 ? scales[0] : scales[ch];
    (*q)[i] = rng.range(qlo, qhi);
    f[i] = (static_cast<float>((*q)[i] - zp) + rng.jitter()) * s;
  }
  return f;
}

struct Case {
  std::string name, dir;
  json meta = json::object();
  std::vector<qt::QParamSpec> specs;
};

void finish(Case& c, const qt::ModelBuilder& b) {
  b.save(c.dir + "/model.tflite");
  qt::write_qparams(c.dir, c.specs);
  std::ofstream(c.dir + "/case.json") << c.meta.dump(2) << "\n";
  std::cout << c.name << "\n";
}

// FULLY_CONNECTED sizes: [batch, in] x [out, in]^T -> [batch, out].
struct FcDims {
  int32_t batch = 2, in = 8, out = 5;
};

// CONV_2D (VALID, stride 1) or FULLY_CONNECTED: ifm, ker, bias -> ofm.
// per_channel: int8 symmetric weights with one scale per output channel.
// with_value: ker and bias come as "value" npys; otherwise q-implant quantizes the floats.
// torch_weights: uint8 activations with int8 symmetric per-tensor weights (PyTorch's default
// types), which q-implant re-expresses as uint8 with zero point 128 for the uint8 kernels.
void conv_or_fc(const std::string& root, const std::string& name, bool conv, const Act& act,
                bool per_channel, bool with_value, uint64_t seed, FcDims fc = {},
                bool torch_weights = false) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const std::vector<int32_t> in_shape =
      conv ? std::vector<int32_t>{1, 4, 4, 2} : std::vector<int32_t>{fc.batch, fc.in};
  const std::vector<int32_t> ker_shape =
      conv ? std::vector<int32_t>{3, 3, 3, 2} : std::vector<int32_t>{fc.out, fc.in};
  const int32_t oc = ker_shape[0];
  const std::vector<int32_t> out_shape =
      conv ? std::vector<int32_t>{1, 2, 2, 3} : std::vector<int32_t>{fc.batch, fc.out};
  const float in_scale = act.dtype == "uint8" ? 0.05f : 0.04f;
  const int64_t in_zp = act.dtype == "uint8" ? 128 : -3;

  std::vector<float> w_scale;
  int64_t w_zp = 0;
  std::string w_dtype;
  int32_t qlo, qhi;
  if (act.dtype == "uint8" && !torch_weights) {
    w_scale = {0.011f};
    w_zp = 120;
    w_dtype = "uint8";
    qlo = 0;
    qhi = 255;
  } else {
    w_scale =
        per_channel ? std::vector<float>{0.007f, 0.013f, 0.0045f} : std::vector<float>{0.009f};
    if (per_channel) w_scale.resize(static_cast<size_t>(oc), 0.006f);
    w_dtype = "int8";
    qlo = -127;
    qhi = 127;
  }
  std::vector<int32_t> wq;
  const std::vector<float> wf = make_weights(rng, ker_shape, w_scale, w_zp, qlo, qhi, &wq);

  std::vector<float> b_scale;
  for (float s : w_scale) b_scale.push_back(in_scale * s);
  std::vector<int32_t> bq(static_cast<size_t>(oc));
  std::vector<float> bf(static_cast<size_t>(oc));
  for (int32_t i = 0; i < oc; ++i) {
    const float s = b_scale.size() == 1 ? b_scale[0] : b_scale[static_cast<size_t>(i)];
    bq[i] = rng.range(-3000, 3000);
    bf[i] = (static_cast<float>(bq[i]) + rng.jitter()) * s;
  }

  const auto xq = make_input(rng, act, in_shape, c.dir, 0);

  // Float result of the dequantized computation, to choose output params that fit.
  auto w_at = [&](int64_t i) { return wf[static_cast<size_t>(i)]; };
  std::vector<float> of;
  if (conv) {
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 2; ++ox)
        for (int o = 0; o < oc; ++o) {
          float acc = bf[o];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              for (int ic = 0; ic < 2; ++ic) {
                const float x =
                    static_cast<float>(xq[((oy + ky) * 4 + (ox + kx)) * 2 + ic] - in_zp) * in_scale;
                acc += x * w_at(((o * 3 + ky) * 3 + kx) * 2 + ic);
              }
          of.push_back(acc);
        }
  } else {
    for (int bt = 0; bt < fc.batch; ++bt)
      for (int o = 0; o < oc; ++o) {
        float acc = bf[o];
        for (int i = 0; i < fc.in; ++i)
          acc += static_cast<float>(xq[bt * fc.in + i] - in_zp) * in_scale * w_at(o * fc.in + i);
        of.push_back(acc);
      }
  }
  float out_scale;
  int64_t out_zp;
  out_params(act, *std::min_element(of.begin(), of.end()), *std::max_element(of.begin(), of.end()),
             &out_scale, &out_zp);

  qt::ModelBuilder b(Format::TFLite);
  const int32_t ifm = b.tensor("ifm", in_shape);
  const int32_t ker = b.constant("ker", ker_shape, wf);
  const int32_t bias = b.constant("bias", {oc}, bf);
  const int32_t ofm = b.tensor("ofm", out_shape);
  b.op(conv ? tflite::BuiltinOperator_CONV_2D : tflite::BuiltinOperator_FULLY_CONNECTED,
       {ifm, ker, bias}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});

  qt::QParamSpec s_ifm{"ifm", act.dtype, {in_scale}, {in_zp}};
  qt::QParamSpec s_ker{"ker", w_dtype, w_scale, std::vector<int64_t>(w_scale.size(), w_zp)};
  qt::QParamSpec s_bias{"bias", "int32", b_scale, std::vector<int64_t>(b_scale.size(), 0)};
  if (with_value) {
    s_ker.value_descr = descr_of(w_dtype);
    s_ker.value_shape = shape64(ker_shape);
    s_ker.value_bytes = bytes_of(wq, w_dtype);
    s_bias.value_descr = "<i4";
    s_bias.value_shape = {oc};
    s_bias.value_bytes = bytes_of(bq, "int32");
  }
  qt::QParamSpec s_ofm{"ofm", act.dtype, {out_scale}, {out_zp}};
  c.specs = {s_ifm, s_ker, s_bias, s_ofm};

  c.meta["op"] = conv ? "CONV_2D" : "FULLY_CONNECTED";
  c.meta["inputs"] = {"ifm"};
  c.meta["output"] = "ofm";
  c.meta["weights"] = "ker";
  c.meta["bias"] = "bias";
  c.meta["options"] = conv ? json{{"padding", "VALID"}, {"stride", 1}, {"activation", "NONE"}}
                           : json{{"activation", "NONE"}, {"keep_num_dims", false}};
  c.meta["float_constants"] = {{"ker", {{"shape", ker_shape}, {"data", wf}}},
                               {"bias", {{"shape", std::vector<int32_t>{oc}}, {"data", bf}}}};
  finish(c, b);
}

// DEPTHWISE_CONV_2D (VALID, stride 1, depth_multiplier 1), int8, weights [1,3,3,C] quantized per
// channel along dimension 3 (TFLite's layout for depthwise filters).
void depthwise(const std::string& root, const std::string& name, bool with_value, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const Act& act = kI8;
  const int32_t ch = 3;
  const std::vector<int32_t> in_shape{1, 4, 4, ch}, ker_shape{1, 3, 3, ch}, out_shape{1, 2, 2, ch};
  const float in_scale = 0.03f;
  const int64_t in_zp = 4;
  const std::vector<float> w_scale{0.012f, 0.003f, 0.0075f};
  std::vector<int32_t> wq;
  const std::vector<float> wf = make_weights(rng, ker_shape, w_scale, 0, -127, 127, &wq, 3);
  std::vector<float> b_scale;
  for (float s : w_scale) b_scale.push_back(in_scale * s);
  std::vector<int32_t> bq(ch);
  std::vector<float> bf(ch);
  for (int32_t i = 0; i < ch; ++i) {
    bq[i] = rng.range(-2000, 2000);
    bf[i] = (static_cast<float>(bq[i]) + rng.jitter()) * b_scale[i];
  }
  const auto xq = make_input(rng, act, in_shape, c.dir, 0);
  std::vector<float> of;
  for (int oy = 0; oy < 2; ++oy)
    for (int ox = 0; ox < 2; ++ox)
      for (int k = 0; k < ch; ++k) {
        float acc = bf[k];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx)
            acc += static_cast<float>(xq[((oy + ky) * 4 + (ox + kx)) * ch + k] - in_zp) * in_scale *
                   wf[(ky * 3 + kx) * ch + k];
        of.push_back(acc);
      }
  float out_scale;
  int64_t out_zp;
  out_params(act, *std::min_element(of.begin(), of.end()), *std::max_element(of.begin(), of.end()),
             &out_scale, &out_zp);

  qt::ModelBuilder b(Format::TFLite);
  const int32_t ifm = b.tensor("ifm", in_shape);
  const int32_t ker = b.constant("ker", ker_shape, wf);
  const int32_t bias = b.constant("bias", {ch}, bf);
  const int32_t ofm = b.tensor("ofm", out_shape);
  b.op(tflite::BuiltinOperator_DEPTHWISE_CONV_2D, {ifm, ker, bias}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});
  qt::QParamSpec s_ifm{"ifm", act.dtype, {in_scale}, {in_zp}};
  qt::QParamSpec s_ker{"ker", "int8", w_scale, {0, 0, 0}, 3};
  qt::QParamSpec s_bias{"bias", "int32", b_scale, {0, 0, 0}, 0};
  if (with_value) {
    s_ker.value_descr = "|i1";
    s_ker.value_shape = shape64(ker_shape);
    s_ker.value_bytes = bytes_of(wq, "int8");
    s_bias.value_descr = "<i4";
    s_bias.value_shape = {ch};
    s_bias.value_bytes = bytes_of(bq, "int32");
  }
  qt::QParamSpec s_ofm{"ofm", act.dtype, {out_scale}, {out_zp}};
  c.specs = {s_ifm, s_ker, s_bias, s_ofm};
  c.meta["op"] = "DEPTHWISE_CONV_2D";
  c.meta["inputs"] = {"ifm"};
  c.meta["output"] = "ofm";
  c.meta["weights"] = "ker";
  c.meta["bias"] = "bias";
  c.meta["options"] = {
      {"padding", "VALID"}, {"stride", 1}, {"depth_multiplier", 1}, {"activation", "NONE"}};
  c.meta["float_constants"] = {{"ker", {{"shape", ker_shape}, {"data", wf}}},
                               {"bias", {{"shape", std::vector<int32_t>{ch}}, {"data", bf}}}};
  finish(c, b);
}

// ADD of two graph inputs with different parameters.
void add(const std::string& root, const std::string& name, const Act& act, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const std::vector<int32_t> shape{1, 2, 2, 3};
  const bool u8 = act.dtype == "uint8";
  const float s1 = u8 ? 0.04f : 0.03f, s2 = u8 ? 0.07f : 0.05f;
  const int64_t z1 = u8 ? 100 : -10, z2 = u8 ? 140 : 5;
  const auto a = make_input(rng, act, shape, c.dir, 0);
  const auto bq = make_input(rng, act, shape, c.dir, 1);
  float lo = 1e9f, hi = -1e9f;
  for (size_t i = 0; i < a.size(); ++i) {
    const float v = static_cast<float>(a[i] - z1) * s1 + static_cast<float>(bq[i] - z2) * s2;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  float so;
  int64_t zo;
  out_params(act, lo, hi, &so, &zo);

  qt::ModelBuilder b(Format::TFLite);
  const int32_t x = b.tensor("x", shape);
  const int32_t y = b.tensor("y", shape);
  const int32_t z = b.tensor("sum", shape);
  b.op(tflite::BuiltinOperator_ADD, {x, y}, {z});
  b.inputs({x, y});
  b.outputs({z});
  c.specs = {
      {"x", act.dtype, {s1}, {z1}}, {"y", act.dtype, {s2}, {z2}}, {"sum", act.dtype, {so}, {zo}}};
  c.meta["op"] = "ADD";
  c.meta["inputs"] = {"x", "y"};
  c.meta["output"] = "sum";
  c.meta["options"] = {{"activation", "NONE"}};
  finish(c, b);
}

// int8 CONCATENATION (last axis) of a [1,2,2,3] and a [1,2,2,2] input; the second input's
// parameters differ from the output's (scale twice the output's, another zero point), so
// q-implant inserts a requantizing QUANTIZE before it (TFLite's int8 kernel copies raw values).
// The scale ratio 2 makes the requantization exact, whichever kernel runs it.
void concat_requant(const std::string& root, const std::string& name, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const auto a = make_input(rng, kI8, {1, 2, 2, 3}, c.dir, 0);
  const auto d = make_input(rng, kI8, {1, 2, 2, 2}, c.dir, 1);
  qt::ModelBuilder b(Format::TFLite);
  const int32_t x = b.tensor("a", {1, 2, 2, 3});
  const int32_t y = b.tensor("c", {1, 2, 2, 2});
  const int32_t z = b.tensor("cat", {1, 2, 2, 5});
  b.op(tflite::BuiltinOperator_CONCATENATION, {x, y}, {z});
  b.inputs({x, y});
  b.outputs({z});
  c.specs = {
      {"a", "int8", {0.05f}, {-3}}, {"c", "int8", {0.1f}, {5}}, {"cat", "int8", {0.05f}, {-3}}};
  c.meta["op"] = "CONCATENATION";
  c.meta["inputs"] = {"a", "c"};
  c.meta["output"] = "cat";
  finish(c, b);
}

// AVERAGE_POOL_2D 2x2, stride 1, VALID; output parameters equal the input's (as TFLite needs).
void avgpool(const std::string& root, const std::string& name, const Act& act, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const bool u8 = act.dtype == "uint8";
  const float s = u8 ? 0.05f : 0.02f;
  const int64_t zp = u8 ? 128 : -7;
  make_input(rng, act, {1, 4, 4, 2}, c.dir, 0);
  qt::ModelBuilder b(Format::TFLite);
  const int32_t x = b.tensor("ifm", {1, 4, 4, 2});
  const int32_t y = b.tensor("ofm", {1, 3, 3, 2});
  b.op(tflite::BuiltinOperator_AVERAGE_POOL_2D, {x}, {y});
  b.inputs({x});
  b.outputs({y});
  c.specs = {{"ifm", act.dtype, {s}, {zp}}, {"ofm", act.dtype, {s}, {zp}}};
  c.meta["op"] = "AVERAGE_POOL_2D";
  c.meta["inputs"] = {"ifm"};
  c.meta["output"] = "ofm";
  c.meta["options"] = {{"padding", "VALID"}, {"stride", 1}, {"filter", 2}, {"activation", "NONE"}};
  finish(c, b);
}

// CONV_2D -> RESHAPE -> FULLY_CONNECTED, uint8. qparam.json has nothing for the RESHAPE
// output: q-implant must propagate the CONV_2D output's parameters through it (Arm NN, like
// TFLite, needs a RESHAPE's input and output parameters equal). The shape operand is an int32
// constant, which stays as it is.
void chain(const std::string& root, const std::string& name, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const Act& act = kU8;
  const float in_scale = 0.06f, w1_scale = 0.01f, w2_scale = 0.008f;
  const int64_t in_zp = 110, w1_zp = 130, w2_zp = 125;
  std::vector<int32_t> w1q, w2q;
  const std::vector<float> w1 = make_weights(rng, {2, 2, 2, 2}, {w1_scale}, w1_zp, 0, 255, &w1q);
  std::vector<int32_t> b1q(2);
  for (auto& v : b1q) v = rng.range(-2000, 2000);
  const auto xq = make_input(rng, act, {1, 3, 3, 2}, c.dir, 0);
  // conv: [1,3,3,2] * [2,2,2,2] -> [1,2,2,2]; reshape -> [1,8]; fc [3,8] -> [1,3]
  std::vector<float> h;
  for (int oy = 0; oy < 2; ++oy)
    for (int ox = 0; ox < 2; ++ox)
      for (int o = 0; o < 2; ++o) {
        float acc = static_cast<float>(b1q[o]) * in_scale * w1_scale;
        for (int ky = 0; ky < 2; ++ky)
          for (int kx = 0; kx < 2; ++kx)
            for (int ic = 0; ic < 2; ++ic)
              acc += static_cast<float>(xq[((oy + ky) * 3 + (ox + kx)) * 2 + ic] - in_zp) *
                     in_scale * w1[((o * 2 + ky) * 2 + kx) * 2 + ic];
        h.push_back(acc);
      }
  float h_scale;
  int64_t h_zp;
  out_params(act, *std::min_element(h.begin(), h.end()), *std::max_element(h.begin(), h.end()),
             &h_scale, &h_zp);
  const std::vector<float> w2 = make_weights(rng, {3, 8}, {w2_scale}, w2_zp, 0, 255, &w2q);
  std::vector<float> b2(3), of;
  for (int o = 0; o < 3; ++o) {
    b2[o] = (static_cast<float>(rng.range(-2000, 2000)) + rng.jitter()) * h_scale * w2_scale;
    float acc = b2[o];
    for (int i = 0; i < 8; ++i) acc += h[i] * w2[o * 8 + i];
    of.push_back(acc);
  }
  float out_scale;
  int64_t out_zp;
  out_params(act, *std::min_element(of.begin(), of.end()), *std::max_element(of.begin(), of.end()),
             &out_scale, &out_zp);

  qt::ModelBuilder b(Format::TFLite);
  const int32_t ifm = b.tensor("ifm", {1, 3, 3, 2});
  const int32_t ker1 = b.constant("ker1", {2, 2, 2, 2}, w1);
  const int32_t bias1 = b.constant("bias1", {2}, std::vector<float>(2, 0.0f));
  const int32_t hid = b.tensor("hidden", {1, 2, 2, 2});
  const int32_t shape = b.constant_i32("new_shape", {2}, {1, 8});
  const int32_t flat = b.tensor("flat", {1, 8});
  const int32_t ker2 = b.constant("ker2", {3, 8}, w2);
  const int32_t bias2 = b.constant("bias2", {3}, b2);
  const int32_t ofm = b.tensor("ofm", {1, 3});
  b.op(tflite::BuiltinOperator_CONV_2D, {ifm, ker1, bias1}, {hid});
  b.op(tflite::BuiltinOperator_RESHAPE, {hid, shape}, {flat});
  b.op(tflite::BuiltinOperator_FULLY_CONNECTED, {flat, ker2, bias2}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});

  qt::QParamSpec s_ifm{"ifm", act.dtype, {in_scale}, {in_zp}};
  qt::QParamSpec s_ker1{"ker1", "uint8", {w1_scale}, {w1_zp}};
  s_ker1.value_descr = "|u1";
  s_ker1.value_shape = {2, 2, 2, 2};
  s_ker1.value_bytes = bytes_of(w1q, "uint8");
  qt::QParamSpec s_bias1{"bias1", "int32", {in_scale * w1_scale}, {0}};
  s_bias1.value_descr = "<i4";
  s_bias1.value_shape = {2};
  s_bias1.value_bytes = bytes_of(b1q, "int32");
  qt::QParamSpec s_hid{"hidden", act.dtype, {h_scale}, {h_zp}};
  qt::QParamSpec s_ker2{"ker2", "uint8", {w2_scale}, {w2_zp}};  // quantized from float
  qt::QParamSpec s_bias2{"bias2", "int32", {h_scale * w2_scale}, {0}};
  qt::QParamSpec s_ofm{"ofm", act.dtype, {out_scale}, {out_zp}};
  c.specs = {s_ifm, s_ker1, s_bias1, s_hid, s_ker2, s_bias2, s_ofm};

  c.meta["op"] = "CHAIN";
  c.meta["inputs"] = {"ifm"};
  c.meta["output"] = "ofm";
  c.meta["chain"] = json::array(
      {{{"op", "CONV_2D"},
        {"inputs", {"ifm"}},
        {"output", "hidden"},
        {"weights", "ker1"},
        {"bias", "bias1"},
        {"options", {{"padding", "VALID"}, {"stride", 1}}}},
       {{"op", "RESHAPE"}, {"inputs", {"hidden"}}, {"output", "flat"}, {"shape", {1, 8}}},
       {{"op", "FULLY_CONNECTED"},
        {"inputs", {"flat"}},
        {"output", "ofm"},
        {"weights", "ker2"},
        {"bias", "bias2"}}});
  // 'flat' is in no qparam entry: q-implant is expected to give it 'hidden''s parameters.
  c.meta["same_params"] = {{"flat", "hidden"}};
  c.meta["float_constants"] = {{"ker2", {{"shape", {3, 8}}, {"data", w2}}},
                               {"bias2", {{"shape", {3}}, {"data", b2}}}};
  finish(c, b);
}

// Mixed precision: ifm -> FULLY_CONNECTED (uint8) -> hidden -> TANH (kept float by
// --keep-float) -> act -> FULLY_CONNECTED (uint8) -> ofm. q-implant inserts a DEQUANTIZE before
// TANH and a QUANTIZE (with act's qparam.json parameters) after it.
void mixed(const std::string& root, const std::string& name, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const Act& act = kU8;
  const float in_scale = 0.05f, w1_scale = 0.01f, w2_scale = 0.008f;
  const int64_t in_zp = 120, w1_zp = 128, w2_zp = 131;
  std::vector<int32_t> w1q, w2q;
  const std::vector<float> w1 = make_weights(rng, {4, 6}, {w1_scale}, w1_zp, 0, 255, &w1q);
  const int rows = 4;
  const auto xq = make_input(rng, act, {rows, 6}, c.dir, 0);
  std::vector<float> h(rows * 4);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < 4; ++o)
      for (int i = 0; i < 6; ++i)
        h[r * 4 + o] += static_cast<float>(xq[r * 6 + i] - in_zp) * in_scale * w1[o * 6 + i];
  float h_scale, a_scale = 2.0f / 256, out_scale;
  int64_t h_zp, a_zp = 128, out_zp;
  out_params(act, *std::min_element(h.begin(), h.end()), *std::max_element(h.begin(), h.end()),
             &h_scale, &h_zp);
  const std::vector<float> w2 = make_weights(rng, {3, 4}, {w2_scale}, w2_zp, 0, 255, &w2q);
  std::vector<float> of(rows * 3);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < 3; ++o)
      for (int i = 0; i < 4; ++i) of[r * 3 + o] += std::tanh(h[r * 4 + i]) * w2[o * 4 + i];
  out_params(act, *std::min_element(of.begin(), of.end()), *std::max_element(of.begin(), of.end()),
             &out_scale, &out_zp);

  qt::ModelBuilder b(Format::TFLite);
  const int32_t ifm = b.tensor("ifm", {rows, 6});
  const int32_t ker1 = b.constant("ker1", {4, 6}, w1);
  const int32_t bias1 = b.constant("bias1", {4}, std::vector<float>(4, 0.0f));
  const int32_t hid = b.tensor("hidden", {rows, 4});
  const int32_t a = b.tensor("act", {rows, 4});
  const int32_t ker2 = b.constant("ker2", {3, 4}, w2);
  const int32_t bias2 = b.constant("bias2", {3}, std::vector<float>(3, 0.0f));
  const int32_t ofm = b.tensor("ofm", {rows, 3});
  b.op(tflite::BuiltinOperator_FULLY_CONNECTED, {ifm, ker1, bias1}, {hid});
  b.op(tflite::BuiltinOperator_TANH, {hid}, {a});
  b.op(tflite::BuiltinOperator_FULLY_CONNECTED, {a, ker2, bias2}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});

  qt::QParamSpec s_ker1{"ker1", "uint8", {w1_scale}, {w1_zp}};
  s_ker1.value_descr = "|u1";
  s_ker1.value_shape = {4, 6};
  s_ker1.value_bytes = bytes_of(w1q, "uint8");
  qt::QParamSpec s_ker2{"ker2", "uint8", {w2_scale}, {w2_zp}};
  s_ker2.value_descr = "|u1";
  s_ker2.value_shape = {3, 4};
  s_ker2.value_bytes = bytes_of(w2q, "uint8");
  qt::QParamSpec s_bias1{"bias1", "int32", {in_scale * w1_scale}, {0}};
  s_bias1.value_descr = "<i4";
  s_bias1.value_shape = {4};
  s_bias1.value_bytes = bytes_of(std::vector<int32_t>(4, 0), "int32");
  qt::QParamSpec s_bias2{"bias2", "int32", {a_scale * w2_scale}, {0}};
  s_bias2.value_descr = "<i4";
  s_bias2.value_shape = {3};
  s_bias2.value_bytes = bytes_of(std::vector<int32_t>(3, 0), "int32");
  c.specs = {{"ifm", act.dtype, {in_scale}, {in_zp}},
             s_ker1,
             s_bias1,
             s_bias2,
             {"hidden", act.dtype, {h_scale}, {h_zp}},
             {"act", act.dtype, {a_scale}, {a_zp}},  // the QUANTIZE after the float TANH
             s_ker2,
             {"ofm", act.dtype, {out_scale}, {out_zp}}};

  c.meta["op"] = "CHAIN";
  c.meta["inputs"] = {"ifm"};
  c.meta["output"] = "ofm";
  c.meta["q_implant_args"] = {"--keep-float", "act"};
  c.meta["chain"] = json::array({{{"op", "FULLY_CONNECTED"},
                                  {"inputs", {"ifm"}},
                                  {"output", "hidden"},
                                  {"weights", "ker1"},
                                  {"bias", "bias1"}},
                                 {{"op", "FLOAT_TANH"}, {"inputs", {"hidden"}}, {"output", "act"}},
                                 {{"op", "FULLY_CONNECTED"},
                                  {"inputs", {"act"}},
                                  {"output", "ofm"},
                                  {"weights", "ker2"},
                                  {"bias", "bias2"}}});
  finish(c, b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_models OUT_DIR\n";
    return 2;
  }
  const std::string root = argv[1];
  mkdir_p(root);
  try {
    conv_or_fc(root, "conv_u8", true, kU8, false, true, 1);
    conv_or_fc(root, "conv_u8_float", true, kU8, false, false, 2);
    conv_or_fc(root, "conv_i8", true, kI8, false, false, 3);
    conv_or_fc(root, "conv_i8_pc", true, kI8, true, true, 4);
    conv_or_fc(root, "conv_i8_pc_float", true, kI8, true, false, 5);
    conv_or_fc(root, "fc_u8", false, kU8, false, true, 6);
    conv_or_fc(root, "fc_i8_float", false, kI8, false, false, 7);
    // Larger ones: enough requantized values (384, 448) that rounding differences between
    // runtimes and references show.
    conv_or_fc(root, "fc_u8_big", false, kU8, false, true, 15, FcDims{16, 40, 24});
    conv_or_fc(root, "fc_i8_big_float", false, kI8, false, false, 16, FcDims{14, 48, 32});
    depthwise(root, "dwconv_i8_pc", true, 12);
    depthwise(root, "dwconv_i8_pc_float", false, 13);
    add(root, "add_u8", kU8, 8);
    add(root, "add_i8", kI8, 9);
    avgpool(root, "avgpool_u8", kU8, 10);
    avgpool(root, "avgpool_i8", kI8, 11);
    chain(root, "chain_u8", 14);
    mixed(root, "mixed_u8", 15);
    conv_or_fc(root, "conv_u8_w8", true, kU8, false, true, 17, {}, true);
    conv_or_fc(root, "fc_u8_w8_float", false, kU8, false, false, 18, {}, true);
    concat_requant(root, "concat_i8_requant", 19);
  } catch (const std::exception& e) {
    std::cerr << "make_models: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
