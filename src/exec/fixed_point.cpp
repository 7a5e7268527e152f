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

// int32 arithmetic that wraps like TFLite's on two's-complement hardware, without undefined
// behaviour.
int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
int32_t wrap_sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
int32_t wrap_mul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
static int32_t mask_if(bool c) {
  return c ? ~0 : 0;
}
static int32_t select(int32_t mask, int32_t a, int32_t b) {
  return (mask & a) ^ (~mask & b);
}

// gemmlowp's fixed-point transcendental functions, on raw int32 values with a given number of
// integer bits (Q(ib).(31-ib)). Only what SOFTMAX, LOGISTIC and TANH need.

int32_t fmul(int32_t a, int32_t b) {
  return saturating_rounding_doubling_high_mul(a, b);
}

// x * 2^exponent, saturating when exponent > 0 and rounding when < 0.
static int32_t mul_by_pot(int32_t x, int exponent) {
  if (exponent < 0) return rounding_divide_by_pot(x, -exponent);
  if (exponent == 0) return x;
  const int32_t threshold = static_cast<int32_t>((1LL << (31 - exponent)) - 1);
  if (x > threshold) return std::numeric_limits<int32_t>::max();
  if (x < -threshold) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(static_cast<uint32_t>(x) << exponent);
}

// Changes the integer bits of a raw value from `from` to `to`.
int32_t rescale(int32_t x, int from, int to) {
  return mul_by_pot(x, from - to);
}

constexpr int32_t kOneQ0 = std::numeric_limits<int32_t>::max();  // 1.0 in Q0.31

// exp(a) for a in [-1/4, 0), Q0.31 in and out.
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;     // exp(-1/8)
  const int32_t constant_1_over_3 = 715827883;  // 1/3
  const int32_t x = wrap_add(a, 1 << 28);       // a + 1/8
  const int32_t x2 = fmul(x, x);
  const int32_t x3 = fmul(x2, x);
  const int32_t x4 = fmul(x2, x2);
  const int32_t x4_over_4 = mul_by_pot(x4, -2);
  const int32_t poly =
      mul_by_pot(wrap_add(fmul(wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return wrap_add(constant_term, fmul(constant_term, wrap_add(x, poly)));
}

// exp(a) for a <= 0 given in Q(integer_bits); result Q0.31.
int32_t exp_on_negative_values(int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = 1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = wrap_sub(a & mask, one_quarter);
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
  const int32_t remainder = wrap_sub(a_mod_quarter_minus_one_quarter, a);
  // exp(-2^k) for k = -2 .. 4, Q0.31.
  static const int32_t kBarrel[] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242};
  for (int exponent = -2; exponent <= 4; ++exponent) {
    if (integer_bits > exponent) {
      const int shift = fractional_bits + exponent;
      result = select(mask_if((remainder & (1 << shift)) != 0), fmul(result, kBarrel[exponent + 2]),
                      result);
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp_value = -(1 << (36 - integer_bits));  // -32
    result = select(mask_if(a < clamp_value), 0, result);
  }
  return select(mask_if(a == 0), kOneQ0, result);
}

// (a + b) / 2 rounded half away from zero, without overflow.
static int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = static_cast<int64_t>(a) + b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int32_t>((sum + sign) / 2);
}

// gemmlowp's three Newton-Raphson steps from 48/17 - 32/17 * d for 1 / d, d = (1 + a) / 2 with a
// in (0, 1) in Q0.31: returns 2 / (1 + a) in Q2.29, shared by 1 / (1 + a) and (1 - a) / (1 + a).
static int32_t newton_reciprocal_q2(int32_t a) {
  const int32_t half_denominator = rounding_half_sum(a, kOneQ0);
  const int32_t constant_48_over_17 = 1515870810;       // Q2.29
  const int32_t constant_neg_32_over_17 = -1010580540;  // Q2.29
  int32_t x = wrap_add(constant_48_over_17, fmul(half_denominator, constant_neg_32_over_17));
  const int32_t one_q2 = 1 << 29;
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = fmul(half_denominator, x);  // Q2
    const int32_t one_minus = wrap_sub(one_q2, half_denominator_times_x);
    x = wrap_add(x, rescale(fmul(x, one_minus), 4, 2));  // Q2 * Q2 = Q4, back to Q2
  }
  return x;  // 2 / (1 + a) in Q2.29
}

int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  // x / 2 in Q2 is x read as Q1: ExactMulByPot<-1> then Rescale from Q1 to Q0.
  return rescale(newton_reciprocal_q2(a), 1, 0);
}

static int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
  return rescale(wrap_sub(newton_reciprocal_q2(a), 1 << 29), 2, 0);
}

// tanh of a Q(integer_bits) value; Q0.31 result.
int32_t fixed_tanh(int32_t a, int integer_bits) {
  const bool negative = a < 0;
  const int32_t n = negative ? a : wrap_sub(0, a);
  // exp(2n): doubling n is exact by reading it with one more integer bit.
  const int32_t t =
      one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1));
  if (a == 0) return 0;
  return negative ? wrap_sub(0, t) : t;
}

// logistic of a Q(integer_bits) value; Q0.31 result.
int32_t fixed_logistic(int32_t a, int integer_bits) {
  const bool positive = a > 0;
  const int32_t abs_a = positive ? a : wrap_sub(0, a);
  const int32_t if_positive =
      one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_sub(0, abs_a), integer_bits));
  if (a == 0) return 1 << 30;
  return positive ? if_positive : wrap_sub(kOneQ0, if_positive);
}

// TFLite's CalculateInputRadius.
int32_t input_radius(int integer_bits, int left_shift, int total_bits) {
  const double max_rescaled = 1.0 * ((1 << integer_bits) - 1) *
                              static_cast<double>(1LL << (total_bits - integer_bits)) /
                              static_cast<double>(1LL << left_shift);
  return static_cast<int32_t>(std::floor(max_rescaled));
}

}  // namespace qimplant::exec
