// The values the reference interpreter computes on.
//
// A Value is one tensor's contents: its schema type, shape, quantization and raw little-endian
// bytes. 4-bit types are held unpacked, one int8/uint8 byte per element, so kernels never see
// nibbles. Plain data, freely copied: the interpreter is a checking tool, not a fast runtime.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "model/model.h"

namespace qimplant::exec {

struct Value {
  int8_t type = 0;  // raw TensorType value (model.h)
  std::vector<int32_t> shape;
  QuantParams quant;
  std::vector<uint8_t> data;  // element_count() elements of element_size(type) bytes

  // Saturates at INT64_MAX (the interpreter refuses such shapes before it allocates anything).
  int64_t element_count() const {
    int64_t n = 1;
    for (int32_t d : shape) {
      if (d <= 0) return 0;
      if (__builtin_mul_overflow(n, int64_t(d), &n)) n = INT64_MAX;
    }
    return n;
  }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(data.data());
  }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

// Bytes per element as a Value holds it (4-bit types: 1): the tensor-type table's memory size.
using qimplant::element_size;

// A value of `type` and `shape` with zeroed data.
Value make_value(int8_t type, std::vector<int32_t> shape, QuantParams quant = {});

// A float32 value copied from `values` (size must equal the shape's element count).
Value make_float(std::vector<int32_t> shape, const std::vector<float>& values);

// Element i of a float, integer or bool value widened to double, ignoring quantization.
double element_as_double(const Value& v, int64_t i);

// The real value of element i: (q - zero_point) * scale with per-channel parameters applied
// along quant.quantized_dimension; float types are returned as they are.
double real_value(const Value& v, int64_t i);

}  // namespace qimplant::exec
