#include "exec/kernel_support.h"

#include <algorithm>
#include <cstdint>

#include "model/model.h"
#include "util/error.h"

namespace qimplant::exec {

std::string describe(const Node& node) {
  return "operator " + std::to_string(node.index) + " (" + node.type_name + ")";
}

void fail(const Node& node, const std::string& message) {
  throw Error(describe(node) + ": " + message);
}

Spatial spatial(const Node& node, const char* what, int32_t in, int32_t filter, int32_t stride,
                int32_t dilation) {
  if (stride < 1 || dilation < 1 || filter < 1) {
    fail(node, std::string(what) + ": stride " + std::to_string(stride) + ", dilation " +
                   std::to_string(dilation) + " and filter size " + std::to_string(filter) +
                   " must all be >= 1");
  }
  // In int64: a stride or dilation near 2^31 would overflow these sums in int32.
  const int64_t effective = int64_t(filter - 1) * dilation + 1;
  int64_t out = node.options.padding == Padding::Same ? (int64_t(in) + stride - 1) / stride
                                                      : (int64_t(in) - effective + stride) / stride;
  if (out < 0) out = 0;
  const int64_t total = std::max<int64_t>((out - 1) * stride + effective - in, 0);
  // The kernels index the padded extent in int32.
  if ((out - 1) * stride + effective > INT32_MAX) {
    fail(node, std::string(what) + ": stride " + std::to_string(stride) + ", dilation " +
                   std::to_string(dilation) + " and filter size " + std::to_string(filter) +
                   " span more than " + std::to_string(INT32_MAX) + " elements");
  }
  Spatial s;
  s.out = static_cast<int32_t>(out);
  s.pad = static_cast<int32_t>(total / 2);
  return s;
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
