// Getting names to match: the ranking of suggestions for realistic converter names, name
// patterns, pattern keys, the name map (every error case), and `q-implant names`.
#include <gtest/gtest.h>

#include <chrono>

#include "implant.h"
#include "model/model_file.h"
#include "qparam/qparam_file.h"
#include "resolve/key_match.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "support/tools_support.h"
#include "util/error.h"
#include "util/similar.h"

namespace qimplant::test {
namespace {

std::string first(const std::string& query, const std::vector<std::string>& names) {
  const auto near = closest_names(query, names, 5);
  return near.empty() ? "(none)" : near[0];
}

// ---------------------------------------------------------------------------------------------
// Ranking

// What the TFLite converter makes of a Keras model.
const std::vector<std::string> kKerasNames = {
    "serving_default_input_1:0",
    "sequential/conv1/Conv2D",
    "sequential/conv1/BiasAdd/ReadVariableOp",
    "sequential/conv1/Relu;sequential/conv1/BiasAdd;sequential/conv1/Conv2D;sequential/conv1/"
    "BiasAdd/ReadVariableOp",
    "sequential/conv2/Conv2D",
    "sequential/conv2/BiasAdd/ReadVariableOp",
    "sequential/conv2/Relu;sequential/conv2/BiasAdd;sequential/conv2/Conv2D;sequential/conv2/"
    "BiasAdd/ReadVariableOp",
    "sequential/dense/MatMul",
    "sequential/dense/BiasAdd/ReadVariableOp",
    "StatefulPartitionedCall:0",
};

TEST(NameRanking, PyTorchNamesFindKerasConverterNames) {
  EXPECT_EQ(first("conv1.weight", kKerasNames), "sequential/conv1/Conv2D");
  EXPECT_EQ(first("conv1.bias", kKerasNames), "sequential/conv1/BiasAdd/ReadVariableOp");
  EXPECT_EQ(first("conv2.weight", kKerasNames), "sequential/conv2/Conv2D");
  EXPECT_EQ(first("conv2.bias", kKerasNames), "sequential/conv2/BiasAdd/ReadVariableOp");
  EXPECT_EQ(first("fc.weight", kKerasNames), "sequential/dense/MatMul");
  EXPECT_EQ(first("fc.bias", kKerasNames), "sequential/dense/BiasAdd/ReadVariableOp");
  EXPECT_EQ(first("conv1", kKerasNames), "sequential/conv1/Conv2D");
  // Numbers tell layers apart: every conv1 name ranks before any conv2 name.
  const auto near = closest_names("conv1.weight", kKerasNames, 10);
  bool seen_conv2 = false;
  for (const auto& n : near) {
    if (contains(n, "conv2/")) seen_conv2 = true;
    if (contains(n, "conv1/")) {
      EXPECT_FALSE(seen_conv2) << n;
    }
  }
}

// What onnx2circle / onnx2tf keep of a PyTorch model exported to ONNX.
const std::vector<std::string> kOnnxNames = {
    "input",
    "onnx::Conv_193",
    "onnx::Conv_194",
    "/conv1/Conv_output_0",
    "/relu/Relu_output_0",
    "/layer1/layer1.0/conv1/Conv_output_0",
    "/layer1/layer1.1/conv1/Conv_output_0",
    "/layer1/layer1.0/conv2/Conv_output_0",
    "layer1.0.conv1.weight",
    "fc.weight",
    "/fc/Gemm_output_0",
    "output",
};

TEST(NameRanking, PyTorchNamesFindOnnxStyleNames) {
  EXPECT_EQ(first("layer1.0.conv1.weight", kOnnxNames), "layer1.0.conv1.weight");
  const auto layer = closest_names("layer1.0.conv1", kOnnxNames, 2);
  EXPECT_EQ(layer, (std::vector<std::string>{"layer1.0.conv1.weight",
                                             "/layer1/layer1.0/conv1/Conv_output_0"}));
  EXPECT_EQ(first("layer1.1.conv1.weight", kOnnxNames), "/layer1/layer1.1/conv1/Conv_output_0");
  EXPECT_EQ(first("layer1.0.conv2.weight", kOnnxNames), "/layer1/layer1.0/conv2/Conv_output_0");
  EXPECT_EQ(first("conv1", kOnnxNames), "/conv1/Conv_output_0");
  // DataParallel's "module." says nothing about the layer.
  EXPECT_EQ(first("module.fc.weight", kOnnxNames), "fc.weight");
  EXPECT_EQ(first("fc", kOnnxNames), "fc.weight");
}

TEST(NameRanking, SeparatorsAndCaseFoldAndRolesAreSynonyms) {
  EXPECT_EQ(name_similarity("Conv1.Weight", "conv1/weight"), 1.0);
  EXPECT_EQ(name_similarity("a;b", "A/B"), 1.0);
  EXPECT_LT(name_similarity("conv1.weight", "conv1.bias"), 1.0);
  EXPECT_GT(name_similarity("conv1.weight", "model/conv1/kernel"),
            name_similarity("conv1.weight", "model/conv1/bias"));
  EXPECT_GT(name_similarity("subnet.conv2.bias", "model/subnet/conv2/bias"),
            name_similarity("subnet.conv2.bias", "model/subnet/conv2/BiasAdd"));
  EXPECT_GT(name_similarity("subnet.conv2.bias", "model/subnet/conv2/BiasAdd"),
            name_similarity("subnet.conv2.bias", "model/subnet/conv2/weight"));
  EXPECT_LT(name_similarity("conv1", "conv2"), 0.3);
  EXPECT_LT(name_similarity("abc", "xyz"), 0.3);
  // A standalone name beats the same text inside a fused "a;b;c" name.
  EXPECT_GT(name_similarity("conv1.weight", "sequential/conv1/Conv2D"),
            name_similarity("conv1.weight", kKerasNames[3]));
}

TEST(NameRanking, TyposAndShortLists) {
  EXPECT_EQ(first("conv1.wieght", {"conv1.bias", "conv1.weight"}), "conv1.weight");
  const std::vector<std::string> fields = {"dtype", "scale", "zerop", "quantized_dimension",
                                           "value"};
  EXPECT_EQ(first("scales", fields), "scale");
  EXPECT_EQ(first("zero_point", fields), "zerop");
  EXPECT_EQ(first("quantized_dim", fields), "quantized_dimension");
  EXPECT_EQ(first("dtpye", fields), "dtype");
  const std::vector<std::string> one = {"ifm", "ker", "bias", "ofm"};  // ONE's README names
  EXPECT_EQ(first("input", one), "ifm");
  EXPECT_EQ(first("conv.weight", one), "ker");
  EXPECT_EQ(first("conv.bias", one), "bias");
  EXPECT_EQ(first("output", one), "ofm");
  EXPECT_TRUE(closest_names("xyz", kKerasNames, 5).empty()) << "no poor matches";
  EXPECT_TRUE(closest_names("conv1", {}, 5).empty());
  EXPECT_TRUE(closest_names("conv1", kKerasNames, 0).empty());
  EXPECT_EQ(closest_names("w", {"w", "w", "x"}, 5), std::vector<std::string>{"w"})
      << "no duplicates";
  EXPECT_EQ(closest_names("conv1.weight", kKerasNames, 2).size(), 2u);
}

TEST(NameRanking, ManyCandidatesStayFast) {
  std::vector<std::string> names;
  for (int i = 0; i < 10000; ++i) {
    names.push_back("model/block" + std::to_string(i / 10) + "/conv" + std::to_string(i % 10) +
                    "/BiasAdd;model/block" + std::to_string(i / 10) + "/conv" +
                    std::to_string(i % 10) + "/Conv2D");
  }
  names.push_back("model/block1234/conv5/Conv2D");
  EXPECT_EQ(first("block1234.conv5.weight", names), "model/block1234/conv5/Conv2D");
  // An index splits the names once for many queries (q-implant names with many unknown keys).
  const auto start = std::chrono::steady_clock::now();
  const NameIndex index(names);
  for (int q = 0; q < 40; ++q) {
    const std::string key =
        "block" + std::to_string(q * 7) + ".conv" + std::to_string(q % 10) + ".weight";
    const auto near = index.closest(key, 5);
    ASSERT_FALSE(near.empty()) << key;
    EXPECT_TRUE(contains(near[0],
                         "/block" + std::to_string(q * 7) + "/conv" + std::to_string(q % 10) + "/"))
        << key << " -> " << near[0];
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // ~0.2 s optimized; the bound is for Debug + ASan builds on a slow machine.
  EXPECT_LT(seconds, 60.0) << "40 queries over 10000 names";
  EXPECT_EQ(index.closest("conv1.weight", 3), closest_names("conv1.weight", names, 3));
  const NameIndex keras(kKerasNames);
  EXPECT_EQ(keras.closest("conv1.bias", 5), closest_names("conv1.bias", kKerasNames, 5));
}

// ---------------------------------------------------------------------------------------------
// NamePattern

bool glob(const std::string& g, const std::string& name) {
  return NamePattern::parse("glob:" + g, NamePattern::Kind::Exact, "test").matches(name);
}

std::string pattern_error(const std::string& text) {
  try {
    NamePattern::parse(text, NamePattern::Kind::Exact, "ctx");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NamePatternTest, GlobMatchesWholeNames) {
  EXPECT_TRUE(glob("conv*", "conv1/weight"));
  EXPECT_TRUE(glob("conv*", "conv"));
  EXPECT_FALSE(glob("conv*", "xconv1"));
  EXPECT_TRUE(glob("*", "a/b;c:d"));
  EXPECT_TRUE(glob("*/w", "model/conv1/w"));
  EXPECT_FALSE(glob("*/w", "model/conv1/w2"));
  EXPECT_TRUE(glob("a*b*c", "a__b__b__c"));
  EXPECT_FALSE(glob("a*b*c", "a__b__b__"));
  EXPECT_TRUE(glob("conv?/w", "conv1/w"));
  EXPECT_FALSE(glob("conv?/w", "conv12/w"));
  EXPECT_TRUE(glob("conv[12]/w", "conv2/w"));
  EXPECT_FALSE(glob("conv[12]/w", "conv3/w"));
  EXPECT_TRUE(glob("conv[1-3]/w", "conv3/w"));
  EXPECT_TRUE(glob("conv[!1]/w", "conv2/w"));
  EXPECT_FALSE(glob("conv[^1]/w", "conv1/w"));
  EXPECT_TRUE(glob("[]]x", "]x"));
  EXPECT_TRUE(glob("a\\*", "a*"));
  EXPECT_FALSE(glob("a\\*", "ab"));
  EXPECT_TRUE(glob("**x", "x"));
  const NamePattern plain = NamePattern::parse("conv1", NamePattern::Kind::Glob, "t");
  EXPECT_EQ(plain.kind(), NamePattern::Kind::Glob);
  EXPECT_TRUE(plain.matches("conv1"));
  EXPECT_FALSE(plain.matches("conv12"));
}

TEST(NamePatternTest, RegexMatchesWholeNames) {
  const NamePattern p = NamePattern::parse("re:conv\\d+/w", NamePattern::Kind::Exact, "t");
  EXPECT_EQ(p.kind(), NamePattern::Kind::Regex);
  EXPECT_EQ(p.body(), "conv\\d+/w");
  EXPECT_TRUE(p.matches("conv12/w"));
  EXPECT_FALSE(p.matches("model/conv12/w")) << "full match, not search";
  EXPECT_FALSE(p.matches("conv12/w2"));
  EXPECT_TRUE(NamePattern::is_pattern("re:x"));
  EXPECT_TRUE(NamePattern::is_pattern("glob:x"));
  EXPECT_FALSE(NamePattern::is_pattern("x"));
  EXPECT_FALSE(NamePattern::is_pattern("regex:x"));
}

TEST(NamePatternTest, InvalidPatternsAreClearErrors) {
  EXPECT_TRUE(contains(pattern_error("re:conv("), "ctx: invalid regular expression 'conv(': "));
  EXPECT_TRUE(contains(pattern_error("re:[a"), "invalid regular expression '[a'"));
  EXPECT_TRUE(contains(pattern_error("re:"), "ctx: the pattern 're:' is empty"));
  EXPECT_TRUE(contains(pattern_error("glob:"), "the pattern 'glob:' is empty"));
  EXPECT_TRUE(
      contains(pattern_error("glob:a[bc"), "invalid glob 'a[bc': '[' at position 1 is not"));
  EXPECT_TRUE(contains(pattern_error("glob:a\\"), "ends with a lone '\\'"));
  EXPECT_TRUE(contains(pattern_error("glob:[z-a]"), "range 'z-a' is reversed"));
}

// ---------------------------------------------------------------------------------------------
// Keys against a model

// in -> FC(conv1/w, conv1/b) -> conv1/out -> FC(conv2/w, conv2/b) -> conv2/out -> RESHAPE -> out
ModelBuilder two_layer_model(Format format) {
  ModelBuilder b(format);
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t w1 = b.constant("conv1/w", {2, 4}, {1, 2, 3, 4, -1, -2, -3, -4});
  const int32_t b1 = b.constant("conv1/b", {2}, {0.5f, -0.5f});
  const int32_t o1 = b.tensor("conv1/out", {1, 2});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w1, b1}, {o1});
  const int32_t w2 = b.constant("conv2/w", {3, 2}, {1, 2, 3, -1, -2, -3});
  const int32_t b2 = b.constant("conv2/b", {3}, {0.1f, 0.2f, 0.3f});
  const int32_t o2 = b.tensor("conv2/out", {1, 3});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {o1, w2, b2}, {o2});
  const int32_t shape = b.constant_i32("conv2/shape", {2}, {3, 1});
  const int32_t out = b.tensor("out", {3, 1});
  b.op(circle::BuiltinOperator_RESHAPE, {o2, shape}, {out});
  b.inputs({in});
  b.outputs({out});
  return b;
}

class KeyTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }
  void SetUp() override {
    model = dir.file("in" + ext());
    two_layer_model(format()).save(model);
  }
  ImplantOptions options(const std::vector<QParamSpec>& specs) {
    ImplantOptions o;
    o.input = model;
    o.qparam = write_qparams(dir.path(), specs);
    o.output = dir.file("out" + ext());
    // These tests are about which tensor takes which entry; some give parameters that the
    // per-operator rules would refuse (a bias scale, a Reshape changing scale) on purpose.
    o.check_rules = false;
    return o;
  }
  std::string error_of(const ImplantOptions& o) {
    try {
      implant(o);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  const TensorInfo& tensor(const ModelFile& m, const std::string& name) {
    for (const auto& t : m.info().subgraphs[0].tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  }
  std::string map_file(const std::string& text) {
    const std::string p = dir.file("map.json");
    write_text(p, text);
    return p;
  }
  // Every key of the two-layer model given, with the weights and biases by patterns.
  std::vector<QParamSpec> pattern_specs() {
    return {{"in", "int8", {0.1f}, {0}},
            {"glob:*/w", "int8", {0.02f}, {0}},
            {"re:conv[12]/b", "int32", {0.002f}, {0}},
            {"re:conv\\d/out", "int8", {0.1f}, {1}}};
  }

  ScratchDir dir;
  std::string model;
};

TEST_P(KeyTest, PatternKeysApplyOneEntryToEveryMatchingTensor) {
  const auto o = options(pattern_specs());
  const ImplantResult r = implant(o);
  auto m = ModelFile::open(o.output);
  for (const char* w : {"conv1/w", "conv2/w"}) {
    EXPECT_EQ(tensor(*m, w).type, static_cast<int8_t>(TensorType::Int8)) << w;
    EXPECT_EQ(tensor(*m, w).quant.scale, std::vector<float>{0.02f}) << w;
  }
  for (const char* b : {"conv1/b", "conv2/b"})
    EXPECT_EQ(tensor(*m, b).type, static_cast<int8_t>(TensorType::Int32)) << b;
  EXPECT_EQ(tensor(*m, "conv2/out").quant.zero_point, std::vector<int64_t>{1});
  EXPECT_EQ(tensor(*m, "out").type, static_cast<int8_t>(TensorType::Int8)) << "propagated";
  EXPECT_EQ(tensor(*m, "conv2/shape").type, static_cast<int8_t>(TensorType::Int32));
  for (const auto& c : r.changes)
    if (c.tensor == "conv2/w") {
      EXPECT_EQ(c.source, "glob:*/w");
    }
}

TEST_P(KeyTest, PerChannelParametersFromAPatternMustFitEveryTensor) {
  auto specs = pattern_specs();
  specs[1] = {"glob:*/w", "int8", {0.02f, 0.03f}, {0, 0}};  // fits conv1/w [2,4], not conv2/w [3,2]
  const std::string err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "tensor 'conv2/w' (key 'glob:*/w'): \"scale\": has 2 values")) << err;
  EXPECT_TRUE(contains(err, "shape [3, 2]) has size 3")) << err;
}

TEST_P(KeyTest, ExactKeysWinOverPatternsInAnyOrder) {
  for (bool exact_first : {false, true}) {
    auto specs = pattern_specs();
    const QParamSpec exact{"conv2/w", "int8", {0.5f}, {0}};
    specs.insert(exact_first ? specs.begin() : specs.end(), exact);
    auto o = options(specs);
    implant(o);
    auto m = ModelFile::open(o.output);
    EXPECT_EQ(tensor(*m, "conv2/w").quant.scale, std::vector<float>{0.5f});
    EXPECT_EQ(tensor(*m, "conv1/w").quant.scale, std::vector<float>{0.02f});
  }
}

TEST_P(KeyTest, TwoKeysClaimingOneTensorNameBoth) {
  auto specs = pattern_specs();
  specs.push_back({"glob:conv1/*", "int8", {0.1f}, {0}});
  std::string err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "keys 'glob:*/w' and 'glob:conv1/*' both match tensor 'conv1/w'"))
      << err;
  EXPECT_TRUE(contains(err, "exact keys win over patterns")) << err;

  specs = pattern_specs();
  specs.push_back({"#0:in", "int8", {0.1f}, {0}});
  err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "keys 'in' and '#0:in' both name tensor 'in'")) << err;
  EXPECT_FALSE(file_exists(dir.file("out" + ext())));
}

TEST_P(KeyTest, PatternMatchingNoTensorIsAnError) {
  auto specs = pattern_specs();
  specs.push_back({"glob:conv1/weight*", "int8", {0.1f}, {0}});
  const std::string err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "qparam file '" + dir.file("qparam.json") +
                                "': key 'glob:conv1/weight*' matches no tensor in the model '" +
                                model + "'"))
      << err;
  EXPECT_TRUE(contains(err, "closest names: 'conv1/w'")) << err;
}

TEST_P(KeyTest, PatternsClaimFloat32TensorsOnly) {
  auto specs = pattern_specs();
  specs.push_back({"glob:*shape", "int8", {0.1f}, {0}});
  const std::string err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "key 'glob:*shape' matches 1 tensor(s)")) << err;
  EXPECT_TRUE(contains(err, "none of them float32 ('conv2/shape' INT32)")) << err;

  // Matching float tensors too, the pattern leaves the int32 constant alone.
  specs = pattern_specs();
  specs[3] = {"re:conv\\d/(out|shape)", "int8", {0.3f}, {1}};
  auto o = options(specs);
  implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(tensor(*m, "conv2/shape").type, static_cast<int8_t>(TensorType::Int32));
  EXPECT_TRUE(tensor(*m, "conv2/shape").quant.empty());
  EXPECT_EQ(tensor(*m, "conv2/out").type, static_cast<int8_t>(TensorType::Int8));
}

TEST_P(KeyTest, InvalidRegexNamesTheKey) {
  auto specs = pattern_specs();
  specs.push_back({"re:conv(", "int8", {0.1f}, {0}});
  const std::string err = error_of(options(specs));
  EXPECT_TRUE(contains(err, "qparam file '" + dir.file("qparam.json") +
                                "': key 're:conv(': invalid regular expression 'conv(':"))
      << err;
}

// std::regex recurses per character: long names match on a thread with a large stack, and
// names past its limit are a clear error, never a crash.
TEST_P(KeyTest, RegexKeysSurviveVeryLongNames) {
  for (const size_t length : {size_t(12000), size_t(40000)}) {
    SCOPED_TRACE(length);
    ModelBuilder b(format());
    const int32_t x = b.tensor(std::string(length, 'a'), {2});
    const int32_t y = b.tensor("y", {2});
    b.op(circle::BuiltinOperator_RESHAPE, {x, -1}, {y});
    b.inputs({x});
    b.outputs({y});
    b.save(model);
    auto o = options({{"re:((((a)))|b)*", "int8", {0.1f}, {0}}});
    if (length < 16384) {
      implant(o);
      EXPECT_EQ(ModelFile::open(o.output)->info().subgraphs[0].tensors[0].type,
                static_cast<int8_t>(TensorType::Int8));
    } else {
      const std::string err = error_of(o);
      EXPECT_TRUE(contains(err, "key 're:((((a)))|b)*'")) << err;
      EXPECT_TRUE(contains(err, "cannot be matched against the 40000-byte tensor name 'aaa"))
          << err;
      EXPECT_TRUE(contains(err, "use a glob: pattern")) << err;
      o = options({{"glob:a*", "int8", {0.1f}, {0}}});
      EXPECT_NO_THROW(implant(o));
    }
  }
}

TEST_P(KeyTest, AnExactNameIsNeverReadAsAPattern) {
  ModelBuilder b(format());
  const int32_t x = b.tensor("re:x", {2});
  const int32_t y = b.tensor("glob:*", {2});
  b.op(circle::BuiltinOperator_RESHAPE, {x, -1}, {y});
  b.inputs({x});
  b.outputs({y});
  b.save(model);
  auto o = options({{"re:x", "int8", {0.1f}, {0}}, {"glob:*", "int8", {0.2f}, {0}}});
  implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(tensor(*m, "re:x").quant.scale, std::vector<float>{0.1f});
  EXPECT_EQ(tensor(*m, "glob:*").quant.scale, std::vector<float>{0.2f});
}

TEST_P(KeyTest, PatternsLookInEverySubgraph) {
  ModelBuilder b(format());
  for (int s = 0; s < 2; ++s) {
    if (s) b.add_subgraph("second");
    const int32_t x = b.tensor("x", {2});
    const int32_t y = b.tensor("y", {2});
    b.op(circle::BuiltinOperator_RESHAPE, {x, -1}, {y});
    b.inputs({x});
    b.outputs({y});
  }
  b.save(model);
  auto o = options({{"glob:[xy]", "int8", {0.1f}, {0}}, {"#1:y", "int8", {0.7f}, {0}}});
  implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(m->info().subgraphs[0].tensors[1].quant.scale, std::vector<float>{0.1f});
  EXPECT_EQ(m->info().subgraphs[1].tensors[0].quant.scale, std::vector<float>{0.1f});
  EXPECT_EQ(m->info().subgraphs[1].tensors[1].quant.scale, std::vector<float>{0.7f})
      << "a qualified key is exact";
  // Planner messages say which subgraph a pattern's tensor is in.
  o = options({{"glob:[xy]", "int8", {0.1f, 0.2f, 0.3f}, {0, 0, 0}}});
  const std::string err = error_of(o);
  EXPECT_TRUE(contains(err, "tensor 'x' (subgraph 0, key 'glob:[xy]')")) << err;
}

TEST_P(KeyTest, NameMapTranslatesKeysBeforeLookup) {
  auto o = options({{"fc1.weight", "int8", {0.02f}, {0}},
                    {"fc1.bias", "int32", {0.002f}, {0}},
                    {"fc2_weights", "int8", {0.03f}, {0}},
                    {"re:conv2/b", "int32", {0.003f}, {0}},
                    {"input", "int8", {0.1f}, {0}},
                    {"hidden", "int8", {0.2f}, {0}},
                    {"conv2/out", "int8", {0.3f}, {0}}});
  o.name_map = map_file(R"({"fc1.weight": "conv1/w", "fc1.bias": "#0:conv1/b",
                             "fc2_weights": "glob:conv2/w", "input": "in",
                             "hidden": "conv1/out", "unused.key": "nothing"})");
  const ImplantResult r = implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(tensor(*m, "conv1/w").quant.scale, std::vector<float>{0.02f});
  EXPECT_EQ(tensor(*m, "conv1/b").quant.scale, std::vector<float>{0.002f});
  EXPECT_EQ(tensor(*m, "conv2/w").quant.scale, std::vector<float>{0.03f});
  EXPECT_EQ(tensor(*m, "conv2/b").quant.scale, std::vector<float>{0.003f}) << "unmapped key";
  for (const auto& c : r.changes)
    if (c.tensor == "conv1/w") {
      EXPECT_EQ(c.source, "fc1.weight") << "the key as written";
    }
}

TEST_P(KeyTest, NameMapErrors) {
  auto o = options(pattern_specs());
  auto fails_with = [&](const std::string& map_text, std::vector<std::string> parts) {
    o.name_map = map_file(map_text);
    const std::string err = error_of(o);
    for (const auto& p : parts) EXPECT_TRUE(contains(err, p)) << map_text << "\n" << err;
    EXPECT_FALSE(file_exists(o.output));
  };
  const std::string where = "name map '" + dir.file("map.json") + "': ";
  fails_with("[1, 2]", {where + "expected a JSON object mapping qparam.json keys to model "
                                "tensor names",
                        "found an array"});
  fails_with(R"({"in": 3})",
             {where + "key \"in\": expected a string (a model tensor name), found an integer (3)"});
  fails_with(R"({"in": "x", "in": "y"})", {where + "key \"in\" appears more than once"});
  fails_with("{\"in\": ", {where + "malformed JSON", "line 1"});
  fails_with(
      R"({"in": "conv1/weights"})",
      {"qparam file '" + dir.file("qparam.json") + "': key 'in', mapped by name map '" +
           dir.file("map.json") +
           "' to 'conv1/weights': tensor 'conv1/weights' is not in the model '" + model + "'",
       "closest names: 'conv1/w'"});
  // Two keys that end up at one tensor.
  o = options({{"in", "int8", {0.1f}, {0}}, {"input", "int8", {0.1f}, {0}}});
  fails_with(R"({"input": "in"})",
             {"keys 'in' and 'input' (mapped to 'in') both name tensor 'in'"});
  fails_with(R"({"input": "re:("})", {"key 'input', mapped by name map",
                                      "to 're:(': invalid "
                                      "regular expression"});

  o.name_map = dir.file("missing.json");
  const std::string err = error_of(o);
  EXPECT_TRUE(contains(
      err, "name map '" + dir.file("missing.json") + "': cannot open: No such file or directory"))
      << err;
}

TEST_P(KeyTest, MatchKeysReportsEveryKeyWithoutThrowing) {
  auto m = ModelFile::open(model);
  const TensorResolver resolver(m->info());
  NameMap map;
  map.path = "map.json";
  map.add("fc1.weight", "conv1/w");
  const auto matches =
      match_keys({m->info(), resolver, model, "q.json", &map},
                 {"in", "fc1.weight", "glob:*/w", "conv1.bias", "glob:*shape", "re:.*out"});
  ASSERT_EQ(matches.size(), 6u);
  EXPECT_TRUE(matches[0].ok());
  EXPECT_EQ(matches[0].form, KeyForm::Exact);
  EXPECT_TRUE(matches[1].mapped);
  EXPECT_EQ(matches[1].lookup, "conv1/w");
  EXPECT_EQ(matches[2].form, KeyForm::Glob);
  ASSERT_EQ(matches[2].tensors.size(), 1u) << "conv1/w is the mapped exact key's";
  EXPECT_EQ(matches[2].overridden.size(), 1u);
  EXPECT_FALSE(matches[3].ok());
  ASSERT_FALSE(matches[3].candidates.empty());
  EXPECT_EQ(matches[3].candidates[0], "conv1/b");
  EXPECT_FALSE(matches[4].ok());
  EXPECT_EQ(matches[4].not_float.size(), 1u);
  EXPECT_EQ(matches[5].form, KeyForm::Regex);
  EXPECT_EQ(matches[5].tensors.size(), 3u);
  EXPECT_THROW(require_resolved(matches), Error);
}

// ---------------------------------------------------------------------------------------------
// q-implant names, and --name-map on the command line

TEST_P(KeyTest, NamesCommandShowsWhatEachKeyResolvesTo) {
  auto specs = pattern_specs();
  specs.push_back({"re:conv\\d/(b|shape)", "int8", {0.1f}, {0}});  // conflicts with the 3rd key
  specs.push_back({"conv1/w", "int8", {0.5f}, {0}});
  specs.push_back({"fc.weight", "int8", {0.5f}, {0}});
  const std::string q = write_qparams(dir.path(), specs);
  const auto before = list_dir(dir.path());
  ToolRun r = run_tool("names " + shell_quote(model) + " " + shell_quote(q));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.out, "ok    'in' -> 'in'")) << r;
  EXPECT_TRUE(contains(r.out, "ok    'glob:*/w' (glob) -> 1 tensor(s): 'conv2/w'")) << r;
  EXPECT_TRUE(contains(r.out, "taken by exact keys instead: 'conv1/w'")) << r;
  EXPECT_TRUE(contains(r.out, "FAIL  're:conv\\d/(b|shape)'")) << r;
  EXPECT_TRUE(contains(r.out, "both match tensor 'conv1/b'")) << r;
  EXPECT_TRUE(contains(r.out, "FAIL  'fc.weight'")) << r;
  EXPECT_TRUE(contains(r.out, "tensor 'fc.weight' is not in the model")) << r;
  EXPECT_TRUE(contains(r.out, "closest names: 'conv1/w'")) << r;
  EXPECT_TRUE(contains(r.out, "q-implant names: 5 of 7 key(s) resolve")) << r;
  EXPECT_EQ(list_dir(dir.path()).size(), before.size()) << "names writes nothing";

  write_text(dir.file("map.json"), R"({"fc.weight": "conv2/w", "spare": "x"})");
  specs.erase(specs.begin() + 4);  // the conflicting pattern
  specs[1] = {"re:conv\\d/(out|shape)", "int8", {0.3f}, {1}};
  specs.erase(specs.begin() + 3);
  const std::string q2 = write_qparams(dir.path(), specs);
  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q2) + " --name-map " +
               shell_quote(dir.file("map.json")));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "'fc.weight' -> mapped to 'conv2/w' -> 'conv2/w'")) << r;
  EXPECT_TRUE(contains(r.out, "not float32, left alone: 'conv2/shape' INT32")) << r;
  EXPECT_TRUE(contains(r.out, "name map entries no key uses: 'spare'")) << r;
  EXPECT_TRUE(contains(r.out, "5 of 5 key(s) resolve")) << r;

  r = run_tool("names " + shell_quote(model) + " " + shell_quote(q2) + " --name-map " +
               shell_quote(dir.file("nope.json")));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "q-implant: error: name map '" + dir.file("nope.json") + "'")) << r;
  r = run_tool("names " + shell_quote(model));
  EXPECT_EQ(r.status, 2) << r;
}

// names reads keys, dtypes and whether "value" is given, never the npy files: on a model of
// 100,000 tensors opening them was 3.4 of its 5 s. The implant still reads and checks them.
TEST_P(KeyTest, NamesReadsKeysNotNpyFiles) {
  const std::string q = dir.file("keys.json");
  write_text(q, R"({"in": {"dtype": "int8", "scale": "no_scale.npy", "zerop": "no_zerop.npy"},
                    "conv1/wt": {"dtype": "int8", "scale": "s.npy", "zerop": "z.npy",
                                 "value": "no_value.npy"}})");
  ToolRun r = run_tool("names " + shell_quote(model) + " " + shell_quote(q));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.out, "ok    'in' -> 'in'")) << r;
  EXPECT_TRUE(contains(r.out, "FAIL  'conv1/wt'")) << r;
  // Ranked among constants because the entry gives "value", although its file is absent.
  EXPECT_TRUE(contains(r.out, "closest names among constants (the entry has \"value\"): 'conv1/w'"))
      << r;
  EXPECT_TRUE(contains(r.out, "q-implant names: 1 of 2 key(s) resolve")) << r;
  EXPECT_FALSE(contains(r.out + r.err, "no_scale.npy")) << r;

  const QParamFile keys = read_qparam_file(q, QParamDepth::Keys);
  ASSERT_EQ(keys.entries.size(), 2u);
  EXPECT_TRUE(keys.entries[0].scale.empty());
  EXPECT_EQ(keys.entries[1].value_file, "no_value.npy");
  EXPECT_FALSE(keys.entries[1].value.has_value());

  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " +
               shell_quote(dir.file("o" + ext())));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "no_scale.npy")) << r;
  EXPECT_THROW(read_qparam_file(q), Error);
}

TEST_P(KeyTest, ImplantCommandTakesANameMap) {
  const std::string q = write_qparams(dir.path(), {{"input", "int8", {0.1f}, {0}},
                                                   {"glob:*/w", "int8", {0.02f}, {0}},
                                                   {"re:conv[12]/b", "int32", {0.002f}, {0}},
                                                   {"re:conv\\d/out", "int8", {0.1f}, {1}}});
  write_text(dir.file("map.json"), R"({"input": "in"})");
  const std::string out = dir.file("cli" + ext());
  ToolRun r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out) +
                       " --name-map " + shell_quote(dir.file("map.json")));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(ModelFile::open(out)->info().subgraphs[0].tensors[0].type,
            static_cast<int8_t>(TensorType::Int8));
  r = run_tool(shell_quote(model) + " " + shell_quote(q) + " " + shell_quote(out));
  EXPECT_EQ(r.status, 1) << "without the map, 'input' is unknown\n" << r;
  EXPECT_TRUE(contains(r.err, "tensor 'input' is not in the model")) << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, KeyTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
