#include <algorithm>
// The per-operator rule check, rule by rule. For every rule and every target where it differs
// (TFLite spec vs ONE/luci), a model that breaks it must give exactly the finding expected
// (severity, rule, operator, tensors, and the expected/found numbers of the message) and a model
// that keeps it must give none. Then the check as implant() applies it (errors stop the write
// unless forced), and the `q-implant check` command, --rules, --force, --no-check and --report.
// Models are built already quantized (set_type / set_quant); expected messages are written out
// by hand from the rules' definitions, not computed the way the checker computes them.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "check/rule_check.h"
#include "implant.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

constexpr TensorType kF32 = TensorType::Float32;
constexpr TensorType kU8 = TensorType::UInt8;
constexpr TensorType kI8 = TensorType::Int8;
constexpr TensorType kI16 = TensorType::Int16;
constexpr TensorType kI32 = TensorType::Int32;
constexpr TensorType kI64 = TensorType::Int64;

int64_t element_count(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

// A non-constant tensor of `type`; quantized unless `scale` is empty.
int32_t qtensor(ModelBuilder& b, const std::string& name, std::vector<int32_t> shape,
                TensorType type, std::vector<float> scale, std::vector<int64_t> zero_point,
                int32_t dim = 0) {
  const int32_t t = b.tensor(name, std::move(shape), type);
  if (!scale.empty()) b.set_quant(t, std::move(scale), std::move(zero_point), dim);
  return t;
}

// A constant of `type` (zero bytes of the right size); quantized unless `scale` is empty.
int32_t qconst(ModelBuilder& b, const std::string& name, std::vector<int32_t> shape,
               TensorType type, std::vector<float> scale, std::vector<int64_t> zero_point,
               int32_t dim = 0) {
  const size_t bytes = size_t(element_count(shape)) * tensor_type_size(int8_t(type));
  const int32_t t = b.constant_bytes(name, shape, type, std::vector<uint8_t>(bytes, 0));
  if (!scale.empty()) b.set_quant(t, std::move(scale), std::move(zero_point), dim);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Operators with a weight and a bias: tensors "in", "w", "bias", "out" (and "out_shape" for
// TRANSPOSE_CONV), two output channels.

struct WeightedSpec {
  int32_t op = circle::BuiltinOperator_CONV_2D;
  TensorType act = kU8;  // kF32: float activations (weight-only quantization)
  float in_scale = 0.5f;
  int64_t in_zp = 3;
  TensorType weight = kU8;
  std::vector<float> w_scale = {0.25f};
  std::vector<int64_t> w_zp = {7};
  int32_t w_dim = -1;  // -1: the operator's channel dimension
  TensorType bias = kI32;
  std::vector<float> b_scale;  // empty: input scale x weight scale
  std::vector<int64_t> b_zp;   // empty: zeros
  float out_scale = 1.0f;
  int64_t out_zp = 3;
  bool quantized_out_shape = false;  // TRANSPOSE_CONV's output_shape as a quantized INT8
};

int32_t channel_dim(int32_t op) {
  return op == circle::BuiltinOperator_DEPTHWISE_CONV_2D ? 3 : 0;
}

// ONE's uint8 model: asymmetric uint8 activations and weights, int32 bias.
WeightedSpec u8_spec(int32_t op = circle::BuiltinOperator_CONV_2D) {
  WeightedSpec s;
  s.op = op;
  return s;
}
// The TFLite spec's int8 model: asymmetric int8 activations, symmetric int8 weights, int32 bias.
WeightedSpec i8_spec(int32_t op = circle::BuiltinOperator_CONV_2D) {
  WeightedSpec s;
  s.op = op;
  s.act = kI8;
  s.in_zp = -1;
  s.weight = kI8;
  s.w_zp = {0};
  s.out_zp = -2;
  return s;
}
// int16 activations (symmetric) with int64 bias: int8 weights for TFLite's 16x8, int16 for luci.
WeightedSpec i16_spec(TensorType weight, int32_t op = circle::BuiltinOperator_CONV_2D) {
  WeightedSpec s;
  s.op = op;
  s.act = kI16;
  s.in_zp = 0;
  s.weight = weight;
  s.w_zp = {0};
  s.bias = kI64;
  s.out_zp = 0;
  return s;
}
// The spec a target's own models use.
WeightedSpec native_spec(Target t, int32_t op = circle::BuiltinOperator_CONV_2D) {
  return t == Target::ONE ? u8_spec(op) : i8_spec(op);
}
// Per-channel weights (scales 0.25, 0.5) with the spec's zero point on each channel.
WeightedSpec per_channel(WeightedSpec s) {
  s.w_scale = {0.25f, 0.5f};
  s.w_zp = {s.w_zp[0], s.w_zp[0]};
  return s;
}

int32_t weighted(ModelBuilder& b, const WeightedSpec& s) {
  using namespace circle;
  constexpr int32_t C = 2;
  std::vector<int32_t> in_shape{1, 2, 2, 2}, w_shape{C, 1, 1, 2}, out_shape{1, 2, 2, C};
  if (s.op == BuiltinOperator_FULLY_CONNECTED) {
    in_shape = {1, 2};
    w_shape = {C, 2};
    out_shape = {1, C};
  } else if (s.op == BuiltinOperator_DEPTHWISE_CONV_2D) {
    in_shape = {1, 2, 2, C};
    w_shape = {1, 1, 1, C};
  }
  const bool q = s.act != kF32;
  const int32_t in = qtensor(b, "in", in_shape, s.act,
                             q ? std::vector<float>{s.in_scale} : std::vector<float>{}, {s.in_zp});
  const int32_t w = qconst(b, "w", w_shape, s.weight, s.w_scale, s.w_zp,
                           s.w_dim >= 0 ? s.w_dim : channel_dim(s.op));
  std::vector<float> bs = s.b_scale;
  if (bs.empty() && s.bias != kF32)
    for (float ws : s.w_scale) bs.push_back(s.in_scale * ws);
  std::vector<int64_t> bz = s.b_zp;
  if (bz.empty()) bz.assign(bs.size(), 0);
  const int32_t bias = qconst(b, "bias", {C}, s.bias, bs, bz);
  const int32_t out =
      qtensor(b, "out", out_shape, s.act,
              q ? std::vector<float>{s.out_scale} : std::vector<float>{}, {s.out_zp});
  std::vector<int32_t> inputs{in, w, bias};
  if (s.op == BuiltinOperator_TRANSPOSE_CONV)
    inputs = {s.quantized_out_shape ? qconst(b, "out_shape", {4}, kI8, {0.5f}, {0})
                                    : b.constant_i32("out_shape", {4}, {1, 2, 2, C}),
              w, in, bias};
  b.inputs({in});
  b.outputs({out});
  return b.op(s.op, inputs, {out});
}

// ---------------------------------------------------------------------------------------------
// The table of rule cases.

struct Expect {
  Severity severity;
  std::string rule;
  int32_t op_index;
  std::string op;
  std::vector<std::string> tensors;
  std::string message;
  uint32_t subgraph = 0;
};

Expect error(const std::string& rule, const std::string& op, std::vector<std::string> tensors,
             const std::string& message, int32_t op_index = 0) {
  return {Severity::Error, rule, op_index, op, std::move(tensors), message};
}
Expect warning(const std::string& rule, const std::string& op, std::vector<std::string> tensors,
               const std::string& message, int32_t op_index = 0) {
  return {Severity::Warning, rule, op_index, op, std::move(tensors), message};
}

// Every field of a finding on one line, so that vectors of them compare and print readably.
std::string show(Severity severity, const std::string& rule, uint32_t subgraph, int32_t op_index,
                 const std::string& op, const std::vector<std::string>& tensors,
                 const std::string& message) {
  std::string s = severity == Severity::Error ? "error" : "warning";
  s += " | " + rule + " | subgraph " + std::to_string(subgraph) + " | operator " +
       std::to_string(op_index) + " " + op + " |";
  for (const auto& t : tensors) s += " '" + t + "'";
  return s + " | " + message;
}
std::vector<std::string> shown(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs)
    out.push_back(show(f.severity, f.rule, f.subgraph, f.op_index, f.op, f.tensors, f.message));
  return out;
}
std::vector<std::string> shown(const std::vector<Expect>& es) {
  std::vector<std::string> out;
  for (const auto& e : es)
    out.push_back(show(e.severity, e.rule, e.subgraph, e.op_index, e.op, e.tensors, e.message));
  return out;
}

using Build = std::function<void(ModelBuilder&, bool violate)>;

struct RuleCase {
  std::string name;
  Target target;
  Build build;
  std::vector<Expect> bad;   // findings for the violating model
  std::vector<Expect> good;  // findings for the satisfying model (none)
};

void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.name;
}

std::string suffix(Target t) {
  return t == Target::ONE ? "_one" : "_tflite";
}

// Models reading (in, k) -> op -> out with per-tensor parameters, for the activation rules.
int32_t binary(ModelBuilder& b, int32_t op, int32_t x, int32_t y, int32_t out) {
  b.inputs({x});
  b.outputs({out});
  return b.op(op, {x, y}, {out});
}

std::vector<RuleCase> rule_cases() {
  using namespace circle;
  std::vector<RuleCase> cases;
  // The same case under both targets, with what each finds in the violating model.
  auto both = [&](const std::string& name, Build build, std::vector<Expect> tflite,
                  std::vector<Expect> one) {
    cases.push_back({name + "_tflite", Target::TFLite, build, std::move(tflite), {}});
    cases.push_back({name + "_one", Target::ONE, build, std::move(one), {}});
  };
  auto same = [&](const std::string& name, Build build, std::vector<Expect> bad) {
    both(name, build, bad, bad);
  };
  // A case per target whose models are built for that target.
  auto per_target = [&](const std::string& name, std::function<Build(Target)> build,
                        std::function<std::vector<Expect>(Target)> bad) {
    for (Target t : {Target::TFLite, Target::ONE})
      cases.push_back({name + suffix(t), t, build(t), bad(t), {}});
  };

  // index-operand: RESHAPE's shape (operator 1, after a TRANSPOSE) must not be quantized.
  same("IndexOperand",
       [](ModelBuilder& b, bool bad) {
         const int32_t x = qtensor(b, "x", {1, 4}, kU8, {0.5f}, {3});
         const int32_t perm = b.constant_i32("perm", {2}, {0, 1});
         const int32_t t = qtensor(b, "t", {1, 4}, kU8, {0.5f}, {3});
         b.op(BuiltinOperator_TRANSPOSE, {x, perm}, {t});
         const int32_t shape =
             bad ? qconst(b, "shape", {2}, kI8, {0.5f}, {0}) : b.constant_i32("shape", {2}, {2, 2});
         const int32_t y = qtensor(b, "y", {2, 2}, kU8, {0.5f}, {3});
         b.op(BuiltinOperator_RESHAPE, {t, shape}, {y});
         b.inputs({x});
         b.outputs({y});
       },
       {error("index-operand", "RESHAPE", {"shape"},
              "operand 1 is a shape/axis/index operand: expected INT32 or INT64 without "
              "quantization, found INT8 with scale 0.5, zero point 0",
              1)});

  // ... and TRANSPOSE_CONV's output_shape (its operand 0), which is not an activation.
  per_target(
      "IndexOperand_TRANSPOSE_CONV",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = native_spec(t, BuiltinOperator_TRANSPOSE_CONV);
          s.quantized_out_shape = bad;
          weighted(b, s);
        };
      },
      [](Target) {
        return std::vector<Expect>{error("index-operand", "TRANSPOSE_CONV", {"out_shape"},
                                         "operand 0 is a shape/axis/index operand: expected INT32 "
                                         "or INT64 without quantization, found INT8 with scale "
                                         "0.5, zero point 0")};
      });

  // activation-type: ADD's second input is int16 while the rest is uint8.
  same("ActivationType",
       [](ModelBuilder& b, bool bad) {
         const int32_t a = qtensor(b, "a", {1, 2}, kU8, {0.5f}, {3});
         const int32_t c = bad ? qtensor(b, "c", {1, 2}, kI16, {0.5f}, {0})
                               : qtensor(b, "c", {1, 2}, kU8, {0.5f}, {3});
         const int32_t out = qtensor(b, "out", {1, 2}, kU8, {0.5f}, {3});
         binary(b, BuiltinOperator_ADD, a, c, out);
       },
       {error("activation-type", "ADD", {"c"},
              "activations of one operator must share a type: expected UINT8, found INT16")});

  // activation-granularity: a non-constant activation with per-channel parameters.
  const Expect granularity = error("activation-granularity", "ADD", {"c"},
                                   "activations are quantized per tensor: expected 1 scale, "
                                   "found 2");
  same("ActivationGranularity",
       [](ModelBuilder& b, bool bad) {
         const int32_t a = qtensor(b, "a", {1, 2}, kU8, {0.5f}, {3});
         const int32_t c = bad ? qtensor(b, "c", {1, 2}, kU8, {0.5f, 0.25f}, {3, 3}, 1)
                               : qtensor(b, "c", {1, 2}, kU8, {0.5f}, {3});
         const int32_t out = qtensor(b, "out", {1, 2}, kU8, {0.5f}, {3});
         binary(b, BuiltinOperator_ADD, a, c, out);
       },
       {granularity});
  // ... while a constant operand may be per channel (luci quantizes PRelu's alpha that way).
  same("ActivationGranularityConstantOperandMayBePerChannel",
       [](ModelBuilder& b, bool bad) {
         const int32_t a = qtensor(b, "a", {1, 2}, kU8, {0.5f}, {3});
         const int32_t c = bad ? qtensor(b, "c", {1, 2}, kU8, {0.5f, 0.25f}, {3, 3}, 1)
                               : qconst(b, "c", {1, 2}, kU8, {0.5f, 0.25f}, {3, 3}, 1);
         const int32_t out = qtensor(b, "out", {1, 2}, kU8, {0.5f}, {3});
         binary(b, BuiltinOperator_ADD, a, c, out);
       },
       {granularity});

  // int16-symmetric: int16 activations have zero point 0 (TFLite 16x8 and luci alike).
  same("Int16Symmetric",
       [](ModelBuilder& b, bool bad) {
         const int32_t a = qtensor(b, "a", {1, 2}, kI16, {0.5f}, {0});
         const int32_t c = qtensor(b, "c", {1, 2}, kI16, {0.5f}, {0});
         const int32_t out = qtensor(b, "out", {1, 2}, kI16, {0.5f}, {bad ? 5 : 0});
         binary(b, BuiltinOperator_ADD, a, c, out);
       },
       {error("int16-symmetric", "ADD", {"out"},
              "int16 activations are symmetric: expected zero point 0, found 5")});

  // one-activation-type: int8 activations are fine for TFLite, a warning for ONE; the int8
  // constant operand is not an activation.
  both("OneActivationType",
       [](ModelBuilder& b, bool bad) {
         const int32_t a = bad ? qtensor(b, "a", {1, 2}, kI8, {0.5f}, {-1})
                               : qtensor(b, "a", {1, 2}, kU8, {0.5f}, {3});
         const int32_t k = bad ? qconst(b, "k", {1, 2}, kI8, {0.5f}, {-1})
                               : qconst(b, "k", {1, 2}, kU8, {0.5f}, {3});
         const int32_t out = bad ? qtensor(b, "out", {1, 2}, kI8, {0.5f}, {-1})
                                 : qtensor(b, "out", {1, 2}, kU8, {0.5f}, {3});
         binary(b, BuiltinOperator_ADD, a, k, out);
       },
       {},
       {warning("one-activation-type", "ADD", {"a"},
                "ONE's quantized kernels expect uint8 or int16 activations, found INT8"),
        warning("one-activation-type", "ADD", {"out"},
                "ONE's quantized kernels expect uint8 or int16 activations, found INT8")});

  // weight-symmetric: int8 weights (per channel here, channel 1 off) in a TFLite int8 model.
  cases.push_back({"WeightSymmetricInt8PerChannel_tflite",
                   Target::TFLite,
                   [](ModelBuilder& b, bool bad) {
                     WeightedSpec s = per_channel(i8_spec());
                     if (bad) s.w_zp = {0, 4};
                     weighted(b, s);
                   },
                   {error("weight-symmetric", "CONV_2D", {"w"},
                          "INT8 weights are symmetric: expected zero point 0, found 4")},
                   {}});
  // ... and with float activations (weight-only quantization, luci's QuantizeWeightsOnly):
  // int8 weights are symmetric for both targets.
  same("WeightSymmetricInt8WeightOnly",
       [](ModelBuilder& b, bool bad) {
         WeightedSpec s = i8_spec(BuiltinOperator_FULLY_CONNECTED);
         s.act = kF32;
         s.bias = kF32;
         if (bad) s.w_zp = {3};
         weighted(b, s);
       },
       {error("weight-symmetric", "FULLY_CONNECTED", {"w"},
              "INT8 weights are symmetric: expected zero point 0, found 3")});
  // int16 weights are symmetric (luci's int16 models; TFLite has no int16 weights of its own).
  same("WeightSymmetricInt16",
       [](ModelBuilder& b, bool bad) {
         WeightedSpec s = i16_spec(kI16);
         if (bad) s.w_zp = {2};
         weighted(b, s);
       },
       {error("weight-symmetric", "CONV_2D", {"w"},
              "INT16 weights are symmetric: expected zero point 0, found 2")});

  // weight-channel-dim: per-channel weights along the output channel: 0 for CONV_2D,
  // FULLY_CONNECTED and TRANSPOSE_CONV, 3 for DEPTHWISE_CONV_2D.
  struct DimCase {
    int32_t op;
    const char* name;
    int32_t wrong;
  };
  for (const DimCase d : {DimCase{BuiltinOperator_CONV_2D, "CONV_2D", 3},
                          DimCase{BuiltinOperator_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", 0},
                          DimCase{BuiltinOperator_FULLY_CONNECTED, "FULLY_CONNECTED", 1},
                          DimCase{BuiltinOperator_TRANSPOSE_CONV, "TRANSPOSE_CONV", 3}}) {
    per_target(
        std::string("WeightChannelDim_") + d.name,
        [d](Target t) -> Build {
          return [d, t](ModelBuilder& b, bool bad) {
            WeightedSpec s = per_channel(native_spec(t, d.op));
            if (bad) s.w_dim = d.wrong;
            weighted(b, s);
          };
        },
        [d](Target) {
          return std::vector<Expect>{error("weight-channel-dim", d.name, {"w"},
                                           std::string("per-channel weights of ") + d.name +
                                               " are quantized along dimension " +
                                               std::to_string(channel_dim(d.op)) +
                                               ", found dimension " + std::to_string(d.wrong))};
        });
  }

  // weight-type: both targets' uint8 kernels read uint8 weights (TFLite's per tensor only);
  // int8 weights stored in the model are an error naming the fix.
  both("WeightType",
       [](ModelBuilder& b, bool bad) {
         WeightedSpec s = u8_spec();
         if (bad) {
           s.weight = kI8;
           s.w_zp = {0};
         }
         weighted(b, s);
       },
       {error("weight-type", "CONV_2D", {"w", "in"},
              "tflite's UINT8 CONV_2D kernel reads UINT8 weights with one scale (per tensor): "
              "found INT8 with scale 0.25, zero point 0. Fix: int8 weights with zero point z "
              "are uint8 weights with zero point z + 128 (the same real values; q-implant "
              "writes them so for the weights it implants, these are stored quantized in the "
              "model), or pass --activation-type int8")},
       {error("weight-type", "CONV_2D", {"w", "in"},
              "one's UINT8 CONV_2D kernel reads UINT8 weights: found INT8 with scale 0.25, zero "
              "point 0. Fix: int8 weights with zero point z are uint8 weights with zero point z "
              "+ 128 (the same real values; q-implant writes them so for the weights it "
              "implants, these are stored quantized in the model)")});
  // TFLite's uint8 kernels take one weight scale: per-channel int8 weights have no uint8 form.
  cases.push_back({"WeightTypePerChannel_tflite",
                   Target::TFLite,
                   [](ModelBuilder& b, bool bad) {
                     WeightedSpec s = per_channel(u8_spec());
                     if (bad) {
                       s.weight = kI8;
                       s.w_zp = {0, 0};
                     } else {
                       s = u8_spec();
                     }
                     weighted(b, s);
                   },
                   {error("weight-type", "CONV_2D", {"w", "in"},
                          "tflite's UINT8 CONV_2D kernel reads UINT8 weights with one scale (per "
                          "tensor): found INT8 with 2 per-channel scales along dimension 0. Fix: "
                          "this kernel has no per-channel uint8 weights, so they cannot be "
                          "re-expressed as uint8; pass --activation-type int8 (every 8-bit "
                          "activation re-expressed as int8: the same scale, zero point - 128) or "
                          "give per-tensor weights")},
                   {}});

  // bias-type: int32 for 8-bit activations under both targets.
  same("BiasTypeUInt8",
       [](ModelBuilder& b, bool bad) {
         WeightedSpec s = u8_spec();
         if (bad) s.bias = kI64;
         weighted(b, s);
       },
       {error("bias-type", "CONV_2D", {"bias"},
              "bias of UINT8 activations: expected INT32, found INT64")});
  cases.push_back({"BiasTypeInt8_tflite",
                   Target::TFLite,
                   [](ModelBuilder& b, bool bad) {
                     WeightedSpec s = i8_spec();
                     if (bad) s.bias = kI16;
                     weighted(b, s);
                   },
                   {error("bias-type", "CONV_2D", {"bias"},
                          "bias of INT8 activations: expected INT32, found INT16")},
                   {}});
  // int16 activations with an int32 bias: TFLite's 16x8 kernels take it; luci's verifier
  // requires int64 (VerifyQuantizedNodeS16Type: Btype S64), so an error for ONE.
  per_target(
      "BiasTypeInt16WithInt32Bias",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = i16_spec(t == Target::ONE ? kI16 : kI8);
          if (bad) s.bias = kI32;
          weighted(b, s);
        };
      },
      [](Target t) {
        if (t == Target::TFLite) return std::vector<Expect>{};
        return std::vector<Expect>{error("bias-type", "CONV_2D", {"bias"},
                                         "bias of INT16 activations: expected INT64, found "
                                         "INT32")};
      });
  // ... but an int16 bias is wrong for both.
  per_target(
      "BiasTypeInt16WithInt16Bias",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = i16_spec(t == Target::ONE ? kI16 : kI8);
          if (bad) s.bias = kI16;
          weighted(b, s);
        };
      },
      [](Target) {
        return std::vector<Expect>{error("bias-type", "CONV_2D", {"bias"},
                                         "bias of INT16 activations: expected INT64, found "
                                         "INT16")};
      });

  // bias-zero-point.
  per_target(
      "BiasZeroPoint",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = native_spec(t);
          if (bad) s.b_zp = {5};
          weighted(b, s);
        };
      },
      [](Target) {
        return std::vector<Expect>{error("bias-zero-point", "CONV_2D", {"bias"},
                                         "biases are symmetric: expected zero point 0, found 5")};
      });

  // bias-scale = input scale x weight scale, for every weighted operator (TRANSPOSE_CONV's
  // input is its operand 2).
  for (const DimCase d : {DimCase{BuiltinOperator_CONV_2D, "CONV_2D", 0},
                          DimCase{BuiltinOperator_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", 0},
                          DimCase{BuiltinOperator_FULLY_CONNECTED, "FULLY_CONNECTED", 0},
                          DimCase{BuiltinOperator_TRANSPOSE_CONV, "TRANSPOSE_CONV", 0}}) {
    per_target(
        std::string("BiasScale_") + d.name,
        [d](Target t) -> Build {
          return [d, t](ModelBuilder& b, bool bad) {
            WeightedSpec s = native_spec(t, d.op);
            if (bad) s.b_scale = {0.5f};
            weighted(b, s);
          };
        },
        [d](Target) {
          return std::vector<Expect>{
              error("bias-scale", d.name, {"bias", "in", "w"},
                    "bias scale[0] must be input scale x weight scale = 0.5 x 0.25 = 0.125, "
                    "found 0.5")};
        });
  }
  per_target(
      "BiasScalePerChannel",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = per_channel(native_spec(t));
          if (bad) s.b_scale = {0.125f, 0.5f};
          weighted(b, s);
        };
      },
      [](Target) {
        return std::vector<Expect>{
            error("bias-scale", "CONV_2D", {"bias", "in", "w"},
                  "bias scale[1] must be input scale x weight scale = 0.5 x 0.5 = 0.25, found "
                  "0.5")};
      });
  per_target(
      "BiasScaleCount",
      [](Target t) -> Build {
        return [t](ModelBuilder& b, bool bad) {
          WeightedSpec s = per_channel(native_spec(t));
          if (bad) s.b_scale = {0.125f};
          weighted(b, s);
        };
      },
      [](Target) {
        return std::vector<Expect>{error("bias-scale", "CONV_2D", {"bias", "w"},
                                         "expected one bias scale per weight scale (2), found 1")};
      });

  // fixed-output: each target's own values; an error for both (TFLite's Prepare or reference
  // kernels, luci's verifier: see the README's rule table). float(1/255) prints 0.00392156886,
  // float(1/32767) 3.05185094e-05, 1/32768 3.05175781e-05.
  struct FixedCase {
    std::string name;
    int32_t op;
    const char* op_name;
    TensorType type;
    Target target;
    std::vector<float> good_scale, bad_scale;
    std::vector<int64_t> good_zp, bad_zp;
    std::string message;
  };
  const std::string u8_255 = "0.00392156886", u8_256 = "0.00390625";
  const std::string s16_32767 = "3.05185094e-05", s16_32768 = "3.05175781e-05";
  const FixedCase fixed[] = {
      {"SoftmaxUInt8",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kU8,
       Target::TFLite,
       {1.0f / 256},
       {1.0f / 255},
       {0},
       {0},
       "SOFTMAX has a fixed output range: expected scale " + u8_256 +
           ", zero point 0 (tflite rules), found scale " + u8_255 + ", zero point 0"},
      {"SoftmaxUInt8",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kU8,
       Target::ONE,
       {1.0f / 255},
       {1.0f / 256},
       {0},
       {0},
       "SOFTMAX has a fixed output range: expected scale " + u8_255 +
           ", zero point 0 (one rules), found scale " + u8_256 + ", zero point 0"},
      {"SoftmaxInt16",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kI16,
       Target::TFLite,
       {1.0f / 32768},
       {1.0f / 32767},
       {0},
       {0},
       "SOFTMAX has a fixed output range: expected scale " + s16_32768 +
           ", zero point 0 (tflite rules), found scale " + s16_32767 + ", zero point 0"},
      {"SoftmaxInt16",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kI16,
       Target::ONE,
       {1.0f / 32767},
       {1.0f / 32768},
       {0},
       {0},
       "SOFTMAX has a fixed output range: expected scale " + s16_32767 +
           ", zero point 0 (one rules), found scale " + s16_32768 + ", zero point 0"},
      {"SoftmaxInt8",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kI8,
       Target::TFLite,
       {1.0f / 256},
       {1.0f / 256},
       {-128},
       {0},
       "SOFTMAX has a fixed output range: expected scale " + u8_256 +
           ", zero point -128 (tflite rules), found scale " + u8_256 + ", zero point 0"},
      {"LogisticUInt8",
       BuiltinOperator_LOGISTIC,
       "LOGISTIC",
       kU8,
       Target::ONE,
       {1.0f / 256},
       {1.0f / 255},
       {0},
       {0},
       "LOGISTIC has a fixed output range: expected scale " + u8_256 +
           ", zero point 0 (one rules), found scale " + u8_255 + ", zero point 0"},
      {"LogisticInt8",
       BuiltinOperator_LOGISTIC,
       "LOGISTIC",
       kI8,
       Target::TFLite,
       {1.0f / 256},
       {1.0f / 256},
       {-128},
       {0},
       "LOGISTIC has a fixed output range: expected scale " + u8_256 +
           ", zero point -128 (tflite rules), found scale " + u8_256 + ", zero point 0"},
      {"LogisticInt16",
       BuiltinOperator_LOGISTIC,
       "LOGISTIC",
       kI16,
       Target::ONE,
       {1.0f / 32768},
       {1.0f / 32767},
       {0},
       {0},
       "LOGISTIC has a fixed output range: expected scale " + s16_32768 +
           ", zero point 0 (one rules), found scale " + s16_32767 + ", zero point 0"},
      {"TanhUInt8",
       BuiltinOperator_TANH,
       "TANH",
       kU8,
       Target::TFLite,
       {1.0f / 128},
       {1.0f / 128},
       {128},
       {0},
       "TANH has a fixed output range: expected scale 0.0078125, zero point 128 (tflite rules), "
       "found scale 0.0078125, zero point 0"},
      {"TanhUInt8",
       BuiltinOperator_TANH,
       "TANH",
       kU8,
       Target::ONE,
       {2.0f / 256},
       {1.0f / 256},
       {128},
       {128},
       "TANH has a fixed output range: expected scale 0.0078125, zero point 128 (one rules), "
       "found scale " +
           u8_256 + ", zero point 128"},
      {"TanhInt8",
       BuiltinOperator_TANH,
       "TANH",
       kI8,
       Target::TFLite,
       {1.0f / 128},
       {1.0f / 256},
       {0},
       {0},
       "TANH has a fixed output range: expected scale 0.0078125, zero point 0 (tflite rules), "
       "found scale " +
           u8_256 + ", zero point 0"},
      {"TanhInt16",
       BuiltinOperator_TANH,
       "TANH",
       kI16,
       Target::TFLite,
       {1.0f / 32768},
       {1.0f / 32767},
       {0},
       {0},
       "TANH has a fixed output range: expected scale " + s16_32768 +
           ", zero point 0 (tflite rules), found scale " + s16_32767 + ", zero point 0"},
      {"TanhInt16",
       BuiltinOperator_TANH,
       "TANH",
       kI16,
       Target::ONE,
       {1.0f / 32768},
       {1.0f / 32767},
       {0},
       {0},
       "TANH has a fixed output range: expected scale " + s16_32768 +
           ", zero point 0 (one rules), found scale " + s16_32767 + ", zero point 0"},
      // A zero point left out reads as 0 (this used to read past the end of the vector).
      {"SoftmaxWithoutZeroPoint",
       BuiltinOperator_SOFTMAX,
       "SOFTMAX",
       kU8,
       Target::TFLite,
       {1.0f / 256},
       {1.0f / 255},
       {},
       {},
       "SOFTMAX has a fixed output range: expected scale " + u8_256 +
           ", zero point 0 (tflite rules), found scale " + u8_255 + ", zero point 0"},
  };
  for (const FixedCase& f : fixed) {
    const Build build = [f](ModelBuilder& b, bool bad) {
      const int64_t in_zp = f.type == kU8 ? 3 : f.type == kI8 ? -1 : 0;
      const int32_t in = qtensor(b, "in", {1, 8}, f.type, {0.05f}, {in_zp});
      const int32_t out = qtensor(b, "out", {1, 8}, f.type, bad ? f.bad_scale : f.good_scale,
                                  bad ? f.bad_zp : f.good_zp);
      b.op(f.op, {in}, {out});
      b.inputs({in});
      b.outputs({out});
    };
    const Severity sev = Severity::Error;
    cases.push_back({"FixedOutput" + f.name + suffix(f.target),
                     f.target,
                     build,
                     {{sev, "fixed-output", 0, f.op_name, {"out"}, f.message}},
                     {}});
  }

  // same-scale, value-preserving operators: the output carries the data input's parameters.
  same("SameScale_RESHAPE",
       [](ModelBuilder& b, bool bad) {
         const int32_t x = qtensor(b, "x", {1, 4}, kU8, {0.5f}, {3});
         const int32_t shape = b.constant_i32("shape", {2}, {2, 2});
         const int32_t y = qtensor(b, "y", {2, 2}, kU8, {bad ? 0.25f : 0.5f}, {3});
         b.op(BuiltinOperator_RESHAPE, {x, shape}, {y});
         b.inputs({x});
         b.outputs({y});
       },
       {error("same-scale", "RESHAPE", {"x", "y"},
              "RESHAPE passes values through: expected the output to carry the input's UINT8 "
              "scale 0.5, zero point 3, found UINT8 scale 0.25, zero point 3")});
  same("SameScale_MAX_POOL_2D",
       [](ModelBuilder& b, bool bad) {
         const int32_t x = qtensor(b, "x", {1, 2, 2, 1}, kU8, {0.5f}, {3});
         const int32_t y = qtensor(b, "y", {1, 1, 1, 1}, kU8, {0.5f}, {bad ? 4 : 3});
         b.op(BuiltinOperator_MAX_POOL_2D, {x}, {y});
         b.inputs({x});
         b.outputs({y});
       },
       {error("same-scale", "MAX_POOL_2D", {"x", "y"},
              "MAX_POOL_2D passes values through: expected the output to carry the input's UINT8 "
              "scale 0.5, zero point 3, found UINT8 scale 0.5, zero point 4")});
  // SPLIT's data is its operand 1; only the output that differs is reported.
  same("SameScale_SPLIT",
       [](ModelBuilder& b, bool bad) {
         const int32_t axis = b.constant_i32("axis", {}, {1});
         const int32_t x = qtensor(b, "x", {1, 4}, kU8, {0.5f}, {3});
         const int32_t y0 = qtensor(b, "y0", {1, 2}, kU8, {0.5f}, {3});
         const int32_t y1 = qtensor(b, "y1", {1, 2}, kU8, {bad ? 0.25f : 0.5f}, {3});
         b.op(BuiltinOperator_SPLIT, {axis, x}, {y0, y1});
         b.inputs({x});
         b.outputs({y0, y1});
       },
       {error("same-scale", "SPLIT", {"x", "y1"},
              "SPLIT passes values through: expected the output to carry the input's UINT8 "
              "scale 0.5, zero point 3, found UINT8 scale 0.25, zero point 3")});
  // PADV2's pad value must carry the data input's parameters (TFLite's pad kernel checks it).
  same("SameScale_PADV2PadValue",
       [](ModelBuilder& b, bool bad) {
         const int32_t x = qtensor(b, "x", {1, 2}, kU8, {0.5f}, {3});
         const int32_t pads = b.constant_i32("pads", {2, 2}, {0, 0, 1, 1});
         const int32_t v = qconst(b, "v", {}, kU8, {bad ? 0.25f : 0.5f}, {3});
         const int32_t y = qtensor(b, "y", {1, 4}, kU8, {0.5f}, {3});
         b.op(BuiltinOperator_PADV2, {x, pads, v}, {y});
         b.inputs({x});
         b.outputs({y});
       },
       {error("same-scale", "PADV2", {"v", "x"},
              "PADV2 operand 2 must carry the data input's UINT8 scale 0.5, zero point 3, found "
              "UINT8 scale 0.25, zero point 3")});

  // same-scale, CONCATENATION and PACK: every input carries the output's parameters.
  struct ShareCase {
    int32_t op;
    const char* name;
    std::vector<int32_t> out_shape;
  };
  for (const ShareCase& c : {ShareCase{BuiltinOperator_CONCATENATION, "CONCATENATION", {1, 4}},
                             ShareCase{BuiltinOperator_PACK, "PACK", {2, 1, 2}}}) {
    // TFLite's uint8 CONCATENATION requantizes its inputs itself
    // (tensorflow/lite/kernels/concatenation.cc), so only its int8 one, PACK and ONE refuse.
    const bool tflite_rescales = c.op == BuiltinOperator_CONCATENATION;
    auto expect = std::vector<Expect>{
        error("same-scale", c.name, {"a", "out"},
              std::string(c.name) +
                  " inputs must carry the output's UINT8 scale 0.5, zero point 3, found UINT8 "
                  "scale 0.25, zero point 1")};
    both(
        std::string("SameScale_") + c.name,
        [c](ModelBuilder& b, bool bad) {
          const int32_t a = bad ? qtensor(b, "a", {1, 2}, kU8, {0.25f}, {1})
                                : qtensor(b, "a", {1, 2}, kU8, {0.5f}, {3});
          const int32_t d = qtensor(b, "d", {1, 2}, kU8, {0.5f}, {3});
          const int32_t out = qtensor(b, "out", c.out_shape, kU8, {0.5f}, {3});
          b.op(c.op, {a, d}, {out});
          b.inputs({a, d});
          b.outputs({out});
        },
        tflite_rescales ? std::vector<Expect>{} : expect, expect);
  }
  // TFLite's int8 CONCATENATION copies raw values: differing inputs are an error there.
  cases.push_back({"SameScale_CONCATENATION_int8_tflite",
                   Target::TFLite,
                   [](ModelBuilder& b, bool bad) {
                     const int32_t a = qtensor(b, "a", {1, 2}, kI8, {bad ? 0.25f : 0.5f}, {3});
                     const int32_t d = qtensor(b, "d", {1, 2}, kI8, {0.5f}, {3});
                     const int32_t out = qtensor(b, "out", {1, 4}, kI8, {0.5f}, {3});
                     b.op(BuiltinOperator_CONCATENATION, {a, d}, {out});
                     b.inputs({a, d});
                     b.outputs({out});
                   },
                   {error("same-scale", "CONCATENATION", {"a", "out"},
                          "CONCATENATION inputs must carry the output's INT8 scale 0.5, zero "
                          "point 3, found INT8 scale 0.25, zero point 3")},
                   {}});
  // 4bit-weight-only: a 4-bit type on an operand that is not a weight.
  cases.push_back(
      {"FourBitOnWeightsOnly_tflite",
       Target::TFLite,
       [](ModelBuilder& b, bool bad) {
         const int32_t a = qtensor(b, "a", {1, 2}, kI8, {0.5f}, {0});
         const int32_t k = qconst(b, "k", {1, 2}, bad ? TensorType::Int4 : kI8, {0.5f}, {0});
         const int32_t out = qtensor(b, "out", {1, 2}, kI8, {0.5f}, {0});
         binary(b, BuiltinOperator_ADD, a, k, out);
       },
       {error("4bit-weight-only", "ADD", {"k"},
              "4-bit types are for constant weights: found INT4 on an operand of "
              "ADD that is not its weight")},
       {}});
  // tflite-int4-weight: TFLite's INT4 weights go with int8 activations.
  cases.push_back({"TfliteInt4WeightWithInt8Activations_tflite",
                   Target::TFLite,
                   [](ModelBuilder& b, bool bad) {
                     WeightedSpec s = bad ? i16_spec(TensorType::Int4) : i8_spec();
                     s.weight = TensorType::Int4;
                     weighted(b, s);
                   },
                   {warning("tflite-int4-weight", "CONV_2D", {"w"},
                            "TFLite's kernels take INT4 weights in FULLY_CONNECTED, CONV_2D and "
                            "DEPTHWISE_CONV_2D with int8 activations; found CONV_2D with INT16 "
                            "activations")},
                   {}});
  return cases;
}

const std::vector<RuleCase>& all_cases() {
  static const std::vector<RuleCase> cases = rule_cases();
  return cases;
}

std::string ext(Format f) {
  return f == Format::Circle ? ".circle" : ".tflite";
}

std::vector<Finding> check_built(const ModelBuilder& b, const std::string& path, Target target) {
  b.save(path);
  auto m = ModelFile::open(path);
  return check_rules(m->info(), EditPlan{}, target);
}

class RuleCaseTest : public ::testing::TestWithParam<std::tuple<Format, RuleCase>> {};

TEST_P(RuleCaseTest, BrokenGivesExactlyItsFindingKeptGivesNone) {
  const Format format = std::get<0>(GetParam());
  const RuleCase& c = std::get<1>(GetParam());
  ScratchDir dir;
  for (const bool violate : {true, false}) {
    ModelBuilder b(format);
    c.build(b, violate);
    auto found =
        check_built(b, dir.file(std::string(violate ? "bad" : "good") + ext(format)), c.target);
    // These cases target per-operator rules; some build parameters that the tensor-level
    // quant-params rule also flags (it has its own tests), so its findings are left out here.
    found.erase(std::remove_if(found.begin(), found.end(),
                               [](const Finding& f) { return f.rule == "quant-params"; }),
                found.end());
    EXPECT_EQ(shown(found), shown(violate ? c.bad : c.good))
        << (violate ? "the model breaking the rule" : "the model keeping the rule");
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, RuleCaseTest,
                         ::testing::Combine(::testing::Values(Format::Circle, Format::TFLite),
                                            ::testing::ValuesIn(all_cases())),
                         [](const ::testing::TestParamInfo<RuleCaseTest::ParamType>& info) {
                           return std::get<1>(info.param).name + "_" +
                                  format_name(std::get<0>(info.param));
                         });

// Every rule id the checker can emit has a case where it fires, under each severity it has.
TEST(RuleCoverage, EveryRuleOfTheCheckerHasAViolatingCase) {
  std::ifstream in(std::string(QIMPLANT_SOURCE_DIR) + "/src/check/rule_check.cpp");
  ASSERT_TRUE(in) << "cannot read rule_check.cpp";
  std::stringstream text;
  text << in.rdbuf();
  const std::string src = text.str();
  std::set<std::string> emitted;
  const std::regex add_call(R"re(add\(([^;]*?)"([a-z0-9]+(-[a-z0-9]+)*)")re");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), add_call);
       it != std::sregex_iterator(); ++it)
    emitted.insert((*it)[2]);
  EXPECT_GE(emitted.size(), 12u) << "the rule ids were not found in the source";
  std::set<std::string> covered;
  std::set<std::pair<std::string, Severity>> severities;
  for (const auto& c : all_cases())
    for (const auto& e : c.bad) {
      covered.insert(e.rule);
      severities.insert({e.rule, e.severity});
    }
  for (const auto& rule : emitted) EXPECT_TRUE(covered.count(rule)) << "no case for " << rule;
  // Rules where the runtime refuses the model or computes another function are errors for both
  // targets (README, rule table): no case of theirs expects a warning.
  for (const char* rule : {"fixed-output", "bias-type", "quant-params"}) {
    EXPECT_FALSE(severities.count({rule, Severity::Warning})) << rule;
  }
  EXPECT_TRUE(severities.count({"fixed-output", Severity::Error}));
  EXPECT_TRUE(severities.count({"bias-type", Severity::Error}));
}

// ---------------------------------------------------------------------------------------------
// Findings beyond the table: several subgraphs, planned edits, the one-line description.

class RuleCheckTest : public ::testing::TestWithParam<Format> {
 protected:
  std::string file(const std::string& name) const { return dir_.file(name + ext(GetParam())); }
  ScratchDir dir_;
};

TEST_P(RuleCheckTest, FindingsNameTheirSubgraph) {
  ModelBuilder b(GetParam());
  const int32_t x0 = qtensor(b, "x0", {1, 4}, kU8, {0.5f}, {3});
  const int32_t y0 = qtensor(b, "y0", {1, 2, 2, 1}, kU8, {0.5f}, {3});
  b.op(circle::BuiltinOperator_RESHAPE, {x0, b.constant_i32("s0", {4}, {1, 2, 2, 1})}, {y0});
  b.inputs({x0});
  b.outputs({y0});
  b.add_subgraph("second");
  const int32_t x = qtensor(b, "x", {1, 4}, kU8, {0.5f}, {3});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 2});
  const int32_t t = qtensor(b, "t", {2, 2}, kU8, {0.5f}, {3});
  const int32_t y = qtensor(b, "y", {2, 2}, kU8, {0.25f}, {3});
  b.op(circle::BuiltinOperator_RESHAPE, {x, shape}, {t});
  b.op(circle::BuiltinOperator_RESHAPE, {t, shape}, {y});
  b.inputs({x});
  b.outputs({y});
  b.save(file("two"));
  auto m = ModelFile::open(file("two"));
  const auto found = check_rules(m->info(), EditPlan{}, default_target(GetParam()));
  Expect e = error("same-scale", "RESHAPE", {"t", "y"},
                   "RESHAPE passes values through: expected the output to carry the input's UINT8 "
                   "scale 0.5, zero point 3, found UINT8 scale 0.25, zero point 3",
                   1);
  e.subgraph = 1;
  ASSERT_EQ(shown(found), shown(std::vector<Expect>{e}));
  EXPECT_EQ(describe_finding(m->info(), found[0]),
            "error [same-scale] RESHAPE (operator 1 of subgraph 1), tensors 't', 'y': RESHAPE "
            "passes values through: expected the output to carry the input's UINT8 scale 0.5, "
            "zero point 3, found UINT8 scale 0.25, zero point 3");
  EXPECT_EQ(describe_finding_text(found[0]), describe_finding(m->info(), found[0]));
}

TEST_P(RuleCheckTest, DescriptionsNameSeverityRuleOperatorAndTensors) {
  ModelBuilder b(GetParam());
  WeightedSpec s = u8_spec();
  s.weight = kI8;
  s.w_zp = {0};
  s.b_scale = {0.5f};
  weighted(b, s);
  b.save(file("m"));
  auto m = ModelFile::open(file("m"));
  const auto found = check_rules(m->info(), EditPlan{}, Target::ONE);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(describe_finding(m->info(), found[0])
                .rfind("error [weight-type] CONV_2D (operator 0), tensors 'w', 'in': one's UINT8 "
                       "CONV_2D kernel reads UINT8 weights: found INT8",
                       0),
            0u);
  EXPECT_EQ(describe_finding(m->info(), found[1]),
            "error [bias-scale] CONV_2D (operator 0), tensors 'bias', 'in', 'w': bias scale[0] "
            "must be input scale x weight scale = 0.5 x 0.25 = 0.125, found 0.5");
  // Single-subgraph models never mention the subgraph.
  EXPECT_EQ(describe_finding_text(found[1]), describe_finding(m->info(), found[1]));
}

// check_rules judges the model as planned: an edit replaces what the model holds.
TEST_P(RuleCheckTest, ChecksThePlannedParametersNotTheStoredOnes) {
  ModelBuilder b(GetParam());
  const int32_t x = qtensor(b, "x", {1, 4}, kU8, {0.5f}, {3});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 2});
  const int32_t y = qtensor(b, "y", {2, 2}, kU8, {0.5f}, {3});
  b.op(circle::BuiltinOperator_RESHAPE, {x, shape}, {y});
  b.inputs({x});
  b.outputs({y});
  b.save(file("m"));
  auto m = ModelFile::open(file("m"));
  EXPECT_TRUE(check_rules(m->info(), EditPlan{}, Target::ONE).empty());
  EditPlan plan;
  TensorEdit edit;
  edit.type = int8_t(kU8);
  edit.quant.scale = {0.25f};
  edit.quant.zero_point = {3};
  plan.tensors.emplace(TensorRef{0, uint32_t(y)}, edit);
  const auto found = check_rules(m->info(), plan, Target::ONE);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, "same-scale");
  EXPECT_NE(found[0].message.find("found UINT8 scale 0.25, zero point 3"), std::string::npos)
      << found[0].message;
}

INSTANTIATE_TEST_SUITE_P(Formats, RuleCheckTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

// ---------------------------------------------------------------------------------------------
// implant(): errors stop the write unless forced; check_rules = false skips the check.

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class RuleImplantTest : public ::testing::TestWithParam<Format> {
 protected:
  // ONE's README example with its qparam.json as published: the bias parameters (scale
  // 0.03877867, zero point 97) break two rules.
  ImplantOptions readme_options() {
    conv2d_model(GetParam()).save(dir_.file("in" + ext(GetParam())));
    ImplantOptions o;
    o.input = dir_.file("in" + ext(GetParam()));
    o.qparam = write_qparams(dir_.path(), conv2d_qparams_one_readme());
    o.output = dir_.file("out" + ext(GetParam()));
    return o;
  }
  ScratchDir dir_;
};

const char* kReadmeZeroPoint =
    "error [bias-zero-point] CONV_2D (operator 0), tensor 'bias': biases are symmetric: expected "
    "zero point 0, found 97";
const char* kReadmeScale =
    "error [bias-scale] CONV_2D (operator 0), tensors 'bias', 'ifm', 'ker': bias scale[0] must be "
    "input scale x weight scale = ";

TEST_P(RuleImplantTest, AnErrorStopsTheWriteAndListsTheFindings) {
  const ImplantOptions o = readme_options();
  const auto before = list_dir(dir_.path());
  try {
    implant(o);
    ADD_FAILURE() << "the bias rules must stop the write";
  } catch (const Error& e) {
    const std::string msg = e.what();
    const std::string target = GetParam() == Format::Circle ? "one" : "tflite";
    EXPECT_TRUE(contains(msg, "breaks 2 rule(s) of the " + target + " target")) << msg;
    EXPECT_TRUE(contains(msg, "\n  " + std::string(kReadmeZeroPoint) + "\n")) << msg;
    EXPECT_TRUE(contains(msg, "\n  " + std::string(kReadmeScale))) << msg;
    EXPECT_TRUE(contains(msg, ", found 0.03877867")) << msg;
    EXPECT_TRUE(contains(msg, "--force")) << msg;
    EXPECT_TRUE(contains(msg, "nothing was written")) << msg;
  }
  EXPECT_FALSE(file_exists(o.output));
  EXPECT_EQ(list_dir(dir_.path()), before) << "nothing left behind";
}

TEST_P(RuleImplantTest, ForceWritesAndReturnsTheFindings) {
  ImplantOptions o = readme_options();
  o.force = true;
  const ImplantResult r = implant(o);
  ASSERT_TRUE(file_exists(o.output));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].rule, "bias-zero-point");
  EXPECT_EQ(r.findings[0].severity, Severity::Error);
  EXPECT_EQ(r.findings[0].tensors, std::vector<std::string>{"bias"});
  EXPECT_EQ(r.findings[1].rule, "bias-scale");
  EXPECT_EQ(r.findings[1].tensors, (std::vector<std::string>{"bias", "ifm", "ker"}));
  EXPECT_EQ(r.target, default_target(GetParam()));
  // Written as given, not corrected.
  auto m = ModelFile::open(o.output);
  EXPECT_EQ(m->info().subgraphs[0].tensors[2].quant.zero_point, std::vector<int64_t>{97});
}

TEST_P(RuleImplantTest, CheckRulesOffSkipsTheCheck) {
  ImplantOptions o = readme_options();
  o.check_rules = false;
  const ImplantResult r = implant(o);
  EXPECT_TRUE(file_exists(o.output));
  EXPECT_TRUE(r.findings.empty());
}

TEST_P(RuleImplantTest, WarningsDoNotStopTheWrite) {
  conv2d_model(GetParam()).save(dir_.file("in" + ext(GetParam())));
  auto specs = conv2d_qparams();  // bias consistent with ifm x ker
  // int8 activations under ONE's rules: a warning (luci has no int8 kernels), still written.
  specs[0].dtype = specs[3].dtype = "int8";
  specs[0].zerop = {specs[0].zerop[0] - 128};
  specs[3].zerop = {specs[3].zerop[0] - 128};
  specs[1].dtype = "int8";
  specs[1].zerop = {0};
  specs[1].value_descr = "|i1";
  specs[1].value_bytes = {1, 2};
  specs[2].scale = {specs[0].scale[0] * specs[1].scale[0]};
  ImplantOptions o;
  o.input = dir_.file("in" + ext(GetParam()));
  o.qparam = write_qparams(dir_.path(), specs);
  o.output = dir_.file("out" + ext(GetParam()));
  o.target = Target::ONE;
  const ImplantResult r = implant(o);
  EXPECT_TRUE(file_exists(o.output));
  ASSERT_FALSE(r.findings.empty());
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.severity, Severity::Warning);
    EXPECT_EQ(f.rule, "one-activation-type");
  }
  // The TFLite rules have nothing against it.
  o.target = Target::TFLite;
  o.output = dir_.file("tfl" + ext(GetParam()));
  EXPECT_TRUE(implant(o).findings.empty());
}

// PyTorch's default types (uint8 activations, int8 symmetric weights): both targets' uint8
// kernels read uint8 weights, so the weights are written as uint8 with zero point 128, bytes
// + 128, the same real values; reported, no finding left.
TEST_P(RuleImplantTest, Int8WeightsUnderUInt8ActivationsAreReExpressed) {
  conv2d_model(GetParam()).save(dir_.file("in" + ext(GetParam())));
  auto specs = conv2d_qparams();
  specs[1].dtype = "int8";
  specs[1].zerop = {0};
  specs[1].value_descr = "|i1";
  specs[1].value_bytes = {1, 0xfe};  // 1, -2
  specs[2].scale = {specs[0].scale[0] * specs[1].scale[0]};
  for (Target t : {Target::ONE, Target::TFLite}) {
    ImplantOptions o;
    o.input = dir_.file("in" + ext(GetParam()));
    o.qparam = write_qparams(dir_.path(), specs);
    o.output = dir_.file(std::string("out_") + target_name(t) + ext(GetParam()));
    o.target = t;
    const ImplantResult r = implant(o);
    EXPECT_TRUE(r.findings.empty()) << target_name(t);
    bool reported = false;
    for (const auto& c : r.changes)
      if (c.tensor == "ker") {
        reported = c.reexpressed.find("reads UINT8 weights") != std::string::npos;
        EXPECT_EQ(c.to_type, "UINT8");
      }
    EXPECT_TRUE(reported) << target_name(t);
    auto m = ModelFile::open(o.output);
    const TensorInfo& ker = m->info().subgraphs[0].tensors[1];
    ASSERT_EQ(ker.name, "ker");
    EXPECT_EQ(ker.type, int8_t(TensorType::UInt8));
    EXPECT_EQ(ker.quant.zero_point, std::vector<int64_t>{128});
    const BufferInfo& buf = m->info().buffers[ker.buffer];
    EXPECT_EQ(std::vector<uint8_t>(buf.data, buf.data + buf.size),
              (std::vector<uint8_t>{129, 126}));
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, RuleImplantTest,
                         ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

// ---------------------------------------------------------------------------------------------
// The command line: `q-implant check`, --rules, --report, and --force / --no-check on implant.

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct CmdResult {
  int status;
  std::string out;  // stdout and stderr
};
std::ostream& operator<<(std::ostream& os, const CmdResult& r) {
  return os << "exit " << r.status << "\n" << r.out;
}

CmdResult cli(const std::string& args) {
  CmdResult r;
  r.status = run_command(quote(QIMPLANT_CLI) + " " + args, &r.out);
  return r;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

class RuleCliTest : public ::testing::TestWithParam<Format> {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name + ext(GetParam())); }
  // An already-quantized model of the format's own target; `bad` breaks two bias rules.
  std::string conv(const std::string& name, bool bad) {
    ModelBuilder b(GetParam());
    WeightedSpec s = native_spec(default_target(GetParam()));
    if (bad) {
      s.b_zp = {5};
      s.b_scale = {0.5f};
    }
    weighted(b, s);
    b.save(path(name));
    return path(name);
  }
  // SOFTMAX with a uint8 output of scale `scale`, zero point 0.
  std::string softmax(const std::string& name, float scale) {
    ModelBuilder b(GetParam());
    const int32_t in = qtensor(b, "in", {1, 8}, kU8, {0.05f}, {3});
    const int32_t out = qtensor(b, "out", {1, 8}, kU8, {scale}, {0});
    b.op(circle::BuiltinOperator_SOFTMAX, {in}, {out});
    b.inputs({in});
    b.outputs({out});
    b.save(path(name));
    return path(name);
  }
  std::string summary(const std::string& model, const char* target, int errors, int warnings,
                      bool ok) const {
    return "q-implant check: " + model + " (" + format_name(GetParam()) + ", " + target +
           " rules): " + std::to_string(errors) + " error(s), " + std::to_string(warnings) +
           " warning(s), 0 float tensor(s) " + (ok ? "- ok" : "- not ok") + "\n";
  }
  const char* own() const { return target_name(default_target(GetParam())); }
  ScratchDir dir_;
};

const char* kZeroPointLine =
    "error [bias-zero-point] CONV_2D (operator 0), tensor 'bias': biases are symmetric: expected "
    "zero point 0, found 5\n";
const char* kScaleLine =
    "error [bias-scale] CONV_2D (operator 0), tensors 'bias', 'in', 'w': bias scale[0] must be "
    "input scale x weight scale = 0.5 x 0.25 = 0.125, found 0.5\n";

TEST_P(RuleCliTest, CheckAGoodModel) {
  const std::string m = conv("good", false);
  const CmdResult r = cli("check " + quote(m));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out, summary(m, own(), 0, 0, true)) << r;
}

TEST_P(RuleCliTest, CheckABadModelPrintsEachFinding) {
  const std::string m = conv("bad", true);
  const CmdResult r = cli("check " + quote(m));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(r.out, std::string(kZeroPointLine) + kScaleLine + summary(m, own(), 2, 0, false)) << r;
}

TEST_P(RuleCliTest, RulesFlagChangesTheVerdict) {
  // ONE's uint8 Softmax output (1/255): right for ONE, an error for TFLite.
  const std::string one = softmax("one", 1.0f / 255);
  CmdResult r = cli("check --rules one " + quote(one));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out, summary(one, "one", 0, 0, true)) << r;
  r = cli("check --rules tflite " + quote(one));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(r.out,
            "error [fixed-output] SOFTMAX (operator 0), tensor 'out': SOFTMAX has a fixed output "
            "range: expected scale 0.00390625, zero point 0 (tflite rules), found scale "
            "0.00392156886, zero point 0\n" +
                summary(one, "tflite", 1, 0, false))
      << r;
  // Without --rules the format decides: ONE for circle, TFLite for tflite.
  r = cli("check " + quote(one));
  EXPECT_EQ(r.status, GetParam() == Format::Circle ? 0 : 1) << r;

  // TFLite's (1/256): right for TFLite, an error for ONE (luci's verifier refuses it).
  const std::string tfl = softmax("tfl", 1.0f / 256);
  r = cli("check --rules tflite " + quote(tfl));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out, summary(tfl, "tflite", 0, 0, true)) << r;
  r = cli("check --rules one " + quote(tfl));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_EQ(r.out,
            "error [fixed-output] SOFTMAX (operator 0), tensor 'out': SOFTMAX has a fixed "
            "output range: expected scale 0.00392156886, zero point 0 (one rules), found scale "
            "0.00390625, zero point 0\n" +
                summary(tfl, "one", 1, 0, false))
      << r;
  r = cli("check --rules luci " + quote(tfl));
  EXPECT_EQ(r.status, 2) << "an unknown target is a usage error\n" << r;
}

TEST_P(RuleCliTest, WarningsAloneExitZeroAndQuietHidesThem) {
  // int8 activations under ONE: a warning per activation (ONE's kernels expect uint8 / int16).
  ModelBuilder b(GetParam());
  const int32_t in = qtensor(b, "in", {1, 8}, kI8, {0.05f}, {-1});
  const int32_t out = qtensor(b, "out", {1, 8}, kI8, {1.0f / 256}, {-128});
  b.op(circle::BuiltinOperator_SOFTMAX, {in}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string m = path("i8");
  b.save(m);
  CmdResult r = cli("check --rules one " + quote(m));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_NE(r.out.find("warning [one-activation-type] SOFTMAX (operator 0), tensor 'in': "),
            std::string::npos)
      << r;
  EXPECT_EQ(r.out.substr(r.out.rfind("q-implant check:")), summary(m, "one", 0, 2, true)) << r;
  r = cli("check -q --rules one " + quote(m));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out, summary(m, "one", 0, 2, true)) << r;
}

TEST_P(RuleCliTest, CheckReportListsTheFindings) {
  const std::string m = conv("bad", true);
  const std::string report = dir_.file("r.json");
  const CmdResult r = cli("check " + quote(m) + " --report " + quote(report));
  EXPECT_EQ(r.status, 1) << r;
  const auto j = read_json(report);
  EXPECT_EQ(j["model"], m);
  EXPECT_EQ(j["format"], format_name(GetParam()));
  EXPECT_EQ(j["target"], own());
  EXPECT_EQ(j["float_tensors"], nlohmann::json::array());
  ASSERT_TRUE(j["findings"].is_array());
  ASSERT_EQ(j["findings"].size(), 2u) << j.dump(2);
  const auto& zp = j["findings"][0];
  EXPECT_EQ(zp["severity"], "error");
  EXPECT_EQ(zp["rule"], "bias-zero-point");
  EXPECT_EQ(zp["subgraph"], 0);
  EXPECT_EQ(zp["operator_index"], 0);
  EXPECT_EQ(zp["operator"], "CONV_2D");
  EXPECT_EQ(zp["tensors"], nlohmann::json::array({"bias"}));
  EXPECT_EQ(zp["message"], "biases are symmetric: expected zero point 0, found 5");
  const auto& scale = j["findings"][1];
  EXPECT_EQ(scale["severity"], "error");
  EXPECT_EQ(scale["rule"], "bias-scale");
  EXPECT_EQ(scale["operator"], "CONV_2D");
  EXPECT_EQ(scale["tensors"], nlohmann::json::array({"bias", "in", "w"}));
  EXPECT_EQ(scale["message"],
            "bias scale[0] must be input scale x weight scale = 0.5 x 0.25 = 0.125, found 0.5");

  // A good model's report has an empty list.
  const CmdResult ok = cli("check " + quote(conv("good", false)) + " --report " + quote(report));
  EXPECT_EQ(ok.status, 0) << ok;
  EXPECT_EQ(read_json(report)["findings"], nlohmann::json::array());
}

TEST_P(RuleCliTest, CheckJsonPrintsTheReportDocument) {
  // --json prints what --report writes (plus "ok"), and nothing else; the exit code is kept.
  const std::string m = conv("bad", true);
  const std::string report = dir_.file("r.json");
  const CmdResult r = cli("check " + quote(m) + " --json --report " + quote(report));
  EXPECT_EQ(r.status, 1) << r;
  const auto printed = nlohmann::json::parse(r.out);
  EXPECT_EQ(printed, read_json(report));
  EXPECT_EQ(printed["ok"], false);
  EXPECT_EQ(printed["findings"].size(), 2u) << r;
  const CmdResult good = cli("check " + quote(conv("good", false)) + " --json");
  EXPECT_EQ(good.status, 0) << good;
  EXPECT_EQ(nlohmann::json::parse(good.out)["ok"], true) << good;
}

TEST_P(RuleCliTest, ImplantReportListsImplantedPropagatedAndDerived) {
  // ONE's README model, its bias left to q-implant, and a RESHAPE after it to propagate into.
  ModelBuilder b = conv2d_model(GetParam());
  const int32_t ofm = 3;
  const int32_t shape = b.constant_i32("shape", {2}, {1, 4});
  const int32_t y = b.tensor("y", {1, 4});
  b.op(circle::BuiltinOperator_RESHAPE, {ofm, shape}, {y});
  b.outputs({y});
  b.save(path("in"));
  const std::string qparam = write_qparams(dir_.path(), conv2d_qparams_derived_bias());
  const std::string report = dir_.file("r.json");
  const CmdResult r = cli(quote(path("in")) + " " + quote(qparam) + " " + quote(path("out")) +
                          " --report " + quote(report));
  ASSERT_EQ(r.status, 0) << r;
  const auto j = read_json(report);
  EXPECT_EQ(j["output"], path("out"));
  EXPECT_EQ(j["findings"], nlohmann::json::array());
  std::map<std::string, nlohmann::json> by_tensor;
  for (const auto& c : j["changes"]) by_tensor[c["tensor"].get<std::string>()] = c;
  ASSERT_EQ(by_tensor.size(), 5u) << j.dump(2);
  for (const char* t : {"ifm", "ker", "ofm"}) {
    EXPECT_EQ(by_tensor[t]["change"], "implanted") << t;
    EXPECT_EQ(by_tensor[t]["source"], t);
  }
  EXPECT_EQ(by_tensor["y"]["change"], "propagated");
  EXPECT_EQ(by_tensor["y"]["source"], "ofm");
  EXPECT_EQ(by_tensor["y"]["zero_point"], nlohmann::json::array({7}));
  EXPECT_EQ(by_tensor["bias"]["change"], "derived");
  EXPECT_EQ(by_tensor["bias"]["to_type"], "INT32");
  EXPECT_EQ(by_tensor["bias"]["data"], "quantized");
  EXPECT_EQ(by_tensor["bias"]["zero_point"], nlohmann::json::array({0}));
  EXPECT_FLOAT_EQ(by_tensor["bias"]["scale"][0].get<float>(), 0.27102426f * 0.44855267f);
}

TEST_P(RuleCliTest, ImplantForceAndNoCheck) {
  conv2d_model(GetParam()).save(path("in"));
  const std::string qparam = write_qparams(dir_.path(), conv2d_qparams_one_readme());
  const std::string in = quote(path("in")) + " " + quote(qparam) + " ";
  const std::string args = in + quote(path("out"));

  CmdResult r = cli(args);
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.out, kReadmeZeroPoint)) << r;
  EXPECT_TRUE(contains(r.out, kReadmeScale)) << r;
  EXPECT_TRUE(contains(r.out, "nothing was written")) << r;
  EXPECT_FALSE(file_exists(path("out")));

  const std::string report = dir_.file("r.json");
  r = cli(args + " --force --report " + quote(report));
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(file_exists(path("out")));
  EXPECT_TRUE(contains(r.out, std::string("q-implant: ") + kReadmeZeroPoint + "\n")) << r;
  EXPECT_TRUE(contains(r.out, std::string("q-implant: ") + kReadmeScale)) << r;
  const auto j = read_json(report);
  ASSERT_EQ(j["findings"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["findings"][0]["rule"], "bias-zero-point");
  EXPECT_EQ(j["findings"][1]["rule"], "bias-scale");

  r = cli(in + quote(path("nocheck")) + " --no-check");
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(file_exists(path("nocheck")));
  EXPECT_FALSE(contains(r.out, "[bias-")) << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, RuleCliTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
