// A test suite run once per model format (circle, tflite), with what each such test needs.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "model/model.h"
#include "support/test_util.h"

namespace qimplant::test {

class FormatTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return GetParam() == Format::Circle ? ".circle" : ".tflite"; }
  std::string schema() const { return format_name(GetParam()); }  // for decode_with_flatc
  ScratchDir dir;
};

}  // namespace qimplant::test
