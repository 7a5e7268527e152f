#include "plan/planner.h"

#include <sstream>

#include "model/shape.h"
#include "qparam/min_max.h"
#include "qparam/value_layout.h"
#include "resolve/key_match.h"
#include "util/error.h"

namespace qimplant {

namespace {

// What a quantized_dimension must be for a tensor of this rank, for messages.
std::string expected_dimension(int32_t rank) {
  if (rank == 0) return "expected 0: the tensor is a scalar, it has no dimensions";
  return "expected 0.." + std::to_string(rank - 1);
}

struct Planner {
  Planner(const ModelInfo& m, const std::string& path, const QParamFile& q, const PlanOptions& o)
      : model(m), model_path(path), qparams(q), options(o) {}

  const ModelInfo& model;
  const std::string& model_path;
  const QParamFile& qparams;
  const PlanOptions& options;
  TensorResolver resolver{model};
  EditPlan plan;
  // How messages name the tensor being planned: its name, and the key when that differs (a
  // pattern or name-map key applies one entry to a tensor of another name).
  std::string label;

  std::string where(const QParamEntry&) const {
    return "qparam file '" + qparams.path + "': tensor " + label;
  }
  [[noreturn]] void fail(const QParamEntry& e, const std::string& field,
                         const std::string& what) const {
    throw Error(where(e) + (field.empty() ? "" : ": \"" + field + "\"") + ": " + what);
  }

  // A {"dtype": "float32"} entry: its tensors stay float32 (plan/mixed_precision.h does the
  // rest). Constants are not kept by name: one that only float operators read stays float.
  void plan_keep_float(const QParamEntry& e, const KeyMatch& match) {
    const bool pattern = match.form == KeyForm::Regex || match.form == KeyForm::Glob;
    size_t kept = 0;
    for (const TensorRef& ref : match.tensors) {
      const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
      label = "'" + e.key + "'";
      if (t.type != TensorType::Float32) {
        fail(e, "dtype",
             "float32 keeps a float tensor float, but the tensor is " +
                 tensor_type_name(model.format, t.type) + " in the model '" + model_path + "'");
      }
      if (model.is_constant(t)) {
        if (pattern) continue;
        fail(e, "dtype",
             "float32 keeps tensors computed at run time float, but '" + t.name +
                 "' is a constant in the model '" + model_path +
                 "'; a constant that only float operators read stays float by itself: keep "
                 "the output of its operator float instead");
      }
      plan.keep_float.emplace(ref, "qparam.json entry '" + e.key + "' (dtype float32)");
      ++kept;
    }
    if (kept == 0) {
      label = "'" + e.key + "'";
      fail(e, "dtype",
           "float32: the pattern matches only constants in the model '" + model_path +
               "'; it keeps nothing float (name tensors computed at run time)");
    }
  }

  // `ref` is one of the tensors the entry's key claims (see resolve/key_match.h).
  void plan_entry(const QParamEntry& given, const TensorRef& ref) {
    const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
    // "min" / "max": the scale and zero point depend on whether this tensor is a constant.
    QParamEntry resolved;
    const bool relayout = given.value && !given.value_layout.empty();
    const bool resolve = given.has_range() || given.quantized_dimension_auto || relayout;
    std::string moved;  // the value's layout change, for the change list
    if (resolve) {
      label = "'" + t.name + "'";
      resolved = given;
      if (relayout) moved = move_value_to_model_layout(model, ref, resolved, where(given));
      if (given.has_range())
        resolved =
            resolve_range(given, model.is_constant(t),
                          options.target.value_or(default_target(model.format)), where(given));
      const size_t n = resolved.scale.size();
      if (resolved.quantized_dimension_auto && n > 1) {
        const int32_t rank = static_cast<int32_t>(t.shape.size());
        if (rank > 0 && static_cast<size_t>(t.shape[0]) == n) {
          resolved.quantized_dimension = 0;
        } else if (rank > 0 && static_cast<size_t>(t.shape[rank - 1]) == n) {
          resolved.quantized_dimension = rank - 1;
        } else {
          fail(given, "scale",
               "has " + std::to_string(n) +
                   " per-channel values, but neither the first nor the "
                   "last dimension of the tensor (shape " +
                   shape_text(t.shape) +
                   ") has that size; "
                   "expected one value per output channel");
        }
      }
    }
    const QParamEntry& e = resolve ? resolved : given;
    const bool qualified = e.key == "#" + std::to_string(ref.subgraph) + ":" + t.name;
    label = "'" + (qualified ? e.key : t.name) + "'";
    std::string notes;
    if (!qualified && resolver.find(t.name).size() > 1)
      notes = "subgraph " + std::to_string(ref.subgraph);
    if (!qualified && t.name != e.key)
      notes += (notes.empty() ? "" : ", ") + ("key '" + e.key + "'");
    if (!notes.empty()) label += " (" + notes + ")";
    const QTypeInfo& qi = qtype_info(e.dtype);

    if (t.type != TensorType::Float32) {
      fail(e, "dtype",
           "the tensor is " + tensor_type_name(model.format, t.type) + " in the model '" +
               model_path + "', expected FLOAT32 (q-implant quantizes float tensors only)");
    }

    if (e.dtype == QType::UInt4 && model.format != Format::Circle) {
      fail(e, "dtype",
           "uint4 exists only in circle; the model '" + model_path + "' is " +
               format_name(model.format) + ", whose 4-bit type is int4 (INT4)");
    }

    TensorEdit edit;
    edit.type = type_code(qi.tensor_type);
    edit.quant.scale = e.scale;
    edit.quant.zero_point = e.zero_point;
    edit.source = e.key;
    edit.origin = EditOrigin::Implanted;
    edit.relayout = moved;

    const int32_t rank = static_cast<int32_t>(t.shape.size());
    if (e.scale.size() > 1) {
      const int32_t dim = *e.quantized_dimension;
      if (dim >= rank) {
        fail(e, "quantized_dimension",
             "is " + std::to_string(dim) + ", but the tensor has shape " + shape_text(t.shape) +
                 " (rank " + std::to_string(rank) + "); " + expected_dimension(rank));
      }
      if (static_cast<int64_t>(t.shape[dim]) != static_cast<int64_t>(e.scale.size())) {
        fail(e, "scale",
             "has " + std::to_string(e.scale.size()) + " values (per-channel along dimension " +
                 std::to_string(dim) + "), but dimension " + std::to_string(dim) +
                 " of the tensor (shape " + shape_text(t.shape) + ") has size " +
                 std::to_string(t.shape[dim]));
      }
      edit.quant.quantized_dimension = dim;
    } else {
      const int32_t dim = e.quantized_dimension.value_or(0);
      if (dim != 0 && dim >= rank) {
        fail(e, "quantized_dimension",
             "is " + std::to_string(dim) + ", but the tensor has shape " + shape_text(t.shape) +
                 " (rank " + std::to_string(rank) + "); " + expected_dimension(rank));
      }
      edit.quant.quantized_dimension = dim;
    }

    const bool constant = model.is_constant(t);
    // 4-bit types are weight-only in both runtimes (TFLite: INT4 filters of FULLY_CONNECTED /
    // CONV_2D; ONE: S4 / U4 constants), so a tensor computed at run time cannot take one.
    if (!constant && is_4bit(e.dtype)) {
      fail(e, "dtype",
           std::string(qi.name) + ": 4-bit types are for constant weights, but the tensor is " +
               "computed at run time in the model '" + model_path + "' (it has no data)");
    }
    if (!constant) {
      if (e.value) {
        fail(e, "value",
             "the tensor is not a constant in the model '" + model_path +
                 "' (it has no data; it is computed at run time), so it takes no \"value\"; "
                 "remove \"value\" from this entry");
      }
      plan.tensors.emplace(ref, std::move(edit));
      return;
    }

    const BufferInfo& src = model.buffers[t.buffer];
    const int64_t count = t.element_count();
    // element_count saturates at INT64_MAX; a count past a quarter of that has no buffer.
    if (count > INT64_MAX / 4 || static_cast<uint64_t>(count) * 4 != src.size) {
      throw Error("model file '" + model_path + "': tensor '" + t.name + "' has shape " +
                  shape_text(t.shape) + " (" +
                  (count == INT64_MAX ? std::string("more than 2^63") : std::to_string(count)) +
                  " float32 values) but its buffer " + std::to_string(t.buffer) + " holds " +
                  std::to_string(src.size) + " bytes");
    }

    BufferContent content;
    if (e.value) {
      const npy::Array& v = *e.value;
      std::vector<int64_t> want(t.shape.begin(), t.shape.end());
      if (v.shape != want) {
        fail(e, "value",
             "npy file '" + v.path + "' has shape " + shape_text(v.shape) +
                 ", expected the tensor's shape " + shape_text(t.shape));
      }
      content.view = v;
      content.view_is_4bit = is_4bit(e.dtype);
      edit.data = TensorEdit::Data::FromValue;
    } else {
      QuantizeRecipe r;
      r.source = src.data;
      r.source_size = src.size;
      r.shape = t.shape;
      r.quant = edit.quant;
      r.qtype = e.dtype;
      r.rounding = options.rounding;
      r.context = where(e);
      content.recipe = std::move(r);
      edit.data = TensorEdit::Data::Quantized;
    }
    plan.new_data.emplace_back(ref, std::move(content));
    plan.tensors.emplace(ref, std::move(edit));
  }
};

}  // namespace

EditPlan plan_implant(const ModelInfo& model, const std::string& model_path,
                      const QParamFile& qparams, const PlanOptions& options) {
  Planner planner(model, model_path, qparams, options);
  std::vector<std::string> keys;
  for (const auto& e : qparams.entries) keys.push_back(e.key);
  const auto matches = match_keys(
      {model, planner.resolver, model_path, qparams.path, options.name_map, options.structure_map},
      keys, suggest_kinds(qparams));
  require_resolved(matches);
  for (size_t i = 0; i < qparams.entries.size(); ++i) {
    if (qparams.entries[i].keep_float) {
      planner.plan_keep_float(qparams.entries[i], matches[i]);
      continue;
    }
    for (const TensorRef& ref : matches[i].tensors) planner.plan_entry(qparams.entries[i], ref);
  }
  return std::move(planner.plan);
}

}  // namespace qimplant
