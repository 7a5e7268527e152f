// The q-implant binary as users run it: argument forms, options, exit codes and what it prints.
// stdout and stderr are captured separately so that each can be checked on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "implant.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"

namespace qimplant::test {
namespace {

struct CliRun {
  int status = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string read_text(const std::string& path) {
  const auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// Runs the CLI with `args` (already quoted where needed).
CliRun run_cli(const std::string& args) {
  ScratchDir capture;
  const std::string cmd = "(" + quote(QIMPLANT_CLI) + " " + args + " >" +
                          quote(capture.file("out")) + " 2>" + quote(capture.file("err")) + ")";
  CliRun r;
  std::string ignored;
  r.status = run_command(cmd, &ignored);
  r.out = read_text(capture.file("out"));
  r.err = read_text(capture.file("err"));
  return r;
}

std::ostream& operator<<(std::ostream& os, const CliRun& r) {
  return os << "exit " << r.status << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What an uncaught exception or a crash leaves on stderr.
void expect_no_crash_text(const CliRun& r) {
  for (const char* bad :
       {"terminate called", "what():", "_Map_base", "Aborted", "core dumped", "Segmentation"}) {
    EXPECT_FALSE(has(r.err, bad)) << bad << "\n" << r;
    EXPECT_FALSE(has(r.out, bad)) << bad << "\n" << r;
  }
}

int8_t tensor_type(const std::string& model, uint32_t tensor) {
  return ModelFile::open(model)->info().subgraphs[0].tensors[tensor].type;
}

// ONE's README qparams with the bias made consistent with its operands (scale = input scale x
// weight scale, zero point 0), so that a model checker has nothing to object to.
std::vector<QParamSpec> readme_qparams() {
  auto specs = conv2d_qparams();
  specs[2].scale = {specs[0].scale[0] * specs[1].scale[0]};
  specs[2].zerop = {0};
  return specs;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.file("in.circle");
    conv2d_model(Format::Circle).save(model_);
    qparam_ = write_qparams(dir_.path(), readme_qparams());
    output_ = dir_.file("out.circle");
  }
  // "in.circle qparam.json out.circle", quoted.
  std::string positional() const {
    return quote(model_) + " " + quote(qparam_) + " " + quote(output_);
  }

  ScratchDir dir_;
  std::string model_, qparam_, output_;
};

TEST_F(CliTest, Help) {
  const CliRun r = run_cli("--help");
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(has(r.out, "Usage: q-implant input.circle qparam.json output.circle")) << r;
  for (const char* opt : {"--input", "--param", "--output", "--verbose", "--rounding",
                          "--no-propagate", "--allow-float", "--dry-run", "--in-place", "--quiet"})
    EXPECT_TRUE(has(r.out, opt)) << opt << "\n" << r;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, Version) {
  const CliRun r = run_cli("--version");
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out, std::string("q-implant ") + QIMPLANT_VERSION + "\n");
}

TEST_F(CliTest, NoArgumentsIsAUsageError) {
  const CliRun r = run_cli("");
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_TRUE(has(r.err, "q-implant: input is required")) << r;
  EXPECT_TRUE(has(r.err, "--help")) << r;
  expect_no_crash_text(r);

  const CliRun two = run_cli(quote(model_) + " " + quote(qparam_));  // no output
  EXPECT_EQ(two.status, 2) << two;
  EXPECT_TRUE(has(two.err, "output is required")) << two;
  expect_no_crash_text(two);
}

TEST_F(CliTest, PositionalAndLongFormsWriteTheSameBytes) {
  for (Format f : {Format::Circle, Format::TFLite}) {
    SCOPED_TRACE(format_name(f));
    const std::string ext = f == Format::Circle ? ".circle" : ".tflite";
    const std::string model = dir_.file(std::string("model") + ext);
    conv2d_model(f).save(model);
    const std::string a = dir_.file("positional" + ext), b = dir_.file("long" + ext),
                      c = dir_.file("library" + ext);
    const CliRun r1 = run_cli(quote(model) + " " + quote(qparam_) + " " + quote(a));
    ASSERT_EQ(r1.status, 0) << r1;
    const CliRun r2 =
        run_cli("--input " + quote(model) + " --param " + quote(qparam_) + " --output " + quote(b));
    ASSERT_EQ(r2.status, 0) << r2;
    ImplantOptions o;
    o.input = model;
    o.qparam = qparam_;
    o.output = c;
    implant(o);
    const auto bytes = read_bytes(a);
    EXPECT_EQ(read_bytes(b), bytes);
    EXPECT_EQ(read_bytes(c), bytes) << "the CLI writes what the library writes";
    auto m = ModelFile::open(a);
    EXPECT_EQ(m->format(), f);
    EXPECT_EQ(m->info().subgraphs[0].tensors[0].type, static_cast<int8_t>(TensorType::UInt8));
  }
  // The same argument given both ways, differently, is refused.
  const CliRun both = run_cli(positional() + " --input " + quote(dir_.file("other.circle")));
  EXPECT_EQ(both.status, 2) << both;
  EXPECT_TRUE(has(both.err, "input given twice")) << both;
  expect_no_crash_text(both);
}

TEST_F(CliTest, VerbosePrintsEachChangedTensor) {
  const CliRun r = run_cli("-v " + positional());
  ASSERT_EQ(r.status, 0) << r;
  for (const char* line :
       {"implanted  'ifm': FLOAT32 -> UINT8, scale 0.2710243 zero_point 216",
        "implanted  'ker': FLOAT32 -> UINT8, scale 0.4485527 zero_point 103, "
        "data from value",
        "implanted  'bias': FLOAT32 -> INT32", "implanted  'ofm': FLOAT32 -> UINT8"}) {
    EXPECT_TRUE(has(r.out, line)) << line << "\n" << r;
  }
  EXPECT_TRUE(has(r.out, "q-implant: wrote " + output_)) << r;
  EXPECT_TRUE(has(r.out, "4 tensor(s) implanted")) << r;
  EXPECT_EQ(r.err, "");

  const CliRun plain = run_cli(positional());
  ASSERT_EQ(plain.status, 0) << plain;
  EXPECT_FALSE(has(plain.out, "'ker'")) << "only -v lists tensors\n" << plain;
  EXPECT_TRUE(has(plain.out, "4 tensor(s) implanted")) << plain;
  const CliRun verbose = run_cli("--verbose " + positional());
  EXPECT_EQ(verbose.out, r.out);
}

TEST_F(CliTest, QuietPrintsNothing) {
  for (const char* flag : {"--quiet", "-q"}) {
    SCOPED_TRACE(flag);
    std::remove(output_.c_str());
    const CliRun r = run_cli(std::string(flag) + " " + positional());
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(file_exists(output_));
  }
}

TEST_F(CliTest, BadInputExitsOneWithOneErrorLine) {
  struct Case {
    const char* name;
    std::string args;
  };
  write_text(dir_.file("bad.json"), "{\"ifm\": {\"dtype\": \"uint8\",}}");
  write_text(dir_.file("unknown.json"),
             "{\"nope\": {\"dtype\": \"uint8\", \"scale\": \"0.npy\", "
             "\"zerop\": \"1.npy\"}}");
  write_text(dir_.file("typo.json"), "{\"ifm\": {\"dtype\": \"uint8\", \"scales\": \"0.npy\"}}");
  write_text(dir_.file("notnpy.json"),
             "{\"ifm\": {\"dtype\": \"uint8\", \"scale\": \"bad.json\", \"zerop\": \"1.npy\"}}");
  auto half = read_bytes(model_);
  half.resize(half.size() / 2);
  write_bytes(dir_.file("half.circle"), half);
  const std::string out = " " + quote(output_);
  const Case cases[] = {
      {"missing model", quote(dir_.file("missing.circle")) + " " + quote(qparam_) + out},
      {"truncated model", quote(dir_.file("half.circle")) + " " + quote(qparam_) + out},
      {"model is a directory", quote(dir_.path()) + " " + quote(qparam_) + out},
      {"missing qparam", quote(model_) + " " + quote(dir_.file("missing.json")) + out},
      {"malformed json", quote(model_) + " " + quote(dir_.file("bad.json")) + out},
      {"unknown tensor", quote(model_) + " " + quote(dir_.file("unknown.json")) + out},
      {"unknown key", quote(model_) + " " + quote(dir_.file("typo.json")) + out},
      {"not an npy file", quote(model_) + " " + quote(dir_.file("notnpy.json")) + out},
      {"output is input", quote(model_) + " " + quote(qparam_) + " " + quote(model_)},
      {"missing output dir",
       quote(model_) + " " + quote(qparam_) + " " + quote(dir_.file("no/such/dir/out.circle"))},
  };
  const auto model_before = read_bytes(model_);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const CliRun r = run_cli(c.args);
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_EQ(r.err.rfind("q-implant: error: ", 0), 0u) << r;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
    EXPECT_EQ(r.err.back(), '\n') << r;
    EXPECT_EQ(r.out, "");
    expect_no_crash_text(r);
    EXPECT_FALSE(file_exists(output_));
    EXPECT_EQ(read_bytes(model_), model_before);
  }
}

// A model whose constant quantizes differently under the two rounding rules: w / 1 = 0.5, -2.5.
class CliRoundingTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ModelBuilder b(Format::Circle);
    const int32_t in = b.tensor("in", {2});
    w_ = b.constant("w", {2}, {0.5f, -2.5f});
    const int32_t out = b.tensor("out", {2});
    b.op(circle::BuiltinOperator_MUL, {in, w_}, {out});
    b.inputs({in});
    b.outputs({out});
    b.save(model_);
    qparam_ = write_qparams(
        dir_.path(),
        {{"in", "int8", {0.1f}, {0}}, {"w", "int8", {1.0f}, {0}}, {"out", "int8", {0.1f}, {0}}});
  }
  std::vector<int8_t> weights() const {
    auto m = ModelFile::open(output_);
    const auto& buf = m->info().buffers[m->info().subgraphs[0].tensors[w_].buffer];
    std::vector<int8_t> out(buf.size);
    std::memcpy(out.data(), buf.data, buf.size);
    return out;
  }
  int32_t w_ = 0;
};

TEST_F(CliRoundingTest, RoundingOption) {
  CliRun r = run_cli(positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(weights(), (std::vector<int8_t>{0, -2})) << "half to even by default";
  r = run_cli("--rounding half-away " + positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(weights(), (std::vector<int8_t>{1, -3}));
  r = run_cli("--rounding=half-even " + positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(weights(), (std::vector<int8_t>{0, -2}));

  std::remove(output_.c_str());
  for (const char* bad : {"up", "half_away", "\"\""}) {
    SCOPED_TRACE(bad);
    r = run_cli(std::string("--rounding ") + bad + " " + positional());
    EXPECT_NE(r.status, 0) << r;
    EXPECT_NE(r.status, 1) << "a usage error, not a failed run\n" << r;
    EXPECT_TRUE(has(r.err, "--rounding")) << r;
    EXPECT_TRUE(has(r.err, "half-away")) << "the accepted values are listed\n" << r;
    expect_no_crash_text(r);
    EXPECT_FALSE(file_exists(output_));
  }
}

TEST_F(CliTest, NoPropagate) {
  ModelBuilder b(Format::Circle);
  const int32_t in = b.tensor("in", {1, 4});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 2});
  const int32_t reshaped = b.tensor("reshaped", {2, 2});
  b.op(circle::BuiltinOperator_RESHAPE, {in, shape}, {reshaped});
  b.inputs({in});
  b.outputs({reshaped});
  b.save(model_);
  qparam_ = write_qparams(dir_.path(), {{"in", "int8", {0.5f}, {1}}});

  CliRun r = run_cli("-v " + positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(has(r.out, "propagated  'reshaped'")) << r;
  EXPECT_EQ(tensor_type(output_, reshaped), static_cast<int8_t>(TensorType::Int8));

  std::remove(output_.c_str());
  r = run_cli("--no-propagate " + positional());
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(r.err.rfind("q-implant: error: ", 0), 0u) << r;
  EXPECT_TRUE(has(r.err, "'reshaped'")) << r;
  expect_no_crash_text(r);
  EXPECT_FALSE(file_exists(output_));

  r = run_cli("--no-propagate --allow-float " + positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(tensor_type(output_, reshaped), static_cast<int8_t>(TensorType::Float32));
}

TEST_F(CliTest, AllowFloat) {
  auto specs = readme_qparams();
  specs.pop_back();  // no parameters for ofm
  qparam_ = write_qparams(dir_.path(), specs);

  CliRun r = run_cli(positional());
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(r.err.rfind("q-implant: error: ", 0), 0u) << r;
  EXPECT_TRUE(has(r.err, "'ofm'")) << r;
  EXPECT_TRUE(has(r.err, "--allow-float")) << r;
  expect_no_crash_text(r);
  EXPECT_FALSE(file_exists(output_));

  r = run_cli("--allow-float " + positional());
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(has(r.out, "kept float  'ofm'")) << r;
  EXPECT_EQ(tensor_type(output_, 3), static_cast<int8_t>(TensorType::Float32));
  EXPECT_EQ(tensor_type(output_, 0), static_cast<int8_t>(TensorType::UInt8));
}

TEST_F(CliTest, DryRunWritesNothing) {
  const auto before = list_dir(dir_.path());
  CliRun r = run_cli("--dry-run -v " + positional());
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(has(r.out, "dry run, nothing written")) << r;
  EXPECT_TRUE(has(r.out, "implanted  'ifm'")) << r;
  EXPECT_FALSE(file_exists(output_));
  EXPECT_EQ(list_dir(dir_.path()), before);

  // The output may be left out, and problems are still found.
  r = run_cli("--dry-run " + quote(model_) + " " + quote(qparam_));
  EXPECT_EQ(r.status, 0) << r;
  npy::save(dir_.file("1.npy"), std::vector<int64_t>{256}, {1});
  r = run_cli("--dry-run " + positional());
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(has(r.err, "zerop[0] is 256")) << r;
  EXPECT_FALSE(file_exists(output_));
}

TEST_F(CliTest, InPlace) {
  const auto before = read_bytes(model_);
  const auto listing = list_dir(dir_.path());
  const std::string same = quote(model_) + " " + quote(qparam_) + " " + quote(model_);
  CliRun r = run_cli(same);
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(has(r.err, "--in-place")) << r;
  EXPECT_EQ(read_bytes(model_), before);

  r = run_cli("--in-place " + same);
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_NE(read_bytes(model_), before);
  EXPECT_EQ(tensor_type(model_, 0), static_cast<int8_t>(TensorType::UInt8));
  EXPECT_EQ(list_dir(dir_.path()).size(), listing.size()) << "no temporary file left";
}

}  // namespace
}  // namespace qimplant::test
