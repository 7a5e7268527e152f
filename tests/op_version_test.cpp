// Operator versions: the rows of TFLite's versioning table (model/op_version.h), the larger of
// the input's and the table's version per operator code (plan/structure.h), and the versions
// that land in implanted models, read back with flatc.
#include <gtest/gtest.h>

#include <filesystem>

#include "implant.h"
#include "model/op_version.h"
#include "model/tensor_type.h"
#include "plan/structure.h"
#include "report/report.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/format_test.h"
#include "support/tools_support.h"

namespace qimplant::test {
namespace {

struct Operand {
  TensorType type;
  std::vector<int32_t> shape;
  QuantParams quant;
};

QuantParams per_tensor(float scale) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {0};
  return q;
}

QuantParams per_channel(size_t n) {
  QuantParams q;
  q.scale.assign(n, 0.01f);
  q.zero_point.assign(n, 0);
  return q;
}

// operand_version for operands held by the caller (an empty shape list entry is omitted).
int32_t version(int32_t code, const std::vector<const Operand*>& inputs,
                const std::vector<const Operand*>& outputs) {
  auto sigs = [](const std::vector<const Operand*>& list) {
    std::vector<OperandSig> out;
    for (const Operand* o : list) {
      OperandSig s;
      if (o) {
        s.present = true;
        s.type = type_code(o->type);
        s.shape = &o->shape;
        s.quant = &o->quant;
      }
      out.push_back(s);
    }
    return out;
  };
  OpSignature sig;
  sig.code = code;
  sig.inputs = sigs(inputs);
  sig.outputs = sigs(outputs);
  return operand_version(sig);
}

TEST(OpVersionTable, ConvRowsFollowTheOperandTypes) {
  const Operand f{TensorType::Float32, {1, 8, 8, 4}, {}};
  const Operand fw{TensorType::Float32, {2, 3, 3, 4}, {}};
  const Operand x{TensorType::Int8, {1, 8, 8, 4}, per_tensor(0.1f)};
  const Operand w{TensorType::Int8, {2, 3, 3, 4}, per_channel(2)};
  const Operand w1{TensorType::Int8, {2, 3, 3, 4}, per_tensor(0.1f)};
  const Operand w4{TensorType::Int4, {2, 3, 3, 4}, per_channel(2)};
  const Operand wg{TensorType::Int8, {2, 3, 3, 2}, per_channel(2)};  // two groups
  const Operand b{TensorType::Int32, {2}, per_channel(2)};
  const Operand u{TensorType::UInt8, {1, 8, 8, 4}, per_tensor(0.1f)};
  const Operand uw{TensorType::UInt8, {2, 3, 3, 4}, per_tensor(0.1f)};
  const int32_t conv = circle::BuiltinOperator_CONV_2D;
  EXPECT_EQ(version(conv, {&f, &fw, nullptr}, {&f}), 1);
  EXPECT_EQ(version(conv, {&u, &uw, &b}, {&u}), 1);
  EXPECT_EQ(version(conv, {&x, &w, &b}, {&x}), 3);
  EXPECT_EQ(version(conv, {&x, &w4, &b}, {&x}), 7);
  EXPECT_EQ(version(conv, {&x, &wg, &b}, {&x}), 6);
  EXPECT_EQ(version(conv, {&f, &w, nullptr}, {&f}), 5) << "hybrid, per channel";
  EXPECT_EQ(version(conv, {&f, &w1, nullptr}, {&f}), 2) << "hybrid, per tensor";
  const int32_t dw = circle::BuiltinOperator_DEPTHWISE_CONV_2D;
  EXPECT_EQ(version(dw, {&x, &w, &b}, {&x}), 3);
  EXPECT_EQ(version(dw, {&u, &uw, &b}, {&u}), 1);
}

TEST(OpVersionTable, FullyConnectedCountsItsOperands) {
  const Operand x{TensorType::Int8, {1, 16}, per_tensor(0.1f)};
  const Operand w{TensorType::Int8, {8, 16}, per_tensor(0.1f)};
  const Operand b{TensorType::Int32, {8}, per_tensor(0.01f)};
  const Operand h{TensorType::Int16, {1, 16}, per_tensor(0.1f)};
  const Operand hw{TensorType::Int16, {8, 16}, per_tensor(0.1f)};
  const int32_t fc = circle::BuiltinOperator_FULLY_CONNECTED;
  EXPECT_EQ(version(fc, {&x, &w, &b}, {&x}), 4);
  EXPECT_EQ(version(fc, {&x, &w, nullptr}, {&x}), 4) << "an omitted bias is still an operand";
  EXPECT_EQ(version(fc, {&x, &w}, {&x}), 6) << "two operands";
  EXPECT_EQ(version(fc, {&h, &hw, &b}, {&h}), 7);
  EXPECT_EQ(version(fc, {&h, &w, &b}, {&h}), 1) << "16x8 has no row of its own";
}

TEST(OpVersionTable, QuantizeDequantizeAndElementwise) {
  const Operand f{TensorType::Float32, {1, 4}, {}};
  const Operand x{TensorType::Int8, {1, 4}, per_tensor(0.1f)};
  const Operand xc{TensorType::Int8, {2, 4}, per_channel(2)};
  const Operand h{TensorType::Int16, {1, 4}, per_tensor(0.1f)};
  const Operand u{TensorType::UInt8, {1, 4}, per_tensor(0.1f)};
  const Operand big{TensorType::Int8, {1, 4}, per_tensor(2.0f)};
  const int32_t q = circle::BuiltinOperator_QUANTIZE, dq = circle::BuiltinOperator_DEQUANTIZE;
  EXPECT_EQ(version(q, {&f}, {&x}), 1);
  EXPECT_EQ(version(q, {&f}, {&h}), 2);
  EXPECT_EQ(version(q, {&f}, {&xc}), 3);
  EXPECT_EQ(version(dq, {&u}, {&f}), 1);
  EXPECT_EQ(version(dq, {&x}, {&f}), 2);
  EXPECT_EQ(version(dq, {&h}, {&f}), 3);
  EXPECT_EQ(version(dq, {&xc}, {&f}), 5);
  const int32_t mul = circle::BuiltinOperator_MUL;
  EXPECT_EQ(version(mul, {&x, &x}, {&x}), 2);
  EXPECT_EQ(version(mul, {&big, &big}, {&x}), 3) << "2 x 2 / 0.1 >= 1";
  EXPECT_EQ(version(mul, {&h, &h}, {&h}), 4);
  EXPECT_EQ(version(circle::BuiltinOperator_ADD, {&x, &x}, {&x}), 2);
  EXPECT_EQ(version(circle::BuiltinOperator_SOFTMAX, {&h}, {&h}), 3);
  EXPECT_EQ(version(circle::BuiltinOperator_SPLIT, {&f, &x}, {&x}), 2) << "data is input 1";
  EXPECT_EQ(version(circle::BuiltinOperator_BROADCAST_TO, {&f}, {&f}), 2);
  EXPECT_EQ(version(circle::BuiltinOperator_CUSTOM, {&x}, {&x}), 1);
}

// A code keeps a higher version of its own; custom codes are left alone.
TEST(OperatorCodeVersions, TheLargerOfTheInputsAndTheTables) {
  ModelInfo m;
  m.operator_codes = {{circle::BuiltinOperator_CONV_2D, "", 1},
                      {circle::BuiltinOperator_FULLY_CONNECTED, "", 9},
                      {circle::BuiltinOperator_CUSTOM, "MyOp", 1}};
  SubgraphInfo sg;
  for (int i = 0; i < 4; ++i) {
    TensorInfo t;
    t.name = "t" + std::to_string(i);
    t.type = type_code(TensorType::Int8);
    t.shape = {1, 2, 2, 1};
    t.quant = per_tensor(0.1f);
    sg.tensors.push_back(t);
  }
  sg.operators = {{0, circle::BuiltinOperator_CONV_2D, {0, 1, -1}, {2}},
                  {1, circle::BuiltinOperator_FULLY_CONNECTED, {2, 1, -1}, {3}},
                  {2, circle::BuiltinOperator_CUSTOM, {3}, {3}}};
  m.subgraphs.push_back(sg);
  EditPlan plan;
  EXPECT_EQ(operator_code_versions(m, plan), (std::vector<int32_t>{3, 9, 1}));
  // The plan's types count, not the model's: a uint8 plan for the CONV_2D's input.
  TensorEdit e;
  e.type = type_code(TensorType::UInt8);
  e.quant = per_tensor(0.1f);
  plan.tensors[{0, 0}] = e;
  EXPECT_EQ(operator_code_versions(m, plan), (std::vector<int32_t>{1, 9, 1}));
}

int32_t code_version(const nlohmann::json& model, const std::string& op) {
  for (const auto& c : model["operator_codes"])
    if (c.value("builtin_code", std::string()) == op) return c.value("version", 1);
  return 0;
}

using OpVersionImplant = FormatTest;

TEST_P(OpVersionImplant, Int8ConvRaisedUint8ConvKept) {
  const std::string model = dir.file("in" + ext());
  conv2d_model(GetParam()).save(model);
  ImplantOptions o;
  o.input = model;
  o.output = dir.file("u8" + ext());
  o.qparam = write_qparams(dir.path(), conv2d_qparams());
  EXPECT_TRUE(implant(o).version_changes.empty());
  EXPECT_EQ(code_version(decode_with_flatc(o.output, schema()), "CONV_2D"), 1);

  const std::string int8_dir = dir.file("int8");
  std::filesystem::create_directories(int8_dir);
  o.qparam = write_qparams(
      int8_dir,
      {{"ifm", "int8", {0.1f}, {0}}, {"ker", "int8", {0.01f}, {0}}, {"ofm", "int8", {0.2f}, {0}}});
  o.output = dir.file("i8" + ext());
  o.target = Target::TFLite;
  const ImplantResult r = implant(o);
  EXPECT_EQ(code_version(decode_with_flatc(o.output, schema()), "CONV_2D"), 3);
  ASSERT_EQ(r.version_changes.size(), 1u) << "the change is reported";
  EXPECT_EQ(r.version_changes[0].code_index, 0u);
  EXPECT_EQ(r.version_changes[0].op, "CONV_2D");
  EXPECT_EQ(r.version_changes[0].from, 1);
  EXPECT_EQ(r.version_changes[0].to, 3);
  const auto report = implant_report(o, r);
  ASSERT_EQ(report["operator_versions"].size(), 1u);
  EXPECT_EQ(report["operator_versions"][0]["operator"], "CONV_2D");
  EXPECT_EQ(report["operator_versions"][0]["from"], 1);
  EXPECT_EQ(report["operator_versions"][0]["to"], 3);
  const ToolRun run = run_tool(shell_quote(model) + " " + shell_quote(o.qparam) + " " +
                               shell_quote(dir.file("cli" + ext())) + " --rules tflite -v");
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_TRUE(contains(run.out, "version  CONV_2D (operator code 0): 1 -> 3")) << run;
}

// Inserted operators get the version of what they convert: QUANTIZE to int8 1, DEQUANTIZE
// from int8 2; the int8 ADD and MUL they feed 2.
TEST_P(OpVersionImplant, InsertedConversionsAndTheirReaders) {
  const std::string model = dir.file("in" + ext());
  two_by_two(GetParam()).save(model);
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), two_by_two_qparams());
  o.output = dir.file("out" + ext());
  o.target = Target::TFLite;
  o.interface.inputs = {"float32"};
  o.interface.outputs = {"float32"};
  implant(o);
  const auto j = decode_with_flatc(o.output, schema());
  EXPECT_EQ(code_version(j, "ADD"), 2);
  EXPECT_EQ(code_version(j, "MUL"), 2);
  EXPECT_EQ(code_version(j, "QUANTIZE"), 1);
  EXPECT_EQ(code_version(j, "DEQUANTIZE"), 2);
}

INSTANTIATE_TEST_SUITE_P(Formats, OpVersionImplant,
                         ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
