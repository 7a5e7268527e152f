// Integer kernels of the reference interpreter, checked against results computed by hand with
// TFLite's integer arithmetic (the comments give the arithmetic), and the fixed-point helpers at
// their edge cases. Kernels are called directly on hand-made nodes and values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "exec/fixed_point.h"
#include "exec/interpreter.h"
#include "exec/kernels.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::exec {
namespace {

constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

// ---------------------------------------------------------------------------------------------
// Fixed point.

TEST(FixedPoint, QuantizeMultiplierHalfIsQ31HalfWithoutShift) {
  // frexp(0.5) = 0.5 * 2^0; 0.5 in Q31 is 2^30.
  const QuantizedMultiplier m = quantize_multiplier(0.5);
  EXPECT_EQ(m.multiplier, 1 << 30);
  EXPECT_EQ(m.shift, 0);
}

TEST(FixedPoint, QuantizeMultiplierAboveOneShiftsLeft) {
  // 1.0 = 0.5 * 2^1; 3.0 = 0.75 * 2^2 and 0.75 * 2^31 = 1610612736.
  EXPECT_EQ(quantize_multiplier(1.0).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(1.0).shift, 1);
  EXPECT_EQ(quantize_multiplier(3.0).multiplier, 1610612736);
  EXPECT_EQ(quantize_multiplier(3.0).shift, 2);
}

TEST(FixedPoint, QuantizeMultiplierCarryToTwoToThe31) {
  // 1 - 2^-40 = 0.99999... * 2^0; rounding the mantissa gives 2^31, which does not fit: it is
  // halved and the exponent raised, giving 0.5 * 2^1.
  const QuantizedMultiplier m = quantize_multiplier(1.0 - std::ldexp(1.0, -40));
  EXPECT_EQ(m.multiplier, 1 << 30);
  EXPECT_EQ(m.shift, 1);
}

TEST(FixedPoint, QuantizeMultiplierTinyFlushesToZero) {
  // 2^-32 = 0.5 * 2^-31 is the smallest kept; 2^-40 = 0.5 * 2^-39 flushes to {0, 0}.
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -32)).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -32)).shift, -31);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -40)).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -40)).shift, 0);
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(0.0).shift, 0);
}

TEST(FixedPoint, SaturatingHighMulSaturatesOnlyMinTimesMin) {
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kInt32Min, kInt32Min), kInt32Max);
  // (-1) * (almost 1) stays in range.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kInt32Min, kInt32Max), -kInt32Max);
  // 0.5 * 0.5 = 0.25 = 2^29 in Q31.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
}

TEST(FixedPoint, SaturatingHighMulRoundsHalvesUp) {
  // x * 0.5: 1 * 0.5 = 0.5 -> 1; -1 * 0.5 = -0.5 -> 0; -3 * 0.5 = -1.5 -> -1 (the nudge for
  // negative products is 1 - 2^30, then division truncates toward zero).
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
}

TEST(FixedPoint, RoundingDivideByPotRoundsHalvesAwayFromZero) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);    // 1.5
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // -1.5
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // -1.75
  EXPECT_EQ(rounding_divide_by_pot(-5, 2), -1);  // -1.25
  EXPECT_EQ(rounding_divide_by_pot(7, 0), 7);
  EXPECT_EQ(rounding_divide_by_pot(kInt32Min, 31), -1);
}

TEST(FixedPoint, MultiplyByQuantizedMultiplierRoundsTwice) {
  // 5 * 0.25 = 1.25, but TFLite rounds twice: SRDHM(5, 0.5) = 2.5 -> 3, then 3 / 2 = 1.5 -> 2.
  const QuantizedMultiplier quarter = quantize_multiplier(0.25);
  EXPECT_EQ(quarter.multiplier, 1 << 30);
  EXPECT_EQ(quarter.shift, -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(int32_t{5}, quarter), 2);
  // -3 * 0.25 = -0.75: SRDHM gives -1.5 -> -1, then -1 / 2 = -0.5 -> -1.
  EXPECT_EQ(multiply_by_quantized_multiplier(int32_t{-3}, quarter), -1);
  // 10 * 0.5 = 5 exactly; -3 * 0.5 = -1.5 rounds toward zero in the high multiply.
  EXPECT_EQ(multiply_by_quantized_multiplier(int32_t{10}, quantize_multiplier(0.5)), 5);
  EXPECT_EQ(multiply_by_quantized_multiplier(int32_t{-3}, quantize_multiplier(0.5)), -1);
  // 3 * 3.0: shifted left by 2 to 12, times 0.75 = 9.
  EXPECT_EQ(multiply_by_quantized_multiplier(int32_t{3}, quantize_multiplier(3.0)), 9);
}

TEST(FixedPoint, MultiplyByQuantizedMultiplierSaturatesInt32Min) {
  // A multiplier of -1.0 (INT32_MIN, shift 0) on INT32_MIN would be +1.0: saturates.
  EXPECT_EQ(multiply_by_quantized_multiplier(kInt32Min, QuantizedMultiplier{kInt32Min, 0}),
            kInt32Max);
}

TEST(FixedPoint, SixtyFourBitFormUsesQ15MultiplierAndOneRounding) {
  // 0.5 -> Q15 16384, total shift 15: (x * 16384 + 2^14) >> 15.
  const QuantizedMultiplier half = quantize_multiplier(0.5);
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{1000}, half), 500);
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{3}, half), 2);    // 1.5 -> 2
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{-3}, half), -1);  // -1.5 -> -1
  // Multipliers at or above 0x7FFF0000 saturate to 0x7FFF instead of rounding up to 2^15:
  // 32768 * 32767 / 32768 = 32767 (32768 without the saturation).
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{32768}, QuantizedMultiplier{kInt32Max, 0}),
            32767);
  // 2.0 = 0.5 * 2^2: total shift 13, 5 * 16384 / 8192 = 10.
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{5}, quantize_multiplier(2.0)), 10);
  // A 47-bit accumulator: 2^46 * 2^-16 = 2^30.
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{1} << 46, quantize_multiplier(1.0 / 65536)),
            1 << 30);
}

// ---------------------------------------------------------------------------------------------
// Kernel helpers.

Value quantized(TensorType type, std::vector<int32_t> shape, std::vector<float> scale,
                std::vector<int64_t> zero_point, const std::vector<int64_t>& values,
                int32_t dim = 0) {
  Value v;
  v.type = static_cast<int8_t>(type);
  v.shape = std::move(shape);
  v.quant.scale = std::move(scale);
  v.quant.zero_point = std::move(zero_point);
  v.quant.quantized_dimension = dim;
  size_t size = 1;
  if (type == TensorType::Int16) size = 2;
  if (type == TensorType::Int32 || type == TensorType::Float32) size = 4;
  if (type == TensorType::Int64) size = 8;
  v.data.resize(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (size) {
      case 1: {
        const auto b = static_cast<uint8_t>(values[i] & 0xFF);
        v.data[i] = b;
        break;
      }
      case 2: {
        const auto h = static_cast<int16_t>(values[i]);
        std::memcpy(&v.data[2 * i], &h, 2);
        break;
      }
      case 4: {
        const auto w = static_cast<int32_t>(values[i]);
        std::memcpy(&v.data[4 * i], &w, 4);
        break;
      }
      default:
        std::memcpy(&v.data[8 * i], &values[i], 8);
    }
  }
  return v;
}

Value q8(std::vector<int32_t> shape, float scale, int64_t zp, const std::vector<int64_t>& values) {
  return quantized(TensorType::Int8, std::move(shape), {scale}, {zp}, values);
}

Value u8(std::vector<int32_t> shape, float scale, int64_t zp, const std::vector<int64_t>& values) {
  return quantized(TensorType::UInt8, std::move(shape), {scale}, {zp}, values);
}

Value i32(std::vector<int32_t> shape, const std::vector<int64_t>& values) {
  return quantized(TensorType::Int32, std::move(shape), {}, {}, values);
}

Value floats(std::vector<int32_t> shape, const std::vector<float>& values) {
  Value v;
  v.type = static_cast<int8_t>(TensorType::Float32);
  v.shape = std::move(shape);
  v.data.resize(values.size() * 4);
  std::memcpy(v.data.data(), values.data(), v.data.size());
  return v;
}

// An output of the given type, shape and parameters, as the interpreter would size it.
Value out_like(TensorType type, std::vector<int32_t> shape, float scale, int64_t zp) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return quantized(type, std::move(shape), {scale}, {zp}, std::vector<int64_t>(n, 0));
}

std::vector<int64_t> ints(const Value& v) {
  std::vector<int64_t> r;
  const int64_t n = v.element_count();
  for (int64_t i = 0; i < n; ++i) {
    switch (static_cast<TensorType>(v.type)) {
      case TensorType::Int8:
        r.push_back(v.as<int8_t>()[i]);
        break;
      case TensorType::UInt8:
        r.push_back(v.as<uint8_t>()[i]);
        break;
      case TensorType::Int16:
        r.push_back(v.as<int16_t>()[i]);
        break;
      default:
        r.push_back(v.as<int32_t>()[i]);
    }
  }
  return r;
}

std::vector<float> float_values(const Value& v) {
  return std::vector<float>(v.as<float>(), v.as<float>() + v.element_count());
}

Node make_node(int32_t code, const char* name, size_t inputs, OpOptions options = {}) {
  Node n;
  n.index = 3;
  n.code = code;
  n.type_name = name;
  for (size_t i = 0; i < inputs; ++i) n.inputs.push_back(static_cast<int32_t>(10 + i));
  n.outputs = {20};
  n.options = options;
  return n;
}

void run(const Node& node, const std::vector<const Value*>& inputs, Value& out) {
  const Kernel kernel = find_integer_kernel(node.code);
  ASSERT_NE(kernel, nullptr) << node.type_name;
  std::vector<Value*> outputs = {&out};
  kernel(node, inputs, outputs);
}

// The message of the Error `node` throws on these operands.
std::string error_of(const Node& node, const std::vector<const Value*>& inputs, Value& out) {
  const Kernel kernel = find_integer_kernel(node.code);
  if (kernel == nullptr) return "no kernel";
  std::vector<Value*> outputs = {&out};
  try {
    kernel(node, inputs, outputs);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

enum Code : int32_t {
  kAdd = 0,
  kAveragePool = 1,
  kConcat = 2,
  kConv = 3,
  kDepthwise = 4,
  kDequantize = 6,
  kFullyConnected = 9,
  kLogistic = 14,
  kMaxPool = 17,
  kMul = 18,
  kRelu = 19,
  kReluN1To1 = 20,
  kRelu6 = 21,
  kSoftmax = 25,
  kTanh = 28,
  kPad = 34,
  kMean = 40,
  kSub = 41,
  kPadV2 = 60,
  kReduceMax = 82,
  kReduceMin = 89,
  kLeakyRelu = 98,
  kQuantize = 114,
};

TEST(IntegerKernels, TableListsEveryImplementedOperator) {
  const std::vector<int32_t> codes = integer_kernel_codes();
  for (int32_t code :
       {kAdd,      kAveragePool, kConcat, kConv, kDepthwise, kDequantize, kFullyConnected,
        kLogistic, kMaxPool,     kMul,    kRelu, kReluN1To1, kRelu6,      kSoftmax,
        kTanh,     kPad,         kMean,   kSub,  kPadV2,     kQuantize}) {
    EXPECT_NE(find_integer_kernel(code), nullptr) << code;
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << code;
  }
  EXPECT_EQ(find_integer_kernel(22), nullptr);  // RESHAPE moves values: the generic table's
  EXPECT_EQ(find_integer_kernel(9999), nullptr);
}

// ---------------------------------------------------------------------------------------------
// CONV_2D.

TEST(IntegerConv2D, Int8PerChannelWithBias) {
  // Input real (q + 1) * 0.5 = 1, 2, 3, 4; 1x1 weights per channel: 4 * 0.25 = 1, -2 * 0.5 = -1.
  const Value in = q8({1, 2, 2, 1}, 0.5f, -1, {1, 3, 5, 7});
  const Value w = quantized(TensorType::Int8, {2, 1, 1, 1}, {0.25f, 0.5f}, {0, 0}, {4, -2});
  const Value b = i32({2}, {2, 0});  // 2 * (0.5 * 0.25) = 0.25
  Value out = out_like(TensorType::Int8, {1, 2, 2, 2}, 0.25f, 3);
  run(make_node(kConv, "CONV_2D", 3), {&in, &w, &b}, out);
  // Channel 0: acc = (q + 1) * 4 + 2 = 10, 18, 26, 34; M = 0.5 -> 5, 9, 13, 17; + 3.
  // Channel 1: acc = (q + 1) * -2 = -4 .. -16; M = 1.0 -> unchanged; + 3.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{8, -1, 12, -5, 16, -9, 20, -13}));
}

OpOptions conv_options(Padding padding, int32_t stride, int32_t dilation = 1) {
  OpOptions o;
  o.padding = padding;
  o.stride_h = o.stride_w = stride;
  o.dilation_h = o.dilation_w = dilation;
  return o;
}

TEST(IntegerConv2D, SamePaddingPutsTheOddPadAfter) {
  // 3x3 input 1..9, 2x2 kernel of ones, SAME stride 1: total padding 1, all of it after, so each
  // output sums in[y..y+1][x..x+1] inside the image.
  const Value in = q8({1, 3, 3, 1}, 1.0f, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Value w = q8({1, 2, 2, 1}, 1.0f, 0, {1, 1, 1, 1});
  Value out = out_like(TensorType::Int8, {1, 3, 3, 1}, 1.0f, 0);
  run(make_node(kConv, "CONV_2D", 2, conv_options(Padding::Same, 1)), {&in, &w}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
}

TEST(IntegerConv2D, StrideAndDilation) {
  const Value in = q8({1, 3, 3, 1}, 1.0f, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Value w = q8({1, 2, 2, 1}, 1.0f, 0, {1, 1, 1, 1});
  // SAME stride 2: 2x2 outputs at origins (0,0), (0,2), (2,0), (2,2), padding 1 after.
  Value strided = out_like(TensorType::Int8, {1, 2, 2, 1}, 1.0f, 0);
  run(make_node(kConv, "CONV_2D", 2, conv_options(Padding::Same, 2)), {&in, &w}, strided);
  EXPECT_EQ(ints(strided), (std::vector<int64_t>{12, 9, 15, 9}));
  // VALID dilation 2: one output reading the four corners 1 + 3 + 7 + 9.
  Value dilated = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  run(make_node(kConv, "CONV_2D", 2, conv_options(Padding::Valid, 1, 2)), {&in, &w}, dilated);
  EXPECT_EQ(ints(dilated), (std::vector<int64_t>{20}));
}

TEST(IntegerConv2D, Uint8SubtractsWeightZeroPoint) {
  // Input real 130 - 128 = 2, 126 - 128 = -2; weights (132 - 128) * 0.5 = 2, (124 - 128) * 0.5
  // = -2; bias -4 * 0.5 = -2.
  const Value in = u8({1, 1, 1, 2}, 1.0f, 128, {130, 126});
  const Value w = u8({1, 1, 1, 2}, 0.5f, 128, {132, 124});
  const Value b = i32({1}, {-4});
  Value out = out_like(TensorType::UInt8, {1, 1, 1, 1}, 2.0f, 100);
  run(make_node(kConv, "CONV_2D", 3), {&in, &w, &b}, out);
  // acc = 2 * 4 + (-2) * (-4) - 4 = 12; M = 1 * 0.5 / 2 = 0.25 -> 3; + 100.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{103}));
}

TEST(IntegerConv2D, Int16ActivationsUseInt64BiasAndWideMultiply) {
  const Value in = quantized(TensorType::Int16, {1, 1, 1, 1}, {0.5f}, {0}, {1000});
  const Value w = q8({1, 1, 1, 1}, 0.25f, 0, {3});
  const Value b = quantized(TensorType::Int64, {1}, {}, {}, {100});
  Value out = out_like(TensorType::Int16, {1, 1, 1, 1}, 1.0f, 0);
  run(make_node(kConv, "CONV_2D", 3), {&in, &w, &b}, out);
  // acc = 3000 + 100 = 3100; M = 0.125: (3100 * 16384 + 2^16) >> 17 = 387.5 + 0.5 -> 388.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{388}));
}

TEST(IntegerConv2D, Int16WeightsOfCircleInt16Models) {
  // acc = 1000 * 300 - 1000 * 100 = 200000 (int64); M = 0.5 * 0.001 / 0.25 = 0.002:
  // 200000 * 0.002 = 400 through the Q15 multiplier.
  const Value in = quantized(TensorType::Int16, {1, 1, 1, 2}, {0.5f}, {0}, {1000, 1000});
  const Value w = quantized(TensorType::Int16, {1, 1, 1, 2}, {0.001f}, {0}, {300, -100});
  Value out = out_like(TensorType::Int16, {1, 1, 1, 1}, 0.25f, 0);
  run(make_node(kConv, "CONV_2D", 2), {&in, &w}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{400}));
}

TEST(IntegerConv2D, FusedReluClampsAtTheZeroPoint) {
  const Value in = q8({1, 1, 1, 1}, 1.0f, 0, {5});
  const Value w = quantized(TensorType::Int8, {2, 1, 1, 1}, {1.0f, 1.0f}, {0, 0}, {1, -1});
  OpOptions o;
  o.activation = Activation::Relu;
  Value out = out_like(TensorType::Int8, {1, 1, 1, 2}, 1.0f, -10);
  run(make_node(kConv, "CONV_2D", 2, o), {&in, &w}, out);
  // 5 - 10 = -5 stays; -5 - 10 = -15 is below quantize(0) = -10.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{-5, -10}));
}

// ---------------------------------------------------------------------------------------------
// DEPTHWISE_CONV_2D and FULLY_CONNECTED.

TEST(IntegerDepthwise, DepthMultiplierTwoPerChannelAlongDimension3) {
  // Two pixels (1, 2) and (3, 4); 1x2 kernel, 4 output channels: channel c reads input c / 2.
  const Value in = q8({1, 1, 2, 2}, 1.0f, 0, {1, 2, 3, 4});
  const Value w = quantized(TensorType::Int8, {1, 1, 2, 4}, {1.0f, 1.0f, 1.0f, 0.5f}, {0, 0, 0, 0},
                            {1, 2, 3, 4, 5, 6, 7, 8}, 3);
  const Value b = i32({4}, {1, 0, 0, 0});
  OpOptions o;
  o.depth_multiplier = 2;
  Value out = out_like(TensorType::Int8, {1, 1, 1, 4}, 1.0f, 0);
  run(make_node(kDepthwise, "DEPTHWISE_CONV_2D", 3, o), {&in, &w, &b}, out);
  // c0 = 1*1 + 3*5 + 1 = 17; c1 = 1*2 + 3*6 = 20; c2 = 2*3 + 4*7 = 34; c3 = (2*4 + 4*8) * 0.5.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{17, 20, 34, 20}));
}

TEST(IntegerDepthwise, Uint8SubtractsWeightZeroPoint) {
  // Input real 12 - 10 = 2, 7 - 10 = -3; weights (104 - 100) * 0.5 = 2, (96 - 100) * 0.5 = -2;
  // bias 2 and -2 (reals 1, -1). acc = 2 * 4 + 2 = 10 and -3 * -4 - 2 = 10; M = 0.5 -> 5; + 50.
  const Value in = u8({1, 1, 1, 2}, 1.0f, 10, {12, 7});
  const Value w = u8({1, 1, 1, 2}, 0.5f, 100, {104, 96});
  const Value b = i32({2}, {2, -2});
  Value out = out_like(TensorType::UInt8, {1, 1, 1, 2}, 1.0f, 50);
  run(make_node(kDepthwise, "DEPTHWISE_CONV_2D", 3), {&in, &w, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{55, 55}));
}

TEST(IntegerFullyConnected, Int8PerTensorWithReluAndBias) {
  // Rows (q - 1): (2, 4, 0) and (0, 0, 0); weights rows (1, 1, 1) and (1, -1, 2); bias 4, -4.
  const Value in = q8({2, 3}, 0.5f, 1, {3, 5, 1, 1, 1, 1});
  const Value w = q8({2, 3}, 1.0f, 0, {1, 1, 1, 1, -1, 2});
  const Value b = i32({2}, {4, -4});
  Value out = out_like(TensorType::Int8, {2, 2}, 1.0f, -2);
  run(make_node(kFullyConnected, "FULLY_CONNECTED", 3), {&in, &w, &b}, out);
  // acc = 10, -6, 4, -4; M = 0.5 -> 5, -3, 2, -2; + (-2).
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3, -5, 0, -4}));
  OpOptions relu;
  relu.activation = Activation::Relu;
  run(make_node(kFullyConnected, "FULLY_CONNECTED", 3, relu), {&in, &w, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3, -2, 0, -2}));
}

TEST(IntegerFullyConnected, Int4PerChannelWeights) {
  const Value in = q8({2, 3}, 0.5f, 1, {3, 5, 1, 1, 1, 1});
  const Value w = quantized(TensorType::Int4, {2, 3}, {1.0f, 0.5f}, {0, 0}, {1, 1, 1, 1, -1, 2}, 0);
  const Value b = i32({2}, {4, -4});
  Value out = out_like(TensorType::Int8, {2, 2}, 1.0f, -2);
  run(make_node(kFullyConnected, "FULLY_CONNECTED", 3), {&in, &w, &b}, out);
  // Channel 1 has M = 0.25: -6 -> SRDHM -3 -> -1.5 -> -2; -4 -> -2 -> -1.
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3, -4, 0, -3}));
}

TEST(IntegerFullyConnected, WithoutBiasFlattensLeadingDimensions) {
  const Value in = q8({1, 2, 2}, 1.0f, 0, {1, 2, 3, 4});
  const Value w = q8({1, 2}, 1.0f, 0, {1, 1});
  Value out = out_like(TensorType::Int8, {1, 2, 1}, 1.0f, 0);
  run(make_node(kFullyConnected, "FULLY_CONNECTED", 2), {&in, &w}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3, 7}));
}

// ---------------------------------------------------------------------------------------------
// ADD, SUB, MUL.

TEST(IntegerAdd, Int8DifferentScalesWithBroadcast) {
  // a real = q * 0.5: 1, 2, 3, 4; b real = q * 0.25: 1, -2 along the last axis; out = sum / 0.5
  // + 1. With left shift 20: twice_max = 1, a multiplier 0.5, b 0.25, output 2^-19.
  // Element 0: a = 2 << 20 -> 2^20; b = 4 << 20 -> 2^20; sum 2^21 -> 4; + 1 = 5.
  const Value a = q8({2, 2}, 0.5f, 0, {2, 4, 6, 8});
  const Value b = q8({2}, 0.25f, 0, {4, -8});
  Value out = out_like(TensorType::Int8, {2, 2}, 0.5f, 1);
  run(make_node(kAdd, "ADD", 2), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{5, 1, 9, 5}));
}

TEST(IntegerSub, Int8DifferentScalesWithBroadcast) {
  // Differences 0, 4, 2, 6 -> / 0.5 + 1.
  const Value a = q8({2, 2}, 0.5f, 0, {2, 4, 6, 8});
  const Value b = q8({2}, 0.25f, 0, {4, -8});
  Value out = out_like(TensorType::Int8, {2, 2}, 0.5f, 1);
  run(make_node(kSub, "SUB", 2), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{1, 9, 5, 13}));
}

TEST(IntegerAdd, Int16UsesLeftShift15AndRoundsHalvesAway) {
  // (100 - 30) * 0.5 = 35 and (101 - 30) * 0.5 = 35.5 -> 36: a = 101 << 15 = 3309568 -> *0.5 =
  // 1654784; b = -30 << 15 -> -491520; sum 1163264 -> output multiplier 2^-15 = 0.5 * 2^-14:
  // SRDHM 581632, 581632 / 2^14 = 35.5 -> 36.
  const Value a = quantized(TensorType::Int16, {2}, {0.5f}, {0}, {100, 101});
  const Value b = quantized(TensorType::Int16, {2}, {0.5f}, {0}, {-30, -30});
  Value out = out_like(TensorType::Int16, {2}, 1.0f, 0);
  run(make_node(kAdd, "ADD", 2), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{35, 36}));
}

TEST(IntegerAdd, Uint8WithZeroPointsAndRelu6) {
  // Same scale 1: real a = 10 - 5 = 5, b = 3 - 2 = 1; sum 6 -> / 0.5 = 12; out zp 20; RELU6
  // clamps at 20 + 12 = 32. Sum 8 (a = 12) would be 36 -> 32.
  const Value a = u8({2}, 1.0f, 5, {10, 12});
  const Value b = u8({2}, 1.0f, 2, {3, 3});
  OpOptions o;
  o.activation = Activation::Relu6;
  Value out = out_like(TensorType::UInt8, {2}, 0.5f, 20);
  run(make_node(kAdd, "ADD", 2, o), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{32, 32}));
}

TEST(IntegerMul, Int8RoundsAtHalvesLikeTflite) {
  // 1.5 * 2.5 = 3.75 and -1.5 * 2.5 = -3.75; M = 0.25: 15 -> SRDHM 8 -> 4; -15 -> -7 -> -4.
  const Value a = q8({2}, 0.5f, 0, {3, -3});
  const Value b = q8({2}, 0.5f, 0, {5, 5});
  Value out = out_like(TensorType::Int8, {2}, 1.0f, 0);
  run(make_node(kMul, "MUL", 2), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{4, -4}));
  OpOptions o;
  o.activation = Activation::Relu6;
  run(make_node(kMul, "MUL", 2, o), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{4, 0}));
}

TEST(IntegerMul, ZeroPointsAreSubtractedBeforeMultiplying) {
  // (7 - 2) * (1 - (-3)) = 20 at scale 0.25 * 1 / 0.5 = 0.5 -> 10; + zp 5.
  const Value a = q8({1}, 0.25f, 2, {7});
  const Value b = q8({1}, 1.0f, -3, {1});
  Value out = out_like(TensorType::Int8, {1}, 0.5f, 5);
  run(make_node(kMul, "MUL", 2), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{15}));
}

// ---------------------------------------------------------------------------------------------
// Pools.

OpOptions pool_options(Padding padding, int32_t size, int32_t stride) {
  OpOptions o;
  o.padding = padding;
  o.filter_h = o.filter_w = size;
  o.stride_h = o.stride_w = stride;
  return o;
}

TEST(IntegerPool, AverageRoundsHalvesAwayFromZero) {
  // Channel 0: 1 + 2 + 3 + 4 = 10 -> 2.5 -> 3; channel 1: -10 -> -2.5 -> -3.
  const Value in = q8({1, 2, 2, 2}, 1.0f, 0, {1, -1, 2, -2, 3, -3, 4, -4});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 2}, 1.0f, 0);
  run(make_node(kAveragePool, "AVERAGE_POOL_2D", 1, pool_options(Padding::Valid, 2, 2)), {&in},
      out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3, -3}));
}

TEST(IntegerPool, AverageAndMaxCountOnlyTheValidWindow) {
  // 3x3 input 1..9, 2x2 window, SAME stride 2: windows (1,2,4,5), (3,6), (7,8), (9).
  const Value in = q8({1, 3, 3, 1}, 1.0f, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Value avg = out_like(TensorType::Int8, {1, 2, 2, 1}, 1.0f, 0);
  run(make_node(kAveragePool, "AVERAGE_POOL_2D", 1, pool_options(Padding::Same, 2, 2)), {&in}, avg);
  // 12 / 4 = 3; 9 / 2 = 4.5 -> 5; 15 / 2 = 7.5 -> 8; 9.
  EXPECT_EQ(ints(avg), (std::vector<int64_t>{3, 5, 8, 9}));
  Value max = out_like(TensorType::Int8, {1, 2, 2, 1}, 1.0f, 0);
  run(make_node(kMaxPool, "MAX_POOL_2D", 1, pool_options(Padding::Same, 2, 2)), {&in}, max);
  EXPECT_EQ(ints(max), (std::vector<int64_t>{5, 6, 8, 9}));
}

// ---------------------------------------------------------------------------------------------
// CONCATENATION, MEAN, PAD.

TEST(IntegerConcatenation, RequantizesInputsWithOtherParameters) {
  // Second input real (q - 10) * 2 = 4, -2 -> at scale 1, zp 0: 4 and -2 clamped to 0.
  const Value a = u8({1, 2}, 1.0f, 0, {1, 2});
  const Value b = u8({1, 2}, 2.0f, 10, {12, 9});
  OpOptions o;
  o.axis = -1;
  Value out = out_like(TensorType::UInt8, {1, 4}, 1.0f, 0);
  run(make_node(kConcat, "CONCATENATION", 2, o), {&a, &b}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{1, 2, 4, 0}));
  o.axis = 0;
  Value rows = out_like(TensorType::UInt8, {2, 2}, 1.0f, 0);
  run(make_node(kConcat, "CONCATENATION", 2, o), {&a, &b}, rows);
  EXPECT_EQ(ints(rows), (std::vector<int64_t>{1, 2, 4, 0}));
}

TEST(IntegerConcatenation, Int8WithOtherInputParametersIsRefused) {
  // TFLite's builtin int8 kernel copies raw values, its XNNPACK path and Arm NN compute other
  // things: no result here would match the runtime, so the kernel refuses, naming the fix.
  const Value a = q8({1, 2}, 1.0f, 0, {1, 2});
  const Value b = q8({1, 2}, 0.5f, -1, {3, -128});
  OpOptions o;
  o.axis = 1;
  Value out = out_like(TensorType::Int8, {1, 4}, 1.0f, 0);
  const std::string e = error_of(make_node(kConcat, "CONCATENATION", 2, o), {&a, &b}, out);
  EXPECT_NE(e.find("CONCATENATION"), std::string::npos) << e;
  EXPECT_NE(e.find("does not requantize its inputs"), std::string::npos) << e;
  EXPECT_NE(e.find("requantizing QUANTIZE"), std::string::npos) << e;
}

TEST(IntegerMean, SpatialInt8RescalesThenDividesRounded) {
  // keep_dims over axes 1, 2: sum (q - 1) = 0 + 1 + 2 + 4 = 7; M = 1; (7 + 2) / 4 = 2; + 1.
  const Value in = q8({1, 2, 2, 1}, 0.5f, 1, {1, 2, 3, 5});
  const Value axes = i32({2}, {1, 2});
  OpOptions o;
  o.keep_dims = true;
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 0.5f, 1);
  run(make_node(kMean, "MEAN", 2, o), {&in, &axes}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{3}));
}

TEST(IntegerMean, SpatialUint8FoldsTheCountIntoTheMultiplier) {
  // sum 101; M = 1 / 4 = 0.25 rounds twice: SRDHM(101, 0.5) = 50.5 -> 51, 51 / 2 -> 26, where
  // the exact mean is 25.25.
  const Value in = u8({1, 2, 2, 1}, 1.0f, 0, {10, 20, 30, 41});
  const Value axes = i32({2}, {2, 1});
  OpOptions o;
  o.keep_dims = true;
  Value out = out_like(TensorType::UInt8, {1, 1, 1, 1}, 1.0f, 0);
  run(make_node(kMean, "MEAN", 2, o), {&in, &axes}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{26}));
}

TEST(IntegerMean, OtherAxesTruncateOrUseFloat) {
  const Value in = q8({1, 2, 2, 1}, 0.5f, 1, {1, 2, 3, 5});
  const Value axes = i32({2}, {1, 2});
  // Without keep_dims, equal parameters: raw sum 11 / 4 truncates to 2.
  Value same = out_like(TensorType::Int8, {1, 1}, 0.5f, 1);
  run(make_node(kMean, "MEAN", 2), {&in, &axes}, same);
  EXPECT_EQ(ints(same), (std::vector<int64_t>{2}));
  // Other parameters: float path, mean 2.75 * (0.5 / 0.4) - 1 * 1.25 = 2.1875 -> 2 (the old
  // + 0.5 in TFLite's bias would have given 3).
  Value other = out_like(TensorType::Int8, {1, 1}, 0.4f, 0);
  run(make_node(kMean, "MEAN", 2), {&in, &axes}, other);
  EXPECT_EQ(ints(other), (std::vector<int64_t>{2}));
}

TEST(IntegerReduce, MaxAndMinOfRawValues) {
  const Value in = q8({2, 3}, 0.5f, 1, {1, 5, -2, 4, 0, 7});
  const Value last = i32({1}, {1});
  Value out = out_like(TensorType::Int8, {2}, 0.5f, 1);
  run(make_node(kReduceMax, "REDUCE_MAX", 2), {&in, &last}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{5, 7}));
  run(make_node(kReduceMin, "REDUCE_MIN", 2), {&in, &last}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{-2, 0}));
  const Value first = i32({1}, {-2});
  Value cols = out_like(TensorType::Int8, {3}, 0.5f, 1);
  run(make_node(kReduceMax, "REDUCE_MAX", 2), {&in, &first}, cols);
  EXPECT_EQ(ints(cols), (std::vector<int64_t>{4, 5, 7}));
}

TEST(IntegerPad, PadsWithZeroPointOrConstant) {
  const Value in = q8({1, 2}, 1.0f, -3, {5, 6});
  const Value pads = i32({2, 2}, {0, 0, 1, 2});
  Value out = out_like(TensorType::Int8, {1, 5}, 1.0f, -3);
  run(make_node(kPad, "PAD", 2), {&in, &pads}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{-3, 5, 6, -3, -3}));
  const Value constant = q8({1}, 1.0f, -3, {7});
  run(make_node(kPadV2, "PADV2", 3), {&in, &pads, &constant}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{7, 5, 6, 7, 7}));
}

// ---------------------------------------------------------------------------------------------
// SOFTMAX, LOGISTIC, TANH.

TEST(IntegerSoftmax, EqualInputsGiveOneHalfEach) {
  // exp(0) = 1 for both; the sum 2 is 2^20 in Q12.19, one bit over unit, reciprocal ~1.0:
  // output 2^31 / 2^(1 + 31 - 8) = 128 -> -128 + 128 = 0 (0.5 at scale 1/256, zp -128).
  const Value in = q8({1, 2}, 0.1f, 0, {7, 7});
  Value out = out_like(TensorType::Int8, {1, 2}, 1.0f / 256, -128);
  run(make_node(kSoftmax, "SOFTMAX", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{0, 0}));
  const Value u = u8({1, 2}, 0.1f, 0, {7, 7});
  Value uout = out_like(TensorType::UInt8, {1, 2}, 1.0f / 256, 0);
  run(make_node(kSoftmax, "SOFTMAX", 1), {&u}, uout);
  EXPECT_EQ(ints(uout), (std::vector<int64_t>{128, 128}));
  Value wide = out_like(TensorType::Int16, {1, 2}, 1.0f / 65536, -32768);
  run(make_node(kSoftmax, "SOFTMAX", 1), {&in}, wide);
  EXPECT_EQ(ints(wide), (std::vector<int64_t>{0, 0}));
}

TEST(IntegerSoftmax, FarBelowTheMaximumIsZeroAndOneSaturates) {
  // A difference of 255 at scale 1 is below diff_min: output -128 (0.0); the maximum gets 1.0,
  // which is 256 - 128 = 128, saturated to 127.
  const Value in = q8({1, 2}, 1.0f, 0, {127, -128});
  Value out = out_like(TensorType::Int8, {1, 2}, 1.0f / 256, -128);
  run(make_node(kSoftmax, "SOFTMAX", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{127, -128}));
}

TEST(IntegerSoftmax, WithinOneStepOfFloatPerRow) {
  // Two rows of real values; the fixed-point result stays within 1/256 of float softmax.
  const std::vector<int64_t> q = {-20, 0, 10, 30, 5, 5, -5, 15};
  const Value in = q8({2, 4}, 0.1f, 0, q);
  Value out = out_like(TensorType::Int8, {2, 4}, 1.0f / 256, -128);
  OpOptions o;
  o.beta = 1.5f;
  run(make_node(kSoftmax, "SOFTMAX", 1, o), {&in}, out);
  const std::vector<int64_t> got = ints(out);
  for (int row = 0; row < 2; ++row) {
    double sum = 0;
    for (int c = 0; c < 4; ++c) sum += std::exp(1.5 * 0.1 * q[row * 4 + c]);
    for (int c = 0; c < 4; ++c) {
      const double expected = std::exp(1.5 * 0.1 * q[row * 4 + c]) / sum * 256 - 128;
      EXPECT_NEAR(static_cast<double>(got[row * 4 + c]), expected, 1.0) << row << "," << c;
    }
  }
}

// TFLite's interpreter computes 8-bit LOGISTIC / TANH from a table built in float:
// round(f(S_in * (q - zp_in)) / S_out) + zp_out, clamped. The fixed-point kernel matches that
// table on every input here (measured over scales 0.02 to 0.2 as well), so equality is checked.
void expect_table_equal(const Value& in, const Value& out, float (*f)(float)) {
  const std::vector<int64_t> x = ints(in), y = ints(out);
  const float in_scale = in.quant.scale[0], out_scale = out.quant.scale[0];
  const int64_t in_zp = in.quant.zero_point[0], out_zp = out.quant.zero_point[0];
  for (size_t i = 0; i < x.size(); ++i) {
    const float real = in_scale * static_cast<float>(x[i] - in_zp);
    const int64_t table = static_cast<int64_t>(std::round(f(real) * (1.0f / out_scale))) + out_zp;
    EXPECT_EQ(y[i], std::max<int64_t>(-128, std::min<int64_t>(127, table))) << "input " << x[i];
  }
}

// The float functions of TFLite's tables.
float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}
float tanh_fn(float x) {
  return std::tanh(x);
}

Value int8_range(float scale, int64_t zp) {
  std::vector<int64_t> all;
  for (int v = -128; v <= 127; ++v) all.push_back(v);
  return q8({256}, scale, zp, all);
}

TEST(IntegerLogistic, CenterSaturationAndWholeRangeEqualToTflitesTable) {
  const Value in = int8_range(0.1f, 3);
  Value out = out_like(TensorType::Int8, {256}, 1.0f / 256, -128);
  run(make_node(kLogistic, "LOGISTIC", 1), {&in}, out);
  const std::vector<int64_t> y = ints(out);
  EXPECT_EQ(y[3 + 128], 0);  // input at the zero point: 0.5 -> -128 + 128
  expect_table_equal(in, out, sigmoid);
  // Scale 1: |x| >= radius saturates to the type's ends.
  const Value wide = q8({2}, 1.0f, 0, {100, -100});
  Value wide_out = out_like(TensorType::Int8, {2}, 1.0f / 256, -128);
  run(make_node(kLogistic, "LOGISTIC", 1), {&wide}, wide_out);
  EXPECT_EQ(ints(wide_out), (std::vector<int64_t>{127, -128}));
  const Value u = u8({1}, 0.1f, 128, {128});
  Value u_out = out_like(TensorType::UInt8, {1}, 1.0f / 256, 0);
  run(make_node(kLogistic, "LOGISTIC", 1), {&u}, u_out);
  EXPECT_EQ(ints(u_out), (std::vector<int64_t>{128}));
}

TEST(IntegerTanh, CenterSaturationAndWholeRangeEqualToTflitesTable) {
  const Value in = int8_range(0.05f, -2);
  Value out = out_like(TensorType::Int8, {256}, 1.0f / 128, 0);
  run(make_node(kTanh, "TANH", 1), {&in}, out);
  EXPECT_EQ(ints(out)[-2 + 128], 0);
  expect_table_equal(in, out, tanh_fn);
  const Value wide = q8({2}, 1.0f, 0, {100, -100});
  Value wide_out = out_like(TensorType::Int8, {2}, 1.0f / 128, 0);
  run(make_node(kTanh, "TANH", 1), {&wide}, wide_out);
  EXPECT_EQ(ints(wide_out), (std::vector<int64_t>{127, -128}));
  const Value u = u8({1}, 0.1f, 100, {100});
  Value u_out = out_like(TensorType::UInt8, {1}, 1.0f / 128, 128);
  run(make_node(kTanh, "TANH", 1), {&u}, u_out);
  EXPECT_EQ(ints(u_out), (std::vector<int64_t>{128}));
}

// ---------------------------------------------------------------------------------------------
// QUANTIZE, DEQUANTIZE, RELU.

TEST(IntegerQuantize, FloatRoundsHalfAwayFromZeroAndClamps) {
  // x / 0.5 = 2.5, -2.5, 1.5, 200, -200 -> 3, -3, 2 (+ zp 1), clamped to [-128, 127].
  const Value in = floats({5}, {1.25f, -1.25f, 0.75f, 100.0f, -100.0f});
  Value out = out_like(TensorType::Int8, {5}, 0.5f, 1);
  run(make_node(kQuantize, "QUANTIZE", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{4, -2, 3, 127, -128}));
}

TEST(IntegerQuantize, FloatPerChannel) {
  const Value in = floats({2, 1}, {1.5f, 1.5f});
  Value out = quantized(TensorType::Int8, {2, 1}, {1.0f, 0.5f}, {0, 0}, {0, 0}, 0);
  run(make_node(kQuantize, "QUANTIZE", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{2, 3}));  // 1.5 -> 2; 3.0 -> 3
}

TEST(IntegerQuantize, RequantizesIntegers) {
  // int8 scale 1 -> scale 0.5: M = 2; 100 * 2 clamps to 127.
  const Value in = q8({3}, 1.0f, 0, {3, -3, 100});
  Value out = out_like(TensorType::Int8, {3}, 0.5f, 0);
  run(make_node(kQuantize, "QUANTIZE", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{6, -6, 127}));
  // uint8 zp 128 -> int8 zp -128 at the same scale: 200 - 128 = 72 -> -56.
  const Value u = u8({1}, 0.5f, 128, {200});
  Value s = out_like(TensorType::Int8, {1}, 0.5f, -128);
  run(make_node(kQuantize, "QUANTIZE", 1), {&u}, s);
  EXPECT_EQ(ints(s), (std::vector<int64_t>{-56}));
}

TEST(IntegerDequantize, PerTensorPerChannelAndFloat16) {
  const Value in = q8({2}, 0.5f, 1, {3, -1});
  Value out = floats({2}, {0, 0});
  run(make_node(kDequantize, "DEQUANTIZE", 1), {&in}, out);
  EXPECT_EQ(float_values(out), (std::vector<float>{1.0f, -1.0f}));
  const Value pc = quantized(TensorType::Int8, {2, 1}, {0.5f, 0.25f}, {0, 0}, {4, 4}, 0);
  Value pc_out = floats({2, 1}, {0, 0});
  run(make_node(kDequantize, "DEQUANTIZE", 1), {&pc}, pc_out);
  EXPECT_EQ(float_values(pc_out), (std::vector<float>{2.0f, 1.0f}));
  Value half;
  half.type = static_cast<int8_t>(TensorType::Float16);
  half.shape = {3};
  const uint16_t bits[] = {0x3C00, 0xC000, 0x3555};  // 1, -2, 0.333251953125
  half.data.resize(6);
  std::memcpy(half.data.data(), bits, 6);
  Value h_out = floats({3}, {0, 0, 0});
  run(make_node(kDequantize, "DEQUANTIZE", 1), {&half}, h_out);
  EXPECT_EQ(float_values(h_out), (std::vector<float>{1.0f, -2.0f, 0.333251953125f}));
}

TEST(IntegerRelu, RequantizesAndClampsAtTheActivationBounds) {
  // M = 1 / 0.5 = 2, out zp -10: -3 -> -16, 2 -> -6; RELU clamps at -10 + round(0 / 0.5).
  const Value in = q8({2}, 1.0f, 0, {-3, 2});
  Value out = out_like(TensorType::Int8, {2}, 0.5f, -10);
  run(make_node(kRelu, "RELU", 1), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{-10, -6}));
  // RELU6: upper bound -10 + 6 / 0.5 = 2; 5 -> 0 stays, 7 -> 4 clamps.
  const Value six = q8({2}, 1.0f, 0, {5, 7});
  run(make_node(kRelu6, "RELU6", 1), {&six}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{0, 2}));
  // RELU_N1_TO_1: bounds -12 and -8.
  const Value one = q8({3}, 1.0f, 0, {-3, 0, 3});
  Value out3 = out_like(TensorType::Int8, {3}, 0.5f, -10);
  run(make_node(kReluN1To1, "RELU_N1_TO_1", 1), {&one}, out3);
  EXPECT_EQ(ints(out3), (std::vector<int64_t>{-12, -10, -8}));
}

TEST(IntegerLeakyRelu, IdentityAboveZeroAlphaBelow) {
  // Identity multiplier 1 / 0.5 = 2, alpha multiplier 1 * 0.25 / 0.5 = 0.5; out zp 3:
  // 10 - 2 = 8 -> 16 + 3; -6 - 2 = -8 -> -4 + 3; -5 - 2 = -7 -> -3.5 -> SRDHM rounds to -3.
  const Value in = q8({3}, 1.0f, 2, {10, -6, -5});
  OpOptions o;
  o.alpha = 0.25f;
  Value out = out_like(TensorType::Int8, {3}, 0.5f, 3);
  run(make_node(kLeakyRelu, "LEAKY_RELU", 1, o), {&in}, out);
  EXPECT_EQ(ints(out), (std::vector<int64_t>{19, -1, 0}));
}

// ---------------------------------------------------------------------------------------------
// End to end: quantized models built in code, run by the Interpreter, which picks these
// kernels for the quantized operators.

std::vector<uint8_t> bytes_i8(const std::vector<int8_t>& v) {
  return std::vector<uint8_t>(v.begin(), v.end());
}

std::vector<uint8_t> bytes_i32(const std::vector<int32_t>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(IntegerEndToEnd, QuantizeConvPerChannelDequantizeInTflite) {
  // The hand-computed CONV_2D above, fed by QUANTIZE (1, 2, 3, 4 / 0.5 - 1 = 1, 3, 5, 7) and
  // read back by DEQUANTIZE ((q - 3) * 0.25).
  test::ModelBuilder b(Format::TFLite);
  const int32_t in = b.tensor("in", {1, 2, 2, 1});
  const int32_t q = b.tensor("q", {1, 2, 2, 1}, TensorType::Int8);
  b.set_quant(q, {0.5f}, {-1});
  const int32_t w = b.constant_bytes("w", {2, 1, 1, 1}, TensorType::Int8, bytes_i8({4, -2}));
  b.set_quant(w, {0.25f, 0.5f}, {0, 0}, 0);
  const int32_t bias = b.constant_bytes("b", {2}, TensorType::Int32, bytes_i32({2, 0}));
  b.set_quant(bias, {0.125f, 0.25f}, {0, 0}, 0);
  const int32_t conv = b.tensor("conv", {1, 2, 2, 2}, TensorType::Int8);
  b.set_quant(conv, {0.25f}, {3});
  const int32_t out = b.tensor("out", {1, 2, 2, 2});
  b.op(kQuantize, {in}, {q});
  b.op(kConv, {q, w, bias}, {conv});
  b.op(kDequantize, {conv}, {out});
  b.inputs({in});
  b.outputs({out});
  test::ScratchDir dir;
  b.save(dir.file("m.tflite"));
  const auto file = ModelFile::open(dir.file("m.tflite"));
  const Interpreter interpreter(*file);
  const std::vector<Value> all = interpreter.run({floats({1, 2, 2, 1}, {1, 2, 3, 4})});
  EXPECT_EQ(ints(all[q]), (std::vector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(ints(all[conv]), (std::vector<int64_t>{8, -1, 12, -5, 16, -9, 20, -13}));
  EXPECT_EQ(float_values(all[out]),
            (std::vector<float>{1.25f, -1.0f, 2.25f, -2.0f, 3.25f, -3.0f, 4.25f, -4.0f}));
}

TEST(IntegerEndToEnd, FullyConnectedReluThenAddInCircle) {
  // FULLY_CONNECTED as above with RELU: 3, -2, 0, -2 at scale 1, zp -2 (reals 5, 0, 2, 0);
  // ADD of it with itself to scale 2, zp 0: 5, 0, 2, 0.
  test::ModelBuilder b(Format::Circle);
  const int32_t in = b.tensor("in", {2, 3}, TensorType::Int8);
  b.set_quant(in, {0.5f}, {1});
  const int32_t w = b.constant_bytes("w", {2, 3}, TensorType::Int8, bytes_i8({1, 1, 1, 1, -1, 2}));
  b.set_quant(w, {1.0f}, {0});
  const int32_t bias = b.constant_bytes("b", {2}, TensorType::Int32, bytes_i32({4, -4}));
  b.set_quant(bias, {0.5f}, {0});
  const int32_t fc = b.tensor("fc", {2, 2}, TensorType::Int8);
  b.set_quant(fc, {1.0f}, {-2});
  const int32_t sum = b.tensor("sum", {2, 2}, TensorType::Int8);
  b.set_quant(sum, {2.0f}, {0});
  OpOptions relu;
  relu.activation = Activation::Relu;
  b.options(b.op(kFullyConnected, {in, w, bias}, {fc}), relu);
  b.op(kAdd, {fc, fc}, {sum});
  b.inputs({in});
  b.outputs({sum});
  test::ScratchDir dir;
  b.save(dir.file("m.circle"));
  const auto file = ModelFile::open(dir.file("m.circle"));
  const Interpreter interpreter(*file);
  Value x = q8({2, 3}, 0.5f, 1, {3, 5, 1, 1, 1, 1});
  const std::vector<Value> all = interpreter.run({x});
  EXPECT_EQ(ints(all[fc]), (std::vector<int64_t>{3, -2, 0, -2}));
  EXPECT_EQ(ints(all[sum]), (std::vector<int64_t>{5, 0, 2, 0}));
}

// ---------------------------------------------------------------------------------------------
// Against a real runtime: the cases tools/armnn-run/check.py ran in Arm NN (its --work folder,
// given in QIMPLANT_ARMNN_WORK). Arm NN's CpuRef dequantizes, computes in float and requantizes,
// so it may differ from TFLite's integer arithmetic by 1 LSB; more is an error. Each case's
// result is also written as interp_out0.npy and compared by check.py's own, independent numpy
// implementation of TFLite's integer kernels, which it must match exactly.

// Runs every case of a tools/armnn-run/check.py work folder (tests/runtime runs it as
// interpreter_runtime.matches_reference): the interpreter must equal check.py's independent
// numpy TFLite-integer reference exactly, and be within 1 LSB of each runtime that ran the
// case (Arm NN's CpuRef computes in float; LiteRT's XNNPACK requantizes in fp32).
TEST(IntegerArmNN, CheckPyCasesMatchTfliteReferenceExactlyAndRuntimesWithinOneLsb) {
  const char* work = std::getenv("QIMPLANT_ARMNN_WORK");
  if (work == nullptr) {
    GTEST_SKIP() << "set QIMPLANT_ARMNN_WORK to the --work folder of a tools/armnn-run/check.py "
                    "run";
  }
  std::vector<std::string> cases;
  for (const auto& entry : std::filesystem::directory_iterator(work)) {
    if (std::filesystem::exists(entry.path() / "quantized.tflite") &&
        std::filesystem::exists(entry.path() / "case.json")) {
      cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty()) << "no case with quantized.tflite under " << work;
  for (const std::string& dir : cases) {
    const auto file = ModelFile::open(dir + "/quantized.tflite");
    const Interpreter interpreter(*file);
    const SubgraphInfo& sg = interpreter.info();
    std::vector<Value> in;
    for (size_t i = 0; i < sg.inputs.size(); ++i) {
      const TensorInfo& t = sg.tensors[sg.inputs[i]];
      const npy::Array a = npy::load(dir + "/input" + std::to_string(i) + ".npy");
      in.push_back(quantized(static_cast<TensorType>(t.type), t.shape, t.quant.scale,
                             t.quant.zero_point, npy::to_int64(a), t.quant.quantized_dimension));
    }
    const std::vector<int64_t> got = ints(interpreter.run(in)[sg.outputs[0]]);
    std::cout << std::filesystem::path(dir).filename().string() << ": " << got.size()
              << " elements";
    for (const char* runtime : {"armnn", "litert"}) {
      const std::string out = dir + "/" + runtime + "_out0.npy";
      if (!std::filesystem::exists(out)) continue;
      const std::vector<int64_t> theirs = npy::to_int64(npy::load(out));
      ASSERT_EQ(got.size(), theirs.size()) << dir << " " << runtime;
      size_t equal = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_LE(std::abs(got[i] - theirs[i]), 1) << dir << " " << runtime << " element " << i;
        equal += got[i] == theirs[i];
      }
      std::cout << ", " << equal << " equal to " << runtime;
    }
    std::cout << "\n";
    std::vector<int32_t> out32(got.begin(), got.end());
    npy::save(dir + "/interp_out0.npy", out32, {static_cast<int64_t>(got.size())});
  }
  // check.py's TFLite-integer reference of each case against what was just written.
  const std::string script =
      "import sys, os, numpy as np\n"
      "sys.path.insert(0, '" QIMPLANT_SOURCE_DIR
      "/tools/armnn-run')\n"
      "import check\n"
      "bad = 0\n"
      "for d in sys.argv[1:]:\n"
      "    case, qp, inputs = check.load_case(d)\n"
      "    tfl = check.REFS[case['op']](case, qp, inputs)['tflite'].reshape(-1)\n"
      "    got = np.load(os.path.join(d, 'interp_out0.npy')).astype(np.int64)\n"
      "    n = int((got != tfl).sum())\n"
      "    print(os.path.basename(d), 'differs from the tflite reference at', n)\n"
      "    bad += n\n"
      "sys.exit(1 if bad else 0)\n";
  test::ScratchDir scratch;
  test::write_text(scratch.file("compare.py"), script);
  std::string command = "/usr/bin/python3 " + scratch.file("compare.py");
  for (const std::string& dir : cases) command += " " + dir;
  std::string output;
  EXPECT_EQ(test::run_command(command, &output), 0) << output;
  std::cout << output;
}

// ---------------------------------------------------------------------------------------------
// Errors: one complete message naming the operator, the operand, what was expected and found.

TEST(IntegerKernelErrors, FloatWeightsInAQuantizedConv) {
  const Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  const Value w = floats({1, 1, 1, 1}, {1.0f});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, out),
            "operator 3 (CONV_2D): input 1 (weights, tensor 11) (with INT8 activations) has type "
            "FLOAT32; expected INT8 or INT4");
}

TEST(IntegerKernelErrors, Uint8WeightsWithInt8Activations) {
  const Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  const Value w = u8({1, 1, 1, 1}, 1.0f, 0, {1});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  const std::string e = error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, out);
  EXPECT_NE(e.find("has type UINT8; expected INT8 or INT4"), std::string::npos) << e;
}

TEST(IntegerKernelErrors, PerChannelAlongTheWrongDimension) {
  const Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  const Value w = quantized(TensorType::Int8, {2, 1, 1, 1}, {1.0f, 1.0f}, {0, 0}, {1, 1}, 3);
  Value out = out_like(TensorType::Int8, {1, 1, 1, 2}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, out),
            "operator 3 (CONV_2D): input 1 (weights, tensor 11) is quantized along dimension 3; "
            "expected dimension 0");
  const Value three =
      quantized(TensorType::Int8, {2, 1, 1, 1}, {1.0f, 1.0f, 1.0f}, {0, 0, 0}, {1, 1}, 0);
  const std::string e = error_of(make_node(kConv, "CONV_2D", 2), {&in, &three}, out);
  EXPECT_NE(e.find("has 3 scales; expected 1 or 2"), std::string::npos) << e;
}

TEST(IntegerKernelErrors, BiasOfTheWrongTypeOrSize) {
  const Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  const Value w = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  const Value b64 = quantized(TensorType::Int64, {1}, {}, {}, {1});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 3), {&in, &w, &b64}, out),
            "operator 3 (CONV_2D): input 2 (bias, tensor 12) (with INT8 activations) has type "
            "INT64; expected INT32");
  const Value b2 = i32({2}, {1, 1});
  const std::string e = error_of(make_node(kConv, "CONV_2D", 3), {&in, &w, &b2}, out);
  EXPECT_NE(e.find("input 2 (bias, tensor 12) has shape [2]; expected 1 elements"),
            std::string::npos)
      << e;
}

TEST(IntegerKernelErrors, MissingQuantizationAndMissingInput) {
  Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  in.quant = {};
  const Value w = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, out),
            "operator 3 (CONV_2D): input 0 (input, tensor 10) (INT8) has no quantization "
            "parameters; expected one scale and zero point");
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 1), {&w}, out),
            "operator 3 (CONV_2D): input 1 (weights) is missing; expected 2 or more inputs, "
            "found 1");
}

TEST(IntegerKernelErrors, OutputShapeAndUnsupportedActivation) {
  const Value in = q8({1, 2, 2, 1}, 1.0f, 0, {1, 2, 3, 4});
  const Value w = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  Value wrong = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, wrong),
            "operator 3 (CONV_2D): output 0 (tensor 20) has shape [1,1,1,1]; expected [1,2,2,1]");
  OpOptions o;
  o.activation = Activation::Tanh;
  Value out = out_like(TensorType::Int8, {1, 2, 2, 1}, 1.0f, 0);
  const std::string e = error_of(make_node(kConv, "CONV_2D", 2, o), {&in, &w}, out);
  EXPECT_NE(e.find("fused activation 4 is not supported on quantized outputs"), std::string::npos)
      << e;
}

TEST(IntegerKernelErrors, PoolWithOtherOutputParameters) {
  const Value in = q8({1, 2, 2, 1}, 1.0f, 0, {1, 2, 3, 4});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 0.5f, 0);
  const std::string e =
      error_of(make_node(kAveragePool, "AVERAGE_POOL_2D", 1, pool_options(Padding::Valid, 2, 2)),
               {&in}, out);
  EXPECT_EQ(e.rfind("operator 3 (AVERAGE_POOL_2D): output 0 (tensor 20) has scale 0.500000", 0), 0u)
      << e;
  EXPECT_NE(e.find("expected those of input 0 (input, tensor 10)"), std::string::npos) << e;
}

TEST(IntegerKernelErrors, Int16SoftmaxAndWrongSoftmaxOutput) {
  const Value in = quantized(TensorType::Int16, {1, 2}, {0.1f}, {0}, {1, 2});
  Value out = out_like(TensorType::Int16, {1, 2}, 1.0f / 32768, 0);
  const std::string e = error_of(make_node(kSoftmax, "SOFTMAX", 1), {&in}, out);
  EXPECT_NE(e.find("input 0 (input, tensor 10) is INT16"), std::string::npos) << e;
  const Value q = q8({1, 2}, 0.1f, 0, {1, 2});
  Value bad = out_like(TensorType::Int8, {1, 2}, 1.0f / 256, 0);
  const std::string f = error_of(make_node(kSoftmax, "SOFTMAX", 1), {&q}, bad);
  EXPECT_NE(f.find("writes scale 0.003906 and zero point -128 for INT8"), std::string::npos) << f;
}

TEST(IntegerKernelErrors, ShapesThatDoNotBroadcastAndMixedTypes) {
  const Value a = q8({2, 3}, 1.0f, 0, {1, 2, 3, 4, 5, 6});
  const Value b = q8({2}, 1.0f, 0, {1, 2});
  Value out = out_like(TensorType::Int8, {2, 3}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kAdd, "ADD", 2), {&a, &b}, out),
            "operator 3 (ADD): input 1 (y, tensor 11) has shape [2]; expected one that broadcasts "
            "to [2,3]");
  const Value u = u8({2, 3}, 1.0f, 0, {1, 2, 3, 4, 5, 6});
  const std::string e = error_of(make_node(kMul, "MUL", 2), {&a, &u}, out);
  EXPECT_NE(e.find("input 1 (y, tensor 11) has type UINT8; expected INT8"), std::string::npos) << e;
}

TEST(IntegerKernelErrors, ConcatActivationMeanAxisAndNegativePadding) {
  const Value a = q8({1, 2}, 1.0f, 0, {1, 2});
  OpOptions relu;
  relu.activation = Activation::Relu;
  Value out = out_like(TensorType::Int8, {1, 4}, 1.0f, 0);
  std::string e = error_of(make_node(kConcat, "CONCATENATION", 2, relu), {&a, &a}, out);
  EXPECT_NE(e.find("fused activation 1; expected NONE"), std::string::npos) << e;
  const Value axes = i32({1}, {5});
  Value mean_out = out_like(TensorType::Int8, {1}, 1.0f, 0);
  e = error_of(make_node(kMean, "MEAN", 2), {&a, &axes}, mean_out);
  EXPECT_EQ(e,
            "operator 3 (MEAN): input 1 (axis, tensor 11) value 5 is out of range; expected one "
            "in [-2, 1]");
  const Value pads = i32({2, 2}, {0, 0, -1, 0});
  Value pad_out = out_like(TensorType::Int8, {1, 1}, 1.0f, 0);
  e = error_of(make_node(kPad, "PAD", 2), {&a, &pads}, pad_out);
  EXPECT_NE(e.find("pads dimension 1 by -1 and 0; expected non-negative amounts"),
            std::string::npos)
      << e;
}

TEST(IntegerKernelErrors, NegativeDimensionsAreRefusedBeforeAnythingIsSized) {
  Value in = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  in.shape = {1, -3, 1, 1};
  const Value w = q8({1, 1, 1, 1}, 1.0f, 0, {1});
  Value out = out_like(TensorType::Int8, {1, 1, 1, 1}, 1.0f, 0);
  EXPECT_EQ(error_of(make_node(kConv, "CONV_2D", 2), {&in, &w}, out),
            "operator 3 (CONV_2D): input 0 (tensor 10) has shape [1,-3,1,1]; expected "
            "non-negative dimensions");
}

TEST(IntegerKernelErrors, QuantizeToFloatAndDequantizeFromFloat) {
  const Value f = floats({1}, {1.0f});
  Value f_out = floats({1}, {0});
  std::string e = error_of(make_node(kQuantize, "QUANTIZE", 1), {&f}, f_out);
  EXPECT_NE(e.find("output 0 (tensor 20) has type FLOAT32; expected UINT8 or INT8 or INT16"),
            std::string::npos)
      << e;
  e = error_of(make_node(kDequantize, "DEQUANTIZE", 1), {&f}, f_out);
  EXPECT_NE(e.find("input 0 (input, tensor 10) has type FLOAT32; expected UINT8"),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace qimplant::exec
