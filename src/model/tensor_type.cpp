#include "model/tensor_type.h"

#include <cstring>

#include "schema/circle_generated.h"
#include "schema/tflite_generated.h"

namespace qimplant {

// The table covers both schemas' TensorType ranges exactly, one row per value in order; a schema
// update that adds a type fails here until the type has its row.
constexpr int kCircleMax = circle::TensorType_MAX, kTFLiteMax = tflite::TensorType_MAX;
static_assert(kFirstTensorType == circle::TensorType_MIN);
static_assert(kFirstTensorType <= tflite::TensorType_MIN);
static_assert(kFirstTensorType + static_cast<int>(kTensorTypeCount) - 1 ==
              (kCircleMax > kTFLiteMax ? kCircleMax : kTFLiteMax));

namespace {
constexpr bool rows_in_order() {
  for (size_t i = 0; i < kTensorTypeCount; ++i)
    if (type_code(kTensorTypes[i].type) != kFirstTensorType + static_cast<int>(i)) return false;
  return true;
}
static_assert(rows_in_order(), "kTensorTypes rows must follow the TensorType values");
}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf, or nan keeping its payload
  } else if (exponent != 0) {
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal halves are normal floats: shift the leading 1 up to the implicit-bit position.
    uint32_t e = 127 - 15 + 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace qimplant
