// End-to-end behaviour of implant(): what lands in the output model, what is preserved, and
// what is refused. Outputs are read back both with our reader and with flatc (independent).
#include "implant.h"

#include <gtest/gtest.h>

#include <cstring>

#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

class ImplantTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }
  std::string schema() const { return format_name(format()); }
  ImplantOptions options(const std::string& model, const std::string& qparam) const {
    ImplantOptions o;
    o.input = model;
    o.qparam = qparam;
    o.output = dir.file("out" + ext());
    return o;
  }
  ScratchDir dir;
};

std::string error_of(const ImplantOptions& o) {
  try {
    implant(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_P(ImplantTest, ReadmeConv2DExample) {
  const std::string model = dir.file("in" + ext());
  conv2d_model(format()).save(model);
  const auto before = read_bytes(model);
  const auto o = options(model, write_qparams(dir.path(), conv2d_qparams()));
  const ImplantResult r = implant(o);
  EXPECT_EQ(r.changes.size(), 4u);
  EXPECT_EQ(read_bytes(model), before) << "input must not change";

  auto out = ModelFile::open(o.output);
  ASSERT_EQ(out->format(), format());
  const ModelInfo& m = out->info();
  const auto& t = m.subgraphs[0].tensors;
  EXPECT_EQ(t[0].type, static_cast<int8_t>(TensorType::UInt8));
  EXPECT_EQ(t[0].quant.scale, std::vector<float>{0.27102426f});
  EXPECT_EQ(t[0].quant.zero_point, std::vector<int64_t>{216});
  EXPECT_EQ(t[1].type, static_cast<int8_t>(TensorType::UInt8));
  const BufferInfo& ker = m.buffers[t[1].buffer];
  ASSERT_EQ(ker.size, 2u);
  EXPECT_EQ(ker.data[0], 237);
  EXPECT_EQ(ker.data[1], 157);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ker.data) % 16, 0u) << "buffer data is 16-byte aligned";
  EXPECT_EQ(t[2].type, static_cast<int8_t>(TensorType::Int32));
  int32_t bias;
  ASSERT_EQ(m.buffers[t[2].buffer].size, 4u);
  std::memcpy(&bias, m.buffers[t[2].buffer].data, 4);
  EXPECT_EQ(bias, 88);
  EXPECT_EQ(t[3].quant.zero_point, std::vector<int64_t>{7});

  // flatc reads it too, with the identifier of the input's format.
  const auto j = decode_with_flatc(o.output, schema());
  EXPECT_EQ(j["subgraphs"][0]["tensors"][0]["type"], "UINT8");
  EXPECT_EQ(j["subgraphs"][0]["tensors"][2]["type"], "INT32");
  const auto id = read_bytes(o.output);
  EXPECT_EQ(std::string(id.begin() + 4, id.begin() + 8),
            format() == Format::Circle ? "CIR0" : "TFL3");
}

TEST_P(ImplantTest, QuantizesFloatConstantsWithSelectableRounding) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 4});
  // x / scale = 0.5, 1.5, -2.5, 100 with scale 1: halves decide the rounding rule.
  const int32_t w = b.constant("w", {4}, {0.5f, 1.5f, -2.5f, 100.0f});
  const int32_t out = b.tensor("out", {1, 4});
  b.op(circle::BuiltinOperator_MUL, {in, w}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  const auto q = write_qparams(
      dir.path(),
      {{"in", "int8", {0.1f}, {0}}, {"w", "int8", {1.0f}, {0}}, {"out", "int8", {0.1f}, {0}}});
  auto o = options(model, q);
  implant(o);
  auto even = ModelFile::open(o.output);
  const auto& eb = even->info().buffers[even->info().subgraphs[0].tensors[w].buffer];
  ASSERT_EQ(eb.size, 4u);
  EXPECT_EQ(static_cast<int8_t>(eb.data[0]), 0);
  EXPECT_EQ(static_cast<int8_t>(eb.data[1]), 2);
  EXPECT_EQ(static_cast<int8_t>(eb.data[2]), -2);
  EXPECT_EQ(static_cast<int8_t>(eb.data[3]), 100);

  o.rounding = Rounding::HalfAwayFromZero;
  o.output = dir.file("away" + ext());
  implant(o);
  auto away = ModelFile::open(o.output);
  const auto& ab = away->info().buffers[away->info().subgraphs[0].tensors[w].buffer];
  EXPECT_EQ(static_cast<int8_t>(ab.data[0]), 1);
  EXPECT_EQ(static_cast<int8_t>(ab.data[1]), 2);
  EXPECT_EQ(static_cast<int8_t>(ab.data[2]), -3);
}

TEST_P(ImplantTest, PerChannelWeightsQuantizedAlongTheirDimension) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 3});
  // FC weight [2 out, 3 in]: channel 0 scale 0.5, channel 1 scale 2 with zero point 0.
  const int32_t w = b.constant("w", {2, 3}, {1, 2, -3, 4, 5, -6});
  const int32_t out = b.tensor("out", {1, 2});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, -1}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  QParamSpec ws{"w", "int8", {0.5f, 2.0f}, {0, 0}};
  ws.quantized_dimension = 0;
  const auto q =
      write_qparams(dir.path(), {{"in", "int8", {0.1f}, {3}}, ws, {"out", "int8", {0.2f}, {-1}}});
  auto o = options(model, q);
  implant(o);
  auto m = ModelFile::open(o.output);
  const auto& t = m->info().subgraphs[0].tensors[w];
  EXPECT_EQ(t.quant.scale.size(), 2u);
  EXPECT_EQ(t.quant.quantized_dimension, 0);
  const auto& buf = m->info().buffers[t.buffer];
  const int8_t want[] = {2, 4, -6, 2, 2, -3};  // 5/2 = 2.5 -> 2 (half to even)
  ASSERT_EQ(buf.size, 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(static_cast<int8_t>(buf.data[i]), want[i]) << i;
}

TEST_P(ImplantTest, PerTensorEntryNeedsNoQuantizedDimension) {
  const std::string model = dir.file("in" + ext());
  conv2d_model(format()).save(model);
  auto specs = conv2d_qparams();
  for (auto& s : specs) s.write_dimension = false;  // the user's exporter left it out
  EXPECT_NO_THROW(implant(options(model, write_qparams(dir.path(), specs))));
}

TEST_P(ImplantTest, PropagatesThroughValuePreservingOps) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 2});
  const int32_t r = b.tensor("reshaped", {2, 2});
  const int32_t perm = b.constant_i32("perm", {2}, {1, 0});
  const int32_t t = b.tensor("transposed", {2, 2});
  b.op(circle::BuiltinOperator_RESHAPE, {in, shape}, {r});
  b.op(circle::BuiltinOperator_TRANSPOSE, {r, perm}, {t});
  b.inputs({in});
  b.outputs({t});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  const auto q = write_qparams(dir.path(), {{"in", "int8", {0.5f}, {-3}}});
  auto o = options(model, q);
  const auto r1 = implant(o);
  ASSERT_EQ(r1.changes.size(), 3u);
  auto m = ModelFile::open(o.output);
  for (int32_t idx : {r, t}) {
    const auto& x = m->info().subgraphs[0].tensors[idx];
    EXPECT_EQ(x.type, static_cast<int8_t>(TensorType::Int8)) << x.name;
    EXPECT_EQ(x.quant.scale, std::vector<float>{0.5f});
    EXPECT_EQ(x.quant.zero_point, std::vector<int64_t>{-3});
  }
  // Without propagation the graph output stays float and the run fails, naming it.
  o.propagate = false;
  o.output = dir.file("noprop" + ext());
  const std::string err = error_of(o);
  EXPECT_NE(err.find("'reshaped'"), std::string::npos) << err;
  EXPECT_NE(err.find("'transposed'"), std::string::npos) << err;
  EXPECT_NE(err.find("TRANSPOSE (operator 1)"), std::string::npos) << err;
  EXPECT_FALSE(file_exists(o.output));
}

TEST_P(ImplantTest, SharedBufferIsNotChangedUnderAnUnlistedTensor) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {2});
  const int32_t c1 = b.constant("c1", {2}, {1.0f, 2.0f});
  const int32_t c2 = b.tensor("c2", {2});
  b.share_buffer(c2, c1);
  const int32_t o1 = b.tensor("o1", {2});
  const int32_t o2 = b.tensor("o2", {2});
  b.op(circle::BuiltinOperator_ADD, {in, c1}, {o1});
  b.op(circle::BuiltinOperator_ADD, {in, c2}, {o2});
  b.inputs({in});
  b.outputs({o1, o2});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  const auto q = write_qparams(
      dir.path(),
      {{"in", "int8", {0.1f}, {0}}, {"c1", "int8", {0.1f}, {0}}, {"o1", "int8", {0.1f}, {0}}});
  auto o = options(model, q);
  o.allow_float = true;        // c2 / o2 stay float on purpose
  o.derive.constants = false;  // (else c2 would get parameters from its range)
  const auto res = implant(o);
  EXPECT_FALSE(res.float_tensors.empty());
  auto m = ModelFile::open(o.output);
  const auto& ts = m->info().subgraphs[0].tensors;
  EXPECT_NE(ts[c1].buffer, ts[c2].buffer);
  const auto& fb = m->info().buffers[ts[c2].buffer];
  ASSERT_EQ(fb.size, 8u);
  float f[2];
  std::memcpy(f, fb.data, 8);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], 2.0f);
  const auto& qb = m->info().buffers[ts[c1].buffer];
  ASSERT_EQ(qb.size, 2u);
  EXPECT_EQ(qb.data[0], 10);
  EXPECT_EQ(qb.data[1], 20);
}

TEST_P(ImplantTest, NamesAcrossSubgraphsMustBeQualifiedWhenAmbiguous) {
  ModelBuilder b(format());
  for (int s = 0; s < 2; ++s) {
    if (s) b.add_subgraph("second");
    const int32_t x = b.tensor("x", {2});
    const int32_t y = b.tensor(s ? "y1" : "y0", {2});
    b.op(circle::BuiltinOperator_RESHAPE, {x, -1}, {y});
    b.inputs({x});
    b.outputs({y});
  }
  const std::string model = dir.file("in" + ext());
  b.save(model);
  auto o = options(model, write_qparams(dir.path(), {{"x", "int8", {0.1f}, {0}}}));
  o.allow_float = true;
  const std::string err = error_of(o);
  EXPECT_NE(err.find("'#0:x'"), std::string::npos) << err;
  EXPECT_NE(err.find("'#1:x'"), std::string::npos) << err;
  EXPECT_FALSE(file_exists(o.output));

  o = options(model, write_qparams(dir.path(),
                                   {{"#1:x", "int8", {0.1f}, {0}}, {"y0", "int8", {0.2f}, {0}}}));
  o.allow_float = true;
  // y0 makes subgraph 0's RESHAPE quantized, but its input stays float: mixed precision needs
  // parameters for the QUANTIZE it would insert, under the qualified key.
  const std::string mixed = error_of(o);
  EXPECT_NE(mixed.find("add an entry for '#0:x'"), std::string::npos) << mixed;

  o = options(model, write_qparams(dir.path(), {{"#1:x", "int8", {0.1f}, {0}}}));
  o.allow_float = true;
  implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(m->info().subgraphs[1].tensors[0].type, static_cast<int8_t>(TensorType::Int8));
  EXPECT_EQ(m->info().subgraphs[1].tensors[1].type, static_cast<int8_t>(TensorType::Int8))
      << "propagated through RESHAPE in subgraph 1";
  EXPECT_EQ(m->info().subgraphs[0].tensors[0].type, static_cast<int8_t>(TensorType::Float32));
}

TEST_P(ImplantTest, UnknownNameSuggestsTheClosestModelNames) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("serving_default_input:0", {1, 4});
  const int32_t w = b.constant("model/subnet/conv2/weight", {4}, {1, 2, 3, 4});
  const int32_t bb = b.constant("model/subnet/conv2/bias", {4}, {1, 2, 3, 4});
  const int32_t out = b.tensor("model/subnet/conv2/BiasAdd", {1, 4});
  b.op(circle::BuiltinOperator_ADD, {in, w}, {out});
  b.op(circle::BuiltinOperator_ADD, {out, bb}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  const auto o =
      options(model, write_qparams(dir.path(), {{"subnet.conv2.bias", "int8", {1}, {0}}}));
  const std::string err = error_of(o);
  EXPECT_NE(err.find("tensor 'subnet.conv2.bias' is not in the model"), std::string::npos) << err;
  const auto pos = err.find("closest names: 'model/subnet/conv2/bias'");
  EXPECT_NE(pos, std::string::npos) << err;
}

TEST_P(ImplantTest, EmptyQParamKeepsEveryPartOfTheModel) {
  ModelBuilder b = conv2d_model(format());
  b.description("described");
  b.metadata("min_runtime_version", {'1', '.', '5', 0});
  b.signature("serving_default", {{"input", 0}}, {{"output", 3}});
  b.add_subgraph("body");
  const int32_t a = b.tensor("a", {3}, TensorType::Int32);
  const int32_t c = b.tensor("c", {3}, TensorType::Int32);
  b.op(circle::BuiltinOperator_ADD, {a, a}, {c});
  b.inputs({a});
  b.outputs({c});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  write_text(dir.file("empty.json"), "{}");
  auto o = options(model, dir.file("empty.json"));
  o.allow_float = true;
  implant(o);
  EXPECT_EQ(decode_with_flatc(o.output, schema()), decode_with_flatc(model, schema()));
}

TEST_P(ImplantTest, OnlyTheListedTensorsChange) {
  ModelBuilder b = conv2d_model(format());
  b.metadata("meta", {1, 2, 3});
  b.signature("serving_default", {{"input", 0}}, {{"output", 3}});
  const std::string model = dir.file("in" + ext());
  b.save(model);
  const auto o = options(model, write_qparams(dir.path(), conv2d_qparams()));
  implant(o);
  auto want = decode_with_flatc(model, schema());
  auto got = decode_with_flatc(o.output, schema());
  // Patch the expected edits into the input's decoding; everything else must be equal.
  auto& tensors = want["subgraphs"][0]["tensors"];
  const char* types[] = {"UINT8", "UINT8", "INT32", "UINT8"};
  for (int i = 0; i < 4; ++i) {
    tensors[i]["type"] = types[i];
    tensors[i]["quantization"] = got["subgraphs"][0]["tensors"][i]["quantization"];
  }
  want["buffers"][tensors[1]["buffer"].get<int>()]["data"] = {237, 157};
  want["buffers"][tensors[2]["buffer"].get<int>()]["data"] = {88, 0, 0, 0};
  EXPECT_EQ(got, want);
  EXPECT_EQ(got["subgraphs"][0]["tensors"][1]["quantization"]["zero_point"],
            nlohmann::json::array({103}));
}

TEST_P(ImplantTest, RefusesToOverwriteTheInputUnlessAskedTo) {
  const std::string model = dir.file("in" + ext());
  conv2d_model(format()).save(model);
  const auto before = read_bytes(model);
  auto o = options(model, write_qparams(dir.path(), conv2d_qparams()));
  o.output = model;
  EXPECT_NE(error_of(o).find("--in-place"), std::string::npos);
  EXPECT_EQ(read_bytes(model), before);
  o.in_place = true;
  implant(o);
  EXPECT_EQ(ModelFile::open(model)->info().subgraphs[0].tensors[0].type,
            static_cast<int8_t>(TensorType::UInt8));
}

INSTANTIATE_TEST_SUITE_P(Formats, ImplantTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
