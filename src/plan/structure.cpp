#include "plan/structure.h"

namespace qimplant {

int32_t find_operator_code(const ModelInfo& model, int32_t code) {
  for (size_t i = 0; i < model.operator_codes.size(); ++i) {
    const auto& c = model.operator_codes[i];
    if (c.builtin_code == code && c.custom_code.empty()) return static_cast<int32_t>(i);
  }
  return -1;
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
  std::vector<std::vector<OperatorInfo>> front(out.subgraphs.size());
  for (const auto& o : st.operators) {
    int32_t code = find_operator_code(out, o.builtin_code);
    if (code < 0) {
      out.operator_codes.push_back({o.builtin_code, "", o.version});
      code = static_cast<int32_t>(out.operator_codes.size() - 1);
    }
    OperatorInfo op;
    op.opcode_index = static_cast<uint32_t>(code);
    op.builtin_code = o.builtin_code;
    op.inputs = o.inputs;
    op.outputs = o.outputs;
    if (o.prepend) {
      front[o.subgraph].push_back(std::move(op));
    } else {
      out.subgraphs[o.subgraph].operators.push_back(std::move(op));
    }
  }
  for (size_t s = 0; s < front.size(); ++s) {
    auto& ops = out.subgraphs[s].operators;
    ops.insert(ops.begin(), front[s].begin(), front[s].end());
  }
  return out;
}

}  // namespace qimplant
