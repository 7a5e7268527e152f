#include "exec/value.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace qimplant::exec {

namespace {

std::string shape_text(const std::vector<int32_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// IEEE binary16 to float, exact (every half value is a float value).
double half_to_double(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? std::nan("") : HUGE_VAL;
  } else {
    magnitude = std::ldexp(mantissa | 0x400, exponent - 25);
  }
  return (h & 0x8000) ? -magnitude : magnitude;
}

}  // namespace

size_t element_size(int8_t type) {
  if (type == static_cast<int8_t>(TensorType::Int4) ||
      type == static_cast<int8_t>(TensorType::UInt4))
    return 1;
  return tensor_type_size(type);
}

Value make_value(int8_t type, std::vector<int32_t> shape, QuantParams quant) {
  Value v;
  v.type = type;
  v.shape = std::move(shape);
  v.quant = std::move(quant);
  for (int32_t d : v.shape) {
    if (d < 0) {
      throw Error("reference interpreter: cannot hold a value of shape " + shape_text(v.shape) +
                  " (dimensions must be >= 0)");
    }
  }
  v.data.assign(static_cast<size_t>(v.element_count()) * element_size(type), 0);
  return v;
}

Value make_float(std::vector<int32_t> shape, const std::vector<float>& values) {
  Value v = make_value(static_cast<int8_t>(TensorType::Float32), std::move(shape));
  if (static_cast<int64_t>(values.size()) != v.element_count()) {
    throw Error("reference interpreter: " + std::to_string(values.size()) +
                " float values given for shape " + shape_text(v.shape) + ", which has " +
                std::to_string(v.element_count()) + " elements");
  }
  std::memcpy(v.data.data(), values.data(), values.size() * sizeof(float));
  return v;
}

double element_as_double(const Value& v, int64_t i) {
  switch (static_cast<TensorType>(v.type)) {
    case TensorType::Float32:
      return v.as<float>()[i];
    case TensorType::Float64:
      return v.as<double>()[i];
    case TensorType::Float16:
      return half_to_double(v.as<uint16_t>()[i]);
    case TensorType::Int4:
    case TensorType::Int8:
      return v.as<int8_t>()[i];
    case TensorType::UInt4:
    case TensorType::UInt8:
    case TensorType::Bool:
      return v.as<uint8_t>()[i];
    case TensorType::Int16:
      return v.as<int16_t>()[i];
    case TensorType::UInt16:
      return v.as<uint16_t>()[i];
    case TensorType::Int32:
      return v.as<int32_t>()[i];
    case TensorType::UInt32:
      return v.as<uint32_t>()[i];
    case TensorType::Int64:
      return static_cast<double>(v.as<int64_t>()[i]);
    case TensorType::UInt64:
      return static_cast<double>(v.as<uint64_t>()[i]);
    default:
      throw Error("reference interpreter: " + tensor_type_name(Format::Circle, v.type) +
                  " values have no numeric reading");
  }
}

double real_value(const Value& v, int64_t i) {
  const double q = element_as_double(v, i);
  const auto type = static_cast<TensorType>(v.type);
  if (type == TensorType::Float32 || type == TensorType::Float16 || type == TensorType::Float64 ||
      v.quant.scale.empty())
    return q;
  size_t channel = 0;
  const size_t count = v.quant.scale.size();
  if (count > 1) {
    const int32_t dim = v.quant.quantized_dimension;
    if (dim < 0 || static_cast<size_t>(dim) >= v.shape.size() ||
        static_cast<size_t>(v.shape[dim]) != count) {
      throw Error("reference interpreter: a value of shape " + shape_text(v.shape) + " has " +
                  std::to_string(count) + " scales along dimension " + std::to_string(dim) +
                  "; expected that dimension to have one element per scale");
    }
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(dim) + 1; d < v.shape.size(); ++d) inner *= v.shape[d];
    channel = static_cast<size_t>((i / inner) % static_cast<int64_t>(count));
  }
  const double zp =
      channel < v.quant.zero_point.size() ? static_cast<double>(v.quant.zero_point[channel]) : 0.0;
  return (q - zp) * static_cast<double>(v.quant.scale[channel]);
}

}  // namespace qimplant::exec
