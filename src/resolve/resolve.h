// Finding the model tensor a qparam.json key names.
//
// A key is a tensor name, looked up across all subgraphs. When a name exists in several
// subgraphs the key must be qualified as "#<subgraph index>:<name>" (e.g. "#1:ifm"); an exact
// name always wins over that reading, so a tensor literally called "#1:ifm" is still found.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "util/similar.h"

namespace qimplant {

// Which tensors suggestions for an unknown key are drawn from: a key whose entry has "value"
// describes a constant, one without an activation (a non-constant tensor; when the key looks like
// a graph input, "quant", "input", "*stub*", ..., the graph inputs come first), unless it is
// named like a weight or bias (see effective_kind).
enum class SuggestKind { Any, Constant, Activation };

class TensorResolver {
 public:
  explicit TensorResolver(const ModelInfo& model);

  // Throws Error for unknown names (with the closest model names) and ambiguous names.
  // `context` starts the message, e.g. "qparam file 'q.json'"; `model_path` names the model.
  TensorRef resolve(const std::string& key, const std::string& context,
                    const std::string& model_path, SuggestKind kind = SuggestKind::Any) const;

  // All tensors with exactly this name (any subgraph).
  const std::vector<TensorRef>& find(const std::string& name) const;
  // Display form of a tensor for messages: "'name'" or "'name' (subgraph 1)".
  std::string describe(const TensorRef& ref) const;
  // Up to `count` model names closest to `key`, among the tensors of `kind`.
  std::vector<std::string> suggestions(const std::string& key, size_t count,
                                       SuggestKind kind = SuggestKind::Any) const;
  // Whether a key without "value" names like a graph input ("quant", "input", "x", "*stub*").
  static bool looks_like_input(const std::string& key);
  // The kind suggestions use: Activation becomes Any for a key named like a weight or bias
  // ("conv1.weight" without "value" is a weight to quantize from the float data).
  static SuggestKind effective_kind(const std::string& key, SuggestKind kind);

 private:
  const ModelInfo& model_;
  std::unordered_map<std::string, std::vector<TensorRef>> by_name_;
  std::vector<std::string> names_;  // distinct names, model order
  std::vector<std::string> constant_names_, activation_names_, input_names_;
  // Split on the first suggestion, then reused: `names` may ask for many keys.
  mutable std::unique_ptr<NameIndex> index_[3];  // by SuggestKind
};

}  // namespace qimplant
