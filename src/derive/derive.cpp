#include "derive/derive.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "model/op_properties.h"
#include "model/shape.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = type_code(TensorType::Float32);

// 4-bit tensors (INT4, UINT4) give nullopt: they are constant weights only, so no rule derives
// parameters from them or gives their type to another tensor (a bias next to a 4-bit weight is
// still derived: it needs only the weight's scales).
std::optional<QType> derivable_qtype(int8_t tensor_type) {
  const std::optional<QType> q = qtype_of(tensor_type);
  return q && !is_4bit(*q) ? q : std::nullopt;
}

bool is_activation_qtype(QType q) {
  return q == QType::UInt8 || q == QType::Int8 || q == QType::Int16;
}

std::vector<float> float_values(const BufferInfo& b) {
  std::vector<float> v(b.size / 4);
  if (!v.empty()) std::memcpy(v.data(), b.data, v.size() * 4);
  return v;
}

struct Deriver {
  const ModelInfo& model;
  EditPlan& plan;
  const DeriveOptions& options;
  size_t added = 0;

  bool contains(const std::vector<int>& v, int x) const {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  // A tensor this pass may fill: float32 in the model and not edited yet.
  bool open(uint32_t s, int32_t t) const {
    return t >= 0 && model.tensor(s, t).type == kFloat32 && !plan.find({s, uint32_t(t)});
  }

  // The quantized activation type of an operator: from its first quantized non-constant input,
  // else its first quantized output.
  std::optional<QType> activation_qtype(uint32_t s, const OperatorInfo& op,
                                        const OpProperty* prop) const {
    auto check = [&](int32_t t) -> std::optional<QType> {
      if (t < 0) return std::nullopt;
      const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
      auto q = derivable_qtype(st.type);
      if (q && is_activation_qtype(*q) && !st.quant->empty()) return q;
      return std::nullopt;
    };
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      if (prop && (contains(prop->index_inputs, int(i)) || int(i) == prop->weight_input ||
                   int(i) == prop->bias_input))
        continue;
      const int32_t t = op.inputs[i];
      if (t >= 0 && model.is_constant(model.tensor(s, t))) continue;
      if (auto q = check(t)) return q;
    }
    for (int32_t t : op.outputs)
      if (auto q = check(t)) return q;
    return std::nullopt;
  }

  void add(uint32_t s, int32_t t, QType qtype, QuantParams quant, const std::string& why,
           bool with_data) {
    const TensorInfo& info = model.tensor(s, t);
    TensorEdit e;
    e.type = type_code(qtype_info(qtype).tensor_type);
    e.quant = std::move(quant);
    e.origin = EditOrigin::Derived;
    e.source = why;
    if (with_data && model.is_constant(info)) {
      const BufferInfo& b = model.buffers[info.buffer];
      if (b.size != static_cast<size_t>(info.element_count()) * 4) return;  // planner reports
      BufferContent content;
      QuantizeRecipe r;
      r.source = b.data;
      r.source_size = b.size;
      r.shape = info.shape;
      r.quant = e.quant;
      r.qtype = qtype;
      r.rounding = options.rounding;
      r.context = "tensor '" + info.name + "' (derived: " + why + ")";
      content.recipe = std::move(r);
      e.data = TensorEdit::Data::Quantized;
      plan.new_data.emplace_back(TensorRef{s, uint32_t(t)}, std::move(content));
    }
    plan.tensors.emplace(TensorRef{s, uint32_t(t)}, std::move(e));
    ++added;
  }

  void derive_bias(uint32_t s, const OperatorInfo& op, const OpProperty& prop) {
    if (prop.bias_input < 0 || prop.bias_input >= int(op.inputs.size())) return;
    const int32_t b = op.inputs[prop.bias_input];
    if (!open(s, b) || !model.is_constant(model.tensor(s, b))) return;
    const int32_t in = op.inputs.empty() ? -1 : op.inputs[prop.data_input];
    const int32_t w = op.inputs[prop.weight_input];
    if (in < 0 || w < 0) return;
    const TensorState is = planned_state(model, plan, {s, uint32_t(in)});
    const TensorState ws = planned_state(model, plan, {s, uint32_t(w)});
    const auto iq = derivable_qtype(is.type);
    if (!iq || !is_activation_qtype(*iq) || is.quant->scale.size() != 1) return;
    if (ws.type == kFloat32 || ws.quant->scale.empty()) return;
    const size_t channels = static_cast<size_t>(model.tensor(s, b).element_count());
    const auto& wscale = ws.quant->scale;
    if (wscale.size() != 1 && wscale.size() != channels) return;
    QuantParams q;
    for (float sw : wscale) q.scale.push_back(is.quant->scale[0] * sw);
    q.zero_point.assign(q.scale.size(), 0);
    q.quantized_dimension = 0;
    add(s, b, bias_qtype(*iq), std::move(q),
        "bias: scale = input scale x weight scale, zero point 0", true);
  }

  void derive_fixed_output(uint32_t s, const OperatorInfo& op) {
    if (op.outputs.empty() || !open(s, op.outputs[0]) || op.inputs.empty() || op.inputs[0] < 0)
      return;
    const TensorState is = planned_state(model, plan, {s, uint32_t(op.inputs[0])});
    const auto iq = derivable_qtype(is.type);
    if (!iq || !is_activation_qtype(*iq)) return;
    auto fixed = fixed_output_params(options.target, op.builtin_code, *iq);
    if (!fixed) return;
    QuantParams q;
    q.scale = {fixed->scale};
    q.zero_point = {fixed->zero_point};
    std::ostringstream why;
    why << "fixed output range of " << operator_name(model, op) << " for " << qtype_info(*iq).name
        << " (" << target_name(options.target) << " rules)";
    add(s, op.outputs[0], *iq, std::move(q), why.str(), false);
  }

  void derive_same_scale(uint32_t s, const OperatorInfo& op) {
    if (op.outputs.empty() || op.outputs[0] < 0) return;
    const int32_t out = op.outputs[0];
    if (open(s, out)) {
      // Output from inputs, when all quantized inputs agree.
      std::optional<std::pair<int8_t, QuantParams>> common;
      for (int32_t t : op.inputs) {
        if (t < 0) continue;
        const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
        if (st.type == kFloat32 || st.quant->empty()) return;  // wait until all are known
        if (!common) {
          common.emplace(st.type, *st.quant);
        } else if (common->first != st.type || common->second != *st.quant) {
          return;  // disagreement: the rule check reports it
        }
      }
      if (!common) return;
      auto q = derivable_qtype(common->first);
      if (!q) return;
      add(s, out, *q, common->second,
          operator_name(model, op) + ": output shares its inputs' parameters", false);
      return;
    }
    const TensorState os = planned_state(model, plan, {s, uint32_t(out)});
    const auto oq = derivable_qtype(os.type);
    if (!oq || os.quant->empty()) return;
    for (int32_t t : op.inputs) {
      if (!open(s, t)) continue;
      add(s, t, *oq, *os.quant, operator_name(model, op) + ": input shares the output's parameters",
          true);
    }
  }

  // Whether MEAN's axes are {1, 2} (either order, negative allowed) on a rank-4 input and the
  // output keeps rank 4: the spatial mean with keep_dims.
  bool spatial_keep_dims(uint32_t s, const OperatorInfo& op) const {
    if (op.inputs.size() < 2 || op.inputs[0] < 0 || op.inputs[1] < 0 || op.outputs.empty() ||
        op.outputs[0] < 0)
      return false;
    const TensorInfo& in = model.tensor(s, op.inputs[0]);
    const TensorInfo& axes = model.tensor(s, op.inputs[1]);
    const TensorInfo& out = model.tensor(s, op.outputs[0]);
    if (in.shape.size() != 4 || out.shape.size() != 4 || !model.is_constant(axes)) return false;
    const BufferInfo& b = model.buffers[axes.buffer];
    std::vector<int64_t> v;
    if (axes.type == int8_t(TensorType::Int32) && b.size == 8) {
      int32_t a[2];
      std::memcpy(a, b.data, 8);
      v = {a[0], a[1]};
    } else if (axes.type == int8_t(TensorType::Int64) && b.size == 16) {
      int64_t a[2];
      std::memcpy(a, b.data, 16);
      v = {a[0], a[1]};
    } else {
      return false;
    }
    for (int64_t& a : v)
      if (a < 0) a += 4;
    std::sort(v.begin(), v.end());
    return v[0] == 1 && v[1] == 2;
  }

  // RELU, pools, spatial MEAN: a missing output takes the data input's per-tensor parameters.
  void derive_output_from_input(uint32_t s, const OperatorInfo& op, const OpProperty& prop) {
    if (op.outputs.empty() || !open(s, op.outputs[0])) return;
    if (prop.data_input >= int(op.inputs.size()) || op.inputs[prop.data_input] < 0) return;
    if (prop.only_spatial_keep_dims && !spatial_keep_dims(s, op)) return;
    const int32_t in = op.inputs[prop.data_input];
    const TensorState st = planned_state(model, plan, {s, uint32_t(in)});
    const auto q = derivable_qtype(st.type);
    if (!q || !is_activation_qtype(*q) || st.quant->scale.size() != 1) return;
    QuantParams quant = *st.quant;
    quant.quantized_dimension = 0;
    add(s, op.outputs[0], *q, std::move(quant),
        operator_name(model, op) + ": output takes its input's parameters ('" +
            model.tensor(s, in).name + "'), as PyTorch and TFLite compute it",
        false);
  }

  void derive_constants(uint32_t s, const OperatorInfo& op, const OpProperty* prop) {
    const auto act = activation_qtype(s, op, prop);
    if (!act) return;
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      const int32_t t = op.inputs[i];
      if (!open(s, t) || !model.is_constant(model.tensor(s, t))) continue;
      if (prop && (contains(prop->index_inputs, int(i)) || int(i) == prop->bias_input)) continue;
      const TensorInfo& info = model.tensor(s, t);
      if (prop && contains(prop->share_data_input, int(i)) &&
          prop->data_input < int(op.inputs.size())) {
        const int32_t d = op.inputs[prop->data_input];
        if (d < 0) continue;
        const TensorState ds = planned_state(model, plan, {s, uint32_t(d)});
        const auto dq = derivable_qtype(ds.type);
        if (!dq || ds.quant->empty()) continue;
        add(s, t, *dq, *ds.quant,
            operator_name(model, op) + ": operand shares the data input's parameters", true);
        continue;
      }
      const std::vector<float> values = float_values(model.buffers[info.buffer]);
      if (values.empty()) continue;
      for (size_t k = 0; k < values.size(); ++k) {
        if (std::isfinite(values[k])) continue;
        throw Error("model file '" + options.model_path + "': constant '" + info.name +
                    "' (input " + std::to_string(i) + " of " + operator_name(model, op) +
                    "): its float data has " +
                    (std::isnan(values[k]) ? "NaN"
                     : values[k] > 0       ? "+inf"
                                           : "-inf") +
                    " at element " + std::to_string(k) +
                    ", so no parameters can be derived from its range; give it an entry in "
                    "qparam.json or fix the model; nothing was written");
      }
      const bool weight = prop && int(i) == prop->weight_input;
      // Weights: symmetric per channel (TFLite spec) except uint8 models, which luci and
      // legacy TFLite quantize per tensor and asymmetrically; other constants follow the
      // activation's scheme.
      const bool symmetric = *act == QType::Int16 || (weight && *act == QType::Int8);
      const QType qtype = weight && *act == QType::Int8 ? QType::Int8 : *act;
      QuantParams q;
      std::string why;
      const int dim = weight ? prop->weight_channel_dim : -1;
      if (weight && *act != QType::UInt8 && dim >= 0 && dim < int(info.shape.size()) &&
          info.shape[dim] > 1) {
        const size_t channels = size_t(info.shape[dim]);
        const ChannelIndex channel_of = channel_index(info.shape, dim);
        std::vector<float> lo(channels, 0.0f), hi(channels, 0.0f);
        for (size_t k = 0; k < values.size(); ++k) {
          const size_t c = channel_of(k);
          lo[c] = std::min(lo[c], values[k]);
          hi[c] = std::max(hi[c], values[k]);
        }
        for (size_t c = 0; c < channels; ++c) {
          QuantParams one = params_from_range(lo[c], hi[c], qtype, symmetric);
          q.scale.push_back(one.scale[0]);
          q.zero_point.push_back(one.zero_point[0]);
        }
        q.quantized_dimension = dim;
        why = "weight: symmetric per-channel parameters from its own range";
      } else {
        const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
        q = params_from_range(*lo, *hi, qtype, symmetric);
        why = std::string(weight ? "weight" : "constant operand") + ": " +
              (symmetric ? "symmetric" : "asymmetric") + " parameters from its own range";
      }
      add(s, t, qtype, std::move(q), why, true);
    }
  }

  void run() {
    for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
      for (const OperatorInfo& op : model.subgraphs[s].operators) {
        const OpProperty* prop = op_property(op.builtin_code);
        if (options.bias && prop) derive_bias(s, op, *prop);
        if (options.fixed_outputs && prop && prop->fixed_output) derive_fixed_output(s, op);
        if (options.same_scale && prop && prop->inputs_share_output) derive_same_scale(s, op);
        if (options.same_scale && prop && prop->output_from_input)
          derive_output_from_input(s, op, *prop);
        if (options.constants && !(prop && (prop->float_input_ok || prop->float_output_ok)))
          derive_constants(s, op, prop);
      }
    }
  }
};

}  // namespace

QuantParams params_from_range(float min, float max, QType qtype, bool symmetric) {
  const QTypeInfo& qi = qtype_info(qtype);
  const double lo = std::min(0.0, double(min)), hi = std::max(0.0, double(max));
  QuantParams q;
  if (symmetric) {
    const double m = std::max(-lo, hi);
    const float scale = float(m / double(qi.max));
    q.scale = {scale >= std::numeric_limits<float>::min() ? scale : 1.0f};
    q.zero_point = {0};
    return q;
  }
  const double range = double(qi.max) - double(qi.min);
  double scale = hi > lo ? (hi - lo) / range : 1.0;
  if (!(float(scale) >= std::numeric_limits<float>::min())) scale = 1.0;
  q.scale = {float(scale)};
  const double zp = std::round(double(qi.min) - lo / double(q.scale[0]));
  q.zero_point = {int64_t(std::clamp(zp, double(qi.min), double(qi.max)))};
  return q;
}

size_t derive_missing(const ModelInfo& model, EditPlan& plan, const DeriveOptions& options) {
  Deriver d{model, plan, options};
  d.run();
  return d.added;
}

}  // namespace qimplant
