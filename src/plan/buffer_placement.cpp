#include "plan/buffer_placement.h"

#include <set>

namespace qimplant {

void place_new_data(const ModelInfo& model, EditPlan& plan) {
  std::map<uint32_t, std::vector<TensorRef>> users;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const auto& tensors = model.subgraphs[s].tensors;
    for (uint32_t i = 0; i < tensors.size(); ++i)
      if (tensors[i].buffer != 0) users[tensors[i].buffer].push_back({s, i});
  }
  std::set<uint32_t> reused;
  for (auto& [ref, content] : plan.new_data) {
    // A later stage may drop the edit of a constant that got new data (the float interface keeps
    // a constant graph output float, mixed precision a constant read only by float operators):
    // the tensor then stays as the model has it, data included.
    const auto found = plan.tensors.find(ref);
    if (found == plan.tensors.end()) continue;
    TensorEdit& edit = found->second;
    const uint32_t buffer = model.tensor(ref.subgraph, ref.tensor).buffer;
    bool all_edited = true;
    for (const auto& u : users[buffer]) all_edited = all_edited && plan.find(u) != nullptr;
    if (all_edited && !reused.count(buffer)) {
      reused.insert(buffer);
      plan.buffers[buffer] = std::move(content);
      continue;
    }
    if (all_edited) {
      const BufferContent& first = plan.buffers.at(buffer);
      if (first.same_bytes(content)) {
        continue;  // same bytes: keep sharing
      }
    }
    const uint32_t index = static_cast<uint32_t>(model.buffers.size()) + plan.appended_buffers++;
    plan.buffers[index] = std::move(content);
    edit.buffer = index;
  }
  plan.new_data = {};  // frees the storage too: 100,000 constants hold 40 MB here
}

}  // namespace qimplant
