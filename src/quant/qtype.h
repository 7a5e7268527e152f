// The quantized element types a user can ask for in qparam.json, with the facts every stage
// needs about them: schema TensorType, integer range, storage size and the matching numpy dtype.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/model.h"

namespace qimplant {

enum class QType { UInt8, Int8, Int16, Int32, Int64 };

struct QTypeInfo {
  QType qtype;
  const char* name;        // qparam.json spelling: "uint8"
  TensorType tensor_type;  // same value in circle and tflite
  int64_t min;
  int64_t max;
  int size;                // bytes per element
  char npy_kind;           // 'u' / 'i'
};

const QTypeInfo& qtype_info(QType t);
// Case-insensitive lookup of a qparam.json dtype; nullopt when unknown.
std::optional<QType> parse_qtype(const std::string& text);
// "uint8, int8, int16, int32, int64" for messages.
std::string qtype_names();

}  // namespace qimplant
