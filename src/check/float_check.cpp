#include "check/float_check.h"

#include <algorithm>

#include "model/op_properties.h"

namespace qimplant {

std::vector<FloatFinding> find_float_tensors(const ModelInfo& model, const EditPlan& plan,
                                             bool float_operators_ok) {
  const int8_t kFloat32 = type_code(TensorType::Float32);
  std::vector<FloatFinding> findings;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const SubgraphInfo& sg = model.subgraphs[s];
    const size_t n = sg.tensors.size();
    std::vector<std::string> producer(n);
    std::vector<std::vector<std::string>> users(n);
    std::vector<bool> bad(n, false);
    auto label = [&](size_t o) {
      std::string l = operator_name(model, sg.operators[o]) + " (operator " + std::to_string(o);
      if (model.subgraphs.size() > 1) l += " of subgraph " + std::to_string(s);
      return l + ")";
    };
    // An operator runs quantized when one of its run-time operands is quantized.
    auto runs_quantized = [&](const OperatorInfo& op) {
      auto q = [&](int32_t t) {
        if (t < 0 || model.is_constant(sg.tensors[t])) return false;
        const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
        return st.type != kFloat32 && !st.quant->empty();
      };
      return std::any_of(op.inputs.begin(), op.inputs.end(), q) ||
             std::any_of(op.outputs.begin(), op.outputs.end(), q);
    };
    for (size_t o = 0; o < sg.operators.size(); ++o) {
      const OperatorInfo& op = sg.operators[o];
      const OpProperty* prop = op_property(op.builtin_code);
      const bool float_op = float_operators_ok && !runs_quantized(op);
      for (int32_t t : op.inputs) {
        if (t < 0) continue;
        users[t].push_back(label(o));
        if (!(prop && prop->float_input_ok) && !float_op) bad[t] = true;
      }
      for (int32_t t : op.outputs) {
        if (t < 0) continue;
        producer[t] = label(o);
        if (!(prop && prop->float_output_ok) && !float_op) bad[t] = true;
      }
    }
    for (int32_t t : sg.inputs)
      if (t >= 0 && producer[t].empty()) producer[t] = "graph input";
    for (uint32_t t = 0; t < n; ++t) {
      if (!bad[t]) continue;
      if (planned_state(model, plan, {s, t}).type != kFloat32) continue;
      findings.push_back({{s, t}, sg.tensors[t].name, producer[t], users[t], ""});
    }
  }
  return findings;
}

std::string describe_float_findings(const ModelInfo& model,
                                    const std::vector<FloatFinding>& findings) {
  if (findings.empty()) return "";
  std::string msg =
      std::to_string(findings.size()) +
      " tensor(s) on the compute path would stay FLOAT32; give them parameters in "
      "qparam.json (or keep them float: name them in --keep-float, or pass --allow-float for "
      "every tensor without parameters):";
  const size_t shown = std::min<size_t>(findings.size(), 50);
  for (size_t i = 0; i < shown; ++i) {
    const auto& f = findings[i];
    msg += "\n  '" + f.tensor + "'";
    if (model.subgraphs.size() > 1) msg += " (subgraph " + std::to_string(f.ref.subgraph) + ")";
    if (!f.producer.empty()) msg += ": from " + f.producer;
    if (!f.users.empty()) {
      msg += f.producer.empty() ? ": used by " : ", used by ";
      for (size_t u = 0; u < f.users.size() && u < 4; ++u) msg += (u ? ", " : "") + f.users[u];
      if (f.users.size() > 4) msg += ", ...";
    }
  }
  if (findings.size() > shown)
    msg += "\n  ... and " + std::to_string(findings.size() - shown) + " more";
  return msg;
}

}  // namespace qimplant
