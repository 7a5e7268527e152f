#include "plan/requantize.h"

#include <set>

#include "model/op_properties.h"
#include "plan/structure.h"
#include "schema/circle_generated.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = type_code(TensorType::Float32);

struct Requantizer {
  const ModelInfo& model;
  const ModelInfo& current;  // with the structure planned so far
  EditPlan& plan;
  Target target;
  uint32_t s = 0;
  std::set<std::string> names;
  int32_t next_tensor = 0;
  size_t added = 0;
  std::vector<std::vector<int32_t>> inputs, outputs;  // operands after earlier rewires

  bool per_tensor_quantized(int32_t t, int8_t* type, QuantParams* quant) const {
    if (t < 0) return false;
    const TensorRef ref{s, uint32_t(t)};
    if (plan.keep_float.count(ref)) return false;  // mixed precision's to convert
    const TensorState st = planned_state(current, plan, ref);
    if (st.type == kFloat32 || st.quant->scale.size() != 1) return false;
    *type = st.type;
    *quant = *st.quant;
    quant->quantized_dimension = 0;
    return true;
  }

  std::string unique_name(const std::string& base) {
    std::string n = base;
    for (int k = 1; names.count(n); ++k) n = base + "_" + std::to_string(k);
    names.insert(n);
    return n;
  }

  int32_t add_tensor(int32_t like, const std::string& base, int8_t type, const QuantParams& quant,
                     const std::string& source) {
    StructureEdit::Tensor nt;
    nt.subgraph = s;
    nt.info = current.subgraphs[s].tensors[like];
    nt.info.name = unique_name(base);
    nt.info.type = type;
    nt.info.quant = quant;
    nt.info.buffer = 0;
    plan.structure.tensors.push_back(nt);
    const int32_t id = next_tensor++;
    TensorEdit e;
    e.type = type;
    e.quant = quant;
    e.origin = EditOrigin::Inserted;
    e.source = source;
    plan.tensors.emplace(TensorRef{s, uint32_t(id)}, std::move(e));
    return id;
  }

  void set_rewire(uint32_t o, bool output, uint32_t slot, int32_t tensor) {
    (output ? outputs : inputs)[o][slot] = tensor;
    for (auto& r : plan.structure.rewires) {
      if (r.subgraph == s && r.op == o && r.output == output && r.slot == slot) {
        r.tensor = tensor;
        return;
      }
    }
    plan.structure.rewires.push_back({s, o, output, slot, tensor});
  }

  // QUANTIZE `in` -> `out`, just before operator `before` of the input model, or after every
  // existing operator (ahead of the other appended ones, such as the float interface's
  // DEQUANTIZE of an output) when `before` is past the last.
  void add_quantize(int32_t in, int32_t out, uint32_t before, std::string reason) {
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code = circle::BuiltinOperator_QUANTIZE;
    op.inputs = {in};
    op.outputs = {out};
    op.reason = std::move(reason);
    auto& ops = plan.structure.operators;
    if (before < model.subgraphs[s].operators.size()) {
      op.before = static_cast<int32_t>(before);
      ops.push_back(std::move(op));
    } else {
      auto first_back = ops.begin();
      while (first_back != ops.end() &&
             (first_back->subgraph != s || first_back->prepend || first_back->before >= 0))
        ++first_back;
      ops.insert(first_back, std::move(op));
    }
    ++added;
  }

  std::string name(int32_t t) const { return current.subgraphs[s].tensors[t].name; }
  std::string op_label(uint32_t o) const {
    std::string l =
        operator_name(model, model.subgraphs[s].operators[o]) + " (operator " + std::to_string(o);
    if (model.subgraphs.size() > 1) l += " of subgraph " + std::to_string(s);
    return l + " of the input model)";
  }
  std::string type_name(int8_t t) const { return tensor_type_name(model.format, t); }

  void inputs_to_output(uint32_t o, const OpProperty& prop) {
    if (outputs[o].empty()) return;
    int8_t out_type;
    QuantParams out_q;
    if (!per_tensor_quantized(outputs[o][0], &out_type, &out_q)) return;
    if (prop.rescales_inputs(target, out_type)) return;  // the kernel requantizes them itself
    for (uint32_t i = 0; i < inputs[o].size(); ++i) {
      const int32_t t = inputs[o][i];
      int8_t in_type;
      QuantParams in_q;
      if (!per_tensor_quantized(t, &in_type, &in_q) || in_type != out_type || in_q == out_q)
        continue;
      const int32_t q = add_tensor(t, name(t) + "_requantized", out_type, out_q, name(t));
      add_quantize(t, q, o,
                   "requantize: " + op_label(o) + " copies its " + type_name(out_type) +
                       " inputs as they are (" + target_name(target) + " kernel), and input '" +
                       name(t) + "' has other parameters than output '" + name(outputs[o][0]) +
                       "'");
      set_rewire(o, false, i, q);
    }
  }

  void output_to_input(uint32_t o, const OpProperty& prop) {
    if (prop.data_input >= int(inputs[o].size())) return;
    const int32_t d = inputs[o][prop.data_input];
    int8_t in_type;
    QuantParams in_q;
    if (!per_tensor_quantized(d, &in_type, &in_q)) return;
    for (uint32_t k = 0; k < outputs[o].size(); ++k) {
      const int32_t t = outputs[o][k];
      int8_t out_type;
      QuantParams out_q;
      if (!per_tensor_quantized(t, &out_type, &out_q) || out_type != in_type || out_q == in_q)
        continue;
      const int32_t raw = add_tensor(t, name(t) + "_same_scale", in_type, in_q, name(d));
      add_quantize(raw, t, o + 1,
                   "requantize: " + op_label(o) +
                       " passes values through with the input's "
                       "parameters, and output '" +
                       name(t) + "' was given others than input '" + name(d) + "'");
      set_rewire(o, true, k, raw);
    }
  }

  void run() {
    const auto& ops = model.subgraphs[s].operators;
    next_tensor = static_cast<int32_t>(current.subgraphs[s].tensors.size());
    for (const auto& t : current.subgraphs[s].tensors) names.insert(t.name);
    inputs.resize(ops.size());
    outputs.resize(ops.size());
    for (uint32_t o = 0; o < ops.size(); ++o) {
      inputs[o] = ops[o].inputs;
      outputs[o] = ops[o].outputs;
    }
    for (const auto& r : plan.structure.rewires)
      if (r.subgraph == s) (r.output ? outputs : inputs)[r.op][r.slot] = r.tensor;
    for (uint32_t o = 0; o < ops.size(); ++o) {
      const OpProperty* prop = op_property(ops[o].builtin_code);
      if (!prop) continue;
      if (prop->inputs_share_output) inputs_to_output(o, *prop);
      if (prop->value_preserving) output_to_input(o, *prop);
    }
  }
};

}  // namespace

size_t plan_requantize(const ModelInfo& model, EditPlan& plan, Target target) {
  const ModelInfo current = with_structure(model, plan);
  size_t added = 0;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    Requantizer r{model, current, plan, target, s, {}, 0, 0, {}, {}};
    r.run();
    added += r.added;
  }
  return added;
}

}  // namespace qimplant
