// The quantized element types a user can ask for in qparam.json, with the facts every stage
// needs about them: schema TensorType, integer range, storage size and the matching numpy dtype.
// (QType itself and the range and sizes come from the tensor-type table, model/tensor_type.h.)
//
// 4-bit types (int4, uint4) are stored packed, two elements per byte (see quant/pack4.h); in
// memory, in npy "value" files and as the quantizer's output they take one byte per element
// (int8 / uint8). uint4 exists only in circle (TensorType UINT4 = -1); tflite has INT4 only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "model/model.h"

namespace qimplant {

struct QTypeInfo {
  QType qtype;
  const char* name;        // qparam.json spelling: "uint8"
  TensorType tensor_type;  // same value in circle and tflite (UINT4: circle only)
  int64_t min;
  int64_t max;
  int bits;           // stored bits per element: 4, 8, 16, 32, 64
  int unpacked_size;  // bytes per element unpacked: npy item size, quantizer output
  char npy_kind;      // 'u' / 'i'
};

const QTypeInfo& qtype_info(QType t);
// Bytes that `count` elements take in a model buffer: ceil(count / 2) for 4-bit types.
size_t storage_bytes(QType t, size_t count);
inline bool is_4bit(QType t) {
  return t == QType::Int4 || t == QType::UInt4;
}
// Case-insensitive lookup of a qparam.json dtype; nullopt when unknown.
std::optional<QType> parse_qtype(const std::string& text);
// "uint8, int8, int16, int32, int64, int4, uint4" for messages.
std::string qtype_names();

}  // namespace qimplant
