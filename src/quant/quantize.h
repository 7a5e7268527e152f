// Turning float data into quantized integers: q = clamp(round(x / scale) + zero_point).
//
// 4-, 8- and 16-bit targets compute x * (1 / scale) in float32, as PyTorch's quantize_per_tensor /
// quantize_per_channel and TFLite's quantizer do, so results match theirs bit for bit; 32- and
// 64-bit targets (biases) divide in double, where float32 would lose integer precision.
// Rounding of halves is selectable: to even (PyTorch's default, std::nearbyint) or away from
// zero (TFLite's, std::round). NaN input is an error; +-inf clamps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "quant/qtype.h"

namespace qimplant {

enum class Rounding { HalfToEven, HalfAwayFromZero };
const char* rounding_name(Rounding r);  // "half-even" / "half-away"

// Quantizes `shape`-shaped float32 data (little-endian, any alignment) into `out`, which must
// hold element_count * unpacked_size bytes (4-bit types: one int8 / uint8 per element, clamped
// to the 4-bit range; pack them with quant/pack4.h). Per-channel when q.scale has more than one
// value, along q.quantized_dimension. Returns the index of the first NaN, or -1 when all went well.
int64_t quantize_float32(const uint8_t* data, const std::vector<int32_t>& shape,
                         const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out);

// The data seen as rows of `inner` elements that share one channel's parameters; row r uses
// channel r % channels. Quantizing row ranges lets a caller work through a large tensor in
// slices (and drop each slice's input pages as it goes).
struct RowLayout {
  size_t rows = 0;
  size_t channels = 1;
  size_t inner = 0;
};
RowLayout row_layout(const std::vector<int32_t>& shape, const QuantParams& q);
// Quantizes rows [row_begin, row_end): reads and writes at those rows' offsets of `data` and
// `out`. Returns the index (from the start of the tensor) of the first NaN, or -1.
int64_t quantize_rows(const uint8_t* data, const RowLayout& layout, size_t row_begin,
                      size_t row_end, const QuantParams& q, QType qtype, Rounding rounding,
                      uint8_t* out);
// The same, writing to `out` from row_begin's first element on (out[0] is element
// row_begin * inner): for a caller that quantizes a slice into scratch memory (4-bit types,
// packed afterwards).
int64_t quantize_rows_into(const uint8_t* data, const RowLayout& layout, size_t row_begin,
                           size_t row_end, const QuantParams& q, QType qtype, Rounding rounding,
                           uint8_t* out);
// Elements [begin, end) in C order, rows cut anywhere (for slices of a per-tensor weight, which
// is one row): `out` points at element begin's output. Returns the index of the first NaN or -1.
// Disjoint ranges write disjoint bytes, so ranges may be quantized on several threads at once.
int64_t quantize_elements(const uint8_t* data, const RowLayout& layout, size_t begin, size_t end,
                          const QuantParams& q, QType qtype, Rounding rounding, uint8_t* out);

// One value, for tests and derived parameters.
int64_t quantize_value(float x, float scale, int64_t zero_point, QType qtype, Rounding rounding);

}  // namespace qimplant
