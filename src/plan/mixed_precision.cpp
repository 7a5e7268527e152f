#include "plan/mixed_precision.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "model/op_properties.h"
#include "plan/structure.h"
#include "resolve/resolve.h"
#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr int8_t kFloat32 = type_code(TensorType::Float32);

// "CONV_2D", "Conv2D" and "conv2d" name one type.
std::string fold_type(const std::string& s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void keep_by_type(const ModelInfo& model, EditPlan& plan, const std::string& item,
                  const MixedPrecisionOptions& options) {
  const std::string want = fold_type(item.substr(3));
  std::set<std::string> types;
  bool found = false;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    for (const OperatorInfo& op : model.subgraphs[s].operators) {
      const std::string name = operator_name(model, op);
      types.insert(name);
      if (fold_type(name) != want) continue;
      found = true;
      for (int32_t t : op.outputs)
        if (t >= 0 && model.tensor(s, t).type == kFloat32)
          plan.keep_float.emplace(TensorRef{s, uint32_t(t)}, "--keep-float '" + item + "'");
    }
  }
  if (!found) {
    std::string list;
    for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
    throw Error("--keep-float '" + item + "': the model '" + options.model_path + "' has no " +
                item.substr(3) +
                " operator (its operator types: " + (list.empty() ? "none" : list) + ")");
  }
}

void keep_by_name(const ModelInfo& model, EditPlan& plan, const TensorResolver& resolver,
                  const std::string& item, const MixedPrecisionOptions& options) {
  std::string lookup = item;
  std::string context = "--keep-float '" + item + "'";
  if (options.name_map) {
    if (const std::string* v = options.name_map->find(item)) {
      lookup = *v;
      context += " (mapped by name map '" + options.name_map->path + "' to '" + lookup + "')";
    }
  }
  std::vector<TensorRef> refs;
  const bool pattern = resolver.find(lookup).empty() && NamePattern::is_pattern(lookup);
  if (!pattern) {
    refs.push_back(resolver.resolve(lookup, context, options.model_path));
  } else {
    const NamePattern p = NamePattern::parse(lookup, NamePattern::Kind::Exact, context);
    for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
      const auto& tensors = model.subgraphs[s].tensors;
      for (uint32_t t = 0; t < tensors.size(); ++t)
        if (p.matches(tensors[t].name)) refs.push_back({s, t});
    }
  }
  size_t kept = 0;
  for (const TensorRef& ref : refs) {
    const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
    const bool is_float = t.type == kFloat32;
    if (pattern && (!is_float || model.is_constant(t))) continue;  // patterns skip those
    if (!is_float) {
      throw Error(context + ": tensor " + resolver.describe(ref) + " is " +
                  tensor_type_name(model.format, t.type) + " in the model '" + options.model_path +
                  "', expected a FLOAT32 tensor to keep float");
    }
    if (model.is_constant(t)) {
      throw Error(context + ": tensor " + resolver.describe(ref) + " is a constant in the model '" +
                  options.model_path +
                  "'; --keep-float names tensors computed at run time (a constant that only "
                  "float operators read stays float by itself): name its operator's output");
    }
    plan.keep_float.emplace(ref, "--keep-float '" + item + "'");
    ++kept;
  }
  if (kept == 0) {
    throw Error(context +
                ": the pattern matches no float32 tensor computed at run time in the "
                "model '" +
                options.model_path + "' (constants and integer tensors are not kept float)" +
                (refs.empty() ? "; it matches no tensor at all" : ""));
  }
}

enum class Mode { Neutral, Float, Quantized, Conversion };

struct Slot {
  uint32_t op;
  uint32_t input;
};

struct SubgraphPlanner {
  SubgraphPlanner(const ModelInfo& m, const ModelInfo& c, EditPlan& p,
                  const MixedPrecisionOptions& o, MixedPrecisionResult& r, uint32_t subgraph)
      : model(m), current(c), plan(p), options(o), result(r), s(subgraph) {}

  const ModelInfo& model;    // the input model
  const ModelInfo& current;  // with the float interface's edits (tensors, rewires) applied
  EditPlan& plan;
  const MixedPrecisionOptions& options;
  MixedPrecisionResult& result;
  uint32_t s = 0;

  const SubgraphInfo& sg() const { return model.subgraphs[s]; }
  const SubgraphInfo& cur() const { return current.subgraphs[s]; }
  size_t model_tensors() const { return sg().tensors.size(); }
  std::set<std::string> names;  // every tensor name of the subgraph, for unique new names
  int32_t next_tensor = 0;

  bool kept(int32_t t) const { return plan.keep_float.count({s, uint32_t(t)}) > 0; }
  bool constant(int32_t t) const {
    return size_t(t) < model_tensors() && model.is_constant(sg().tensors[t]);
  }
  // Tensors quantization is about: float32 in the model, or a tensor the plan added.
  bool compute(int32_t t) const {
    return t >= 0 && (size_t(t) >= model_tensors() || sg().tensors[t].type == kFloat32);
  }
  bool quantized(int32_t t) const {
    if (!compute(t) || kept(t)) return false;
    const TensorState st = planned_state(current, plan, {s, uint32_t(t)});
    return st.type != kFloat32 && !st.quant->empty();
  }
  bool stays_float(int32_t t) const { return compute(t) && !quantized(t); }
  const std::string& name(int32_t t) const { return cur().tensors[t].name; }
  // The qparam.json key of a tensor: its name, qualified when other subgraphs have it too.
  std::string key(int32_t t) const {
    size_t holders = 0;
    for (const auto& g : model.subgraphs)
      holders += std::any_of(g.tensors.begin(), g.tensors.end(),
                             [&](const TensorInfo& x) { return x.name == name(t); });
    return holders > 1 ? "#" + std::to_string(s) + ":" + name(t) : name(t);
  }
  std::string type_name(int32_t t) const {
    return tensor_type_name(model.format, planned_state(current, plan, {s, uint32_t(t)}).type);
  }
  // `in_input`: say that the index is the input model's (reasons are read next to the
  // output's indices, which inserted operators shift).
  std::string op_label(uint32_t o, bool in_input = false) const {
    std::string l = operator_name(model, sg().operators[o]) + " (operator " + std::to_string(o);
    if (model.subgraphs.size() > 1) l += " of subgraph " + std::to_string(s);
    return l + (in_input ? " of the input model)" : ")");
  }
  std::string where() const { return "model file '" + options.model_path + "': mixed precision: "; }
  std::string why_float(int32_t t) const {
    auto it = plan.keep_float.find({s, uint32_t(t)});
    if (it != plan.keep_float.end()) return "kept float by " + it->second;
    return "left without parameters (--allow-float)";
  }

  std::vector<std::vector<int32_t>> inputs, outputs;  // operands after the interface's rewires
  std::vector<Mode> modes;
  std::vector<int32_t> reason_tensor;  // per operator: a tensor that decided its mode

  std::string unique_name(const std::string& base) {
    std::string n = base;
    for (int k = 1; names.count(n); ++k) n = base + "_" + std::to_string(k);
    names.insert(n);
    return n;
  }

  void rewire(uint32_t o, uint32_t slot, int32_t tensor) {
    for (auto& r : plan.structure.rewires) {
      if (r.subgraph == s && r.op == o && !r.output && r.slot == slot) {
        r.tensor = tensor;
        return;
      }
    }
    plan.structure.rewires.push_back({s, o, false, slot, tensor});
  }

  int32_t add_tensor(int32_t like, const std::string& new_name, int8_t type,
                     const QuantParams& quant) {
    StructureEdit::Tensor nt;
    nt.subgraph = s;
    nt.info = cur().tensors[like];
    nt.info.name = unique_name(new_name);
    nt.info.type = type;
    nt.info.quant = quant;
    nt.info.buffer = 0;
    plan.structure.tensors.push_back(nt);
    return next_tensor++;
  }

  void add_operator(int32_t code, int32_t in, int32_t out, uint32_t before, std::string reason) {
    StructureEdit::Operator op;
    op.subgraph = s;
    op.builtin_code = code;
    op.inputs = {in};
    op.outputs = {out};
    op.before = static_cast<int32_t>(before);
    op.reason = std::move(reason);
    plan.structure.operators.push_back(std::move(op));
    ++result.inserted_operators;
  }

  void decide_modes() {
    const auto& ops = sg().operators;
    modes.assign(ops.size(), Mode::Neutral);
    reason_tensor.assign(ops.size(), -1);
    for (uint32_t o = 0; o < ops.size(); ++o) {
      const OpProperty* prop = op_property(ops[o].builtin_code);
      if (prop && (prop->float_input_ok || prop->float_output_ok)) {
        modes[o] = Mode::Conversion;
        continue;
      }
      int32_t float_out = -1, quant_out = -1;
      for (int32_t t : outputs[o]) {
        if (!compute(t)) continue;
        if (quantized(t)) {
          if (quant_out < 0) quant_out = t;
        } else if (float_out < 0) {
          float_out = t;
        }
      }
      if (float_out >= 0 && quant_out >= 0) {
        throw Error(where() + op_label(o) + " would run in float because its output '" +
                    name(float_out) + "' stays float32 (" + why_float(float_out) +
                    "), but its output '" + name(quant_out) + "' is " + type_name(quant_out) +
                    "; an operator runs either in float or quantized: keep all of its outputs "
                    "float (--keep-float) or give all of them parameters");
      }
      if (float_out >= 0 || quant_out >= 0) {
        modes[o] = float_out >= 0 ? Mode::Float : Mode::Quantized;
        reason_tensor[o] = float_out >= 0 ? float_out : quant_out;
        continue;
      }
      // No float32 outputs (ARG_MAX, SHAPE, comparisons): its run-time inputs decide.
      for (size_t i = 0; i < inputs[o].size(); ++i) {
        const int32_t t = inputs[o][i];
        if (!compute(t) || constant(t) || (prop && prop->is_index_input(i))) continue;
        if (stays_float(t)) {
          modes[o] = Mode::Float;
          reason_tensor[o] = t;
          break;
        }
        if (modes[o] == Mode::Neutral) {
          modes[o] = Mode::Quantized;
          reason_tensor[o] = t;
        }
      }
    }
  }

  // Without --allow-float only the tensors asked for may stay float.
  void require_asked_for() {
    if (options.allow_float) return;
    std::vector<std::string> unasked;
    std::set<int32_t> seen;
    const auto& ops = sg().operators;
    for (uint32_t o = 0; o < ops.size(); ++o) {
      if (modes[o] != Mode::Float && modes[o] != Mode::Quantized) continue;
      auto consider = [&](int32_t t) {
        if (t < 0 || size_t(t) >= model_tensors() || !stays_float(t) || kept(t) || constant(t))
          return;
        if (seen.insert(t).second) unasked.push_back("'" + name(t) + "' (" + op_label(o) + ")");
      };
      for (int32_t t : inputs[o]) consider(t);
      for (int32_t t : outputs[o]) consider(t);
    }
    if (unasked.empty()) return;
    std::string list;
    for (size_t i = 0; i < unasked.size() && i < 10; ++i) list += (i ? ", " : "") + unasked[i];
    if (unasked.size() > 10) list += ", ...";
    throw Error(
        where() + std::to_string(unasked.size()) +
        " tensor(s) on the compute path would stay FLOAT32 but are not kept float: " + list +
        "; give them parameters in qparam.json, keep them float with --keep-float (or a "
        "{\"dtype\": \"float32\"} entry), or pass --allow-float to keep every tensor "
        "without parameters float");
  }

  [[noreturn]] void missing_parameters(int32_t t, uint32_t reader) const {
    const int32_t q = reason_tensor[reader];
    const std::string because =
        q >= 0 ? " (its tensor '" + name(q) + "' is " + type_name(q) + ")" : std::string();
    std::string msg = where() + (constant(t) ? "constant '" : "tensor '") + name(t) + "'";
    if (model.subgraphs.size() > 1) msg += " (subgraph " + std::to_string(s) + ")";
    if (constant(t)) {
      throw Error(msg + " is FLOAT32 and is read by " + op_label(reader) +
                  ", which runs quantized" + because + ": add an entry for '" + key(t) +
                  "' to qparam.json (dtype, scale, zerop; its data is quantized from float unless "
                  "\"value\" is given), or let q-implant derive it (without --no-derive "
                  "constants)");
    }
    const auto kept_it = plan.keep_float.find({s, uint32_t(t)});
    msg += " stays FLOAT32 (" + why_float(t) + ") and is read by " + op_label(reader) +
           ", which runs quantized" + because +
           ": the QUANTIZE q-implant inserts there needs parameters; add an entry for '" + key(t) +
           "' to qparam.json with its dtype, scale and zerop";
    if (kept_it != plan.keep_float.end() && kept_it->second.rfind("qparam.json", 0) == 0) {
      msg += " in place of its float32 entry, and keep it float with --keep-float '" + key(t) +
             "' (the entry then gives the parameters of its quantized copy)";
    } else if (kept_it != plan.keep_float.end()) {
      msg +=
          " (it stays float32 for its float producer; the entry gives the parameters of its "
          "quantized copy)";
    }
    throw Error(msg);
  }

  // A float graph input the float interface quantizes first: its float readers read it.
  int32_t float_source_of(int32_t t) const {
    for (const auto& o : plan.structure.operators)
      if (o.subgraph == s && o.prepend && o.builtin_code == circle::BuiltinOperator_QUANTIZE &&
          o.outputs.size() == 1 && o.outputs[0] == t && !o.inputs.empty() &&
          stays_float(o.inputs[0]))
        return o.inputs[0];
    return -1;
  }

  void drop_edit(int32_t t) {
    const TensorRef ref{s, uint32_t(t)};
    plan.tensors.erase(ref);
    auto& data = plan.new_data;
    data.erase(std::remove_if(data.begin(), data.end(),
                              [&](const auto& entry) { return entry.first == ref; }),
               data.end());
  }

  void run() {
    const auto& ops = sg().operators;
    const size_t n = cur().tensors.size();
    next_tensor = static_cast<int32_t>(n);
    for (const auto& t : cur().tensors) names.insert(t.name);
    inputs.resize(ops.size());
    outputs.resize(ops.size());
    for (uint32_t o = 0; o < ops.size(); ++o) {
      inputs[o] = ops[o].inputs;
      outputs[o] = ops[o].outputs;
    }
    for (const auto& r : plan.structure.rewires)
      if (r.subgraph == s) (r.output ? outputs : inputs)[r.op][r.slot] = r.tensor;

    decide_modes();
    require_asked_for();

    std::vector<std::vector<Slot>> float_readers(n), quant_readers(n);
    for (uint32_t o = 0; o < ops.size(); ++o) {
      if (modes[o] != Mode::Float && modes[o] != Mode::Quantized) continue;
      result.float_operators += modes[o] == Mode::Float;
      const OpProperty* prop = op_property(ops[o].builtin_code);
      for (uint32_t i = 0; i < inputs[o].size(); ++i) {
        const int32_t t = inputs[o][i];
        if (!compute(t) || (prop && prop->is_index_input(i))) continue;
        (modes[o] == Mode::Float ? float_readers : quant_readers)[t].push_back({o, i});
      }
    }

    std::vector<bool> touched(n, false);
    for (uint32_t o = 0; o < ops.size(); ++o) {
      if (modes[o] != Mode::Float && modes[o] != Mode::Quantized) continue;
      for (int32_t t : inputs[o])
        if (t >= 0) touched[t] = true;
      for (int32_t t : outputs[o])
        if (t >= 0) touched[t] = true;
    }

    for (int32_t t = 0; t < int32_t(n); ++t) {
      if (!compute(t)) continue;
      const TensorRef ref{s, uint32_t(t)};
      if (quantized(t) && !float_readers[t].empty()) {
        const TensorEdit* edit = plan.find(ref);
        if (constant(t) && edit && edit->origin == EditOrigin::Implanted) continue;  // weights
        if (constant(t) && quant_readers[t].empty()) {
          drop_edit(t);
          result.kept.push_back({ref,
                                 "a constant only float operators read: its derived "
                                 "parameters are not used"});
          continue;
        }
        const uint32_t first = float_readers[t].front().op;
        int32_t f = float_source_of(t);
        if (f < 0) {
          f = add_tensor(t, name(t) + "_dequantized", kFloat32, QuantParams());
          add_operator(circle::BuiltinOperator_DEQUANTIZE, t, f, first,
                       "mixed precision: '" + name(t) + "' (" + type_name(t) +
                           ") is read by float " + op_label(first, true));
        }
        for (const Slot& r : float_readers[t]) rewire(r.op, r.input, f);
        continue;
      }
      if (stays_float(t) && !quant_readers[t].empty()) {
        const uint32_t first = quant_readers[t].front().op;
        const TensorEdit* edit = plan.find(ref);
        if (!kept(t) || !edit || constant(t)) missing_parameters(t, first);
        const TensorEdit moved = *edit;
        const int32_t q = add_tensor(t, name(t) + "_quantized", moved.type, moved.quant);
        TensorEdit e;
        e.type = moved.type;
        e.quant = moved.quant;
        e.origin = EditOrigin::Inserted;
        e.source = name(t);
        plan.tensors.erase(ref);
        plan.tensors.emplace(TensorRef{s, uint32_t(q)}, std::move(e));
        add_operator(circle::BuiltinOperator_QUANTIZE, t, q, first,
                     "mixed precision: '" + name(t) + "' stays float32 (" + why_float(t) +
                         ") and is read by quantized " + op_label(first, true));
        for (const Slot& r : quant_readers[t]) rewire(r.op, r.input, q);
      }
      // A kept tensor's parameters serve only its quantized copy.
      if (kept(t) && plan.find(ref)) plan.tensors.erase(ref);
      if (size_t(t) < model_tensors() && touched[t] && stays_float(t) && !constant(t))
        result.kept.push_back({ref, kept(t) ? plan.keep_float.at(ref)
                                            : std::string("no parameters (--allow-float)")});
    }
  }
};

}  // namespace

void resolve_keep_float(const ModelInfo& model, EditPlan& plan,
                        const MixedPrecisionOptions& options) {
  if (options.keep_float.empty()) return;
  const TensorResolver resolver(model);
  for (const std::string& item : options.keep_float) {
    if (item.empty()) throw Error("--keep-float: an empty name; give tensor names or patterns");
    if (item.rfind("op:", 0) == 0 && resolver.find(item).empty()) {
      keep_by_type(model, plan, item, options);
    } else {
      keep_by_name(model, plan, resolver, item, options);
    }
  }
}

bool mixed_precision_requested(const EditPlan& plan, const MixedPrecisionOptions& options) {
  return options.allow_float || !plan.keep_float.empty();
}

MixedPrecisionResult plan_mixed_precision(const ModelInfo& model, EditPlan& plan,
                                          const MixedPrecisionOptions& options) {
  MixedPrecisionResult result;
  if (!mixed_precision_requested(plan, options)) return result;
  const ModelInfo current = with_structure(model, plan);
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    SubgraphPlanner(model, current, plan, options, result, s).run();
  }
  std::sort(result.kept.begin(), result.kept.end(),
            [](const KeptFloat& a, const KeptFloat& b) { return a.ref < b.ref; });
  return result;
}

}  // namespace qimplant
