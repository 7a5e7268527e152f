// Fixed-point arithmetic of TFLite's reference integer kernels (Jacob et al. 2018, section 2.2).
//
// A real multiplier M (0 < M, typically < 1) is written as M0 * 2^shift with M0 a Q31 int32 in
// [2^30, 2^31); applying it to an int32 accumulator uses a rounding doubling high multiply and a
// rounding right shift, exactly as gemmlowp / TFLite do, so results match them bit for bit.
#pragma once

#include <cstdint>

#include "util/error.h"

namespace qimplant::exec {

struct QuantizedMultiplier {
  int32_t multiplier = 0;  // M0, Q31
  int32_t shift = 0;       // M = M0 * 2^(shift - 31); positive shift = left shift
};

// A requantization multiplier that no int32 arithmetic can apply: not finite, or 2^31 or more
// (one input step would be more than the whole int32 output range). Thrown by
// quantize_multiplier; the interpreter adds the operator.
class MultiplierError : public Error {
 public:
  using Error::Error;
};

// Writes `real` as M0 * 2^shift (TFLite's QuantizeMultiplier). real == 0 gives {0, 0}. Throws
// MultiplierError for a multiplier that is not finite or >= 2^31.
QuantizedMultiplier quantize_multiplier(double real);

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
int32_t rounding_divide_by_pot(int32_t x, int exponent);
// x * M rounded as TFLite's MultiplyByQuantizedMultiplier.
int32_t multiply_by_quantized_multiplier(int32_t x, QuantizedMultiplier m);
// The 64-bit accumulator form TFLite uses for 16-bit activations.
int32_t multiply_by_quantized_multiplier(int64_t x, QuantizedMultiplier m);

// int32 arithmetic that wraps like TFLite's on two's-complement hardware, without undefined
// behaviour.
int32_t wrap_add(int32_t a, int32_t b);
int32_t wrap_sub(int32_t a, int32_t b);
int32_t wrap_mul(int32_t a, int32_t b);

// gemmlowp's fixed-point functions on raw int32 values with `integer_bits` integer bits
// (Q(ib).(31-ib)), bit-exact: what SOFTMAX, LOGISTIC and TANH need.
int32_t fmul(int32_t a, int32_t b);  // the Q31 product (saturating rounding doubling high mul)
// Changes the integer bits of a raw value from `from` to `to` (saturating, or rounding).
int32_t rescale(int32_t x, int from, int to);
// exp(a) for a <= 0 in Q(integer_bits); Q0.31 result.
int32_t exp_on_negative_values(int32_t a, int integer_bits);
// 1 / (1 + a) for a in [0, 1) in Q0.31; Q0.31 result.
int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a);
// tanh and logistic of a Q(integer_bits) value; Q0.31 results.
int32_t fixed_tanh(int32_t a, int integer_bits);
int32_t fixed_logistic(int32_t a, int integer_bits);
// TFLite's CalculateInputRadius.
int32_t input_radius(int integer_bits, int left_shift, int total_bits);

}  // namespace qimplant::exec
