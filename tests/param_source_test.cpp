// Other parameter formats (qparam/param_source.h): compact qparam.json (inline numbers, npz
// members), min / max ranges and the targets' nudging, AIMET encodings in their three layouts,
// ONNX QDQ models written here with libonnx's protobuf classes, convert-params, and every
// refused input with its message. Expected numbers are worked out by hand in the comments.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "extract/convert_params.h"
#include "extract/extract.h"
#include "implant.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "qparam/min_max.h"
#include "qparam/onnx_qdq.h"
#include "qparam/param_source.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/model_builder.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using ojson = nlohmann::ordered_json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The quantization of `name` in subgraph 0 of a written model, and its data.
struct Written {
  int8_t type = 0;
  QuantParams quant;
  std::vector<uint8_t> data;
};
Written written(const std::string& model, const std::string& name) {
  auto f = ModelFile::open(model);
  const ModelInfo& m = f->info();
  for (const TensorInfo& t : m.subgraphs[0].tensors) {
    if (t.name != name) continue;
    Written w{t.type, t.quant, {}};
    const BufferInfo& b = m.buffers[t.buffer];
    if (b.size) w.data.assign(b.data, b.data + b.size);
    return w;
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

const QParamEntry& entry(const QParamFile& f, const std::string& key) {
  for (const auto& e : f.entries)
    if (e.key == key) return e;
  throw std::runtime_error("no entry " + key);
}

// A zip of .npy members as numpy.savez writes it (libzip, stored or deflated).
void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members_from_files,
               bool compress) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  for (const auto& [name, file] : members_from_files) {
    zip_source_t* src = zip_source_file(z, file.c_str(), 0, -1);
    ASSERT_NE(src, nullptr);
    const zip_int64_t i = zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
    ASSERT_GE(i, 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i),
                             compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

class ParamSourceTest : public ::testing::Test {
 protected:
  ImplantOptions options(const std::string& qparam, const std::string& out = "out.circle") {
    ImplantOptions o;
    o.input = model();
    o.qparam = qparam;
    o.output = dir.file(out);
    return o;
  }
  std::string model() {
    const std::string m = dir.file("in.circle");
    if (!file_exists(m)) conv2d_model(Format::Circle).save(m);
    return m;
  }
  std::string text_file(const std::string& name, const std::string& text) {
    write_text(dir.file(name), text);
    return dir.file(name);
  }
  ScratchDir dir;
};

// --- min / max: the targets' nudging -------------------------------------------------------

TEST(MinMax, TfliteAsymmetricNudgesZeroOntoTheGrid) {
  // uint8 [-1, 1]: scale = 2 / 255 in float = 0.0078431377; zero point from min =
  // 0 - (-1) / scale = 127.499995 in float → 127. ONE computes the same in double, where
  // 1 / (2 / 255) rounds to 127.5 → 128: the two targets differ by one here.
  auto p = params_from_range({-1.0f}, {1.0f}, QType::UInt8, false, Target::TFLite, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 127);
  p = params_from_range({-1.0f}, {1.0f}, QType::UInt8, false, Target::ONE, "w");
  EXPECT_EQ(p.zero_point[0], 128);
  // int8 [-1, 1]: -128 + 127.499995 = -0.500005 → -1.
  p = params_from_range({-1.0f}, {1.0f}, QType::Int8, false, Target::TFLite, "w");
  EXPECT_EQ(p.zero_point[0], -1);
  // [0.5, 2] is widened to [0, 2] so that 0 is representable: zero point 0, scale 2 / 255.
  p = params_from_range({0.5f}, {2.0f}, QType::UInt8, false, Target::TFLite, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 0);
  // All negative [-2, -1] → [-2, 0]: zero point at the top.
  p = params_from_range({-2.0f}, {-1.0f}, QType::UInt8, false, Target::TFLite, "w");
  EXPECT_EQ(p.zero_point[0], 255);
  EXPECT_NE(p.rule.find("tflite asymmetric uint8 [0, 255]"), std::string::npos) << p.rule;
}

TEST(MinMax, WeightsAndInt16AreSymmetricOnTheNarrowRange) {
  // int8 weight [-0.5, 0.25], per channel with [-0.1, 0.3]: scale = max(|min|, |max|) / 127.
  auto p = params_from_range({-0.5f, -0.1f}, {0.25f, 0.3f}, QType::Int8, true, Target::TFLite, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 0.5f / 127.0f);
  EXPECT_FLOAT_EQ(p.scale[1], 0.3f / 127.0f);
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{0, 0}));
  EXPECT_NE(p.rule.find("symmetric int8 [-127, 127]"), std::string::npos) << p.rule;
  // int16 activation [-3, 2]: 3 / 32767, zero point 0, for both targets.
  for (Target t : {Target::TFLite, Target::ONE}) {
    p = params_from_range({-3.0f}, {2.0f}, QType::Int16, false, t, "w");
    EXPECT_FLOAT_EQ(p.scale[0], 3.0f / 32767.0f);
    EXPECT_EQ(p.zero_point[0], 0);
  }
  // int4 weight: -7 .. 7.
  p = params_from_range({-0.7f}, {0.35f}, QType::Int4, true, Target::ONE, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 0.1f);
  // uint8 weights stay asymmetric (ONE's asym_wquant_per_channel).
  p = params_from_range({-1.0f}, {1.0f}, QType::UInt8, true, Target::ONE, "w");
  EXPECT_EQ(p.zero_point[0], 128);
}

TEST(MinMax, OneFloorsScalesTfliteRefusesAZeroRange) {
  // ONE's compute_asym_scale_zp keeps the scale at least 1e-5; TFLite would write 0.
  auto p = params_from_range({0.0f}, {0.0f}, QType::UInt8, false, Target::ONE, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 1e-5f);
  EXPECT_EQ(p.zero_point[0], 0);
  p = params_from_range({0.0f}, {0.0f}, QType::Int8, true, Target::ONE, "w");
  EXPECT_FLOAT_EQ(p.scale[0], 1e-8f);
  const std::string msg = error_of([] {
    params_from_range({0.0f}, {0.0f}, QType::UInt8, false, Target::TFLite, "file 'q': tensor 'a'");
  });
  EXPECT_NE(msg.find("file 'q': tensor 'a': \"min\" / \"max\": channel 0 has range [0"),
            std::string::npos)
      << msg;
  EXPECT_NE(error_of([] {
              params_from_range({-1.0f}, {1.0f}, QType::Int32, false, Target::ONE, "w");
            }).find("gives no int32 parameters"),
            std::string::npos);
}

// --- compact qparam.json -------------------------------------------------------------------

TEST_F(ParamSourceTest, InlineNumbersAndNpzMembersImplantLikeThePlainFile) {
  const auto plain = options(write_qparams(dir.path(), conv2d_qparams()), "plain.circle");
  implant(plain);
  // The same parameters inline, the values from an npz (deflated) made of the plain npy files.
  write_npz(dir.file("w.npz"), {{"ker", dir.file("4.npy")}, {"bias", dir.file("7.npy")}}, true);
  const auto specs = conv2d_qparams();
  ojson j;
  j["ifm"] = {{"dtype", "uint8"}, {"scale", specs[0].scale[0]}, {"zerop", 216}};
  j["ker"] = {
      {"dtype", "uint8"}, {"scale", {specs[1].scale[0]}}, {"zerop", {103}}, {"value", "w.npz:ker"}};
  j["bias"] = {
      {"dtype", "int32"}, {"scale", specs[2].scale[0]}, {"zerop", 0}, {"value", "w.npz:bias"}};
  j["ofm"] = {{"dtype", "uint8"}, {"scale", "8.npy"}, {"zerop", "9.npy"}};
  const auto compact = options(text_file("compact.json", j.dump()), "compact.circle");
  implant(compact);
  EXPECT_EQ(read_bytes(compact.output), read_bytes(plain.output));
}

TEST_F(ParamSourceTest, NpzErrorsNameTheArchiveAndTheMember) {
  write_npz(dir.file("w.npz"), {{"ker", model()}}, false);
  auto qp = [&](const std::string& value) {
    ojson j;
    j["ker"] = {{"dtype", "uint8"}, {"scale", 0.5}, {"zerop", 3}, {"value", value}};
    return text_file("q.json", j.dump());
  };
  std::string msg = error_of([&] { read_param_source(qp("w.npz:KER")); });
  EXPECT_NE(msg.find("tensor 'ker': \"value\": npz file '" + dir.file("w.npz") +
                     "': no member 'KER'; closest: 'ker'"),
            std::string::npos)
      << msg;
  msg = error_of([&] { read_param_source(qp("w.npz:ker")); });
  EXPECT_NE(msg.find("\"value\": npy file '" + dir.file("w.npz") + ":ker': not a .npy file"),
            std::string::npos)
      << msg;
  msg = error_of([&] { read_param_source(qp("missing.npz:ker")); });
  EXPECT_NE(msg.find("npz file '" + dir.file("missing.npz") + "': cannot open"), std::string::npos)
      << msg;
  write_text(dir.file("bad.npz"), "not a zip");
  msg = error_of([&] { read_param_source(qp("bad.npz:ker")); });
  EXPECT_NE(msg.find("not a readable zip archive"), std::string::npos) << msg;
}

TEST_F(ParamSourceTest, InlineValuesAreChecked) {
  auto one = [&](const ojson& e) {
    ojson j;
    j["ifm"] = e;
    return error_of([&] { read_param_source(text_file("q.json", j.dump())); });
  };
  std::string msg = one({{"dtype", "uint8"}, {"scale", -0.5}, {"zerop", 3}});
  EXPECT_NE(msg.find("tensor 'ifm': \"scale\": the inline value: scale[0] is -0.5, expected a "
                     "finite value > 0"),
            std::string::npos)
      << msg;
  msg = one({{"dtype", "uint8"}, {"scale", 0.5}, {"zerop", 300}});
  EXPECT_NE(msg.find("zerop[0] is 300, outside the range of uint8 [0, 255]"), std::string::npos)
      << msg;
  msg = one({{"dtype", "uint8"}, {"scale", {0.5, "x"}}, {"zerop", 3}});
  EXPECT_NE(msg.find("\"scale\": expected an array of numbers, found an element that is a string"),
            std::string::npos)
      << msg;
  msg =
      one({{"dtype", "uint8"}, {"scale", {0.5, 0.25}}, {"zerop", {1}}, {"quantized_dimension", 0}});
  EXPECT_NE(msg.find("\"zerop\": the inline value has 1 zero points, expected 2"),
            std::string::npos)
      << msg;
  msg = one({{"dtype", "uint8"}, {"min", 2.0}, {"max", 1.0}});
  EXPECT_NE(msg.find("tensor 'ifm': \"min\": min[0] is 2, above max[0] = 1 (expected min <= max)"),
            std::string::npos)
      << msg;
  msg = one({{"dtype", "uint8"}, {"min", -1.0}, {"max", 1.0}, {"scale", 0.5}});
  EXPECT_NE(msg.find("give either \"scale\" and \"zerop\" or \"min\" and \"max\", not both"),
            std::string::npos)
      << msg;
  msg = one({{"dtype", "uint8"}, {"min", -1.0}});
  EXPECT_NE(msg.find("\"max\": missing"), std::string::npos) << msg;
  msg = one({{"dtype", "uint8"}, {"min", {-1.0, -2.0}}, {"max", {1.0, 2.0}}});
  EXPECT_NE(msg.find("\"quantized_dimension\": missing"), std::string::npos) << msg;
  npy::save(dir.file("nan.npy"), std::vector<float>{NAN}, {1});
  msg = one({{"dtype", "uint8"}, {"min", "nan.npy"}, {"max", 1.0}});
  EXPECT_NE(msg.find("\"min\": min[0] is nan, expected a finite value"), std::string::npos) << msg;
  // Python's json.dump writes NaN, which is no JSON.
  msg = error_of([&] {
    read_param_source(
        text_file("n.json", R"({"ifm": {"dtype": "uint8", "scale": NaN, "zerop": 1}})"));
  });
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
  EXPECT_NE(msg.find("contains NaN"), std::string::npos) << msg;
}

TEST_F(ParamSourceTest, MinMaxResolvesPerTensorKindAndTarget) {
  // ifm [-2, 5] uint8 (activation): scale 7/255, zero point round(2 / (7/255)) = round(72.86) =
  // 73. ker [-0.5, 1] as int8 (a constant): symmetric, 1/127. ofm as given.
  ojson j;
  j["ifm"] = {{"dtype", "uint8"}, {"min", -2.0}, {"max", 5.0}};
  j["ker"] = {{"dtype", "int8"}, {"min", -0.5}, {"max", 1.0}};
  j["ofm"] = {{"dtype", "uint8"}, {"scale", 0.5}, {"zerop", 7}};
  auto o = options(text_file("mm.json", j.dump()));
  // uint8 input with int8 weights: ONE's uint8 kernels read uint8 weights, so the plan
  // re-expresses ker exactly as uint8 with zero point 128 (src/plan/reexpress.h).
  o.check_rules = false;
  implant(o);
  const Written ifm = written(o.output, "ifm");
  EXPECT_FLOAT_EQ(ifm.quant.scale[0], 7.0f / 255.0f);
  EXPECT_EQ(ifm.quant.zero_point[0], 73);
  const Written ker = written(o.output, "ker");
  EXPECT_FLOAT_EQ(ker.quant.scale[0], 1.0f / 127.0f);
  EXPECT_EQ(ker.quant.zero_point[0], 128);
  // ker float values 0.311261, 0.920864 → round(x * 127) = 40 (39.53), 117 (116.95), + 128.
  EXPECT_EQ(ker.data, (std::vector<uint8_t>{168, 245}));
  // Under --rules tflite a zero range is refused, naming the tensor.
  j["ifm"] = {{"dtype", "uint8"}, {"min", 0.0}, {"max", 0.0}};
  o = options(text_file("mm0.json", j.dump()));
  o.target = Target::TFLite;
  const std::string msg = error_of([&] { implant(o); });
  EXPECT_NE(msg.find("qparam file '" + dir.file("mm0.json") + "': tensor 'ifm': \"min\" / \"max\""),
            std::string::npos)
      << msg;
}

// --- AIMET encodings -----------------------------------------------------------------------

// The README example as AIMET would write it: ifm uint8 scale 0.27102426 zero point 216
// (offset -216), ofm 0.83054835 / 7, ker a parameter (no integers: quantized here).
ojson readme_v061() {
  auto enc = [](double scale, int offset, bool sym = false) {
    return ojson::array({{{"bitwidth", 8},
                          {"dtype", "int"},
                          {"is_symmetric", sym ? "True" : "False"},
                          {"max", 1.0},
                          {"min", -1.0},
                          {"offset", offset},
                          {"scale", scale}}});
  };
  ojson j;
  j["version"] = "0.6.1";
  j["activation_encodings"] = {{"ifm", enc(0.27102426, -216)}, {"ofm", enc(0.83054835, -7)}};
  j["param_encodings"] = {{"ker", enc(0.44855267, -103)}};
  j["quantizer_args"] = ojson::object();
  return j;
}

ojson readme_v100() {
  auto enc = [](const std::string& name, double scale, int offset) {
    return ojson{{"name", name},    {"dtype", "INT"},   {"enc_type", "PER_TENSOR"}, {"bw", 8},
                 {"is_sym", false}, {"scale", {scale}}, {"offset", {offset}}};
  };
  ojson j;
  j["version"] = "1.0.0";
  j["activation_encodings"] = {enc("ifm", 0.27102426, -216), enc("ofm", 0.83054835, -7)};
  j["param_encodings"] = {enc("ker", 0.44855267, -103)};
  return j;
}

ojson readme_v200() {
  ojson j;
  j["version"] = "2.0.0";
  j["encodings"] = {
      {{"name", "ifm"}, {"output_dtype", "uint8"}, {"y_scale", 0.27102426}, {"y_zero_point", 216}},
      {{"name", "ker"}, {"output_dtype", "uint8"}, {"y_scale", 0.44855267}, {"y_zero_point", 103}},
      {{"name", "ofm"}, {"output_dtype", "uint8"}, {"y_scale", 0.83054835}, {"y_zero_point", 7}}};
  return j;
}

TEST_F(ParamSourceTest, AimetLayoutsImplantTheReadmeExample) {
  // Reference: the plain file with the same numbers, ker without "value", bias derived.
  auto specs = conv2d_qparams_derived_bias();
  specs[1].value_descr.clear();
  const auto plain = options(write_qparams(dir.path(), specs), "plain.circle");
  implant(plain);
  // ker = round(x / 0.44855267) + 103: 0.311261 → 0.69 → 104; 0.920864 → 2.05 → 105.
  EXPECT_EQ(written(plain.output, "ker").data, (std::vector<uint8_t>{104, 105}));
  int n = 0;
  for (const ojson& j : {readme_v061(), readme_v100(), readme_v200()}) {
    const std::string name = "enc" + std::to_string(n++);
    const auto o = options(text_file(name + ".json", j.dump(2)), name + ".circle");
    EXPECT_EQ(detect_param_format(o.qparam), ParamFormat::Aimet);
    implant(o);
    EXPECT_EQ(read_bytes(o.output), read_bytes(plain.output)) << j.dump();
  }
}

TEST_F(ParamSourceTest, AimetOffsetRules) {
  auto v061 = [&](int bw, bool sym, std::vector<int> offsets) {
    ojson list = ojson::array();
    for (int o : offsets)
      list.push_back({{"bitwidth", bw},
                      {"dtype", "int"},
                      {"is_symmetric", sym ? "True" : "False"},
                      {"offset", o},
                      {"scale", 0.125}});
    ojson j;
    j["version"] = "0.6.1";
    j["param_encodings"] = {{"w", list}};
    return read_param_source(text_file("e.json", j.dump()));
  };
  // Symmetric int8 weight: offset -128 on the unsigned grid → int8, zero point 0, per channel.
  QParamFile f = v061(8, true, {-128, -128, -128});
  EXPECT_EQ(f.entries[0].dtype, QType::Int8);
  EXPECT_EQ(f.entries[0].zero_point, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_TRUE(f.entries[0].quantized_dimension_auto);
  // Asymmetric 8 bits: uint8 with zero point = -offset.
  f = v061(8, false, {-114});
  EXPECT_EQ(f.entries[0].dtype, QType::UInt8);
  EXPECT_EQ(f.entries[0].zero_point[0], 114);
  // "Unsigned symmetric" (offset 0): uint8, zero point 0.
  f = v061(8, true, {0});
  EXPECT_EQ(f.entries[0].dtype, QType::UInt8);
  EXPECT_EQ(f.entries[0].zero_point[0], 0);
  // 16 bits: int16 with the zero point moved by 32768: -32768 → 0, -35799 → 3031.
  f = v061(16, true, {-32768});
  EXPECT_EQ(f.entries[0].dtype, QType::Int16);
  EXPECT_EQ(f.entries[0].zero_point[0], 0);
  f = v061(16, false, {-35799});
  EXPECT_EQ(f.entries[0].zero_point[0], 3031);
  // 4 bits symmetric: offset -8 → int4 zero point 0; 32 bits: int32.
  f = v061(4, true, {-8});
  EXPECT_EQ(f.entries[0].dtype, QType::Int4);
  EXPECT_EQ(f.entries[0].zero_point[0], 0);
  f = v061(32, true, {-2147483648LL});
  EXPECT_EQ(f.entries[0].dtype, QType::Int32);
  EXPECT_EQ(f.entries[0].zero_point[0], 0);
  EXPECT_FLOAT_EQ(f.entries[0].scale[0], 0.125f);

  // 1.0.0 per channel, symmetric.
  ojson j;
  j["version"] = "1.0.0";
  j["param_encodings"] = {{{"name", "w"},
                           {"dtype", "INT"},
                           {"enc_type", "PER_CHANNEL"},
                           {"bw", 8},
                           {"is_sym", true},
                           {"scale", {0.5, 0.25}},
                           {"offset", {-128, -128}}}};
  f = read_param_source(text_file("e1.json", j.dump()));
  EXPECT_EQ(f.entries[0].dtype, QType::Int8);
  EXPECT_EQ(f.entries[0].scale, (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(f.entries[0].zero_point, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(f.format, "AIMET encodings 1.0.0");

  // 2.0.0: ONNX terms; absent zero point = 0; uint16 moves onto int16.
  ojson k;
  k["version"] = "2.0.0";
  k["encodings"] = {
      {{"name", "a"}, {"output_dtype", "int8"}, {"y_scale", 0.5}, {"y_zero_point", -3}},
      {{"name", "b"}, {"output_dtype", "int8"}, {"y_scale", {0.5, 0.25}}, {"axis", 0}},
      {{"name", "c"}, {"output_dtype", "uint16"}, {"y_scale", 0.5}, {"y_zero_point", 40000}}};
  f = read_param_source(text_file("e2.json", k.dump()));
  EXPECT_EQ(entry(f, "a").zero_point[0], -3);
  EXPECT_EQ(entry(f, "b").zero_point, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(entry(f, "c").dtype, QType::Int16);
  EXPECT_EQ(entry(f, "c").zero_point[0], 40000 - 32768);
}

TEST_F(ParamSourceTest, AimetPerChannelConvFindsTheChannelDimension) {
  // CONV_2D weight [3, 1, 1, 2] (OHWI, channel 0) and DEPTHWISE_CONV_2D weight [1, 1, 1, 2]
  // (channel 3): AIMET names channels in PyTorch's layout, the planner finds them here.
  ModelBuilder b(Format::Circle);
  const int32_t in = b.tensor("in", {1, 2, 2, 2});
  const int32_t w =
      b.constant("conv.weight", {3, 1, 1, 2}, {0.05f, -0.2f, 0.3f, -0.4f, 0.5f, 0.6f});
  const int32_t mid = b.tensor("mid", {1, 2, 2, 3});
  b.op(circle::BuiltinOperator_CONV_2D, {in, w, -1}, {mid});
  b.inputs({in});
  b.outputs({mid});
  b.save(dir.file("pc.circle"));
  ojson j;
  j["version"] = "1.0.0";
  j["activation_encodings"] = {{{"name", "in"},
                                {"dtype", "INT"},
                                {"enc_type", "PER_TENSOR"},
                                {"bw", 8},
                                {"is_sym", true},
                                {"scale", {0.01}},
                                {"offset", {-128}}},
                               {{"name", "mid"},
                                {"dtype", "INT"},
                                {"enc_type", "PER_TENSOR"},
                                {"bw", 8},
                                {"is_sym", true},
                                {"scale", {0.02}},
                                {"offset", {-128}}}};
  j["param_encodings"] = {{{"name", "conv.weight"},
                           {"dtype", "INT"},
                           {"enc_type", "PER_CHANNEL"},
                           {"bw", 8},
                           {"is_sym", true},
                           {"scale", {0.2 / 127, 0.4 / 127, 0.6 / 127}},
                           {"offset", {-128, -128, -128}}}};
  ImplantOptions o;
  o.input = dir.file("pc.circle");
  o.qparam = text_file("pc.json", j.dump());
  o.output = dir.file("pc_out.circle");
  implant(o);
  const Written wt = written(o.output, "conv.weight");
  EXPECT_EQ(wt.quant.quantized_dimension, 0);
  ASSERT_EQ(wt.quant.scale.size(), 3u);
  // Each channel's largest magnitude maps to ±127: 0.05 / (0.2/127) = 31.75 → 32,
  // 0.3 / (0.4/127) = 95.25 → 95, 0.5 / (0.6/127) = 105.8 → 106.
  EXPECT_EQ(wt.data, (std::vector<uint8_t>{32, 129, 95, 129, 106, 127}));
  // Four scales for three channels: the planner names the mismatch.
  j["param_encodings"][0]["scale"] = {0.1, 0.2, 0.3, 0.4};
  j["param_encodings"][0]["offset"] = {-128, -128, -128, -128};
  o.qparam = text_file("pc4.json", j.dump());
  const std::string msg = error_of([&] { implant(o); });
  EXPECT_NE(msg.find("tensor 'conv.weight': \"scale\": has 4 per-channel values, but neither the "
                     "first nor the last dimension of the tensor (shape [3, 1, 1, 2])"),
            std::string::npos)
      << msg;
}

TEST_F(ParamSourceTest, AimetRefusedEncodings) {
  auto err = [&](const ojson& j) {
    return error_of([&] { read_param_source(text_file("bad.json", j.dump())); });
  };
  auto one = [](ojson e) {
    ojson j;
    j["version"] = "1.0.0";
    ojson base{{"name", "w"},   {"dtype", "INT"},  {"enc_type", "PER_TENSOR"},
               {"bw", 8},       {"is_sym", false}, {"scale", {0.5}},
               {"offset", {-3}}};
    for (auto it = e.begin(); it != e.end(); ++it) base[it.key()] = it.value();
    j["param_encodings"] = {base};
    return j;
  };
  const std::string f = "encodings file '" + dir.file("bad.json") + "': ";
  std::string msg = err(one({{"enc_type", "PER_BLOCK"}, {"block_size", 32}}));
  EXPECT_NE(msg.find(f + "param_encodings 'w': \"enc_type\": is \"PER_BLOCK\", which q-implant "
                         "cannot represent"),
            std::string::npos)
      << msg;
  msg = err(one({{"enc_type", "LPBQ"}}));
  EXPECT_NE(msg.find("\"enc_type\": is \"LPBQ\""), std::string::npos) << msg;
  msg = err(one({{"dtype", "FLOAT"}}));
  EXPECT_NE(msg.find("param_encodings 'w': \"dtype\": is \"FLOAT\""), std::string::npos) << msg;
  msg = err(one({{"bw", 12}}));
  EXPECT_NE(msg.find("\"bitwidth\": is 12, which has no tensor type (expected 4, 8, 16 or 32)"),
            std::string::npos)
      << msg;
  msg = err(one({{"offset", {-300}}}));
  EXPECT_NE(msg.find("\"offset\": [0] is -300, outside the 8-bit grid"), std::string::npos) << msg;
  msg = err(one({{"scale", {0.5, 0.25}}, {"offset", {-3, -3}}}));
  EXPECT_NE(msg.find("\"scale\": has 2 values, expected 1 for enc_type PER_TENSOR"),
            std::string::npos)
      << msg;
  msg = err(one({{"scale", {0.0}}}));
  EXPECT_NE(msg.find("param_encodings 'w': \"scale\": scale[0] is 0, expected a finite value > 0"),
            std::string::npos)
      << msg;

  ojson v = readme_v061();
  v["version"] = "3.1";
  msg = err(v);
  EXPECT_NE(msg.find(f + "version: is \"3.1\", an unknown encodings version"), std::string::npos)
      << msg;
  v = readme_v061();
  v["version"] = "1.0.0";  // dict sections under a list version
  msg = err(v);
  EXPECT_NE(msg.find("expected a list of encodings (version 1.0.0), found an object"),
            std::string::npos)
      << msg;
  v = readme_v061();
  v["activation_encodings"]["ker"] = v["activation_encodings"]["ifm"];
  msg = err(v);
  EXPECT_NE(msg.find("activation_encodings 'ker': the name is also in param_encodings 'ker' with "
                     "other values"),
            std::string::npos)
      << msg;
  v = readme_v061();
  v["param_encodings"]["ker"].push_back(v["param_encodings"]["ker"][0]);
  v["param_encodings"]["ker"][1]["bitwidth"] = 16;
  msg = err(v);
  EXPECT_NE(msg.find("param_encodings 'ker'[1]: \"bitwidth\": differs from the first channel's"),
            std::string::npos)
      << msg;
  v = readme_v061();
  v["param_encodings"]["ker"][0]["dtype"] = "float";
  msg = err(v);
  EXPECT_NE(msg.find("param_encodings 'ker'[0]: \"dtype\": is \"float\""), std::string::npos)
      << msg;
  ojson w = readme_v200();
  w["encodings"][0]["block_size"] = 16;
  msg = err(w);
  EXPECT_NE(msg.find("encodings 'ifm': \"block_size\": block-wise encodings"), std::string::npos)
      << msg;
  w = readme_v200();
  w["encodings"][0]["output_dtype"] = "float16";
  msg = err(w);
  EXPECT_NE(msg.find("\"output_dtype\": is 'float16'"), std::string::npos) << msg;
  w = readme_v200();
  w["encodings"][0]["y_scale"] = {0.5, 0.25};
  msg = err(w);
  EXPECT_NE(msg.find("encodings 'ifm': \"axis\": missing"), std::string::npos) << msg;
}

// --- ONNX QDQ ------------------------------------------------------------------------------

void add_initializer(onnx::GraphProto* g, const std::string& name, int type,
                     std::vector<int64_t> dims, const std::vector<double>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  for (double v : values) {
    if (type == onnx::TensorProto::FLOAT) {
      t->add_float_data(static_cast<float>(v));
    } else if (type == onnx::TensorProto::INT64) {
      t->add_int64_data(static_cast<int64_t>(v));
    } else {
      t->add_int32_data(static_cast<int32_t>(v));
    }
  }
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

void set_int_attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

// The README conv as a QDQ graph: x → Q/DQ → Conv(w: float, Q/DQ per-axis; b: int32 DQ) →
// Relu → Q/DQ → out. Names follow the circle model (ifm, ker, bias, ofm) as converters keep them.
onnx::ModelProto readme_qdq(int opset) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  g->add_input()->set_name("ifm");
  g->add_output()->set_name("out_dq");
  add_initializer(g, "ifm_s", onnx::TensorProto::FLOAT, {}, {0.27102426});
  add_initializer(g, "ifm_z", onnx::TensorProto::UINT8, {}, {216});
  add_initializer(g, "ker", onnx::TensorProto::FLOAT, {1, 2, 1, 1}, {0.311261, 0.920864});
  add_initializer(g, "ker_s", onnx::TensorProto::FLOAT, {1}, {0.00725090});
  add_initializer(g, "ker_z", onnx::TensorProto::INT8, {1}, {0});
  add_initializer(g, "bias", onnx::TensorProto::INT32, {1}, {256});
  add_initializer(g, "bias_s", onnx::TensorProto::FLOAT, {}, {0.27102426 * 0.00725090});
  add_initializer(g, "ofm_s", onnx::TensorProto::FLOAT, {}, {0.83054835});
  add_initializer(g, "ofm_z", onnx::TensorProto::UINT8, {}, {7});
  add_node(g, "QuantizeLinear", {"ifm", "ifm_s", "ifm_z"}, {"ifm_q"});
  add_node(g, "DequantizeLinear", {"ifm_q", "ifm_s", "ifm_z"}, {"ifm_dq"});
  set_int_attr(add_node(g, "QuantizeLinear", {"ker", "ker_s", "ker_z"}, {"ker_q"}), "axis", 0);
  set_int_attr(add_node(g, "DequantizeLinear", {"ker_q", "ker_s", "ker_z"}, {"ker_dq"}), "axis", 0);
  add_node(g, "DequantizeLinear", {"bias", "bias_s"}, {"bias_dq"});
  add_node(g, "Conv", {"ifm_dq", "ker_dq", "bias_dq"}, {"conv_out"});
  add_node(g, "Relu", {"conv_out"}, {"ofm"});
  add_node(g, "QuantizeLinear", {"ofm", "ofm_s", "ofm_z"}, {"ofm_q"});
  add_node(g, "DequantizeLinear", {"ofm_q", "ofm_s", "ofm_z"}, {"out_dq"});
  return m;
}

void save_onnx(const onnx::ModelProto& m, const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  ASSERT_TRUE(m.SerializeToOstream(&f));
}

TEST_F(ParamSourceTest, OnnxQdqEntriesAndStructure) {
  save_onnx(readme_qdq(13), dir.file("m.onnx"));
  EXPECT_EQ(detect_param_format(dir.file("m.onnx")), ParamFormat::Onnx);
  const OnnxQdq q = read_onnx_qdq(dir.file("m.onnx"));
  EXPECT_EQ(q.qparams.format, "ONNX QDQ (opset 13)");
  const QParamEntry& ifm = entry(q.qparams, "ifm");
  EXPECT_EQ(ifm.dtype, QType::UInt8);
  EXPECT_EQ(ifm.zero_point[0], 216);
  const QParamEntry& ker = entry(q.qparams, "ker");
  EXPECT_EQ(ker.dtype, QType::Int8);  // the zero point's type
  EXPECT_FALSE(ker.value);            // a float weight: quantized by q-implant
  const QParamEntry& bias = entry(q.qparams, "bias");
  EXPECT_EQ(bias.dtype, QType::Int32);  // no zero point: x's type, zero point 0
  ASSERT_TRUE(bias.value);
  EXPECT_EQ(bias.value->shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(npy::to_int64(*bias.value), (std::vector<int64_t>{256}));
  EXPECT_EQ(entry(q.qparams, "ofm").zero_point[0], 7);
  // Structure: one conv2d with the QDQ pairs gone, Relu fused, output traced back to ofm.
  ASSERT_EQ(q.graph.nodes.size(), 1u);
  const SourceNode& n = q.graph.nodes[0];
  EXPECT_EQ(n.op, "conv2d");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"ifm"}));
  EXPECT_EQ(n.weight, "ker");
  EXPECT_EQ(n.bias, "bias");
  EXPECT_EQ(n.weight_shape, (std::vector<int64_t>{1, 1, 1, 2}));  // OIHW [1, 2, 1, 1] as OHWI
  EXPECT_EQ(n.activation, "relu");
  EXPECT_EQ(n.output, "ofm");
  EXPECT_EQ(q.graph.inputs, (std::vector<std::string>{"ifm"}));
  EXPECT_EQ(q.graph.outputs, (std::vector<std::string>{"ofm"}));

  // Implanted into the circle model: ker = round(x / 0.0072509) = 43 (42.93), 127 (127.0); with
  // uint8 activations (as the QDQ model has them) re-expressed as uint8, + 128.
  auto o = options(dir.file("m.onnx"), "onnx.circle");
  o.check_rules = false;
  implant(o);
  EXPECT_EQ(written(o.output, "ker").data, (std::vector<uint8_t>{171, 255}));
  EXPECT_EQ(written(o.output, "bias").data, (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(written(o.output, "ifm").quant.zero_point[0], 216);
}

TEST_F(ParamSourceTest, OnnxPerAxisNegativeAxisAndConverted) {
  onnx::ModelProto m = readme_qdq(21);
  auto* g = m.mutable_graph();
  // ker per-axis with 2 channels along axis -3 (= 1 of OIHW [1, 2, 1, 1]).
  g->mutable_initializer(3)->clear_dims();
  g->mutable_initializer(3)->add_dims(2);
  g->mutable_initializer(3)->add_float_data(0.5);
  g->mutable_initializer(4)->clear_dims();
  g->mutable_initializer(4)->add_dims(2);
  g->mutable_initializer(4)->add_int32_data(0);
  g->mutable_node(2)->mutable_attribute(0)->set_i(-3);
  save_onnx(m, dir.file("pa.onnx"));
  const QParamFile f = read_param_source(dir.file("pa.onnx"));
  EXPECT_EQ(entry(f, "ker").scale.size(), 2u);
  EXPECT_TRUE(entry(f, "ker").quantized_dimension_auto);
  // convert-params then implant = implant directly, byte for byte.
  ConvertParamsOptions c;
  c.input = dir.file("m.onnx");
  save_onnx(readme_qdq(13), c.input);
  c.outdir = dir.file("conv");
  const ConvertParamsResult r = convert_params(c);
  EXPECT_EQ(r.entries, 4u);
  auto direct = options(c.input, "direct.circle");
  direct.check_rules = false;
  implant(direct);
  auto via = options(r.qparam_path, "via.circle");
  via.check_rules = false;
  implant(via);
  EXPECT_EQ(read_bytes(via.output), read_bytes(direct.output));
}

TEST_F(ParamSourceTest, ConvertParamsRoundTripsEveryFormat) {
  std::vector<std::string> sources;
  sources.push_back(text_file("a0.json", readme_v061().dump()));
  sources.push_back(text_file("a1.json", readme_v100().dump()));
  sources.push_back(text_file("a2.json", readme_v200().dump()));
  ojson j;
  j["ifm"] = {{"dtype", "uint8"}, {"min", -2.0}, {"max", 5.0}};
  j["ker"] = {{"dtype", "uint8"}, {"scale", 0.44855267}, {"zerop", 103}};
  j["ofm"] = {{"dtype", "uint8"}, {"scale", {0.83054835}}, {"zerop", {7}}};
  sources.push_back(text_file("c.json", j.dump()));
  int n = 0;
  for (const std::string& s : sources) {
    const std::string tag = std::to_string(n++);
    ConvertParamsOptions c;
    c.input = s;
    c.outdir = dir.file("out" + tag);
    c.model = model();
    const ConvertParamsResult r = convert_params(c);
    EXPECT_EQ(detect_param_format(r.qparam_path), ParamFormat::QParam);
    const auto direct = options(s, "d" + tag + ".circle");
    implant(direct);
    const auto via = options(r.qparam_path, "v" + tag + ".circle");
    implant(via);
    EXPECT_EQ(read_bytes(via.output), read_bytes(direct.output)) << s;
  }
}

TEST_F(ParamSourceTest, ExtractCompactRoundTrips) {
  const auto plain = options(write_qparams(dir.path(), conv2d_qparams()), "plain.circle");
  implant(plain);
  ExtractOptions x;
  x.input = plain.output;
  x.outdir = dir.file("compact");
  x.compact = true;
  const ExtractResult r = extract(x);
  auto files = list_dir(x.outdir);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"qparam.json", "values.npz"}));
  const std::vector<uint8_t> text = read_bytes(r.qparam_path);
  const ojson j = ojson::parse(text.begin(), text.end());
  EXPECT_TRUE(j["ifm"]["scale"].is_array());
  EXPECT_EQ(j["ker"]["value"].get<std::string>().rfind("values.npz:", 0), 0u);
  const auto back = options(r.qparam_path, "back.circle");
  implant(back);
  EXPECT_EQ(read_bytes(back.output), read_bytes(plain.output));
}

TEST_F(ParamSourceTest, OnnxRefusedModels) {
  const std::string path = dir.file("bad.onnx");
  auto err = [&](const onnx::ModelProto& m) {
    save_onnx(m, path);
    return error_of([&] { read_param_source(path, ParamFormat::Onnx); });
  };
  const std::string f = "ONNX file '" + path + "': ";
  write_text(path, "\x08\x07garbage that is no protobuf \xff\xff\xff");
  std::string msg = error_of([&] { read_param_source(path, ParamFormat::Onnx); });
  EXPECT_NE(msg.find(f + "does not parse as an ONNX ModelProto"), std::string::npos) << msg;
  msg = err(readme_qdq(9));
  EXPECT_NE(msg.find(f + "opset_import: default-domain opset is 9, expected 10 through 21"),
            std::string::npos)
      << msg;
  onnx::ModelProto m = readme_qdq(13);
  m.mutable_graph()->mutable_node(0)->set_input(1, "conv_out");  // a computed scale
  msg = err(m);
  EXPECT_NE(msg.find(f + "QuantizeLinear node 0 'QuantizeLinear_ifm_q': input 1 (scale) "
                         "'conv_out' is not a constant"),
            std::string::npos)
      << msg;
  m = readme_qdq(13);
  m.mutable_graph()->mutable_node(1)->clear_output();  // a DequantizeLinear without y
  msg = err(m);
  EXPECT_NE(msg.find(f + "DequantizeLinear node 1 'DequantizeLinear_ifm_dq': has 0 output(s), "
                         "expected exactly one (y)"),
            std::string::npos)
      << msg;
  m = readme_qdq(21);
  set_int_attr(m.mutable_graph()->mutable_node(2), "block_size", 32);
  msg = err(m);
  EXPECT_NE(msg.find("QuantizeLinear node 2 'QuantizeLinear_ker_q': block_size is 32"),
            std::string::npos)
      << msg;
  m = readme_qdq(13);
  // ofm quantized a second time with another scale.
  add_initializer(m.mutable_graph(), "ofm_s2", onnx::TensorProto::FLOAT, {}, {0.5});
  add_node(m.mutable_graph(), "QuantizeLinear", {"ofm", "ofm_s2", "ofm_z"}, {"ofm_q2"});
  msg = err(m);
  EXPECT_NE(msg.find("tensor 'ofm' is quantized twice with different parameters"),
            std::string::npos)
      << msg;
  m = readme_qdq(13);
  m.mutable_graph()->mutable_initializer(0)->set_float_data(0, -1.0f);
  msg = err(m);
  EXPECT_NE(msg.find("tensor 'ifm': \"scale\": scale[0] is -1, expected a finite value > 0"),
            std::string::npos)
      << msg;
  // Auto-detection of something that is neither.
  write_text(path, "\x93NUMPY");
  msg = error_of([&] { read_param_source(path); });
  EXPECT_NE(msg.find("neither JSON (qparam.json, AIMET encodings) nor an ONNX model"),
            std::string::npos)
      << msg;
}

TEST_F(ParamSourceTest, ParamFormatOnTheCommandLine) {
  save_onnx(readme_qdq(13), dir.file("m.onnx"));
  std::string out;
  const std::string cli = QIMPLANT_CLI;
  int rc = run_command(cli + " " + model() + " " + dir.file("m.onnx") + " " + dir.file("c.circle") +
                           " --param-format onnx -q --no-check",
                       &out);
  EXPECT_EQ(rc, 0) << out;
  rc = run_command(cli + " " + model() + " " + dir.file("m.onnx") + " " + dir.file("d.circle") +
                       " --param-format aimet",
                   &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("malformed JSON"), std::string::npos) << out;
  rc = run_command(cli + " names " + model() + " " + dir.file("m.onnx"), &out);
  EXPECT_EQ(rc, 0) << out;
  rc = run_command(cli + " convert-params " + dir.file("m.onnx") + " " + dir.file("cp"), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("from ONNX QDQ (opset 13): 4 tensor(s)"), std::string::npos) << out;
  // eval --implant takes --param-format too (all-uint8 encodings: the interpreter runs them).
  write_text(dir.file("enc.json"), readme_v200().dump());
  rc = run_command(cli + " eval " + model() + " --implant " + dir.file("enc.json") +
                       " --param-format aimet --samples 2",
                   &out);
  EXPECT_EQ(rc, 0) << out;
}

// --- ONNX weights in ONNX's layout, and the QDQ graph as the structure source ---------------

namespace onnx_layout {

// x -> Q/DQ -> Conv(weight: int8 DequantizeLinear per axis 0; bias: int32 DequantizeLinear)
// -> Q/DQ -> y. `w` holds value(o, i, h, w) = the flat OIHW index - 40, distinct everywhere.
onnx::ModelProto conv(const std::vector<int64_t>& wdims, int64_t group, const std::string& x,
                      const std::string& w, const std::string& b, const std::string& y) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->add_input()->set_name(x);
  g->add_output()->set_name("y_dq");
  const int64_t o = wdims[0];
  int64_t count = 1;
  for (int64_t d : wdims) count *= d;
  std::vector<double> values, scales, zeros, biases;
  for (int64_t k = 0; k < count; ++k) values.push_back(static_cast<double>(k % 80) - 40);
  for (int64_t c = 0; c < o; ++c) {
    scales.push_back(0.01 * static_cast<double>(c + 1));
    zeros.push_back(0);
    biases.push_back(static_cast<double>(c));
  }
  std::vector<double> bias_scales;
  for (double s : scales) bias_scales.push_back(s * 0.5);
  add_initializer(g, "x_s", onnx::TensorProto::FLOAT, {}, {0.5});
  add_initializer(g, "x_z", onnx::TensorProto::INT8, {}, {0});
  add_initializer(g, w, onnx::TensorProto::INT8, wdims, values);
  add_initializer(g, "w_s", onnx::TensorProto::FLOAT, {o}, scales);
  add_initializer(g, "w_z", onnx::TensorProto::INT8, {o}, zeros);
  add_initializer(g, b, onnx::TensorProto::INT32, {o}, biases);
  add_initializer(g, "b_s", onnx::TensorProto::FLOAT, {o}, bias_scales);
  add_initializer(g, "y_s", onnx::TensorProto::FLOAT, {}, {0.25});
  add_initializer(g, "y_z", onnx::TensorProto::INT8, {}, {-3});
  add_node(g, "QuantizeLinear", {x, "x_s", "x_z"}, {"x_q"});
  add_node(g, "DequantizeLinear", {"x_q", "x_s", "x_z"}, {"x_dq"});
  set_int_attr(add_node(g, "DequantizeLinear", {w, "w_s", "w_z"}, {"w_dq"}), "axis", 0);
  set_int_attr(add_node(g, "DequantizeLinear", {b, "b_s"}, {"b_dq"}), "axis", 0);
  auto* c = add_node(g, "Conv", {"x_dq", "w_dq", "b_dq"}, {y});
  if (group != 1) set_int_attr(c, "group", group);
  add_node(g, "QuantizeLinear", {y, "y_s", "y_z"}, {"y_q"});
  add_node(g, "DequantizeLinear", {"y_q", "y_s", "y_z"}, {"y_dq"});
  return m;
}

// A model with one CONV_2D (or DEPTHWISE_CONV_2D) under its own names.
std::string conv_model(const std::string& path, int32_t code, std::vector<int32_t> in,
                       std::vector<int32_t> wshape, std::vector<int32_t> out,
                       int32_t multiplier = 1) {
  ModelBuilder m(Format::Circle);
  const int32_t ifm = m.tensor("in", std::move(in));
  size_t n = 1;
  for (int32_t d : wshape) n *= static_cast<size_t>(d);
  const int32_t cout = code == circle::BuiltinOperator_DEPTHWISE_CONV_2D ? wshape[3] : wshape[0];
  const int32_t ker = m.constant("kernel", wshape, std::vector<float>(n, 0.1f));
  const int32_t bias =
      m.constant("bias_of_conv", {cout}, std::vector<float>(static_cast<size_t>(cout), 0.0f));
  const int32_t ofm = m.tensor("out", std::move(out));
  const int32_t op = m.op(code, {ifm, ker, bias}, {ofm});
  if (code == circle::BuiltinOperator_DEPTHWISE_CONV_2D) {
    exec::OpOptions o;
    o.depth_multiplier = multiplier;
    m.options(op, o);
  }
  m.inputs({ifm});
  m.outputs({ofm});
  m.save(path);
  return path;
}

int8_t at(const std::vector<uint8_t>& data, size_t i) {
  return static_cast<int8_t>(data[i]);
}

}  // namespace onnx_layout

TEST_F(ParamSourceTest, OnnxOihwWeightIsTransposedAndMatchedByStructure) {
  using namespace onnx_layout;
  // ONNX: weight [O=2, I=3, kH=2, kW=2]; the model: OHWI [2, 2, 2, 3], named otherwise.
  save_onnx(conv({2, 3, 2, 2}, 1, "x", "w", "b", "conv_y"), dir.file("c.onnx"));
  const std::string m = conv_model(dir.file("c.circle"), circle::BuiltinOperator_CONV_2D,
                                   {1, 3, 3, 3}, {2, 2, 2, 3}, {1, 2, 2, 2});
  ImplantOptions o;
  o.input = m;
  o.qparam = dir.file("c.onnx");
  o.output = dir.file("c_out.circle");
  o.check_rules = false;
  // By name, 'x', 'w', 'b', 'conv_y' are not the model's.
  std::string msg = error_of([&] { implant(o); });
  EXPECT_NE(msg.find("'conv_y' is not in the model"), std::string::npos) << msg;
  o.match_structure = true;  // the graph the ONNX file carries, no qparam.graph.json
  const ImplantResult r = implant(o);
  const Written k = written(o.output, "kernel");
  ASSERT_EQ(k.data.size(), 24u);
  // OHWI[o][h][w][i] = OIHW[o][i][h][w] = o*12 + i*4 + h*2 + w - 40.
  for (int oc = 0; oc < 2; ++oc)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w)
        for (int i = 0; i < 3; ++i)
          EXPECT_EQ(at(k.data, static_cast<size_t>(((oc * 2 + h) * 2 + w) * 3 + i)),
                    oc * 12 + i * 4 + h * 2 + w - 40)
              << oc << h << w << i;
  EXPECT_EQ(k.quant.quantized_dimension, 0);
  EXPECT_EQ(k.quant.scale.size(), 2u);
  EXPECT_EQ(written(o.output, "out").quant.zero_point[0], -3);
  EXPECT_EQ(written(o.output, "in").quant.scale[0], 0.5f);
  bool reported = false;
  for (const ChangeRecord& c : r.changes)
    if (c.tensor == "kernel")
      reported = c.relayout ==
                 "value moved from the producer's layout OIHW [2, 3, 2, 2] to OHWI [2, 2, 2, 3] "
                 "(the weight layout of #0 CONV_2D), per-axis axis 0 -> quantized_dimension 0";
  EXPECT_TRUE(reported);
  // names --match structure reads the same graph.
  std::string out;
  const int rc = run_command(
      std::string(QIMPLANT_CLI) + " names " + m + " " + dir.file("c.onnx") + " --match structure",
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("'conv_y' -> by structure -> 'out'"), std::string::npos) << out;
}

TEST_F(ParamSourceTest, OnnxDepthwiseWeightMovesItsAxis) {
  using namespace onnx_layout;
  // ONNX depthwise: group 3, multiplier 2, weight [6, 1, 2, 2]; the model's [1, 2, 2, 6].
  save_onnx(conv({6, 1, 2, 2}, 3, "x", "w", "b", "dw_y"), dir.file("d.onnx"));
  const std::string m = conv_model(dir.file("d.circle"), circle::BuiltinOperator_DEPTHWISE_CONV_2D,
                                   {1, 3, 3, 3}, {1, 2, 2, 6}, {1, 2, 2, 6}, 2);
  ImplantOptions o;
  o.input = m;
  o.qparam = dir.file("d.onnx");
  o.output = dir.file("d_out.circle");
  o.check_rules = false;
  o.match_structure = true;
  const ImplantResult r = implant(o);
  const Written k = written(o.output, "kernel");
  ASSERT_EQ(k.data.size(), 24u);
  // [0][h][w][c] = ONNX [c][0][h][w] = c*4 + h*2 + w - 40.
  for (int h = 0; h < 2; ++h)
    for (int w = 0; w < 2; ++w)
      for (int c = 0; c < 6; ++c)
        EXPECT_EQ(at(k.data, static_cast<size_t>((h * 2 + w) * 6 + c)), c * 4 + h * 2 + w - 40);
  EXPECT_EQ(k.quant.quantized_dimension, 3);
  ASSERT_EQ(k.quant.scale.size(), 6u);
  EXPECT_FLOAT_EQ(k.quant.scale[5], 0.06f);
  bool reported = false;
  for (const ChangeRecord& c : r.changes)
    if (c.tensor == "kernel")
      reported =
          c.relayout.find(
              "to IHWO [1, 2, 2, 6] (the weight layout of #0 "
              "DEPTHWISE_CONV_2D), per-axis axis 0 -> quantized_dimension 3") != std::string::npos;
  EXPECT_TRUE(reported);
}

TEST_F(ParamSourceTest, OnnxSquareWeightIsTransposedThoughTheShapesAgree) {
  using namespace onnx_layout;
  // [3, 3, 3, 3]: OIHW and OHWI have the same shape, not the same order. Names as the model's.
  save_onnx(conv({3, 3, 3, 3}, 1, "in", "kernel", "bias_of_conv", "out"), dir.file("s.onnx"));
  const std::string m = conv_model(dir.file("s.circle"), circle::BuiltinOperator_CONV_2D,
                                   {1, 3, 3, 3}, {3, 3, 3, 3}, {1, 1, 1, 3});
  ImplantOptions o;
  o.input = m;
  o.qparam = dir.file("s.onnx");
  o.output = dir.file("s_out.circle");
  o.check_rules = false;
  implant(o);
  const Written k = written(o.output, "kernel");
  // OHWI[0][0][1][2] = OIHW[0][2][0][1] = 2*9 + 1 - 40 = -21 (untransposed it would be 5 - 40).
  EXPECT_EQ(at(k.data, 5), -21);
}

TEST_F(ParamSourceTest, OnnxWeightLayoutErrors) {
  using namespace onnx_layout;
  // Impossible: the ONNX weight [2, 3, 2, 2] is OHWI [2, 2, 2, 3]; the model's has 4 inputs.
  save_onnx(conv({2, 3, 2, 2}, 1, "in", "kernel", "bias_of_conv", "out"), dir.file("e.onnx"));
  const std::string m = conv_model(dir.file("e.circle"), circle::BuiltinOperator_CONV_2D,
                                   {1, 3, 3, 4}, {2, 2, 2, 4}, {1, 2, 2, 2});
  ImplantOptions o;
  o.input = m;
  o.qparam = dir.file("e.onnx");
  o.output = dir.file("e_out.circle");
  o.check_rules = false;
  std::string msg = error_of([&] { implant(o); });
  EXPECT_NE(msg.find("tensor 'kernel': \"value\" '" + dir.file("e.onnx") +
                     ":kernel' has shape [2, 3, 2, 2] in the producer's layout OIHW, expected the "
                     "tensor's shape [2, 2, 2, 4]; as the weight of #0 CONV_2D (layout OHWI) it "
                     "would be [2, 2, 2, 3]"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(file_exists(o.output));

  // Ambiguous: one [3, 3, 3, 3] constant is the weight of a CONV_2D and a DEPTHWISE_CONV_2D,
  // whose layouts order it differently.
  save_onnx(conv({3, 3, 3, 3}, 1, "in", "kernel", "bias_of_conv", "out"), dir.file("a.onnx"));
  ModelBuilder b(Format::Circle);
  const int32_t in = b.tensor("in", {1, 3, 3, 3});
  const int32_t ker = b.constant("kernel", {3, 3, 3, 3}, std::vector<float>(81, 0.1f));
  const int32_t bias = b.constant("bias_of_conv", {3}, {0, 0, 0});
  const int32_t out = b.tensor("out", {1, 1, 1, 3});
  const int32_t dw_out = b.tensor("dw_out", {1, 1, 1, 3});
  b.op(circle::BuiltinOperator_CONV_2D, {in, ker, bias}, {out});
  b.op(circle::BuiltinOperator_DEPTHWISE_CONV_2D, {in, ker, bias}, {dw_out});
  b.inputs({in});
  b.outputs({out, dw_out});
  b.save(dir.file("a.circle"));
  o.input = dir.file("a.circle");
  o.qparam = dir.file("a.onnx");
  msg = error_of([&] { implant(o); });
  EXPECT_NE(msg.find("tensor 'kernel': \"value\" '" + dir.file("a.onnx") +
                     ":kernel' has shape [3, 3, 3, 3] in the producer's layout OIHW fits the "
                     "tensor's shape [3, 3, 3, 3] both as the weight of #1 DEPTHWISE_CONV_2D "
                     "(layout IHWO) and of #0 CONV_2D (layout OHWI), which order its elements "
                     "differently (ambiguous)"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(file_exists(o.output));
}

// --- ONNX's own QuantizeLinear / DynamicQuantizeLinear node test data ----------------------
// Debian's libonnx-testdata (scripts/install-deps.sh) carries onnx's backend node tests:
// test_quantizelinear[_axis] (x, y_scale, y_zero_point -> y: round half to even, saturate) and
// test_dynamicquantizelinear[_max_adjusted|_min_adjusted] (x -> y, y_scale, y_zero_point: the
// uint8 range of x widened to hold 0). q-implant quantizes each x as a float constant, from the
// given scale and zero point and from "min" / "max", and must give onnx's expected outputs.

const char* const kOnnxNodeData = "/usr/share/libonnx-testdata/data/node";

struct OnnxTensor {
  int32_t type = 0;
  std::vector<int64_t> dims;
  std::vector<double> values;
};

OnnxTensor read_pb(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  onnx::TensorProto t;
  EXPECT_TRUE(f && t.ParseFromIstream(&f)) << path;
  OnnxTensor out;
  out.type = t.data_type();
  out.dims.assign(t.dims().begin(), t.dims().end());
  size_t n = 1;
  for (int64_t d : out.dims) n *= static_cast<size_t>(d);
  const std::string& raw = t.raw_data();
  for (size_t i = 0; i < n; ++i) {
    if (out.type == onnx::TensorProto::FLOAT) {
      float v;
      if (t.has_raw_data())
        std::memcpy(&v, raw.data() + 4 * i, 4);
      else
        v = t.float_data(static_cast<int>(i));
      out.values.push_back(v);
    } else if (out.type == onnx::TensorProto::UINT8) {
      out.values.push_back(t.has_raw_data() ? static_cast<uint8_t>(raw[i])
                                            : t.int32_data(static_cast<int>(i)));
    } else {
      ADD_FAILURE() << path << ": element type " << out.type;
    }
  }
  return out;
}

class OnnxNodeDataTest : public ParamSourceTest {
 protected:
  void SetUp() override {
    if (!file_exists(std::string(kOnnxNodeData) + "/test_quantizelinear/model.onnx"))
      GTEST_SKIP() << kOnnxNodeData << " is missing (apt-get install libonnx-testdata)";
  }
  OnnxTensor input(const std::string& test, const std::string& file) {
    return read_pb(std::string(kOnnxNodeData) + "/" + test + "/test_data_set_0/" + file + ".pb");
  }
  // `x` as a float constant of a model (no operator reads it) implanted with `entry`; the
  // tensor as written.
  Written implant_constant(const OnnxTensor& x, const ojson& entry, Target target) {
    ModelBuilder b(Format::Circle);
    std::vector<int32_t> shape(x.dims.begin(), x.dims.end());
    std::vector<float> values(x.values.begin(), x.values.end());
    b.constant("x", shape, values);
    b.save(dir.file("x.circle"));
    ojson q;
    q["x"] = entry;
    write_text(dir.file("x.json"), q.dump());
    ImplantOptions o;
    o.input = dir.file("x.circle");
    o.qparam = dir.file("x.json");
    o.output = dir.file("x_out.circle");
    o.check_rules = false;
    o.target = target;
    o.derive.target = target;
    implant(o);
    return written(o.output, "x");
  }
  static std::vector<double> as_doubles(const std::vector<uint8_t>& bytes) {
    return std::vector<double>(bytes.begin(), bytes.end());
  }
};

TEST_F(OnnxNodeDataTest, QuantizeLinearFromScaleAndZeroPoint) {
  for (const std::string test : {"test_quantizelinear", "test_quantizelinear_axis"}) {
    const OnnxTensor x = input(test, "input_0"), s = input(test, "input_1"),
                     z = input(test, "input_2"), y = input(test, "output_0");
    ojson e;
    e["dtype"] = "uint8";
    e["scale"] = s.values;
    std::vector<int64_t> zerop(z.values.begin(), z.values.end());
    e["zerop"] = zerop;
    if (s.values.size() > 1) e["quantized_dimension"] = 1;  // QuantizeLinear's default axis
    for (Target target : {Target::ONE, Target::TFLite}) {
      const Written w = implant_constant(x, e, target);
      EXPECT_EQ(w.type, static_cast<int8_t>(TensorType::UInt8)) << test;
      EXPECT_EQ(as_doubles(w.data), y.values) << test;
    }
  }
}

TEST_F(OnnxNodeDataTest, DynamicQuantizeLinearFromMinMax) {
  size_t differ = 0;
  for (const std::string test :
       {"test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted",
        "test_dynamicquantizelinear_min_adjusted"}) {
    const OnnxTensor x = input(test, "input_0"), y = input(test, "output_0"),
                     s = input(test, "output_1"), z = input(test, "output_2");
    const auto [lo, hi] = std::minmax_element(x.values.begin(), x.values.end());
    ojson e;
    e["dtype"] = "uint8";
    e["min"] = *lo;  // q-implant widens the range to hold 0, as DynamicQuantizeLinear does
    e["max"] = *hi;
    for (Target target : {Target::ONE, Target::TFLite}) {
      const std::string label = test + (target == Target::ONE ? " one" : " tflite");
      const Written w = implant_constant(x, e, target);
      ASSERT_EQ(w.quant.scale.size(), 1u) << label;
      EXPECT_FLOAT_EQ(w.quant.scale[0], static_cast<float>(s.values[0])) << label;
      EXPECT_EQ(w.quant.zero_point[0], static_cast<int64_t>(z.values[0])) << label;
      // onnx's reference divides, x / y_scale; q-implant multiplies by the reciprocal,
      // x * (1 / scale) in float32, as PyTorch and TFLite quantize. Where the two round to
      // different integers (test_dynamicquantizelinear's -2.5: -2.5 / 0.019607844 = -127.49999,
      // -2.5 * 51 = -127.5, half to even -128), q-implant gives the reciprocal's; everywhere
      // else onnx's expected output.
      ASSERT_EQ(w.data.size(), y.values.size()) << label;
      const float scale = w.quant.scale[0], inv = 1.0f / scale;
      for (size_t i = 0; i < y.values.size(); ++i) {
        const float xi = static_cast<float>(x.values[i]);
        const double by_division = std::clamp(
            std::nearbyint(xi / scale) + static_cast<double>(w.quant.zero_point[0]), 0.0, 255.0);
        const double by_reciprocal = std::clamp(
            std::nearbyint(xi * inv) + static_cast<double>(w.quant.zero_point[0]), 0.0, 255.0);
        EXPECT_EQ(by_division, y.values[i]) << label << " element " << i;  // onnx's formula
        EXPECT_EQ(static_cast<double>(w.data[i]), by_reciprocal) << label << " element " << i;
        if (by_division == by_reciprocal)
          EXPECT_EQ(static_cast<double>(w.data[i]), y.values[i]) << label << " element " << i;
        else
          ++differ;
      }
    }
  }
  EXPECT_EQ(differ, 2u);  // -2.5 of test_dynamicquantizelinear, for both targets
}

}  // namespace
}  // namespace qimplant::test
