// extract: a quantized model back to qparam.json + npy files. The central test is the round
// trip: implanting what extract wrote into the float model gives the quantized model back
// exactly, for every quantized model made here (the README Conv2D, per-channel FC, several
// subgraphs, shared buffers, and a model with one of each common operator).
#include "extract/extract.h"

#include <gtest/gtest.h>

#include <optional>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/tools_support.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

nlohmann::ordered_json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::ordered_json::parse(in);
}

class ExtractTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }
  std::string schema() const { return format_name(format()); }

  // Saves `b` as the float model, implants `specs`, returns the quantized model's path.
  std::string quantize(const ModelBuilder& b, const std::vector<QParamSpec>& specs,
                       bool allow_float = false, std::optional<Target> target = {}) {
    float_model = dir.file("float" + ext());
    b.save(float_model);
    ImplantOptions o;
    o.input = float_model;
    o.qparam = write_qparams(qdir.path(), specs);
    o.output = dir.file("quantized" + ext());
    o.allow_float = allow_float;
    o.target = target;
    implant(o);
    return o.output;
  }

  std::string error_of(const ExtractOptions& o) {
    try {
      extract(o);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  ScratchDir dir, qdir, work;
  std::string float_model;
};

QParamSpec per_channel(const std::string& name, const std::string& dtype, std::vector<float> scale,
                       int dim) {
  QParamSpec s{name, dtype, scale, std::vector<int64_t>(scale.size(), 0)};
  s.quantized_dimension = dim;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST_P(ExtractTest, RoundTripReadmeConv2DWithValues) {
  const auto q = quantize(conv2d_model(format()), conv2d_qparams());
  const auto r = expect_round_trip(float_model, q, work.path());
  EXPECT_EQ(r.tensors.size(), 4u);
  const auto j = read_json(r.qparam_path);
  ASSERT_TRUE(j.contains("ker"));
  EXPECT_EQ(j["ker"]["dtype"], "uint8");
  EXPECT_EQ(j["ker"]["value"], "s0_t1_value.npy");
  EXPECT_EQ(j["ifm"]["scale"], "s0_t0_scale.npy");
  EXPECT_FALSE(j["ifm"].contains("value")) << "not a constant";
  // The npy files hold the model's parameters exactly.
  const npy::Array scale = npy::load(work.file("extracted/s0_t0_scale.npy"));
  EXPECT_EQ(npy::to_float32(scale), std::vector<float>{0.27102426f});
  const npy::Array zerop = npy::load(work.file("extracted/s0_t0_zerop.npy"));
  EXPECT_EQ(npy::dtype_name(zerop), "int64");
  EXPECT_EQ(npy::to_int64(zerop), std::vector<int64_t>{216});
  const npy::Array ker = npy::load(work.file("extracted/s0_t1_value.npy"));
  EXPECT_EQ(ker.descr, "|u1");
  EXPECT_EQ(ker.shape, (std::vector<int64_t>{1, 1, 1, 2}));
  ASSERT_EQ(ker.nbytes, 2u);
  EXPECT_EQ(ker.data[0], 237);
  EXPECT_EQ(ker.data[1], 157);
  const npy::Array bias = npy::load(work.file("extracted/s0_t2_value.npy"));
  EXPECT_EQ(bias.descr, "<i4");
}

TEST_P(ExtractTest, RoundTripReadmeConv2DQuantizedFromFloat) {
  auto specs = conv2d_qparams();
  for (auto& s : specs) s.value_descr.clear();  // q-implant quantizes ker and bias itself
  const auto q = quantize(conv2d_model(format()), specs);
  expect_round_trip(float_model, q, work.path());
}

TEST_P(ExtractTest, RoundTripPerChannelFullyConnected) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 3});
  const int32_t w = b.constant("w", {4, 3}, {1, 2, -3, 4, 5, -6, 0.5f, 0.25f, -1, 7, 8, 9});
  const int32_t bias = b.constant("b", {4}, {0.1f, -0.2f, 0.3f, 0.4f});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, bias}, {out});
  b.inputs({in});
  b.outputs({out});
  const auto q = quantize(b, {{"in", "int8", {0.1f}, {3}},
                              per_channel("w", "int8", {0.5f, 2.0f, 0.01f, 0.07f}, 0),
                              per_channel("b", "int32", {0.05f, 0.2f, 0.001f, 0.007f}, 0),
                              {"out", "int8", {0.2f}, {-1}}});
  const auto r = expect_round_trip(float_model, q, work.path());
  const auto j = read_json(r.qparam_path);
  EXPECT_EQ(j["w"]["quantized_dimension"], 0);
  EXPECT_EQ(npy::load(work.file("extracted/s0_t1_scale.npy")).shape, std::vector<int64_t>{4});
  for (const auto& t : r.tensors)
    if (t.key == "w") {
      EXPECT_EQ(t.channels, 4u);
    }
}

TEST_P(ExtractTest, RoundTripSeveralSubgraphsUsesQualifiedKeys) {
  ModelBuilder b(format());
  for (int s = 0; s < 2; ++s) {
    if (s) b.add_subgraph("second");
    const int32_t x = b.tensor("x", {2});
    const int32_t c = b.constant(s ? "c1" : "c0", {2}, {1.0f, -2.0f});
    const int32_t y = b.tensor(s ? "y1" : "y0", {2});
    b.op(circle::BuiltinOperator_ADD, {x, c}, {y});
    b.inputs({x});
    b.outputs({y});
  }
  const auto q = quantize(b, {{"#0:x", "int8", {0.1f}, {0}},
                              {"#1:x", "uint8", {0.3f}, {128}},
                              {"c0", "int8", {0.02f}, {0}},
                              {"c1", "uint8", {0.03f}, {100}},
                              {"y0", "int8", {0.2f}, {1}},
                              {"y1", "uint8", {0.4f}, {120}}});
  const auto r = expect_round_trip(float_model, q, work.path());
  const auto j = read_json(r.qparam_path);
  EXPECT_TRUE(j.contains("#0:x"));
  EXPECT_TRUE(j.contains("#1:x"));
  EXPECT_TRUE(j.contains("c1")) << "unique names stay plain";
  EXPECT_EQ(j["#1:x"]["scale"], "s1_t0_scale.npy");
}

// Buffers shared with float tensors get new buffers, in the order of qparam.json's keys; the
// extracted file lists constants in buffer order, so the numbering comes back the same.
TEST_P(ExtractTest, RoundTripKeepsAppendedBufferNumbering) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {2});
  const int32_t in2 = b.tensor("float_in", {2});  // the float part of the graph reads it
  const int32_t a = b.constant("a", {2}, {1.0f, 2.0f});
  const int32_t a2 = b.tensor("a_float_user", {2});
  b.share_buffer(a2, a);
  const int32_t c = b.constant("c", {2}, {3.0f, 4.0f});
  const int32_t c2 = b.tensor("c_float_user", {2});
  b.share_buffer(c2, c);
  const int32_t o1 = b.tensor("o1", {2});
  const int32_t o2 = b.tensor("o2", {2});
  const int32_t o3 = b.tensor("o3", {2});
  const int32_t o4 = b.tensor("o4", {2});
  b.op(circle::BuiltinOperator_ADD, {in, a}, {o1});
  b.op(circle::BuiltinOperator_ADD, {in, c}, {o2});
  b.op(circle::BuiltinOperator_ADD, {in2, a2}, {o3});
  b.op(circle::BuiltinOperator_ADD, {in2, c2}, {o4});
  b.inputs({in, in2});
  b.outputs({o1, o2, o3, o4});
  // "c" before "a": c gets the first appended buffer.
  const auto q = quantize(b,
                          {{"in", "int8", {0.1f}, {0}},
                           {"c", "int8", {0.1f}, {0}},
                           {"a", "int8", {0.05f}, {0}},
                           {"o1", "int8", {0.1f}, {0}},
                           {"o2", "int8", {0.1f}, {0}}},
                          /*allow_float=*/true);
  auto m = ModelFile::open(q);
  const auto& ts = m->info().subgraphs[0].tensors;
  ASSERT_LT(ts[c].buffer, ts[a].buffer) << "precondition: appended in key order";
  ASSERT_NE(ts[a].buffer, ts[a2].buffer) << "precondition: the float user keeps its buffer";
  expect_round_trip(float_model, q, work.path(), /*allow_float=*/true);
}

// One of each common operator, per-tensor and per-channel, int8 and uint8, propagated outputs.
ModelBuilder many_ops_model(Format format) {
  ModelBuilder b(format);
  const int32_t in = b.tensor("serving_default_input:0", {1, 4, 4, 2});
  const int32_t w1 =
      b.constant("model/conv/Conv2D", {3, 1, 1, 2}, {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f});
  const int32_t b1 = b.constant("model/conv/BiasAdd/ReadVariableOp", {3}, {0.01f, 0.02f, -0.03f});
  const int32_t c1 = b.tensor("model/conv/BiasAdd;model/conv/Conv2D", {1, 4, 4, 3});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w1, b1}, {c1});
  const int32_t w2 = b.constant("model/dw/depthwise", {1, 1, 1, 3}, {0.7f, -0.8f, 0.9f});
  const int32_t b2 = b.constant("model/dw/BiasAdd/ReadVariableOp", {3}, {0.0f, 0.1f, 0.2f});
  const int32_t c2 = b.tensor("model/dw/BiasAdd", {1, 4, 4, 3});
  b.op(circle::BuiltinOperator_DEPTHWISE_CONV_2D, {c1, w2, b2}, {c2});
  const int32_t k = b.constant("model/add/y", {3}, {0.5f, 0.25f, -0.5f});
  const int32_t c3 = b.tensor("model/add", {1, 4, 4, 3});
  b.op(circle::BuiltinOperator_ADD, {c2, k}, {c3});
  const int32_t c4 = b.tensor("model/mul", {1, 4, 4, 3});
  b.op(circle::BuiltinOperator_MUL, {c3, c2}, {c4});
  const int32_t c5 = b.tensor("model/avgpool", {1, 3, 3, 3});
  b.op(circle::BuiltinOperator_AVERAGE_POOL_2D, {c4}, {c5});
  const int32_t c6 = b.tensor("model/maxpool", {1, 2, 2, 3});
  b.op(circle::BuiltinOperator_MAX_POOL_2D, {c5}, {c6});
  const int32_t pads = b.constant_i32("model/pad/paddings", {4, 2}, {0, 0, 1, 1, 1, 1, 0, 0});
  const int32_t c7 = b.tensor("model/pad", {1, 4, 4, 3});
  b.op(circle::BuiltinOperator_PAD, {c6, pads}, {c7});
  const int32_t axis = b.constant_i32("model/mean/axis", {2}, {1, 2});
  const int32_t c8 = b.tensor("model/mean", {1, 1, 1, 3});
  b.op(circle::BuiltinOperator_MEAN, {c7, axis}, {c8});
  const int32_t c9 = b.tensor("model/concat", {1, 1, 1, 6});
  b.op(circle::BuiltinOperator_CONCATENATION, {c8, c8}, {c9});
  const int32_t shape = b.constant_i32("model/reshape/shape", {2}, {1, 6});
  const int32_t c10 = b.tensor("model/reshape", {1, 6});
  b.op(circle::BuiltinOperator_RESHAPE, {c9, shape}, {c10});
  const int32_t w3 =
      b.constant("model/dense/MatMul", {2, 6}, {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6});
  const int32_t b3 = b.constant("model/dense/BiasAdd/ReadVariableOp", {2}, {0.5f, -0.5f});
  const int32_t c11 = b.tensor("model/dense/BiasAdd", {1, 2});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {c10, w3, b3}, {c11});
  const int32_t perm = b.constant_i32("model/transpose/perm", {2}, {1, 0});
  const int32_t c12 = b.tensor("model/transpose", {2, 1});
  b.op(circle::BuiltinOperator_TRANSPOSE, {c11, perm}, {c12});
  const int32_t c13 = b.tensor("StatefulPartitionedCall:0", {2, 1});
  b.op(circle::BuiltinOperator_SOFTMAX, {c12}, {c13});
  b.inputs({in});
  b.outputs({c13});
  return b;
}

std::vector<QParamSpec> many_ops_qparams(const std::string& act) {
  const int64_t zp = act == "uint8" ? 128 : 0;
  auto a = [&](const std::string& name, float scale) {
    return QParamSpec{name, act, {scale}, {zp}};
  };
  // uint8 is used under ONE's rules (luci's verifier: Softmax 1/255), int8 under TFLite's.
  QParamSpec softmax{"StatefulPartitionedCall:0",
                     act,
                     {act == "uint8" ? 1.0f / 255 : 1.0f / 256},
                     {act == "uint8" ? 0 : -128}};
  return {a("serving_default_input:0", 0.02f),
          per_channel("model/conv/Conv2D", "int8", {0.004f, 0.005f, 0.006f}, 0),
          per_channel("model/conv/BiasAdd/ReadVariableOp", "int32", {8e-5f, 1e-4f, 1.2e-4f}, 0),
          a("model/conv/BiasAdd;model/conv/Conv2D", 0.03f),
          per_channel("model/dw/depthwise", "int8", {0.006f, 0.007f, 0.008f}, 3),
          per_channel("model/dw/BiasAdd/ReadVariableOp", "int32", {1.8e-4f, 2.1e-4f, 2.4e-4f}, 0),
          a("model/dw/BiasAdd", 0.04f),
          {"model/add/y", act, {0.004f}, {zp}},
          a("model/add", 0.05f),
          a("model/mul", 0.06f),
          a("model/avgpool", 0.06f),
          a("model/mean", 0.07f),
          a("model/concat", 0.07f),
          {"model/dense/MatMul", "int8", {0.05f}, {0}},
          {"model/dense/BiasAdd/ReadVariableOp", "int32", {0.0035f}, {0}},
          a("model/dense/BiasAdd", 0.1f),
          softmax};
}

TEST_P(ExtractTest, RoundTripOneOfEachCommonOperatorInt8) {
  const auto q = quantize(many_ops_model(format()), many_ops_qparams("int8"));
  const auto r = expect_round_trip(float_model, q, work.path());
  // Propagated tensors (MaxPool2D, Pad, Reshape, Transpose outputs) are extracted too; the
  // int32 shape/axis/perm constants are not (they have no quantization).
  const auto j = read_json(r.qparam_path);
  EXPECT_TRUE(j.contains("model/maxpool"));
  EXPECT_TRUE(j.contains("model/transpose"));
  EXPECT_FALSE(j.contains("model/pad/paddings"));
  EXPECT_FALSE(j.contains("model/reshape/shape"));
}

TEST_P(ExtractTest, RoundTripOneOfEachCommonOperatorUInt8) {
  // Per-channel int8 weights under uint8 activations: ONE's rules, whose uint8 kernels take
  // per-channel uint8 weights (they are written so); TFLite's uint8 kernels have none.
  const auto q = quantize(many_ops_model(format()), many_ops_qparams("uint8"), false, Target::ONE);
  expect_round_trip(float_model, q, work.path(), false, Target::ONE);
}

TEST_P(ExtractTest, RoundTripInt16ActivationsWithInt64Bias) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 2, 2, 2});
  const int32_t w = b.constant("w", {2, 1, 1, 2}, {0.5f, -0.25f, 0.125f, 1.0f});
  const int32_t bias = b.constant("bias", {2}, {0.01f, -0.01f});
  const int32_t out = b.tensor("out", {1, 2, 2, 2});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w, bias}, {out});
  b.inputs({in});
  b.outputs({out});
  const auto q = quantize(b, {{"in", "int16", {0.001f}, {0}},
                              per_channel("w", "int8", {0.004f, 0.008f}, 0),
                              per_channel("bias", "int64", {4e-6f, 8e-6f}, 0),
                              {"out", "int16", {0.002f}, {0}}});
  const auto r = expect_round_trip(float_model, q, work.path());
  EXPECT_EQ(npy::load(work.file("extracted/s0_t2_value.npy")).descr, "<i8");
  EXPECT_EQ(npy::load(work.file("extracted/s0_t0_scale.npy")).descr, "<f4");
  EXPECT_EQ(r.tensors.size(), 4u);
}

TEST_P(ExtractTest, RoundTripFourBitWeights) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 3});
  const int32_t w = b.constant("w", {3, 3}, {0.5f, -1, 3.5f, -4, 100, -100, 0.25f, 1.5f, -2.5f});
  const int32_t out = b.tensor("out", {1, 3});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, -1}, {out});
  b.inputs({in});
  b.outputs({out});
  // int4 per-channel, quantized from float (9 values: the last byte's high nibble stays 0).
  auto q = quantize(b, {{"in", "int8", {0.1f}, {0}},
                        per_channel("w", "int4", {0.5f, 1.0f, 0.25f}, 0),
                        {"out", "int8", {0.2f}, {0}}});
  auto r = expect_round_trip(float_model, q, work.path());
  const npy::Array value = npy::load(work.file("extracted/s0_t1_value.npy"));
  EXPECT_EQ(value.descr, "|i1") << "one element per byte";
  EXPECT_EQ(value.shape, (std::vector<int64_t>{3, 3}));
  ASSERT_EQ(value.nbytes, 9u);
  EXPECT_EQ(static_cast<int8_t>(value.data[4]), 7) << "100 / 1.0 clamps to 7";
  EXPECT_EQ(read_json(r.qparam_path)["w"]["dtype"], "int4");
  if (format() == Format::Circle) {
    ScratchDir u;
    q = quantize(b, {{"w", "uint4", {0.5f}, {8}}}, /*allow_float=*/true);
    r = expect_round_trip(float_model, q, u.path(), /*allow_float=*/true);
    EXPECT_EQ(npy::load(u.file("extracted/s0_t1_value.npy")).descr, "|u1");
  }
}

// ---------------------------------------------------------------------------------------------
// Subsets, names, files

TEST_P(ExtractTest, TensorsPatternSelectsASubsetWithStableFileNames) {
  const auto q = quantize(conv2d_model(format()), conv2d_qparams());
  for (const std::string pattern : {"glob:[ko]*", "re:(ker|ofm)", "[ko]*"}) {
    SCOPED_TRACE(pattern);
    ScratchDir out;
    ExtractOptions o{q, out.path(), pattern};
    const ExtractResult r = extract(o);
    ASSERT_EQ(r.tensors.size(), 2u);
    const auto j = read_json(r.qparam_path);
    EXPECT_EQ(j.size(), 2u);
    EXPECT_EQ(j["ker"]["scale"], "s0_t1_scale.npy") << "same names as in a full extract";
    EXPECT_EQ(j["ofm"]["zerop"], "s0_t3_zerop.npy");
    auto files = list_dir(out.path());
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files,
              (std::vector<std::string>{"qparam.json", "s0_t1_scale.npy", "s0_t1_value.npy",
                                        "s0_t1_zerop.npy", "s0_t3_scale.npy", "s0_t3_zerop.npy"}))
        << "nothing else left behind";
  }
  // A plain name selects that tensor; the subset implants into the float model.
  ScratchDir out;
  const ExtractResult r = extract({q, out.path(), "ifm"});
  ASSERT_EQ(r.tensors.size(), 1u);
  ImplantOptions o;
  o.input = float_model;
  o.qparam = r.qparam_path;
  o.output = work.file("subset" + ext());
  o.allow_float = true;
  EXPECT_NO_THROW(implant(o));
}

TEST_P(ExtractTest, CreatesTheOutputDirectoryAndReplacesAnEarlierExtract) {
  const auto q = quantize(conv2d_model(format()), conv2d_qparams());
  const std::string out = work.file("a/b/c");
  extract({q, out, ""});
  EXPECT_TRUE(file_exists(out + "/qparam.json"));
  const ExtractResult again = extract({q, out, "ifm"});
  EXPECT_EQ(read_json(again.qparam_path).size(), 1u);
}

TEST_P(ExtractTest, NamesThatAreNotSafeFileNamesNeverReachTheFileSystem) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("../../escape/in", {2});
  const int32_t w = b.constant("a/b;c:d*e?.npy", {2}, {1.0f, 2.0f});
  const int32_t out = b.tensor("re:out", {2});
  b.op(circle::BuiltinOperator_ADD, {in, w}, {out});
  b.inputs({in});
  b.outputs({out});
  const auto q = quantize(b, {{"../../escape/in", "int8", {0.1f}, {0}},
                              {"a/b;c:d*e?.npy", "int8", {0.1f}, {0}},
                              {"re:out", "int8", {0.1f}, {0}}});
  const auto r = expect_round_trip(float_model, q, work.path());
  auto files = list_dir(work.file("extracted"));
  EXPECT_EQ(files.size(), 8u);
  for (const auto& f : files) EXPECT_EQ(f.find('/'), std::string::npos);
  EXPECT_FALSE(file_exists(work.file("../escape")));
  EXPECT_TRUE(read_json(r.qparam_path).contains("re:out")) << "an exact name wins over 're:'";
}

TEST_P(ExtractTest, TensorsTheImplantCouldNotTakeBackAreSkippedWithTheReason) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {2}, TensorType::Int8);
  b.set_quant(in, {0.1f}, {0});
  const int32_t no_zp = b.tensor("no_zero_point", {2}, TensorType::Int8);
  b.set_quant(no_zp, {0.1f}, {});
  const int32_t bad_scale = b.tensor("bad_scale", {2}, TensorType::Int8);
  b.set_quant(bad_scale, {-1.0f}, {0});
  const int32_t big_zp = b.tensor("big_zp", {2}, TensorType::Int8);
  b.set_quant(big_zp, {0.5f}, {300});
  const int32_t wrong_channels = b.tensor("wrong_channels", {2, 3}, TensorType::Int8);
  b.set_quant(wrong_channels, {0.5f, 0.5f, 0.5f}, {0, 0, 0}, 0);
  const int32_t half = b.tensor("half", {2}, TensorType::Float16);
  b.set_quant(half, {0.5f}, {0});
  const int32_t short_data = b.constant_bytes("short_data", {4}, TensorType::Int8, {1, 2});
  b.set_quant(short_data, {0.5f}, {0});
  b.op(circle::BuiltinOperator_ADD, {in, no_zp}, {bad_scale});
  b.inputs({in});
  b.outputs({bad_scale});
  const std::string model = dir.file("odd" + ext());
  b.save(model);
  const ExtractResult r = extract({model, work.path(), ""});
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(r.tensors[0].key, "in");
  std::map<std::string, std::string> why;
  for (const auto& s : r.skipped) why[s.tensor] = s.reason;
  EXPECT_TRUE(contains(why["no_zero_point"], "no zero points")) << why["no_zero_point"];
  EXPECT_TRUE(contains(why["bad_scale"], "scale[0]")) << why["bad_scale"];
  EXPECT_TRUE(contains(why["big_zp"], "outside the range of int8")) << why["big_zp"];
  EXPECT_TRUE(contains(why["wrong_channels"], "do not fit its shape [2, 3]"))
      << why["wrong_channels"];
  EXPECT_TRUE(contains(why["half"], "FLOAT16")) << why["half"];
  EXPECT_TRUE(contains(why["short_data"], "holds 2 bytes, expected 4")) << why["short_data"];
}

TEST_P(ExtractTest, DuplicateNamesInOneSubgraphCannotBeKeys) {
  ModelBuilder b(format());
  const int32_t x = b.tensor("dup", {2}, TensorType::Int8);
  b.set_quant(x, {0.1f}, {0});
  const int32_t y = b.tensor("dup", {2}, TensorType::Int8);
  b.set_quant(y, {0.2f}, {0});
  const int32_t z = b.tensor("z", {2}, TensorType::Int8);
  b.set_quant(z, {0.2f}, {0});
  b.op(circle::BuiltinOperator_ADD, {x, y}, {z});
  b.inputs({x, y});
  b.outputs({z});
  const std::string model = dir.file("dup" + ext());
  b.save(model);
  const ExtractResult r = extract({model, work.path(), ""});
  ASSERT_EQ(r.tensors.size(), 1u);
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_TRUE(contains(r.skipped[0].reason, "2 tensors of this name")) << r.skipped[0].reason;
}

TEST_P(ExtractTest, Errors) {
  // A float model has nothing to extract.
  const std::string fmodel = dir.file("f" + ext());
  conv2d_model(format()).save(fmodel);
  std::string err = error_of({fmodel, work.path(), ""});
  EXPECT_TRUE(contains(err, "model file '" + fmodel + "' has no quantized tensors")) << err;
  EXPECT_FALSE(file_exists(work.file("qparam.json")));

  const auto q = quantize(conv2d_model(format()), conv2d_qparams());
  err = error_of({q, work.path(), "kernel*"});
  EXPECT_TRUE(contains(err, "none that can be extracted matches 'kernel*'")) << err;
  EXPECT_TRUE(contains(err, "closest names: 'ker'")) << err;

  err = error_of({q, work.path(), "re:(ker"});
  EXPECT_TRUE(contains(err, "tensor filter 're:(ker': invalid regular expression '(ker'")) << err;
  err = error_of({q, work.path(), "glob:[ab"});
  EXPECT_TRUE(contains(err, "invalid glob '[ab': '[' at position 0 is not closed")) << err;

  write_text(work.file("plain_file"), "x");
  err = error_of({q, work.file("plain_file"), ""});
  EXPECT_TRUE(contains(
      err, "output directory '" + work.file("plain_file") + "': exists and is not a directory"))
      << err;

  err = error_of({dir.file("missing" + ext()), work.path(), ""});
  EXPECT_TRUE(contains(err, "missing" + ext())) << err;
  EXPECT_TRUE(contains(err, "No such file")) << err;
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST_P(ExtractTest, CommandLineExtractsAndTheResultImplants) {
  const auto q = quantize(conv2d_model(format()), conv2d_qparams());
  const std::string out = work.file("cli");
  ToolRun r = run_tool("extract " + shell_quote(q) + " " + shell_quote(out));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "wrote " + out + "/qparam.json: 4 tensor(s), 2 with values, 10 npy"))
      << r;
  r = run_tool(shell_quote(float_model) + " " + shell_quote(out + "/qparam.json") + " " +
               shell_quote(work.file("again" + ext())));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(decode_with_flatc(work.file("again" + ext()), schema()),
            decode_with_flatc(q, schema()));

  r = run_tool("extract -v " + shell_quote(q) + " " + shell_quote(work.file("sub")) +
               " --tensors 're:k.*'");
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "'ker': uint8, value")) << r;
  EXPECT_TRUE(contains(r.out, "1 tensor(s)")) << r;

  r = run_tool("extract " + shell_quote(float_model) + " " + shell_quote(work.file("none")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "q-implant: error: model file")) << r;
  EXPECT_TRUE(contains(r.err, "no quantized tensors")) << r;
  r = run_tool("extract " + shell_quote(q));
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_TRUE(contains(r.err, "outdir")) << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, ExtractTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
