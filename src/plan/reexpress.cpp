#include "plan/reexpress.h"

#include <set>

#include "model/op_properties.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr int8_t kUInt8 = type_code(TensorType::UInt8);
constexpr int8_t kInt8 = type_code(TensorType::Int8);

bool is_8bit(int8_t t) {
  return t == kUInt8 || t == kInt8;
}

// Moves the planned tensor `ref` to the other 8-bit type `to`, data included.
void shift(EditPlan& plan, const TensorRef& ref, int8_t to, const std::string& why) {
  TensorEdit& e = plan.tensors.at(ref);
  const int64_t delta = to == kUInt8 ? 128 : -128;
  if (e.quant.zero_point.empty()) e.quant.zero_point.assign(e.quant.scale.size(), 0);
  for (int64_t& z : e.quant.zero_point) z += delta;
  e.type = to;
  e.reexpressed += (e.reexpressed.empty() ? "" : "; ") + why;
  for (auto& [r, content] : plan.new_data) {
    if (!(r == ref)) continue;
    if (content.recipe) {
      // Quantizing straight into the new type gives round(x / s) + z + 128 clamped to
      // [0, 255]: the old bytes + 128.
      content.recipe->qtype = to == kUInt8 ? QType::UInt8 : QType::Int8;
      content.recipe->quant = e.quant;
      continue;
    }
    if (content.view) {
      content.owned.assign(content.view->data, content.view->data + content.view->nbytes);
      content.view.reset();
    }
    for (uint8_t& b : content.owned) b ^= 0x80;
  }
}

std::string op_label(const ModelInfo& model, uint32_t s, uint32_t o) {
  std::string l =
      operator_name(model, model.subgraphs[s].operators[o]) + " (operator " + std::to_string(o);
  if (model.subgraphs.size() > 1) l += " of subgraph " + std::to_string(s);
  return l + ")";
}

}  // namespace

size_t reexpress_types(const ModelInfo& model, EditPlan& plan, const ReexpressOptions& options) {
  size_t count = 0;
  const std::string& want = options.activation_type;
  if (!want.empty() && want != "int8" && want != "uint8") {
    throw Error("--activation-type: expected int8 or uint8, found '" + want + "'");
  }

  // Weight operands, which follow their kernel's table instead of the activation type.
  std::set<TensorRef> weights;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    for (const OperatorInfo& op : model.subgraphs[s].operators) {
      const OpProperty* prop = op_property(op.builtin_code);
      if (!prop || prop->weight_input < 0 || prop->weight_input >= int(op.inputs.size())) continue;
      const int32_t w = op.inputs[prop->weight_input];
      if (w >= 0) weights.insert({s, uint32_t(w)});
    }
  }

  if (!want.empty()) {
    const int8_t to = want == "int8" ? kInt8 : kUInt8;
    const std::string why = "--activation-type " + want + ": the same scale, zero point " +
                            (to == kUInt8 ? "+ 128" : "- 128");
    for (auto& [ref, edit] : plan.tensors) {
      if (!is_8bit(edit.type) || edit.type == to || weights.count(ref)) continue;
      shift(plan, ref, to, why);
      ++count;
    }
  }

  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const auto& ops = model.subgraphs[s].operators;
    for (uint32_t o = 0; o < ops.size(); ++o) {
      const OperatorInfo& op = ops[o];
      const OpProperty* prop = op_property(op.builtin_code);
      if (!prop || prop->weight_input < 0 || prop->weight_input >= int(op.inputs.size()) ||
          prop->data_input >= int(op.inputs.size()))
        continue;
      const int32_t w = op.inputs[prop->weight_input];
      const int32_t in = op.inputs[prop->data_input];
      if (w < 0 || in < 0) continue;
      const TensorRef wref{s, uint32_t(w)};
      const TensorEdit* we = plan.find(wref);
      if (!we || !is_8bit(we->type)) continue;
      const int8_t act = planned_state(model, plan, {s, uint32_t(in)}).type;
      const WeightTypeRule* rule = prop->weight_rule(options.target, act);
      if (!rule) continue;
      const bool per_channel = we->quant.scale.size() > 1;
      auto reads = [&](int8_t t) {
        for (TensorType k : rule->weights)
          if (t == k) return !per_channel || rule->per_channel;
        return false;
      };
      if (reads(we->type)) continue;
      const int8_t to = we->type == kInt8 ? kUInt8 : kInt8;
      if (!reads(to)) continue;  // the rule check names the mismatch and the fix
      if (to == kInt8) {
        bool symmetric = true;
        for (int64_t z : we->quant.zero_point) symmetric = symmetric && z == 128;
        if (!symmetric) continue;
      }
      shift(plan, wref, to,
            std::string(target_name(options.target)) + "'s " + tensor_type_name(model.format, act) +
                " " + op_label(model, s, o) + " reads " + tensor_type_name(model.format, to) +
                " weights: zero point " + (to == kUInt8 ? "+ 128" : "- 128") +
                ", the same real values");
      ++count;
    }
  }
  return count;
}

}  // namespace qimplant
