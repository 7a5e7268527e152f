#include "quant/quantize.h"
#include "model/shape.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qimplant {

const char* rounding_name(Rounding r) {
  return r == Rounding::HalfToEven ? "half-even" : "half-away";
}

namespace {

// Rounds v (|v| < 2^23, so v - trunc(v) is exact) without a libm call: this loop runs over
// every weight of the model.
template <Rounding R>
inline int64_t round_small(float v) {
  const int64_t i = static_cast<int64_t>(v);  // truncates toward zero
  const float frac = v - static_cast<float>(i);
  if (R == Rounding::HalfAwayFromZero) {
    if (frac >= 0.5f) return i + 1;
    if (frac <= -0.5f) return i - 1;
    return i;
  }
  if (frac > 0.5f || (frac == 0.5f && (i & 1))) return i + 1;
  if (frac < -0.5f || (frac == -0.5f && (i & 1))) return i - 1;
  return i;
}

inline double round_half(double v, Rounding r) {
  return r == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v);
}

inline int64_t clamp_to(double v, const QTypeInfo& qi) {
  // Compare in double before converting: converting an out-of-range double is undefined.
  if (!(v > static_cast<double>(qi.min))) return qi.min;
  if (v >= static_cast<double>(qi.max)) return qi.max;
  return static_cast<int64_t>(v);
}

// 32/64-bit targets (biases): double division keeps integer precision.
inline int64_t quantize_wide(float x, float scale, int64_t zp, const QTypeInfo& qi, Rounding r) {
  const double scaled = static_cast<double>(x) / static_cast<double>(scale);
  return clamp_to(round_half(scaled, r) + static_cast<double>(zp), qi);
}

// 8/16-bit targets: float32 product with the reciprocal, as PyTorch and TFLite compute it.
// Values beyond the type's range clamp anyway, so v is clamped first to keep it small.
template <Rounding R>
inline int64_t quantize_narrow(float x, float inv_scale, int64_t zp, int64_t lo, int64_t hi) {
  float v = x * inv_scale;
  const float limit = 1048576.0f;  // far beyond any 16-bit range plus zero point
  if (v > limit) v = limit;
  if (v < -limit) v = -limit;
  int64_t q = round_small<R>(v) + zp;
  return q < lo ? lo : (q > hi ? hi : q);
}

template <typename T>
inline void store(int64_t v, uint8_t* out) {
  const T t = static_cast<T>(v);
  std::memcpy(out, &t, sizeof(T));
}

// The run_* functions quantize elements [begin, end) (any row boundaries) to `out`, which points
// at element begin's output; element i belongs to row i / inner, channel row % channels.
//
// The inner loop is written without branches or libm calls so the compiler can vectorise it:
// it runs over every weight of the model. v is clamped in float to [qmin - zp, qmax - zp] before
// rounding: the bounds are integers and rounding is monotonic, so this equals clamping after
// rounding, and leaves no integer clamp to do. Rounding uses the 1.5 * 2^23 trick, exact for
// |v| < 2^22 in the default round-to-nearest-even mode, which the clamp guarantees.
template <typename T, Rounding R>
int64_t run_narrow(const uint8_t* data, size_t begin, size_t end, size_t channels, size_t inner,
                   const QuantParams& q, const QTypeInfo& qi, uint8_t* out) {
  const float magic = 12582912.0f;
  const int32_t qmin = static_cast<int32_t>(qi.min), qmax = static_cast<int32_t>(qi.max);
  bool any_nan = false;
  for (size_t i = begin; i < end;) {
    const size_t row = i / inner;
    const size_t stop = std::min(end, (row + 1) * inner);
    const size_t c = row % channels;
    const float inv = 1.0f / q.scale[c];
    const int32_t zp = static_cast<int32_t>(q.zero_point[c]);
    const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
    const uint8_t* in = data + i * 4;
    uint8_t* dst = out + (i - begin) * sizeof(T);
    const size_t n = stop - i;
    // Non-short-circuit forms (an int flag, fabs) keep the body free of branches.
    int nan = 0;
    for (size_t k = 0; k < n; ++k) {
      float x;
      std::memcpy(&x, in + k * 4, 4);
      nan |= x != x;
      float v = x != x ? 0.0f : x * inv;
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      float r = (v + magic) - magic;
      if (R == Rounding::HalfAwayFromZero) {
        const float d = v - r;
        r = std::fabs(d) == 0.5f ? v + std::copysign(0.5f, v) : r;
      }
      const T t = static_cast<T>(static_cast<int32_t>(r) + zp);
      std::memcpy(dst + k * sizeof(T), &t, sizeof(T));
    }
    any_nan |= nan != 0;
    i = stop;
  }
  if (any_nan) {
    for (size_t k = begin; k < end; ++k) {
      float x;
      std::memcpy(&x, data + k * 4, 4);
      if (x != x) return static_cast<int64_t>(k);
    }
  }
  return -1;
}

template <typename T>
int64_t run_wide(const uint8_t* data, size_t begin, size_t end, size_t channels, size_t inner,
                 const QuantParams& q, const QTypeInfo& qi, Rounding r, uint8_t* out) {
  for (size_t i = begin; i < end; ++i) {
    const size_t c = (i / inner) % channels;
    float x;
    std::memcpy(&x, data + i * 4, 4);
    if (std::isnan(x)) return static_cast<int64_t>(i);
    store<T>(quantize_wide(x, q.scale[c], q.zero_point[c], qi, r), out + (i - begin) * sizeof(T));
  }
  return -1;
}

template <typename T>
int64_t run_narrow_any(const uint8_t* data, size_t b, size_t e, size_t channels, size_t inner,
                       const QuantParams& q, const QTypeInfo& qi, Rounding r, uint8_t* out) {
  return r == Rounding::HalfToEven
             ? run_narrow<T, Rounding::HalfToEven>(data, b, e, channels, inner, q, qi, out)
             : run_narrow<T, Rounding::HalfAwayFromZero>(data, b, e, channels, inner, q, qi, out);
}

}  // namespace

int64_t quantize_value(float x, float scale, int64_t zero_point, QType qtype, Rounding rounding) {
  const QTypeInfo& qi = qtype_info(qtype);
  if (qi.bits > 16) return quantize_wide(x, scale, zero_point, qi, rounding);
  const float inv = 1.0f / scale;
  return rounding == Rounding::HalfToEven
             ? quantize_narrow<Rounding::HalfToEven>(x, inv, zero_point, qi.min, qi.max)
             : quantize_narrow<Rounding::HalfAwayFromZero>(x, inv, zero_point, qi.min, qi.max);
}

RowLayout row_layout(const std::vector<int32_t>& shape, const QuantParams& q) {
  size_t count = 1;
  for (int32_t d : shape) count *= static_cast<size_t>(d < 0 ? 0 : d);
  RowLayout l;
  l.channels = 1;
  l.inner = count;
  if (q.scale.size() > 1) {
    l.channels = q.scale.size();
    l.inner = channel_index(shape, q.quantized_dimension).inner;
  }
  l.rows = l.inner == 0 ? 0 : count / l.inner;
  if (count == 0) l.rows = 0;
  return l;
}

int64_t quantize_rows(const uint8_t* data, const RowLayout& l, size_t row_begin, size_t row_end,
                      const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out) {
  const size_t first = row_begin * l.inner * static_cast<size_t>(qtype_info(qtype).unpacked_size);
  return quantize_rows_into(data, l, row_begin, row_end, q, qtype, rounding, out + first);
}

int64_t quantize_rows_into(const uint8_t* data, const RowLayout& l, size_t row_begin,
                           size_t row_end, const QuantParams& q, QType qtype, Rounding rounding,
                           uint8_t* out) {
  if (row_end <= row_begin) return -1;
  return quantize_elements(data, l, row_begin * l.inner, row_end * l.inner, q, qtype, rounding,
                           out);
}

int64_t quantize_elements(const uint8_t* data, const RowLayout& l, size_t begin, size_t end,
                          const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out) {
  const QTypeInfo& qi = qtype_info(qtype);
  if (end <= begin || l.inner == 0) return -1;
  const size_t b = begin, e = end, ch = l.channels, in = l.inner;
  switch (qtype) {
    case QType::UInt8:
      return run_narrow_any<uint8_t>(data, b, e, ch, in, q, qi, rounding, out);
    case QType::Int8:
      return run_narrow_any<int8_t>(data, b, e, ch, in, q, qi, rounding, out);
    case QType::Int16:
      return run_narrow_any<int16_t>(data, b, e, ch, in, q, qi, rounding, out);
    case QType::Int32:
      return run_wide<int32_t>(data, b, e, ch, in, q, qi, rounding, out);
    case QType::Int64:
      return run_wide<int64_t>(data, b, e, ch, in, q, qi, rounding, out);
    // 4-bit: clamped to the 4-bit range, written one per byte; the caller packs (quant/pack4.h).
    case QType::Int4:
      return run_narrow_any<int8_t>(data, b, e, ch, in, q, qi, rounding, out);
    case QType::UInt4:
      return run_narrow_any<uint8_t>(data, b, e, ch, in, q, qi, rounding, out);
  }
  return -1;
}

int64_t quantize_float32(const uint8_t* data, const std::vector<int32_t>& shape,
                         const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out) {
  const RowLayout l = row_layout(shape, q);
  return quantize_rows(data, l, 0, l.rows, q, qtype, rounding, out);
}

}  // namespace qimplant
