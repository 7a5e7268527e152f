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

struct TensorRef {
  uint32_t subgraph = 0;
  uint32_t tensor = 0;
  bool operator==(const TensorRef& o) const { return subgraph == o.subgraph && tensor == o.tensor; }
  bool operator<(const TensorRef& o) const {
    return subgraph != o.subgraph ? subgraph < o.subgraph : tensor < o.tensor;
  }
};

class TensorResolver {
 public:
  explicit TensorResolver(const ModelInfo& model);

  // Throws Error for unknown names (with the closest model names) and ambiguous names.
  // `context` starts the message, e.g. "qparam file 'q.json'"; `model_path` names the model.
  TensorRef resolve(const std::string& key, const std::string& context,
                    const std::string& model_path) const;

  // All tensors with exactly this name (any subgraph).
  const std::vector<TensorRef>& find(const std::string& name) const;
  // Display form of a tensor for messages: "'name'" or "'name' (subgraph 1)".
  std::string describe(const TensorRef& ref) const;
  // Up to `count` model names closest to `key`.
  std::vector<std::string> suggestions(const std::string& key, size_t count) const;

 private:
  const ModelInfo& model_;
  std::unordered_map<std::string, std::vector<TensorRef>> by_name_;
  std::vector<std::string> names_;  // distinct names, model order
  // Split on the first suggestion, then reused: `names` may ask for many keys.
  mutable std::unique_ptr<NameIndex> index_;
};

}  // namespace qimplant
