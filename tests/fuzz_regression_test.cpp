// Every input a fuzz campaign found (tests/fuzz/regressions/<entry point>/, README.md there says
// what each triggered) run through the CLI as a user would: exit 1, exactly the message a user
// should get, no crash text, no "internal error", and nothing written. Inputs without a model of
// their own use examples/conv2d.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <cmath>

#include "check/rule_check.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/model_builder.h"
#include "support/test_util.h"

namespace qimplant::test {
namespace {

const std::string kDir = std::string(QIMPLANT_SOURCE_DIR) + "/tests/fuzz/regressions/";
const std::string kExamples = std::string(QIMPLANT_SOURCE_DIR) + "/examples/";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // {model}, {eval}... : paths already absolute
  std::string message;            // the whole stderr line, after "q-implant: error: "
};

std::string reg(const std::string& path) {
  return kDir + path;
}

std::vector<Case> cases() {
  const std::string conv = kExamples + "conv2d/qparam.json";
  const std::string conv_bias = kExamples + "conv2d-derived-bias/qparam.json";
  const std::string model_file = "model file '";
  auto eval = [&](const std::string& name, const std::string& file, const std::string& msg) {
    return Case{name, {"eval", reg(file), reg(file)}, model_file + reg(file) + "': " + msg};
  };
  std::vector<Case> c;
  // exec: the interpreter and eval.
  const std::string b2s =
      "operator 0 (BATCH_TO_SPACE_ND): input 1 (block_shape) multiplies out "
      "to more than 2147483647 batches";
  c.push_back(eval("b2s_block_overflow", "exec/b2s-block-overflow.circle", b2s));
  c.push_back(eval("b2s_block_overflow_fuzzed", "exec/b2s-block-overflow-fuzzed.circle", b2s));
  c.push_back(eval("feed_memcpy_null", "exec/feed-memcpy-null.circle",
                   "operator 0 (SPACE_TO_DEPTH): output 0 has shape [1,2,2,4]; expected "
                   "[257,0,2,4]"));
  const std::string minus_one =
      " refers to tensor -1 (the mark of an omitted operand); a graph input or output must be a "
      "tensor of the subgraph";
  c.push_back(eval("input_minus_one", "exec/input-minus-one-fuzzed.circle",
                   "subgraph 0 input" + minus_one));
  c.push_back(eval("input_minus_one_no_tensors", "exec/input-minus-one-no-tensors.circle",
                   "subgraph 0 input" + minus_one));
  c.push_back(
      eval("output_minus_one", "exec/output-minus-one.circle", "subgraph 0 output" + minus_one));
  c.push_back(eval("ker_64g", "exec/ker-64g.circle",
                   "tensor 1 'ker': buffer 1 holds 8 bytes; expected 274877906944 for shape "
                   "[1024,1024,1024,64] of FLOAT32"));
  const std::string limit =
      "; eval's reference interpreter holds at most 268435456 elements per "
      "tensor";
  c.push_back(eval("ofm_64g", "exec/ofm-64g.circle",
                   "tensor 3 'ofm' has shape [1024,1024,1024,64] (68719476736 elements)" + limit));
  c.push_back(eval("lsb_steps_huge", "exec/lsb-steps-huge-fuzzed.circle",
                   "tensor 0 'ifm' has shape [2,2147483646] (4294967292 elements)" + limit));
  c.push_back(eval("tensor_value_huge", "exec/tensor-value-huge-fuzzed.circle",
                   "tensor 0 'ifm' has shape [1073741824,4,4,2] (34359738368 elements)" + limit));
  c.push_back(eval("random_inputs_rss", "exec/random-inputs-rss-oom.circle",
                   "tensor 0 'ifm' has shape [1,2147483647,2,1] (4294967294 elements)" + limit));
  // Its input has a 0 dimension after dimensions that multiply out past int64.
  c.push_back(eval("random_input_zero_dim_overflow", "exec/random-input-zero-dim-overflow.circle",
                   "operator 0 (ADD): input 1 (y) is missing; found 1 inputs"));
  c.push_back(eval("pool_stride_overflow", "exec/pool-stride-overflow.circle",
                   "operator 0 (AVERAGE_POOL_2D): output 0 has shape [1,2,2,2]; expected "
                   "[1,1,2,2]"));
  c.push_back(eval("slow_16m_input", "exec/slow-16M-input.tflite",
                   "operator 0 (SUB): input 0 [1,4,1,4,2] and input 1 [1,1,1,16777216] do not "
                   "broadcast (dimension 4: 2 vs 16777216)"));
  c.push_back(eval("slow_avgpool_4m_input", "exec/slow-avgpool-4M-input.tflite",
                   "operator 0 (AVERAGE_POOL_2D): output 0 has shape [1,2,2,2]; expected "
                   "[1,524288,2,2]"));
  c.push_back(
      {"leaky_relu_multiplier_inf",
       {"eval", reg("exec/leakyrelu-float.circle"), reg("exec/leaky-relu-multiplier-inf.circle")},
       model_file + reg("exec/leaky-relu-multiplier-inf.circle") +
           "': operator 0 (LEAKY_RELU): the requantization multiplier (a ratio of the "
           "tensors' scales) is inf; expected a finite value below 2^31: the scales are "
           "not usable"});
  // implant: implant() and the writer.
  const std::string unwritable = "; the model cannot be rewritten (set ";
  c.push_back({"op_options_type_without_table",
               {reg("implant/op-options-type-without-table.circle"), conv, "o.circle"},
               model_file + reg("implant/op-options-type-without-table.circle") +
                   "': subgraph 0 operator 0: builtin_options_type is Conv2DOptions but the "
                   "builtin_options table is absent" +
                   unwritable + "builtin_options_type to NONE or give the table)"});
  c.push_back({"quant_details_type_without_table",
               {reg("implant/quant-details-type-without-table.circle"), conv, "o.circle"},
               model_file + reg("implant/quant-details-type-without-table.circle") +
                   "': subgraph 0 tensor 0: quantization.details_type is CustomQuantization but "
                   "the quantization.details table is absent" +
                   unwritable + "quantization.details_type to NONE or give the table)"});
  c.push_back({"constant_graph_output_float_interface",
               {reg("implant/constant-graph-output-float-interface.circle"), conv, "o.circle",
                "--input-type", "float32", "--output-type", "float32"},
               "--output-type float32: output 'ker' is a constant (buffer 1), not computed by an "
               "operator, so no conversion can be added for it; leave --output-type out or drop "
               "the constant from the graph's outputs"});
  for (const char* sign : {"neg", "pos"}) {
    const std::string file = std::string("implant/add-const-") + sign + "-inf.circle";
    c.push_back({std::string("add_const_") + sign + "_inf",
                 {reg(file), reg("implant/io.json"), "o.circle"},
                 model_file + reg(file) +
                     "': constant 'rhs' (input 1 of ADD): its float data has " +
                     (sign[0] == 'n' ? "-" : "+") +
                     "inf at element 0, so no parameters can be derived from its range; give it "
                     "an entry in qparam.json or fix the model; nothing was written"});
  }
  c.push_back({"force_empty_scale",
               {reg("implant/force-empty-scale.tflite"), conv_bias, "o.tflite", "--force"},
               model_file + reg("implant/force-empty-scale.tflite") +
                   "': tensor 'bias_copy': the planned INT8 parameters cannot be written (no "
                   "scale to quantize its data with), not even with --force; nothing was "
                   "written"});
  // model: reading.
  c.push_back({"ker_huge_shape",
               {reg("model/ker-huge-shape.circle"), conv, "o.circle"},
               model_file + reg("model/ker-huge-shape.circle") +
                   "': tensor 'ker' has shape [65536, 65536, 65536, 65536] (more than 2^63 "
                   "float32 values) but its buffer 1 holds 8 bytes"});
  c.push_back({"ker_huge_shape2",
               {reg("model/ker-huge-shape2.circle"), conv, "o.circle"},
               model_file + reg("model/ker-huge-shape2.circle") +
                   "': tensor 'ker' has shape [2147483647, 2147483647, 2147483647, 2147483647] "
                   "(more than 2^63 float32 values) but its buffer 1 holds 8 bytes"});
  c.push_back({"misaligned_int64_zero_point",
               {"inspect", reg("model/misaligned-int64-zero-point.circle")},
               model_file + reg("model/misaligned-int64-zero-point.circle") +
                   "': subgraph 1 operator 0 uses operator code 2, but the model has 1"});
  // qparam: qparam.json and the name map.
  c.push_back({"json_number_overflow",
               {kExamples + "conv2d/Conv2D_000.circle", reg("qparam/json-number-overflow.json"),
                "o.circle"},
               "qparam file '" + reg("qparam/json-number-overflow.json") +
                   "': malformed JSON: number overflow parsing '1e999' at line 1, column 6: the "
                   "number is outside the range of a double"});
  c.push_back({"json_number_overflow_name_map",
               {kExamples + "conv2d/Conv2D_000.circle", conv, "o.circle", "--name-map",
                reg("qparam/json-number-overflow-name-map.json")},
               "name map '" + reg("qparam/json-number-overflow-name-map.json") +
                   "': malformed JSON: number overflow parsing '1e400' at line 1, column 9: the "
                   "number is outside the range of a double"});
  c.push_back({"json_number_overflow_structure",
               {kExamples + "conv2d/Conv2D_000.circle", conv, "o.circle", "--match", "structure",
                "--structure", reg("qparam/json-number-overflow-structure.json")},
               "structure file '" + reg("qparam/json-number-overflow-structure.json") +
                   "': malformed JSON: number overflow parsing '1e999' at line 1, column 41: the "
                   "number is outside the range of a double"});
  return c;
}

class FuzzRegression : public ::testing::TestWithParam<Case> {};

TEST_P(FuzzRegression, ExitsOneWithTheMessageAndWritesNothing) {
  const Case& c = GetParam();
  ScratchDir dir;
  std::string cmd = "cd " + quote(dir.path()) + " && " + quote(QIMPLANT_CLI);
  for (const auto& a : c.args) cmd += " " + quote(a);
  ScratchDir capture;
  const int status =
      run_command("(" + cmd + " >/dev/null 2>" + quote(capture.file("err")) + ")", nullptr);
  const auto bytes = read_bytes(capture.file("err"));
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(status, 1) << text;
  // The message ends the output; a multi-line message would be a finding too.
  EXPECT_EQ(text, "q-implant: error: " + c.message + "\n");
  EXPECT_EQ(text.find("internal error"), std::string::npos) << text;
  EXPECT_TRUE(list_dir(dir.path()).empty())
      << "left in the output directory: " << list_dir(dir.path()).front();
}

INSTANTIATE_TEST_SUITE_P(Inputs, FuzzRegression, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// Findings whose fix is that they now work: the output is written and valid.
struct Works {
  std::string name;
  std::vector<std::string> args;
  std::string output;
  std::string expect_in_stdout;
};

class FuzzRegressionWorks : public ::testing::TestWithParam<Works> {};

TEST_P(FuzzRegressionWorks, WritesAValidModel) {
  const Works& w = GetParam();
  ScratchDir dir;
  std::string cmd = "cd " + quote(dir.path()) + " && " + quote(QIMPLANT_CLI);
  for (const auto& a : w.args) cmd += " " + quote(a);
  std::string out;
  ASSERT_EQ(run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find(w.expect_in_stdout), std::string::npos) << out;
  EXPECT_EQ(out.find("internal error"), std::string::npos) << out;
  if (w.output.empty()) return;
  // What was written passes check (every parameter usable) ...
  std::string check;
  const int rc = run_command("cd " + quote(dir.path()) + " && " + quote(QIMPLANT_CLI) +
                                 " check --allow-float " + quote(w.output),
                             &check);
  EXPECT_EQ(check.find("[quant-params]"), std::string::npos) << check;
  EXPECT_EQ(rc, 0) << check;
}

std::vector<Works> works() {
  const std::string conv_bias = kExamples + "conv2d-derived-bias/qparam.json";
  std::vector<Works> w;
  // Denormal constants: the range is too small for a float scale; it is treated as empty.
  w.push_back({"add_const_denormal",
               {"-v", reg("implant/add-const-denormal.circle"), reg("implant/io.json"), "o.circle"},
               "o.circle",
               "derived  'rhs': FLOAT32 -> UINT8, scale 1 zero_point 0"});
  // Names that are not UTF-8 in --report: the report is written (U+FFFD for the bad bytes).
  w.push_back({"bias_not_utf8_report",
               {reg("model/bias-not-utf8.circle"), conv_bias, "o.circle", "--report", "r.json"},
               "",
               "q-implant: wrote o.circle"});
  w.push_back(
      {"not_utf8_eval_json",
       {"eval", reg("model/bias-not-utf8.circle"), reg("model/bias-not-utf8.circle"), "--json"},
       "",
       "\"float_model\""});
  w.push_back({"element_count_overflow_fuzzed",
               {reg("model/element-count-overflow-fuzzed.circle"), kExamples + "conv2d/qparam.json",
                "o.circle"},
               "",
               "q-implant: wrote o.circle"});
  return w;
}

INSTANTIATE_TEST_SUITE_P(Inputs, FuzzRegressionWorks, ::testing::ValuesIn(works()),
                         [](const auto& info) { return info.param.name; });

// check --report with a name that is not UTF-8: the report is written, the findings are kept.
TEST(FuzzRegressionReport, CheckReportWithNonUtf8Name) {
  ScratchDir dir;
  std::string out;
  run_command("cd " + quote(dir.path()) + " && " + quote(QIMPLANT_CLI) + " check " +
                  quote(reg("model/bias-not-utf8.circle")) + " --report r.json",
              &out);
  EXPECT_EQ(out.find("internal error"), std::string::npos) << out;
  ASSERT_TRUE(file_exists(dir.file("r.json"))) << out;
  const auto bytes = read_bytes(dir.file("r.json"));
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD in place of 0xFF
}

// check (and the implant's rule check) look at every quantization parameter of every tensor,
// whatever produced the model: scale 0 or NaN on an activation, a zero point outside the type,
// per-channel lengths against the dimension, scale and zero point counts.
TEST(QuantParamsCheck, EveryParameterOfEveryQuantizedTensor) {
  for (Format format : {Format::Circle, Format::TFLite}) {
    ScratchDir dir;
    ModelBuilder b(format);
    const int32_t in = b.tensor("in", {1, 4}, TensorType::UInt8);
    b.set_quant(in, {0.0f}, {3});
    const int32_t out = b.tensor("out", {1, 4}, TensorType::UInt8);
    b.set_quant(out, {std::nanf("")}, {300});
    b.op(circle::BuiltinOperator_RELU, {in}, {out});
    const int32_t w = b.tensor("w", {2, 1, 1, 4}, TensorType::Int8);
    b.set_quant(w, {0.5f, 0.5f, 0.5f}, {0, 0, 0}, 0);
    const int32_t z = b.tensor("z", {1, 4}, TensorType::Int8);
    b.set_quant(z, {0.5f, 0.25f}, {0}, 1);
    b.inputs({in});
    b.outputs({out});
    const std::string path = dir.file(format == Format::Circle ? "m.circle" : "m.tflite");
    b.save(path);
    auto m = ModelFile::open(path);
    const auto found = check_rules(m->info(), EditPlan{}, default_target(format));
    std::vector<std::string> lines;
    for (const auto& f : found)
      if (f.rule == "quant-params") lines.push_back(describe_finding(m->info(), f));
    EXPECT_EQ(lines,
              (std::vector<std::string>{
                  "error [quant-params] tensor 'in': UINT8 tensor scale is 0; expected a finite "
                  "scale > 0",
                  "error [quant-params] tensor 'out': UINT8 tensor scale is nan; expected a "
                  "finite scale > 0",
                  "error [quant-params] tensor 'out': UINT8 tensor zero point is 300; expected a "
                  "value of UINT8 [0, 255]",
                  "error [quant-params] tensor 'w': INT8 tensor has 3 per-channel scales along "
                  "dimension 0, which has 2 channel(s); expected one scale per channel",
                  "error [quant-params] tensor 'z': INT8 tensor has 2 scale(s) but 1 zero "
                  "point(s); each scale needs its zero point",
                  "error [quant-params] tensor 'z': INT8 tensor has 2 per-channel scales along "
                  "dimension 1, which has 4 channel(s); expected one scale per channel",
              }));
    std::string text;
    EXPECT_EQ(run_command(quote(QIMPLANT_CLI) + " check " + quote(path), &text), 1) << text;
    EXPECT_NE(text.find("error [quant-params] tensor 'in': UINT8 tensor scale is 0"),
              std::string::npos)
        << text;
  }
}

}  // namespace
}  // namespace qimplant::test
