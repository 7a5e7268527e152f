// What each target computes (issue 11): the weight type table and its exact re-expressions,
// --activation-type, outputs derived from their input (RELU, pools, spatial MEAN), and
// requantizing QUANTIZE operators for same-scale conflicts, with the interpreter following
// TFLite's CONCATENATION.
//
// Expected outcomes are written out by hand from the kernels' sources (README, "Type table"),
// not read from the library's operator table.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "exec/interpreter.h"
#include "implant.h"
#include "model/model_file.h"
#include "model/shape.h"
#include "model/tensor_type.h"
#include "quant/qtype.h"
#include "schema/circle_generated.h"
#include "schema/tflite_generated.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using exec::Value;

std::string ext(Format f) {
  return f == Format::Circle ? ".circle" : ".tflite";
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const ImplantOptions& o) {
  try {
    implant(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// CONV_2D in [1,2,2,2] -> out [1,2,2,2], weight [2,1,1,2] (two output channels), float bias.
void conv_model(Format f, const std::string& path) {
  ModelBuilder b(f);
  const int32_t in = b.tensor("in", {1, 2, 2, 2});
  const int32_t w = b.constant("w", {2, 1, 1, 2}, {0.1f, -0.2f, 0.3f, -0.4f});
  const int32_t bias = b.constant("bias", {2}, {0.25f, -0.5f});
  const int32_t out = b.tensor("out", {1, 2, 2, 2});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w, bias}, {out});
  b.inputs({in});
  b.outputs({out});
  b.save(path);
}

const std::vector<int8_t> kWeights = {1, -2, 3, -4};  // as int8 with zero point 0

enum class Outcome { Keep, Reexpress, Error };

struct TableRow {
  Target target;
  const char* act;
  const char* weight;  // "int8" (zero point 0) or "uint8" (zero point 128): the same reals
  bool per_channel;
  Outcome outcome;
};

// TFLite: conv.cc / depthwise_conv.cc / fully_connected.cc read a uint8 filter with one scale
// next to uint8 activations, an int8 filter (per channel allowed) next to int8 ones.
// ONE: luci's uint8 kernels take uint8 filters, per channel too; luci has no int8 activations
// (only a warning, the weights are not checked there).
const TableRow kTable[] = {
    {Target::TFLite, "uint8", "uint8", false, Outcome::Keep},
    {Target::TFLite, "uint8", "uint8", true, Outcome::Error},
    {Target::TFLite, "uint8", "int8", false, Outcome::Reexpress},
    {Target::TFLite, "uint8", "int8", true, Outcome::Error},
    {Target::TFLite, "int8", "int8", false, Outcome::Keep},
    {Target::TFLite, "int8", "int8", true, Outcome::Keep},
    {Target::TFLite, "int8", "uint8", false, Outcome::Reexpress},
    {Target::TFLite, "int8", "uint8", true, Outcome::Reexpress},
    {Target::ONE, "uint8", "uint8", false, Outcome::Keep},
    {Target::ONE, "uint8", "uint8", true, Outcome::Keep},
    {Target::ONE, "uint8", "int8", false, Outcome::Reexpress},
    {Target::ONE, "uint8", "int8", true, Outcome::Reexpress},
    {Target::ONE, "int8", "int8", false, Outcome::Keep},
    {Target::ONE, "int8", "uint8", true, Outcome::Keep},
};

std::vector<QParamSpec> conv_specs(const char* act, const char* weight, bool per_channel) {
  const bool u8 = std::string(act) == "uint8";
  const bool wu8 = std::string(weight) == "uint8";
  QParamSpec in{"in", act, {0.5f}, {u8 ? 130 : 2}};
  QParamSpec w{"w", weight,
               per_channel ? std::vector<float>{0.1f, 0.05f} : std::vector<float>{0.1f},
               std::vector<int64_t>(per_channel ? 2 : 1, wu8 ? 128 : 0)};
  w.quantized_dimension = 0;
  w.value_descr = wu8 ? "|u1" : "|i1";
  w.value_shape = {2, 1, 1, 2};
  for (int8_t v : kWeights) w.value_bytes.push_back(uint8_t(wu8 ? v + 128 : v));
  QParamSpec out{"out", act, {0.25f}, {u8 ? 120 : -8}};
  return {in, w, out};  // the bias is derived
}

class TypeTableTest : public ::testing::TestWithParam<Format> {
 protected:
  ScratchDir dir;
};

TEST_P(TypeTableTest, EachCombinationIsKeptReexpressedOrRefused) {
  const Format f = GetParam();
  const std::string model = dir.file("in" + ext(f));
  conv_model(f, model);
  int n = 0;
  for (const TableRow& row : kTable) {
    SCOPED_TRACE(std::string(target_name(row.target)) + " " + row.act + " activations, " +
                 row.weight + (row.per_channel ? " per-channel" : " per-tensor") + " weights");
    ScratchDir q;
    ImplantOptions o;
    o.input = model;
    o.qparam = write_qparams(q.path(), conv_specs(row.act, row.weight, row.per_channel));
    o.output = dir.file("out" + std::to_string(n++) + ext(f));
    o.target = row.target;
    if (row.outcome == Outcome::Error) {
      const std::string err = error_of(o);
      EXPECT_NE(err.find("[weight-type] CONV_2D (operator 0), tensors 'w', 'in'"),
                std::string::npos)
          << err;
      EXPECT_NE(err.find("--activation-type int8"), std::string::npos) << err;
      continue;
    }
    const ImplantResult r = implant(o);
    for (const auto& finding : r.findings) EXPECT_NE(finding.severity, Severity::Error);
    std::string note;
    for (const auto& c : r.changes)
      if (c.tensor == "w") note = c.reexpressed;
    auto m = ModelFile::open(o.output);
    const TensorInfo& w = m->info().subgraphs[0].tensors[1];
    const bool given_u8 = std::string(row.weight) == "uint8";
    const bool want_u8 = row.outcome == Outcome::Reexpress ? !given_u8 : given_u8;
    EXPECT_EQ(w.type, int8_t(want_u8 ? TensorType::UInt8 : TensorType::Int8));
    EXPECT_EQ(w.quant.zero_point, std::vector<int64_t>(row.per_channel ? 2 : 1, want_u8 ? 128 : 0));
    std::vector<uint8_t> want_bytes;
    for (int8_t v : kWeights) want_bytes.push_back(uint8_t(want_u8 ? v + 128 : v));
    const BufferInfo& buf = m->info().buffers[w.buffer];
    EXPECT_EQ(std::vector<uint8_t>(buf.data, buf.data + buf.size), want_bytes);
    EXPECT_EQ(note.empty(), row.outcome == Outcome::Keep) << note;
  }
}

// The re-expressed model is the model the user would get by giving the other type: the same
// file, byte for byte.
TEST_P(TypeTableTest, ReexpressedWeightsGiveTheSameFileAsTheOtherTypeGiven) {
  const Format f = GetParam();
  const std::string model = dir.file("in" + ext(f));
  conv_model(f, model);
  ScratchDir q1, q2;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(q1.path(), conv_specs("uint8", "int8", false));
  o.output = dir.file("from_int8" + ext(f));
  implant(o);
  o.qparam = write_qparams(q2.path(), conv_specs("uint8", "uint8", false));
  o.output = dir.file("from_uint8" + ext(f));
  implant(o);
  EXPECT_EQ(file_bytes(dir.file("from_int8" + ext(f))),
            file_bytes(dir.file("from_uint8" + ext(f))));
}

// --activation-type int8 on a uint8 model: inputs, outputs and weights move by 128 (the bias
// stays), and the interpreter computes the same real values from both models.
TEST_P(TypeTableTest, ActivationTypeReexpressesEveryActivationWithTheSameRealValues) {
  const Format f = GetParam();
  const std::string model = dir.file("in" + ext(f));
  conv_model(f, model);
  ScratchDir q;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(q.path(), conv_specs("uint8", "uint8", false));
  o.target = Target::TFLite;
  o.output = dir.file("u8" + ext(f));
  implant(o);
  o.output = dir.file("i8" + ext(f));
  o.activation_type = "int8";
  const ImplantResult r = implant(o);
  size_t noted = 0;
  for (const auto& c : r.changes) noted += !c.reexpressed.empty();
  EXPECT_EQ(noted, 3u);  // in, w, out
  auto mu = ModelFile::open(dir.file("u8" + ext(f)));
  auto mi = ModelFile::open(dir.file("i8" + ext(f)));
  const auto& tu = mu->info().subgraphs[0].tensors;
  const auto& ti = mi->info().subgraphs[0].tensors;
  for (int t : {0, 1, 3}) {
    EXPECT_EQ(ti[t].type, int8_t(TensorType::Int8)) << ti[t].name;
    EXPECT_EQ(ti[t].quant.scale, tu[t].quant.scale) << ti[t].name;
    EXPECT_EQ(ti[t].quant.zero_point[0], tu[t].quant.zero_point[0] - 128) << ti[t].name;
  }
  EXPECT_EQ(ti[2].type, int8_t(TensorType::Int32));
  EXPECT_EQ(ti[2].quant.scale, tu[2].quant.scale);

  const exec::Interpreter iu(*mu), ii(*mi);
  Value xu{int8_t(TensorType::UInt8), {1, 2, 2, 2}, tu[0].quant, {}};
  Value xi{int8_t(TensorType::Int8), {1, 2, 2, 2}, ti[0].quant, {}};
  const uint8_t raw[] = {130, 140, 100, 255, 0, 131, 129, 77};
  for (uint8_t v : raw) {
    xu.data.push_back(v);
    xi.data.push_back(uint8_t(v ^ 0x80));
  }
  const auto yu = iu.run({xu})[3];
  const auto yi = ii.run({xi})[3];
  ASSERT_EQ(yu.data.size(), 8u);
  ASSERT_EQ(yi.data.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    const double ru =
        (double(yu.data[k]) - double(tu[3].quant.zero_point[0])) * tu[3].quant.scale[0];
    const double ri =
        (double(int8_t(yi.data[k])) - double(ti[3].quant.zero_point[0])) * ti[3].quant.scale[0];
    EXPECT_EQ(ru, ri) << k;
  }
}

// An exporter that writes only what modules own: the conv's output, not the RELU's, pool's or
// mean's. Those take their input's parameters, reported as derived.
TEST_P(TypeTableTest, ReluPoolAndSpatialMeanOutputsTakeTheirInputsParameters) {
  const Format f = GetParam();
  ModelBuilder b(f);
  const int32_t in = b.tensor("in", {1, 2, 2, 2});
  const int32_t w = b.constant("w", {2, 1, 1, 2}, {0.1f, -0.2f, 0.3f, -0.4f});
  const int32_t bias = b.constant("bias", {2}, {0.25f, -0.5f});
  const int32_t conv = b.tensor("conv", {1, 2, 2, 2});
  const int32_t relu = b.tensor("relu", {1, 2, 2, 2});
  const int32_t relu6 = b.tensor("relu6", {1, 2, 2, 2});
  const int32_t pool = b.tensor("pool", {1, 1, 1, 2});
  const int32_t axes = b.constant_i32("axes", {2}, {1, 2});
  const int32_t mean = b.tensor("mean", {1, 1, 1, 2});
  const int32_t clip = b.tensor("clip", {1, 1, 1, 2});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w, bias}, {conv});
  b.op(circle::BuiltinOperator_RELU, {conv}, {relu});
  b.op(circle::BuiltinOperator_RELU6, {relu}, {relu6});
  b.op(circle::BuiltinOperator_AVERAGE_POOL_2D, {relu6}, {pool});
  b.op(circle::BuiltinOperator_MEAN, {pool, axes}, {mean});
  b.op(circle::BuiltinOperator_RELU_N1_TO_1, {mean}, {clip});
  b.inputs({in});
  b.outputs({clip});
  const std::string model = dir.file("m" + ext(f));
  b.save(model);
  ScratchDir q;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(
      q.path(),
      {{"in", "int8", {0.5f}, {2}}, {"w", "int8", {0.01f}, {0}}, {"conv", "int8", {0.125f}, {-3}}});
  o.output = dir.file("out" + ext(f));
  o.target = Target::TFLite;
  const ImplantResult r = implant(o);
  auto m = ModelFile::open(o.output);
  for (int32_t t : {relu, relu6, pool, mean, clip}) {
    const TensorInfo& ti = m->info().subgraphs[0].tensors[t];
    EXPECT_EQ(ti.type, int8_t(TensorType::Int8)) << ti.name;
    EXPECT_EQ(ti.quant.scale, std::vector<float>{0.125f}) << ti.name;
    EXPECT_EQ(ti.quant.zero_point, std::vector<int64_t>{-3}) << ti.name;
    bool derived = false;
    for (const auto& c : r.changes)
      if (c.tensor == ti.name)
        derived = c.origin == EditOrigin::Derived &&
                  c.source.find("takes its input's parameters") != std::string::npos;
    EXPECT_TRUE(derived) << ti.name;
  }
}

// A MEAN over the channel axis is not the spatial mean: its output is not derived.
TEST_P(TypeTableTest, MeanOverOtherAxesIsNotDerived) {
  const Format f = GetParam();
  ModelBuilder b(f);
  const int32_t in = b.tensor("in", {1, 2, 2, 2});
  const int32_t axes = b.constant_i32("axes", {1}, {3});
  const int32_t mean = b.tensor("mean", {1, 2, 2, 1});
  b.op(circle::BuiltinOperator_MEAN, {in, axes}, {mean});
  b.inputs({in});
  b.outputs({mean});
  const std::string model = dir.file("m" + ext(f));
  b.save(model);
  ScratchDir q;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(q.path(), {{"in", "int8", {0.5f}, {2}}});
  o.output = dir.file("out" + ext(f));
  const std::string err = error_of(o);
  EXPECT_NE(err.find("'mean'"), std::string::npos) << err;
}

// int8 CONCATENATION: TFLite copies raw values, so an input with other parameters gets a
// requantizing QUANTIZE (the user's values stay everywhere); the interpreter then computes
// the real concatenation. --no-requantize keeps the error; forced, the interpreter refuses.
TEST_P(TypeTableTest, ConcatenationInputsWithOtherParametersAreRequantized) {
  const Format f = GetParam();
  ModelBuilder b(f);
  const int32_t a = b.tensor("a", {1, 2});
  const int32_t c = b.tensor("c", {1, 2});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_CONCATENATION, {a, c}, {out});
  b.inputs({a, c});
  b.outputs({out});
  const std::string model = dir.file("m" + ext(f));
  b.save(model);
  ScratchDir q;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(
      q.path(),
      {{"a", "int8", {0.5f}, {3}}, {"c", "int8", {0.25f}, {-1}}, {"out", "int8", {0.5f}, {3}}});
  o.output = dir.file("out" + ext(f));
  o.target = Target::TFLite;
  const ImplantResult r = implant(o);
  ASSERT_EQ(r.inserted_operators.size(), 1u);
  EXPECT_EQ(r.inserted_operators[0].op, "QUANTIZE");
  EXPECT_EQ(r.inserted_operators[0].index, 0u);
  EXPECT_EQ(r.inserted_operators[0].inputs, std::vector<std::string>{"c"});
  EXPECT_EQ(r.inserted_operators[0].outputs, std::vector<std::string>{"c_requantized"});
  EXPECT_TRUE(r.findings.empty());
  auto m = ModelFile::open(o.output);
  const auto& tensors = m->info().subgraphs[0].tensors;
  EXPECT_EQ(tensors[c].quant.scale, std::vector<float>{0.25f});  // as given
  const exec::Interpreter interp(*m);
  // a: 5, 1 -> reals 1, -1; c: 3, -5 -> reals 1, -1, requantized to 5, 1 at (0.5, 3).
  Value va{int8_t(TensorType::Int8), {1, 2}, tensors[a].quant, {5, 1}};
  Value vc{int8_t(TensorType::Int8), {1, 2}, tensors[c].quant, {3, uint8_t(-5)}};
  const auto y = interp.run({va, vc})[out];
  EXPECT_EQ(y.data, (std::vector<uint8_t>{5, 1, 5, 1}));

  o.requantize = false;
  o.output = dir.file("refused" + ext(f));
  const std::string err = error_of(o);
  EXPECT_NE(err.find("[same-scale] CONCATENATION (operator 0), tensors 'c', 'out'"),
            std::string::npos)
      << err;
  // Forced as given: the interpreter refuses it rather than vouch for one runtime's answer.
  o.force = true;
  implant(o);
  auto forced = ModelFile::open(o.output);
  const exec::Interpreter raw(*forced);
  try {
    raw.run({va, vc});
    ADD_FAILURE() << "an int8 CONCATENATION of differing inputs must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not requantize its inputs"), std::string::npos)
        << e.what();
  }
}

// A value-preserving operator whose output was given other parameters than its input writes
// the input's into a new tensor and a QUANTIZE after it requantizes into the output.
TEST_P(TypeTableTest, SameScaleOperatorOutputIsRequantizedAfterIt) {
  const Format f = GetParam();
  ModelBuilder b(f);
  const int32_t x = b.tensor("x", {1, 2});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 1});
  const int32_t y = b.tensor("y", {2, 1});
  b.op(circle::BuiltinOperator_RESHAPE, {x, shape}, {y});
  b.inputs({x});
  b.outputs({y});
  const std::string model = dir.file("m" + ext(f));
  b.save(model);
  ScratchDir q;
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(q.path(), {{"x", "int8", {0.5f}, {3}}, {"y", "int8", {0.25f}, {3}}});
  o.output = dir.file("out" + ext(f));
  o.target = Target::TFLite;
  const ImplantResult r = implant(o);
  ASSERT_EQ(r.inserted_operators.size(), 1u);
  EXPECT_EQ(r.inserted_operators[0].index, 1u);
  EXPECT_EQ(r.inserted_operators[0].inputs, std::vector<std::string>{"y_same_scale"});
  EXPECT_EQ(r.inserted_operators[0].outputs, std::vector<std::string>{"y"});
  auto m = ModelFile::open(o.output);
  const exec::Interpreter interp(*m);
  const auto& tensors = m->info().subgraphs[0].tensors;
  Value vx{int8_t(TensorType::Int8), {1, 2}, tensors[x].quant, {5, 1}};  // reals 1, -1
  EXPECT_EQ(interp.run({vx})[y].data, (std::vector<uint8_t>{7, uint8_t(-1)}));
}

INSTANTIATE_TEST_SUITE_P(Formats, TypeTableTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return format_name(info.param); });

// The tensor-type table spells each type as the generated schemas do, and only for the schemas
// that define it; the qparam.json types read their sizes and ranges from it.
TEST(TensorTypeTable, MatchesBothSchemas) {
  for (const TensorTypeRow& r : kTensorTypes) {
    const int8_t raw = type_code(r.type);
    const bool circle_has = raw >= circle::TensorType_MIN && raw <= circle::TensorType_MAX;
    const bool tflite_has = raw >= tflite::TensorType_MIN && raw <= tflite::TensorType_MAX;
    EXPECT_EQ(r.in_circle, circle_has) << r.name;
    EXPECT_EQ(r.in_tflite, tflite_has) << r.name;
    if (circle_has) {
      EXPECT_STREQ(r.name, circle::EnumNameTensorType(static_cast<circle::TensorType>(raw)));
    }
    if (tflite_has) {
      EXPECT_STREQ(r.name, tflite::EnumNameTensorType(static_cast<tflite::TensorType>(raw)));
    }
  }
  EXPECT_EQ(tensor_type_name(Format::TFLite, type_code(TensorType::UInt4)), "TensorType(-1)");
  EXPECT_EQ(tensor_type_name(Format::Circle, type_code(TensorType::UInt4)), "UINT4");
  EXPECT_EQ(tensor_type_size(type_code(TensorType::Int4)), 0u);
  EXPECT_EQ(element_size(type_code(TensorType::Int4)), 1u);
  EXPECT_EQ(tensor_type_size(type_code(TensorType::Complex128)), 16u);
  EXPECT_EQ(qtype_of(type_code(TensorType::UInt4)), QType::UInt4);
  EXPECT_EQ(qtype_of(type_code(TensorType::Float32)), std::nullopt);
  EXPECT_EQ(qtype_info(QType::Int16).min, -32768);
  EXPECT_EQ(qtype_info(QType::Int4).bits, 4);
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(half_to_float(0xfc00), -HUGE_VALF);
}

TEST(ShapeText, BothSpellingsAndChannelIndex) {
  EXPECT_EQ(shape_text(std::vector<int32_t>{1, 2, 3}), "[1, 2, 3]");
  EXPECT_EQ(shape_text_compact(std::vector<int64_t>{1, 2}), "[1,2]");
  const ChannelIndex c = channel_index(std::vector<int32_t>{2, 3, 4}, 1);
  EXPECT_EQ(c.inner, 4u);
  EXPECT_EQ(c.channels, 3u);
  EXPECT_EQ(c(5), 1u);
  EXPECT_EQ(c(12), 0u);
  EXPECT_EQ(channel_index(std::vector<int32_t>{2}, 3)(1), 0u);
}

}  // namespace
}  // namespace qimplant::test
