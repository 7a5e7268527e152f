// Matching keys by structure (--match structure): the graph file reader (every bad file), the
// matcher on models shaped like ONNX conversions of the seed network (renamed activations, fused
// and separate ReLUs, BN-folded weights, inserted TRANSPOSE/RESHAPE, residual ADD, CONCATENATION),
// ambiguous and impossible matches, graph inputs, `names --match structure --write-map`, the CLI
// round trip, and the suggestions for keys that resolve by name: ranked by kind, all at once.
#include <gtest/gtest.h>

#include <fstream>

#include "implant.h"
#include "match/source_graph.h"
#include "match/structure_match.h"
#include "model/model_file.h"
#include "resolve/key_match.h"
#include "schema/circle_generated.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "support/tools_support.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using namespace circle;

std::vector<float> ramp(size_t n, float scale = 0.01f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(static_cast<int>(i % 17) - 8);
  return v;
}

size_t count(const std::vector<int32_t>& shape) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

exec::OpOptions with_activation(exec::Activation a) {
  exec::OpOptions o;
  o.activation = a;
  return o;
}

// The seed network (conv1..3 + subnet.conv1..4) as onnx2circle would name it, NHWC:
//   input -> conv1 (+fused RELU, BN-folded onnx::Conv_*) -> conv2 -> RELU -> conv3
//         -> subnet.conv1 (+fused RELU6) -> subnet.conv2 -> ADD(subnet.conv2, conv3)
//         -> subnet.conv3 | subnet.conv4 -> CONCATENATION -> TRANSPOSE -> RESHAPE
//         -> FULLY_CONNECTED -> output
// `separate_relu` false fuses conv2's ReLU too (every float tensor then has a key).
ModelBuilder seed_model(Format format, bool separate_relu = true) {
  ModelBuilder b(format);
  auto conv = [&](int32_t in, const std::string& w, const std::string& bias,
                  std::vector<int32_t> wshape, const std::string& out,
                  std::vector<int32_t> out_shape) {
    const int32_t wt = b.constant(w, wshape, ramp(count(wshape)));
    const int32_t bt = b.constant(bias, {wshape[0]}, ramp(static_cast<size_t>(wshape[0]), 0.1f));
    const int32_t o = b.tensor(out, std::move(out_shape));
    const int32_t op = b.op(BuiltinOperator_CONV_2D, {in, wt, bt}, {o});
    return std::make_pair(op, o);
  };
  const int32_t in = b.tensor("input", {1, 10, 10, 3});
  auto [c1, t1] =
      conv(in, "onnx::Conv_23", "onnx::Conv_24", {4, 3, 3, 3}, "/relu/Relu_output_0", {1, 8, 8, 4});
  b.options(c1, with_activation(exec::Activation::Relu));
  int32_t t2;
  if (separate_relu) {
    auto [c2, pre] = conv(t1, "onnx::Conv_26", "onnx::Conv_27", {4, 1, 1, 4},
                          "/conv2/Conv_output_0", {1, 8, 8, 4});
    (void)c2;
    t2 = b.tensor("/relu_1/Relu_output_0", {1, 8, 8, 4});
    b.op(BuiltinOperator_RELU, {pre}, {t2});
  } else {
    auto [c2, out] = conv(t1, "onnx::Conv_26", "onnx::Conv_27", {4, 1, 1, 4},
                          "/relu_1/Relu_output_0", {1, 8, 8, 4});
    b.options(c2, with_activation(exec::Activation::Relu));
    t2 = out;
  }
  auto [c3, t3] =
      conv(t2, "conv3.weight", "conv3.bias", {4, 1, 1, 4}, "/conv3/Conv_output_0", {1, 8, 8, 4});
  (void)c3;
  auto [s1, u1] = conv(t3, "onnx::Conv_29", "onnx::Conv_30", {4, 1, 1, 4},
                       "/subnet/conv1/Conv_output_0", {1, 8, 8, 4});
  b.options(s1, with_activation(exec::Activation::Relu6));
  auto [s2, u2] = conv(u1, "subnet.conv2.weight", "subnet.conv2.bias", {4, 1, 1, 4},
                       "/subnet/conv2/Conv_output_0", {1, 8, 8, 4});
  (void)s2;
  const int32_t sum = b.tensor("/subnet/Add_output_0", {1, 8, 8, 4});
  b.op(BuiltinOperator_ADD, {u2, t3}, {sum});  // operands swapped against the source
  auto [s3, u3] = conv(sum, "subnet.conv3.weight", "subnet.conv3.bias", {2, 1, 1, 4},
                       "/subnet/conv3/Conv_output_0", {1, 8, 8, 2});
  auto [s4, u4] = conv(sum, "subnet.conv4.weight", "subnet.conv4.bias", {3, 1, 1, 4},
                       "/subnet/conv4/Conv_output_0", {1, 8, 8, 3});
  (void)s3;
  (void)s4;
  const int32_t cat = b.tensor("/subnet/Concat_output_0", {1, 8, 8, 5});
  b.op(BuiltinOperator_CONCATENATION, {u3, u4}, {cat});
  const int32_t perm = b.constant_i32("/Constant_output_0", {4}, {0, 3, 1, 2});
  const int32_t nchw = b.tensor("/Transpose_output_0", {1, 5, 8, 8});
  b.op(BuiltinOperator_TRANSPOSE, {cat, perm}, {nchw});
  const int32_t shape = b.constant_i32("/Constant_1_output_0", {2}, {1, 320});
  const int32_t flat = b.tensor("/Reshape_output_0", {1, 320});
  b.op(BuiltinOperator_RESHAPE, {nchw, shape}, {flat});
  const int32_t fw = b.constant("fc.weight", {10, 320}, ramp(3200, 0.001f));
  const int32_t fb = b.constant("fc.bias", {10}, ramp(10, 0.1f));
  const int32_t out = b.tensor("output", {1, 10});
  b.op(BuiltinOperator_FULLY_CONNECTED, {flat, fw, fb}, {out});
  b.inputs({in});
  b.outputs({out});
  return b;
}

// What the exporter writes for the seed network (PyTorch names, fused ConvReLU2d modules).
const char* kSeedGraph = R"({
  "format": "qimplant-graph", "version": 1, "producer": "test",
  "inputs": ["quant"], "outputs": ["fc"],
  "nodes": [
    {"op": "conv2d", "output": "conv1", "inputs": ["quant"], "weight": "conv1.weight",
     "bias": "conv1.bias", "weight_shape": [4, 3, 3, 3], "activation": "relu",
     "module": "conv1", "type": "QuantizedConvReLU2d"},
    {"op": "conv2d", "output": "conv2", "inputs": ["conv1"], "weight": "conv2.weight",
     "bias": "conv2.bias", "weight_shape": [4, 1, 1, 4], "activation": "relu"},
    {"op": "conv2d", "output": "conv3", "inputs": ["conv2"], "weight": "conv3.weight",
     "bias": "conv3.bias", "weight_shape": [4, 1, 1, 4]},
    {"op": "conv2d", "output": "subnet.conv1", "inputs": ["conv3"],
     "weight": "subnet.conv1.weight", "bias": "subnet.conv1.bias", "weight_shape": [4, 1, 1, 4],
     "activation": "relu6"},
    {"op": "conv2d", "output": "subnet.conv2", "inputs": ["subnet.conv1"],
     "weight": "subnet.conv2.weight", "bias": "subnet.conv2.bias", "weight_shape": [4, 1, 1, 4]},
    {"op": "add", "output": "subnet.add", "inputs": ["conv3", "subnet.conv2"]},
    {"op": "conv2d", "output": "subnet.conv3", "inputs": ["subnet.add"],
     "weight": "subnet.conv3.weight", "bias": "subnet.conv3.bias", "weight_shape": [2, 1, 1, 4]},
    {"op": "conv2d", "output": "subnet.conv4", "inputs": ["subnet.add"],
     "weight": "subnet.conv4.weight", "bias": "subnet.conv4.bias", "weight_shape": [3, 1, 1, 4]},
    {"op": "cat", "output": "subnet.cat", "inputs": ["subnet.conv3", "subnet.conv4"]},
    {"op": "flatten", "output": "flatten", "inputs": ["subnet.cat"]},
    {"op": "linear", "output": "fc", "inputs": ["flatten"], "weight": "fc.weight",
     "bias": "fc.bias", "weight_shape": [10, 320]}
  ]
})";

const std::vector<std::pair<std::string, std::string>> kSeedTruth = {
    {"quant", "input"},
    {"conv1", "/relu/Relu_output_0"},
    {"conv1.weight", "onnx::Conv_23"},
    {"conv1.bias", "onnx::Conv_24"},
    {"conv2", "/relu_1/Relu_output_0"},
    {"conv2.weight", "onnx::Conv_26"},
    {"conv2.bias", "onnx::Conv_27"},
    {"conv3", "/conv3/Conv_output_0"},
    {"conv3.weight", "conv3.weight"},
    {"subnet.conv1", "/subnet/conv1/Conv_output_0"},
    {"subnet.conv1.weight", "onnx::Conv_29"},
    {"subnet.conv2", "/subnet/conv2/Conv_output_0"},
    {"subnet.add", "/subnet/Add_output_0"},
    {"subnet.conv3", "/subnet/conv3/Conv_output_0"},
    {"subnet.conv4", "/subnet/conv4/Conv_output_0"},
    {"subnet.conv4.bias", "subnet.conv4.bias"},
    {"subnet.cat", "/subnet/Concat_output_0"},
    {"flatten", "/Reshape_output_0"},
    {"fc", "output"},
    {"fc.weight", "fc.weight"},
    {"fc.bias", "fc.bias"},
};

class StructureTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }
  std::string save(const ModelBuilder& b, const std::string& name = "model") {
    const std::string p = dir.file(name + ext());
    b.save(p);
    return p;
  }
  std::string graph(const std::string& text, const std::string& name = "qparam.graph.json") {
    const std::string p = dir.file(name);
    write_text(p, text);
    return p;
  }
  StructureMatch match(const std::string& model, const std::string& graph_text,
                       const std::vector<std::string>* wanted = nullptr) {
    auto m = ModelFile::open(model);
    return match_structure(*m, read_source_graph(graph(graph_text)), wanted);
  }
  std::string match_error(const std::string& model, const std::string& graph_text,
                          const std::vector<std::string>* wanted = nullptr) {
    try {
      match(model, graph_text, wanted);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  static std::string tensor_of(const StructureMatch& m, const std::string& key) {
    const StructureEntry* e = m.find(key);
    return e ? e->lookup : "(unmatched)";
  }
  ScratchDir dir;
};

TEST_P(StructureTest, SeedNetworkMatchesEveryKeyWithReasons) {
  const std::string model = save(seed_model(format()));
  const StructureMatch m = match(model, kSeedGraph);
  for (const auto& [key, tensor] : kSeedTruth) EXPECT_EQ(tensor_of(m, key), tensor) << key;
  // graph input + 11 outputs + 8 weights + 8 biases (add, cat and flatten have none).
  EXPECT_EQ(m.entries.size(), 1u + 11u + 8u + 8u);
  const StructureEntry* conv1 = m.find("conv1");
  ASSERT_TRUE(conv1);
  EXPECT_TRUE(contains(conv1->reason, "node 0 (conv2d 'conv1', QuantizedConvReLU2d) is #0 CONV_2D"))
      << conv1->reason;
  EXPECT_TRUE(contains(conv1->reason, "weight shape [4,3,3,3]")) << conv1->reason;
  EXPECT_TRUE(contains(conv1->reason, "input 'quant' is 'input'")) << conv1->reason;
  EXPECT_TRUE(contains(conv1->reason, "its relu is RELU fused into #0 CONV_2D")) << conv1->reason;
  const StructureEntry* conv2 = m.find("conv2");
  ASSERT_TRUE(conv2);
  EXPECT_TRUE(contains(conv2->reason, "its relu is #2 RELU")) << conv2->reason;
  // conv2 and conv3 have the same weight shape: connectivity tells them apart.
  EXPECT_TRUE(contains(m.find("conv3")->reason, "the only fit of the model's 7 CONV_2D operators"))
      << m.find("conv3")->reason;
  const StructureEntry* fc = m.find("fc");
  ASSERT_TRUE(fc);
  EXPECT_TRUE(contains(fc->reason, "input 'flatten' is '/Reshape_output_0'")) << fc->reason;
  EXPECT_TRUE(contains(m.find("flatten")->reason,
                       "input 'subnet.cat' is '/Transpose_output_0' through #10 TRANSPOSE"))
      << m.find("flatten")->reason;
  EXPECT_TRUE(contains(m.find("conv1.weight")->reason, "weight (operand 1) of #0 CONV_2D"));
}

TEST_P(StructureTest, ModelWithoutTheFlattenOperatorStillMatches) {
  // onnx2tf may fold the flatten into FULLY_CONNECTED's input: no RESHAPE, only a TRANSPOSE.
  ModelBuilder b(format());
  const int32_t in = b.tensor("x", {1, 2, 2, 3});
  const int32_t q = b.tensor("x_q", {1, 2, 2, 3});
  b.op(BuiltinOperator_QUANTIZE, {in}, {q});  // an inserted QUANTIZE is walked through too
  const int32_t perm = b.constant_i32("perm", {4}, {0, 3, 1, 2});
  const int32_t t = b.tensor("t", {1, 3, 2, 2});
  b.op(BuiltinOperator_TRANSPOSE, {q, perm}, {t});
  const int32_t w = b.constant("onnx::Gemm_7", {4, 12}, ramp(48));
  const int32_t out = b.tensor("output", {1, 4});
  b.op(BuiltinOperator_FULLY_CONNECTED, {t, w, -1}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string model = save(b);
  const char* g = R"({"format": "qimplant-graph", "version": 1, "inputs": ["quant"],
    "outputs": ["fc"], "nodes": [
      {"op": "flatten", "output": "flatten", "inputs": ["quant"]},
      {"op": "linear", "output": "fc", "inputs": ["flatten"], "weight": "fc.weight",
       "bias": "fc.bias", "weight_shape": [4, 12]}]})";
  const std::vector<std::string> wanted = {"quant", "fc", "fc.weight"};
  const StructureMatch m = match(model, g, &wanted);
  EXPECT_EQ(tensor_of(m, "quant"), "x");
  EXPECT_EQ(tensor_of(m, "fc"), "output");
  EXPECT_EQ(tensor_of(m, "fc.weight"), "onnx::Gemm_7");
  EXPECT_TRUE(contains(m.find("fc")->reason, "through #0 QUANTIZE, #1 TRANSPOSE"))
      << m.find("fc")->reason;
  // Keys qparam.json does not have may stay unmatched: notes, not errors.
  ASSERT_EQ(m.notes.size(), 2u);
  EXPECT_TRUE(contains(m.notes[0] + m.notes[1], "'fc.bias'"));
  EXPECT_TRUE(contains(m.notes[0] + m.notes[1], "has no operator in the model"));
  // Wanted, the bias without a bias operand is an error.
  const std::vector<std::string> all = {"quant", "fc", "fc.weight", "fc.bias"};
  const std::string err = match_error(model, g, &all);
  EXPECT_TRUE(contains(err, "key 'fc.bias'")) << err;
  EXPECT_TRUE(contains(err, "no bias operand")) << err;
}

// input -> conv(left) | conv(right) -> ADD / CONCATENATION
ModelBuilder two_branches(Format format, int32_t join) {
  ModelBuilder b(format);
  const int32_t in = b.tensor("input", {1, 4, 4, 3});
  std::vector<int32_t> outs;
  for (const char* n : {"a", "b"}) {
    const int32_t w = b.constant(std::string("w_") + n, {2, 1, 1, 3}, ramp(6));
    const int32_t o = b.tensor(std::string("out_") + n, {1, 4, 4, 2});
    b.op(BuiltinOperator_CONV_2D, {in, w, -1}, {o});
    outs.push_back(o);
  }
  const int32_t out = b.tensor("output", {1, 4, 4, join == BuiltinOperator_ADD ? 2 : 4});
  b.op(join, outs, {out});
  b.inputs({in});
  b.outputs({out});
  return b;
}

std::string branch_graph(const std::string& join) {
  return R"({"format": "qimplant-graph", "version": 1, "inputs": ["quant"], "outputs": ["sum"],
    "nodes": [
      {"op": "conv2d", "output": "left", "inputs": ["quant"], "weight": "left.weight",
       "weight_shape": [2, 1, 1, 3]},
      {"op": "conv2d", "output": "right", "inputs": ["quant"], "weight": "right.weight",
       "weight_shape": [2, 1, 1, 3]},
      {"op": ")" +
         join + R"(", "output": "sum", "inputs": ["left", "right"]}]})";
}

TEST_P(StructureTest, IdenticalParallelBranchesAreAnErrorNamingBoth) {
  const std::string model = save(two_branches(format(), BuiltinOperator_ADD));
  const std::string err = match_error(model, branch_graph("add"));
  EXPECT_TRUE(contains(err, "structure file '" + dir.file("qparam.graph.json") + "'")) << err;
  EXPECT_TRUE(contains(err, "'left', 'left.weight', 'right', 'right.weight' are ambiguous")) << err;
  EXPECT_TRUE(contains(err, "#0 CONV_2D (output 'out_a'), #1 CONV_2D (output 'out_b')")) << err;
  EXPECT_TRUE(contains(err, "--name-map")) << err;
  // The join itself is certain; only the keys it does not need may stay ambiguous.
  const std::vector<std::string> wanted = {"quant", "sum"};
  const StructureMatch m = match(model, branch_graph("add"), &wanted);
  EXPECT_EQ(tensor_of(m, "sum"), "output");
  EXPECT_EQ(m.notes.size(), 1u);
  // CONCATENATION keeps its operand order, which decides.
  const std::string cat = save(two_branches(format(), BuiltinOperator_CONCATENATION), "cat");
  const StructureMatch c = match(cat, branch_graph("cat"));
  EXPECT_EQ(tensor_of(c, "left"), "out_a");
  EXPECT_EQ(tensor_of(c, "right"), "out_b");
  EXPECT_EQ(tensor_of(c, "right.weight"), "w_b");
}

TEST_P(StructureTest, ImpossibleMatchesSayWhyEachCandidateFails) {
  const std::string model = save(seed_model(format()));
  std::string g = kSeedGraph;
  g.replace(g.find("[10, 320]"), 9, "[10, 321]");
  const std::string err = match_error(model, g);
  EXPECT_TRUE(contains(err,
                       "key(s) 'fc', 'fc.weight', 'fc.bias': no operator of the model fits "
                       "node 10 (linear 'fc')"))
      << err;
  EXPECT_TRUE(contains(err,
                       "#12 FULLY_CONNECTED has weight 'fc.weight' of shape [10,320], the "
                       "node's is [10,321]"))
      << err;
  // The model has no such operator at all.
  g = kSeedGraph;
  g.replace(g.find("\"op\": \"add\""), 11, "\"op\": \"mul\"");
  const std::string mul = match_error(model, g);
  EXPECT_TRUE(contains(mul,
                       "'subnet.add': no operator of the model fits node 5 (mul "
                       "'subnet.add'); the model has 0 MUL operator(s)"))
      << mul;
  // An unknown kind names the kinds it knows.
  g = kSeedGraph;
  g.replace(g.find("\"op\": \"add\""), 11, "\"op\": \"plus\"");
  EXPECT_TRUE(contains(match_error(model, g), "unknown op kind 'plus' (expected one of conv2d"));
}

TEST_P(StructureTest, ActivationFusedOnlyByTheModel) {
  // Source: conv then a separate relu; the model fused the ReLU into the convolution.
  ModelBuilder b(format());
  const int32_t in = b.tensor("input", {1, 4, 4, 3});
  const int32_t w = b.constant("onnx::Conv_5", {2, 1, 1, 3}, ramp(6));
  const int32_t out = b.tensor("output", {1, 4, 4, 2});
  const int32_t c = b.op(BuiltinOperator_CONV_2D, {in, w, -1}, {out});
  b.options(c, with_activation(exec::Activation::Relu));
  b.inputs({in});
  b.outputs({out});
  const std::string model = save(b);
  const char* g = R"({"format": "qimplant-graph", "version": 1, "inputs": ["x"],
    "outputs": ["relu"], "nodes": [
      {"op": "conv2d", "output": "conv", "inputs": ["x"], "weight": "conv.weight"},
      {"op": "relu", "output": "relu", "inputs": ["conv"]}]})";
  const std::vector<std::string> wanted = {"x", "relu", "conv.weight"};
  const StructureMatch m = match(model, g, &wanted);
  EXPECT_EQ(tensor_of(m, "relu"), "output");
  EXPECT_EQ(tensor_of(m, "conv.weight"), "onnx::Conv_5");
  EXPECT_EQ(tensor_of(m, "x"), "input");
  const std::string err = match_error(model, g);
  EXPECT_TRUE(contains(err, "key 'conv'")) << err;
  EXPECT_TRUE(contains(err, "fused the activation that follows into it")) << err;
}

TEST_P(StructureTest, GraphInputsPairByPosition) {
  ModelBuilder b(format());
  const int32_t x = b.tensor("serving_default_x:0", {1, 4});
  const int32_t y = b.tensor("serving_default_y:0", {1, 4});
  const int32_t out = b.tensor("StatefulPartitionedCall:0", {1, 4});
  b.op(BuiltinOperator_SUB, {y, x}, {out});
  b.inputs({x, y});
  b.outputs({out});
  const std::string model = save(b);
  // sub is not commutative: y - x pairs 'b' with y.
  const char* g = R"({"format": "qimplant-graph", "version": 1, "inputs": ["a_stub", "b_stub"],
    "outputs": ["diff"], "nodes": [
      {"op": "sub", "output": "diff", "inputs": ["b_stub", "a_stub"]}]})";
  const StructureMatch m = match(model, g);
  EXPECT_EQ(tensor_of(m, "a_stub"), "serving_default_x:0");
  EXPECT_EQ(tensor_of(m, "b_stub"), "serving_default_y:0");
  EXPECT_EQ(tensor_of(m, "diff"), "StatefulPartitionedCall:0");
  EXPECT_TRUE(contains(m.find("a_stub")->reason,
                       "graph input 0 of the source graph is model "
                       "input 0 'serving_default_x:0'"));
  // Swapped operands contradict the source: no fit.
  const char* swapped = R"({"format": "qimplant-graph", "version": 1,
    "inputs": ["a_stub", "b_stub"], "outputs": ["diff"], "nodes": [
      {"op": "sub", "output": "diff", "inputs": ["a_stub", "b_stub"]}]})";
  const std::string err = match_error(model, swapped);
  EXPECT_TRUE(contains(err, "(connectivity)")) << err;
  // Counts that differ cannot be paired.
  const char* one = R"({"format": "qimplant-graph", "version": 1, "inputs": ["q"],
    "outputs": [], "nodes": []})";
  EXPECT_TRUE(contains(match_error(model, one), "the source graph has 1 input(s), the model 2"));
}

// ---------------------------------------------------------------------------------------------
// The graph file

TEST_P(StructureTest, ReaderRoundTripsWhatItWrites) {
  const SourceGraph g = read_source_graph(graph(kSeedGraph));
  EXPECT_EQ(g.producer, "test");
  ASSERT_EQ(g.nodes.size(), 11u);
  EXPECT_EQ(g.nodes[0].type, "QuantizedConvReLU2d");
  EXPECT_EQ(g.nodes[0].weight_shape, (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(g.nodes[5].inputs, (std::vector<std::string>{"conv3", "subnet.conv2"}));
  write_source_graph(g, dir.file("copy.json"));
  const SourceGraph back = read_source_graph(dir.file("copy.json"));
  ASSERT_EQ(back.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(back.nodes[i].op, g.nodes[i].op);
    EXPECT_EQ(back.nodes[i].output, g.nodes[i].output);
    EXPECT_EQ(back.nodes[i].inputs, g.nodes[i].inputs);
    EXPECT_EQ(back.nodes[i].weight, g.nodes[i].weight);
    EXPECT_EQ(back.nodes[i].bias, g.nodes[i].bias);
    EXPECT_EQ(back.nodes[i].weight_shape, g.nodes[i].weight_shape);
    EXPECT_EQ(back.nodes[i].activation, g.nodes[i].activation);
    EXPECT_EQ(back.nodes[i].module, g.nodes[i].module);
    EXPECT_EQ(back.nodes[i].type, g.nodes[i].type);
  }
  EXPECT_EQ(back.inputs, g.inputs);
  EXPECT_EQ(back.outputs, g.outputs);
}

TEST_P(StructureTest, EveryBadGraphFileIsAClearError) {
  const std::string head = R"({"format": "qimplant-graph", "version": 1, "inputs": ["x"], )";
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"{", "malformed JSON"},
      {"[]", "expected a JSON object, found an array"},
      {R"({"format": "onnx", "version": 1})", "field \"format\": expected \"qimplant-graph\""},
      {R"({"version": 1})", "the field \"format\" is missing"},
      {R"({"format": "qimplant-graph"})", "the field \"version\" is missing"},
      {R"({"format": "qimplant-graph", "version": 2})", "reads version 1, found an integer (2)"},
      {R"({"format": "qimplant-graph", "version": 1, "outputs": [], "nodes": []})",
       "the field \"inputs\" is missing"},
      {R"({"format": "qimplant-graph", "version": 1, "inputs": "x", "outputs": [], "nodes": []})",
       "field \"inputs\": expected an array of qparam.json keys, found a string"},
      {R"({"format": "qimplant-graph", "version": 1, "inputs": [3], "outputs": [], "nodes": []})",
       "field \"inputs\" element 0: expected a key (a non-empty string), found an integer (3)"},
      {R"({"format": "qimplant-graph", "version": 1, "inputs": ["x", "x"], "outputs": [],
          "nodes": []})",
       "key 'x' is listed twice"},
      {head + R"("outputs": []})", "the field \"nodes\" is missing"},
      {head + R"("outputs": [], "nodes": {}})",
       "field \"nodes\": expected an array, found an "
       "object"},
      {head + R"("outputs": [], "nodes": [3]})", "node 0: expected an object, found an integer"},
      {head + R"("outputs": [], "nodes": [{"output": "y"}]})",
       "node 0: the field \"op\" is missing"},
      {head + R"("outputs": [], "nodes": [{"op": "", "output": "y"}]})",
       "node 0: field \"op\" is empty"},
      {head + R"("outputs": [], "nodes": [{"op": "relu", "output": 5}]})",
       "node 0: field \"output\": expected a string, found an integer (5)"},
      {head + R"("outputs": [], "nodes": [{"op": "relu", "output": "y", "inputs": ["z"]}]})",
       "node 0 (relu 'y'): input 'z' is neither a graph input nor the output of an earlier node"},
      {head + R"("outputs": [], "nodes": [{"op": "relu", "output": "y", "inputs": ["x"]},
                                          {"op": "relu", "output": "y", "inputs": ["x"]}]})",
       "node 1 (relu 'y'): key 'y' is already the output of node 0 (relu 'y')"},
      {head + R"("outputs": [], "nodes": [{"op": "relu", "output": "x"}]})",
       "key 'x' is already the output of graph input 0"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "activation": "gelu"}]})",
       "node 0 (conv2d 'y'): field \"activation\": expected \"\", \"relu\", \"relu6\" or "
       "\"relu_n1_to_1\", found \"gelu\""},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": "w",
                                            "weight_shape": [3, -1]}]})",
       "field \"weight_shape\" element 1: expected a non-negative integer, found an integer (-1)"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": "w",
                                            "weight_shape": "3x3"}]})",
       "field \"weight_shape\": expected an array, found a string"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight_shape": [3]}]})",
       "field \"weight_shape\" is given without \"weight\""},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": "w"},
                                          {"op": "conv2d", "output": "z", "weight": "w"}]})",
       "node 1 (conv2d 'z'): key 'w' is used for two tensors"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": "w",
                                            "bias": "w"}]})",
       "key 'w' is used for two tensors"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": "w"},
                                          {"op": "relu", "output": "w", "inputs": ["y"]}]})",
       "key 'w' is both a constant and an activation"},
      {head + R"("outputs": [], "nodes": [{"op": "conv2d", "output": "y", "weight": 7}]})",
       "node 0 (conv2d 'y'): field \"weight\": expected a string, found an integer (7)"},
      {head + R"("outputs": ["nope"], "nodes": []})",
       "field \"outputs\": key 'nope' is neither a graph input nor the output of a node"},
  };
  for (const auto& c : cases) {
    const std::string p = graph(c.text, "bad.json");
    try {
      read_source_graph(p);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(contains(msg, "structure file '" + p + "': ")) << msg;
      EXPECT_TRUE(contains(msg, c.message)) << msg << "\nexpected: " << c.message;
    }
  }
  try {
    read_source_graph(dir.file("missing.json"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "structure file '" + dir.file("missing.json") +
                                       "': cannot open: No such file or directory"))
        << e.what();
  }
  // Fields the format does not define are left to their producer.
  EXPECT_NO_THROW(read_source_graph(graph(head + R"("outputs": [], "extra": 1, "nodes": [
      {"op": "relu", "output": "y", "inputs": ["x"], "qscheme": "per_tensor_affine"}]})",
                                          "extra.json")));
}

// ---------------------------------------------------------------------------------------------
// On the command line

std::vector<QParamSpec> seed_specs() {
  std::vector<QParamSpec> specs;
  for (const char* a : {"quant", "conv1", "conv2", "conv3", "subnet.conv1", "subnet.conv2",
                        "subnet.add", "subnet.conv3", "subnet.conv4", "subnet.cat", "fc"})
    specs.push_back({a, "uint8", {0.05f}, {128}});
  for (const char* w :
       {"conv1.weight", "conv2.weight", "conv3.weight", "subnet.conv1.weight",
        "subnet.conv2.weight", "subnet.conv3.weight", "subnet.conv4.weight", "fc.weight"}) {
    specs.push_back({w, "uint8", {0.01f}, {128}});
  }
  return specs;
}

TEST_P(StructureTest, ImplantAndNamesMatchByStructure) {
  const std::string model = save(seed_model(format(), false));
  const std::string q = write_qparams(dir.path(), seed_specs());
  const std::string out = dir.file("out" + ext());
  // Without the graph file: a clear error naming it.
  ToolRun r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out) +
                       " --match structure");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "structure file '" + dir.file("qparam.graph.json") +
                                  "': cannot open: No such file or directory"))
      << r;
  // By name, the keys do not resolve: all of them are listed, suggestions of their kind.
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "14 of 19 qparam.json keys do not resolve")) << r;
  EXPECT_TRUE(contains(r.err, "tensor 'quant' is not in the model")) << r;
  EXPECT_TRUE(contains(r.err, "tensor 'subnet.cat' is not in the model")) << r;
  // By name its bias ranks first; among activations its output does.
  EXPECT_TRUE(contains(r.err, "tensor 'conv3' is not in the model '" + model +
                                  "'; closest names among activations (the entry has no "
                                  "\"value\"): '/conv3/Conv_output_0'"))
      << r;
  EXPECT_TRUE(contains(r.err, "tensor 'quant' is not in the model '" + model +
                                  "'; closest names among activations (the entry has no "
                                  "\"value\"): 'input'"))
      << r;
  const size_t at = r.err.find("tensor 'conv3' is not");
  ASSERT_NE(at, std::string::npos) << r;
  EXPECT_FALSE(contains(r.err.substr(at, r.err.find('\n', at) - at), "'conv3.bias'"))
      << "an activation key is not offered biases\n"
      << r;

  graph(kSeedGraph);
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out) +
               " --match structure --no-check");
  ASSERT_EQ(r.status, 0) << r;
  auto m = ModelFile::open(out);
  const auto& tensors = m->info().subgraphs[0].tensors;
  for (const auto& t : tensors) {
    if (t.name == "/relu/Relu_output_0" || t.name == "input" || t.name == "output") {
      EXPECT_EQ(t.type, static_cast<int8_t>(TensorType::UInt8)) << t.name;
      ASSERT_EQ(t.quant.scale.size(), 1u) << t.name;
      EXPECT_FLOAT_EQ(t.quant.scale[0], 0.05f) << t.name;
    }
    if (t.name == "onnx::Conv_23") {
      ASSERT_EQ(t.quant.scale.size(), 1u);
      EXPECT_FLOAT_EQ(t.quant.scale[0], 0.01f);
    }
  }

  // names --match structure shows the reasons and writes the map for review.
  const std::string map = dir.file("map.json");
  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q) +
               " --match structure --write-map " + shell_quote(map));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "ok    'conv1' -> by structure -> '/relu/Relu_output_0'")) << r;
  EXPECT_TRUE(contains(r.out, "node 0 (conv2d 'conv1', QuantizedConvReLU2d) is #0 CONV_2D")) << r;
  EXPECT_TRUE(contains(r.out, "19 of 19 key(s) resolve")) << r;
  const auto written = nlohmann::json::parse(std::ifstream(map));
  EXPECT_EQ(written.size(), 19u);
  EXPECT_EQ(written["quant"], "input");
  EXPECT_EQ(written["conv2"], "/relu_1/Relu_output_0");
  EXPECT_EQ(written["subnet.conv1.weight"], "onnx::Conv_29");
  EXPECT_EQ(written["fc"], "output");
  // The written map does by name what the structure did.
  const std::string out2 = dir.file("out2" + ext());
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out2) +
               " --no-check --name-map " + shell_quote(map));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(read_bytes(out2), read_bytes(out));

  // An explicit --name-map entry wins over the structure match.
  write_text(dir.file("override.json"),
             R"({"conv3": "/conv3/Conv_output_0", "subnet.add": "glob:/subnet/Add*"})");
  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q) +
               " --match structure --name-map " + shell_quote(dir.file("override.json")));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "ok    'subnet.add' -> mapped to 'glob:/subnet/Add*' (glob)")) << r;

  // --structure names another file; --write-map and --structure need --match structure.
  graph(kSeedGraph, "elsewhere.json");
  std::remove(dir.file("qparam.graph.json").c_str());
  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q) +
               " --match structure --structure " + shell_quote(dir.file("elsewhere.json")));
  EXPECT_EQ(r.status, 0) << r;
  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q) + " --write-map " +
               shell_quote(map));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--write-map is only used with --match structure")) << r;
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out) +
               " --structure " + shell_quote(dir.file("elsewhere.json")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "is only read with --match structure")) << r;
}

TEST_P(StructureTest, EvalImplantMatchesByStructure) {
  const std::string model = save(seed_model(format(), false));
  const std::string q = write_qparams(dir.path(), seed_specs());
  const std::string kept = dir.file("eval_implanted" + ext());
  // By name the keys do not resolve: eval --implant fails as the implant does.
  ToolRun r = run_tool("eval " + shell_quote(model) + " --implant " + shell_quote(q) +
                       " --samples 2 --no-check");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "tensor 'quant' is not in the model")) << r;
  graph(kSeedGraph);
  r = run_tool("eval " + shell_quote(model) + " --implant " + shell_quote(q) +
               " --match structure --samples 2 --no-check --implant-output " + shell_quote(kept));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "2 sample(s)")) << r;
  EXPECT_TRUE(contains(r.out, "graph outputs:")) << r;
  // The model eval ran is the one the implant writes with the same match.
  const std::string out = dir.file("out" + ext());
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out) +
               " --match structure --no-check");
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(read_bytes(kept), read_bytes(out));
  // --structure is honoured by eval too: a file without the graph is named.
  r = run_tool("eval " + shell_quote(model) + " --implant " + shell_quote(q) +
               " --match structure --structure " + shell_quote(dir.file("missing.json")) +
               " --samples 2 --no-check");
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "structure file '" + dir.file("missing.json") + "': cannot open"))
      << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, StructureTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) {
                           return info.param == Format::Circle ? "circle" : "tflite";
                         });

// ---------------------------------------------------------------------------------------------
// Suggestions by kind, and every unresolved key at once

TEST(KeySuggestions, RankedAmongTensorsOfTheKeysKind) {
  ScratchDir dir;
  const std::string model = dir.file("m.circle");
  seed_model(Format::Circle).save(model);
  auto file = ModelFile::open(model);
  const TensorResolver resolver(file->info());
  // An activation key: not its bias (which shares more words), but its output.
  EXPECT_EQ(resolver.suggestions("conv3", 5, SuggestKind::Activation).at(0),
            "/conv3/Conv_output_0");
  EXPECT_EQ(resolver.suggestions("conv3", 5, SuggestKind::Any).at(0).substr(0, 5), "conv3");
  for (const auto& s : resolver.suggestions("subnet.conv2", 5, SuggestKind::Activation))
    EXPECT_TRUE(s.find("Conv_output") != std::string::npos ||
                s.find("_output_0") != std::string::npos || s == "input" || s == "output")
        << s;
  // A constant key: constants only.
  for (const auto& s : resolver.suggestions("conv3.wieght", 5, SuggestKind::Constant))
    EXPECT_TRUE(s.find("Conv_output") == std::string::npos) << s;
  EXPECT_EQ(resolver.suggestions("conv3.wieght", 5, SuggestKind::Constant).at(0), "conv3.weight");
  // A QuantStub key: the graph input first, though it shares no word.
  EXPECT_EQ(resolver.suggestions("quant", 5, SuggestKind::Activation).at(0), "input");
  EXPECT_EQ(resolver.suggestions("model.input_stub", 5, SuggestKind::Activation).at(0), "input");
  EXPECT_TRUE(TensorResolver::looks_like_input("QuantStub"));
  EXPECT_TRUE(TensorResolver::looks_like_input("x"));
  EXPECT_FALSE(TensorResolver::looks_like_input("dequant"));
  EXPECT_FALSE(TensorResolver::looks_like_input("conv1"));
  // A weight without "value" is quantized from float: named so, it is offered constants too.
  EXPECT_EQ(resolver.suggestions("model.conv3.weight", 5, SuggestKind::Activation).at(0),
            "conv3.weight");
}

TEST(KeySuggestions, EveryUnresolvedKeyInOneError) {
  ScratchDir dir;
  const std::string model = dir.file("m.circle");
  seed_model(Format::Circle, false).save(model);
  std::vector<QParamSpec> specs;
  for (int i = 0; i < 25; ++i)
    specs.push_back({"missing" + std::to_string(i), "uint8", {0.1f}, {0}});
  specs.push_back({"input", "uint8", {0.1f}, {0}});
  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), specs);
  o.output = dir.file("out.circle");
  try {
    implant(o);
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, "25 of 26 qparam.json keys do not resolve")) << msg;
    EXPECT_TRUE(contains(msg, "tensor 'missing0' is not in the model")) << msg;
    EXPECT_TRUE(contains(msg, "tensor 'missing19' is not in the model")) << msg;
    EXPECT_FALSE(contains(msg, "tensor 'missing20' is not")) << msg;
    EXPECT_TRUE(contains(msg, "... and 5 more key(s)")) << msg;
  }
  EXPECT_FALSE(file_exists(o.output));
}

}  // namespace
}  // namespace qimplant::test
