// The one table of tensor element types: for every TensorType value of the circle and tflite
// schemas its schema spelling, which schema has it, its size in a buffer and in memory, its
// integer range and the qparam.json type stored as it. Every stage asks this table instead of
// switching over types itself; tensor_type.cpp checks the table against the generated schemas.
//
// Both schemas number the types alike where both have them; circle adds negative codes (UINT4,
// the GGML and MX block types), tflite adds BFLOAT16 = 18. Raw values are kept as int8_t in the
// model picture, so comparisons with TensorType are provided here instead of casts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace qimplant {

enum class TensorType : int8_t {
  MxInt8 = -7,    // circle only, from here
  MxFp4 = -6,     //
  GgmlQ8_1 = -5,  //
  GgmlQ8_0 = -4,  //
  GgmlQ4_1 = -3,  //
  GgmlQ4_0 = -2,  //
  UInt4 = -1,     // to here
  Float32 = 0,
  Float16 = 1,
  Int32 = 2,
  UInt8 = 3,
  Int64 = 4,
  String = 5,
  Bool = 6,
  Int16 = 7,
  Complex64 = 8,
  Int8 = 9,
  Float64 = 10,
  Complex128 = 11,
  UInt64 = 12,
  Resource = 13,
  Variant = 14,
  UInt32 = 15,
  UInt16 = 16,
  Int4 = 17,      // 4-bit types are stored two per byte (see quant/pack4.h)
  BFloat16 = 18,  // tflite only
};

// The quantized element types a user can ask for in qparam.json (facts in quant/qtype.h).
enum class QType { UInt8, Int8, Int16, Int32, Int64, Int4, UInt4 };

constexpr int8_t type_code(TensorType t) {
  return static_cast<int8_t>(t);
}
// A raw schema value compared with a type, without a cast at every use.
constexpr bool operator==(int8_t raw, TensorType t) {
  return raw == type_code(t);
}
constexpr bool operator!=(int8_t raw, TensorType t) {
  return raw != type_code(t);
}

struct TensorTypeRow {
  TensorType type;
  const char* name;  // schema spelling: "FLOAT32"
  bool in_circle;
  bool in_tflite;
  uint8_t bits;                // stored bits per element; 0 when the type has no fixed element size
  uint8_t memory_bytes;        // bytes per element in memory (4-bit: one byte); 0 as above
  bool is_float;               // FLOAT16/32/64, BFLOAT16
  bool has_range;              // an integer type whose range fits int64 (not BOOL, not UINT64)
  int64_t min, max;            // that range, when has_range
  std::optional<QType> qtype;  // the qparam.json type stored as this type
};

namespace tensor_type_detail {
constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
}  // namespace tensor_type_detail

// Indexed by raw value - kFirstTensorType; tensor_type.cpp asserts the bounds against both schemas.
constexpr int8_t kFirstTensorType = -7;
inline constexpr TensorTypeRow kTensorTypes[] = {
    // type, name, circle, tflite, bits, memory bytes, float, has range, min, max, qtype
    {TensorType::MxInt8, "MXINT8", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::MxFp4, "MXFP4", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::GgmlQ8_1, "GGML_Q8_1", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::GgmlQ8_0, "GGML_Q8_0", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::GgmlQ4_1, "GGML_Q4_1", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::GgmlQ4_0, "GGML_Q4_0", true, false, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::UInt4, "UINT4", true, false, 4, 1, false, true, 0, 15, QType::UInt4},
    {TensorType::Float32, "FLOAT32", true, true, 32, 4, true, false, 0, 0, std::nullopt},
    {TensorType::Float16, "FLOAT16", true, true, 16, 2, true, false, 0, 0, std::nullopt},
    {TensorType::Int32, "INT32", true, true, 32, 4, false, true, tensor_type_detail::kI32Min,
     tensor_type_detail::kI32Max, QType::Int32},
    {TensorType::UInt8, "UINT8", true, true, 8, 1, false, true, 0, 255, QType::UInt8},
    {TensorType::Int64, "INT64", true, true, 64, 8, false, true, tensor_type_detail::kI64Min,
     tensor_type_detail::kI64Max, QType::Int64},
    {TensorType::String, "STRING", true, true, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::Bool, "BOOL", true, true, 8, 1, false, false, 0, 0, std::nullopt},
    {TensorType::Int16, "INT16", true, true, 16, 2, false, true, -32768, 32767, QType::Int16},
    {TensorType::Complex64, "COMPLEX64", true, true, 64, 8, false, false, 0, 0, std::nullopt},
    {TensorType::Int8, "INT8", true, true, 8, 1, false, true, -128, 127, QType::Int8},
    {TensorType::Float64, "FLOAT64", true, true, 64, 8, true, false, 0, 0, std::nullopt},
    {TensorType::Complex128, "COMPLEX128", true, true, 128, 16, false, false, 0, 0, std::nullopt},
    {TensorType::UInt64, "UINT64", true, true, 64, 8, false, false, 0, 0, std::nullopt},
    {TensorType::Resource, "RESOURCE", true, true, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::Variant, "VARIANT", true, true, 0, 0, false, false, 0, 0, std::nullopt},
    {TensorType::UInt32, "UINT32", true, true, 32, 4, false, true, 0, 4294967295LL, std::nullopt},
    {TensorType::UInt16, "UINT16", true, true, 16, 2, false, true, 0, 65535, std::nullopt},
    {TensorType::Int4, "INT4", true, true, 4, 1, false, true, -8, 7, QType::Int4},
    {TensorType::BFloat16, "BFLOAT16", false, true, 16, 2, true, false, 0, 0, std::nullopt},
};
constexpr size_t kTensorTypeCount = sizeof(kTensorTypes) / sizeof(kTensorTypes[0]);

// The row of a raw schema value, or nullptr when neither schema defines it.
constexpr const TensorTypeRow* tensor_type_row(int8_t raw) {
  const int index = raw - kFirstTensorType;
  return index >= 0 && index < static_cast<int>(kTensorTypeCount) ? &kTensorTypes[index] : nullptr;
}
constexpr const TensorTypeRow& tensor_type_row(TensorType t) {
  return kTensorTypes[type_code(t) - kFirstTensorType];
}

// Bytes per element in a model buffer, or 0 for types without a fixed size (string, resource,
// 4-bit, block types, ...).
constexpr size_t tensor_type_size(int8_t raw) {
  const TensorTypeRow* r = tensor_type_row(raw);
  return r && r->bits % 8 == 0 ? r->bits / 8 : 0;
}
// Bytes per element in memory: as tensor_type_size, but 4-bit types take one byte each.
constexpr size_t element_size(int8_t raw) {
  const TensorTypeRow* r = tensor_type_row(raw);
  return r ? r->memory_bytes : 0;
}
constexpr bool is_4bit(int8_t raw) {
  const TensorTypeRow* r = tensor_type_row(raw);
  return r && r->bits == 4;
}
// The qparam.json type stored as `raw` (4-bit types included), or nullopt.
constexpr std::optional<QType> qtype_of(int8_t raw) {
  const TensorTypeRow* r = tensor_type_row(raw);
  return r ? r->qtype : std::nullopt;
}

// IEEE binary16 to float: exact, since every half value is a float value (NaN keeps its payload).
float half_to_float(uint16_t h);

}  // namespace qimplant
