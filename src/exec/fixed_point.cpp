// Fixed-point helpers with TFLite's default ("double rounding") semantics: the Q31 multiply
// rounds once, the right shift rounds again. Overflowing intermediate products wrap exactly as
// TFLite's int32 arithmetic does on two's-complement hardware; nothing here is undefined.
#include "exec/fixed_point.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace qimplant::exec {

QuantizedMultiplier quantize_multiplier(double real) {
  if (real == 0.0) return {};
  if (!std::isfinite(real) || std::fabs(real) >= 2147483648.0) {
    std::ostringstream os;
    os.precision(9);
    os << "the requantization multiplier (a ratio of the tensors' scales) is " << real
       << "; expected a finite value below 2^31: the scales are not usable";
    throw MultiplierError(os.str());
  }
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);  // |fraction| in [0.5, 1)
  int64_t q = static_cast<int64_t>(std::round(fraction * static_cast<double>(1LL << 31)));
  // Rounding can carry the mantissa up to exactly 2^31, which does not fit: halve it and move
  // the factor of two into the exponent (-2^31 fits and is kept, as in TFLite).
  if (q == (1LL << 31)) {
    q /= 2;
    ++exponent;
  }
  // Below 2^-31 every product would shift out entirely; TFLite flushes such multipliers to 0.
  if (exponent < -31) return {};
  return {static_cast<int32_t>(q), exponent};
}

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  // (-1) * (-1) = +1 is the only product that does not fit in Q31.
  if (a == b && a == std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::max();
  }
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  // Round half away from zero, then divide (truncating toward zero) by 2^31.
  const int64_t nudge = product >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
  return static_cast<int32_t>((product + nudge) / (1LL << 31));
}

int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  if (exponent > 31) exponent = 31;
  const int64_t mask = (1LL << exponent) - 1;
  const int64_t remainder = static_cast<int64_t>(x) & mask;
  // Halves round away from zero: a negative x needs a strictly larger remainder to round up.
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((static_cast<int64_t>(x) >> exponent) +
                              (remainder > threshold ? 1 : 0));
}

int32_t multiply_by_quantized_multiplier(int32_t x, QuantizedMultiplier m) {
  // Shifts beyond 31 only come from multipliers >= 2^31, which no valid model has; capping them
  // keeps the shift defined.
  const int left_shift = m.shift > 0 ? (m.shift > 31 ? 31 : m.shift) : 0;
  const int right_shift = m.shift > 0 ? 0 : -m.shift;
  // TFLite shifts in int32 and lets the product wrap; do the same without undefined behaviour.
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.multiplier),
                                right_shift);
}

int32_t multiply_by_quantized_multiplier(int64_t x, QuantizedMultiplier m) {
  // TFLite's 64-bit form keeps only a Q15 multiplier (rounded, saturated at 0x7FFF) and rounds
  // once with a single shift; it assumes |x| < 2^47, multiplier >= 0 and shift in [-31, 7].
  const int64_t reduced =
      m.multiplier < 0x7FFF0000 ? ((static_cast<int64_t>(m.multiplier) + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - m.shift;
  const __int128 product = static_cast<__int128>(x) * reduced;
  if (total_shift <= 0) return static_cast<int32_t>(static_cast<int64_t>(product << -total_shift));
  const __int128 rounded = product + (static_cast<__int128>(1) << (total_shift - 1));
  return static_cast<int32_t>(static_cast<int64_t>(rounded >> total_shift));
}

}  // namespace qimplant::exec
