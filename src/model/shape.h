// Shapes as every stage prints them, and the per-channel position of an element: one definition
// for the planner, the checks, the quantizer, the interpreter and the tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qimplant {

// "[1, 2, 3]" (messages and tool output).
template <typename Int>
std::string shape_text(const std::vector<Int>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// "[1,2,3]" (the interpreter's and the matcher's messages).
template <typename Int>
std::string shape_text_compact(const std::vector<Int>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

// Which channel along dimension `dim` element i (C order) of a tensor of `shape` belongs to:
// elements come in runs of `inner` (the product of the dimensions after dim) per channel,
// cycling through `channels` channels. A dimension outside the shape gives one channel.
struct ChannelIndex {
  size_t inner = 1;
  size_t channels = 1;
  size_t operator()(size_t i) const { return (i / inner) % channels; }
};

template <typename Int>
ChannelIndex channel_index(const std::vector<Int>& shape, int64_t dim) {
  ChannelIndex c;
  if (dim < 0 || static_cast<size_t>(dim) >= shape.size()) return c;
  c.channels = shape[static_cast<size_t>(dim)] > 0 ? static_cast<size_t>(shape[dim]) : 0;
  for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d)
    c.inner *= shape[d] > 0 ? static_cast<size_t>(shape[d]) : 0;
  // An empty tensor has no element to place; keep the division defined.
  if (c.channels == 0) c.channels = 1;
  if (c.inner == 0) c.inner = 1;
  return c;
}

}  // namespace qimplant
