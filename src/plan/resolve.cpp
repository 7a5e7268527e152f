#include "plan/resolve.h"

#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

TensorResolver::TensorResolver(const ModelInfo& model) : model_(model) {
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const auto& tensors = model.subgraphs[s].tensors;
    for (uint32_t t = 0; t < tensors.size(); ++t) {
      auto& refs = by_name_[tensors[t].name];
      if (refs.empty()) names_.push_back(tensors[t].name);
      refs.push_back({s, t});
    }
  }
}

const std::vector<TensorRef>& TensorResolver::find(const std::string& name) const {
  static const std::vector<TensorRef> none;
  auto it = by_name_.find(name);
  return it == by_name_.end() ? none : it->second;
}

std::string TensorResolver::describe(const TensorRef& ref) const {
  std::string out = "'" + model_.tensor(ref.subgraph, ref.tensor).name + "'";
  if (model_.subgraphs.size() > 1) out += " (subgraph " + std::to_string(ref.subgraph) + ")";
  return out;
}

std::vector<std::string> TensorResolver::suggestions(const std::string& key, size_t count) const {
  if (!index_) index_ = std::make_unique<NameIndex>(names_);
  return index_->closest(key, count);
}

TensorRef TensorResolver::resolve(const std::string& key, const std::string& context,
                                  const std::string& model_path) const {
  const auto& exact = find(key);
  if (exact.size() == 1) return exact[0];
  if (exact.size() > 1) {
    std::string forms;
    for (const auto& r : exact) {
      if (!forms.empty()) forms += ", ";
      forms += "'#" + std::to_string(r.subgraph) + ":" + key + "'";
    }
    throw Error(context + ": tensor '" + key + "' exists in " + std::to_string(exact.size()) +
                " subgraphs of '" + model_path + "'; qualify the key with its subgraph: " + forms);
  }
  // "#<index>:<name>"
  if (key.size() > 2 && key[0] == '#') {
    const auto colon = key.find(':');
    const std::string digits = key.substr(1, colon == std::string::npos ? 0 : colon - 1);
    const bool numeric = !digits.empty() && digits.size() < 10 &&
                         digits.find_first_not_of("0123456789") == std::string::npos;
    if (colon != std::string::npos && numeric) {
      const uint32_t sg = static_cast<uint32_t>(std::stoul(digits));
      const std::string name = key.substr(colon + 1);
      if (sg >= model_.subgraphs.size()) {
        throw Error(context + ": tensor '" + key + "': the model '" + model_path + "' has " +
                    std::to_string(model_.subgraphs.size()) + " subgraph(s), no subgraph " +
                    std::to_string(sg));
      }
      for (const auto& r : find(name))
        if (r.subgraph == sg) return r;
      auto near = suggestions(name, 3);
      std::string hint;
      for (const auto& n : near) hint += (hint.empty() ? "" : ", ") + ("'" + n + "'");
      throw Error(context + ": tensor '" + name + "' is not in subgraph " + std::to_string(sg) +
                  " of '" + model_path + "'" +
                  (hint.empty() ? std::string() : "; closest names: " + hint));
    }
  }
  auto near = suggestions(key, 5);
  std::string hint;
  for (const auto& n : near) hint += (hint.empty() ? "" : ", ") + ("'" + n + "'");
  throw Error(context + ": tensor '" + key + "' is not in the model '" + model_path + "'" +
              (hint.empty() ? std::string("; no similar names (the model has ") +
                                  std::to_string(names_.size()) + " tensors)"
                            : "; closest names: " + hint));
}

}  // namespace qimplant
