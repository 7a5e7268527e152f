// The bundled example (examples/conv2d) is what tools/make_example.cpp writes, and it implants.
#include <gtest/gtest.h>

#include "implant.h"
#include "support/fixtures.h"

namespace qimplant::test {
namespace {

TEST(ExampleTest, BundledFilesMatchTheGenerator) {
  ScratchDir dir;
  conv2d_model(Format::Circle).save(dir.file("Conv2D_000.circle"));
  write_qparams(dir.path(), conv2d_qparams());
  const std::string bundled = std::string(QIMPLANT_SOURCE_DIR) + "/examples/conv2d";
  for (const auto& name : list_dir(dir.path())) {
    EXPECT_EQ(read_bytes(bundled + "/" + name), read_bytes(dir.file(name))) << name;
  }
  EXPECT_EQ(list_dir(bundled).size(), list_dir(dir.path()).size());
}

TEST(ExampleTest, BundledExampleImplants) {
  ScratchDir dir;
  const std::string bundled = std::string(QIMPLANT_SOURCE_DIR) + "/examples/conv2d";
  ImplantOptions o;
  o.input = bundled + "/Conv2D_000.circle";
  o.qparam = bundled + "/qparam.json";
  o.output = dir.file("out.circle");
  EXPECT_EQ(implant(o).changes.size(), 4u);
  EXPECT_TRUE(file_exists(o.output));
}

}  // namespace
}  // namespace qimplant::test
