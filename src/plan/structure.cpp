#include "plan/structure.h"

#include <algorithm>

#include "model/op_version.h"
#include "schema/circle_generated.h"

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

std::vector<uint32_t> added_operator_codes(const ModelInfo& model, const StructureEdit& structure,
                                           std::vector<OperatorCodeInfo>& appended) {
  std::vector<uint32_t> codes;
  codes.reserve(structure.operators.size());
  for (const auto& o : structure.operators) {
    int32_t code = find_operator_code(model, o.builtin_code);
    if (code < 0) {
      auto it = std::find_if(appended.begin(), appended.end(), [&](const OperatorCodeInfo& c) {
        return c.builtin_code == o.builtin_code;
      });
      code = static_cast<int32_t>(model.operator_codes.size() + size_t(it - appended.begin()));
      if (it == appended.end())
        appended.push_back({o.builtin_code, "", 1});  // raised by operator_code_versions
    }
    codes.push_back(static_cast<uint32_t>(code));
  }
  return codes;
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
  std::vector<OperatorCodeInfo> appended;
  const std::vector<uint32_t> codes = added_operator_codes(model, st, appended);
  out.operator_codes.insert(out.operator_codes.end(), appended.begin(), appended.end());
  std::vector<OperatorInfo> added(st.operators.size());
  for (size_t k = 0; k < st.operators.size(); ++k) {
    const auto& o = st.operators[k];
    added[k].opcode_index = codes[k];
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

std::vector<int32_t> operator_code_versions(const ModelInfo& planned, const EditPlan& plan) {
  std::vector<int32_t> versions;
  versions.reserve(planned.operator_codes.size());
  for (const auto& c : planned.operator_codes) versions.push_back(c.version);
  auto operands = [&](uint32_t s, const std::vector<int32_t>& list) {
    std::vector<OperandSig> out;
    out.reserve(list.size());
    for (int32_t t : list) {
      OperandSig o;
      if (t >= 0 && size_t(t) < planned.subgraphs[s].tensors.size()) {
        const TensorState state = planned_state(planned, plan, {s, uint32_t(t)});
        o.present = true;
        o.type = state.type;
        o.shape = &planned.tensor(s, uint32_t(t)).shape;
        o.quant = state.quant;
      }
      out.push_back(o);
    }
    return out;
  };
  for (uint32_t s = 0; s < planned.subgraphs.size(); ++s) {
    for (const OperatorInfo& op : planned.subgraphs[s].operators) {
      if (op.opcode_index >= versions.size()) continue;
      const OperatorCodeInfo& code = planned.operator_codes[op.opcode_index];
      if (code.builtin_code == circle::BuiltinOperator_CUSTOM || !code.custom_code.empty())
        continue;
      OpSignature sig;
      sig.code = op.builtin_code;
      sig.inputs = operands(s, op.inputs);
      sig.outputs = operands(s, op.outputs);
      int32_t& v = versions[op.opcode_index];
      v = std::max(v, operand_version(sig));
    }
  }
  return versions;
}

}  // namespace qimplant
