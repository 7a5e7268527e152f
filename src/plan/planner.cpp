#include "plan/planner.h"

#include <sstream>

#include "util/error.h"

namespace qimplant {

namespace {

std::string shape_text(const std::vector<int32_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
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
  // Which entry claimed each tensor, to catch two keys naming one tensor.
  std::map<TensorRef, std::string> claimed;

  std::string where(const QParamEntry& e) const {
    return "qparam file '" + qparams.path + "': tensor '" + e.key + "'";
  }
  [[noreturn]] void fail(const QParamEntry& e, const std::string& field,
                         const std::string& what) const {
    throw Error(where(e) + (field.empty() ? "" : ": \"" + field + "\"") + ": " + what);
  }

  void plan_entry(const QParamEntry& e) {
    const TensorRef ref = resolver.resolve(e.key, "qparam file '" + qparams.path + "'", model_path);
    if (auto it = claimed.find(ref); it != claimed.end()) {
      fail(e, "", "names the same tensor as the key '" + it->second + "'; give each tensor one entry");
    }
    claimed.emplace(ref, e.key);
    const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
    const QTypeInfo& qi = qtype_info(e.dtype);

    if (t.type != static_cast<int8_t>(TensorType::Float32)) {
      fail(e, "dtype",
           "the tensor is " + tensor_type_name(model.format, t.type) + " in the model '" +
               model_path + "', expected FLOAT32 (q-implant quantizes float tensors only)");
    }

    TensorEdit edit;
    edit.type = static_cast<int8_t>(qi.tensor_type);
    edit.quant.scale = e.scale;
    edit.quant.zero_point = e.zero_point;
    edit.source = e.key;
    edit.origin = EditOrigin::Implanted;

    const int32_t rank = static_cast<int32_t>(t.shape.size());
    if (e.scale.size() > 1) {
      const int32_t dim = *e.quantized_dimension;
      if (dim >= rank) {
        fail(e, "quantized_dimension",
             "is " + std::to_string(dim) + ", but the tensor has shape " + shape_text(t.shape) +
                 " (rank " + std::to_string(rank) + "); expected 0.." + std::to_string(rank - 1));
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
                 " (rank " + std::to_string(rank) + ")");
      }
      edit.quant.quantized_dimension = dim;
    }

    const bool constant = model.is_constant(t);
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
    if (static_cast<uint64_t>(count) * 4 != src.size) {
      throw Error("model file '" + model_path + "': tensor '" + t.name + "' has shape " +
                  shape_text(t.shape) + " (" + std::to_string(count) +
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
      edit.data = TensorEdit::Data::FromValue;
    } else {
      content.owned.resize(static_cast<size_t>(count) * static_cast<size_t>(qi.size));
      const int64_t nan_at = quantize_float32(src.data, t.shape, edit.quant, e.dtype,
                                              options.rounding, content.owned.data());
      if (nan_at >= 0) {
        fail(e, "",
             "the tensor's float data has NaN at element " + std::to_string(nan_at) +
                 "; it cannot be quantized (give \"value\" or fix the model)");
      }
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
  for (const auto& e : qparams.entries) planner.plan_entry(e);
  return std::move(planner.plan);
}

}  // namespace qimplant
