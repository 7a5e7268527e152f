// Mixed precision (--allow-float, --keep-float, {"dtype": "float32"} entries): float operators
// next to quantized ones, with DEQUANTIZE / QUANTIZE inserted at each boundary. Outputs are
// read back with q-implant's reader and with flatc.
#include <gtest/gtest.h>

#include <cstdio>

#include "implant.h"
#include "model/model_file.h"
#include "report/report.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/format_test.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using nlohmann::json;

class MixedTest : public FormatTest {
 protected:
  ImplantOptions options(const ModelBuilder& b, const std::vector<QParamSpec>& q) {
    ImplantOptions o;
    o.input = dir.file("in" + ext());
    b.save(o.input);
    o.qparam = write_qparams(dir.path(), q);
    o.output = dir.file("out" + ext());
    return o;
  }

  std::string error_of(const ImplantOptions& o) {
    std::remove(o.output.c_str());
    try {
      implant(o);
    } catch (const Error& e) {
      EXPECT_FALSE(file_exists(o.output)) << "nothing is written on error";
      return e.what();
    }
    ADD_FAILURE() << "expected an error";
    return "";
  }

  // The output read back by our reader passes both checks as a model of its own.
  void expect_checks_pass(const std::string& path, Target target) {
    auto m = ModelFile::open(path);
    EXPECT_TRUE(find_float_tensors(m->info(), EditPlan(), true).empty());
    for (const auto& f : check_rules(m->info(), EditPlan(), target))
      EXPECT_NE(f.severity, Severity::Error) << describe_finding(m->info(), f);
  }
};

json read_json(const std::string& path) {
  const auto bytes = read_bytes(path);
  return json::parse(std::string(bytes.begin(), bytes.end()));
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The builtin code name of operator `i` of subgraph 0 in flatc's JSON.
std::string code_of(const json& j, size_t i) {
  const auto& op = j["subgraphs"][0]["operators"][i];
  return j["operator_codes"][op["opcode_index"].get<int>()]["builtin_code"];
}

// in -> FULLY_CONNECTED(w, b) -> fc -> SOFTMAX -> probs
ModelBuilder fc_softmax(Format f) {
  ModelBuilder b(f);
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t w =
      b.constant("w", {3, 4}, {0.5f, -0.25f, 1, 0, 0.1f, 0.2f, 0.3f, 0.4f, -1, 1, -1, 1});
  const int32_t bias = b.constant("b", {3}, {0.1f, -0.2f, 0.3f});
  const int32_t fc = b.tensor("fc", {1, 3});
  const int32_t probs = b.tensor("probs", {1, 3});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, bias}, {fc});
  b.op(circle::BuiltinOperator_SOFTMAX, {fc}, {probs});
  b.inputs({in});
  b.outputs({probs});
  b.signature("serving_default", {{"in", in}}, {{"probs", probs}});
  return b;
}

std::vector<QParamSpec> fc_softmax_qparams() {
  return {{"in", "int8", {0.05f}, {-3}},
          {"w", "int8", {0.01f}, {0}},
          {"fc", "int8", {0.1f}, {2}},
          {"probs", "int8", {1.0f / 256}, {-128}}};
}

void expect_fc_then_float_softmax(const json& j, const ImplantResult& r) {
  const auto& sg = j["subgraphs"][0];
  const auto& t = sg["tensors"];
  ASSERT_EQ(t.size(), 6u);  // in w b fc probs + fc_dequantized
  EXPECT_EQ(t[0]["type"], "INT8");
  EXPECT_EQ(t[1]["type"], "INT8");
  EXPECT_EQ(t[2]["type"], "INT32") << "bias derived for the quantized FULLY_CONNECTED";
  EXPECT_EQ(t[3]["type"], "INT8");
  EXPECT_EQ(t[4]["name"], "probs");
  EXPECT_EQ(t[4]["type"], "FLOAT32") << "the kept tensor stays float";
  EXPECT_FALSE(t[4].contains("quantization") && t[4]["quantization"].contains("scale"))
      << "its qparam.json parameters serve no quantized reader here";
  EXPECT_EQ(t[5]["name"], "fc_dequantized");
  EXPECT_EQ(t[5]["type"], "FLOAT32");
  EXPECT_EQ(sg["outputs"], json::array({4})) << "graph output keeps its index";
  EXPECT_EQ(j["signature_defs"][0]["outputs"][0]["tensor_index"], 4);

  const auto& ops = sg["operators"];
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(code_of(j, 0), "FULLY_CONNECTED");
  EXPECT_EQ(code_of(j, 1), "DEQUANTIZE");
  EXPECT_EQ(j["operator_codes"][ops[1]["opcode_index"].get<int>()]["deprecated_builtin_code"], 6);
  EXPECT_EQ(ops[1]["inputs"], json::array({3}));
  EXPECT_EQ(ops[1]["outputs"], json::array({5}));
  EXPECT_EQ(code_of(j, 2), "SOFTMAX");
  EXPECT_EQ(ops[2]["inputs"], json::array({5}));
  EXPECT_EQ(ops[2]["outputs"], json::array({4}));

  ASSERT_EQ(r.inserted_operators.size(), 1u);
  EXPECT_EQ(r.inserted_operators[0].op, "DEQUANTIZE");
  EXPECT_EQ(r.inserted_operators[0].index, 1u);
  EXPECT_EQ(r.inserted_operators[0].inputs, std::vector<std::string>{"fc"});
  EXPECT_EQ(r.float_operators, 1u);
  ASSERT_EQ(r.float_tensors.size(), 1u);
  EXPECT_EQ(r.float_tensors[0].tensor, "probs");
}

TEST_P(MixedTest, QuantizedFcThenFloatSoftmaxByOperatorType) {
  ImplantOptions o = options(fc_softmax(GetParam()), fc_softmax_qparams());
  o.keep_float = {"op:softmax"};
  const ImplantResult r = implant(o);
  expect_fc_then_float_softmax(decode_with_flatc(o.output, schema()), r);
  EXPECT_EQ(r.float_tensors[0].reason, "--keep-float 'op:softmax'");
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);

  // Our reader agrees with flatc on the graph.
  auto m = ModelFile::open(o.output);
  const auto& sg = m->info().subgraphs[0];
  ASSERT_EQ(sg.operators.size(), 3u);
  EXPECT_EQ(sg.operators[1].builtin_code, circle::BuiltinOperator_DEQUANTIZE);
  EXPECT_EQ(sg.tensors[4].type, static_cast<int8_t>(TensorType::Float32));

  const json report = implant_report(o, r);
  ASSERT_EQ(report["operators"].size(), 1u);
  EXPECT_EQ(report["operators"][0]["change"], "inserted");
  EXPECT_EQ(report["operators"][0]["operator"], "DEQUANTIZE");
  EXPECT_EQ(report["float_tensors"][0]["reason"], "--keep-float 'op:softmax'");
}

TEST_P(MixedTest, Float32EntryKeepsATensorFloat) {
  auto q = fc_softmax_qparams();
  q.pop_back();
  ImplantOptions o = options(fc_softmax(GetParam()), q);
  // A {"dtype": "float32"} entry (no other field) does what --keep-float does.
  write_text(dir.file("q2.json"), [&] {
    json j = read_json(o.qparam);
    j["probs"] = {{"dtype", "FLOAT32"}};
    return j.dump();
  }());
  o.qparam = dir.file("q2.json");
  const ImplantResult r = implant(o);
  expect_fc_then_float_softmax(decode_with_flatc(o.output, schema()), r);
  EXPECT_EQ(r.float_tensors[0].reason, "qparam.json entry 'probs' (dtype float32)");
}

TEST_P(MixedTest, AllowFloatRunsTheUnlistedOperatorInFloat) {
  auto q = fc_softmax_qparams();
  q.pop_back();
  ImplantOptions o = options(fc_softmax(GetParam()), q);
  o.derive.fixed_outputs = false;  // else SOFTMAX's output gets its fixed parameters
  o.allow_float = true;
  const ImplantResult r = implant(o);
  expect_fc_then_float_softmax(decode_with_flatc(o.output, schema()), r);
  EXPECT_EQ(r.float_tensors[0].reason, "no parameters (--allow-float)");

  // Without --allow-float the unlisted tensor is an error, as before.
  o.allow_float = false;
  const std::string err = error_of(o);
  EXPECT_TRUE(has(err, "'probs'")) << err;
  EXPECT_TRUE(has(err, "--allow-float")) << err;
}

// x -> FC(w1) -> h -> TANH -> t -> FC(w2, b2) -> y: a float operator between quantized ones.
ModelBuilder float_in_the_middle(Format f) {
  ModelBuilder b(f);
  const int32_t x = b.tensor("x", {1, 2});
  const int32_t w1 = b.constant("w1", {2, 2}, {1, -1, 0.5f, 0.25f});
  const int32_t h = b.tensor("h", {1, 2});
  const int32_t t = b.tensor("t", {1, 2});
  const int32_t w2 = b.constant("w2", {2, 2}, {0.5f, 0.5f, -1, 1});
  const int32_t b2 = b.constant("b2", {2}, {0.25f, -0.5f});
  const int32_t y = b.tensor("y", {1, 2});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {x, w1, -1}, {h});
  b.op(circle::BuiltinOperator_TANH, {h}, {t});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {t, w2, b2}, {y});
  b.inputs({x});
  b.outputs({y});
  return b;
}

std::vector<QParamSpec> middle_qparams() {
  return {{"x", "int8", {0.02f}, {0}},   {"w1", "int8", {0.01f}, {0}},
          {"h", "int8", {0.03f}, {1}},   {"t", "int8", {0.0078125f}, {0}},
          {"w2", "int8", {0.008f}, {0}}, {"y", "int8", {0.04f}, {-1}}};
}

TEST_P(MixedTest, FloatOperatorBetweenQuantizedOnes) {
  ImplantOptions o = options(float_in_the_middle(GetParam()), middle_qparams());
  o.keep_float = {"t"};
  const ImplantResult r = implant(o);
  const json j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  const auto& t = sg["tensors"];
  ASSERT_EQ(t.size(), 9u);  // 7 + h_dequantized + t_quantized
  EXPECT_EQ(t[2]["type"], "INT8");
  EXPECT_EQ(t[3]["name"], "t");
  EXPECT_EQ(t[3]["type"], "FLOAT32");
  EXPECT_EQ(t[7]["name"], "h_dequantized");
  EXPECT_EQ(t[7]["type"], "FLOAT32");
  EXPECT_EQ(t[8]["name"], "t_quantized");
  EXPECT_EQ(t[8]["type"], "INT8");
  EXPECT_EQ(t[5]["type"], "INT32");
  {
    // Exact values through our reader (flatc prints floats rounded).
    auto m = ModelFile::open(o.output);
    const auto& ts = m->info().subgraphs[0].tensors;
    EXPECT_EQ(ts[8].quant.scale, std::vector<float>{0.0078125f})
        << "the quantized copy takes t's qparam.json parameters";
    EXPECT_TRUE(ts[3].quant.empty());
    // The bias of the second FC follows its (quantized) input: t's scale x w2's scale.
    EXPECT_EQ(ts[5].quant.scale, std::vector<float>{0.0078125f * 0.008f});
  }

  const auto& ops = sg["operators"];
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(code_of(j, 0), "FULLY_CONNECTED");
  EXPECT_EQ(code_of(j, 1), "DEQUANTIZE");
  EXPECT_EQ(ops[1]["inputs"], json::array({2}));
  EXPECT_EQ(code_of(j, 2), "TANH");
  EXPECT_EQ(ops[2]["inputs"], json::array({7}));
  EXPECT_EQ(ops[2]["outputs"], json::array({3}));
  EXPECT_EQ(code_of(j, 3), "QUANTIZE");
  EXPECT_EQ(j["operator_codes"][ops[3]["opcode_index"].get<int>()]["deprecated_builtin_code"], 114);
  EXPECT_EQ(ops[3]["inputs"], json::array({3}));
  EXPECT_EQ(ops[3]["outputs"], json::array({8}));
  EXPECT_EQ(code_of(j, 4), "FULLY_CONNECTED");
  EXPECT_EQ(ops[4]["inputs"], json::array({8, 4, 5}));
  EXPECT_EQ(r.inserted_operators.size(), 2u);
  EXPECT_EQ(r.float_operators, 1u);
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);
}

TEST_P(MixedTest, KeptTensorWithoutParametersFeedingAQuantizedOperatorIsAnError) {
  auto q = middle_qparams();
  q.erase(q.begin() + 3);  // no "t"
  ImplantOptions o = options(float_in_the_middle(GetParam()), q);
  o.keep_float = {"glob:t"};
  // TANH's fixed output range is derived for t: its quantized copy takes it.
  implant(o);
  EXPECT_EQ(ModelFile::open(o.output)->info().subgraphs[0].tensors[8].quant.scale,
            std::vector<float>{1.0f / 128});

  o.derive.fixed_outputs = false;
  std::string err = error_of(o);
  EXPECT_TRUE(has(err, "tensor 't' stays FLOAT32 (kept float by --keep-float 'glob:t')")) << err;
  EXPECT_TRUE(has(err, "FULLY_CONNECTED (operator 2), which runs quantized")) << err;
  EXPECT_TRUE(has(err, "add an entry for 't' to qparam.json")) << err;
  EXPECT_TRUE(has(err, o.input)) << err;

  // Kept by a float32 entry: the message says to swap it for a quantized entry.
  o.keep_float.clear();
  write_text(dir.file("q3.json"), [&] {
    json j = read_json(o.qparam);
    j["t"] = {{"dtype", "float32"}};
    return j.dump();
  }());
  o.qparam = dir.file("q3.json");
  err = error_of(o);
  EXPECT_TRUE(has(err, "in place of its float32 entry, and keep it float with --keep-float 't'"))
      << err;

  // Left without parameters under --allow-float.
  o.qparam = write_qparams(dir.path(), {{"x", "int8", {0.02f}, {0}}, {"y", "int8", {0.04f}, {0}}});
  o.allow_float = true;
  o.derive.constants = false;
  err = error_of(o);
  EXPECT_TRUE(has(err, "'t' stays FLOAT32 (left without parameters (--allow-float))")) << err;
  EXPECT_TRUE(has(err, "add an entry for 't'")) << err;
}

TEST_P(MixedTest, FloatConstantOfAQuantizedOperatorIsAnError) {
  ImplantOptions o = options(float_in_the_middle(GetParam()), middle_qparams());
  o.keep_float = {"t"};
  o.derive.constants = false;
  auto q = middle_qparams();
  q.erase(q.begin() + 4);  // no w2
  o.qparam = write_qparams(dir.path(), q);
  const std::string err = error_of(o);
  EXPECT_TRUE(has(err, "constant 'w2' is FLOAT32 and is read by FULLY_CONNECTED (operator 2)"))
      << err;
  EXPECT_TRUE(has(err, "add an entry for 'w2'")) << err;
}

// One quantized tensor read by two float operators and a quantized one; one kept tensor read by
// two quantized operators; three outputs.
ModelBuilder mixed_consumers(Format f) {
  ModelBuilder b(f);
  const int32_t x = b.tensor("x", {1, 4});
  const int32_t w = b.constant("w", {4, 4}, std::vector<float>(16, 0.25f));
  const int32_t a = b.tensor("a", {1, 4});
  const int32_t l = b.tensor("l", {1, 4});
  const int32_t r = b.tensor("r", {1, 4});
  const int32_t u = b.tensor("u", {1, 4});
  const int32_t shape = b.constant_i32("shape", {2}, {1, 4});
  const int32_t l1 = b.tensor("l1", {1, 4});
  const int32_t l2 = b.tensor("l2", {1, 4});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {x, w, -1}, {a});  // 0
  b.op(circle::BuiltinOperator_LOGISTIC, {a}, {l});                // 1 float
  b.op(circle::BuiltinOperator_RESHAPE, {a, shape}, {r});          // 2 quantized
  b.op(circle::BuiltinOperator_TANH, {a}, {u});                    // 3 float
  b.op(circle::BuiltinOperator_ADD, {l, r}, {l1});                 // 4 quantized
  b.op(circle::BuiltinOperator_MUL, {l, r}, {l2});                 // 5 quantized
  b.inputs({x});
  b.outputs({u, l1, l2});
  b.signature("serving_default", {{"x", x}}, {{"u", u}, {"l1", l1}, {"l2", l2}});
  return b;
}

TEST_P(MixedTest, OneConversionPerBoundaryTensor) {
  ImplantOptions o = options(mixed_consumers(GetParam()), {{"x", "int8", {0.02f}, {0}},
                                                           {"w", "int8", {0.002f}, {0}},
                                                           {"a", "int8", {0.05f}, {0}},
                                                           {"l", "int8", {1.0f / 256}, {-128}},
                                                           {"l1", "int8", {0.01f}, {-128}},
                                                           {"l2", "int8", {0.01f}, {-128}}});
  o.keep_float = {"op:LOGISTIC", "op:TANH"};
  const ImplantResult res = implant(o);
  const json j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  const auto& t = sg["tensors"];
  ASSERT_EQ(t.size(), 11u);  // 9 + a_dequantized + l_quantized
  EXPECT_EQ(t[9]["name"], "a_dequantized");
  EXPECT_EQ(t[10]["name"], "l_quantized");
  EXPECT_EQ(t[4]["type"], "INT8") << "r propagated from a";
  EXPECT_EQ(t[5]["type"], "FLOAT32");
  EXPECT_EQ(t[3]["type"], "FLOAT32");
  EXPECT_EQ(sg["outputs"], json::array({5, 7, 8}));
  EXPECT_EQ(j["signature_defs"][0]["outputs"].size(), 3u);

  const auto& ops = sg["operators"];
  ASSERT_EQ(ops.size(), 8u);
  const std::vector<std::string> want{
      "FULLY_CONNECTED", "DEQUANTIZE", "LOGISTIC", "RESHAPE", "TANH", "QUANTIZE", "ADD", "MUL"};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(code_of(j, i), want[i]) << i;
  EXPECT_EQ(ops[2]["inputs"], json::array({9})) << "LOGISTIC reads the float copy";
  EXPECT_EQ(ops[4]["inputs"], json::array({9})) << "TANH reads the same float copy";
  EXPECT_EQ(ops[3]["inputs"], json::array({2, 6})) << "RESHAPE still reads a";
  EXPECT_EQ(ops[5]["inputs"], json::array({3}));
  EXPECT_EQ(ops[6]["inputs"], json::array({10, 4}));
  EXPECT_EQ(ops[7]["inputs"], json::array({10, 4}));
  EXPECT_EQ(res.inserted_operators.size(), 2u);
  EXPECT_EQ(res.float_operators, 2u);
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);
}

// With --input-type float32 a float reader of the graph input reads the float input itself.
TEST_P(MixedTest, FloatInterfaceAndFloatOperatorsTogether) {
  ModelBuilder b(GetParam());
  const int32_t x = b.tensor("x", {1, 4});
  const int32_t y = b.tensor("y", {1, 4});
  const int32_t s = b.tensor("s", {1, 4});
  const int32_t m = b.tensor("m", {1, 4});
  const int32_t e = b.tensor("e", {1, 4});
  b.op(circle::BuiltinOperator_ADD, {x, y}, {s});
  b.op(circle::BuiltinOperator_TANH, {x}, {e});
  b.op(circle::BuiltinOperator_MUL, {s, y}, {m});
  b.inputs({x, y});
  b.outputs({m, e});
  ImplantOptions o = options(b, {{"x", "int8", {0.1f}, {0}},
                                 {"y", "int8", {0.1f}, {0}},
                                 {"s", "int8", {0.2f}, {0}},
                                 {"m", "int8", {0.3f}, {0}}});
  o.keep_float = {"e"};
  o.interface.inputs = {"float32"};
  o.interface.outputs = {"float32"};
  const ImplantResult r = implant(o);
  const json j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  const auto& ops = sg["operators"];
  // QUANTIZE x, QUANTIZE y, ADD, TANH, MUL, DEQUANTIZE m: TANH reads x, no round trip.
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(code_of(j, 3), "TANH");
  EXPECT_EQ(ops[3]["inputs"], json::array({x}));
  EXPECT_EQ(sg["tensors"][x]["type"], "FLOAT32");
  EXPECT_EQ(sg["tensors"][e]["type"], "FLOAT32");
  EXPECT_EQ(sg["tensors"][m]["type"], "FLOAT32");
  EXPECT_EQ(sg["inputs"], json::array({x, y}));
  EXPECT_EQ(sg["outputs"], json::array({m, e}));
  EXPECT_EQ(r.inserted_operators.size(), 3u);
  for (const auto& op : r.inserted_operators) EXPECT_FALSE(op.reason.empty());
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);
}

// With a uint8 interface on an int8 model, a float reader of the input dequantizes the int8
// copy (the uint8 input is not float).
TEST_P(MixedTest, IntegerInterfaceAndFloatOperators) {
  ModelBuilder b(GetParam());
  const int32_t x = b.tensor("x", {1, 4});
  const int32_t e = b.tensor("e", {1, 4});
  const int32_t s = b.tensor("s", {1, 4});
  b.op(circle::BuiltinOperator_TANH, {x}, {e});
  b.op(circle::BuiltinOperator_ADD, {x, x}, {s});
  b.inputs({x});
  b.outputs({e, s});
  ImplantOptions o = options(b, {{"x", "int8", {0.1f}, {0}}, {"s", "int8", {0.2f}, {0}}});
  o.keep_float = {"e"};
  o.interface.inputs = {"uint8"};
  implant(o);
  const json j = decode_with_flatc(o.output, schema());
  const auto& sg = j["subgraphs"][0];
  // QUANTIZE x -> x_quantized (requantize), DEQUANTIZE x_quantized, TANH, ADD.
  ASSERT_EQ(sg["operators"].size(), 4u);
  EXPECT_EQ(code_of(j, 0), "QUANTIZE");
  EXPECT_EQ(code_of(j, 1), "DEQUANTIZE");
  EXPECT_EQ(sg["operators"][1]["inputs"], json::array({3}));
  EXPECT_EQ(sg["tensors"][3]["name"], "x_quantized");
  EXPECT_EQ(sg["tensors"][4]["name"], "x_quantized_dequantized");
  EXPECT_EQ(sg["operators"][2]["inputs"], json::array({4}));
  EXPECT_EQ(sg["operators"][3]["inputs"], json::array({3, 3}));
  EXPECT_EQ(sg["tensors"][x]["type"], "UINT8");
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);
}

TEST_P(MixedTest, KeepFloatNamingNothingIsAnError) {
  ImplantOptions o = options(fc_softmax(GetParam()), fc_softmax_qparams());
  o.keep_float = {"prob"};
  std::string err = error_of(o);
  EXPECT_TRUE(has(err, "--keep-float 'prob'")) << err;
  EXPECT_TRUE(has(err, "'probs'")) << err << " (closest name)";

  o.keep_float = {"glob:nothing*"};
  err = error_of(o);
  EXPECT_TRUE(has(err, "--keep-float 'glob:nothing*': the pattern matches no float32 tensor"))
      << err;

  o.keep_float = {"op:tanh"};
  err = error_of(o);
  EXPECT_TRUE(has(err, "has no tanh operator (its operator types: FULLY_CONNECTED, SOFTMAX)"))
      << err;

  o.keep_float = {"w"};
  err = error_of(o);
  EXPECT_TRUE(has(err, "--keep-float 'w': tensor 'w' is a constant")) << err;

  o.keep_float = {"glob:[z"};
  err = error_of(o);
  EXPECT_TRUE(has(err, "--keep-float 'glob:[z'")) << err;
}

TEST_P(MixedTest, KeepFloatReadsNamesThroughTheNameMap) {
  ImplantOptions o = options(fc_softmax(GetParam()), fc_softmax_qparams());
  o.name_map = dir.file("map.json");
  write_text(o.name_map, R"({"head.probs": "probs"})");
  o.keep_float = {"head.probs"};
  const ImplantResult r = implant(o);
  expect_fc_then_float_softmax(decode_with_flatc(o.output, schema()), r);
  EXPECT_EQ(r.float_tensors[0].reason, "--keep-float 'head.probs'");
}

TEST_P(MixedTest, Float32EntryErrors) {
  ImplantOptions o = options(fc_softmax(GetParam()), {});
  write_text(o.qparam, R"({"probs": {"dtype": "float32", "scale": "0.npy"}})");
  std::string err = error_of(o);
  EXPECT_TRUE(has(err, "tensor 'probs': \"scale\": a \"dtype\": \"float32\" entry")) << err;

  write_text(o.qparam, R"({"w": {"dtype": "float32"}})");
  err = error_of(o);
  EXPECT_TRUE(has(err, "tensor 'w': \"dtype\": float32 keeps tensors computed at run time")) << err;

  write_text(o.qparam, R"({"glob:[wb]": {"dtype": "float32"}})");
  err = error_of(o);
  EXPECT_TRUE(has(err,
                  "tensor 'glob:[wb]': \"dtype\": float32: the pattern matches only "
                  "constants"))
      << err;
}

TEST_P(MixedTest, KeepFloatOfAnIntegerTensorIsAnError) {
  ImplantOptions o = options(mixed_consumers(GetParam()), {{"x", "int8", {0.02f}, {0}}});
  o.keep_float = {"shape"};
  const std::string err = error_of(o);
  EXPECT_TRUE(has(err, "--keep-float 'shape': tensor 'shape' is INT32 in the model")) << err;
  EXPECT_TRUE(has(err, "expected a FLOAT32 tensor to keep float")) << err;
}

TEST_P(MixedTest, UnaskedFloatTensorNeedsAllowFloat) {
  // probs kept; the FC output has no parameters and nobody asked for it to stay float.
  auto q = fc_softmax_qparams();
  q.erase(q.begin() + 2);
  ImplantOptions o = options(fc_softmax(GetParam()), q);
  o.keep_float = {"probs"};
  const std::string err = error_of(o);
  EXPECT_TRUE(has(err,
                  "1 tensor(s) on the compute path would stay FLOAT32 but are not kept "
                  "float: 'fc'"))
      << err;
  EXPECT_TRUE(has(err, "--allow-float")) << err;
}

TEST_P(MixedTest, OperatorWithFloatAndQuantizedOutputsIsAnError) {
  ModelBuilder b(GetParam());
  const int32_t axis = b.constant_i32("axis", {}, {1});
  const int32_t x = b.tensor("x", {1, 4});
  const int32_t p = b.tensor("p", {1, 2});
  const int32_t q = b.tensor("q", {1, 2});
  b.op(circle::BuiltinOperator_SPLIT, {axis, x}, {p, q});
  b.inputs({x});
  b.outputs({p, q});
  ImplantOptions o = options(b, {{"x", "int8", {0.1f}, {0}}, {"q", "int8", {0.1f}, {0}}});
  o.keep_float = {"p"};
  const std::string err = error_of(o);
  EXPECT_TRUE(has(err,
                  "SPLIT (operator 0) would run in float because its output 'p' stays "
                  "float32 (kept float by --keep-float 'p'), but its output 'q' is INT8"))
      << err;
}

TEST_P(MixedTest, DerivedConstantsOfFloatOperatorsStayFloat) {
  // The FC runs in float (its output is kept): w and b would be derived from the quantized
  // input, but stay float; w given in qparam.json would stay quantized (weight-only).
  auto q = fc_softmax_qparams();
  q.erase(q.begin() + 1);  // no w
  ImplantOptions o = options(fc_softmax(GetParam()), q);
  o.keep_float = {"fc", "probs"};
  const ImplantResult r = implant(o);
  const json j = decode_with_flatc(o.output, schema());
  const auto& t = j["subgraphs"][0]["tensors"];
  EXPECT_EQ(t[1]["type"], "FLOAT32");
  EXPECT_EQ(t[2]["type"], "FLOAT32");
  EXPECT_EQ(t[0]["type"], "INT8");
  EXPECT_EQ(code_of(j, 0), "DEQUANTIZE");
  size_t constants = 0;
  for (const auto& f : r.float_tensors) constants += has(f.reason, "constant only float");
  EXPECT_EQ(constants, 2u);
  expect_checks_pass(o.output, GetParam() == Format::Circle ? Target::ONE : Target::TFLite);
}

TEST_P(MixedTest, CommandLineListsInsertedOperatorsAndCheckAcceptsTheResult) {
  ImplantOptions o = options(fc_softmax(GetParam()), fc_softmax_qparams());
  const std::string report = dir.file("report.json");
  std::string out;
  const std::string cli = std::string("'") + QIMPLANT_CLI + "' ";
  int status = run_command(cli + "'" + o.input + "' '" + o.qparam + "' '" + o.output +
                               "' -v --keep-float op:SOFTMAX --report '" + report + "'",
                           &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_TRUE(has(out, "inserted  DEQUANTIZE (operator 1): 'fc' -> 'fc_dequantized'")) << out;
  EXPECT_TRUE(has(out, "kept float  'probs': --keep-float 'op:SOFTMAX'")) << out;
  EXPECT_TRUE(has(out, "1 operator(s) inserted, 1 run in float")) << out;
  const json r = read_json(report);
  ASSERT_EQ(r["operators"].size(), 1u);
  EXPECT_EQ(r["operators"][0]["change"], "inserted");
  EXPECT_EQ(r["operators"][0]["index"], 1);
  EXPECT_EQ(r["operators"][0]["outputs"], json::array({"fc_dequantized"}));
  EXPECT_EQ(r["float_operators"], 1);

  // `check` accepts the float SOFTMAX only when told the model is mixed.
  status = run_command(cli + "check '" + o.output + "'", &out);
  EXPECT_EQ(status, 1) << out;
  EXPECT_TRUE(has(out, "'fc_dequantized'")) << out;
  status = run_command(cli + "check --allow-float '" + o.output + "'", &out);
  EXPECT_EQ(status, 0) << out;

  status = run_command(
      cli + "'" + o.input + "' '" + o.qparam + "' '" + o.output + "' --keep-float nosuch", &out);
  EXPECT_EQ(status, 1) << out;
  EXPECT_TRUE(has(out, "q-implant: error: --keep-float 'nosuch'")) << out;
}

INSTANTIATE_TEST_SUITE_P(Formats, MixedTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
