#include "extract/convert_params.h"

#include <nlohmann/json.hpp>

#include "extract/extract.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "qparam/min_max.h"
#include "qparam/value_layout.h"
#include "resolve/resolve.h"
#include "util/error.h"

namespace qimplant {

ConvertParamsResult convert_params(const ConvertParamsOptions& options) {
  using json = nlohmann::ordered_json;
  ConvertParamsResult result;
  QParamFile file = read_param_source(options.input, options.format);
  result.source_format = file.format;

  std::shared_ptr<ModelFile> model;
  std::optional<TensorResolver> resolver;
  if (!options.model.empty()) {
    model = ModelFile::open(options.model);
    resolver.emplace(model->info());
  }
  const Target target =
      options.target.value_or(model ? default_target(model->info().format) : Target::ONE);
  // The tensor an entry names, when the model has exactly one of that name.
  auto ref_of = [&](const QParamEntry& e) -> std::optional<TensorRef> {
    if (!resolver) return std::nullopt;
    const auto& refs = resolver->find(e.key);
    if (refs.size() != 1) return std::nullopt;
    return refs[0];
  };
  auto tensor_of = [&](const QParamEntry& e) -> const TensorInfo* {
    const auto ref = ref_of(e);
    return ref ? &model->info().tensor(ref->subgraph, ref->tensor) : nullptr;
  };

  make_directory(options.outdir);
  const std::string dir = options.outdir.empty() ? "." : options.outdir;
  json root = json::object();
  size_t index = 0;
  for (QParamEntry e : file.entries) {
    const std::string where = "parameter file '" + options.input + "': tensor '" + e.key + "'";
    json out;
    if (e.keep_float) {
      out["dtype"] = "float32";
      root[e.key] = std::move(out);
      continue;
    }
    const TensorInfo* t = tensor_of(e);
    if (e.value && !e.value_layout.empty()) {
      // The plain format has no layout: the value goes in the model's, or stays as it came.
      if (t) {
        const std::string moved = move_value_to_model_layout(model->info(), *ref_of(e), e, where);
        if (!moved.empty()) result.notes.push_back("'" + e.key + "': " + moved);
      } else {
        result.notes.push_back("'" + e.key + "': \"value\" stays in the producer's layout " +
                               e.value_layout +
                               " (no model given or no tensor of this name to move it to)");
      }
      e.value_layout.clear();
    }
    if (e.has_range()) {
      const bool constant = t ? model->info().is_constant(*t) : e.range_min.size() > 1;
      e = resolve_range(e, constant, target, where);
      result.notes.push_back(
          "'" + e.key + "': min / max → scale and zero point by " + e.range_rule +
          (t ? ""
             : " (no model tensor of this name: taken as a " +
                   std::string(constant ? "weight" : "activation") + " from its channel count)"));
    }
    if (e.quantized_dimension_auto && e.scale.size() > 1 && !e.quantized_dimension) {
      int32_t dim = 0;
      if (t != nullptr) {
        const size_t n = e.scale.size();
        const int32_t rank = static_cast<int32_t>(t->shape.size());
        if (rank > 0 && static_cast<size_t>(t->shape[0]) != n &&
            static_cast<size_t>(t->shape[rank - 1]) == n)
          dim = rank - 1;
      }
      e.quantized_dimension = dim;
      result.notes.push_back("'" + e.key + "': per-channel along dimension " + std::to_string(dim) +
                             (t ? " (from the model's shape)"
                                : " (no model given or no tensor of this name: dimension 0)"));
    }
    const std::string stem = "p" + std::to_string(index++) + "_";
    const std::vector<int64_t> channels{static_cast<int64_t>(e.scale.size())};
    out["dtype"] = qtype_info(e.dtype).name;
    npy::save(dir + "/" + stem + "scale.npy", e.scale, channels);
    out["scale"] = stem + "scale.npy";
    npy::save(dir + "/" + stem + "zerop.npy", e.zero_point, channels);
    out["zerop"] = stem + "zerop.npy";
    if (e.quantized_dimension) out["quantized_dimension"] = *e.quantized_dimension;
    result.npy_files += 2;
    if (e.value) {
      const npy::Array& v = *e.value;
      const QTypeInfo& qi = qtype_info(e.dtype);
      const std::string descr = std::string(qi.unpacked_size == 1 ? "|" : "<") + qi.npy_kind +
                                std::to_string(qi.unpacked_size);
      npy::save(dir + "/" + stem + "value.npy", descr, v.shape, v.data, v.nbytes);
      out["value"] = stem + "value.npy";
      ++result.npy_files;
    }
    root[e.key] = std::move(out);
  }
  result.entries = file.entries.size();
  result.qparam_path = dir + "/qparam.json";
  AtomicFile f(result.qparam_path);
  const std::string text = root.dump(2) + "\n";
  f.write(text.data(), text.size());
  f.commit();
  return result;
}

}  // namespace qimplant
