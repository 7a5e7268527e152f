#include "model/model.h"

#include "model/schema.h"

namespace qimplant {

const char* format_name(Format format) {
  return format == Format::Circle ? "circle" : "tflite";
}

std::string tensor_type_name(Format format, int8_t type) {
  const TensorTypeRow* row = tensor_type_row(type);
  if (row && (format == Format::Circle ? row->in_circle : row->in_tflite)) return row->name;
  return "TensorType(" + std::to_string(type) + ")";
}

int64_t TensorInfo::element_count() const {
  // Saturates at INT64_MAX: a declared shape may multiply out past int64 (no buffer that big can
  // exist, so every comparison with a buffer size still fails as it should).
  int64_t n = 1;
  for (int32_t d : shape) {
    if (d <= 0) return 0;
    if (__builtin_mul_overflow(n, int64_t(d), &n)) n = INT64_MAX;
  }
  return n;
}

std::string operator_name(const ModelInfo& model, const OperatorInfo& op) {
  const OperatorCodeInfo* code = op.opcode_index < model.operator_codes.size()
                                     ? &model.operator_codes[op.opcode_index]
                                     : nullptr;
  const int32_t builtin = code ? code->builtin_code : op.builtin_code;
  // CUSTOM is 32 in both schemas.
  if (builtin == 32 && code) return "CUSTOM(" + code->custom_code + ")";
  const char* name = nullptr;
  if (model.format == Format::Circle) {
    if (builtin >= Schema<Format::Circle>::op_min && builtin <= Schema<Format::Circle>::op_max)
      name = Schema<Format::Circle>::op_name(builtin);
  } else {
    if (builtin >= Schema<Format::TFLite>::op_min && builtin <= Schema<Format::TFLite>::op_max)
      name = Schema<Format::TFLite>::op_name(builtin);
  }
  if (name && *name) return name;
  return "BuiltinOperator(" + std::to_string(builtin) + ")";
}

}  // namespace qimplant
