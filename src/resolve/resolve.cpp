#include "resolve/resolve.h"

#include <algorithm>

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
  // A name is offered as a constant when any tensor of that name is one, and likewise.
  for (const auto& name : names_) {
    bool constant = false, activation = false;
    for (const TensorRef& r : by_name_[name])
      (model.is_constant(model.tensor(r.subgraph, r.tensor)) ? constant : activation) = true;
    if (constant) constant_names_.push_back(name);
    if (activation) activation_names_.push_back(name);
  }
  if (!model.subgraphs.empty()) {
    for (int32_t t : model.subgraphs[0].inputs) {
      if (t < 0 || static_cast<size_t>(t) >= model.subgraphs[0].tensors.size()) continue;
      const std::string& name = model.subgraphs[0].tensors[static_cast<size_t>(t)].name;
      if (std::find(input_names_.begin(), input_names_.end(), name) == input_names_.end())
        input_names_.push_back(name);
    }
  }
}

namespace {

std::vector<std::string> lower_words(const std::string& key) {
  std::vector<std::string> words(1);
  for (char c : key) {
    const char l = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      words.back() += l;
    else if (!words.back().empty())
      words.emplace_back();
  }
  return words;
}

}  // namespace

SuggestKind TensorResolver::effective_kind(const std::string& key, SuggestKind kind) {
  // An entry without "value" may still be a weight q-implant quantizes from the float data;
  // its name says so ("conv1.weight"), and then every tensor is a candidate.
  if (kind != SuggestKind::Activation) return kind;
  for (const auto& w : lower_words(key))
    for (const char* role : {"weight", "weights", "bias", "biases", "kernel", "filter"})
      if (w == role) return SuggestKind::Any;
  return kind;
}

bool TensorResolver::looks_like_input(const std::string& key) {
  std::string word;
  std::string lowered;
  bool input = false;
  auto flush = [&] {
    static const char* const kWords[] = {"quant", "quantstub",   "input",  "inputs", "in",
                                         "x",     "data",        "ifm",    "image",  "images",
                                         "stub",  "placeholder", "serving"};
    for (const char* w : kWords) input = input || word == w;
    word.clear();
  };
  for (char c : key) {
    const char l = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    lowered += l;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      word += l;
    else
      flush();
  }
  flush();
  return input || lowered.find("stub") != std::string::npos;
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

std::vector<std::string> TensorResolver::suggestions(const std::string& key, size_t count,
                                                     SuggestKind kind) const {
  kind = effective_kind(key, kind);
  auto& index = index_[static_cast<int>(kind)];
  if (!index) {
    index = std::make_unique<NameIndex>(kind == SuggestKind::Constant     ? constant_names_
                                        : kind == SuggestKind::Activation ? activation_names_
                                                                          : names_);
  }
  if (kind != SuggestKind::Activation || input_names_.empty() || !looks_like_input(key))
    return index->closest(key, count);
  // A QuantStub's key ("quant") shares no word with the input's name ("input", "x"): offer every
  // graph input first, the closest first, then the other activations.
  std::vector<std::string> out = closest_names(key, input_names_, input_names_.size());
  for (const auto& n : input_names_)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  if (out.size() > count) out.resize(count);
  for (const auto& n : index->closest(key, count + out.size())) {
    if (out.size() >= count) break;
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

TensorRef TensorResolver::resolve(const std::string& key, const std::string& context,
                                  const std::string& model_path, SuggestKind kind) const {
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
      auto near = suggestions(name, 3, kind);
      std::string hint;
      for (const auto& n : near) hint += (hint.empty() ? "" : ", ") + ("'" + n + "'");
      throw Error(context + ": tensor '" + name + "' is not in subgraph " + std::to_string(sg) +
                  " of '" + model_path + "'" +
                  (hint.empty() ? std::string() : "; closest names: " + hint));
    }
  }
  kind = effective_kind(key, kind);
  auto near = suggestions(key, 5, kind);
  std::string hint;
  for (const auto& n : near) hint += (hint.empty() ? "" : ", ") + ("'" + n + "'");
  // Say which tensors the suggestions come from, so a missing name is not taken for a typo.
  const char* among = kind == SuggestKind::Constant ? " among constants (the entry has \"value\")"
                      : kind == SuggestKind::Activation
                          ? " among activations (the entry has no \"value\")"
                          : "";
  const size_t pool = kind == SuggestKind::Constant     ? constant_names_.size()
                      : kind == SuggestKind::Activation ? activation_names_.size()
                                                        : names_.size();
  throw Error(context + ": tensor '" + key + "' is not in the model '" + model_path + "'" +
              (hint.empty() ? std::string("; no similar names") + among + " (the model has " +
                                  std::to_string(pool) + (*among ? " such" : "") + " tensors)"
                            : "; closest names" + std::string(among) + ": " + hint));
}

}  // namespace qimplant
