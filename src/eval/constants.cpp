#include "eval/constants.h"

#include <cstring>

#include "model/shape.h"
#include "quant/pack4.h"
#include "util/error.h"

namespace qimplant::eval {
namespace {

const BufferInfo& buffer_of(const ModelFile& file, const TensorInfo& tensor, size_t bytes) {
  const ModelInfo& info = file.info();
  if (!info.is_constant(tensor))
    throw Error("model '" + file.path() + "': tensor '" + tensor.name + "' is not a constant");
  const BufferInfo& b = info.buffers[tensor.buffer];
  if (b.size < bytes) {
    throw Error("model '" + file.path() + "': constant '" + tensor.name + "' (buffer " +
                std::to_string(tensor.buffer) + ") needs " + std::to_string(bytes) +
                " bytes for its shape, its buffer holds " + std::to_string(b.size));
  }
  return b;
}

template <class T>
void widen(const uint8_t* data, size_t n, std::vector<int64_t>& out) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof(T));
    out[i] = static_cast<int64_t>(v);
  }
}

}  // namespace

std::vector<int64_t> integer_data(const ModelFile& file, const TensorInfo& tensor) {
  const int64_t count = tensor.element_count();
  const size_t n = count > 0 ? static_cast<size_t>(count) : 0;
  std::vector<int64_t> out(n);
  switch (static_cast<TensorType>(tensor.type)) {
    case TensorType::Int4:
    case TensorType::UInt4: {
      const BufferInfo& b = buffer_of(file, tensor, (n + 1) / 2);
      std::vector<uint8_t> unpacked(n);
      if (static_cast<TensorType>(tensor.type) == TensorType::Int4) {
        unpack_int4(b.data, n, reinterpret_cast<int8_t*>(unpacked.data()));
        widen<int8_t>(unpacked.data(), n, out);
      } else {
        unpack_uint4(b.data, n, unpacked.data());
        widen<uint8_t>(unpacked.data(), n, out);
      }
      return out;
    }
    case TensorType::UInt8:
      widen<uint8_t>(buffer_of(file, tensor, n).data, n, out);
      return out;
    case TensorType::Int8:
      widen<int8_t>(buffer_of(file, tensor, n).data, n, out);
      return out;
    case TensorType::Int16:
      widen<int16_t>(buffer_of(file, tensor, n * 2).data, n, out);
      return out;
    case TensorType::Int32:
      widen<int32_t>(buffer_of(file, tensor, n * 4).data, n, out);
      return out;
    case TensorType::Int64:
      widen<int64_t>(buffer_of(file, tensor, n * 8).data, n, out);
      return out;
    default:
      throw Error("model '" + file.path() + "': constant '" + tensor.name + "' is " +
                  tensor_type_name(file.format(), tensor.type) + ", not an integer type");
  }
}

std::vector<double> float_data(const ModelFile& file, const TensorInfo& tensor) {
  if (tensor.type != TensorType::Float32) {
    throw Error("model '" + file.path() + "': constant '" + tensor.name + "' is " +
                tensor_type_name(file.format(), tensor.type) + ", not FLOAT32");
  }
  const int64_t count = tensor.element_count();
  const size_t n = count > 0 ? static_cast<size_t>(count) : 0;
  const BufferInfo& b = buffer_of(file, tensor, n * 4);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, b.data + i * 4, 4);
    out[i] = v;
  }
  return out;
}

int64_t channel_of(const std::vector<int32_t>& shape, int32_t dim, int64_t i) {
  return static_cast<int64_t>(channel_index(shape, dim)(static_cast<size_t>(i)));
}

std::vector<double> dequantize(const std::vector<int64_t>& q, const std::vector<int32_t>& shape,
                               const QuantParams& quant) {
  std::vector<double> out(q.size());
  const bool per_channel = quant.scale.size() > 1;
  for (size_t i = 0; i < q.size(); ++i) {
    const size_t c = per_channel ? static_cast<size_t>(channel_of(shape, quant.quantized_dimension,
                                                                  static_cast<int64_t>(i)))
                                 : 0;
    const double scale = c < quant.scale.size() ? quant.scale[c] : 0.0;
    const double zp = c < quant.zero_point.size() ? static_cast<double>(quant.zero_point[c]) : 0.0;
    out[i] = (static_cast<double>(q[i]) - zp) * scale;
  }
  return out;
}

}  // namespace qimplant::eval
