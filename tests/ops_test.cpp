// One case per common operator, each run in both formats, with uint8 / int8 (asymmetric) and
// int16 (symmetric) activations, per-tensor and per-channel weights, and constants given both as
// "value" npy files and as float data q-implant quantizes itself.
//
// The cases are a table (OpCase); one runner builds the model, writes qparam.json, runs implant()
// and checks the output with our reader (exact values) and with flatc (everything else unchanged).
// Expected quantized bytes come from the small reference quantizer below, not from the library.
#include "implant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>

#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Element types, as the test sees them (independent of the library's QType table).

struct DType {
  const char* qparam;  // qparam.json spelling
  TensorType type;
  const char* json;   // flatc's spelling
  const char* descr;  // npy descr of a "value" file
  int size;
  int64_t lo, hi;
};

const DType kUInt8{"uint8", TensorType::UInt8, "UINT8", "|u1", 1, 0, 255};
const DType kInt8{"int8", TensorType::Int8, "INT8", "|i1", 1, -128, 127};
const DType kInt16{"int16", TensorType::Int16, "INT16", "<i2", 2, -32768, 32767};
const DType kInt32{"int32", TensorType::Int32, "INT32", "<i4", 4, INT32_MIN, INT32_MAX};
const DType kInt64{"int64", TensorType::Int64, "INT64", "<i8", 8, INT64_MIN, INT64_MAX};

// ---------------------------------------------------------------------------------------------
// Reference quantizer: q = clamp(round_half_even(x * (1 / scale)) + zp), product in float32.

int64_t round_half_even(double v) {
  const double f = std::floor(v);
  const double d = v - f;
  int64_t r = static_cast<int64_t>(f);
  if (d > 0.5 || (d == 0.5 && r % 2 != 0)) ++r;
  return r;
}

int64_t ref_quantize(float x, float scale, int64_t zp, const DType& t) {
  const float inv = 1.0f / scale;
  const float scaled = x * inv;
  const int64_t q = round_half_even(static_cast<double>(scaled)) + zp;
  return q < t.lo ? t.lo : q > t.hi ? t.hi : q;
}

void append(std::vector<uint8_t>& out, int64_t v, int size) {
  for (int b = 0; b < size; ++b)
    out.push_back(static_cast<uint8_t>((static_cast<uint64_t>(v) >> (8 * b)) & 0xff));
}

// Quantizes `x` (shape `shape`) per tensor (one scale) or along `dim` (several scales).
std::vector<uint8_t> ref_quantize_all(const std::vector<float>& x,
                                      const std::vector<int32_t>& shape,
                                      const std::vector<float>& scale,
                                      const std::vector<int64_t>& zp, int dim, const DType& t) {
  size_t inner = 1;
  if (scale.size() > 1)
    for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<uint8_t> out;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = scale.size() > 1 ? (i / inner) % scale.size() : 0;
    append(out, ref_quantize(x[i], scale[c], zp[c], t), t.size);
  }
  return out;
}

TEST(OpReference, QuantizerRoundsHalvesToEvenAndClamps) {
  EXPECT_EQ(ref_quantize(1.25f, 0.5f, 0, kInt8), 2);    // 2.5 -> 2
  EXPECT_EQ(ref_quantize(1.75f, 0.5f, 0, kInt8), 4);    // 3.5 -> 4
  EXPECT_EQ(ref_quantize(-1.25f, 0.5f, 0, kInt8), -2);  // -2.5 -> -2
  EXPECT_EQ(ref_quantize(-1.75f, 0.5f, 3, kInt8), -1);  // -3.5 -> -4, + 3
  EXPECT_EQ(ref_quantize(100.0f, 0.5f, 0, kInt8), 127);
  EXPECT_EQ(ref_quantize(-1.0f, 0.5f, 1, kUInt8), 0);
  EXPECT_EQ(ref_quantize(0.3f, 0.1f, 250, kUInt8), 253);
  EXPECT_EQ(ref_quantize(1e9f, 1.0f, 0, kInt16), 32767);
  const auto pc = ref_quantize_all({1, 2, 3, 4, 5, 6}, {2, 3}, {1.0f, 0.5f}, {0, 0}, 0, kInt8);
  EXPECT_EQ(pc, (std::vector<uint8_t>{1, 2, 3, 8, 10, 12}));
  const auto last = ref_quantize_all({1, 2, 3, 4, 5, 6}, {2, 3}, {1, 2, 4}, {0, 0, 0}, 1, kInt8);
  EXPECT_EQ(last, (std::vector<uint8_t>{1, 1, 1, 4, 2, 2}));  // 0.75 -> 1, 2.5 -> 2, 1.5 -> 2
}

// ---------------------------------------------------------------------------------------------
// The table.

enum class Role {
  Activation,  // computed at run time; activation dtype
  Weight,      // constant, int8, zero point 0, per tensor or per channel
  Bias,        // constant, int32, scale = input scale * weight scale[c], zero point 0
  Constant,    // constant operand with the activation dtype (per tensor, asymmetric)
  Index,       // int32 constant (axis, paddings, shape): stays INT32, not listed
};

struct TensorSpec {
  std::string name;
  std::vector<int32_t> shape;
  Role role = Role::Activation;
  std::vector<int32_t> ints;  // Index data
};

enum class OutputRule {
  Own,          // the output has parameters of its own
  SameAsInput,  // value-preserving op: the output carries input 0's parameters
  Softmax,      // the target's fixed output parameters
  Shared,       // CONCATENATION: every input carries the output's parameters
};

struct OpCase {
  const char* name;
  int32_t code;
  const char* op_name;       // operator name in q-implant's messages
  const char* options_type;  // builtin_options_type flatc prints for the operator
  std::vector<TensorSpec> tensors;
  std::vector<int32_t> inputs;  // indices into tensors
  std::vector<int32_t> outputs;
  int weight_dim = -1;  // channel dimension of the weight, -1 without weight
  OutputRule output = OutputRule::Own;
};

TensorSpec act(const std::string& n, std::vector<int32_t> s) {
  return {n, std::move(s)};
}
TensorSpec weight(const std::string& n, std::vector<int32_t> s) {
  return {n, std::move(s), Role::Weight};
}
TensorSpec bias(const std::string& n, std::vector<int32_t> s) {
  return {n, std::move(s), Role::Bias};
}
TensorSpec constant(const std::string& n, std::vector<int32_t> s) {
  return {n, std::move(s), Role::Constant};
}
TensorSpec index(const std::string& n, std::vector<int32_t> s, std::vector<int32_t> v) {
  return {n, std::move(s), Role::Index, std::move(v)};
}

const std::vector<OpCase>& op_cases() {
  using namespace circle;
  static const std::vector<OpCase> cases = {
      {"Conv2D",
       BuiltinOperator_CONV_2D,
       "CONV_2D",
       "Conv2DOptions",
       {act("ifm", {1, 4, 4, 2}), weight("ker", {3, 2, 2, 2}), bias("bias", {3}),
        act("ofm", {1, 3, 3, 3})},
       {0, 1, 2},
       {3},
       0},
      {"DepthwiseConv2D",
       BuiltinOperator_DEPTHWISE_CONV_2D,
       "DEPTHWISE_CONV_2D",
       "DepthwiseConv2DOptions",
       {act("ifm", {1, 4, 4, 3}), weight("ker", {1, 2, 2, 3}), bias("bias", {3}),
        act("ofm", {1, 3, 3, 3})},
       {0, 1, 2},
       {3},
       3},
      {"FullyConnected",
       BuiltinOperator_FULLY_CONNECTED,
       "FULLY_CONNECTED",
       "FullyConnectedOptions",
       {act("in", {2, 5}), weight("weight", {4, 5}), bias("bias", {4}), act("out", {2, 4})},
       {0, 1, 2},
       {3},
       0},
      {"Add",
       BuiltinOperator_ADD,
       "ADD",
       "AddOptions",
       {act("lhs", {1, 2, 2, 3}), act("rhs", {1, 2, 2, 3}), act("sum", {1, 2, 2, 3})},
       {0, 1},
       {2}},
      {"Mul",
       BuiltinOperator_MUL,
       "MUL",
       "MulOptions",
       {act("x", {1, 2, 2, 3}), constant("gain", {3}), act("product", {1, 2, 2, 3})},
       {0, 1},
       {2}},
      {"AveragePool2D",
       BuiltinOperator_AVERAGE_POOL_2D,
       "AVERAGE_POOL_2D",
       "Pool2DOptions",
       {act("ifm", {1, 4, 4, 2}), act("ofm", {1, 3, 3, 2})},
       {0},
       {1}},
      {"MaxPool2D",
       BuiltinOperator_MAX_POOL_2D,
       "MAX_POOL_2D",
       "Pool2DOptions",
       {act("ifm", {1, 4, 4, 2}), act("ofm", {1, 3, 3, 2})},
       {0},
       {1},
       -1,
       OutputRule::SameAsInput},
      {"Concatenation",
       BuiltinOperator_CONCATENATION,
       "CONCATENATION",
       "ConcatenationOptions",
       {act("a", {1, 2, 2, 2}), act("b", {1, 2, 2, 3}), act("ab", {1, 2, 2, 5})},
       {0, 1},
       {2},
       -1,
       OutputRule::Shared},
      {"Mean",
       BuiltinOperator_MEAN,
       "MEAN",
       "ReducerOptions",
       {act("ifm", {1, 4, 4, 3}), index("axis", {2}, {1, 2}), act("ofm", {1, 1, 1, 3})},
       {0, 1},
       {2}},
      {"Pad",
       BuiltinOperator_PAD,
       "PAD",
       "PadOptions",
       {act("ifm", {1, 2, 2, 3}), index("paddings", {4, 2}, {0, 0, 1, 1, 1, 1, 0, 0}),
        act("ofm", {1, 4, 4, 3})},
       {0, 1},
       {2},
       -1,
       OutputRule::SameAsInput},
      {"Reshape",
       BuiltinOperator_RESHAPE,
       "RESHAPE",
       "ReshapeOptions",
       {act("ifm", {1, 2, 2, 3}), index("shape", {2}, {1, 12}), act("ofm", {1, 12})},
       {0, 1},
       {2},
       -1,
       OutputRule::SameAsInput},
      {"Softmax",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       "SoftmaxOptions",
       {act("logits", {1, 10}), act("probs", {1, 10})},
       {0},
       {1},
       -1,
       OutputRule::Softmax},
  };
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Runs: case x format x activation type x weight granularity x constant source.

enum class Granularity { None, PerTensor, PerChannel };
enum class Source { None, Value, Float };

struct OpRun {
  size_t case_index;
  Format format;
  const DType* act;
  Granularity granularity;
  Source source;
  bool output_listed = true;
  const OpCase& op() const { return op_cases()[case_index]; }
};

bool has_role(const OpCase& c, Role r) {
  for (const auto& t : c.tensors)
    if (t.role == r) return true;
  return false;
}

bool has_constants(const OpCase& c) {
  return has_role(c, Role::Weight) || has_role(c, Role::Bias) || has_role(c, Role::Constant);
}

std::string run_name(const OpRun& r) {
  std::string n = std::string(r.op().name) + "_" + format_name(r.format) + "_" + r.act->qparam;
  if (r.granularity == Granularity::PerTensor) n += "_PerTensor";
  if (r.granularity == Granularity::PerChannel) n += "_PerChannel";
  if (r.source == Source::Value) n += "_Value";
  if (r.source == Source::Float) n += "_FromFloat";
  if (!r.output_listed) n += "_OutputUnlisted";
  return n;
}

void PrintTo(const OpRun& r, std::ostream* os) {
  *os << run_name(r);
}

std::vector<OpRun> all_runs() {
  std::vector<OpRun> runs;
  for (size_t i = 0; i < op_cases().size(); ++i) {
    const OpCase& c = op_cases()[i];
    std::vector<Granularity> grans = {Granularity::None};
    if (c.weight_dim >= 0) grans = {Granularity::PerTensor, Granularity::PerChannel};
    std::vector<Source> sources = {Source::None};
    if (has_constants(c)) sources = {Source::Value, Source::Float};
    for (Format f : {Format::Circle, Format::TFLite}) {
      for (const DType* a : {&kUInt8, &kInt8, &kInt16})
        for (Granularity g : grans)
          for (Source s : sources) runs.push_back({i, f, a, g, s});
      // The output left out of qparam.json: propagated through value-preserving ops, reported
      // by the final check otherwise.
      runs.push_back({i, f, &kInt8, grans.front(), sources.back(), false});
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Deterministic test data.

// Multiples of 1/32 in [-0.5, 0.5] (halves after scaling by 16), with two values that clamp.
std::vector<float> weight_data(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(static_cast<int>((i * 7) % 33) - 16) / 32;
  v[0] = 9.0f;
  if (n > 1) v[1] = -9.5f;
  return v;
}

std::vector<float> bias_data(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.1234f * static_cast<float>(i + 1) - 0.2f;
  return v;
}

std::vector<float> constant_data(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.37f * static_cast<float>(i) - 0.4f;
  if (n > 2) v[2] = 1000.0f;  // clamps at the top of every activation type
  return v;
}

// Bytes of a "value" file: a pattern unlike what quantizing the float data gives.
std::vector<uint8_t> value_bytes(size_t n, const DType& t) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < n; ++i) {
    int64_t v = static_cast<int64_t>(i * 37 % 200) + t.lo + 3;
    if (t.size >= 4) v = static_cast<int64_t>(i) * 104729 - 77777;
    append(out, v, t.size);
  }
  return out;
}

std::vector<uint8_t> int32_bytes(const std::vector<int32_t>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

size_t count_of(const std::vector<int32_t>& shape) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

// Activation parameters, distinct for each activation tensor (k-th in the case).
QuantParams activation_params(const DType& t, int k) {
  const float scales[] = {0.0178f, 0.0243f, 0.0311f, 0.0419f};
  QuantParams q;
  if (t.type == TensorType::Int16) {
    q.scale = {scales[k % 4] / 128};
    q.zero_point = {0};
  } else if (t.type == TensorType::UInt8) {
    q.scale = {scales[k % 4]};
    q.zero_point = {101 + 13 * k};
  } else {
    q.scale = {scales[k % 4]};
    q.zero_point = {-20 + 9 * k};
  }
  return q;
}

// ---------------------------------------------------------------------------------------------
// What the output must hold for one tensor.

struct Expected {
  TensorType type = TensorType::Float32;
  QuantParams quant;           // empty: no quantization
  std::vector<uint8_t> bytes;  // constants: the buffer's contents
  bool changed = false;
  EditOrigin origin = EditOrigin::Implanted;
  TensorEdit::Data data = TensorEdit::Data::None;
};

// The version TFLite's versioning table (tensorflow/lite/tools/versioning/op_version.cc)
// gives the case's operator with activations of type `act`; the input's is 1.
int32_t expected_version(const OpCase& c, TensorType act, const std::vector<Expected>& want) {
  using namespace circle;
  if (act == TensorType::UInt8) return 1;
  const bool int8 = act == TensorType::Int8;
  switch (c.code) {
    case BuiltinOperator_CONV_2D:
    case BuiltinOperator_DEPTHWISE_CONV_2D:
      return int8 ? 3 : 1;  // int16 x int8 has no row of its own
    case BuiltinOperator_FULLY_CONNECTED:
      return int8 ? 4 : 1;
    case BuiltinOperator_ADD:
      return int8 ? 2 : 1;  // int16 with pot_scale_int16 (the default) has none either
    case BuiltinOperator_MUL: {
      if (!int8) return 4;
      const double ratio =
          double(want[0].quant.scale[0]) * want[1].quant.scale[0] / want[2].quant.scale[0];
      return ratio >= 1.0 ? 3 : 2;
    }
    case BuiltinOperator_AVERAGE_POOL_2D:
    case BuiltinOperator_MAX_POOL_2D:
    case BuiltinOperator_CONCATENATION:
    case BuiltinOperator_MEAN:
    case BuiltinOperator_PAD:
    case BuiltinOperator_SOFTMAX:
      return int8 ? 2 : 3;
    default:
      return 1;
  }
}

class OpTest : public ::testing::TestWithParam<OpRun> {
 protected:
  ScratchDir dir;
};

TEST_P(OpTest, ImplantsTheListedParametersAndNothingElse) {
  const OpRun& run = GetParam();
  const OpCase& c = run.op();
  const DType& at = *run.act;
  const std::string ext = run.format == Format::Circle ? ".circle" : ".tflite";
  const std::string schema = format_name(run.format);

  // Weight parameters: per tensor a power of two (exact halves), per channel distinct values.
  QuantParams wq;
  if (c.weight_dim >= 0) {
    int32_t channels = 0;
    for (const auto& t : c.tensors)
      if (t.role == Role::Weight) channels = t.shape[c.weight_dim];
    if (run.granularity == Granularity::PerChannel) {
      for (int32_t ch = 0; ch < channels; ++ch) {
        const float s[] = {0.0625f, 0.03125f, 0.1f, 0.0371f};
        wq.scale.push_back(s[ch % 4]);
        wq.zero_point.push_back(0);
      }
      wq.quantized_dimension = c.weight_dim;
    } else {
      wq.scale = {0.0625f};
      wq.zero_point = {0};
    }
    ASSERT_TRUE(run.granularity != Granularity::PerChannel || wq.scale.size() > 1);
  }

  ModelBuilder b(run.format);
  std::vector<Expected> want(c.tensors.size());
  std::vector<QParamSpec> specs;
  std::vector<std::vector<float>> floats(c.tensors.size());
  int k = 0;  // activation counter
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorSpec& t = c.tensors[i];
    const size_t n = count_of(t.shape);
    Expected& e = want[i];
    switch (t.role) {
      case Role::Activation: {
        ASSERT_EQ(b.tensor(t.name, t.shape), static_cast<int32_t>(i));
        e.type = at.type;
        e.quant = activation_params(at, k++);
        e.changed = true;
        break;
      }
      case Role::Index:
        ASSERT_EQ(b.constant_i32(t.name, t.shape, t.ints), static_cast<int32_t>(i));
        ASSERT_EQ(t.ints.size(), n);
        e.type = TensorType::Int32;
        e.bytes = int32_bytes(t.ints);
        break;
      case Role::Weight:
      case Role::Bias:
      case Role::Constant: {
        floats[i] = t.role == Role::Weight ? weight_data(n)
                    : t.role == Role::Bias ? bias_data(n)
                                           : constant_data(n);
        ASSERT_EQ(b.constant(t.name, t.shape, floats[i]), static_cast<int32_t>(i));
        e.changed = true;
        break;
      }
    }
  }
  // Constants' parameters (the bias needs input 0's scale, known now).
  const QuantParams in_q = want[c.inputs[0]].quant;
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorSpec& t = c.tensors[i];
    Expected& e = want[i];
    const DType* dt = nullptr;
    if (t.role == Role::Weight) {
      dt = &kInt8;
      e.quant = wq;
    } else if (t.role == Role::Bias) {
      // int64 with int16 activations: luci's verifier refuses int32 there (TFLite takes both).
      dt = at.type == TensorType::Int16 ? &kInt64 : &kInt32;
      for (float ws : wq.scale) {
        e.quant.scale.push_back(in_q.scale[0] * ws);
        e.quant.zero_point.push_back(0);
      }
      e.quant.quantized_dimension = 0;
    } else if (t.role == Role::Constant) {
      dt = &at;
      e.quant.scale = {0.0087f};
      e.quant.zero_point = {at.type == TensorType::UInt8  ? 37
                            : at.type == TensorType::Int8 ? -9
                                                          : 0};
    } else {
      continue;
    }
    e.type = dt->type;
    const auto quantized = ref_quantize_all(floats[i], t.shape, e.quant.scale, e.quant.zero_point,
                                            e.quant.quantized_dimension, *dt);
    if (t.role == Role::Bias) {
      // The library divides in double for 32-bit targets; the fixture must not depend on that.
      for (size_t j = 0; j < floats[i].size(); ++j) {
        const float s = e.quant.scale[e.quant.scale.size() > 1 ? j : 0];
        const int64_t d = round_half_even(static_cast<double>(floats[i][j]) / s);
        int64_t r;
        if (dt->size == 8) {
          std::memcpy(&r, quantized.data() + 8 * j, 8);
        } else {
          int32_t r32;
          std::memcpy(&r32, quantized.data() + 4 * j, 4);
          r = r32;
        }
        ASSERT_EQ(r, d) << "fixture bias " << j << " is too close to a rounding boundary";
      }
    }
    if (run.source == Source::Value) {
      e.bytes = value_bytes(count_of(t.shape), *dt);
      ASSERT_NE(e.bytes, quantized) << "the value file must differ from quantizing the floats";
      e.data = TensorEdit::Data::FromValue;
    } else {
      e.bytes = quantized;
      e.data = TensorEdit::Data::Quantized;
    }
  }
  // Output rules.
  const int32_t out = c.outputs[0];
  if (c.output == OutputRule::SameAsInput) want[out].quant = in_q;
  if (c.output == OutputRule::Shared)
    for (int32_t i : c.inputs) want[i].quant = want[out].quant;
  if (c.output == OutputRule::Softmax) {
    // Each target's own values (circle models are checked against ONE's: luci's verifier takes
    // 1/255 for uint8 and 1/32767 for int16; int8 follows TFLite).
    const bool one = run.format == Format::Circle;
    if (at.type == TensorType::Int16) {
      want[out].quant = {{one ? 1.0f / 32767 : 1.0f / 32768}, {0}, 0};
    } else if (at.type == TensorType::UInt8) {
      want[out].quant = {{one ? 1.0f / 255 : 1.0f / 256}, {0}, 0};
    } else {
      want[out].quant = {{1.0f / 256}, {-128}, 0};
    }
  }
  if (!run.output_listed && c.output == OutputRule::SameAsInput) {
    want[out].origin = EditOrigin::Propagated;
  }

  // qparam.json: every changed tensor except an unlisted output.
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorSpec& t = c.tensors[i];
    const Expected& e = want[i];
    if (!e.changed) continue;
    if (!run.output_listed && static_cast<int32_t>(i) == out) continue;
    const DType& dt = e.type == TensorType::Int8    ? kInt8
                      : e.type == TensorType::UInt8 ? kUInt8
                      : e.type == TensorType::Int16 ? kInt16
                      : e.type == TensorType::Int64 ? kInt64
                                                    : kInt32;
    QParamSpec s{t.name, dt.qparam, e.quant.scale, e.quant.zero_point};
    s.quantized_dimension = e.quant.quantized_dimension;
    // Per-tensor entries leave quantized_dimension out half of the time, as exporters do.
    s.write_dimension = e.quant.scale.size() > 1 || i % 2 == 0;
    if (e.data == TensorEdit::Data::FromValue) {
      s.value_descr = dt.descr;
      s.value_shape.assign(t.shape.begin(), t.shape.end());
      s.value_bytes = e.bytes;
    }
    specs.push_back(s);
  }
  std::vector<int32_t> graph_inputs;
  for (int32_t in : c.inputs)
    if (c.tensors[in].role == Role::Activation) graph_inputs.push_back(in);
  b.op(c.code, c.inputs, c.outputs);
  b.inputs(graph_inputs);
  b.outputs(c.outputs);
  const std::string model = dir.file("in" + ext);
  b.save(model);

  ImplantOptions o;
  o.input = model;
  o.qparam = write_qparams(dir.path(), specs);
  o.output = dir.file("out" + ext);

  if (!run.output_listed && c.output != OutputRule::SameAsInput) {
    // Not value-preserving: the final check reports exactly the output and nothing is written.
    // Derivation is off so that no operator rule (Softmax's fixed range, ...) fills it in.
    o.derive.bias = o.derive.fixed_outputs = o.derive.same_scale = o.derive.constants = false;
    std::string err;
    try {
      implant(o);
    } catch (const Error& x) {
      err = x.what();
    }
    EXPECT_NE(err.find("1 tensor(s) on the compute path would stay FLOAT32"), std::string::npos)
        << err;
    const std::string line = "'" + c.tensors[out].name + "': from " + c.op_name + " (operator 0)";
    EXPECT_NE(err.find(line), std::string::npos) << err;
    EXPECT_FALSE(file_exists(o.output));
    return;
  }

  // int8 weights next to uint8 activations (PyTorch's default types): the targets' uint8
  // kernels read uint8 weights, so the same real values are written as uint8 with zero point
  // 128 (bytes + 128); TFLite's uint8 kernels take no per-channel weights, so that is refused.
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    if (c.tensors[i].role != Role::Weight || at.type != TensorType::UInt8) continue;
    if (run.format == Format::TFLite && wq.scale.size() > 1) {
      std::string err;
      try {
        implant(o);
      } catch (const Error& x) {
        err = x.what();
      }
      EXPECT_NE(err.find("[weight-type]"), std::string::npos) << err;
      EXPECT_NE(err.find("--activation-type int8"), std::string::npos) << err;
      return;
    }
    want[i].type = TensorType::UInt8;
    for (int64_t& z : want[i].quant.zero_point) z += 128;
    for (uint8_t& byte : want[i].bytes) byte ^= 0x80;
  }
  const ImplantResult result = implant(o);  // allow_float off: the final check must pass
  EXPECT_TRUE(result.float_tensors.empty());
  EXPECT_EQ(result.format, run.format);

  // Change records: one per changed tensor, with where it came from.
  size_t changed = 0;
  for (const auto& e : want) changed += e.changed;
  EXPECT_EQ(result.changes.size(), changed);
  for (const auto& ch : result.changes) {
    size_t i = 0;
    while (i < c.tensors.size() && c.tensors[i].name != ch.tensor) ++i;
    ASSERT_LT(i, c.tensors.size()) << ch.tensor;
    EXPECT_TRUE(want[i].changed) << ch.tensor;
    EXPECT_EQ(ch.origin, want[i].origin) << ch.tensor;
    EXPECT_EQ(ch.data, want[i].data) << ch.tensor;
    EXPECT_FALSE(ch.new_buffer) << ch.tensor;
  }

  // Exact values, read back with our reader.
  auto file = ModelFile::open(o.output);
  ASSERT_EQ(file->format(), run.format);
  const ModelInfo& m = file->info();
  ASSERT_EQ(m.subgraphs.size(), 1u);
  ASSERT_EQ(m.subgraphs[0].tensors.size(), c.tensors.size());
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorInfo& t = m.subgraphs[0].tensors[i];
    const Expected& e = want[i];
    SCOPED_TRACE(c.tensors[i].name);
    EXPECT_EQ(t.name, c.tensors[i].name);
    EXPECT_EQ(t.shape, c.tensors[i].shape);
    EXPECT_NE(t.type, static_cast<int8_t>(TensorType::Float32));
    EXPECT_EQ(t.type, static_cast<int8_t>(e.type));
    EXPECT_EQ(t.quant.scale, e.quant.scale);
    EXPECT_EQ(t.quant.zero_point, e.quant.zero_point);
    if (!e.quant.empty()) {
      EXPECT_EQ(t.quant.quantized_dimension, e.quant.quantized_dimension);
    }
    if (c.tensors[i].role == Role::Activation) {
      EXPECT_FALSE(m.is_constant(t));
    } else {
      ASSERT_TRUE(m.is_constant(t));
      const BufferInfo& buf = m.buffers[t.buffer];
      EXPECT_EQ(std::vector<uint8_t>(buf.data, buf.data + buf.size), e.bytes);
    }
  }
  ASSERT_EQ(m.subgraphs[0].operators.size(), 1u);
  EXPECT_EQ(m.subgraphs[0].operators[0].builtin_code, c.code);

  // Everything else unchanged, read with flatc: patch the expected edits into the input's
  // decoding and compare the whole model.
  auto in_json = decode_with_flatc(model, schema);
  auto got = decode_with_flatc(o.output, schema);
  ASSERT_EQ(in_json["subgraphs"][0]["operators"].size(), 1u);
  EXPECT_EQ(in_json["subgraphs"][0]["operators"][0]["builtin_options_type"], c.options_type)
      << "the builder gives the operator its options";
  auto expect = in_json;
  auto& tensors = expect["subgraphs"][0]["tensors"];
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const Expected& e = want[i];
    SCOPED_TRACE(c.tensors[i].name);
    auto& t = tensors[i];
    EXPECT_FALSE(t.contains("quantization")) << "input tensors carry no quantization";
    if (!e.changed) continue;
    t["type"] = e.type == TensorType::Int8    ? kInt8.json
                : e.type == TensorType::UInt8 ? kUInt8.json
                : e.type == TensorType::Int16 ? kInt16.json
                : e.type == TensorType::Int64 ? kInt64.json
                                              : kInt32.json;
    // flatc prints floats with 6 decimals: compare scales within that, exactly above.
    const auto& got_q = got["subgraphs"][0]["tensors"][i]["quantization"];
    ASSERT_TRUE(got_q.contains("scale"));
    ASSERT_EQ(got_q["scale"].size(), e.quant.scale.size());
    for (size_t j = 0; j < e.quant.scale.size(); ++j)
      EXPECT_NEAR(got_q["scale"][j].get<double>(), e.quant.scale[j], 1e-6) << j;
    nlohmann::json q = nlohmann::json::object();
    q["scale"] = got_q["scale"];
    q["zero_point"] = e.quant.zero_point;
    q["quantized_dimension"] = e.quant.quantized_dimension;
    q["details_type"] = "NONE";
    t["quantization"] = q;
    if (c.tensors[i].role != Role::Activation) {
      expect["buffers"][t["buffer"].get<int>()]["data"] = e.bytes;
    }
  }
  expect["operator_codes"][0]["version"] = expected_version(c, at.type, want);
  EXPECT_EQ(got, expect);
  for (const auto& t : got["subgraphs"][0]["tensors"]) {
    EXPECT_NE(t["type"], "FLOAT32") << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTest, ::testing::ValuesIn(all_runs()),
                         [](const auto& info) { return run_name(info.param); });

}  // namespace
}  // namespace qimplant::test
