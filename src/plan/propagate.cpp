#include "plan/propagate.h"

#include "model/op_properties.h"

namespace qimplant {

size_t propagate_through_value_ops(const ModelInfo& model, EditPlan& plan) {
  const int8_t kFloat32 = type_code(TensorType::Float32);
  size_t added = 0;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const SubgraphInfo& sg = model.subgraphs[s];
    for (const OperatorInfo& op : sg.operators) {
      const OpProperty* prop = op_property(op.builtin_code);
      if (!prop || !prop->value_preserving) continue;
      if (prop->data_input >= static_cast<int>(op.inputs.size())) continue;
      const int32_t in = op.inputs[prop->data_input];
      if (in < 0) continue;
      const TensorRef in_ref{s, static_cast<uint32_t>(in)};
      const TensorState in_state = planned_state(model, plan, in_ref);
      if (in_state.type == kFloat32 || in_state.quant->empty() || in_state.quant->scale.size() != 1)
        continue;
      // 4-bit types are for constant weights only; an operator's output never takes one.
      if (in_state.type == TensorType::Int4 || in_state.type == TensorType::UInt4) continue;
      const QuantParams source_quant = *in_state.quant;  // copy: the map may grow below
      for (int32_t out : op.outputs) {
        if (out < 0) continue;
        const TensorRef out_ref{s, static_cast<uint32_t>(out)};
        if (plan.find(out_ref) || sg.tensors[out].type != kFloat32) continue;
        TensorEdit edit;
        edit.type = in_state.type;
        edit.quant = source_quant;
        edit.quant.quantized_dimension = 0;
        edit.origin = EditOrigin::Propagated;
        edit.source = sg.tensors[in].name;
        plan.tensors.emplace(out_ref, std::move(edit));
        ++added;
      }
    }
  }
  return added;
}

}  // namespace qimplant
