#include "plan/structure.h"

namespace qimplant {

int32_t find_operator_code(const ModelInfo& model, int32_t code) {
  for (size_t i = 0; i < model.operator_codes.size(); ++i) {
    const auto& c = model.operator_codes[i];
    if (c.builtin_code == code && c.custom_code.empty()) return static_cast<int32_t>(i);
  }
  return -1;
}

std::vector<OperatorSlot> operator_order(size_t existing_count, const StructureEdit& structure,
                                         uint32_t s) {
  std::vector<OperatorSlot> front, back;
  std::vector<std::vector<OperatorSlot>> before(existing_count);
  for (uint32_t k = 0; k < structure.operators.size(); ++k) {
    const auto& o = structure.operators[k];
    if (o.subgraph != s) continue;
    if (o.before >= 0 && size_t(o.before) < existing_count) {
      before[size_t(o.before)].push_back({true, k});
    } else {
      (o.prepend ? front : back).push_back({true, k});
    }
  }
  std::vector<OperatorSlot> order = std::move(front);
  for (uint32_t i = 0; i < existing_count; ++i) {
    order.insert(order.end(), before[i].begin(), before[i].end());
    order.push_back({false, i});
  }
  order.insert(order.end(), back.begin(), back.end());
  return order;
}

ModelInfo with_structure(const ModelInfo& model, const EditPlan& plan) {
  ModelInfo out = model;
  const StructureEdit& st = plan.structure;
  if (st.empty()) return out;
  for (const auto& t : st.tensors) out.subgraphs[t.subgraph].tensors.push_back(t.info);
  for (const auto& r : st.rewires) {
    auto& op = out.subgraphs[r.subgraph].operators[r.op];
    (r.output ? op.outputs : op.inputs)[r.slot] = r.tensor;
  }
  std::vector<OperatorInfo> added(st.operators.size());
  for (size_t k = 0; k < st.operators.size(); ++k) {
    const auto& o = st.operators[k];
    int32_t code = find_operator_code(out, o.builtin_code);
    if (code < 0) {
      out.operator_codes.push_back({o.builtin_code, "", o.version});
      code = static_cast<int32_t>(out.operator_codes.size() - 1);
    }
    added[k].opcode_index = static_cast<uint32_t>(code);
    added[k].builtin_code = o.builtin_code;
    added[k].inputs = o.inputs;
    added[k].outputs = o.outputs;
  }
  for (uint32_t s = 0; s < out.subgraphs.size(); ++s) {
    auto& ops = out.subgraphs[s].operators;
    std::vector<OperatorInfo> ordered;
    for (const OperatorSlot& slot : operator_order(ops.size(), st, s))
      ordered.push_back(slot.added ? added[slot.index] : std::move(ops[slot.index]));
    ops = std::move(ordered);
  }
  return out;
}

}  // namespace qimplant
