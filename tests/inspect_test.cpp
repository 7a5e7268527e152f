// inspect: the text and JSON descriptions of float and quantized models in both formats, the
// tensor-name and operator-type filters, and the command line.
#include "inspect/inspect.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/tools_support.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

class InspectTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }

  std::string float_model() {
    const std::string p = dir.file("float" + ext());
    conv2d_model(format()).save(p);
    return p;
  }
  std::string quantized_model() {
    ImplantOptions o;
    o.input = float_model();
    o.qparam = write_qparams(dir.path(), conv2d_qparams());
    o.output = dir.file("quantized" + ext());
    implant(o);
    return o.output;
  }
  std::string text(const std::string& path, const InspectFilter& f = {}) {
    auto m = ModelFile::open(path);
    return inspect_text(m->info(), path, f);
  }
  nlohmann::json json(const std::string& path, const InspectFilter& f = {}) {
    auto m = ModelFile::open(path);
    return nlohmann::json::parse(inspect_json(m->info(), path, f));
  }
  std::string error_of(const std::string& path, const InspectFilter& f) {
    try {
      text(path, f);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  ScratchDir dir;
};

TEST_P(InspectTest, TextDescribesAFloatModel) {
  const std::string p = float_model();
  const std::string t = text(p);
  EXPECT_TRUE(contains(t, "model '" + p + "': " + format_name(format()) +
                              ", version 3, 1 subgraph, 4 tensors, 1 operator, 3 buffers"))
      << t;
  EXPECT_TRUE(contains(t, "subgraph 0: 4 tensors, 1 operator")) << t;
  EXPECT_TRUE(contains(t, "  inputs:  [0] ifm\n")) << t;
  EXPECT_TRUE(contains(t, "  outputs: [3] ofm\n")) << t;
  EXPECT_TRUE(contains(t,
                       "    #0 CONV_2D\n        in:  [0] ifm, [1] ker, [2] bias\n"
                       "        out: [3] ofm\n"))
      << t;
  EXPECT_TRUE(contains(t, "    [0] ifm  FLOAT32 [1, 2, 2, 2]\n")) << t;
  EXPECT_TRUE(contains(t, "    [1] ker  FLOAT32 [1, 1, 1, 2]  const (buffer 1, 8 bytes)\n")) << t;
}

TEST_P(InspectTest, TextShowsQuantization) {
  const std::string t = text(quantized_model());
  EXPECT_TRUE(contains(t, "[0] ifm  UINT8 [1, 2, 2, 2]  scale 0.27102426 zero_point 216\n")) << t;
  EXPECT_TRUE(contains(t,
                       "[1] ker  UINT8 [1, 1, 1, 2]  const (buffer 1, 2 bytes)  scale "
                       "0.44855267 zero_point 103\n"))
      << t;
  EXPECT_TRUE(contains(t, "[2] bias  INT32 [1]  const")) << t;

  ModelBuilder b(format());
  const int32_t x = b.tensor("x", {3, 2}, TensorType::Int8);
  b.set_quant(x, {0.5f, 2.0f, 0.25f}, {0, 1, -1}, 0);
  const int32_t y = b.tensor("y", {3, 2}, TensorType::Int8);
  b.set_quant(y, {0.1f, 0.1f}, {0, 0}, 1);
  b.op(circle::BuiltinOperator_RESHAPE, {x, -1}, {y});
  b.inputs({x});
  b.outputs({y});
  const std::string p = dir.file("pc" + ext());
  b.save(p);
  const std::string pc = text(p);
  EXPECT_TRUE(contains(pc,
                       "[0] x  INT8 [3, 2]  per-channel x3 along dim 0: scale 0.25 .. 2, "
                       "zero_point -1 .. 1\n"))
      << pc;
  EXPECT_TRUE(contains(pc,
                       "[1] y  INT8 [3, 2]  per-channel x2 along dim 1: scale 0.1, "
                       "zero_point 0\n"))
      << pc;
  EXPECT_TRUE(contains(pc, "in:  [0] x, -\n")) << "an omitted operand\n" << pc;
}

TEST_P(InspectTest, JsonHoldsTheSameAsMachineReadableValues) {
  const std::string p = quantized_model();
  const auto j = json(p);
  EXPECT_EQ(j["file"], p);
  EXPECT_EQ(j["format"], format_name(format()));
  ASSERT_EQ(j["subgraphs"].size(), 1u);
  const auto& g = j["subgraphs"][0];
  EXPECT_EQ(g["inputs"][0]["name"], "ifm");
  EXPECT_EQ(g["outputs"][0]["index"], 3);
  ASSERT_EQ(g["operators"].size(), 1u);
  EXPECT_EQ(g["operators"][0]["type"], "CONV_2D");
  EXPECT_EQ(g["operators"][0]["inputs"][2]["name"], "bias");
  ASSERT_EQ(g["tensors"].size(), 4u);
  const auto& ker = g["tensors"][1];
  EXPECT_EQ(ker["name"], "ker");
  EXPECT_EQ(ker["dtype"], "UINT8");
  EXPECT_EQ(ker["shape"], nlohmann::json::array({1, 1, 1, 2}));
  EXPECT_EQ(ker["constant"], true);
  EXPECT_EQ(ker["bytes"], 2);
  EXPECT_EQ(ker["quantization"]["zero_point"][0], 103);
  EXPECT_EQ(ker["quantization"]["per_channel"], false);
  // The scale reads back as exactly the model's float32.
  EXPECT_EQ(static_cast<float>(ker["quantization"]["scale"][0].get<double>()), 0.44855267f);
  EXPECT_EQ(g["tensors"][0]["constant"], false);

  const auto f = json(float_model());
  EXPECT_TRUE(f["subgraphs"][0]["tensors"][0]["quantization"].is_null());
}

TEST_P(InspectTest, FiltersByTensorNameAndOperatorType) {
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t shape = b.constant_i32("reshape/shape", {2}, {2, 2});
  const int32_t r = b.tensor("reshape/out", {2, 2});
  const int32_t w = b.constant("fc/w", {2, 2}, {1, 2, 3, 4});
  const int32_t out = b.tensor("fc/out", {2, 2});
  b.op(circle::BuiltinOperator_RESHAPE, {in, shape}, {r});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {r, w, -1}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string p = dir.file("f" + ext());
  b.save(p);

  // Tensor filter: matching tensors, and the operators that use them.
  std::string t = text(p, {"fc/*", {}});
  EXPECT_TRUE(contains(t, "showing tensors matching 'fc/*'")) << t;
  EXPECT_TRUE(contains(t, "operators (execution order), 1 shown:\n    #1 FULLY_CONNECTED")) << t;
  EXPECT_TRUE(contains(t, "tensors, 2 shown:")) << t;
  EXPECT_TRUE(contains(t, "[3] fc/w")) << t;
  EXPECT_FALSE(contains(t, "[2] reshape/out  ")) << t;
  EXPECT_FALSE(contains(t, "#0 RESHAPE")) << t;
  t = text(p, {"re:.*/out", {}});
  EXPECT_TRUE(contains(t, "tensors, 2 shown:")) << t;
  EXPECT_TRUE(contains(t, "#0 RESHAPE")) << t;
  t = text(p, {"in", {}});
  EXPECT_TRUE(contains(t, "tensors, 1 shown:\n    [0] in")) << t;

  // Operator filter: case and '_' do not matter; tensors are the operators'.
  for (const std::string op : {"RESHAPE", "reshape", "Reshape"}) {
    t = text(p, {"", {op}});
    EXPECT_TRUE(contains(t, "operators (execution order), 1 shown:\n    #0 RESHAPE")) << t;
    EXPECT_TRUE(contains(t, "tensors, 3 shown:")) << t;
  }
  t = text(p, {"", {"fully_connected", "reshape"}});
  EXPECT_TRUE(contains(t, "2 shown:")) << t;
  auto j = json(p, {"", {"FullyConnected"}});
  ASSERT_EQ(j["subgraphs"][0]["operators"].size(), 1u);
  EXPECT_EQ(j["subgraphs"][0]["operators"][0]["inputs"][2], nullptr) << "omitted operand";
  EXPECT_EQ(j["subgraphs"][0]["tensors"].size(), 3u);
  EXPECT_EQ(j["filter"]["ops"][0], "FullyConnected");
  // Both: operators of the type that use a matching tensor.
  j = json(p, {"glob:reshape/*", {"fully_connected"}});
  EXPECT_EQ(j["subgraphs"][0]["operators"].size(), 1u);
  EXPECT_EQ(j["subgraphs"][0]["tensors"].size(), 1u);
  EXPECT_EQ(j["subgraphs"][0]["tensors"][0]["name"], "reshape/out");
  // A known type the model does not use shows nothing.
  j = json(p, {"", {"CONV_2D"}});
  EXPECT_TRUE(j["subgraphs"][0]["operators"].empty());

  std::string err = error_of(p, {"", {"CONV2"}});
  EXPECT_TRUE(contains(err, "operator type 'CONV2' is not a " + std::string(format_name(format())) +
                                " operator; closest: "))
      << err;
  EXPECT_TRUE(contains(err, "CONV_2D")) << err;
  err = error_of(p, {"re:(", {}});
  EXPECT_TRUE(contains(err, "tensor filter 're:(': invalid regular expression")) << err;
}

TEST_P(InspectTest, SeveralSubgraphsCustomOperatorsAndOddNames) {
  ModelBuilder b(format());
  const int32_t x = b.tensor("x", {2});
  const int32_t y = b.tensor(std::string("bad\xff"
                                         "name",
                                         8),
                             {2});
  b.op(circle::BuiltinOperator_CUSTOM, {x}, {y}, "MyOp");
  b.inputs({x});
  b.outputs({y});
  b.add_subgraph("body");
  const int32_t a = b.tensor("a", {3}, TensorType::Int32);
  b.inputs({a});
  b.outputs({a});
  const std::string p = dir.file("multi" + ext());
  b.save(p);
  const std::string t = text(p);
  EXPECT_TRUE(contains(t, "2 subgraphs")) << t;
  EXPECT_TRUE(contains(t, "subgraph 1 'body': 1 tensor, 0 operators")) << t;
  EXPECT_TRUE(contains(t, "#0 CUSTOM(MyOp)")) << t;
  EXPECT_TRUE(contains(text(p, {"", {"custom"}}), "1 shown:\n    #0 CUSTOM(MyOp)"));
  EXPECT_TRUE(contains(text(p, {"", {"CUSTOM(MyOp)"}}), "1 shown:\n    #0 CUSTOM(MyOp)"));
  const auto j = json(p);  // invalid UTF-8 in a name is replaced, not a failure
  EXPECT_EQ(j["subgraphs"][1]["name"], "body");
  EXPECT_EQ(j["subgraphs"][1]["tensors"][0]["dtype"], "INT32");
}

TEST(InspectFloatText, ShortestExactDecimal) {
  EXPECT_EQ(float_text(0.27102426f), "0.27102426");
  EXPECT_EQ(float_text(0.5f), "0.5");
  EXPECT_EQ(float_text(1.0f / 3.0f), "0.33333334");
  EXPECT_EQ(float_text(1e-10f), "1e-10");
  for (float f : {0.1f, 3.14159265f, 1.17549435e-38f, 3.40282347e38f, 7.0f / 256})
    EXPECT_EQ(std::strtof(float_text(f).c_str(), nullptr), f) << float_text(f);
}

TEST_P(InspectTest, CommandLine) {
  const std::string p = quantized_model();
  ToolRun r = run_tool("inspect " + shell_quote(p));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "[0] ifm  UINT8")) << r;
  r = run_tool("inspect --json " + shell_quote(p) + " --tensors 'k*'");
  ASSERT_EQ(r.status, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["subgraphs"][0]["tensors"].size(), 1u);
  EXPECT_EQ(j["subgraphs"][0]["tensors"][0]["name"], "ker");
  r = run_tool("inspect " + shell_quote(p) + " --op conv2d,softmax");
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "operators of type conv2d, softmax")) << r;
  r = run_tool("inspect " + shell_quote(p) + " --op conv2d --op nosuchop");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "q-implant: error: operator type 'nosuchop'")) << r;
  r = run_tool("inspect " + shell_quote(dir.file("missing.circle")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "missing.circle")) << r;
  r = run_tool("inspect");
  EXPECT_EQ(r.status, 2) << r;
  // The implant's three-argument form still works next to the subcommands.
  r = run_tool(shell_quote(float_model()) + " " + shell_quote(dir.file("qparam.json")) + " " +
               shell_quote(dir.file("again" + ext())));
  EXPECT_EQ(r.status, 0) << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, InspectTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
