#include "support/fixtures.h"

#include "schema/circle_generated.h"

namespace qimplant::test {

ModelBuilder conv2d_model(Format format) {
  ModelBuilder b(format);
  const int32_t ifm = b.tensor("ifm", {1, 2, 2, 2});
  const int32_t ker = b.constant("ker", {1, 1, 1, 2}, {0.311261f, 0.920864f});
  const int32_t bias = b.constant("bias", {1}, {0.502937f});
  const int32_t ofm = b.tensor("ofm", {1, 2, 2, 1});
  b.op(circle::BuiltinOperator_CONV_2D, {ifm, ker, bias}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});
  return b;
}

std::vector<QParamSpec> conv2d_qparams_one_readme() {
  QParamSpec ifm{"ifm", "uint8", {0.27102426f}, {216}};
  QParamSpec ker{"ker", "uint8", {0.44855267f}, {103}};
  ker.value_descr = "|u1";
  ker.value_shape = {1, 1, 1, 2};
  ker.value_bytes = {237, 157};
  QParamSpec bias{"bias", "int32", {0.03877867f}, {97}};
  bias.value_descr = "<i4";
  bias.value_shape = {1};
  bias.value_bytes = {88, 0, 0, 0};
  QParamSpec ofm{"ofm", "uint8", {0.83054835f}, {7}};
  return {ifm, ker, bias, ofm};
}

}  // namespace qimplant::test

namespace qimplant::test {

std::vector<QParamSpec> conv2d_qparams() {
  auto specs = conv2d_qparams_one_readme();
  specs[2].scale = {specs[0].scale[0] * specs[1].scale[0]};
  specs[2].zerop = {0};
  return specs;
}

std::vector<QParamSpec> conv2d_qparams_derived_bias() {
  auto specs = conv2d_qparams_one_readme();
  specs.erase(specs.begin() + 2);
  return specs;
}

ModelBuilder two_by_two(Format f) {
  ModelBuilder b(f);
  const int32_t x = b.tensor("x", {1, 4});
  const int32_t y = b.tensor("y", {1, 4});
  const int32_t a = b.tensor("a", {1, 4});
  const int32_t m = b.tensor("m", {1, 4});
  b.op(circle::BuiltinOperator_ADD, {x, y}, {a});
  b.op(circle::BuiltinOperator_MUL, {x, y}, {m});
  b.inputs({x, y});
  b.outputs({a, m});
  b.signature("serving_default", {{"x", x}, {"y", y}}, {{"a", a}, {"m", m}});
  return b;
}

std::vector<QParamSpec> two_by_two_qparams() {
  return {{"x", "int8", {0.1f}, {1}},
          {"y", "int8", {0.2f}, {2}},
          {"a", "int8", {0.3f}, {3}},
          {"m", "int8", {0.4f}, {4}}};
}

}  // namespace qimplant::test
