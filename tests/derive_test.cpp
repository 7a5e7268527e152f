// What q-implant fills in when qparam.json leaves it out, rule by rule, and that each rule can
// be switched off. Expected values are computed here from the rules' definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "derive/derive.h"
#include "implant.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/format_test.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

class DeriveTest : public FormatTest {
 protected:
  ImplantOptions options(const ModelBuilder& b, const std::vector<QParamSpec>& specs) {
    const std::string model = dir.file("in" + ext());
    b.save(model);
    ImplantOptions o;
    o.input = model;
    o.qparam = write_qparams(dir.path(), specs);
    o.output = dir.file("out" + ext());
    return o;
  }
  std::unique_ptr<ModelFile> run(const ImplantOptions& o) {
    implant(o);
    return ModelFile::open(o.output);
  }
};

template <typename T>
std::vector<T> values(const ModelFile& m, int32_t tensor) {
  const auto& t = m.info().subgraphs[0].tensors[tensor];
  const auto& b = m.info().buffers[t.buffer];
  std::vector<T> out(b.size / sizeof(T));
  std::memcpy(out.data(), b.data, b.size);
  return out;
}

const TensorInfo& tensor(const ModelFile& m, int32_t t) {
  return m.info().subgraphs[0].tensors[t];
}

TEST_P(DeriveTest, BiasFromInputAndPerChannelWeightScales) {
  ModelBuilder b(GetParam());
  const int32_t in = b.tensor("in", {1, 3});
  const int32_t w = b.constant("w", {2, 3}, {1, 0, 0, 0, 1, 0});
  const int32_t bias = b.constant("bias", {2}, {0.3f, -1.0f});
  const int32_t out = b.tensor("out", {1, 2});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, bias}, {out});
  b.inputs({in});
  b.outputs({out});
  QParamSpec ws{"w", "int8", {0.5f, 0.25f}, {0, 0}};
  auto o = options(b, {{"in", "int8", {0.1f}, {0}}, ws, {"out", "int8", {0.2f}, {0}}});
  auto m = run(o);
  const auto& bt = tensor(*m, bias);
  EXPECT_EQ(bt.type, static_cast<int8_t>(TensorType::Int32));
  ASSERT_EQ(bt.quant.scale.size(), 2u);
  EXPECT_EQ(bt.quant.scale[0], 0.1f * 0.5f);
  EXPECT_EQ(bt.quant.scale[1], 0.1f * 0.25f);
  EXPECT_EQ(bt.quant.zero_point, (std::vector<int64_t>{0, 0}));
  // 0.3 / 0.05 = 6, -1 / 0.025 = -40
  EXPECT_EQ(values<int32_t>(*m, bias), (std::vector<int32_t>{6, -40}));

  o.derive.bias = false;
  o.output = dir.file("nobias" + ext());
  try {
    implant(o);
    ADD_FAILURE() << "bias left float must fail the final check";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bias'"), std::string::npos) << e.what();
  }
}

TEST_P(DeriveTest, Int16ActivationsGetAnInt64Bias) {
  ModelBuilder b(GetParam());
  const int32_t in = b.tensor("in", {1, 1, 1, 2});
  const int32_t w = b.constant("w", {1, 1, 1, 2}, {0.5f, -0.5f});
  const int32_t bias = b.constant("bias", {1}, {1.0f});
  const int32_t out = b.tensor("out", {1, 1, 1, 1});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w, bias}, {out});
  b.inputs({in});
  b.outputs({out});
  auto m = run(options(b, {{"in", "int16", {0.001f}, {0}},
                           {"w", "int16", {0.5f / 32767}, {0}},
                           {"out", "int16", {0.002f}, {0}}}));
  EXPECT_EQ(tensor(*m, bias).type, static_cast<int8_t>(TensorType::Int64));
  const double s = double(0.001f * (0.5f / 32767));
  EXPECT_EQ(values<int64_t>(*m, bias)[0], std::llround(1.0 / s));
}

struct FixedCase {
  int32_t op;
  const char* dtype;
  std::optional<Target> target;
  float scale;
  int64_t zero_point;
};

TEST_P(DeriveTest, FixedOutputRangesPerTarget) {
  const FixedCase cases[] = {
      {circle::BuiltinOperator_SOFTMAX, "uint8", Target::ONE, 1.0f / 255, 0},
      {circle::BuiltinOperator_SOFTMAX, "uint8", Target::TFLite, 1.0f / 256, 0},
      {circle::BuiltinOperator_SOFTMAX, "int8", Target::TFLite, 1.0f / 256, -128},
      {circle::BuiltinOperator_SOFTMAX, "int16", Target::ONE, 1.0f / 32767, 0},
      {circle::BuiltinOperator_SOFTMAX, "int16", Target::TFLite, 1.0f / 32768, 0},
      {circle::BuiltinOperator_LOGISTIC, "uint8", Target::ONE, 1.0f / 256, 0},
      {circle::BuiltinOperator_LOGISTIC, "int8", Target::TFLite, 1.0f / 256, -128},
      {circle::BuiltinOperator_LOGISTIC, "int16", Target::ONE, 1.0f / 32768, 0},
      {circle::BuiltinOperator_TANH, "uint8", Target::ONE, 2.0f / 256, 128},
      {circle::BuiltinOperator_TANH, "uint8", Target::TFLite, 1.0f / 128, 128},
      {circle::BuiltinOperator_TANH, "int8", Target::TFLite, 1.0f / 128, 0},
      {circle::BuiltinOperator_TANH, "int16", Target::TFLite, 1.0f / 32768, 0},
  };
  int n = 0;
  for (const auto& c : cases) {
    ModelBuilder b(GetParam());
    const int32_t in = b.tensor("in", {1, 8});
    const int32_t out = b.tensor("out", {1, 8});
    b.op(c.op, {in}, {out});
    b.inputs({in});
    b.outputs({out});
    auto o = options(b, {{"in", c.dtype, {0.05f}, {0}}});
    o.target = c.target;
    o.output = dir.file("fixed" + std::to_string(n++) + ext());
    auto m = run(o);
    const auto& t = tensor(*m, out);
    EXPECT_EQ(t.quant.scale, std::vector<float>{c.scale}) << c.op << " " << c.dtype;
    EXPECT_EQ(t.quant.zero_point, std::vector<int64_t>{c.zero_point}) << c.op << " " << c.dtype;
  }
}

TEST_P(DeriveTest, ConcatenationSharesParametersBothWays) {
  ModelBuilder b(GetParam());
  const int32_t a = b.tensor("a", {1, 2});
  const int32_t c = b.tensor("c", {1, 2});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_CONCATENATION, {a, c}, {out});
  b.inputs({a, c});
  b.outputs({out});
  // Inputs agree: the output takes their parameters.
  auto m = run(options(b, {{"a", "uint8", {0.5f}, {3}}, {"c", "uint8", {0.5f}, {3}}}));
  EXPECT_EQ(tensor(*m, out).quant.scale, std::vector<float>{0.5f});
  EXPECT_EQ(tensor(*m, out).quant.zero_point, std::vector<int64_t>{3});
  // Output given: the missing input takes the output's. The conflicting one the user gave is
  // never overwritten. With --no-requantize ONE's rules report it (TFLite's uint8 kernel
  // requantizes its inputs itself and takes it); --force writes it as given.
  auto o = options(b, {{"a", "uint8", {0.25f}, {1}}, {"out", "uint8", {0.5f}, {3}}});
  o.output = dir.file("back" + ext());
  o.requantize = false;
  const bool one = GetParam() == Format::Circle;
  try {
    implant(o);
    EXPECT_FALSE(one) << "conflicting Concatenation parameters must be reported";
  } catch (const Error& e) {
    EXPECT_TRUE(one) << e.what();
    EXPECT_NE(
        std::string(e.what()).find("[same-scale] CONCATENATION (operator 0), tensors 'a', 'out'"),
        std::string::npos)
        << e.what();
  }
  o.force = true;
  m = run(o);
  EXPECT_EQ(tensor(*m, c).quant.scale, std::vector<float>{0.5f});
  EXPECT_EQ(tensor(*m, a).quant.scale, std::vector<float>{0.25f});
  // By default ONE gets a requantizing QUANTIZE before the operator; TFLite's uint8 needs none.
  o.force = false;
  o.requantize = true;
  o.output = dir.file("requantized" + ext());
  const ImplantResult r = implant(o);
  ASSERT_EQ(r.inserted_operators.size(), one ? 1u : 0u);
  if (one) {
    EXPECT_EQ(r.inserted_operators[0].op, "QUANTIZE");
    EXPECT_EQ(r.inserted_operators[0].inputs, std::vector<std::string>{"a"});
    EXPECT_EQ(r.inserted_operators[0].outputs, std::vector<std::string>{"a_requantized"});
  }
}

TEST_P(DeriveTest, ConstantOperandGetsParametersFromItsRange) {
  ModelBuilder b(GetParam());
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t k = b.constant("k", {4}, {-1.0f, 0.5f, 2.0f, 3.0f});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_MUL, {in, k}, {out});
  b.inputs({in});
  b.outputs({out});
  auto o = options(b, {{"in", "uint8", {0.1f}, {128}}, {"out", "uint8", {0.1f}, {128}}});
  auto m = run(o);
  const auto& t = tensor(*m, k);
  EXPECT_EQ(t.type, static_cast<int8_t>(TensorType::UInt8));
  const float scale = float(4.0 / 255.0);  // range [-1, 3] over 0..255
  EXPECT_FLOAT_EQ(t.quant.scale[0], scale);
  EXPECT_EQ(t.quant.zero_point[0], std::lround(0 - (-1.0) / scale));
  const auto q = values<uint8_t>(*m, k);
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[3], 255);

  o.derive.constants = false;
  o.output = dir.file("off" + ext());
  EXPECT_THROW(implant(o), Error);
}

TEST_P(DeriveTest, PadV2ValueSharesTheInputParameters) {
  ModelBuilder b(GetParam());
  const int32_t in = b.tensor("in", {1, 2});
  const int32_t pads = b.constant_i32("pads", {2, 2}, {0, 0, 1, 1});
  const int32_t v = b.constant("v", {}, {0.0f});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_PADV2, {in, pads, v}, {out});
  b.inputs({in});
  b.outputs({out});
  auto m = run(options(b, {{"in", "int8", {0.3f}, {-5}}}));
  EXPECT_EQ(tensor(*m, v).quant.scale, std::vector<float>{0.3f});
  EXPECT_EQ(tensor(*m, v).quant.zero_point, std::vector<int64_t>{-5});
  EXPECT_EQ(values<int8_t>(*m, v), std::vector<int8_t>{-5});
  EXPECT_EQ(tensor(*m, out).quant.zero_point, std::vector<int64_t>{-5}) << "propagated";
  EXPECT_EQ(tensor(*m, pads).type, static_cast<int8_t>(TensorType::Int32));
}

TEST(ParamsFromRange, AsymmetricAndSymmetric) {
  auto a = params_from_range(0.0f, 2.55f, QType::UInt8, false);
  EXPECT_FLOAT_EQ(a.scale[0], 0.01f);
  EXPECT_EQ(a.zero_point[0], 0);
  auto s = params_from_range(-2.0f, 1.0f, QType::Int16, true);
  EXPECT_FLOAT_EQ(s.scale[0], 2.0f / 32767);
  EXPECT_EQ(s.zero_point[0], 0);
  auto z = params_from_range(0.0f, 0.0f, QType::Int8, false);
  EXPECT_EQ(z.scale[0], 1.0f);
  EXPECT_EQ(z.zero_point[0], -128);
}

INSTANTIATE_TEST_SUITE_P(Formats, DeriveTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
