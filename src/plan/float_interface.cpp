#include "plan/float_interface.h"

#include <algorithm>
#include <cctype>

#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = static_cast<int8_t>(TensorType::Float32);

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// TFLite's op versions for the integer types (1 covers uint8).
int32_t op_version(int8_t type) {
  return type == static_cast<int8_t>(TensorType::UInt8) ? 1 : 2;
}

}  // namespace

size_t plan_float_interface(const ModelInfo& model, EditPlan& plan, const InterfaceTypes& types) {
  if (model.subgraphs.empty() || (types.inputs.empty() && types.outputs.empty())) return 0;
  const uint32_t s = 0;  // the main subgraph carries the model's interface
  const SubgraphInfo& sg = model.subgraphs[s];
  size_t added = 0;
  int32_t next_tensor = static_cast<int32_t>(sg.tensors.size());
  for (const auto& t : plan.structure.tensors)
    if (t.subgraph == s) ++next_tensor;

  auto requested = [&](const std::vector<std::string>& list, size_t i, size_t count,
                       const char* what) -> std::string {
    if (list.empty()) return "";
    if (list.size() != 1 && list.size() != count) {
      throw Error("--" + std::string(what) + "-type: " + std::to_string(list.size()) +
                  " types given, expected 1 or one per " + what + " (the model has " +
                  std::to_string(count) + ")");
    }
    return lower(list.size() == 1 ? list[0] : list[i]);
  };

  auto add_quantized_twin = [&](int32_t t, const TensorState& st) {
    const int32_t q = next_tensor++;
    StructureEdit::Tensor nt;
    nt.subgraph = s;
    nt.info = sg.tensors[t];
    nt.info.name = sg.tensors[t].name + "_quantized";
    nt.info.type = st.type;
    nt.info.quant = *st.quant;
    nt.info.buffer = 0;
    TensorEdit e;
    e.type = st.type;
    e.quant = *st.quant;
    e.origin = EditOrigin::Inserted;
    e.source = sg.tensors[t].name;
    plan.structure.tensors.push_back(nt);
    plan.tensors.erase({s, uint32_t(t)});  // the interface tensor stays as the model has it
    plan.tensors.emplace(TensorRef{s, uint32_t(q)}, std::move(e));
    return q;
  };

  auto check_type = [&](const std::string& want, int8_t planned, const std::string& name,
                        const char* what) {
    if (want.empty() || want == "float32") return;
    const std::string have = lower(tensor_type_name(model.format, planned));
    if (want != have) {
      throw Error("--" + std::string(what) + "-type: " + what + " '" + name + "' is " + have +
                  " in the quantized model; only float32 (to add a conversion) or " + have +
                  " (to keep it) can be asked for, found '" + want + "'");
    }
  };

  for (size_t i = 0; i < sg.inputs.size(); ++i) {
    const int32_t t = sg.inputs[i];
    const std::string want = requested(types.inputs, i, sg.inputs.size(), "input");
    if (t < 0 || want.empty()) continue;
    const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
    const bool kept = plan.keep_float.count({s, uint32_t(t)}) > 0;  // mixed precision's to handle
    check_type(want, kept ? kFloat32 : st.type, sg.tensors[t].name, "input");
    if (want != "float32" || st.type == kFloat32 || kept) continue;
    const TensorState copy{st.type, nullptr};
    const QuantParams quant = *st.quant;
    const int32_t q = add_quantized_twin(t, {copy.type, &quant});
    for (uint32_t o = 0; o < sg.operators.size(); ++o) {
      const auto& ins = sg.operators[o].inputs;
      for (uint32_t k = 0; k < ins.size(); ++k)
        if (ins[k] == t) plan.structure.rewires.push_back({s, o, false, k, q});
    }
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code = circle::BuiltinOperator_QUANTIZE;
    op.version = op_version(st.type);
    op.inputs = {t};
    op.outputs = {q};
    op.prepend = true;
    op.reason = "--input-type float32: input '" + sg.tensors[t].name + "' stays float32";
    plan.structure.operators.push_back(std::move(op));
    ++added;
  }
  for (size_t i = 0; i < sg.outputs.size(); ++i) {
    const int32_t t = sg.outputs[i];
    const std::string want = requested(types.outputs, i, sg.outputs.size(), "output");
    if (t < 0 || want.empty()) continue;
    const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
    const bool kept = plan.keep_float.count({s, uint32_t(t)}) > 0;
    check_type(want, kept ? kFloat32 : st.type, sg.tensors[t].name, "output");
    if (want != "float32" || st.type == kFloat32 || kept) continue;
    const QuantParams quant = *st.quant;
    const int8_t type = st.type;
    const int32_t q = add_quantized_twin(t, {type, &quant});
    for (uint32_t o = 0; o < sg.operators.size(); ++o) {
      const auto& op = sg.operators[o];
      for (uint32_t k = 0; k < op.outputs.size(); ++k)
        if (op.outputs[k] == t) plan.structure.rewires.push_back({s, o, true, k, q});
      for (uint32_t k = 0; k < op.inputs.size(); ++k)
        if (op.inputs[k] == t) plan.structure.rewires.push_back({s, o, false, k, q});
    }
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code = circle::BuiltinOperator_DEQUANTIZE;
    op.version = op_version(type);
    op.inputs = {q};
    op.outputs = {t};
    op.reason = "--output-type float32: output '" + sg.tensors[t].name + "' stays float32";
    plan.structure.operators.push_back(std::move(op));
    ++added;
  }
  return added;
}

}  // namespace qimplant
