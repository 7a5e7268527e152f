// What the implant prints for people (report/text.h): grouped findings, the summary line, and
// the command line's -v, --report and --json around them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/text.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"

namespace qimplant::test {
namespace {

Finding finding(Severity s, const std::string& rule, int32_t op, const std::string& tensor,
                const std::string& message) {
  Finding f;
  f.severity = s;
  f.rule = rule;
  f.op_index = op;
  f.op = "FULLY_CONNECTED";
  f.tensors = {tensor};
  f.message = message;
  return f;
}

TEST(FindingLines, RepeatsOfOneRuleAreOneLineEachStaysWithVerbose) {
  const std::string msg = "ONE's quantized kernels expect uint8 or int16 activations, found INT8";
  std::vector<Finding> fs = {
      finding(Severity::Warning, "one-activation-type", 0, "input", msg),
      finding(Severity::Warning, "one-activation-type", 0, "fc0/out", msg),
      finding(Severity::Warning, "one-activation-type", 1, "fc0/out", msg),
      finding(Severity::Warning, "one-activation-type", 1, "fc1/out", msg),
      finding(Severity::Warning, "one-activation-type", 2, "fc1/out", msg),
      finding(Severity::Warning, "one-activation-type", 2, "fc2/out", msg),
      // Another message of the same rule is its own group, printed as it is.
      finding(Severity::Warning, "weight-type", 1, "w1", "other"),
  };
  const auto lines = finding_lines(fs, false);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "warning [one-activation-type] 6x FULLY_CONNECTED (3 operators), 4 tensors: " + msg +
                " ('input', 'fc0/out', 'fc1/out', ... 1 more)");
  EXPECT_EQ(lines[1], describe_finding_text(fs[6]));

  const auto each = finding_lines(fs, true);
  ASSERT_EQ(each.size(), fs.size());
  for (size_t i = 0; i < fs.size(); ++i) EXPECT_EQ(each[i], describe_finding_text(fs[i]));

  // Errors and warnings of one rule are not mixed; three names are shown without "more".
  fs.resize(3);
  fs[2].severity = Severity::Error;
  const auto split = finding_lines(fs, false);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0], "warning [one-activation-type] 2x FULLY_CONNECTED (1 operator), 2 tensors: " +
                          msg + " ('input', 'fc0/out')");
  EXPECT_EQ(split[1], describe_finding_text(fs[2]));
  EXPECT_TRUE(finding_lines({}, false).empty());
}

TEST(SummaryLine, SaysWrittenOrNotTargetFindingsThenCounts) {
  ImplantOptions o;
  o.output = "out.circle";
  ImplantResult r;
  r.format = Format::Circle;
  r.target = Target::ONE;
  r.output_bytes = 1234;
  ChangeRecord c;
  c.origin = EditOrigin::Implanted;
  r.changes = {c, c};
  c.origin = EditOrigin::Derived;
  r.changes.push_back(c);
  r.findings = {finding(Severity::Warning, "x", 0, "t", "m")};
  EXPECT_EQ(summary_line(o, r),
            "q-implant: wrote out.circle (circle, one rules: 0 error(s), 1 warning(s)): 2 "
            "tensor(s) implanted, 0 propagated, 1 derived, 0 operator(s) inserted; 1234 bytes");

  r.findings.push_back(finding(Severity::Error, "y", 0, "t", "m"));
  o.force = true;
  r.inserted_operators.resize(2);
  r.float_operators = 1;
  EXPECT_EQ(summary_line(o, r),
            "q-implant: wrote out.circle (circle, one rules: 1 error(s) written with --force, 1 "
            "warning(s)): 2 tensor(s) implanted, 0 propagated, 1 derived, 2 operator(s) "
            "inserted, 1 run in float; 1234 bytes");

  o.dry_run = true;
  o.check_rules = false;
  r.target = Target::TFLite;
  r.format = Format::TFLite;
  EXPECT_EQ(summary_line(o, r),
            "q-implant: dry run, nothing written (tflite, tflite rules: not checked): 2 tensor(s) "
            "implanted, 0 propagated, 1 derived, 2 operator(s) inserted, 1 run in float");
}

struct CliOutput {
  int status = -1;
  std::string out, err;
};

CliOutput run(const std::string& args) {
  ScratchDir capture;
  CliOutput r;
  std::string ignored;
  // In a subshell: run_command adds its own redirections after the command.
  r.status = run_command("(" + std::string(QIMPLANT_CLI) + " " + args + " >" + capture.file("out") +
                             " 2>" + capture.file("err") + ")",
                         &ignored);
  const auto out = read_bytes(capture.file("out")), err = read_bytes(capture.file("err"));
  r.out.assign(out.begin(), out.end());
  r.err.assign(err.begin(), err.end());
  return r;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Eight RELUs in a chain, every activation int8 for the ONE target: 16 warnings on 9 tensors.
class GroupedCli : public ::testing::Test {
 protected:
  void SetUp() override { make("int8", 0); }
  // Every tensor `dtype` with zero point `zp`.
  void make(const std::string& dtype, int64_t zp) {
    ModelBuilder b(Format::Circle);
    int32_t prev = b.tensor("x", {1, 4});
    std::vector<QParamSpec> specs = {{"x", dtype, {0.5f}, {zp}}};
    for (int i = 0; i < 8; ++i) {
      const std::string name = "r" + std::to_string(i);
      const int32_t next = b.tensor(name, {1, 4});
      b.op(circle::BuiltinOperator_RELU, {prev}, {next});
      specs.push_back({name, dtype, {0.5f}, {zp}});
      prev = next;
    }
    b.inputs({0});
    b.outputs({prev});
    model_ = dir_.file("in.circle");
    b.save(model_);
    qparam_ = write_qparams(dir_.path(), specs);
    args_ = model_ + " " + qparam_ + " " + dir_.file("out.circle");
  }
  ScratchDir dir_;
  std::string model_, qparam_, args_;
};

TEST_F(GroupedCli, OneLinePerRuleVerboseEachReportEvery) {
  const std::string msg = "ONE's quantized kernels expect uint8 or int16 activations, found INT8";
  const CliOutput plain = run(args_ + " --report " + dir_.file("report.json"));
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.err,
            "q-implant: warning [one-activation-type] 16x RELU (8 operators), 9 "
            "tensors: " +
                msg + " ('x', 'r0', 'r1', ... 6 more)\n");
  EXPECT_EQ(count(plain.out, "\n"), 1u) << plain.out;
  EXPECT_EQ(plain.out.rfind("q-implant: wrote " + dir_.file("out.circle") +
                                " (circle, one rules: 0 error(s), 16 warning(s)): 9 tensor(s) "
                                "implanted, 0 propagated, 0 derived, 0 operator(s) inserted; ",
                            0),
            0u)
      << plain.out;
  const auto report = nlohmann::json::parse(read_bytes(dir_.file("report.json")));
  EXPECT_EQ(report["findings"].size(), 16u);

  const CliOutput verbose = run("-v " + args_);
  ASSERT_EQ(verbose.status, 0) << verbose.err;
  EXPECT_EQ(count(verbose.err, "q-implant: warning [one-activation-type] RELU (operator "), 16u)
      << verbose.err;
  EXPECT_EQ(count(verbose.err, "\n"), 16u) << verbose.err;

  const CliOutput quiet = run("-q " + args_);
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.out + quiet.err, "");
}

TEST_F(GroupedCli, JsonPrintsTheReportOnStdout) {
  const CliOutput r = run("--json " + args_ + " --report " + dir_.file("report.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto printed = nlohmann::json::parse(r.out);
  const auto written = nlohmann::json::parse(read_bytes(dir_.file("report.json")));
  EXPECT_EQ(printed, written);
  EXPECT_EQ(printed["findings"].size(), 16u);
  EXPECT_EQ(printed["changes"].size(), 9u);
  EXPECT_EQ(printed["output"], dir_.file("out.circle"));
  // Findings still go to stderr, grouped; -q silences them and keeps the JSON.
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  const CliOutput quiet = run("--json -q " + args_);
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(nlohmann::json::parse(quiet.out)["findings"].size(), 16u);

  // A bad input prints no JSON, only the one error line.
  const CliOutput bad =
      run("--json " + model_ + " " + dir_.file("missing.json") + " " + dir_.file("o.circle"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err.rfind("q-implant: error: ", 0), 0u) << bad.err;
}

TEST_F(GroupedCli, RepeatedRuleErrorsAreOneLineOfTheMessage) {
  make("int16", 5);  // int16 activations must be symmetric: 16 errors, one message
  const std::string line =
      "error [int16-symmetric] 16x RELU (8 operators), 9 tensors: int16 activations are "
      "symmetric: expected zero point 0, found 5 ('x', 'r0', 'r1', ... 6 more)";
  const CliOutput refused = run(args_);
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("breaks 16 rule(s) of the one target"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("\n  " + line + "\nnothing was written\n"), std::string::npos)
      << refused.err;
  EXPECT_EQ(count(refused.err, "\n"), 3u) << refused.err;

  const CliOutput forced = run("--force " + args_);
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(forced.err, "q-implant: " + line + "\n");
  EXPECT_NE(forced.out.find("(circle, one rules: 16 error(s) written with --force, 0 warning(s))"),
            std::string::npos)
      << forced.out;
  EXPECT_EQ(count(run("-v --force " + args_).err, "q-implant: error [int16-symmetric] RELU"), 16u);
}

}  // namespace
}  // namespace qimplant::test
