#include "rules/target.h"

#include "schema/circle_generated.h"

namespace qimplant {

const char* target_name(Target t) {
  return t == Target::TFLite ? "tflite" : "one";
}

std::optional<Target> parse_target(const std::string& text) {
  if (text == "tflite") return Target::TFLite;
  if (text == "one" || text == "circle" || text == "luci") return Target::ONE;
  return std::nullopt;
}

Target default_target(Format format) {
  return format == Format::Circle ? Target::ONE : Target::TFLite;
}

std::optional<FixedParams> fixed_output_params(Target target, int32_t op, QType q) {
  using namespace circle;
  const bool softmax = op == BuiltinOperator_SOFTMAX;
  const bool logistic = op == BuiltinOperator_LOGISTIC;
  const bool tanh = op == BuiltinOperator_TANH;
  if (!softmax && !logistic && !tanh) return std::nullopt;
  // ONE (luci's predefined activation parameters) differs from TFLite for uint8 Softmax
  // (1/255) and int16 Softmax (1/32767); luci has no int8 activations, so int8 follows TFLite.
  if (target == Target::ONE) {
    if (q == QType::UInt8) {
      if (softmax) return FixedParams{1.0f / 255.0f, 0};
      if (logistic) return FixedParams{1.0f / 256.0f, 0};
      return FixedParams{2.0f / 256.0f, 128};
    }
    if (q == QType::Int16) {
      if (softmax) return FixedParams{1.0f / 32767.0f, 0};
      return FixedParams{1.0f / 32768.0f, 0};
    }
  }
  switch (q) {
    case QType::UInt8:
      if (tanh) return FixedParams{1.0f / 128.0f, 128};
      return FixedParams{1.0f / 256.0f, 0};
    case QType::Int8:
      if (tanh) return FixedParams{1.0f / 128.0f, 0};
      return FixedParams{1.0f / 256.0f, -128};
    case QType::Int16:
      return FixedParams{1.0f / 32768.0f, 0};
    default:
      return std::nullopt;
  }
}

QType bias_qtype(QType activation) {
  return activation == QType::Int16 ? QType::Int64 : QType::Int32;
}

}  // namespace qimplant
