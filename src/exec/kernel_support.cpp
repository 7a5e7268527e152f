#include "exec/kernel_support.h"

#include "model/model.h"
#include "util/error.h"

namespace qimplant::exec {

std::string describe(const Node& node) {
  return "operator " + std::to_string(node.index) + " (" + node.type_name + ")";
}

void fail(const Node& node, const std::string& message) {
  throw Error(describe(node) + ": " + message);
}

std::string type_str(int8_t type) {
  return tensor_type_name(Format::Circle, type);
}

Kernel find_kernel(const std::vector<KernelEntry>& table, int32_t code) {
  for (const KernelEntry& e : table)
    if (e.code == code) return e.kernel;
  return nullptr;
}

std::vector<int32_t> kernel_codes(const std::vector<KernelEntry>& table) {
  std::vector<int32_t> codes;
  for (const KernelEntry& e : table) codes.push_back(e.code);
  return codes;
}

}  // namespace qimplant::exec
