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

// Deterministic generator (no std::uniform_* distributions: their output is implementation-defined).
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
std::vector<int64_t> shape64(const std::vector<int32_t>& s) { return {s.begin(), s.end()}; }

void mkdir_p(const std::string& path) { mkdir(path.c_str(), 0755); }

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
  const float s = (hi - lo) * 1.05f / static_cast<float>(act.qmax - act.qmin);
  *scale = s > 0 ? s : 1.0f;
  *zp = std::clamp<int64_t>(act.qmin + std::llround(-lo / *scale), act.qmin, act.qmax);
}

// Weights of `shape` with per-channel (along dim 0) or per-tensor params: integers q drawn in
// [qlo, qhi], floats (q - zp + jitter) * scale. Returns the floats, fills `q`.
std::vector<float> make_weights(Rng& rng, const std::vector<int32_t>& shape,
                                const std::vector<float>& scales, int64_t zp, int32_t qlo,
                                int32_t qhi, std::vector<int32_t>* q) {
  const int64_t n = product(shape);
  const int64_t per = n / shape[0];
  std::vector<float> f(static_cast<size_t>(n));
  q->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float s = scales.size() == 1 ? scales[0] : scales[static_cast<size_t>(i / per)];
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

// CONV_2D (VALID, stride 1) or FULLY_CONNECTED: ifm, ker, bias -> ofm.
// per_channel: int8 symmetric weights with one scale per output channel.
// with_value: ker and bias come as "value" npys; otherwise q-implant quantizes the floats.
void conv_or_fc(const std::string& root, const std::string& name, bool conv, const Act& act,
                bool per_channel, bool with_value, uint64_t seed) {
  Case c{name, root + "/" + name};
  mkdir_p(c.dir);
  Rng rng{seed};
  const std::vector<int32_t> in_shape = conv ? std::vector<int32_t>{1, 4, 4, 2}
                                             : std::vector<int32_t>{2, 8};
  const std::vector<int32_t> ker_shape = conv ? std::vector<int32_t>{3, 3, 3, 2}
                                              : std::vector<int32_t>{5, 8};
  const int32_t oc = ker_shape[0];
  const std::vector<int32_t> out_shape = conv ? std::vector<int32_t>{1, 2, 2, 3}
                                              : std::vector<int32_t>{2, 5};
  const float in_scale = act.dtype == "uint8" ? 0.05f : 0.04f;
  const int64_t in_zp = act.dtype == "uint8" ? 128 : -3;

  std::vector<float> w_scale;
  int64_t w_zp = 0;
  std::string w_dtype;
  int32_t qlo, qhi;
  if (act.dtype == "uint8") {
    w_scale = {0.011f};
    w_zp = 120;
    w_dtype = "uint8";
    qlo = 0;
    qhi = 255;
  } else {
    w_scale = per_channel ? std::vector<float>{0.007f, 0.013f, 0.0045f} : std::vector<float>{0.009f};
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
    for (int bt = 0; bt < 2; ++bt)
      for (int o = 0; o < oc; ++o) {
        float acc = bf[o];
        for (int i = 0; i < 8; ++i)
          acc += static_cast<float>(xq[bt * 8 + i] - in_zp) * in_scale * w_at(o * 8 + i);
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
  qt::QParamSpec s_ker{"ker", w_dtype, w_scale,
                       std::vector<int64_t>(w_scale.size(), w_zp)};
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
  c.specs = {{"x", act.dtype, {s1}, {z1}}, {"y", act.dtype, {s2}, {z2}}, {"sum", act.dtype, {so}, {zo}}};
  c.meta["op"] = "ADD";
  c.meta["inputs"] = {"x", "y"};
  c.meta["output"] = "sum";
  c.meta["options"] = {{"activation", "NONE"}};
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
    add(root, "add_u8", kU8, 8);
    add(root, "add_i8", kI8, 9);
    avgpool(root, "avgpool_u8", kU8, 10);
    avgpool(root, "avgpool_i8", kI8, 11);
  } catch (const std::exception& e) {
    std::cerr << "make_models: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
