// The reference interpreter on float32 models, and its generic (value-moving) kernels: every
// expected value here is worked out by hand from the operator's definition (small shapes), and
// every error the interpreter, load_graph and the kernels throw is provoked once.
#include "exec/interpreter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/graph.h"
#include "exec/kernels.h"
#include "model/model_file.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using exec::Activation;
using exec::Interpreter;
using exec::OpOptions;
using exec::Padding;
using exec::Value;

// BuiltinOperator codes used below (equal in circle and tflite).
enum : int32_t {
  kAdd = 0,
  kAveragePool2D = 1,
  kConcatenation = 2,
  kConv2D = 3,
  kDepthwiseConv2D = 4,
  kDepthToSpace = 5,
  kFloor = 8,
  kFullyConnected = 9,
  kLogistic = 14,
  kMaxPool2D = 17,
  kMul = 18,
  kRelu = 19,
  kReluN1To1 = 20,
  kRelu6 = 21,
  kReshape = 22,
  kSoftmax = 25,
  kSpaceToDepth = 26,
  kTanh = 28,
  kCustom = 32,
  kPad = 34,
  kGather = 36,
  kTranspose = 39,
  kMean = 40,
  kSub = 41,
  kSqueeze = 43,
  kStridedSlice = 45,
  kSplit = 49,
  kPadV2 = 60,
  kSlice = 65,
  kTile = 69,
  kExpandDims = 70,
  kSum = 74,
  kReduceMax = 82,
  kPack = 83,
  kUnpack = 88,
  kLeakyRelu = 98,
  kMirrorPad = 100,
  kSplitV = 102,
  kReverseV2 = 105,
  kGatherNd = 107,
  kBatchToSpaceNd = 37,
  kSpaceToBatchNd = 38,
  kReduceMin = 89,
  kResizeNearestNeighbor = 97,
  kBroadcastTo = 130,
};

std::vector<float> floats(const Value& v) {
  std::vector<float> r(static_cast<size_t>(v.element_count()));
  std::memcpy(r.data(), v.data.data(), r.size() * 4);
  return r;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want,
                 float tolerance = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tolerance) << "element " << i;
}

// A one-graph model under construction, then saved, opened and run.
class Model {
 public:
  explicit Model(Format format = Format::Circle) : b(format) {}

  int32_t input(std::vector<int32_t> shape, TensorType type = TensorType::Float32) {
    const int32_t t = b.tensor("in" + std::to_string(inputs_.size()), std::move(shape), type);
    inputs_.push_back(t);
    return t;
  }
  int32_t output(std::vector<int32_t> shape, TensorType type = TensorType::Float32) {
    const int32_t t = b.tensor("out" + std::to_string(outputs_.size()), std::move(shape), type);
    outputs_.push_back(t);
    return t;
  }
  int32_t constant(std::vector<int32_t> shape, const std::vector<float>& values) {
    return b.constant("c" + std::to_string(next_++), std::move(shape), values);
  }
  int32_t ints(std::vector<int32_t> shape, const std::vector<int32_t>& values) {
    return b.constant_i32("i" + std::to_string(next_++), std::move(shape), values);
  }
  int32_t op(int32_t code, std::vector<int32_t> in, std::vector<int32_t> out,
             const OpOptions* options = nullptr, const std::string& custom = "") {
    const int32_t o = b.op(code, std::move(in), std::move(out), custom);
    if (options) b.options(o, *options);
    return o;
  }

  const ModelFile& file() {
    if (!file_) {
      b.inputs(inputs_);
      b.outputs(outputs_);
      path_ = dir_.file("model");
      b.save(path_);
      file_ = ModelFile::open(path_);
    }
    return *file_;
  }
  const std::string& path() {
    file();
    return path_;
  }
  // Runs on float inputs (one vector per graph input, shaped as the model says); returns the
  // graph outputs.
  std::vector<Value> run(const std::vector<std::vector<float>>& values) {
    std::vector<Value> in;
    const auto& sg = file().info().subgraphs[0];
    for (size_t i = 0; i < values.size(); ++i)
      in.push_back(exec::make_float(sg.tensors[sg.inputs[i]].shape, values[i]));
    return run_values(in);
  }
  std::vector<Value> run_values(const std::vector<Value>& in) {
    Interpreter interpreter(file());
    const std::vector<Value> all = interpreter.run(in);
    std::vector<Value> out;
    for (int32_t t : outputs_) out.push_back(all[t]);
    return out;
  }

  ModelBuilder b;

 private:
  ScratchDir dir_;
  std::string path_;
  std::unique_ptr<ModelFile> file_;
  std::vector<int32_t> inputs_, outputs_;
  int next_ = 0;
};

// Runs `f` and returns the Error message it throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<float> iota(int n, float from = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = from + static_cast<float>(i);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Convolutions and FULLY_CONNECTED.

TEST(ExecFloat, Conv2DValidWithBias) {
  Model m;
  const int32_t x = m.input({1, 3, 3, 1});
  const int32_t w = m.constant({1, 2, 2, 1}, {1, 0, 0, 1});
  const int32_t bias = m.constant({1}, {1});
  const int32_t y = m.output({1, 2, 2, 1});
  m.op(kConv2D, {x, w, bias}, {y});
  // Each output is x[i][j] + x[i+1][j+1] + 1 over the 3x3 input 1..9.
  expect_near(floats(m.run({iota(9)})[0]), {7, 9, 13, 15});
}

TEST(ExecFloat, Conv2DSameStride2PadsBothSides) {
  Model m;
  const int32_t x = m.input({1, 3, 3, 1});
  const int32_t w = m.constant({1, 3, 3, 1}, std::vector<float>(9, 1.0f));
  const int32_t y = m.output({1, 2, 2, 1});
  OpOptions o;
  o.padding = Padding::Same;
  o.stride_w = o.stride_h = 2;
  m.op(kConv2D, {x, w, -1}, {y}, &o);
  // Output 2x2, total padding (2-1)*2+3-3 = 2: one row/column each side; windows centred on the
  // corners sum 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
  expect_near(floats(m.run({iota(9)})[0]), {12, 16, 24, 28});
}

TEST(ExecFloat, Conv2DSameOddPaddingGoesAfter) {
  Model m;
  const int32_t x = m.input({1, 1, 4, 1});
  const int32_t w = m.constant({1, 1, 2, 1}, {1, 10});
  const int32_t y = m.output({1, 1, 4, 1});
  OpOptions o;
  o.padding = Padding::Same;
  m.op(kConv2D, {x, w}, {y}, &o);
  // Total padding 1 goes to the end (TFLite): y[i] = x[i] + 10 x[i+1].
  expect_near(floats(m.run({{1, 2, 3, 4}})[0]), {21, 32, 43, 4});
}

TEST(ExecFloat, Conv2DDilation) {
  Model m;
  const int32_t x = m.input({1, 1, 5, 1});
  const int32_t w = m.constant({1, 1, 2, 1}, {1, 1});
  const int32_t y = m.output({1, 1, 3, 1});
  OpOptions o;
  o.dilation_w = 2;
  m.op(kConv2D, {x, w}, {y}, &o);
  // Effective filter width 3: y[i] = x[i] + x[i+2].
  expect_near(floats(m.run({{1, 2, 3, 4, 5}})[0]), {4, 6, 8});
}

TEST(ExecFloat, Conv2DWeightsAreOHWIAndActivationClamps) {
  Model m;
  const int32_t x = m.input({1, 1, 1, 2});
  const int32_t w = m.constant({2, 1, 1, 2}, {1, 2, -3, -4});
  const int32_t bias = m.constant({2}, {10, 10});
  const int32_t y = m.output({1, 1, 1, 2});
  OpOptions o;
  o.activation = Activation::Relu6;
  m.op(kConv2D, {x, w, bias}, {y}, &o);
  // Output channel k reads weights row k: 1 + 4 + 10 = 15 -> 6, -3 - 8 + 10 = -1 -> 0.
  // (Rows read as columns would give 1 - 6 + 10 = 5 and 2 - 8 + 10 = 4.)
  expect_near(floats(m.run({{1, 2}})[0]), {6, 0});
}

TEST(ExecFloat, DepthwiseConv2DWithMultiplier) {
  Model m;
  const int32_t x = m.input({1, 1, 2, 2});
  const int32_t w = m.constant({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const int32_t bias = m.constant({4}, {0, 0, 0, -40});
  const int32_t y = m.output({1, 1, 1, 4});
  OpOptions o;
  o.depth_multiplier = 2;
  m.op(kDepthwiseConv2D, {x, w, bias}, {y}, &o);
  // Input pixels (1,2) and (3,4); output channel c reads input channel c/2:
  // 1*1+3*5, 1*2+3*6, 2*3+4*7, 2*4+4*8-40.
  expect_near(floats(m.run({{1, 2, 3, 4}})[0]), {16, 20, 34, 0});
}

TEST(ExecFloat, DepthwiseConv2DDerivesMultiplierZeroAndRejectsWrongOne) {
  Model m;
  const int32_t x = m.input({1, 2, 1, 1});
  const int32_t w = m.constant({1, 2, 1, 1}, {2, 3});
  const int32_t y = m.output({1, 1, 1, 1});
  OpOptions o;
  o.depth_multiplier = 0;
  m.op(kDepthwiseConv2D, {x, w}, {y}, &o);
  expect_near(floats(m.run({{1, 10}})[0]), {32});

  Model bad;
  const int32_t bx = bad.input({1, 2, 1, 1});
  const int32_t bw = bad.constant({1, 2, 1, 1}, {2, 3});
  const int32_t by = bad.output({1, 1, 1, 1});
  o.depth_multiplier = 3;
  bad.op(kDepthwiseConv2D, {bx, bw}, {by}, &o);
  const std::string e = error_of([&] { bad.run({{1, 10}}); });
  EXPECT_NE(e.find("operator 0 (DEPTHWISE_CONV_2D): depth_multiplier is 3"), std::string::npos)
      << e;
}

TEST(ExecFloat, FullyConnected) {
  Model m;
  const int32_t x = m.input({2, 3});
  const int32_t w = m.constant({2, 3}, {1, 0, -1, 1, 1, 1});
  const int32_t bias = m.constant({2}, {0.5f, -20});
  const int32_t y = m.output({2, 2});
  m.op(kFullyConnected, {x, w, bias}, {y});
  // Rows (1,2,3), (4,5,6): (1-3+0.5, 6-20), (4-6+0.5, 15-20).
  expect_near(floats(m.run({{1, 2, 3, 4, 5, 6}})[0]), {-1.5f, -14, -1.5f, -5});
}

TEST(ExecFloat, FullyConnectedKeepNumDimsAndFlattening) {
  Model keep;
  const int32_t x = keep.input({1, 2, 3});
  const int32_t w = keep.constant({1, 3}, {1, 1, 1});
  const int32_t y = keep.output({1, 2, 1});
  OpOptions o;
  o.keep_dims = true;
  o.activation = Activation::ReluN1To1;
  keep.op(kFullyConnected, {x, w}, {y}, &o);
  // Row sums 6 and -6 clamp to 1 and -1.
  expect_near(floats(keep.run({{1, 2, 3, -1, -2, -3}})[0]), {1, -1});

  Model flat;
  const int32_t fx = flat.input({1, 2, 3});
  const int32_t fw = flat.constant({1, 3}, {1, 1, 1});
  const int32_t fy = flat.output({2, 1});
  flat.op(kFullyConnected, {fx, fw}, {fy});
  expect_near(floats(flat.run({{1, 2, 3, -1, -2, -3}})[0]), {6, -6});
}

TEST(ExecFloat, FullyConnectedRefusesShuffledWeightsAtLoad) {
  Model m;
  const int32_t x = m.input({1, 3});
  const int32_t w = m.constant({1, 3}, {1, 1, 1});
  const int32_t y = m.output({1, 1});
  const int32_t fc = m.op(kFullyConnected, {x, w}, {y});
  m.b.weights_format(fc, 1);
  const std::string e = error_of([&] { Interpreter i(m.file()); });
  EXPECT_NE(e.find("model file '" + m.path() + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("operator 0 (FULLY_CONNECTED): weights_format is 1 (SHUFFLED4x16INT8)"),
            std::string::npos)
      << e;
}

// ---------------------------------------------------------------------------------------------
// Element-wise operators.

TEST(ExecFloat, AddBroadcasts) {
  Model m;
  const int32_t a = m.input({2, 1});
  const int32_t b = m.input({3});
  const int32_t y = m.output({2, 3});
  m.op(kAdd, {a, b}, {y});
  expect_near(floats(m.run({{1, 2}, {10, 20, 30}})[0]), {11, 21, 31, 12, 22, 32});
}

TEST(ExecFloat, SubBroadcastsRank4) {
  Model m;
  const int32_t a = m.input({1, 2, 1, 2});
  const int32_t b = m.constant({1, 1, 3, 1}, {10, 20, 30});
  const int32_t y = m.output({1, 2, 3, 2});
  m.op(kSub, {a, b}, {y});
  // y[h][w][c] = a[h][c] - b[w].
  expect_near(floats(m.run({{1, 2, 3, 4}})[0]),
              {-9, -8, -19, -18, -29, -28, -7, -6, -17, -16, -27, -26});
}

TEST(ExecFloat, MulWithFusedRelu) {
  Model m;
  const int32_t a = m.input({2});
  const int32_t b = m.constant({1}, {3});
  const int32_t y = m.output({2});
  OpOptions o;
  o.activation = Activation::Relu;
  m.op(kMul, {a, b}, {y}, &o);
  expect_near(floats(m.run({{-1, 2}})[0]), {0, 6});
}

TEST(ExecFloat, BinaryRejectsShapesThatDoNotBroadcast) {
  Model m;
  const int32_t a = m.input({2});
  const int32_t b = m.input({3});
  const int32_t y = m.output({3});
  m.op(kAdd, {a, b}, {y});
  const std::string e = error_of([&] { m.run({{1, 2}, {1, 2, 3}}); });
  EXPECT_NE(e.find("operator 0 (ADD): input 0 [2] and input 1 [3] do not broadcast"),
            std::string::npos)
      << e;
}

TEST(ExecFloat, Activations) {
  struct Case {
    int32_t code;
    std::vector<float> in, out;
    float alpha;
  };
  const float ln3 = std::log(3.0f);
  const std::vector<Case> cases = {
      {kLogistic, {0, ln3}, {0.5f, 0.75f}, 0},
      {kTanh, {0, ln3}, {0, 0.8f}, 0},  // (9 - 1) / (9 + 1)
      {kRelu, {-1, 0.5f}, {0, 0.5f}, 0},
      {kRelu6, {-1, 7, 3}, {0, 6, 3}, 0},
      {kReluN1To1, {-2, 0.5f, 3}, {-1, 0.5f, 1}, 0},
      {kLeakyRelu, {-10, 4}, {-1, 4}, 0.1f},
  };
  for (const Case& c : cases) {
    Model m;
    const int32_t x = m.input({static_cast<int32_t>(c.in.size())});
    const int32_t y = m.output({static_cast<int32_t>(c.in.size())});
    OpOptions o;
    o.alpha = c.alpha;
    m.op(c.code, {x}, {y}, c.code == kLeakyRelu ? &o : nullptr);
    SCOPED_TRACE(c.code);
    expect_near(floats(m.run({c.in})[0]), c.out);
  }
}

TEST(ExecFloat, SoftmaxUsesBetaOnTheLastAxis) {
  Model m;
  const int32_t x = m.input({2, 2});
  const int32_t y = m.output({2, 2});
  OpOptions o;
  o.beta = 0.5f;
  m.op(kSoftmax, {x}, {y}, &o);
  // exp(0.5 * 2 ln 3) = 3: (1, 3) / 4; the second row is shifted by 5, which cancels.
  const float v = 2 * std::log(3.0f);
  expect_near(floats(m.run({{0, v, 5, 5 + v}})[0]), {0.25f, 0.75f, 0.25f, 0.75f});
}

// ---------------------------------------------------------------------------------------------
// Pooling.

TEST(ExecFloat, AveragePoolCountsOnlyValidElements) {
  Model m;
  const int32_t x = m.input({1, 3, 3, 1});
  const int32_t y = m.output({1, 2, 2, 1});
  OpOptions o;
  o.padding = Padding::Same;
  o.stride_w = o.stride_h = 2;
  o.filter_w = o.filter_h = 2;
  m.op(kAveragePool2D, {x}, {y}, &o);
  // Padding 1 goes after: windows {1,2,4,5}, {3,6}, {7,8}, {9}.
  expect_near(floats(m.run({iota(9)})[0]), {3, 4.5f, 7.5f, 9});
}

TEST(ExecFloat, MaxPoolSameAndActivation) {
  Model m;
  const int32_t x = m.input({1, 3, 3, 1});
  const int32_t y = m.output({1, 2, 2, 1});
  OpOptions o;
  o.padding = Padding::Same;
  o.stride_w = o.stride_h = 2;
  o.filter_w = o.filter_h = 2;
  o.activation = Activation::Relu6;
  m.op(kMaxPool2D, {x}, {y}, &o);
  expect_near(floats(m.run({iota(9)})[0]), {5, 6, 6, 6});
}

TEST(ExecFloat, AveragePoolValidStride1) {
  Model m;
  const int32_t x = m.input({1, 2, 3, 1});
  const int32_t y = m.output({1, 1, 2, 1});
  m.op(kAveragePool2D, {x}, {y});  // builder default: 2x2 window, VALID, stride 1
  expect_near(floats(m.run({iota(6)})[0]), {3, 4});
}

// ---------------------------------------------------------------------------------------------
// CONCATENATION, MEAN and the other reducers, PAD.

TEST(ExecFloat, ConcatenationWithActivationAndWithout) {
  for (bool relu : {false, true}) {
    Model m;
    const int32_t a = m.input({1, 2});
    const int32_t b = m.input({1, 1});
    const int32_t y = m.output({1, 3});
    OpOptions o;
    o.axis = -1;
    o.activation = relu ? Activation::Relu : Activation::None;
    m.op(kConcatenation, {a, b}, {y}, &o);
    SCOPED_TRACE(relu);
    expect_near(floats(m.run({{-1, 2}, {-3}})[0]),
                relu ? std::vector<float>{0, 2, 0} : std::vector<float>{-1, 2, -3});
  }
}

TEST(ExecFloat, ConcatenationAlongFirstAxis) {
  Model m;
  const int32_t a = m.input({1, 2});
  const int32_t b = m.constant({2, 2}, {5, 6, 7, 8});
  const int32_t y = m.output({3, 2});
  OpOptions o;
  o.axis = 0;
  m.op(kConcatenation, {a, b}, {y}, &o);
  expect_near(floats(m.run({{1, 2}})[0]), {1, 2, 5, 6, 7, 8});
}

TEST(ExecFloat, MeanKeepDimsAndNot) {
  for (bool keep : {true, false}) {
    Model m;
    const int32_t x = m.input({2, 3});
    const int32_t axes = m.ints({1}, {1});
    const int32_t y = keep ? m.output({2, 1}) : m.output({2});
    OpOptions o;
    o.keep_dims = keep;
    m.op(kMean, {x, axes}, {y}, &o);
    expect_near(floats(m.run({iota(6)})[0]), {2, 5});
  }
  Model all;
  const int32_t x = all.input({2, 3});
  const int32_t axes = all.ints({2}, {0, -1});
  const int32_t y = all.output({});
  OpOptions o;
  o.keep_dims = false;
  all.op(kMean, {x, axes}, {y}, &o);
  expect_near(floats(all.run({iota(6)})[0]), {3.5f});
}

TEST(ExecFloat, SumAndReduceMax) {
  Model m;
  const int32_t x = m.input({2, 3});
  const int32_t axes = m.ints({1}, {0});
  const int32_t s = m.output({3});
  const int32_t mx = m.output({3});
  m.op(kSum, {x, axes}, {s});
  m.op(kReduceMax, {x, axes}, {mx});
  const auto out = m.run({{1, 5, 3, 4, 2, 6}});
  expect_near(floats(out[0]), {5, 7, 9});
  expect_near(floats(out[1]), {4, 5, 6});
}

TEST(ExecFloat, PadAndPadV2) {
  Model m;
  const int32_t x = m.input({1, 2});
  const int32_t p = m.ints({2, 2}, {1, 0, 0, 2});
  const int32_t value = m.constant({}, {9});
  const int32_t y = m.output({2, 4});
  const int32_t y2 = m.output({2, 4});
  m.op(kPad, {x, p}, {y});
  m.op(kPadV2, {x, p, value}, {y2});
  const auto out = m.run({{1, 2}});
  expect_near(floats(out[0]), {0, 0, 0, 0, 1, 2, 0, 0});
  expect_near(floats(out[1]), {9, 9, 9, 9, 1, 2, 9, 9});
}

// ---------------------------------------------------------------------------------------------
// Generic kernels: value-moving operators, any type.

TEST(ExecGeneric, ReshapeSqueezeExpandDims) {
  Model m;
  const int32_t x = m.input({2, 3});
  const int32_t shape = m.ints({2}, {3, -1});
  const int32_t r = m.output({3, 2});
  const int32_t e = m.output({1, 3, 2});
  const int32_t s = m.output({3, 2});
  const int32_t axis = m.ints({}, {0});
  m.op(kReshape, {x, shape}, {r});
  m.op(kExpandDims, {r, axis}, {e});
  m.op(kSqueeze, {e}, {s});
  const auto out = m.run({iota(6)});
  for (const auto& v : out) expect_near(floats(v), iota(6));
  EXPECT_EQ(out[1].shape, (std::vector<int32_t>{1, 3, 2}));
}

TEST(ExecGeneric, ReshapeRejectsATargetThatDisagreesWithTheOutput) {
  Model m;
  const int32_t x = m.input({2, 3});
  const int32_t shape = m.ints({2}, {2, -1});
  const int32_t r = m.output({3, 2});
  m.op(kReshape, {x, shape}, {r});
  const std::string e = error_of([&] { m.run({iota(6)}); });
  EXPECT_NE(e.find("operator 0 (RESHAPE): output 0 has shape [3,2]; expected [2,3]"),
            std::string::npos)
      << e;
}

TEST(ExecGeneric, Transpose) {
  Model m;
  const int32_t x = m.input({2, 3});
  const int32_t perm = m.ints({2}, {1, 0});
  const int32_t y = m.output({3, 2});
  m.op(kTranspose, {x, perm}, {y});
  expect_near(floats(m.run({iota(6)})[0]), {1, 4, 2, 5, 3, 6});
}

TEST(ExecGeneric, SliceAndStridedSlice) {
  Model m;
  const int32_t x = m.input({3, 2});
  const int32_t v = m.input({4});
  const int32_t y_slice = m.output({2, 1});
  m.op(kSlice, {x, m.ints({2}, {1, 0}), m.ints({2}, {-1, 1})}, {y_slice});
  // Reverse with a negative stride: begin 3, end 0 (exclusive).
  const int32_t y_rev = m.output({3});
  m.op(kStridedSlice, {v, m.ints({1}, {3}), m.ints({1}, {0}), m.ints({1}, {-1})}, {y_rev});
  // Shrink dimension 0 at row 1, every other column.
  const int32_t y_shrink = m.output({1});
  OpOptions shrink;
  shrink.shrink_axis_mask = 1;
  m.op(kStridedSlice, {x, m.ints({2}, {1, 0}), m.ints({2}, {2, 2}), m.ints({2}, {1, 2})},
       {y_shrink}, &shrink);
  // Masks: all rows (begin and end masked), columns from 1 to the end (end masked).
  const int32_t y_mask = m.output({3, 1});
  OpOptions masks;
  masks.begin_mask = 1;
  masks.end_mask = 3;
  m.op(kStridedSlice, {x, m.ints({2}, {2, 1}), m.ints({2}, {0, 0}), m.ints({2}, {1, 1})}, {y_mask},
       &masks);
  // offset: end = begin + end.
  const int32_t y_offset = m.output({2});
  OpOptions offset;
  offset.offset = true;
  m.op(kStridedSlice, {v, m.ints({1}, {1}), m.ints({1}, {2}), m.ints({1}, {1})}, {y_offset},
       &offset);
  // A masked begin still applies on a shrunk dimension: row 0, whatever begin says.
  const int32_t y_masked_shrink = m.output({2});
  OpOptions masked_shrink;
  masked_shrink.begin_mask = 1;
  masked_shrink.shrink_axis_mask = 1;
  m.op(kStridedSlice, {x, m.ints({2}, {2, 0}), m.ints({2}, {3, 2}), m.ints({2}, {1, 1})},
       {y_masked_shrink}, &masked_shrink);
  const auto out = m.run({iota(6), {0, 1, 2, 3}});
  expect_near(floats(out[5]), {1, 2});
  expect_near(floats(out[0]), {3, 5});
  expect_near(floats(out[1]), {3, 2, 1});
  expect_near(floats(out[2]), {3});
  expect_near(floats(out[3]), {2, 4, 6});
  expect_near(floats(out[4]), {1, 2});
}

TEST(ExecGeneric, StridedSliceRefusesEllipsisMask) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t y = m.output({2});
  OpOptions o;
  o.ellipsis_mask = 1;
  m.op(kStridedSlice, {x, m.ints({1}, {0}), m.ints({1}, {2}), m.ints({1}, {1})}, {y}, &o);
  const std::string e = error_of([&] { m.run({{1, 2}}); });
  EXPECT_NE(e.find("operator 0 (STRIDED_SLICE): ellipsis_mask 1"), std::string::npos) << e;
}

TEST(ExecGeneric, GatherAndGatherNd) {
  Model m;
  const int32_t x = m.input({3, 2});
  const int32_t g = m.output({2, 2});
  m.op(kGather, {x, m.ints({2}, {2, 0})}, {g});
  const int32_t g1 = m.output({3, 1});
  OpOptions axis1;
  axis1.axis = 1;
  m.op(kGather, {x, m.ints({1}, {1})}, {g1}, &axis1);
  const int32_t nd = m.output({2, 2});
  m.op(kGatherNd, {x, m.ints({2, 1}, {1, 0})}, {nd});
  const auto out = m.run({iota(6)});
  expect_near(floats(out[0]), {5, 6, 1, 2});
  expect_near(floats(out[1]), {2, 4, 6});
  expect_near(floats(out[2]), {3, 4, 1, 2});
}

TEST(ExecGeneric, GatherRejectsAnIndexOutOfRange) {
  Model m;
  const int32_t x = m.input({3});
  const int32_t y = m.output({1});
  m.op(kGather, {x, m.ints({1}, {3})}, {y});
  const std::string e = error_of([&] { m.run({{1, 2, 3}}); });
  EXPECT_NE(e.find("operator 0 (GATHER): index 3 (element 0 of input 1) is outside dimension 0"),
            std::string::npos)
      << e;
}

TEST(ExecGeneric, SplitSplitVPackUnpack) {
  Model m;
  const int32_t x = m.input({2, 4});
  const int32_t s0 = m.output({2, 2}), s1 = m.output({2, 2});
  OpOptions two;
  two.num = 2;
  m.op(kSplit, {m.ints({}, {1}), x}, {s0, s1}, &two);
  const int32_t v0 = m.output({2, 1}), v1 = m.output({2, 3});
  m.op(kSplitV, {x, m.ints({2}, {1, -1}), m.ints({}, {1})}, {v0, v1}, &two);
  // PACK rows 0 of the two split halves along a new axis 1, then UNPACK them again.
  const int32_t p = m.output({2, 2, 2});
  OpOptions pack;
  pack.num = 2;
  pack.axis = 1;
  m.op(kPack, {s0, s1}, {p}, &pack);
  const int32_t u0 = m.output({2, 2}), u1 = m.output({2, 2});
  m.op(kUnpack, {p}, {u0, u1}, &pack);
  const auto out = m.run({iota(8)});
  expect_near(floats(out[0]), {1, 2, 5, 6});
  expect_near(floats(out[1]), {3, 4, 7, 8});
  expect_near(floats(out[2]), {1, 5});
  expect_near(floats(out[3]), {2, 3, 4, 6, 7, 8});
  expect_near(floats(out[4]), {1, 2, 3, 4, 5, 6, 7, 8});
  expect_near(floats(out[5]), {1, 2, 5, 6});
  expect_near(floats(out[6]), {3, 4, 7, 8});
}

TEST(ExecGeneric, DepthToSpaceAndBack) {
  Model m;
  const int32_t x = m.input({1, 1, 2, 4});
  const int32_t d = m.output({1, 2, 4, 1});
  const int32_t s = m.output({1, 1, 2, 4});
  OpOptions o;
  o.block_size = 2;
  m.op(kDepthToSpace, {x}, {d}, &o);
  m.op(kSpaceToDepth, {d}, {s}, &o);
  const auto out = m.run({iota(8)});
  // Pixel 0's four channels become the 2x2 block at the left, pixel 1's the one at the right.
  expect_near(floats(out[0]), {1, 2, 5, 6, 3, 4, 7, 8});
  expect_near(floats(out[1]), iota(8));
}

TEST(ExecGeneric, TileReverseBroadcastTo) {
  Model m;
  const int32_t x = m.input({1, 2});
  const int32_t t = m.output({2, 4});
  m.op(kTile, {x, m.ints({2}, {2, 2})}, {t});
  const int32_t x2 = m.input({2, 3});
  const int32_t r = m.output({2, 3});
  m.op(kReverseV2, {x2, m.ints({1}, {1})}, {r});
  const int32_t b = m.output({3, 2});
  m.op(kBroadcastTo, {x, m.ints({2}, {3, 2})}, {b});
  const auto out = m.run({{1, 2}, iota(6)});
  expect_near(floats(out[0]), {1, 2, 1, 2, 1, 2, 1, 2});
  expect_near(floats(out[1]), {3, 2, 1, 6, 5, 4});
  expect_near(floats(out[2]), {1, 2, 1, 2, 1, 2});
}

TEST(ExecGeneric, MirrorPadReflectAndSymmetric) {
  Model m;
  const int32_t x = m.input({3});
  const int32_t reflect = m.output({7});
  m.op(kMirrorPad, {x, m.ints({1, 2}, {2, 2})}, {reflect});
  const int32_t symmetric = m.output({6});
  OpOptions o;
  o.mirror_symmetric = true;
  m.op(kMirrorPad, {x, m.ints({1, 2}, {1, 2})}, {symmetric}, &o);
  const auto out = m.run({{1, 2, 3}});
  expect_near(floats(out[0]), {3, 2, 1, 2, 3, 2, 1});
  expect_near(floats(out[1]), {1, 1, 2, 3, 3, 2});
}

TEST(ExecGeneric, QuantizedPadFillsWithTheZeroPoint) {
  Model m;
  const int32_t x = m.input({2}, TensorType::UInt8);
  const int32_t y = m.output({4}, TensorType::UInt8);
  m.b.set_quant(x, {0.5f}, {128});
  m.b.set_quant(y, {0.5f}, {128});
  m.op(kPad, {x, m.ints({1, 2}, {1, 1})}, {y});
  Value in = exec::make_value(static_cast<int8_t>(TensorType::UInt8), {2});
  in.data = {5, 6};
  const auto out = m.run_values({in});
  EXPECT_EQ(out[0].data, (std::vector<uint8_t>{128, 5, 6, 128}));
}

TEST(ExecGeneric, SpaceToBatchAndBack) {
  Model m;
  const int32_t x = m.input({1, 2, 4, 1});
  const int32_t block = m.ints({2}, {2, 2});
  const int32_t zero = m.ints({2, 2}, {0, 0, 0, 0});
  const int32_t b = m.output({4, 1, 2, 1});
  const int32_t back = m.output({1, 2, 4, 1});
  m.op(kSpaceToBatchNd, {x, block, zero}, {b});
  m.op(kBatchToSpaceNd, {b, block, zero}, {back});
  const auto out = m.run({iota(8)});
  // Batch (i * 2 + j) holds rows i, columns j, j + 2 of the 2x4 input 1..8.
  expect_near(floats(out[0]), {1, 3, 2, 4, 5, 7, 6, 8});
  expect_near(floats(out[1]), iota(8));
}

TEST(ExecGeneric, QuantizedSpaceToBatchPadsWithTheZeroPoint) {
  Model m;
  const int32_t x = m.input({1, 1, 2, 1}, TensorType::UInt8);
  const int32_t y = m.output({2, 1, 2, 1}, TensorType::UInt8);
  m.b.set_quant(x, {0.1f}, {3});
  m.b.set_quant(y, {0.1f}, {3});
  m.op(kSpaceToBatchNd, {x, m.ints({2}, {1, 2}), m.ints({2, 2}, {0, 0, 1, 1})}, {y});
  Value in = exec::make_value(static_cast<int8_t>(TensorType::UInt8), {1, 1, 2, 1});
  in.data = {10, 20};
  // Padded row (3, 10, 20, 3); batch 0 takes columns 0 and 2, batch 1 columns 1 and 3.
  EXPECT_EQ(m.run_values({in})[0].data, (std::vector<uint8_t>{3, 20, 10, 3}));
}

TEST(ExecGeneric, ResizeNearestNeighbor) {
  struct Case {
    bool align_corners, half_pixel;
    int32_t width;
    std::vector<float> expected;
  };
  // Input width 3 (1, 2, 3). To width 2 the scale is 1.5: plain floor(0), floor(1.5) -> 0, 1;
  // half-pixel floor(0.75), floor(2.25) -> 0, 2. To width 5 with align_corners the scale is
  // 0.5: round(0, 0.5, 1, 1.5, 2) -> 0, 1, 1, 2, 2 (halves away from zero).
  const std::vector<Case> cases = {
      {false, false, 2, {1, 2}}, {false, true, 2, {1, 3}}, {true, false, 5, {1, 2, 2, 3, 3}}};
  for (const Case& c : cases) {
    Model m;
    const int32_t x = m.input({1, 1, 3, 1});
    const int32_t y = m.output({1, 1, c.width, 1});
    OpOptions o;
    o.align_corners = c.align_corners;
    o.half_pixel_centers = c.half_pixel;
    m.op(kResizeNearestNeighbor, {x, m.ints({2}, {1, c.width})}, {y}, &o);
    SCOPED_TRACE(c.width);
    expect_near(floats(m.run({{1, 2, 3}})[0]), c.expected);
  }
}

TEST(ExecGeneric, QuantizedReduceMaxAndMinPickStoredValues) {
  Model m;
  const int32_t x = m.input({2, 2}, TensorType::Int8);
  const int32_t mx = m.output({2}, TensorType::Int8);
  const int32_t mn = m.output({2, 1}, TensorType::Int8);
  for (int32_t t : {x, mx, mn}) m.b.set_quant(t, {0.5f}, {-1});
  m.op(kReduceMax, {x, m.ints({1}, {0})}, {mx});
  OpOptions keep;
  keep.keep_dims = true;
  m.op(kReduceMin, {x, m.ints({1}, {1})}, {mn}, &keep);
  Value in = exec::make_value(static_cast<int8_t>(TensorType::Int8), {2, 2});
  const int8_t values[] = {-5, 3, 7, -1};
  std::memcpy(in.data.data(), values, 4);
  const auto out = m.run_values({in});
  EXPECT_EQ(out[0].as<int8_t>()[0], 7);
  EXPECT_EQ(out[0].as<int8_t>()[1], 3);
  EXPECT_EQ(out[1].as<int8_t>()[0], -5);
  EXPECT_EQ(out[1].as<int8_t>()[1], -1);
}

TEST(ExecGeneric, AppliesOnlyWhenTheOutputKeepsTheInputParameters) {
  exec::Node node;
  node.code = kReshape;
  node.type_name = "RESHAPE";
  Value in = exec::make_value(static_cast<int8_t>(TensorType::Int8), {2});
  in.quant.scale = {0.5f};
  in.quant.zero_point = {0};
  Value same = in;
  Value other = in;
  other.quant.scale = {0.25f};
  std::vector<Value*> outs{&same};
  EXPECT_NE(exec::find_generic_kernel(node, {&in}, outs), nullptr);
  outs = {&other};
  EXPECT_EQ(exec::find_generic_kernel(node, {&in}, outs), nullptr);
  // CONCATENATION also needs every input to match.
  node.code = kConcatenation;
  outs = {&same};
  EXPECT_NE(exec::find_generic_kernel(node, {&in, &same}, outs), nullptr);
  EXPECT_EQ(exec::find_generic_kernel(node, {&in, &other}, outs), nullptr);
  node.options.activation = Activation::Relu;
  EXPECT_EQ(exec::find_generic_kernel(node, {&in, &same}, outs), nullptr);
}

// Every check a kernel makes, provoked once: the message names the operator and what it found.
struct BadCase {
  const char* name;
  std::function<void(Model&)> build;  // adds operator 0 with its tensors
  std::vector<std::vector<float>> inputs;
  const char* expected;
};

class ExecKernelErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExecKernelErrors, NameTheOperatorAndTheProblem) {
  const BadCase& c = GetParam();
  Model m;
  c.build(m);
  const std::string e = error_of([&] { m.run(c.inputs); });
  EXPECT_NE(e.find("model file '" + m.path() + "': operator 0 ("), std::string::npos) << e;
  EXPECT_NE(e.find(c.expected), std::string::npos) << e;
}

OpOptions with(std::function<void(OpOptions&)> f) {
  OpOptions o;
  f(o);
  return o;
}

const BadCase kBadCases[] = {
    {"ReshapeBadTarget",
     [](Model& m) {
       m.op(kReshape, {m.input({2}), m.ints({1}, {-2})}, {m.output({2})});
     },
     {{1, 2}},
     "RESHAPE): the target shape has dimension -2 at 0"},
    {"ReshapeFloatShape",
     [](Model& m) {
       m.op(kReshape, {m.input({2}), m.constant({1}, {2})}, {m.output({2})});
     },
     {{1, 2}},
     "input 1 (shape) has type FLOAT32; expected INT32 or INT64"},
    {"SqueezeNonUnitDim",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.squeeze_dims = {0}; });
       m.op(kSqueeze, {m.input({2, 1})}, {m.output({1})}, &o);
     },
     {{1, 2}},
     "squeeze_dims names dimension 0 of input 0 [2,1], which has size 2; expected 1"},
    {"ExpandDimsAxis",
     [](Model& m) {
       m.op(kExpandDims, {m.input({2}), m.ints({}, {3})}, {m.output({1, 2})});
     },
     {{1, 2}},
     "axis is 3; expected one in [-2, 1] for rank 2"},
    {"TransposePermLength",
     [](Model& m) {
       m.op(kTranspose, {m.input({2, 1}), m.ints({1}, {0})}, {m.output({2, 1})});
     },
     {{1, 2}},
     "input 1 (perm) has 1 entries; expected 2, the rank of input 0"},
    {"TransposePermTwice",
     [](Model& m) {
       m.op(kTranspose, {m.input({2, 1}), m.ints({2}, {0, 0})}, {m.output({2, 2})});
     },
     {{1, 2}},
     "input 1 (perm) names dimension 0 twice"},
    {"ConcatenationShapes",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.axis = 0; });
       m.op(kConcatenation, {m.input({1, 2}), m.input({1, 3})}, {m.output({2, 2})}, &o);
     },
     {{1, 2}, {1, 2, 3}},
     "input 1 has shape [1,3]; expected the dimensions other than axis 0 of input 0 [1,2]"},
    {"ConcatenationFloatAxis",
     [](Model& m) {
       const auto o = with([](OpOptions& o) {
         o.axis = 2;
         o.activation = Activation::Relu;
       });
       m.op(kConcatenation, {m.input({1, 2}), m.input({1, 2})}, {m.output({1, 4})}, &o);
     },
     {{1, 2}, {1, 2}},
     "axis is 2; expected one in [-2, 1] for output 0 [1,4]"},
    {"PackCount",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.num = 3; });
       m.op(kPack, {m.input({2}), m.input({2})}, {m.output({2, 2})}, &o);
     },
     {{1, 2}, {1, 2}},
     "values_count is 3 but 2 inputs are given"},
    {"UnpackNum",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.num = 3; });
       m.op(kUnpack, {m.input({2, 1})}, {m.output({1}), m.output({1})}, &o);
     },
     {{1, 2}},
     "num is 3; expected 2, dimension 0 of input 0 [2,1]"},
    {"SplitUneven",
     [](Model& m) {
       m.op(kSplit, {m.ints({}, {0}), m.input({3})}, {m.output({1}), m.output({2})});
     },
     {{1, 2, 3}},
     "dimension 0 of input 1 [3] does not split into 2 equal parts"},
    {"SplitNumSplits",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.num = 3; });
       m.op(kSplit, {m.ints({}, {0}), m.input({2})}, {m.output({1}), m.output({1})}, &o);
     },
     {{1, 2}},
     "num_splits is 3 but 2 outputs are given"},
    {"SplitVSizes",
     [](Model& m) {
       m.op(kSplitV, {m.input({3}), m.ints({2}, {1, 1}), m.ints({}, {0})},
            {m.output({1}), m.output({1})});
     },
     {{1, 2, 3}},
     "input 1 (size_splits) does not add up to 3"},
    {"SliceOutside",
     [](Model& m) {
       m.op(kSlice, {m.input({3}), m.ints({1}, {2}), m.ints({1}, {2})}, {m.output({2})});
     },
     {{1, 2, 3}},
     "dimension 0: begin 2 and size 2 do not fit input 0 [3]"},
    {"StridedSliceZeroStride",
     [](Model& m) {
       m.op(kStridedSlice, {m.input({3}), m.ints({1}, {0}), m.ints({1}, {3}), m.ints({1}, {0})},
            {m.output({3})});
     },
     {{1, 2, 3}},
     "stride 0 is 0"},
    {"StridedSliceOutputShape",
     [](Model& m) {
       m.op(kStridedSlice, {m.input({3}), m.ints({1}, {0}), m.ints({1}, {3}), m.ints({1}, {2})},
            {m.output({3})});
     },
     {{1, 2, 3}},
     "output 0 has shape [3]; expected [2]"},
    {"GatherBatchDims",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.batch_dims = 1; });
       m.op(kGather, {m.input({2}), m.ints({1}, {0})}, {m.output({1})}, &o);
     },
     {{1, 2}},
     "batch_dims is 1; the reference interpreter supports only 0"},
    {"GatherNdIndexDepth",
     [](Model& m) {
       m.op(kGatherNd, {m.input({2}), m.ints({1, 2}, {0, 0})}, {m.output({1})});
     },
     {{1, 2}},
     "expected a last dimension of at most 1, the rank of input 0"},
    {"PadNegative",
     [](Model& m) {
       m.op(kPad, {m.input({2}), m.ints({1, 2}, {-1, 0})}, {m.output({1})});
     },
     {{1, 2}},
     "paddings of dimension 0 are [-1,0]; expected values >= 0"},
    {"PadShape",
     [](Model& m) {
       m.op(kPad, {m.input({2}), m.ints({3}, {1, 0, 0})}, {m.output({3})});
     },
     {{1, 2}},
     "input 1 (paddings) has shape [3]; expected [1,2] for input 0 [2]"},
    {"MirrorPadTooWide",
     [](Model& m) {
       m.op(kMirrorPad, {m.input({2}), m.ints({1, 2}, {2, 0})}, {m.output({4})});
     },
     {{1, 2}},
     "paddings of dimension 0 are [2,0]; expected values >= 0 and <= 1"},
    {"DepthToSpaceBlock",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.block_size = 2; });
       m.op(kDepthToSpace, {m.input({1, 1, 1, 2})}, {m.output({1, 2, 2, 1})}, &o);
     },
     {{1, 2}},
     "block_size 2 does not divide the depth of input 0 [1,1,1,2]"},
    {"SpaceToDepthRank",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.block_size = 2; });
       m.op(kSpaceToDepth, {m.input({2, 2})}, {m.output({1, 4})}, &o);
     },
     {{1, 2, 3, 4}},
     "input 0 has shape [2,2]; expected rank 4 (NHWC)"},
    {"TileMultiples",
     [](Model& m) {
       m.op(kTile, {m.input({2}), m.ints({2}, {1, 1})}, {m.output({2})});
     },
     {{1, 2}},
     "input 1 (multiples) has 2 entries; expected 1"},
    {"BroadcastToIncompatible",
     [](Model& m) {
       m.op(kBroadcastTo, {m.input({2}), m.ints({1}, {3})}, {m.output({3})});
     },
     {{1, 2}},
     "input 0 [2] does not broadcast to [3]"},
    {"SpaceToBatchBlock",
     [](Model& m) {
       m.op(kSpaceToBatchNd,
            {m.input({1, 3, 1, 1}), m.ints({2}, {2, 1}), m.ints({2, 2}, {0, 0, 0, 0})},
            {m.output({2, 1, 1, 1})});
     },
     {{1, 2, 3}},
     "the padded height and width 3x1 are not multiples of the block 2x1"},
    {"BatchToSpaceBatch",
     [](Model& m) {
       m.op(kBatchToSpaceNd,
            {m.input({3, 1, 1, 1}), m.ints({2}, {2, 1}), m.ints({2, 2}, {0, 0, 0, 0})},
            {m.output({1, 2, 1, 1})});
     },
     {{1, 2, 3}},
     "the batch 3 of input 0 is not a multiple of the block 2x1"},
    {"ResizeSize",
     [](Model& m) {
       m.op(kResizeNearestNeighbor, {m.input({1, 1, 1, 1}), m.ints({1}, {2})},
            {m.output({1, 2, 2, 1})});
     },
     {{1}},
     "input 1 (size) must hold two sizes >= 1 (height, width)"},
    {"Conv2DChannels",
     [](Model& m) {
       m.op(kConv2D, {m.input({1, 1, 1, 3}), m.constant({1, 1, 1, 2}, {1, 1})},
            {m.output({1, 1, 1, 1})});
     },
     {{1, 2, 3}},
     "input 1 (weights) has shape [1,1,1,2] (OHWI); its input channels must divide the 3"},
    {"Conv2DBias",
     [](Model& m) {
       m.op(kConv2D,
            {m.input({1, 1, 1, 1}), m.constant({2, 1, 1, 1}, {1, 1}), m.constant({1}, {0})},
            {m.output({1, 1, 1, 2})});
     },
     {{1}},
     "input 2 (bias) has shape [1]; expected 2 elements, one per output channel"},
    {"Conv2DStride",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.stride_w = 0; });
       m.op(kConv2D, {m.input({1, 1, 1, 1}), m.constant({1, 1, 1, 1}, {1})},
            {m.output({1, 1, 1, 1})}, &o);
     },
     {{1}},
     "width: stride 0, dilation 1 and filter size 1 must all be >= 1"},
    {"DepthwiseWeights",
     [](Model& m) {
       m.op(kDepthwiseConv2D, {m.input({1, 1, 1, 2}), m.constant({2, 1, 1, 2}, {1, 1, 1, 1})},
            {m.output({1, 1, 1, 2})});
     },
     {{1, 2}},
     "input 1 (weights) has shape [2,1,1,2]; expected [1,H,W,C*M] with C = 2"},
    {"FullyConnectedRows",
     [](Model& m) {
       m.op(kFullyConnected, {m.input({1, 3}), m.constant({1, 2}, {1, 1})}, {m.output({1, 1})});
     },
     {{1, 2, 3}},
     "input 0 has shape [1,3], which does not split into rows of 2"},
    {"FullyConnectedWeightRank",
     [](Model& m) {
       m.op(kFullyConnected, {m.input({1, 2}), m.constant({2}, {1, 1})}, {m.output({1, 1})});
     },
     {{1, 2}},
     "input 1 (weights) has shape [2]; expected rank 2"},
    {"FullyConnectedBias",
     [](Model& m) {
       m.op(kFullyConnected, {m.input({1, 2}), m.constant({1, 2}, {1, 1}), m.constant({2}, {0, 0})},
            {m.output({1, 1})});
     },
     {{1, 2}},
     "input 2 (bias) has shape [2]; expected 1 elements, one per output unit"},
    {"FullyConnectedKeepNumDims",
     [](Model& m) {
       const auto o = with([](OpOptions& o) { o.keep_dims = true; });
       m.op(kFullyConnected, {m.input({2, 1}), m.constant({1, 2}, {1, 1})}, {m.output({1, 1})}, &o);
     },
     {{1, 2}},
     "keep_num_dims needs the last dimension of input 0 [2,1] to be 2"},
    {"PoolRank",
     [](Model& m) {
       m.op(kMaxPool2D, {m.input({2, 2})}, {m.output({1, 1})});
     },
     {{1, 2, 3, 4}},
     "input 0 (input) has shape [2,2]; expected rank 4"},
    {"MeanAxis",
     [](Model& m) {
       m.op(kMean, {m.input({2}), m.ints({1}, {1})}, {m.output({1})});
     },
     {{1, 2}},
     "axis 1 is outside input 0 [2]"},
    {"MeanAxesType",
     [](Model& m) {
       m.op(kMean, {m.input({2}), m.constant({1}, {0})}, {m.output({1})});
     },
     {{1, 2}},
     "input 1 (axes) has type FLOAT32 and 4 bytes; expected INT32 or INT64 values"},
    {"SoftmaxScalar",
     [](Model& m) { m.op(kSoftmax, {m.input({})}, {m.output({})}); },
     {{1}},
     "input 0 is a scalar; expected rank >= 1"},
    {"UnaryShape",
     [](Model& m) { m.op(kRelu, {m.input({2})}, {m.output({3})}); },
     {{1, 2}},
     "RELU): output 0 has shape [3]; expected [2]"},
};

INSTANTIATE_TEST_SUITE_P(Each, ExecKernelErrors, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ExecFloat, KernelsRejectOperandsOfTheWrongType) {
  // The interpreter sends only float operands to the float table; a direct call shows the check.
  exec::Node node;
  node.code = kAdd;
  node.type_name = "ADD";
  const Value a = exec::make_float({1}, {1});
  const Value b = exec::make_value(static_cast<int8_t>(TensorType::Int32), {1});
  Value out = exec::make_float({1}, {0});
  std::vector<Value*> outs{&out};
  const std::string e = error_of([&] { exec::find_float_kernel(kAdd)(node, {&a, &b}, outs); });
  EXPECT_EQ(e, "operator 0 (ADD): input 1 (y) has type INT32; expected FLOAT32");
}

TEST(ExecGraph, RejectsAnUnknownFusedActivation) {
  Model m;
  OpOptions o;
  o.activation = static_cast<Activation>(9);
  m.op(kAdd, {m.input({1}), m.input({1})}, {m.output({1})}, &o);
  const std::string e = error_of([&] { exec::load_graph(m.file()); });
  EXPECT_NE(e.find("model file '" + m.path() +
                   "': subgraph 0, operator 0 (ADD): fused_activation_function is 9"),
            std::string::npos)
      << e;
}

// ---------------------------------------------------------------------------------------------
// The interpreter: dispatch, constants, input checks, errors.

TEST(ExecInterpreter, ListsEveryOperatorWithoutAKernelAtConstruction) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t a = m.output({2});
  const int32_t b = m.output({2});
  const int32_t c = m.output({2});
  m.op(kFloor, {x}, {a});
  m.op(kRelu, {x}, {b});
  m.op(kCustom, {x}, {c}, nullptr, "MyOp");
  const std::string e = error_of([&] { Interpreter i(m.file()); });
  EXPECT_NE(e.find("model file '" + m.path() + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("2 operators"), std::string::npos) << e;
  EXPECT_NE(e.find("operator 0 (FLOOR) with inputs (FLOAT32) and outputs (FLOAT32)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("operator 2 (CUSTOM(MyOp))"), std::string::npos) << e;
  EXPECT_EQ(e.find("operator 1 (RELU) with"), std::string::npos) << e;
}

TEST(ExecInterpreter, QuantizedOperatorsGoToTheIntegerTable) {
  // A quantized RELU has no generic or float kernel: it is the integer table's (kernels_int.cpp).
  Model m;
  const int32_t x = m.input({2}, TensorType::Int8);
  const int32_t y = m.output({2}, TensorType::Int8);
  m.b.set_quant(x, {0.5f}, {0});
  m.b.set_quant(y, {0.5f}, {0});
  m.op(kRelu, {x}, {y});
  if (exec::find_integer_kernel(kRelu) == nullptr) {
    EXPECT_NE(
        error_of([&] { Interpreter i(m.file()); }).find("operator 0 (RELU) with inputs (INT8)"),
        std::string::npos);
  } else {
    EXPECT_EQ(error_of([&] { Interpreter i(m.file()); }), "");
  }
  // A quantized FLOOR has no kernel in any table, and its types are listed.
  Model floor;
  const int32_t fx = floor.input({2}, TensorType::Int8);
  const int32_t fy = floor.output({2}, TensorType::Int8);
  floor.b.set_quant(fx, {0.5f}, {0});
  floor.b.set_quant(fy, {0.5f}, {0});
  floor.op(kFloor, {fx}, {fy});
  const std::string e = error_of([&] { Interpreter i(floor.file()); });
  EXPECT_NE(e.find("operator 0 (FLOOR) with inputs (INT8) and outputs (INT8)"), std::string::npos)
      << e;
}

TEST(ExecInterpreter, RejectsAnOperandNothingProduces) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t orphan = m.b.tensor("orphan", {2});
  const int32_t y = m.output({2});
  m.op(kAdd, {x, orphan}, {y});
  const std::string e = error_of([&] { m.run({{1, 2}}); });
  EXPECT_NE(e.find("operator 0 (ADD): input 1 (tensor 1 'orphan') has no value"), std::string::npos)
      << e;
}

TEST(ExecInterpreter, RejectsDynamicShapesAndUnknownTensors) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t y = m.output({2});
  const int32_t dynamic = m.b.tensor("dyn", {-1, 2});
  m.op(kRelu, {x}, {y});
  Interpreter interpreter(m.file());
  std::string e = error_of([&] { interpreter.tensor_value(dynamic); });
  EXPECT_NE(
      e.find("tensor 2 'dyn' has shape [-1,2]; the reference interpreter needs static shapes"),
      std::string::npos)
      << e;
  e = error_of([&] { interpreter.tensor_value(7); });
  EXPECT_NE(e.find("tensor 7 does not exist (subgraph 0 has 3 tensors)"), std::string::npos) << e;
}

TEST(ExecInterpreter, RunsAChainAcrossTheFloatAndGenericTables) {
  Model m;
  const int32_t x = m.input({1, 2, 2, 1});
  const int32_t conv = m.b.tensor("conv", {1, 2, 2, 1});
  const int32_t flat = m.b.tensor("flat", {1, 4});
  const int32_t logits = m.b.tensor("logits", {1, 2});
  const int32_t y = m.output({1, 2});
  m.op(kConv2D, {x, m.constant({1, 1, 1, 1}, {2})}, {conv});
  m.op(kReshape, {conv, m.ints({2}, {1, 4})}, {flat});
  m.op(kFullyConnected, {flat, m.constant({2, 4}, {1, 0, 0, 0, 0, 0, 0, 1})}, {logits});
  m.op(kSoftmax, {logits}, {y});
  // Doubled, flattened, elements 0 and 3 picked: logits (0, ln 3) -> softmax (1/4, 3/4).
  expect_near(floats(m.run({{0, 5, 7, std::log(3.0f) / 2}})[0]), {0.25f, 0.75f});
}

TEST(ExecInterpreter, ChecksInputCountTypeAndShape) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t y = m.output({2});
  m.op(kRelu, {x}, {y});
  Interpreter interpreter(m.file());
  std::string e = error_of([&] { interpreter.run({}); });
  EXPECT_NE(e.find("subgraph 0 takes 1 inputs; 0 given"), std::string::npos) << e;
  e = error_of([&] { interpreter.run({exec::make_float({3}, {1, 2, 3})}); });
  EXPECT_NE(e.find("input 0 (tensor 0 'in0') is given with shape [3]; expected [2]"),
            std::string::npos)
      << e;
  e = error_of(
      [&] { interpreter.run({exec::make_value(static_cast<int8_t>(TensorType::Int8), {2})}); });
  EXPECT_NE(e.find("input 0 (tensor 0 'in0') is given as INT8; expected FLOAT32"),
            std::string::npos)
      << e;
  Value short_data = exec::make_float({2}, {1, 2});
  short_data.data.resize(4);
  e = error_of([&] { interpreter.run({short_data}); });
  EXPECT_NE(e.find("holds 4 bytes; expected 8"), std::string::npos) << e;
}

TEST(ExecInterpreter, KernelErrorsNameTheFileAndOperator) {
  Model m;
  const int32_t x = m.input({3, 3, 1});
  const int32_t w = m.constant({1, 1, 1, 1}, {1});
  const int32_t y = m.output({1, 3, 3, 1});
  m.op(kConv2D, {x, w}, {y});
  const std::string e = error_of([&] { m.run({iota(9)}); });
  EXPECT_NE(e.find("model file '" + m.path() +
                   "': operator 0 (CONV_2D): input 0 (input) has "
                   "shape [3,3,1]; expected rank 4"),
            std::string::npos)
      << e;
}

TEST(ExecInterpreter, RejectsAnOutputShapeTheKernelDoesNotProduce) {
  Model m;
  const int32_t x = m.input({1, 3, 3, 1});
  const int32_t w = m.constant({1, 2, 2, 1}, {1, 1, 1, 1});
  const int32_t y = m.output({1, 3, 3, 1});
  m.op(kConv2D, {x, w}, {y});
  const std::string e = error_of([&] { m.run({iota(9)}); });
  EXPECT_NE(e.find("operator 0 (CONV_2D): output 0 has shape [1,3,3,1]; expected [1,2,2,1]"),
            std::string::npos)
      << e;
}

TEST(ExecInterpreter, RejectsUnsupportedFusedActivation) {
  Model m;
  const int32_t x = m.input({1, 1, 1, 1});
  const int32_t w = m.constant({1, 1, 1, 1}, {1});
  const int32_t y = m.output({1, 1, 1, 1});
  OpOptions o;
  o.activation = Activation::Tanh;
  m.op(kConv2D, {x, w}, {y}, &o);
  const std::string e = error_of([&] { m.run({{1}}); });
  EXPECT_NE(e.find("operator 0 (CONV_2D): fused activation 4 is not supported"), std::string::npos)
      << e;
}

TEST(ExecInterpreter, ReturnsEveryTensorIncludingConstantsAndIntermediates) {
  Model m;
  const int32_t x = m.input({2});
  const int32_t c = m.constant({2}, {1, -5});
  const int32_t mid = m.b.tensor("mid", {2});
  const int32_t y = m.output({2});
  m.op(kAdd, {x, c}, {mid});
  m.op(kRelu, {mid}, {y});
  Interpreter interpreter(m.file());
  const auto all = interpreter.run({exec::make_float({2}, {1, 2})});
  ASSERT_EQ(all.size(), 4u);
  expect_near(floats(all[c]), {1, -5});
  expect_near(floats(all[mid]), {2, -3});
  expect_near(floats(all[y]), {2, 0});
}

TEST(ExecInterpreter, TensorValueUnpacksFourBitConstantsAndChecksSizes) {
  Model m;
  const int32_t w4 = m.b.constant_bytes("w4", {3}, TensorType::Int4, {0xF7, 0x08});   // 7, -1, -8
  const int32_t u4 = m.b.constant_bytes("u4", {3}, TensorType::UInt4, {0xF7, 0x08});  // 7, 15, 8
  const int32_t x = m.input({1});
  const int32_t y = m.output({1});
  m.op(kRelu, {x}, {y});
  Interpreter interpreter(m.file());
  const Value v = interpreter.tensor_value(w4);
  EXPECT_EQ(v.type, static_cast<int8_t>(TensorType::Int4));
  ASSERT_EQ(v.data.size(), 3u);
  EXPECT_EQ(v.as<int8_t>()[0], 7);
  EXPECT_EQ(v.as<int8_t>()[1], -1);
  EXPECT_EQ(v.as<int8_t>()[2], -8);
  EXPECT_EQ(interpreter.tensor_value(u4).data, (std::vector<uint8_t>{7, 15, 8}));
  // A tensor without data reads as zeros of its shape.
  const Value zeros = interpreter.tensor_value(x);
  EXPECT_EQ(zeros.data, std::vector<uint8_t>(4, 0));
  // A constant whose buffer does not fit its shape is refused before anything is allocated.
  Model bad_model;
  bad_model.b.constant_bytes("w4", {3}, TensorType::Int4, {0xF7, 0x08});
  bad_model.b.constant_bytes("bad", {2}, TensorType::Float32, {0, 0, 0, 0});
  const int32_t bx = bad_model.input({1});
  const int32_t by = bad_model.output({1});
  bad_model.op(kRelu, {bx}, {by});
  const std::string e = error_of([&] { Interpreter i(bad_model.file()); });
  EXPECT_NE(e.find("tensor 1 'bad': buffer 2 holds 4 bytes; expected 8"), std::string::npos) << e;
}

TEST(ExecInterpreter, RejectsAMissingSubgraph) {
  Model m;
  const int32_t x = m.input({1});
  const int32_t y = m.output({1});
  m.op(kRelu, {x}, {y});
  const std::string e = error_of([&] { Interpreter i(m.file(), 3); });
  EXPECT_NE(e.find("subgraph 3 does not exist (the model has 1 subgraphs)"), std::string::npos)
      << e;
}

TEST(ExecValue, RealValueAppliesPerChannelParameters) {
  Value v = exec::make_value(static_cast<int8_t>(TensorType::Int8), {2, 2});
  v.data = {10, 20, 10, 20};
  v.quant.scale = {0.5f, 2.0f};
  v.quant.zero_point = {0, 10};
  v.quant.quantized_dimension = 0;
  EXPECT_DOUBLE_EQ(exec::real_value(v, 0), 5.0);   // (10 - 0) * 0.5
  EXPECT_DOUBLE_EQ(exec::real_value(v, 1), 10.0);  // (20 - 0) * 0.5
  EXPECT_DOUBLE_EQ(exec::real_value(v, 2), 0.0);   // (10 - 10) * 2
  EXPECT_DOUBLE_EQ(exec::real_value(v, 3), 20.0);  // (20 - 10) * 2
  v.quant.quantized_dimension = 1;
  EXPECT_DOUBLE_EQ(exec::real_value(v, 1), 20.0);  // channel 1: (20 - 10) * 2
  EXPECT_DOUBLE_EQ(exec::element_as_double(v, 3), 20.0);
  EXPECT_EQ(exec::element_size(static_cast<int8_t>(TensorType::UInt4)), 1u);
  EXPECT_NE(error_of([] {
              exec::make_float({3}, {1, 2});
            }).find("2 float values given"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// load_graph reads every option, in both formats.

class ExecGraphOptions : public ::testing::TestWithParam<Format> {};

TEST_P(ExecGraphOptions, ReadsEveryOption) {
  Model m(GetParam());
  const int32_t x = m.input({1, 4, 4, 2});
  const int32_t w = m.constant({1, 1, 1, 2}, {1, 1});
  const int32_t y = m.output({1, 2, 2, 1});
  OpOptions conv;
  conv.padding = Padding::Same;
  conv.stride_w = 2;
  conv.stride_h = 3;
  conv.dilation_w = 4;
  conv.dilation_h = 5;
  conv.activation = Activation::Relu6;
  m.op(kConv2D, {x, w}, {y}, &conv);
  OpOptions dw = conv;
  dw.depth_multiplier = 7;
  m.op(kDepthwiseConv2D, {x, w}, {y}, &dw);
  OpOptions fc;
  fc.keep_dims = true;
  fc.activation = Activation::Relu;
  m.op(kFullyConnected, {x, w}, {y}, &fc);
  OpOptions pool;
  pool.filter_w = 3;
  pool.filter_h = 2;
  pool.stride_w = 2;
  pool.padding = Padding::Same;
  pool.activation = Activation::ReluN1To1;
  m.op(kAveragePool2D, {x}, {y}, &pool);
  OpOptions concat;
  concat.axis = -2;
  concat.activation = Activation::Relu;
  m.op(kConcatenation, {x, x}, {y}, &concat);
  OpOptions softmax;
  softmax.beta = 0.25f;
  m.op(kSoftmax, {x}, {y}, &softmax);
  OpOptions reshape;
  reshape.new_shape = {2, -1};
  m.op(kReshape, {x}, {y}, &reshape);
  OpOptions squeeze;
  squeeze.squeeze_dims = {0, 2};
  m.op(kSqueeze, {x}, {y}, &squeeze);
  OpOptions mean;
  mean.keep_dims = true;
  m.op(kMean, {x}, {y}, &mean);
  OpOptions pack;
  pack.num = 3;
  pack.axis = 1;
  m.op(kPack, {x}, {y}, &pack);
  m.op(kUnpack, {x}, {y}, &pack);
  OpOptions split;
  split.num = 4;
  m.op(kSplit, {x}, {y}, &split);
  OpOptions gather;
  gather.axis = 2;
  gather.batch_dims = 1;
  m.op(kGather, {x}, {y}, &gather);
  OpOptions block;
  block.block_size = 3;
  m.op(kDepthToSpace, {x}, {y}, &block);
  OpOptions leaky;
  leaky.alpha = 0.125f;
  m.op(kLeakyRelu, {x}, {y}, &leaky);
  OpOptions slice;
  slice.begin_mask = 1;
  slice.end_mask = 2;
  slice.shrink_axis_mask = 4;
  slice.offset = true;
  m.op(kStridedSlice, {x}, {y}, &slice);
  OpOptions mirror;
  mirror.mirror_symmetric = true;
  m.op(kMirrorPad, {x}, {y}, &mirror);
  OpOptions add;
  add.activation = Activation::Relu;
  m.op(kAdd, {x, x}, {y}, &add);

  const exec::Graph g = exec::load_graph(m.file());
  ASSERT_EQ(g.nodes.size(), 18u);
  const auto& c = g.nodes[0].options;
  EXPECT_EQ(g.nodes[0].type_name, "CONV_2D");
  EXPECT_EQ(g.nodes[0].code, kConv2D);
  EXPECT_EQ(c.padding, Padding::Same);
  EXPECT_EQ(c.stride_w, 2);
  EXPECT_EQ(c.stride_h, 3);
  EXPECT_EQ(c.dilation_w, 4);
  EXPECT_EQ(c.dilation_h, 5);
  EXPECT_EQ(c.activation, Activation::Relu6);
  EXPECT_EQ(g.nodes[1].options.depth_multiplier, 7);
  EXPECT_EQ(g.nodes[1].options.dilation_h, 5);
  EXPECT_TRUE(g.nodes[2].options.keep_dims);
  EXPECT_EQ(g.nodes[2].options.activation, Activation::Relu);
  EXPECT_EQ(g.nodes[3].options.filter_w, 3);
  EXPECT_EQ(g.nodes[3].options.filter_h, 2);
  EXPECT_EQ(g.nodes[3].options.stride_w, 2);
  EXPECT_EQ(g.nodes[3].options.padding, Padding::Same);
  EXPECT_EQ(g.nodes[3].options.activation, Activation::ReluN1To1);
  EXPECT_EQ(g.nodes[4].options.axis, -2);
  EXPECT_EQ(g.nodes[4].options.activation, Activation::Relu);
  EXPECT_FLOAT_EQ(g.nodes[5].options.beta, 0.25f);
  EXPECT_EQ(g.nodes[6].options.new_shape, (std::vector<int32_t>{2, -1}));
  EXPECT_EQ(g.nodes[7].options.squeeze_dims, (std::vector<int32_t>{0, 2}));
  EXPECT_TRUE(g.nodes[8].options.keep_dims);
  EXPECT_EQ(g.nodes[9].options.num, 3);
  EXPECT_EQ(g.nodes[9].options.axis, 1);
  EXPECT_EQ(g.nodes[10].options.num, 3);
  EXPECT_EQ(g.nodes[10].options.axis, 1);
  EXPECT_EQ(g.nodes[11].options.num, 4);
  EXPECT_EQ(g.nodes[12].options.axis, 2);
  EXPECT_EQ(g.nodes[12].options.batch_dims, 1);
  EXPECT_EQ(g.nodes[13].options.block_size, 3);
  EXPECT_FLOAT_EQ(g.nodes[14].options.alpha, 0.125f);
  EXPECT_EQ(g.nodes[15].options.begin_mask, 1);
  EXPECT_EQ(g.nodes[15].options.end_mask, 2);
  EXPECT_EQ(g.nodes[15].options.shrink_axis_mask, 4);
  EXPECT_TRUE(g.nodes[15].options.offset);
  EXPECT_TRUE(g.nodes[16].options.mirror_symmetric);
  EXPECT_EQ(g.nodes[17].options.activation, Activation::Relu);
  EXPECT_EQ(g.nodes[17].inputs, (std::vector<int32_t>{x, x}));
  EXPECT_EQ(g.nodes[17].outputs, (std::vector<int32_t>{y}));
  EXPECT_EQ(exec::describe(g.nodes[17]), "operator 17 (ADD)");
}

TEST_P(ExecGraphOptions, RunsAConvolutionModel) {
  Model m(GetParam());
  const int32_t x = m.input({1, 2, 2, 1});
  const int32_t w = m.constant({1, 2, 2, 1}, {1, 2, 3, 4});
  const int32_t bias = m.constant({1}, {-30});
  const int32_t y = m.output({1, 1, 1, 1});
  OpOptions o;
  o.activation = Activation::Relu;
  m.op(kConv2D, {x, w, bias}, {y}, &o);
  // 1 + 4 + 9 + 16 - 30 = 0; 5 * (1 + 2 + 3 + 4) - 30 = 20; 10 - 30 = -20 -> 0 (RELU).
  expect_near(floats(m.run({{1, 2, 3, 4}})[0]), {0});
  expect_near(floats(m.run({{5, 5, 5, 5}})[0]), {20});
  expect_near(floats(m.run({{1, 1, 1, 1}})[0]), {0});
}

INSTANTIATE_TEST_SUITE_P(BothFormats, ExecGraphOptions,
                         ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
