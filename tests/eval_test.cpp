// q-implant eval: the error metrics on hand-computed vectors, input handling, the diagnosis of
// quantized constants (layouts, zero point, scale), and end to end runs of float vs quantized
// models built and calibrated here, through the library and the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "eval/constants.h"
#include "eval/diagnose.h"
#include "eval/eval.h"
#include "eval/inputs.h"
#include "eval/metrics.h"
#include "exec/interpreter.h"
#include "implant.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using eval::ErrorAccumulator;
using eval::ErrorStats;

constexpr int32_t kAdd = 0, kConv2D = 3, kDepthwise = 4, kFullyConnected = 9, kQuantize = 114;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `f`, expecting an Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_TRUE(has(e.what(), p)) << p << "\n" << e.what();
  }
}

ErrorStats stats_of(const std::vector<double>& ref, const std::vector<double>& got,
                    double lsb = 0) {
  ErrorAccumulator acc;
  for (size_t i = 0; i < ref.size(); ++i) acc.add(ref[i], got[i], lsb);
  return acc.stats();
}

// ---------------------------------------------------------------- metrics

TEST(EvalMetrics, HandComputedVector) {
  // errors 0, 0.5, 1, 0; sum ref^2 = 30, sum err^2 = 1.25 -> SNR 10 log10(24) = 13.802 dB.
  const ErrorStats s = stats_of({1, 2, 3, 4}, {1, 2.5, 2, 4}, 0.5);
  EXPECT_EQ(s.count, 4);
  EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_abs, 0.375);
  EXPECT_NEAR(s.snr_db, 13.8021, 1e-4);
  ASSERT_TRUE(s.has_lsb);
  EXPECT_DOUBLE_EQ(s.max_lsb, 2.0);
  EXPECT_DOUBLE_EQ(s.mean_lsb, 0.75);
  EXPECT_EQ(eval::format_snr(s.snr_db), "13.8");
}

TEST(EvalMetrics, SignsDoNotCancel) {
  // errors +1 and -1: mean abs 1, not 0.
  const ErrorStats s = stats_of({0, 2}, {1, 1});
  EXPECT_DOUBLE_EQ(s.mean_abs, 1.0);
  EXPECT_NEAR(s.snr_db, 10 * std::log10(4.0 / 2.0), 1e-12);
  EXPECT_FALSE(s.has_lsb);
}

TEST(EvalMetrics, ExactIsInfiniteAndZeroReferenceIsMinusInfinite) {
  const ErrorStats exact = stats_of({1, -2}, {1, -2});
  EXPECT_TRUE(std::isinf(exact.snr_db) && exact.snr_db > 0);
  EXPECT_EQ(eval::format_snr(exact.snr_db), "inf");
  const ErrorStats zero_ref = stats_of({0, 0}, {0.5, 0});
  EXPECT_TRUE(std::isinf(zero_ref.snr_db) && zero_ref.snr_db < 0);
  EXPECT_EQ(eval::format_snr(zero_ref.snr_db), "-inf");
  EXPECT_TRUE(std::isinf(eval::snr_db(0, 0)));
}

TEST(EvalMetrics, LsbUsesEachElementsStep) {
  // A per-channel tensor: the same absolute error is 1 LSB at step 0.5 and 4 LSB at step 0.125.
  ErrorAccumulator acc;
  acc.add(1.0, 1.5, 0.5);
  acc.add(1.0, 1.5, 0.125);
  acc.add(1.0, 1.0, 0);  // no step: counts for the real-unit figures only
  const ErrorStats s = acc.stats();
  EXPECT_DOUBLE_EQ(s.max_lsb, 4.0);
  EXPECT_DOUBLE_EQ(s.mean_lsb, 2.5);
  EXPECT_NEAR(s.mean_abs, 1.0 / 3.0, 1e-12);
}

// ---------------------------------------------------------------- inputs

// x [1, 4] (+ y [1, 4] when two) -> ADD -> out.
ModelBuilder add_model(bool two_inputs, TensorType input_type = TensorType::Float32) {
  ModelBuilder b(Format::Circle);
  const int32_t x = b.tensor("x", {1, 4}, input_type);
  const int32_t y = two_inputs ? b.tensor("y", {1, 4}) : b.constant("c", {1, 4}, {1, 2, 3, 4});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(kAdd, {x, y}, {out});
  b.inputs(two_inputs ? std::vector<int32_t>{x, y} : std::vector<int32_t>{x});
  b.outputs({out});
  return b;
}

class EvalInputs : public ::testing::Test {
 protected:
  std::unique_ptr<ModelFile> save(const ModelBuilder& b, const std::string& name) {
    b.save(dir_.file(name));
    return ModelFile::open(dir_.file(name));
  }
  std::string npy_f32(const std::string& name, const std::vector<float>& v,
                      const std::vector<int64_t>& shape) {
    npy::save(dir_.file(name), v, shape);
    return dir_.file(name);
  }
  ScratchDir dir_;
};

TEST_F(EvalInputs, OneSampleOrALeadingSampleDimension) {
  auto f = save(add_model(false), "f.circle");
  const auto one = eval::load_inputs(*f, {{"x", npy_f32("a.npy", {1, 2, 3, 4}, {1, 4})}});
  ASSERT_EQ(one.samples.size(), 1u);
  EXPECT_EQ(one.samples[0][0], (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(one.sources[0], dir_.file("a.npy"));
  const auto three = eval::load_inputs(
      *f, {{"x", npy_f32("b.npy", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 1, 4})}});
  ASSERT_EQ(three.samples.size(), 3u);
  EXPECT_EQ(three.samples[2][0], (std::vector<float>{8, 9, 10, 11}));
}

TEST_F(EvalInputs, BadInputFilesAreNamed) {
  auto f = save(add_model(true), "f.circle");
  const std::string good = npy_f32("good.npy", {1, 2, 3, 4}, {1, 4});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"z", good}, {"x", good}, {"y", good}});
      },
      {"has no input named 'z'", "'x', 'y'", dir_.file("f.circle")});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}});
      },
      {"input 'y'", "has no --input y=FILE.npy"});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}, {"x", good}, {"y", good}});
      },
      {"input 'x' given twice"});
  const std::string wrong_shape = npy_f32("shape.npy", {1, 2, 3}, {1, 3});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}, {"y", wrong_shape}});
      },
      {"npy file '" + wrong_shape + "' for input 'y'",
       "expected a float32 array of shape (1, 4) (one sample) or (N, 1, 4)",
       "found float32 array of shape (1, 3)"});
  npy::save(dir_.file("int.npy"), std::vector<int64_t>{1, 2, 3, 4}, {1, 4});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", dir_.file("int.npy")}, {"y", good}});
      },
      {"for input 'x'", "expected a float32 array", "found int64"});
  const std::string two = npy_f32("two.npy", {1, 2, 3, 4, 5, 6, 7, 8}, {2, 1, 4});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}, {"y", two}});
      },
      {"holds 2 sample(s)", "holds 1", "same number of samples"});
  const std::string nan = npy_f32("nan.npy", {1, NAN, 3, 4}, {1, 4});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}, {"y", nan}});
      },
      {"'" + nan + "'", "element 1 is nan"});
  expect_error(
      [&] {
        eval::load_inputs(*f, {{"x", good}, {"y", dir_.file("missing.npy")}});
      },
      {"missing.npy"});
}

TEST_F(EvalInputs, RandomRangeFollowsTheQuantizedInput) {
  auto f = save(add_model(false), "f.circle");
  // uint8 scale 0.1 zp 10 represents (0 - 10) * 0.1 .. (255 - 10) * 0.1.
  ModelBuilder qb = add_model(false, TensorType::UInt8);
  qb.set_quant(0, {0.1f}, {10});
  auto q = save(qb, "q.circle");
  auto [lo, hi] = eval::random_range(*f, *q, 0);
  EXPECT_NEAR(lo, -1.0, 1e-6);
  EXPECT_NEAR(hi, 24.5, 1e-5);
  // A float input read only by a QUANTIZE takes the QUANTIZE output's range.
  ModelBuilder ib(Format::Circle);
  const int32_t x = ib.tensor("x", {1, 4});
  const int32_t xq = ib.tensor("x_quantized", {1, 4}, TensorType::Int8);
  ib.set_quant(xq, {0.5f}, {-128});
  const int32_t out = ib.tensor("out", {1, 4}, TensorType::Int8);
  ib.op(kQuantize, {x}, {xq});
  ib.op(kAdd, {xq, xq}, {out});
  ib.inputs({x});
  ib.outputs({out});
  auto iq = save(ib, "iq.circle");
  std::tie(lo, hi) = eval::random_range(*f, *iq, 0);
  EXPECT_DOUBLE_EQ(lo, 0.0);
  EXPECT_DOUBLE_EQ(hi, 127.5);
  // Float everywhere: [-1, 1].
  std::tie(lo, hi) = eval::random_range(*f, *f, 0);
  EXPECT_EQ(lo, -1.0);
  EXPECT_EQ(hi, 1.0);
}

TEST_F(EvalInputs, RandomSamplesAreSeededAndInRange) {
  auto f = save(add_model(true), "f.circle");
  ModelBuilder qb = add_model(true, TensorType::UInt8);
  qb.set_quant(0, {0.01f}, {0});
  auto q = save(qb, "q.circle");
  const auto a = eval::random_inputs(*f, *q, 5, 7);
  const auto b = eval::random_inputs(*f, *q, 5, 7);
  const auto c = eval::random_inputs(*f, *q, 5, 8);
  ASSERT_EQ(a.samples.size(), 5u);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_NE(a.samples, c.samples);
  float xmin = 1e9f, xmax = -1e9f;
  for (const auto& s : a.samples) {
    ASSERT_EQ(s.size(), 2u);
    for (float v : s[0]) xmin = std::min(xmin, v), xmax = std::max(xmax, v);
    for (float v : s[1]) EXPECT_TRUE(v >= -1.0f && v <= 1.0f) << v;
  }
  EXPECT_GE(xmin, 0.0f);
  EXPECT_LE(xmax, 2.55f);
  EXPECT_GT(xmax - xmin, 1.0f);  // spread over the range, not one value
  EXPECT_EQ(a.sources[0], "random [0, 2.55]");
  expect_error([&] { eval::random_inputs(*f, *q, 0, 0); }, {"--samples", "found 0"});
  ModelBuilder ib = add_model(false, TensorType::Int32);
  auto fi = save(ib, "fi.circle");
  expect_error([&] { eval::random_inputs(*fi, *fi, 1, 0); },
               {"input 'x'", "is INT32, not FLOAT32", "--input x=FILE.npy"});
}

TEST_F(EvalInputs, FeedingQuantizesHalfAwayAndClamps) {
  TensorInfo t;
  t.name = "x";
  t.type = static_cast<int8_t>(TensorType::UInt8);
  t.shape = {6};
  t.quant.scale = {0.5f};
  t.quant.zero_point = {10};
  auto f = save(add_model(false), "f.circle");
  // x / 0.5 = 0.5 -> 1, -0.5 -> -1 (away from zero), 1.5 -> 2, then + 10, clamped to 0..255.
  const exec::Value v = eval::feed({0.25f, -0.25f, 0.75f, 1000.f, -1000.f, 0.f}, t, *f);
  EXPECT_EQ(v.data, (std::vector<uint8_t>{11, 9, 12, 255, 0, 10}));
  EXPECT_EQ(v.quant.scale, t.quant.scale);
  t.type = static_cast<int8_t>(TensorType::Int16);
  t.quant.zero_point = {0};
  const exec::Value w = eval::feed({-20000.f, 1.25f, 0, 0, 0, 0}, t, *f);
  ASSERT_EQ(w.data.size(), 12u);
  EXPECT_EQ(w.as<int16_t>()[0], -32768);
  EXPECT_EQ(w.as<int16_t>()[1], 3);  // 2.5 rounds away to 3
  t.type = static_cast<int8_t>(TensorType::Float32);
  const exec::Value fl = eval::feed({1.5f, 0, 0, 0, 0, -2}, t, *f);
  EXPECT_EQ(fl.as<float>()[0], 1.5f);
  EXPECT_EQ(fl.as<float>()[5], -2.0f);
  t.type = static_cast<int8_t>(TensorType::Int8);
  t.quant.scale = {0.5f, 0.25f};
  t.quant.zero_point = {0, 0};
  expect_error(
      [&] {
        eval::feed({0, 0, 0, 0, 0, 0}, t, *f);
      },
      {"input 'x'", "per-channel", "per-tensor"});
}

TEST_F(EvalInputs, ModelsMustHaveCorrespondingInputs) {
  auto f = save(add_model(true), "f.circle");
  auto one = save(add_model(false), "one.circle");
  expect_error([&] { eval::match_inputs(*f, *one); },
               {"do not correspond", "has 2 ('x', 'y')", "has 1 ('x')"});
  ModelBuilder renamed(Format::Circle);
  const int32_t a = renamed.tensor("x", {1, 4});
  const int32_t b = renamed.tensor("b", {1, 4});
  const int32_t o = renamed.tensor("out", {1, 4});
  renamed.op(kAdd, {a, b}, {o});
  renamed.inputs({b, a});
  renamed.outputs({o});
  auto r = save(renamed, "r.circle");
  expect_error([&] { eval::match_inputs(*f, *r); },
               {"has no input named 'y'", dir_.file("r.circle"), "its inputs: 'b', 'x'"});
  ModelBuilder wide(Format::Circle);
  const int32_t wx = wide.tensor("x", {1, 5});
  const int32_t wy = wide.tensor("y", {1, 4});
  const int32_t wo = wide.tensor("out", {1, 4});
  wide.op(kAdd, {wx, wy}, {wo});
  wide.inputs({wx, wy});
  wide.outputs({wo});
  auto w = save(wide, "w.circle");
  expect_error([&] { eval::match_inputs(*f, *w); },
               {"input 'x'", "has shape (1, 4)", "has shape (1, 5)"});
  // Swapped order is fine: matched by name.
  ModelBuilder swapped(Format::Circle);
  const int32_t sx = swapped.tensor("x", {1, 4});
  const int32_t sy = swapped.tensor("y", {1, 4});
  const int32_t so = swapped.tensor("out", {1, 4});
  swapped.op(kAdd, {sx, sy}, {so});
  swapped.inputs({sy, sx});
  swapped.outputs({so});
  auto s = save(swapped, "s.circle");
  EXPECT_EQ(eval::match_inputs(*f, *s), (std::vector<size_t>{1, 0}));
}

// ---------------------------------------------------------------- constants and diagnosis

TEST(EvalLayout, RereadOihwAsOhwi) {
  // Model OHWI [1, 1, 2, 3]; the data was written as OIHW [1, 3, 1, 2]: flat index i * 2 + w.
  const std::vector<int64_t> stored{0, 1, 2, 3, 4, 5};
  const auto layouts = eval::candidate_layouts(kConv2D, 4);
  ASSERT_EQ(layouts[0].name, "OIHW");
  EXPECT_EQ(eval::reread_in_layout(stored, {1, 1, 2, 3}, layouts[0]),
            (std::vector<int64_t>{0, 2, 4, 1, 3, 5}));
  // FULLY_CONNECTED [2, 3] written as [3, 2].
  const auto fc = eval::candidate_layouts(kFullyConnected, 2);
  ASSERT_EQ(fc.size(), 1u);
  EXPECT_EQ(eval::reread_in_layout(stored, {2, 3}, fc[0]),
            (std::vector<int64_t>{0, 2, 4, 1, 3, 5}));
  EXPECT_TRUE(eval::candidate_layouts(kAdd, 4).empty());
}

TEST(EvalLayout, DequantizePerChannel) {
  QuantParams q;
  q.scale = {0.5f, 0.25f};
  q.zero_point = {0, 2};
  q.quantized_dimension = 1;
  // shape [2, 2]: element (r, c) uses channel c.
  EXPECT_EQ(eval::dequantize({2, 2, 4, 6}, {2, 2}, q), (std::vector<double>{1.0, 0.0, 2.0, 1.0}));
  EXPECT_EQ(eval::channel_of({2, 3, 4}, 1, 13), 0);  // 13 = (1, 0, 1)
  EXPECT_EQ(eval::channel_of({2, 3, 4}, 2, 13), 1);
}

// A float weight of `shape` with distinct values, and the same model with that weight int8
// symmetric per-channel along `dim` (steps scale[c]), its integers laid out as `write` returns.
struct WeightPair {
  std::vector<float> values;
  std::vector<float> scale;
  std::vector<int64_t> q;  // C order in the model's shape
};

WeightPair quantize_weight(const std::vector<int32_t>& shape, int32_t dim) {
  WeightPair w;
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  for (int64_t i = 0; i < n; ++i)
    w.values.push_back(static_cast<float>(std::sin(0.7 * static_cast<double>(i) + 0.3)));
  const int64_t channels = shape[static_cast<size_t>(dim)];
  std::vector<float> amax(static_cast<size_t>(channels), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    auto& m = amax[static_cast<size_t>(eval::channel_of(shape, dim, i))];
    m = std::max(m, std::fabs(w.values[static_cast<size_t>(i)]));
  }
  for (float m : amax) w.scale.push_back(m / 127.f);
  for (int64_t i = 0; i < n; ++i) {
    const float s = w.scale[static_cast<size_t>(eval::channel_of(shape, dim, i))];
    w.q.push_back(static_cast<int64_t>(std::round(w.values[static_cast<size_t>(i)] / s)));
  }
  return w;
}

class EvalDiagnose : public ::testing::Test {
 protected:
  // One `code` operator reading input [1,3,3,2]-ish activations and weight "w"; the float model
  // and a quantized copy whose weight holds `stored` with `scale` / `zp` along `dim`.
  void build(int32_t code, const std::vector<int32_t>& wshape, const std::vector<float>& values,
             const std::vector<int64_t>& stored, const std::vector<float>& scale,
             const std::vector<int64_t>& zp, int32_t dim, TensorType wtype = TensorType::Int8) {
    for (bool quantized : {false, true}) {
      ModelBuilder b(Format::Circle);
      const int32_t x = b.tensor("x", code == kFullyConnected ? std::vector<int32_t>{1, wshape[1]}
                                                              : std::vector<int32_t>{1, 3, 3, 3});
      int32_t w;
      if (!quantized) {
        w = b.constant("w", wshape, values);
      } else {
        std::vector<uint8_t> bytes;
        for (int64_t v : stored) bytes.push_back(static_cast<uint8_t>(v & 0xff));
        w = b.constant_bytes("w", wshape, wtype, bytes);
        b.set_quant(w, scale, zp, dim);
      }
      const int32_t y = b.tensor("y", {1, 1});
      b.op(code, {x, w, -1}, {y});
      b.inputs({x});
      b.outputs({y});
      b.save(dir_.file(quantized ? "q.circle" : "f.circle"));
    }
    f_ = ModelFile::open(dir_.file("f.circle"));
    q_ = ModelFile::open(dir_.file("q.circle"));
  }
  eval::ConstantDiagnosis run() { return eval::diagnose_constants(*f_, *q_); }

  ScratchDir dir_;
  std::unique_ptr<ModelFile> f_, q_;
};

// The integers of `w` (model shape) written in `layout`'s dimension order, flat.
std::vector<int64_t> write_in_layout(const std::vector<int64_t>& w,
                                     const std::vector<int32_t>& shape,
                                     const eval::Layout& layout) {
  const auto reread = eval::reread_in_layout(
      [&] {
        std::vector<int64_t> idx(w.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
        return idx;
      }(),
      shape, layout);
  // reread[i] = flat position (in the layout) of model element i.
  std::vector<int64_t> out(w.size());
  for (size_t i = 0; i < w.size(); ++i) out[static_cast<size_t>(reread[i])] = w[i];
  return out;
}

TEST_F(EvalDiagnose, CorrectWeightHasNoFinding) {
  const std::vector<int32_t> shape{2, 2, 2, 3};
  const WeightPair w = quantize_weight(shape, 0);
  build(kConv2D, shape, w.values, w.q, w.scale, {0, 0}, 0);
  const auto d = run();
  EXPECT_TRUE(d.findings.empty()) << d.findings[0].message;
  ASSERT_EQ(d.compared.size(), 1u);
  EXPECT_EQ(d.compared[0].tensor, "w");
  EXPECT_LE(d.compared[0].stats.max_lsb, 0.5 + 1e-6);
  EXPECT_GT(d.compared[0].stats.snr_db, 35);
}

TEST_F(EvalDiagnose, ConvWeightInPyTorchLayoutIsNamed) {
  const std::vector<int32_t> shape{2, 2, 2, 3};
  const WeightPair w = quantize_weight(shape, 0);
  for (const auto& layout : eval::candidate_layouts(kConv2D, 4)) {
    build(kConv2D, shape, w.values, write_in_layout(w.q, shape, layout), w.scale, {0, 0}, 0);
    const auto d = run();
    ASSERT_EQ(d.findings.size(), 1u) << layout.name;
    const auto& f = d.findings[0];
    EXPECT_EQ(f.kind, "layout");
    EXPECT_EQ(f.layout, layout.name);
    EXPECT_LE(f.fixed.max_lsb, 0.5 + 1e-6);
    EXPECT_GT(f.as_stored.max_lsb, eval::kTolerance);
    EXPECT_TRUE(has(f.message, "weight 'w' of CONV_2D looks like layout " + layout.name +
                                   " written into the model's OHWI"))
        << f.message;
  }
}

TEST_F(EvalDiagnose, TransposedFullyConnectedAndDepthwiseWeights) {
  const std::vector<int32_t> fc{3, 4};
  const WeightPair w = quantize_weight(fc, 0);
  build(kFullyConnected, fc, w.values,
        write_in_layout(w.q, fc, eval::candidate_layouts(kFullyConnected, 2)[0]), w.scale,
        {0, 0, 0}, 0);
  auto d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].layout, "[in, out]");
  EXPECT_TRUE(has(d.findings[0].message, "FULLY_CONNECTED")) << d.findings[0].message;

  const std::vector<int32_t> dw{1, 2, 2, 3};
  const WeightPair v = quantize_weight(dw, 3);
  build(kDepthwise, dw, v.values,
        write_in_layout(v.q, dw, eval::candidate_layouts(kDepthwise, 4)[0]), v.scale, {0, 0, 0}, 3);
  d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].layout, "[C, 1, H, W]");
}

TEST_F(EvalDiagnose, ScaleOffByAFactor) {
  const std::vector<int32_t> shape{2, 2, 2, 3};
  const WeightPair w = quantize_weight(shape, 0);
  std::vector<float> wrong = w.scale;
  for (float& s : wrong) s *= 10;
  build(kConv2D, shape, w.values, w.q, wrong, {0, 0}, 0);
  auto d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].kind, "scale");
  EXPECT_NEAR(d.findings[0].factor, 0.1, 1e-3);
  EXPECT_TRUE(has(d.findings[0].message, "constant 'w': its scale looks off by a factor of 0.1"))
      << d.findings[0].message;
  // One channel's scale from elsewhere: found per channel.
  wrong = w.scale;
  wrong[1] *= 4;
  build(kConv2D, shape, w.values, w.q, wrong, {0, 0}, 0);
  d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].kind, "scale");
  EXPECT_TRUE(has(d.findings[0].message, "per-channel scales look off by factors 0.25 .. 0.999"))
      << d.findings[0].message;
}

TEST_F(EvalDiagnose, NegatedZeroPoint) {
  const std::vector<int32_t> shape{2, 3};
  std::vector<float> values{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  const float scale = 0.6f / 100.f;
  std::vector<int64_t> q;
  for (float v : values) q.push_back(static_cast<int64_t>(std::round(v / scale)) - 20);
  build(kFullyConnected, shape, values, q, {scale}, {20}, 0);
  auto d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].kind, "zero_point");
  EXPECT_TRUE(has(d.findings[0].message, "with zero point -20 instead of 20"))
      << d.findings[0].message;
}

TEST_F(EvalDiagnose, UnexplainedMismatchReportsClipping) {
  const std::vector<int32_t> shape{2, 3};
  const std::vector<float> values{1, -1, 1, -1, 0.5f, 0.25f};
  // Everything stuck at the limits: not a layout, a zero point or one factor.
  build(kFullyConnected, shape, values, {127, 127, -128, 127, -128, 127}, {0.01f}, {0}, 0);
  auto d = run();
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].kind, "mismatch");
  EXPECT_TRUE(has(d.findings[0].message, "sit at the type's limits")) << d.findings[0].message;
  EXPECT_TRUE(has(d.findings[0].message, "constant 'w'")) << d.findings[0].message;
}

// ---------------------------------------------------------------- end to end

// x [1,4,4,2] -> CONV_2D (w [3,2,2,2], b [3]) -> c [1,3,3,3] -> RESHAPE [1,27] -> r
//   -> FULLY_CONNECTED (fw [4,27], fb [4]) -> f [1,4];  f + y [1,4] -> ADD -> out [1,4].
constexpr int32_t kReshape = 22;

std::vector<float> wave(size_t n, double step, double phase, double amp) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(amp * std::sin(step * static_cast<double>(i) + phase));
  return v;
}

const std::vector<int32_t> kConvShape{3, 2, 2, 2}, kFcShape{4, 27};

ModelBuilder chain_model(const std::string& custom_op = "", Format format = Format::Circle) {
  ModelBuilder b(format);
  const int32_t x = b.tensor("x", {1, 4, 4, 2});
  const int32_t y = b.tensor("y", {1, 4});
  const int32_t w = b.constant("w", kConvShape, wave(24, 0.9, 0.1, 0.8));
  const int32_t bias = b.constant("b", {3}, {0.1f, -0.2f, 0.05f});
  const int32_t c = b.tensor("c", {1, 3, 3, 3});
  const int32_t shape = b.constant_i32("shape", {2}, {1, 27});
  const int32_t r = b.tensor("r", {1, 27});
  const int32_t fw = b.constant("fw", kFcShape, wave(108, 0.37, 0.5, 0.3));
  const int32_t fb = b.constant("fb", {4}, {0.2f, 0.0f, -0.1f, 0.3f});
  const int32_t f = b.tensor("f", {1, 4});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(kConv2D, {x, w, bias}, {c});
  if (custom_op.empty()) {
    b.op(kReshape, {c, shape}, {r});
  } else {
    b.op(32 /* CUSTOM */, {c, shape}, {r}, custom_op);
  }
  b.op(kFullyConnected, {r, fw, fb}, {f});
  b.op(kAdd, {f, y}, {out});
  b.inputs({x, y});
  b.outputs({out});
  return b;
}

// int8 symmetric parameters of `values`, per channel along dimension 0 when `channels` > 1.
void symmetric(const std::vector<float>& values, size_t channels, std::vector<float>* scale,
               std::vector<int64_t>* q) {
  const size_t per = values.size() / channels;
  scale->assign(channels, 0.f);
  for (size_t i = 0; i < values.size(); ++i)
    (*scale)[i / per] = std::max((*scale)[i / per], std::fabs(values[i]) / 127.f);
  q->clear();
  for (size_t i = 0; i < values.size(); ++i)
    q->push_back(static_cast<int64_t>(std::round(values[i] / (*scale)[i / per])));
}

std::vector<uint8_t> int8_bytes(const std::vector<int64_t>& q) {
  std::vector<uint8_t> b;
  for (int64_t v : q) b.push_back(static_cast<uint8_t>(static_cast<int8_t>(v)));
  return b;
}

class EvalEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    float_path_ = dir_.file("float.circle");
    chain_model().save(float_path_);
    float_ = ModelFile::open(float_path_);
  }

  // Activation ranges of the float model over the samples eval itself will draw (seed 0),
  // as int8 asymmetric parameters: scale = (max - min) / 255, zero point = -128 - min / scale.
  std::vector<QParamSpec> calibrate(const std::string& dtype = "int8") {
    const exec::Interpreter interpreter(*float_);
    const SubgraphInfo& g = float_->info().subgraphs[0];
    const auto samples = eval::random_inputs(*float_, *float_, 16, 0);
    std::map<std::string, std::pair<float, float>> range;
    for (const auto& sample : samples.samples) {
      std::vector<exec::Value> in;
      for (size_t i = 0; i < g.inputs.size(); ++i)
        in.push_back(eval::feed(sample[i], g.tensors[g.inputs[i]], *float_));
      const auto values = interpreter.run(in);
      for (const char* name : {"x", "y", "c", "f", "out"}) {
        size_t t = 0;
        while (g.tensors[t].name != name) ++t;
        auto& [lo, hi] = range.emplace(name, std::pair<float, float>{0.f, 0.f}).first->second;
        for (int64_t e = 0; e < values[t].element_count(); ++e) {
          lo = std::min(lo, values[t].as<float>()[e]);
          hi = std::max(hi, values[t].as<float>()[e]);
        }
      }
    }
    // uint8: zero point -min / scale, weights asymmetric per tensor; int8: zero point
    // -128 - min / scale, weights symmetric (conv per channel).
    const bool u8 = dtype == "uint8";
    std::vector<QParamSpec> specs;
    auto asymmetric = [&](const std::string& name, float lo, float hi) {
      lo = std::min(lo, 0.f);
      hi = std::max(hi, 0.f);
      const float scale = (hi - lo) / 255.f;
      const int64_t zp = std::lround((u8 ? 0.0 : -128.0) - lo / scale);
      specs.push_back(
          {name, dtype, {scale}, {std::clamp<int64_t>(zp, u8 ? 0 : -128, u8 ? 255 : 127)}});
    };
    if (dtype == "int16") {
      // Symmetric int16 activations with int8 weights (TFLite's 16x8 scheme), int64 biases.
      for (const auto& [name, r] : range) {
        const float amax = std::max(std::fabs(r.first), std::fabs(r.second));
        specs.push_back({name, dtype, {amax / 32767.f}, {0}});
      }
    }
    if (dtype != "int16") {
      for (const auto& [name, r] : range) asymmetric(name, r.first, r.second);
    }
    if (u8) {
      for (const char* w : {"w", "fw"}) {
        const auto v = float_data(w);
        asymmetric(w, *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
      }
      return specs;
    }
    std::vector<float> wscale, fscale;
    std::vector<int64_t> wq, fq;
    symmetric(float_data("w"), 3, &wscale, &wq);
    symmetric(float_data("fw"), 1, &fscale, &fq);
    specs.push_back({"w", "int8", wscale, {0, 0, 0}, 0});
    specs.push_back({"fw", "int8", fscale, {0}, 0});
    return specs;
  }

  void use_tflite() {
    float_path_ = dir_.file("float.tflite");
    chain_model("", Format::TFLite).save(float_path_);
    float_ = ModelFile::open(float_path_);
  }

  std::vector<float> float_data(const std::string& name) {
    const SubgraphInfo& g = float_->info().subgraphs[0];
    for (const auto& t : g.tensors) {
      if (t.name != name) continue;
      const auto d = eval::float_data(*float_, t);
      return std::vector<float>(d.begin(), d.end());
    }
    throw std::runtime_error("no tensor " + name);
  }

  // Implants `specs` (in a subdirectory `name`) and returns the quantized model's path.
  std::string implant_specs(const std::string& name, const std::vector<QParamSpec>& specs) {
    const std::string sub = dir_.file(name);
    std::filesystem::create_directories(sub);
    ImplantOptions o;
    o.input = float_path_;
    o.qparam = write_qparams(sub, specs);
    o.output = sub + (float_->format() == Format::TFLite ? "/q.tflite" : "/q.circle");
    implant(o);
    return o.output;
  }

  eval::EvalResult run_eval(const std::string& quantized, bool per_tensor = false) {
    eval::EvalOptions o;
    o.float_model = float_path_;
    o.quantized_model = quantized;
    o.samples = 16;
    o.per_tensor = per_tensor;
    return eval::evaluate(o);
  }

  ScratchDir dir_;
  std::string float_path_;
  std::unique_ptr<ModelFile> float_;
};

TEST_F(EvalEndToEnd, CalibratedModelAgrees) {
  const std::string q = implant_specs("good", calibrate());
  const eval::EvalResult r = run_eval(q, true);
  EXPECT_EQ(r.samples, 16);
  ASSERT_EQ(r.outputs.size(), 1u);
  const auto& out = r.outputs[0];
  EXPECT_EQ(out.name, "out");
  EXPECT_EQ(out.quantized_type, "INT8");
  EXPECT_EQ(out.stats.count, 16 * 4);
  EXPECT_GT(out.stats.snr_db, 30.0);
  ASSERT_TRUE(out.stats.has_lsb);
  EXPECT_LE(out.stats.max_lsb, 4.0);
  EXPECT_GT(out.stats.max_abs, 0.0);  // quantized: not bit-equal to float
  EXPECT_TRUE(r.constants.findings.empty()) << r.constants.findings[0].message;
  // Every activation and constant is compared; the shape constant (INT32 in both) too.
  std::map<std::string, eval::TensorComparison> by_name;
  for (const auto& t : r.tensors) by_name[t.name] = t;
  for (const char* name : {"x", "y", "c", "r", "f", "out", "w", "fw"})
    EXPECT_TRUE(by_name.count(name)) << name;
  EXPECT_GT(by_name["c"].stats.snr_db, 30.0);
  EXPECT_LE(by_name["x"].stats.max_lsb, 0.5 + 1e-3);  // input quantization alone
  EXPECT_TRUE(eval::check_thresholds(r, {std::nullopt, 30.0}).empty());
  EXPECT_FALSE(eval::check_thresholds(r, {1e-9, std::nullopt}).empty());
  // The same through evaluate_implant, which leaves nothing behind in TMPDIR.
  ScratchDir tmp;
  const char* old_tmp = getenv("TMPDIR");
  const std::string saved = old_tmp ? old_tmp : "";
  setenv("TMPDIR", tmp.path().c_str(), 1);
  ImplantOptions io;
  io.input = float_path_;
  io.qparam = dir_.file("good/qparam.json");
  eval::EvalOptions eo;
  eo.samples = 16;
  const eval::EvalResult again = eval::evaluate_implant(io, eo);
  // (TMPDIR is where the temporary model goes: one that cannot be made there is an error.)
  setenv("TMPDIR", tmp.file("missing").c_str(), 1);
  expect_error([&] { eval::evaluate_implant(io, eo); },
               {"cannot create a temporary directory", tmp.file("missing")});
  if (old_tmp) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  EXPECT_TRUE(list_dir(tmp.path()).empty());
  EXPECT_EQ(again.outputs[0].stats.max_abs, out.stats.max_abs);
  EXPECT_TRUE(has(again.quantized_model, "implanted from")) << again.quantized_model;
}

TEST_F(EvalEndToEnd, CalibratedUint8ModelAgrees) {
  const eval::EvalResult r = run_eval(implant_specs("u8", calibrate("uint8")));
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].quantized_type, "UINT8");
  EXPECT_GT(r.outputs[0].stats.snr_db, 30.0);
  EXPECT_LE(r.outputs[0].stats.max_lsb, 4.0);
  EXPECT_TRUE(r.constants.findings.empty()) << r.constants.findings[0].message;
}

TEST_F(EvalEndToEnd, CalibratedInt16ModelAgrees) {
  const eval::EvalResult r = run_eval(implant_specs("i16", calibrate("int16")), true);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].quantized_type, "INT16");
  // The int8 weights bound the error (about 50 dB each), not the int16 activations: better
  // than the int8 model's 40 dB, but many int16 LSB.
  EXPECT_GT(r.outputs[0].stats.snr_db, 45.0);
  for (const auto& t : r.tensors) {
    if (t.name == "x") {
      EXPECT_LE(t.stats.max_lsb, 0.5 + 1e-3);
    }
  }
  EXPECT_TRUE(r.constants.findings.empty()) << r.constants.findings[0].message;
}

TEST_F(EvalEndToEnd, TfliteModelAgrees) {
  use_tflite();
  const std::string q = implant_specs("tflite", calibrate());
  ASSERT_EQ(ModelFile::open(q)->format(), Format::TFLite);
  const eval::EvalResult r = run_eval(q);
  EXPECT_GT(r.outputs[0].stats.snr_db, 30.0);
  EXPECT_LE(r.outputs[0].stats.max_lsb, 4.0);
}

TEST_F(EvalEndToEnd, FloatInterfaceModelIsMatchedByName) {
  // --input-type / --output-type float32: the quantized model keeps float inputs and outputs of
  // the same names, with a QUANTIZE after each input and a DEQUANTIZE before each output.
  const std::string sub = dir_.file("iface");
  std::filesystem::create_directories(sub);
  ImplantOptions io;
  io.input = float_path_;
  io.qparam = write_qparams(sub, calibrate());
  io.output = sub + "/q.circle";
  io.interface.inputs = {"float32"};
  io.interface.outputs = {"float32"};
  implant(io);
  const eval::EvalResult r = run_eval(io.output, true);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].quantized_type, "FLOAT32");
  EXPECT_GT(r.outputs[0].stats.snr_db, 30.0);
  // The LSB of a float output made by a DEQUANTIZE is the scale it dequantizes with.
  ASSERT_TRUE(r.outputs[0].stats.has_lsb);
  EXPECT_LE(r.outputs[0].stats.max_lsb, 4.0);
  for (const auto& t : r.tensors) EXPECT_EQ(t.name.find("_quantized"), std::string::npos);
  // Random inputs take the range of the QUANTIZE that reads the float input.
  EXPECT_NE(r.input_sources[0], "random [-1, 1]");
}

TEST_F(EvalEndToEnd, TransposedWeightIsFlagged) {
  auto specs = calibrate();
  std::vector<float> scale;
  std::vector<int64_t> q;
  symmetric(float_data("w"), 3, &scale, &q);
  for (auto& s : specs) {
    if (s.name != "w") continue;
    s.value_descr = "|i1";
    s.value_shape = {3, 2, 2, 2};
    s.value_bytes =
        int8_bytes(write_in_layout(q, kConvShape, eval::candidate_layouts(kConv2D, 4)[0]));
  }
  const eval::EvalResult r = run_eval(implant_specs("layout", specs));
  EXPECT_LT(r.outputs[0].stats.snr_db, 20.0);
  ASSERT_EQ(r.constants.findings.size(), 1u);
  const auto& f = r.constants.findings[0];
  EXPECT_EQ(f.tensor, "w");
  EXPECT_EQ(f.kind, "layout");
  EXPECT_EQ(f.layout, "OIHW");
  EXPECT_TRUE(has(eval::eval_table(r), "warning: weight 'w' of CONV_2D looks like layout OIHW"))
      << eval::eval_table(r);
  EXPECT_FALSE(eval::check_thresholds(r, {std::nullopt, 30.0}).empty());
}

TEST_F(EvalEndToEnd, ActivationScalesThatDoNotFitAreFlagged) {
  auto specs = calibrate();
  for (auto& s : specs) {
    if (s.name == "c") s.scale[0] /= 4;   // most of c's range no longer fits: clipped
    if (s.name == "f") s.scale[0] *= 30;  // f uses a thirtieth of its range: coarse
  }
  const eval::EvalResult r = run_eval(implant_specs("ranges", specs), true);
  std::map<std::string, eval::RangeFinding> by_name;
  for (const auto& f : r.ranges) by_name[f.tensor] = f;
  EXPECT_EQ(by_name.size(), 3u);  // c, r (the RESHAPE carries c's parameters), f
  EXPECT_EQ(by_name["r"].kind, "clipped");
  ASSERT_TRUE(by_name.count("c"));
  EXPECT_EQ(by_name["c"].kind, "clipped");
  EXPECT_GT(by_name["c"].at_limits, 0.01);
  EXPECT_NEAR(by_name["c"].factor, 4.0, 0.5);
  EXPECT_TRUE(has(by_name["c"].message, "tensor 'c' (INT8, scale")) << by_name["c"].message;
  ASSERT_TRUE(by_name.count("f"));
  EXPECT_EQ(by_name["f"].kind, "coarse");
  EXPECT_NEAR(by_name["f"].factor, 30.0, 5.0);
  EXPECT_TRUE(has(eval::eval_table(r), "scale looks too large by a factor of about"));
  // The calibrated model has none.
  EXPECT_TRUE(run_eval(implant_specs("good", calibrate()), true).ranges.empty());
}

TEST_F(EvalEndToEnd, WrongScaleIsFlagged) {
  auto specs = calibrate();
  std::vector<float> scale;
  std::vector<int64_t> q;
  symmetric(float_data("fw"), 1, &scale, &q);
  for (auto& s : specs) {
    if (s.name != "fw") continue;
    s.scale = {scale[0] * 8};  // the data is right, its scale is not
    s.value_descr = "|i1";
    s.value_shape = {4, 27};
    s.value_bytes = int8_bytes(q);
  }
  const eval::EvalResult r = run_eval(implant_specs("scale", specs));
  EXPECT_LT(r.outputs[0].stats.snr_db, 20.0);
  ASSERT_EQ(r.constants.findings.size(), 1u);
  EXPECT_EQ(r.constants.findings[0].tensor, "fw");
  EXPECT_EQ(r.constants.findings[0].kind, "scale");
  EXPECT_NEAR(r.constants.findings[0].factor, 0.125, 1e-3);
}

TEST_F(EvalEndToEnd, ModelsThatDoNotCorrespondOrCannotRun) {
  const std::string q = implant_specs("good", calibrate());
  // An operator the interpreter has no kernel for is named, before anything runs.
  chain_model("MyOp").save(dir_.file("custom.circle"));
  eval::EvalOptions o;
  o.float_model = dir_.file("custom.circle");
  o.quantized_model = q;
  expect_error([&] { eval::evaluate(o); }, {"MyOp"});
  // Outputs are matched by name.
  ModelBuilder other(Format::Circle);
  const int32_t x = other.tensor("x", {1, 4, 4, 2});
  const int32_t y = other.tensor("y", {1, 4});
  const int32_t z = other.tensor("z", {1, 4});
  other.op(kAdd, {y, y}, {z});
  other.inputs({x, y});
  other.outputs({z});
  other.save(dir_.file("other.circle"));
  o.float_model = float_path_;
  o.quantized_model = dir_.file("other.circle");
  expect_error([&] { eval::evaluate(o); },
               {"has no output named 'out'", dir_.file("other.circle"), "its outputs: 'z'"});
}

// ---------------------------------------------------------------- the binary

struct CliRun {
  int status = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliRun run_cli(const std::string& args) {
  ScratchDir capture;
  std::string ignored;
  CliRun r;
  r.status = run_command("(" + quote(QIMPLANT_CLI) + " " + args + " >" +
                             quote(capture.file("out")) + " 2>" + quote(capture.file("err")) + ")",
                         &ignored);
  const auto out = read_bytes(capture.file("out"));
  const auto err = read_bytes(capture.file("err"));
  r.out.assign(out.begin(), out.end());
  r.err.assign(err.begin(), err.end());
  return r;
}

std::ostream& operator<<(std::ostream& os, const CliRun& r) {
  return os << "exit " << r.status << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

TEST_F(EvalEndToEnd, CliExitCodesAndJson) {
  const std::string q = implant_specs("good", calibrate());
  const std::string models = quote(float_path_) + " " + quote(q);
  CliRun r = run_cli("eval " + models + " --min-snr 30 --max-error 1");
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(has(r.out, "graph outputs:")) << r;
  EXPECT_TRUE(has(r.out, "SNR dB")) << r;

  r = run_cli("eval " + models + " --json --per-tensor --samples 4 --seed 3");
  ASSERT_EQ(r.status, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 4);
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["outputs"][0]["name"], "out");
  EXPECT_GT(j["outputs"][0]["snr_db"].get<double>(), 30.0);
  EXPECT_TRUE(j["outputs"][0]["max_error_lsb"].is_number());
  EXPECT_FALSE(j["tensors"].empty());
  for (const auto& t : j["tensors"])  // an exact tensor: infinite SNR, written as a string
    if (t["name"] == "shape") {
      EXPECT_EQ(t["snr_db"], "inf");
    }
  EXPECT_EQ(j["thresholds"]["passed"], true);

  r = run_cli("eval " + models + " --min-snr 200");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(has(r.err, "threshold missed: output 'out': SNR")) << r;
  EXPECT_TRUE(has(r.err, "< --min-snr 200 dB")) << r;
  EXPECT_TRUE(has(r.out, "graph outputs:")) << r;  // the table still shows why

  r = run_cli("eval " + models + " --max-error 1e-9 --json");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(nlohmann::json::parse(r.out)["thresholds"]["passed"], false);
  EXPECT_TRUE(has(r.err, "> --max-error 1e-09")) << r;

  r = run_cli("eval " + quote(float_path_) + " --implant " + quote(dir_.file("good/qparam.json")) +
              " --min-snr 30");
  EXPECT_EQ(r.status, 0) << r;
  r = run_cli("eval " + quote(float_path_) + " --implant " + quote(dir_.file("good/qparam.json")) +
              " --implant-output " + quote(dir_.file("kept.circle")));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(file_exists(dir_.file("kept.circle")));
  EXPECT_TRUE(has(r.out, "vs " + dir_.file("kept.circle"))) << r;
  // The implant's own options apply with --implant (here the float interface), and only there.
  r = run_cli("eval " + quote(float_path_) + " --implant " + quote(dir_.file("good/qparam.json")) +
              " --input-type float32 --output-type float32 --implant-output " +
              quote(dir_.file("kept_float_io.circle")) + " --min-snr 30");
  EXPECT_EQ(r.status, 0) << r;
  {
    const auto kept = ModelFile::open(dir_.file("kept_float_io.circle"));
    const SubgraphInfo& sg = kept->info().subgraphs[0];
    for (int32_t t : sg.inputs) EXPECT_EQ(sg.tensors[t].type, 0) << sg.tensors[t].name;
    for (int32_t t : sg.outputs) EXPECT_EQ(sg.tensors[t].type, 0) << sg.tensors[t].name;
  }
  r = run_cli("eval " + models + " --rules one");
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_TRUE(has(r.err, "--rules needs --implant")) << r;

  // Inputs from npy files, and their errors.
  npy::save(dir_.file("x.npy"), wave(32, 0.3, 0, 0.9), {1, 4, 4, 2});
  npy::save(dir_.file("y.npy"), wave(4, 1.1, 0, 0.5), {1, 4});
  r = run_cli("eval " + models + " --input x=" + quote(dir_.file("x.npy")) +
              " --input y=" + quote(dir_.file("y.npy")) + " --json");
  EXPECT_EQ(r.status, 0) << r;
  if (r.status == 0) {
    EXPECT_EQ(nlohmann::json::parse(r.out)["samples"], 1);
  }
  r = run_cli("eval " + models + " --input nope=" + quote(dir_.file("x.npy")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(has(r.err, "has no input named 'nope'")) << r;
  r = run_cli("eval " + models + " --input x=" + quote(dir_.file("y.npy")) +
              " --input y=" + quote(dir_.file("y.npy")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(has(r.err, "expected a float32 array of shape (1, 4, 4, 2)")) << r;

  // Usage errors exit 2.
  EXPECT_EQ(run_cli("eval " + quote(float_path_)).status, 2);
  EXPECT_EQ(run_cli("eval " + models + " --input x").status, 2);
  EXPECT_EQ(run_cli("eval " + models + " --input x=a.npy --samples 3").status, 2);
  EXPECT_EQ(run_cli("eval " + models + " --implant " + quote(dir_.file("good/qparam.json"))).status,
            2);
}

}  // namespace
}  // namespace qimplant::test
