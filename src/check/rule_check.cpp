#include "check/rule_check.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "check/quant_params.h"
#include "model/op_properties.h"
#include "rules/target.h"
#include "schema/circle_generated.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = type_code(TensorType::Float32);

std::string params_text(const QuantParams& q) {
  std::ostringstream os;
  os.precision(9);
  if (q.empty()) return "no quantization parameters";
  if (q.scale.size() == 1) {
    os << "scale " << q.scale[0] << ", zero point " << (q.zero_point.empty() ? 0 : q.zero_point[0]);
  } else {
    os << q.scale.size() << " per-channel scales along dimension " << q.quantized_dimension;
  }
  return os.str();
}

// A missing zero point reads as 0 (what TFLite assumes for symmetric parameters).
int64_t zero_point_at(const QuantParams& q, size_t i) {
  return i < q.zero_point.size() ? q.zero_point[i] : 0;
}

bool close(float a, float b) {
  return std::fabs(double(a) - double(b)) <=
         1e-6 * std::max(std::fabs(double(a)), std::fabs(double(b)));
}

struct Checker {
  const ModelInfo& model;
  const EditPlan& plan;
  Target target;
  std::vector<Finding> findings;

  uint32_t s = 0;
  int32_t op_index = 0;
  const OperatorInfo* op = nullptr;

  struct View {
    const TensorInfo* info;
    int8_t type;
    const QuantParams* quant;
  };
  View view(int32_t t) const {
    const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
    return {&model.tensor(s, t), st.type, st.quant};
  }
  std::string type_name(int8_t t) const { return tensor_type_name(model.format, t); }

  void add(Severity sev, const std::string& rule, std::vector<int32_t> tensors,
           const std::string& message) {
    Finding f;
    f.severity = sev;
    f.rule = rule;
    f.subgraph = s;
    f.op_index = op_index;
    f.op = operator_name(model, *op);
    for (int32_t t : tensors) f.tensors.push_back(model.tensor(s, t).name);
    f.message = message;
    findings.push_back(std::move(f));
  }

  bool quantized(const View& v) const { return v.type != kFloat32 && !v.quant->empty(); }

  static bool is_4bit_type(int8_t t) {
    return t == int8_t(TensorType::Int4) || t == int8_t(TensorType::UInt4);
  }

  static bool is_activation_type(int8_t t) {
    return t == int8_t(TensorType::UInt8) || t == int8_t(TensorType::Int8) ||
           t == int8_t(TensorType::Int16);
  }

  void check_operator(const OperatorInfo& o) {
    op = &o;
    const OpProperty* prop = op_property(o.builtin_code);
    if (prop && (prop->float_input_ok || prop->float_output_ok)) return;  // QUANTIZE/DEQUANTIZE
    auto is_index = [&](size_t i) { return prop && prop->is_index_input(i); };

    // Activation operands: everything but weights, biases and index operands.
    std::vector<int32_t> acts;
    for (size_t i = 0; i < o.inputs.size(); ++i) {
      if (o.inputs[i] < 0 || is_index(i)) continue;
      if (prop && (int(i) == prop->weight_input || int(i) == prop->bias_input)) continue;
      acts.push_back(o.inputs[i]);
    }
    for (int32_t t : o.outputs)
      if (t >= 0) acts.push_back(t);

    // Index operands stay integer.
    for (size_t i = 0; i < o.inputs.size(); ++i) {
      if (o.inputs[i] < 0 || !is_index(i)) continue;
      const View v = view(o.inputs[i]);
      if (!v.quant->empty() && v.type != int8_t(TensorType::Int32) &&
          v.type != int8_t(TensorType::Int64)) {
        add(Severity::Error, "index-operand", {o.inputs[i]},
            "operand " + std::to_string(i) +
                " is a shape/axis/index operand: expected INT32 or INT64 without quantization, "
                "found " +
                type_name(v.type) + " with " + params_text(*v.quant));
      }
    }

    // Activations: one type per operator, per-tensor parameters, int16 symmetric.
    int8_t act_type = kFloat32;
    for (int32_t t : acts) {
      const View v = view(t);
      if (is_4bit_type(v.type)) {
        add(Severity::Error, "4bit-weight-only", {t},
            "4-bit types are for constant weights: found " + type_name(v.type) +
                " on an operand of " + operator_name(model, o) + " that is not its weight");
        continue;
      }
      if (!quantized(v) || !is_activation_type(v.type)) continue;
      if (act_type == kFloat32) {
        act_type = v.type;
      } else if (v.type != act_type) {
        add(Severity::Error, "activation-type", {t},
            "activations of one operator must share a type: expected " + type_name(act_type) +
                ", found " + type_name(v.type));
      }
      if (v.quant->scale.size() > 1 && !model.is_constant(*v.info)) {
        add(Severity::Error, "activation-granularity", {t},
            "activations are quantized per tensor: expected 1 scale, found " +
                std::to_string(v.quant->scale.size()));
      }
      if (v.type == int8_t(TensorType::Int16)) {
        for (int64_t z : v.quant->zero_point)
          if (z != 0) {
            add(Severity::Error, "int16-symmetric", {t},
                "int16 activations are symmetric: expected zero point 0, found " +
                    std::to_string(z));
            break;
          }
      }
      if (target == Target::ONE && v.type == int8_t(TensorType::Int8) &&
          !model.is_constant(*v.info)) {
        add(Severity::Warning, "one-activation-type", {t},
            "ONE's quantized kernels expect uint8 or int16 activations, found INT8");
      }
    }

    if (prop && prop->weight_input >= 0) check_weight_and_bias(o, *prop, act_type);
    if (prop && prop->fixed_output) check_fixed_output(o);
    if (prop && prop->value_preserving) check_same_as_data(o, *prop);
    if (prop && !prop->share_data_input.empty()) check_share_data_input(o, *prop);
    if (prop && prop->inputs_share_output) check_inputs_share_output(o, *prop);
  }

  void check_weight_and_bias(const OperatorInfo& o, const OpProperty& prop, int8_t act_type) {
    if (prop.weight_input >= int(o.inputs.size()) || o.inputs[prop.weight_input] < 0) return;
    const int32_t wt = o.inputs[prop.weight_input];
    const View w = view(wt);
    if (!quantized(w)) return;
    // Symmetric int8 weights are the TFLite spec; ONE's int8 kernels (onert, luci's weight-only
    // quantization) follow it, and luci's int16 weights are symmetric too. Only uint8 weights
    // (ONE's uint8 models, legacy TFLite) carry a zero point.
    // INT4 weights are unpacked to int8 by the kernels and follow the same rule.
    const bool symmetric_needed = w.type == int8_t(TensorType::Int16) ||
                                  w.type == int8_t(TensorType::Int8) ||
                                  w.type == int8_t(TensorType::Int4);
    // TFLite takes INT4 filters in FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D, with int8
    // inputs (tensorflow/lite/kernels and tflite-micro's kernels check filter->type kTfLiteInt4).
    if (target == Target::TFLite && is_4bit_type(w.type)) {
      const bool kernel = o.builtin_code == circle::BuiltinOperator_FULLY_CONNECTED ||
                          o.builtin_code == circle::BuiltinOperator_CONV_2D ||
                          o.builtin_code == circle::BuiltinOperator_DEPTHWISE_CONV_2D;
      if (!kernel || (act_type != kFloat32 && act_type != int8_t(TensorType::Int8))) {
        add(Severity::Warning, "tflite-int4-weight", {wt},
            "TFLite's kernels take INT4 weights in FULLY_CONNECTED, CONV_2D and "
            "DEPTHWISE_CONV_2D with int8 activations; found " +
                operator_name(model, o) +
                (act_type == kFloat32 ? "" : " with " + type_name(act_type) + " activations"));
      }
    }
    if (symmetric_needed) {
      for (int64_t z : w.quant->zero_point)
        if (z != 0) {
          add(Severity::Error, "weight-symmetric", {wt},
              type_name(w.type) + " weights are symmetric: expected zero point 0, found " +
                  std::to_string(z));
          break;
        }
    }
    if (w.quant->scale.size() > 1 && w.quant->quantized_dimension != prop.weight_channel_dim) {
      add(Severity::Error, "weight-channel-dim", {wt},
          "per-channel weights of " + operator_name(model, o) + " are quantized along dimension " +
              std::to_string(prop.weight_channel_dim) + ", found dimension " +
              std::to_string(w.quant->quantized_dimension));
    }
    check_weight_type(o, prop, act_type, wt, w);

    if (prop.bias_input < 0 || prop.bias_input >= int(o.inputs.size()) ||
        o.inputs[prop.bias_input] < 0)
      return;
    const int32_t bt = o.inputs[prop.bias_input];
    const View b = view(bt);
    if (!quantized(b)) return;
    const int8_t want_bias = act_type == int8_t(TensorType::Int16) ? int8_t(TensorType::Int64)
                                                                   : int8_t(TensorType::Int32);
    // TFLite's 16x8 kernels take int32 or int64 biases (conv.cc, fully_connected.cc: "bias->type
    // == kTfLiteInt32 || kTfLiteInt64" for int16 inputs); luci's verifier requires int64
    // (VerifyQuantizedNodeS16Type is VerifyQuantizedNodeTypeBase<S16, S64>, whose Conv2D /
    // DepthwiseConv2D / FullyConnected / TransposeConv visits check the bias has Btype).
    const bool int16_with_int32 =
        act_type == int8_t(TensorType::Int16) && b.type == int8_t(TensorType::Int32);
    if (act_type != kFloat32 && b.type != want_bias &&
        !(int16_with_int32 && target == Target::TFLite)) {
      add(Severity::Error, "bias-type", {bt},
          "bias of " + type_name(act_type) + " activations: expected " + type_name(want_bias) +
              ", found " + type_name(b.type));
    }
    for (int64_t z : b.quant->zero_point)
      if (z != 0) {
        add(Severity::Error, "bias-zero-point", {bt},
            "biases are symmetric: expected zero point 0, found " + std::to_string(z));
        break;
      }
    const int data = prop.data_input;
    if (data >= int(o.inputs.size()) || o.inputs[data] < 0) return;
    const int32_t it = o.inputs[data];
    const View in = view(it);
    if (!quantized(in) || in.quant->scale.size() != 1) return;
    const auto& ws = w.quant->scale;
    const auto& bs = b.quant->scale;
    if (bs.size() != ws.size()) {
      add(Severity::Error, "bias-scale", {bt, wt},
          "expected one bias scale per weight scale (" + std::to_string(ws.size()) + "), found " +
              std::to_string(bs.size()));
      return;
    }
    for (size_t c = 0; c < ws.size(); ++c) {
      const float want = in.quant->scale[0] * ws[c];
      if (!close(bs[c], want)) {
        std::ostringstream os;
        os.precision(9);
        os << "bias scale[" << c << "] must be input scale x weight scale = " << in.quant->scale[0]
           << " x " << ws[c] << " = " << want << ", found " << bs[c];
        add(Severity::Error, "bias-scale", {bt, it, wt}, os.str());
        break;
      }
    }
  }

  static bool is_8bit(int8_t t) {
    return t == int8_t(TensorType::UInt8) || t == int8_t(TensorType::Int8);
  }

  // The type table (op_properties): which weight types the target's kernel reads for the
  // activation type. An 8-bit weight of the other 8-bit type is read as garbage or refused, so
  // that is an error; other combinations are warnings.
  void check_weight_type(const OperatorInfo& o, const OpProperty& prop, int8_t act_type, int32_t wt,
                         const View& w) {
    if (act_type == kFloat32 || is_4bit_type(w.type)) return;  // 4-bit: tflite-int4-weight
    const WeightTypeRule* rule = prop.weight_rule(target, act_type);
    if (!rule) return;
    const bool type_ok = std::any_of(rule->weights.begin(), rule->weights.end(),
                                     [&](TensorType t) { return int8_t(t) == w.type; });
    const bool per_channel = w.quant->scale.size() > 1;
    if (type_ok && (!per_channel || rule->per_channel)) return;
    std::string accepted;
    for (TensorType t : rule->weights)
      accepted += (accepted.empty() ? "" : " or ") + type_name(int8_t(t));
    std::ostringstream os;
    os << target_name(target) << "'s " << type_name(act_type) << " " << operator_name(model, o)
       << " kernel reads " << accepted << " weights"
       << (rule->per_channel ? "" : " with one scale (per tensor)") << ": found "
       << type_name(w.type) << " with " << params_text(*w.quant) << ". Fix: ";
    const bool eight = is_8bit(act_type) && is_8bit(w.type);
    const int64_t z = zero_point_at(*w.quant, 0);
    if (act_type == int8_t(TensorType::UInt8) && w.type == int8_t(TensorType::Int8)) {
      if (per_channel && !rule->per_channel) {
        os << "this kernel has no per-channel uint8 weights, so they cannot be re-expressed as "
              "uint8; pass --activation-type int8 (every 8-bit activation re-expressed as int8: "
              "the same scale, zero point - 128) or give per-tensor weights";
      } else {
        os << "int8 weights with zero point z are uint8 weights with zero point z + 128 (the "
              "same real values; q-implant writes them so for the weights it implants, these "
              "are stored quantized in the model)"
           << (target == Target::TFLite ? ", or pass --activation-type int8" : "");
      }
    } else if (act_type == int8_t(TensorType::Int8) && w.type == int8_t(TensorType::UInt8)) {
      os << "int8 kernels read symmetric int8 weights: uint8 weights with zero point 128 are "
            "int8 weights with zero point 0 (q-implant re-expresses those it implants), found "
            "zero point "
         << z << "; give symmetric weights or pass --activation-type uint8";
    } else if (!type_ok) {
      os << "give " << accepted << " weights";
    } else if (act_type == int8_t(TensorType::UInt8) && target == Target::TFLite) {
      os << "give per-tensor weights, or pass --activation-type int8 (every 8-bit activation "
            "re-expressed as int8, and uint8 weights with zero point 128 as symmetric int8)";
    } else {
      os << "give per-tensor weights";
    }
    std::vector<int32_t> named{wt};
    const int data = prop.data_input;
    if (data < int(o.inputs.size()) && o.inputs[data] >= 0) named.push_back(o.inputs[data]);
    add(eight ? Severity::Error : Severity::Warning, "weight-type", named, os.str());
  }

  void check_fixed_output(const OperatorInfo& o) {
    if (o.outputs.empty() || o.outputs[0] < 0 || o.inputs.empty() || o.inputs[0] < 0) return;
    const View out = view(o.outputs[0]);
    if (!quantized(out)) return;
    std::optional<QType> q;
    if (out.type == int8_t(TensorType::UInt8)) q = QType::UInt8;
    if (out.type == int8_t(TensorType::Int8)) q = QType::Int8;
    if (out.type == int8_t(TensorType::Int16)) q = QType::Int16;
    if (!q) return;
    const auto fixed = fixed_output_params(target, o.builtin_code, *q);
    if (!fixed || out.quant->scale.size() != 1) return;
    if (!close(out.quant->scale[0], fixed->scale) ||
        zero_point_at(*out.quant, 0) != fixed->zero_point) {
      std::ostringstream os;
      os.precision(9);
      os << operator_name(model, o) << " has a fixed output range: expected scale " << fixed->scale
         << ", zero point " << fixed->zero_point << " (" << target_name(target) << " rules), found "
         << params_text(*out.quant);
      // An error for both targets: TFLite's Prepare refuses most of these and its reference /
      // fixed-point kernels ignore the output parameters for the rest (SoftmaxPrepare,
      // SigmoidPrepare, TanhPrepare in tensorflow/lite/kernels/activations.cc,
      // reference_ops::Softmax in kernels/internal/reference/softmax.h); luci's verifier refuses
      // anything else (VerifyQuantizedNodeU8Type / S16Type::visit(CircleSoftmax / CircleLogistic
      // / CircleTanh) in compiler/luci/pass/src/VerifyQuantizedNodeType.cpp), and
      // luci-interpreter's Logistic::configure checks 1/256. See the README's rule table.
      add(Severity::Error, "fixed-output", {o.outputs[0]}, os.str());
    }
  }

  void check_same_as_data(const OperatorInfo& o, const OpProperty& prop) {
    if (prop.data_input >= int(o.inputs.size()) || o.inputs[prop.data_input] < 0) return;
    const int32_t it = o.inputs[prop.data_input];
    const View in = view(it);
    if (!quantized(in)) return;
    for (int32_t t : o.outputs) {
      if (t < 0) continue;
      const View out = view(t);
      if (!quantized(out)) continue;
      if (out.type != in.type || *out.quant != *in.quant) {
        add(Severity::Error, "same-scale", {it, t},
            operator_name(model, o) +
                " passes values through: expected the output to carry the input's " +
                type_name(in.type) + " " + params_text(*in.quant) + ", found " +
                type_name(out.type) + " " + params_text(*out.quant));
      }
    }
  }

  // Inputs that must carry the data input's parameters (PADV2's pad value).
  void check_share_data_input(const OperatorInfo& o, const OpProperty& prop) {
    if (prop.data_input >= int(o.inputs.size()) || o.inputs[prop.data_input] < 0) return;
    const int32_t dt = o.inputs[prop.data_input];
    const View data = view(dt);
    if (!quantized(data)) return;
    for (int i : prop.share_data_input) {
      if (i >= int(o.inputs.size()) || o.inputs[i] < 0) continue;
      const View v = view(o.inputs[i]);
      if (!quantized(v)) continue;
      if (v.type != data.type || *v.quant != *data.quant) {
        add(Severity::Error, "same-scale", {o.inputs[i], dt},
            operator_name(model, o) + " operand " + std::to_string(i) +
                " must carry the data input's " + type_name(data.type) + " " +
                params_text(*data.quant) + ", found " + type_name(v.type) + " " +
                params_text(*v.quant));
      }
    }
  }

  void check_inputs_share_output(const OperatorInfo& o, const OpProperty& prop) {
    if (o.outputs.empty() || o.outputs[0] < 0) return;
    const View out = view(o.outputs[0]);
    if (!quantized(out)) return;
    // A kernel that requantizes its inputs itself (TFLite's uint8 CONCATENATION) takes any
    // per-tensor parameters of the output's type.
    const bool rescales = prop.rescales_inputs(target, out.type);
    for (int32_t t : o.inputs) {
      if (t < 0) continue;
      const View in = view(t);
      if (!quantized(in)) continue;
      if (rescales && in.type == out.type && in.quant->scale.size() == 1) continue;
      if (in.type != out.type || *in.quant != *out.quant) {
        add(Severity::Error, "same-scale", {t, o.outputs[0]},
            operator_name(model, o) + " inputs must carry the output's " + type_name(out.type) +
                " " + params_text(*out.quant) + ", found " + type_name(in.type) + " " +
                params_text(*in.quant));
      }
    }
  }

  void run() {
    for (s = 0; s < model.subgraphs.size(); ++s) {
      const auto& ops = model.subgraphs[s].operators;
      for (op_index = 0; op_index < int32_t(ops.size()); ++op_index) check_operator(ops[op_index]);
    }
  }
};

}  // namespace

std::vector<Finding> check_rules(const ModelInfo& model, const EditPlan& plan, Target target) {
  Checker c{model, plan, target, {}};
  c.run();
  // Parameters no runtime can use, on any quantized tensor (check/quant_params.h).
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    for (uint32_t t = 0; t < model.subgraphs[s].tensors.size(); ++t) {
      const TensorState st = planned_state(model, plan, {s, t});
      const TensorInfo& info = model.tensor(s, t);
      for (const std::string& problem : quant_params_problems(st.type, info.shape, *st.quant)) {
        Finding f;
        f.rule = "quant-params";
        f.subgraph = s;
        f.tensors = {info.name};
        f.message = tensor_type_name(model.format, st.type) + " tensor " + problem;
        c.findings.push_back(std::move(f));
      }
    }
  }
  return std::move(c.findings);
}

namespace {
std::string describe(const Finding& f, bool name_subgraph) {
  std::string out = f.severity == Severity::Error ? "error" : "warning";
  out += " [" + f.rule + "] ";
  if (f.op_index >= 0) {
    out += f.op + " (operator " + std::to_string(f.op_index);
    if (name_subgraph) out += " of subgraph " + std::to_string(f.subgraph);
    out += ")";
  }
  if (!f.tensors.empty()) {
    out += std::string(f.op_index >= 0 ? ", " : "") + "tensor" +
           std::string(f.tensors.size() > 1 ? "s" : "") + " ";
    for (size_t i = 0; i < f.tensors.size(); ++i) out += (i ? ", '" : "'") + f.tensors[i] + "'";
    if (f.op_index < 0 && name_subgraph) out += " (subgraph " + std::to_string(f.subgraph) + ")";
  }
  return out + ": " + f.message;
}
}  // namespace

std::string describe_finding(const ModelInfo& model, const Finding& f) {
  return describe(f, model.subgraphs.size() > 1);
}

std::string describe_finding_text(const Finding& f) {
  return describe(f, f.subgraph != 0);
}

}  // namespace qimplant
