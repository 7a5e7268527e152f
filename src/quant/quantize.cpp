#include "quant/quantize.h"

#include <cmath>
#include <cstring>

namespace qimplant {

const char* rounding_name(Rounding r) {
  return r == Rounding::HalfToEven ? "half-even" : "half-away";
}

namespace {

inline double round_half(double v, Rounding r) {
  return r == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v);
}

inline int64_t clamp_to(double v, const QTypeInfo& qi) {
  // Compare in double before converting: converting an out-of-range double is undefined.
  if (!(v > static_cast<double>(qi.min))) return qi.min;
  if (v >= static_cast<double>(qi.max)) return qi.max;
  return static_cast<int64_t>(v);
}

inline int64_t quantize_one(float x, float scale, float inv_scale, int64_t zp,
                            const QTypeInfo& qi, Rounding r) {
  double scaled;
  if (qi.size <= 2) {
    scaled = static_cast<double>(x * inv_scale);  // float32 product, as the frameworks do
  } else {
    scaled = static_cast<double>(x) / static_cast<double>(scale);
  }
  const double rounded = round_half(scaled, r);
  return clamp_to(rounded + static_cast<double>(zp), qi);
}

inline void store(int64_t v, int size, uint8_t* out) {
  switch (size) {
    case 1: {
      const int8_t b = static_cast<int8_t>(static_cast<uint8_t>(v & 0xff));
      std::memcpy(out, &b, 1);
      break;
    }
    case 2: {
      const int16_t h = static_cast<int16_t>(v);
      std::memcpy(out, &h, 2);
      break;
    }
    case 4: {
      const int32_t w = static_cast<int32_t>(v);
      std::memcpy(out, &w, 4);
      break;
    }
    default: std::memcpy(out, &v, 8);
  }
}

}  // namespace

int64_t quantize_value(float x, float scale, int64_t zero_point, QType qtype, Rounding rounding) {
  const QTypeInfo& qi = qtype_info(qtype);
  return quantize_one(x, scale, 1.0f / scale, zero_point, qi, rounding);
}

int64_t quantize_float32(const uint8_t* data, const std::vector<int32_t>& shape,
                         const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out) {
  const QTypeInfo& qi = qtype_info(qtype);
  size_t count = 1;
  for (int32_t d : shape) count *= static_cast<size_t>(d < 0 ? 0 : d);
  const size_t channels = q.scale.size();
  size_t inner = 1;  // elements per step of the quantized dimension
  if (channels > 1) {
    for (size_t d = static_cast<size_t>(q.quantized_dimension) + 1; d < shape.size(); ++d)
      inner *= static_cast<size_t>(shape[d]);
  }
  std::vector<float> inv(channels);
  for (size_t c = 0; c < channels; ++c) inv[c] = 1.0f / q.scale[c];

  for (size_t i = 0; i < count; ++i) {
    float x;
    std::memcpy(&x, data + i * 4, 4);
    if (std::isnan(x)) return static_cast<int64_t>(i);
    const size_t c = channels > 1 ? (i / inner) % channels : 0;
    store(quantize_one(x, q.scale[c], inv[c], q.zero_point[c], qi, rounding), qi.size,
          out + i * static_cast<size_t>(qi.size));
  }
  return -1;
}

}  // namespace qimplant
