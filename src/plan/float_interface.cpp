#include "plan/float_interface.h"

#include <algorithm>
#include <cctype>

#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = type_code(TensorType::Float32);

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
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

  // The type asked for: float32, the planned type (nothing to do), or the other 8-bit type
  // (int8 <-> uint8: the same real values with the zero point shifted by 128).
  auto interface_type = [&](const std::string& want, int8_t planned, const TensorState& st,
                            const std::string& name, const char* what) -> int8_t {
    if (want == "float32") return kFloat32;
    const std::string have = lower(tensor_type_name(model.format, planned));
    if (want == have) return planned;
    const std::string other = have == "int8" ? "uint8" : have == "uint8" ? "int8" : "";
    if (!other.empty() && want == other) {
      if (st.quant->scale.size() != 1) {
        throw Error("--" + std::string(what) + "-type " + want + ": " + what + " '" + name +
                    "' has " + std::to_string(st.quant->scale.size()) + " scales; an " + have +
                    " <-> " + want + " interface needs per-tensor parameters");
      }
      return type_code(other == "int8" ? TensorType::Int8 : TensorType::UInt8);
    }
    throw Error("--" + std::string(what) + "-type: " + what + " '" + name + "' is " + have +
                " in the quantized model; only float32 (to add a conversion), " + have +
                " (to keep it)" +
                (other.empty() ? std::string()
                               : " or " + other +
                                     " (a QUANTIZE requantizes it: same scale, "
                                     "zero point shifted by 128)") +
                " can be asked for, found '" + want + "'");
  };

  // An integer interface tensor: the planned scale, the zero point moved into `type`'s range.
  auto set_integer_interface = [&](int32_t t, int8_t type, const QuantParams& planned,
                                   const std::string& why) {
    TensorEdit e;
    e.type = type;
    e.quant = planned;
    const int64_t shift = type == TensorType::UInt8 ? 128 : -128;
    for (auto& z : e.quant.zero_point) z += shift;
    e.origin = EditOrigin::Inserted;
    e.source = why;
    plan.tensors[{s, uint32_t(t)}] = std::move(e);
  };

  for (size_t i = 0; i < sg.inputs.size(); ++i) {
    const int32_t t = sg.inputs[i];
    const std::string want = requested(types.inputs, i, sg.inputs.size(), "input");
    if (t < 0 || want.empty()) continue;
    // No operator computes a constant, so there is nothing to put a conversion on.
    if (model.is_constant(sg.tensors[t]) &&
        planned_state(model, plan, {s, uint32_t(t)}).type != sg.tensors[t].type)
      throw Error("--input-type " + want + ": input '" + sg.tensors[t].name +
                  "' is a constant (buffer " + std::to_string(sg.tensors[t].buffer) +
                  "), not computed by an operator, so no conversion can be added for it; leave "
                  "--input-type out or drop the constant from the graph's inputs");
    const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
    const bool kept = plan.keep_float.count({s, uint32_t(t)}) > 0;  // mixed precision's to handle
    const int8_t planned = kept ? kFloat32 : st.type;
    const int8_t type = interface_type(want, planned, st, sg.tensors[t].name, "input");
    if (type == planned) continue;
    const QuantParams quant = *st.quant;
    const int32_t q = add_quantized_twin(t, {st.type, &quant});
    if (type != kFloat32) set_integer_interface(t, type, quant, "--input-type " + want);
    for (uint32_t o = 0; o < sg.operators.size(); ++o) {
      const auto& ins = sg.operators[o].inputs;
      for (uint32_t k = 0; k < ins.size(); ++k)
        if (ins[k] == t) plan.structure.rewires.push_back({s, o, false, k, q});
    }
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code = circle::BuiltinOperator_QUANTIZE;
    op.inputs = {t};
    op.outputs = {q};
    op.prepend = true;
    op.reason = "--input-type " + want + ": input '" + sg.tensors[t].name + "' is " + want;
    plan.structure.operators.push_back(std::move(op));
    ++added;
  }
  for (size_t i = 0; i < sg.outputs.size(); ++i) {
    const int32_t t = sg.outputs[i];
    const std::string want = requested(types.outputs, i, sg.outputs.size(), "output");
    if (t < 0 || want.empty()) continue;
    // No operator computes a constant, so there is nothing to put a conversion on.
    if (model.is_constant(sg.tensors[t]) &&
        planned_state(model, plan, {s, uint32_t(t)}).type != sg.tensors[t].type)
      throw Error("--output-type " + want + ": output '" + sg.tensors[t].name +
                  "' is a constant (buffer " + std::to_string(sg.tensors[t].buffer) +
                  "), not computed by an operator, so no conversion can be added for it; leave "
                  "--output-type out or drop the constant from the graph's outputs");
    const TensorState st = planned_state(model, plan, {s, uint32_t(t)});
    const bool kept = plan.keep_float.count({s, uint32_t(t)}) > 0;
    const int8_t planned = kept ? kFloat32 : st.type;
    const int8_t type = interface_type(want, planned, st, sg.tensors[t].name, "output");
    if (type == planned) continue;
    const QuantParams quant = *st.quant;
    const int32_t q = add_quantized_twin(t, {st.type, &quant});
    if (type != kFloat32) set_integer_interface(t, type, quant, "--output-type " + want);
    for (uint32_t o = 0; o < sg.operators.size(); ++o) {
      const auto& op = sg.operators[o];
      for (uint32_t k = 0; k < op.outputs.size(); ++k)
        if (op.outputs[k] == t) plan.structure.rewires.push_back({s, o, true, k, q});
      for (uint32_t k = 0; k < op.inputs.size(); ++k)
        if (op.inputs[k] == t) plan.structure.rewires.push_back({s, o, false, k, q});
    }
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code =
        type == kFloat32 ? circle::BuiltinOperator_DEQUANTIZE : circle::BuiltinOperator_QUANTIZE;
    op.inputs = {q};
    op.outputs = {t};
    op.reason = "--output-type " + want + ": output '" + sg.tensors[t].name + "' is " + want;
    plan.structure.operators.push_back(std::move(op));
    ++added;
  }
  return added;
}

}  // namespace qimplant
