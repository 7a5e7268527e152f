#include "exec/value.h"

#include <cmath>
#include <string>

#include "model/shape.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {}  // namespace

Value make_value(int8_t type, std::vector<int32_t> shape, QuantParams quant) {
  Value v;
  v.type = type;
  v.shape = std::move(shape);
  v.quant = std::move(quant);
  for (int32_t d : v.shape) {
    if (d < 0) {
      throw Error("reference interpreter: cannot hold a value of shape " +
                  shape_text_compact(v.shape) + " (dimensions must be >= 0)");
    }
  }
  v.data.assign(static_cast<size_t>(v.element_count()) * element_size(type), 0);
  return v;
}

Value make_float(std::vector<int32_t> shape, const std::vector<float>& values) {
  Value v = make_value(type_code(TensorType::Float32), std::move(shape));
  if (static_cast<int64_t>(values.size()) != v.element_count()) {
    throw Error("reference interpreter: " + std::to_string(values.size()) +
                " float values given for shape " + shape_text_compact(v.shape) + ", which has " +
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
      return half_to_float(v.as<uint16_t>()[i]);
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
      throw Error("reference interpreter: a value of shape " + shape_text_compact(v.shape) +
                  " has " + std::to_string(count) + " scales along dimension " +
                  std::to_string(dim) + "; expected that dimension to have one element per scale");
    }
    channel = channel_index(v.shape, dim)(static_cast<size_t>(i));
  }
  const double zp =
      channel < v.quant.zero_point.size() ? static_cast<double>(v.quant.zero_point[channel]) : 0.0;
  return (q - zp) * static_cast<double>(v.quant.scale[channel]);
}

}  // namespace qimplant::exec
