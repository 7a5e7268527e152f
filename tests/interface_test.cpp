// Float interface (--input-type / --output-type): the model's inputs and outputs stay float32,
// with QUANTIZE / DEQUANTIZE operators added at the boundary, read back with flatc.
#include <gtest/gtest.h>

#include "implant.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/format_test.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using InterfaceTest = FormatTest;

TEST_P(InterfaceTest, FloatInputsAndOutputsGetQuantizeAndDequantize) {
  const std::string model = dir.file("in" + ext());
  two_by_two(GetParam()).save(model);
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), two_by_two_qparams());
  o.output = dir.file("out" + ext());
  o.interface.inputs = {"float32"};
  o.interface.outputs = {"float32", "int8"};  // one per output: only `a` becomes float
  const ImplantResult r = implant(o);

  const auto j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  const auto& t = sg["tensors"];
  ASSERT_EQ(t.size(), 7u);  // x y a m + x_quantized y_quantized a_quantized
  EXPECT_EQ(t[0]["name"], "x");
  EXPECT_EQ(t[0]["type"], "FLOAT32");
  EXPECT_EQ(t[2]["type"], "FLOAT32");
  EXPECT_EQ(t[3]["type"], "INT8") << "m keeps its int8 interface";
  EXPECT_EQ(t[4]["name"], "x_quantized");
  EXPECT_EQ(t[4]["type"], "INT8");
  EXPECT_EQ(t[4]["quantization"]["zero_point"], nlohmann::json::array({1}));
  EXPECT_EQ(t[6]["name"], "a_quantized");
  EXPECT_EQ(sg["inputs"], nlohmann::json::array({0, 1})) << "interface indices unchanged";
  EXPECT_EQ(sg["outputs"], nlohmann::json::array({2, 3}));

  const auto& ops = sg["operators"];
  ASSERT_EQ(ops.size(), 5u);
  const auto& codes = j["operator_codes"];
  auto code_of = [&](size_t op) { return codes[ops[op]["opcode_index"].get<int>()]; };
  EXPECT_EQ(code_of(0)["builtin_code"], "QUANTIZE");
  EXPECT_EQ(code_of(0)["deprecated_builtin_code"], 114) << "old one-byte field filled";
  EXPECT_EQ(ops[0]["inputs"], nlohmann::json::array({0}));
  EXPECT_EQ(ops[0]["outputs"], nlohmann::json::array({4}));
  EXPECT_EQ(ops[1]["outputs"], nlohmann::json::array({5}));
  EXPECT_EQ(code_of(2)["builtin_code"], "ADD");
  EXPECT_EQ(ops[2]["inputs"], nlohmann::json::array({4, 5}));
  EXPECT_EQ(ops[2]["outputs"], nlohmann::json::array({6}));
  EXPECT_EQ(ops[3]["inputs"], nlohmann::json::array({4, 5}));
  EXPECT_EQ(ops[3]["outputs"], nlohmann::json::array({3}));
  EXPECT_EQ(code_of(4)["builtin_code"], "DEQUANTIZE");
  EXPECT_EQ(code_of(4)["deprecated_builtin_code"], 6);
  EXPECT_EQ(ops[4]["inputs"], nlohmann::json::array({6}));
  EXPECT_EQ(ops[4]["outputs"], nlohmann::json::array({2}));
  EXPECT_EQ(j["signature_defs"][0]["inputs"][0]["tensor_index"], 0);

  size_t inserted = 0;
  for (const auto& c : r.changes) inserted += c.origin == EditOrigin::Inserted;
  EXPECT_EQ(inserted, 3u);
  // The result passes both checks as a model of its own.
  auto m = ModelFile::open(o.output);
  EXPECT_TRUE(find_float_tensors(m->info(), EditPlan()).empty());
  EXPECT_TRUE(check_rules(m->info(), EditPlan(), Target::TFLite).empty());
}

TEST_P(InterfaceTest, WrongCountOrTypeIsAnError) {
  const std::string model = dir.file("in" + ext());
  two_by_two(GetParam()).save(model);
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), two_by_two_qparams());
  o.output = dir.file("out" + ext());
  o.interface.inputs = {"float32", "float32", "float32"};
  try {
    implant(o);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 types given, expected 1 or one per input"),
              std::string::npos)
        << e.what();
  }
  o.interface.inputs = {"int16"};
  try {
    implant(o);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' is int8 in the quantized model; only float32 "
                                         "(to add a conversion), int8 (to keep it) or uint8"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("found 'int16'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(o.output));
}

// An int8 model with a uint8 input and output: the same real values, zero point + 128, and a
// QUANTIZE that requantizes at each boundary.
TEST_P(InterfaceTest, Uint8InterfaceOfAnInt8Model) {
  const std::string model = dir.file("in" + ext());
  two_by_two(GetParam()).save(model);
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), two_by_two_qparams());
  o.output = dir.file("out" + ext());
  o.interface.inputs = {"uint8", "int8"};
  o.interface.outputs = {"int8", "uint8"};
  const ImplantResult r = implant(o);

  const auto j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  const auto& t = sg["tensors"];
  ASSERT_EQ(t.size(), 6u);  // x y a m + x_quantized m_quantized
  EXPECT_EQ(t[0]["type"], "UINT8");
  EXPECT_EQ(t[0]["quantization"]["zero_point"], nlohmann::json::array({129}));
  EXPECT_EQ(t[1]["type"], "INT8") << "y keeps its int8 interface";
  EXPECT_EQ(t[3]["type"], "UINT8");
  EXPECT_EQ(t[3]["quantization"]["zero_point"], nlohmann::json::array({132}));
  EXPECT_EQ(t[4]["name"], "x_quantized");
  EXPECT_EQ(t[4]["type"], "INT8");
  EXPECT_EQ(t[4]["quantization"]["zero_point"], nlohmann::json::array({1}));
  EXPECT_EQ(t[5]["type"], "INT8");
  EXPECT_EQ(sg["inputs"], nlohmann::json::array({0, 1}));
  EXPECT_EQ(sg["outputs"], nlohmann::json::array({2, 3}));
  {
    auto m = ModelFile::open(o.output);
    const auto& ts = m->info().subgraphs[0].tensors;
    EXPECT_EQ(ts[0].quant.scale, std::vector<float>{0.1f}) << "same scale";
    EXPECT_EQ(ts[3].quant.scale, std::vector<float>{0.4f});
  }

  const auto& ops = sg["operators"];
  ASSERT_EQ(ops.size(), 4u);
  const auto& codes = j["operator_codes"];
  auto code_of = [&](size_t op) { return codes[ops[op]["opcode_index"].get<int>()]; };
  EXPECT_EQ(code_of(0)["builtin_code"], "QUANTIZE");
  EXPECT_EQ(ops[0]["inputs"], nlohmann::json::array({0}));
  EXPECT_EQ(ops[0]["outputs"], nlohmann::json::array({4}));
  EXPECT_EQ(ops[1]["inputs"], nlohmann::json::array({4, 1}));
  EXPECT_EQ(ops[2]["outputs"], nlohmann::json::array({5}));
  EXPECT_EQ(code_of(3)["builtin_code"], "QUANTIZE");
  EXPECT_EQ(code_of(3)["deprecated_builtin_code"], 114);
  EXPECT_EQ(ops[3]["inputs"], nlohmann::json::array({5}));
  EXPECT_EQ(ops[3]["outputs"], nlohmann::json::array({3}));
  EXPECT_EQ(r.inserted_operators.size(), 2u);

  auto m = ModelFile::open(o.output);
  EXPECT_TRUE(find_float_tensors(m->info(), EditPlan()).empty());
  for (const auto& f : check_rules(m->info(), EditPlan(), Target::TFLite))
    EXPECT_NE(f.severity, Severity::Error) << describe_finding(m->info(), f);
}

INSTANTIATE_TEST_SUITE_P(Formats, InterfaceTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
