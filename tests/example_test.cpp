// The bundled examples (examples/) are what tools/make_example.cpp writes, and they implant.
#include <gtest/gtest.h>

#include "implant.h"
#include "model/model_file.h"
#include "support/fixtures.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

const std::string kExamples = std::string(QIMPLANT_SOURCE_DIR) + "/examples";

void expect_same_files(const std::string& bundled, const std::string& made) {
  for (const auto& name : list_dir(made))
    EXPECT_EQ(read_bytes(bundled + "/" + name), read_bytes(made + "/" + name)) << name;
  EXPECT_EQ(list_dir(bundled).size(), list_dir(made).size()) << bundled;
}

TEST(ExampleTest, BundledFilesMatchTheGenerator) {
  ScratchDir dir;
  conv2d_model(Format::Circle).save(dir.file("Conv2D_000.circle"));
  write_qparams(dir.path(), conv2d_qparams());
  expect_same_files(kExamples + "/conv2d", dir.path());
  ScratchDir derived;
  conv2d_model(Format::Circle).save(derived.file("Conv2D_000.circle"));
  write_qparams(derived.path(), conv2d_qparams_derived_bias());
  expect_same_files(kExamples + "/conv2d-derived-bias", derived.path());
}

ImplantResult run_example(const std::string& name, const std::string& out) {
  ImplantOptions o;
  o.input = kExamples + "/" + name + "/Conv2D_000.circle";
  o.qparam = kExamples + "/" + name + "/qparam.json";
  o.output = out;
  return implant(o);
}

TEST(ExampleTest, BundledExamplesImplant) {
  ScratchDir dir;
  EXPECT_EQ(run_example("conv2d", dir.file("a.circle")).changes.size(), 4u);
  const ImplantResult r = run_example("conv2d-derived-bias", dir.file("b.circle"));
  ASSERT_EQ(r.changes.size(), 4u);
  EXPECT_EQ(r.changes[2].tensor, "bias");
  EXPECT_EQ(r.changes[2].origin, EditOrigin::Derived);
  auto m = ModelFile::open(dir.file("b.circle"));
  const auto& bias = m->info().subgraphs[0].tensors[2];
  EXPECT_EQ(bias.type, static_cast<int8_t>(TensorType::Int32));
  EXPECT_EQ(bias.quant.scale, std::vector<float>{0.27102426f * 0.44855267f});
}

TEST(ExampleTest, OneReadmeRandomBiasIsReportedAndForceWritesAnyway) {
  ScratchDir dir;
  conv2d_model(Format::Circle).save(dir.file("in.circle"));
  ImplantOptions o;
  o.input = dir.file("in.circle");
  o.qparam = write_qparams(dir.path(), conv2d_qparams_one_readme());
  o.output = dir.file("out.circle");
  try {
    implant(o);
    ADD_FAILURE() << "the README's random bias must break the bias rule";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[bias-scale] CONV_2D (operator 0)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[bias-zero-point]"), std::string::npos) << msg;
  }
  EXPECT_FALSE(file_exists(o.output));
  o.force = true;
  const ImplantResult r = implant(o);
  EXPECT_EQ(r.findings.size(), 2u);
  EXPECT_TRUE(file_exists(o.output));
}

}  // namespace
}  // namespace qimplant::test
