// Kernels for operators that only move values: the output holds elements of the data input,
// rearranged, selected, repeated or padded, so they run on raw bytes for every element type.
// They apply only when the output carries the data input's type and quantization; otherwise the
// values would need requantizing, which is the integer table's job.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel_support.h"
#include "model/op_properties.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {

using namespace ops;

const Value& input(const Node& node, const Inputs& inputs, size_t i, const char* role) {
  if (i >= inputs.size() || !inputs[i]) {
    fail(node, "input " + std::to_string(i) + " (" + role + ") is missing; found " +
                   std::to_string(inputs.size()) + " inputs");
  }
  return *inputs[i];
}

Value& output(const Node& node, Outputs& outputs, size_t i = 0) {
  if (i >= outputs.size() || !outputs[i]) fail(node, "output " + std::to_string(i) + " is missing");
  return *outputs[i];
}

void expect_shape(const Node& node, const std::string& label, const Shape& found,
                  const Shape& expected) {
  if (found != expected) {
    fail(node, label + " has shape " + shape_text_compact(found) + "; expected " +
                   shape_text_compact(expected));
  }
}

void check_bytes(const Node& node, const std::string& label, const Value& v) {
  const size_t need = static_cast<size_t>(v.element_count()) * element_size(v.type);
  if (v.data.size() != need) {
    fail(node, label + " holds " + std::to_string(v.data.size()) + " bytes; expected " +
                   std::to_string(need) + " for shape " + shape_text_compact(v.shape));
  }
}

// The values of an int32 or int64 operand (shapes, axes, paddings, indices).
std::vector<int64_t> read_indices(const Node& node, const Value& v, const std::string& label) {
  const size_t n = static_cast<size_t>(v.element_count());
  std::vector<int64_t> r(n);
  if (v.type == TensorType::Int32) {
    check_bytes(node, label, v);
    for (size_t i = 0; i < n; ++i) r[i] = v.as<int32_t>()[i];
  } else if (v.type == TensorType::Int64) {
    check_bytes(node, label, v);
    for (size_t i = 0; i < n; ++i) r[i] = v.as<int64_t>()[i];
  } else {
    fail(node, label + " has type " + tensor_type_name(Format::Circle, v.type) +
                   "; expected INT32 or INT64");
  }
  return r;
}

// Resolves a possibly negative axis against `rank` (valid: -rank .. rank-1).
int32_t resolve_axis(const Node& node, int64_t axis, size_t rank, const std::string& what) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    fail(node, what + " is " + std::to_string(axis) + "; expected one in [" + std::to_string(-r) +
                   ", " + std::to_string(r - 1) + "] for rank " + std::to_string(rank));
  }
  return static_cast<int32_t>(axis < 0 ? axis + r : axis);
}

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
  return p;
}

// Row-major strides in elements.
std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Calls f(out_index, coordinates) for every element of `shape` in row-major order.
template <typename F>
void for_each_index(const Shape& shape, F&& f) {
  const int64_t n = product(shape, 0, shape.size());
  std::vector<int32_t> c(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, c);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

void copy_element(const Value& in, int64_t from, Value& out, int64_t to) {
  const size_t es = element_size(in.type);
  std::memcpy(out.data.data() + static_cast<size_t>(to) * es,
              in.data.data() + static_cast<size_t>(from) * es, es);
}

// Output element i is input element map(coordinates of i in the output).
template <typename Map>
void gather_elements(const Node& node, const Value& in, Value& out, Map&& map) {
  check_bytes(node, "input 0", in);
  const std::vector<int64_t> in_strides = strides_of(in.shape);
  out.data.assign(static_cast<size_t>(out.element_count()) * element_size(out.type), 0);
  for_each_index(out.shape, [&](int64_t i, const std::vector<int32_t>& c) {
    copy_element(in, map(c, in_strides), out, i);
  });
}

// ---------------------------------------------------------------------------------------------

void copy_all(const Node& node, const Value& in, Value& out) {
  check_bytes(node, "input 0", in);
  if (in.element_count() != out.element_count()) {
    fail(node, "output 0 has shape " + shape_text_compact(out.shape) + " (" +
                   std::to_string(out.element_count()) + " elements); expected " +
                   std::to_string(in.element_count()) + " elements, as input 0 " +
                   shape_text_compact(in.shape));
  }
  out.data = in.data;
}

// RESHAPE's target (operand 1, else new_shape) with -1 resolved must equal the output's shape.
void reshape(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  std::vector<int64_t> target;
  bool have_target = false;
  if (inputs.size() > 1 && inputs[1] && !inputs[1]->data.empty()) {
    target = read_indices(node, *inputs[1], "input 1 (shape)");
    have_target = true;
  } else if (!node.options.new_shape.empty()) {
    target.assign(node.options.new_shape.begin(), node.options.new_shape.end());
    have_target = true;
  }
  if (have_target) {
    int64_t known = 1;
    int unknown = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == -1 && unknown < 0) {
        unknown = static_cast<int>(i);
      } else if (target[i] < 0) {
        fail(node, "the target shape has dimension " + std::to_string(target[i]) + " at " +
                       std::to_string(i) + "; expected sizes >= 0 and at most one -1");
      } else if (__builtin_mul_overflow(known, target[i], &known)) {
        fail(node, "the target shape " + shape_text_compact(target) +
                       " has more elements than int64 can count");
      }
    }
    if (unknown >= 0) target[static_cast<size_t>(unknown)] = known ? in.element_count() / known : 0;
    const Shape resolved(target.begin(), target.end());
    expect_shape(node, "output 0", out.shape, resolved);
  }
  copy_all(node, in, out);
}

void squeeze(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  std::vector<bool> drop(in.shape.size(), false);
  if (node.options.squeeze_dims.empty()) {
    for (size_t d = 0; d < in.shape.size(); ++d) drop[d] = in.shape[d] == 1;
  } else {
    for (int32_t a : node.options.squeeze_dims) {
      const int32_t d = resolve_axis(node, a, in.shape.size(), "squeeze_dims entry");
      if (in.shape[d] != 1) {
        fail(node, "squeeze_dims names dimension " + std::to_string(d) + " of input 0 " +
                       shape_text_compact(in.shape) + ", which has size " +
                       std::to_string(in.shape[d]) + "; expected 1");
      }
      drop[d] = true;
    }
  }
  Shape expected;
  for (size_t d = 0; d < in.shape.size(); ++d)
    if (!drop[d]) expected.push_back(in.shape[d]);
  expect_shape(node, "output 0", out.shape, expected);
  copy_all(node, in, out);
}

void expand_dims(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const std::vector<int64_t> axis = read_indices(node, input(node, inputs, 1, "axis"), "input 1");
  if (axis.size() != 1) fail(node, "input 1 (axis) must hold one value");
  const int32_t a = resolve_axis(node, axis[0], in.shape.size() + 1, "axis");
  Shape expected = in.shape;
  expected.insert(expected.begin() + a, 1);
  expect_shape(node, "output 0", out.shape, expected);
  copy_all(node, in, out);
}

void transpose(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const std::vector<int64_t> perm = read_indices(node, input(node, inputs, 1, "perm"), "input 1");
  if (perm.size() != in.shape.size()) {
    fail(node, "input 1 (perm) has " + std::to_string(perm.size()) + " entries; expected " +
                   std::to_string(in.shape.size()) + ", the rank of input 0");
  }
  Shape expected;
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    const int32_t d = resolve_axis(node, p, in.shape.size(), "perm entry");
    if (seen[d]) fail(node, "input 1 (perm) names dimension " + std::to_string(d) + " twice");
    seen[d] = true;
    expected.push_back(in.shape[d]);
  }
  expect_shape(node, "output 0", out.shape, expected);
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0;
    for (size_t i = 0; i < c.size(); ++i)
      k += c[i] * st[perm[i] < 0 ? perm[i] + c.size() : perm[i]];
    return k;
  });
}

// CONCATENATION (any number of inputs along `axis`) and PACK (inputs stacked on a new axis).
void join(const Node& node, const Inputs& inputs, Value& out, int32_t axis, bool stack) {
  if (inputs.empty()) fail(node, "has no inputs");
  const Value& first = input(node, inputs, 0, "values");
  if (first.shape.size() + (stack ? 1 : 0) != out.shape.size()) {
    fail(node, "input 0 has shape " + shape_text_compact(first.shape) + "; expected rank " +
                   std::to_string(out.shape.size() - (stack ? 1 : 0)) + " for output 0 " +
                   shape_text_compact(out.shape));
  }
  Shape expected = first.shape;
  if (stack)
    expected.insert(expected.begin() + axis, 0);
  else
    expected[axis] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& in = input(node, inputs, k, "values");
    check_bytes(node, "input " + std::to_string(k), in);
    // PACK needs equal shapes; CONCATENATION equal dimensions except along the axis.
    bool fits = in.shape.size() == first.shape.size();
    for (size_t d = 0; fits && d < in.shape.size(); ++d)
      fits = (!stack && static_cast<int32_t>(d) == axis) || in.shape[d] == first.shape[d];
    if (!fits) {
      fail(node, "input " + std::to_string(k) + " has shape " + shape_text_compact(in.shape) +
                     "; expected " +
                     (stack ? std::string("the shape")
                            : "the dimensions other than axis " + std::to_string(axis)) +
                     " of input 0 " + shape_text_compact(first.shape));
    }
    expected[axis] += stack ? 1 : in.shape[axis];
  }
  expect_shape(node, "output 0", out.shape, expected);
  const size_t es = element_size(out.type);
  const int64_t outer = product(out.shape, 0, axis);
  out.data.assign(static_cast<size_t>(out.element_count()) * es, 0);
  uint8_t* dst = out.data.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (const Value* in : inputs) {
      const size_t chunk = static_cast<size_t>(in->element_count() / outer) * es;
      std::memcpy(dst, in->data.data() + static_cast<size_t>(o) * chunk, chunk);
      dst += chunk;
    }
  }
}

void concatenation(const Node& node, const Inputs& inputs, Outputs& outputs) {
  Value& out = output(node, outputs);
  const int32_t axis = resolve_axis(node, node.options.axis, out.shape.size(), "axis");
  join(node, inputs, out, axis, false);
}

void pack(const Node& node, const Inputs& inputs, Outputs& outputs) {
  Value& out = output(node, outputs);
  if (node.options.num != 0 && static_cast<size_t>(node.options.num) != inputs.size()) {
    fail(node, "values_count is " + std::to_string(node.options.num) + " but " +
                   std::to_string(inputs.size()) + " inputs are given");
  }
  const int32_t axis = resolve_axis(node, node.options.axis, out.shape.size(), "axis");
  join(node, inputs, out, axis, true);
}

// UNPACK, SPLIT, SPLIT_V: cuts of `in` along `axis`, `sizes[k]` long, into outputs[k]; UNPACK
// drops the axis.
void cut(const Node& node, const Value& in, Outputs& outputs, int32_t axis,
         const std::vector<int64_t>& sizes, bool drop_axis) {
  check_bytes(node, "the data input", in);
  if (outputs.size() != sizes.size()) {
    fail(node, "has " + std::to_string(outputs.size()) + " outputs; expected " +
                   std::to_string(sizes.size()));
  }
  if (node.code != kUnpack && node.options.num != 0 &&
      static_cast<size_t>(node.options.num) != outputs.size()) {
    fail(node, "num_splits is " + std::to_string(node.options.num) + " but " +
                   std::to_string(outputs.size()) + " outputs are given");
  }
  const size_t es = element_size(in.type);
  const int64_t outer = product(in.shape, 0, axis);
  const int64_t inner = product(in.shape, axis + 1, in.shape.size());
  int64_t start = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    Value& out = output(node, outputs, k);
    Shape expected = in.shape;
    if (drop_axis)
      expected.erase(expected.begin() + axis);
    else
      expected[axis] = static_cast<int32_t>(sizes[k]);
    expect_shape(node, "output " + std::to_string(k), out.shape, expected);
    out.data.assign(static_cast<size_t>(out.element_count()) * es, 0);
    const size_t chunk = static_cast<size_t>(sizes[k] * inner) * es;
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(out.data.data() + static_cast<size_t>(o) * chunk,
                  in.data.data() + static_cast<size_t>((o * in.shape[axis] + start) * inner) * es,
                  chunk);
    }
    start += sizes[k];
  }
}

void unpack(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  const int32_t axis = resolve_axis(node, node.options.axis, in.shape.size(), "axis");
  if (node.options.num != 0 && node.options.num != in.shape[axis]) {
    fail(node, "num is " + std::to_string(node.options.num) + "; expected " +
                   std::to_string(in.shape[axis]) + ", dimension " + std::to_string(axis) +
                   " of input 0 " + shape_text_compact(in.shape));
  }
  cut(node, in, outputs, axis, std::vector<int64_t>(static_cast<size_t>(in.shape[axis]), 1), true);
}

void split(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const std::vector<int64_t> a = read_indices(node, input(node, inputs, 0, "axis"), "input 0");
  const Value& in = input(node, inputs, 1, "data");
  if (a.size() != 1) fail(node, "input 0 (axis) must hold one value");
  const int32_t axis = resolve_axis(node, a[0], in.shape.size(), "axis");
  const int64_t n = static_cast<int64_t>(outputs.size());
  if (n == 0 || in.shape[axis] % n != 0) {
    fail(node, "dimension " + std::to_string(axis) + " of input 1 " + shape_text_compact(in.shape) +
                   " does not split into " + std::to_string(n) + " equal parts");
  }
  cut(node, in, outputs, axis, std::vector<int64_t>(static_cast<size_t>(n), in.shape[axis] / n),
      false);
}

void split_v(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  std::vector<int64_t> sizes =
      read_indices(node, input(node, inputs, 1, "size_splits"), "input 1 (size_splits)");
  const std::vector<int64_t> a = read_indices(node, input(node, inputs, 2, "axis"), "input 2");
  if (a.size() != 1) fail(node, "input 2 (axis) must hold one value");
  const int32_t axis = resolve_axis(node, a[0], in.shape.size(), "axis");
  int64_t known = 0;
  int unknown = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1 && unknown < 0)
      unknown = static_cast<int>(i);
    else if (sizes[i] < 0)
      fail(node, "input 1 (size_splits) has entry " + std::to_string(sizes[i]));
    else
      known += sizes[i];
  }
  if (unknown >= 0) sizes[static_cast<size_t>(unknown)] = in.shape[axis] - known;
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (total != in.shape[axis] || (unknown >= 0 && sizes[static_cast<size_t>(unknown)] < 0)) {
    fail(node, "input 1 (size_splits) does not add up to " + std::to_string(in.shape[axis]) +
                   ", dimension " + std::to_string(axis) + " of input 0 " +
                   shape_text_compact(in.shape));
  }
  cut(node, in, outputs, axis, sizes, false);
}

// SLICE and STRIDED_SLICE: output coordinate c along dimension d reads begin[d] + c * stride[d].
void strided_copy(const Node& node, const Value& in, Value& out, const std::vector<int64_t>& begin,
                  const std::vector<int64_t>& stride, const Shape& full_shape) {
  if (product(full_shape, 0, full_shape.size()) != out.element_count()) {
    fail(node, "output 0 has shape " + shape_text_compact(out.shape) + "; expected " +
                   shape_text_compact(full_shape) +
                   " (or that shape without its shrunk dimensions)");
  }
  Value view = out;
  view.shape = full_shape;
  gather_elements(node, in, view, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0;
    for (size_t d = 0; d < c.size(); ++d) k += (begin[d] + c[d] * stride[d]) * st[d];
    return k;
  });
  out.data = std::move(view.data);
}

void slice(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const size_t rank = in.shape.size();
  const std::vector<int64_t> begin = read_indices(node, input(node, inputs, 1, "begin"), "input 1");
  std::vector<int64_t> size = read_indices(node, input(node, inputs, 2, "size"), "input 2");
  if (begin.size() != rank || size.size() != rank) {
    fail(node, "begin and size have " + std::to_string(begin.size()) + " and " +
                   std::to_string(size.size()) + " entries; expected " + std::to_string(rank) +
                   ", the rank of input 0");
  }
  Shape shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (size[d] == -1) size[d] = in.shape[d] - begin[d];
    if (begin[d] < 0 || size[d] < 0 || begin[d] + size[d] > in.shape[d]) {
      fail(node, "dimension " + std::to_string(d) + ": begin " + std::to_string(begin[d]) +
                     " and size " + std::to_string(size[d]) + " do not fit input 0 " +
                     shape_text_compact(in.shape));
    }
    shape[d] = static_cast<int32_t>(size[d]);
  }
  expect_shape(node, "output 0", out.shape, shape);
  strided_copy(node, in, out, begin, std::vector<int64_t>(rank, 1), shape);
}

// STRIDED_SLICE with begin/end masks, shrink_axis_mask and offset as the schema defines them;
// ellipsis and new-axis masks are refused.
void strided_slice(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const OpOptions& o = node.options;
  if (o.ellipsis_mask != 0 || o.new_axis_mask != 0) {
    fail(node, "ellipsis_mask " + std::to_string(o.ellipsis_mask) + " and new_axis_mask " +
                   std::to_string(o.new_axis_mask) +
                   " are not supported by the reference interpreter; expected 0");
  }
  const size_t rank = in.shape.size();
  const std::vector<int64_t> b = read_indices(node, input(node, inputs, 1, "begin"), "input 1");
  const std::vector<int64_t> e = read_indices(node, input(node, inputs, 2, "end"), "input 2");
  std::vector<int64_t> s(b.size(), 1);
  if (inputs.size() > 3 && inputs[3]) s = read_indices(node, *inputs[3], "input 3 (strides)");
  if (b.size() > rank || e.size() != b.size() || s.size() != b.size()) {
    fail(node, "begin, end and strides have " + std::to_string(b.size()) + ", " +
                   std::to_string(e.size()) + " and " + std::to_string(s.size()) +
                   " entries; expected as many, at most " + std::to_string(rank));
  }
  std::vector<int64_t> begin(rank, 0), stride(rank, 1);
  Shape full(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dim = in.shape[d];
    if (d >= b.size()) {
      full[d] = static_cast<int32_t>(dim);
      continue;
    }
    const int64_t st = s[d];
    if (st == 0) fail(node, "stride " + std::to_string(d) + " is 0");
    const bool shrink = (o.shrink_axis_mask >> d) & 1;
    auto clamp = [&](int64_t x) {
      if (x < 0) x += dim;
      return st > 0 ? std::clamp<int64_t>(x, 0, dim) : std::clamp<int64_t>(x, -1, dim - 1);
    };
    const bool begin_masked = (o.begin_mask >> d) & 1;
    int64_t start = begin_masked ? (st > 0 ? 0 : dim - 1) : clamp(b[d]);
    int64_t stop;
    if (shrink) {
      // One element at begin (the begin mask still applies, as in TFLite); it must exist.
      if (!begin_masked && (b[d] < -dim || b[d] >= dim)) {
        fail(node, "begin " + std::to_string(b[d]) + " of shrunk dimension " + std::to_string(d) +
                       " is outside input 0 " + shape_text_compact(in.shape));
      }
      if (!begin_masked) start = b[d] < 0 ? b[d] + dim : b[d];
      if (dim == 0) fail(node, "shrunk dimension " + std::to_string(d) + " of input 0 is empty");
      start = std::min<int64_t>(start, dim - 1);
      stop = start + 1;
    } else if ((o.end_mask >> d) & 1) {
      stop = st > 0 ? dim : -1;
    } else {
      stop = clamp(o.offset ? b[d] + e[d] : e[d]);
    }
    const int64_t step = shrink ? 1 : st;
    const int64_t count = step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step)
                                   : std::max<int64_t>(0, (start - stop + (-step) - 1) / (-step));
    begin[d] = start;
    stride[d] = step;
    full[d] = static_cast<int32_t>(count);
  }
  strided_copy(node, in, out, begin, stride, full);
}

void gather(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& params = input(node, inputs, 0, "params");
  const Value& idx_v = input(node, inputs, 1, "indices");
  Value& out = output(node, outputs);
  if (node.options.batch_dims != 0) {
    fail(node, "batch_dims is " + std::to_string(node.options.batch_dims) +
                   "; the reference interpreter supports only 0");
  }
  const int32_t axis = resolve_axis(node, node.options.axis, params.shape.size(), "axis");
  const std::vector<int64_t> idx = read_indices(node, idx_v, "input 1 (indices)");
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= params.shape[axis]) {
      fail(node, "index " + std::to_string(idx[i]) + " (element " + std::to_string(i) +
                     " of input 1) is outside dimension " + std::to_string(axis) + " of input 0 " +
                     shape_text_compact(params.shape));
    }
  }
  Shape expected(params.shape.begin(), params.shape.begin() + axis);
  expected.insert(expected.end(), idx_v.shape.begin(), idx_v.shape.end());
  expected.insert(expected.end(), params.shape.begin() + axis + 1, params.shape.end());
  expect_shape(node, "output 0", out.shape, expected);
  const size_t ir = idx_v.shape.size();
  const std::vector<int64_t> idx_strides = strides_of(idx_v.shape);
  gather_elements(node, params, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0, flat = 0;
    for (size_t d = 0; d < static_cast<size_t>(axis); ++d) k += c[d] * st[d];
    for (size_t d = 0; d < ir; ++d) flat += c[axis + d] * idx_strides[d];
    k += idx[static_cast<size_t>(flat)] * st[axis];
    for (size_t d = static_cast<size_t>(axis) + 1; d < params.shape.size(); ++d)
      k += c[d - 1 + ir] * st[d];
    return k;
  });
}

void gather_nd(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& params = input(node, inputs, 0, "params");
  const Value& idx_v = input(node, inputs, 1, "indices");
  Value& out = output(node, outputs);
  const std::vector<int64_t> idx = read_indices(node, idx_v, "input 1 (indices)");
  if (idx_v.shape.empty() || static_cast<size_t>(idx_v.shape.back()) > params.shape.size()) {
    fail(node, "input 1 (indices) has shape " + shape_text_compact(idx_v.shape) +
                   "; expected a last dimension of at most " + std::to_string(params.shape.size()) +
                   ", the rank of input 0");
  }
  const size_t k = static_cast<size_t>(idx_v.shape.back());
  Shape expected(idx_v.shape.begin(), idx_v.shape.end() - 1);
  expected.insert(expected.end(), params.shape.begin() + k, params.shape.end());
  expect_shape(node, "output 0", out.shape, expected);
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t dim = params.shape[i % k];
    if (idx[i] < 0 || idx[i] >= dim) {
      fail(node, "index " + std::to_string(idx[i]) + " (element " + std::to_string(i) +
                     " of input 1) is outside dimension " + std::to_string(i % k) + " of input 0 " +
                     shape_text_compact(params.shape));
    }
  }
  const size_t lead = idx_v.shape.size() - 1;
  gather_elements(node, params, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t row = 0;
    for (size_t d = 0; d < lead; ++d) row = row * idx_v.shape[d] + c[d];
    int64_t off = 0;
    for (size_t j = 0; j < k; ++j) off += idx[static_cast<size_t>(row) * k + j] * st[j];
    for (size_t d = k; d < params.shape.size(); ++d) off += c[lead + d - k] * st[d];
    return off;
  });
}

// PAD (zero, or the output zero point when quantized), PADV2 (operand 2), MIRROR_PAD.
void pad_kind(const Node& node, const Inputs& inputs, Outputs& outputs, bool mirror) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const Value& p = input(node, inputs, 1, "paddings");
  const std::vector<int64_t> pads = read_indices(node, p, "input 1 (paddings)");
  const size_t rank = in.shape.size();
  if (pads.size() != rank * 2) {
    fail(node, "input 1 (paddings) has shape " + shape_text_compact(p.shape) + "; expected [" +
                   std::to_string(rank) + ",2] for input 0 " + shape_text_compact(in.shape));
  }
  Shape expected(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t lo = pads[2 * d], hi = pads[2 * d + 1];
    const int64_t limit = mirror ? in.shape[d] - (node.options.mirror_symmetric ? 0 : 1) : -1;
    if (lo < 0 || hi < 0 || (mirror && (lo > limit || hi > limit))) {
      fail(node, "paddings of dimension " + std::to_string(d) + " are [" + std::to_string(lo) +
                     "," + std::to_string(hi) + "]; expected values >= 0" +
                     (mirror ? " and <= " + std::to_string(limit) : std::string()));
    }
    expected[d] = static_cast<int32_t>(in.shape[d] + lo + hi);
  }
  expect_shape(node, "output 0", out.shape, expected);
  check_bytes(node, "input 0", in);
  const size_t es = element_size(in.type);
  out.data.assign(static_cast<size_t>(out.element_count()) * es, 0);
  std::vector<uint8_t> fill(es, 0);
  if (!mirror && inputs.size() > 2 && inputs[2]) {
    const Value& v = *inputs[2];
    if (v.element_count() != 1 || v.data.size() != es) {
      fail(node, "input 2 (constant_values) must hold one " +
                     tensor_type_name(Format::Circle, in.type) + " value");
    }
    fill = v.data;
  } else if (!mirror && !out.quant.zero_point.empty() && out.quant.zero_point[0] != 0) {
    const int64_t zp = out.quant.zero_point[0];
    std::memcpy(fill.data(), &zp, es);  // little-endian: the low bytes hold the value
  }
  const std::vector<int64_t> st = strides_of(in.shape);
  const bool symmetric = node.options.mirror_symmetric;
  for_each_index(out.shape, [&](int64_t i, const std::vector<int32_t>& c) {
    int64_t k = 0;
    for (size_t d = 0; d < rank; ++d) {
      int64_t x = c[d] - pads[2 * d];
      const int64_t dim = in.shape[d];
      if (x < 0 || x >= dim) {
        if (!mirror) {
          std::memcpy(out.data.data() + static_cast<size_t>(i) * es, fill.data(), es);
          return;
        }
        x = x < 0 ? (symmetric ? -x - 1 : -x) : (symmetric ? 2 * dim - x - 1 : 2 * dim - x - 2);
      }
      k += x * st[d];
    }
    copy_element(in, k, out, i);
  });
}

void pad(const Node& node, const Inputs& inputs, Outputs& outputs) {
  pad_kind(node, inputs, outputs, false);
}

void mirror_pad(const Node& node, const Inputs& inputs, Outputs& outputs) {
  pad_kind(node, inputs, outputs, true);
}

void check_rank4(const Node& node, const Value& in) {
  if (in.shape.size() != 4) {
    fail(node, "input 0 has shape " + shape_text_compact(in.shape) + "; expected rank 4 (NHWC)");
  }
}

void depth_to_space(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  check_rank4(node, in);
  const int32_t bs = node.options.block_size;
  if (bs < 1 || in.shape[3] % (static_cast<int64_t>(bs) * bs) != 0) {
    fail(node, "block_size " + std::to_string(bs) + " does not divide the depth of input 0 " +
                   shape_text_compact(in.shape) + " into block_size^2 parts");
  }
  const int32_t c_out = static_cast<int32_t>(in.shape[3] / (static_cast<int64_t>(bs) * bs));
  expect_shape(node, "output 0", out.shape,
               {in.shape[0], in.shape[1] * bs, in.shape[2] * bs, c_out});
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    const int64_t channel = ((c[1] % bs) * bs + c[2] % bs) * c_out + c[3];
    return c[0] * st[0] + (c[1] / bs) * st[1] + (c[2] / bs) * st[2] + channel;
  });
}

void space_to_depth(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  check_rank4(node, in);
  const int32_t bs = node.options.block_size;
  if (bs < 1 || in.shape[1] % bs != 0 || in.shape[2] % bs != 0) {
    fail(node, "block_size " + std::to_string(bs) +
                   " does not divide height and width of input 0 " + shape_text_compact(in.shape));
  }
  const int32_t c_in = in.shape[3];
  expect_shape(node, "output 0", out.shape,
               {in.shape[0], in.shape[1] / bs, in.shape[2] / bs, c_in * bs * bs});
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    const int32_t block = c[3] / c_in, ch = c[3] % c_in;
    const int64_t h = c[1] * bs + block / bs, w = c[2] * bs + block % bs;
    return c[0] * st[0] + h * st[1] + w * st[2] + ch;
  });
}

void tile(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const std::vector<int64_t> m = read_indices(node, input(node, inputs, 1, "multiples"), "input 1");
  if (m.size() != in.shape.size()) {
    fail(node, "input 1 (multiples) has " + std::to_string(m.size()) + " entries; expected " +
                   std::to_string(in.shape.size()) + ", the rank of input 0");
  }
  Shape expected(in.shape.size());
  for (size_t d = 0; d < m.size(); ++d) {
    if (m[d] < 0) fail(node, "input 1 (multiples) has entry " + std::to_string(m[d]));
    expected[d] = static_cast<int32_t>(in.shape[d] * m[d]);
  }
  expect_shape(node, "output 0", out.shape, expected);
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0;
    for (size_t d = 0; d < c.size(); ++d) k += (c[d] % in.shape[d]) * st[d];
    return k;
  });
}

void reverse_v2(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const std::vector<int64_t> axes = read_indices(node, input(node, inputs, 1, "axis"), "input 1");
  std::vector<bool> flip(in.shape.size(), false);
  for (int64_t a : axes) flip[resolve_axis(node, a, in.shape.size(), "axis")] = true;
  expect_shape(node, "output 0", out.shape, in.shape);
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0;
    for (size_t d = 0; d < c.size(); ++d) k += (flip[d] ? in.shape[d] - 1 - c[d] : c[d]) * st[d];
    return k;
  });
}

// BROADCAST_TO: NumPy broadcasting of the input to the output's shape (operand 1 must agree).
void broadcast_to(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const std::vector<int64_t> target =
      read_indices(node, input(node, inputs, 1, "shape"), "input 1 (shape)");
  expect_shape(node, "output 0", out.shape, Shape(target.begin(), target.end()));
  const size_t lead = out.shape.size() >= in.shape.size() ? out.shape.size() - in.shape.size() : 0;
  bool ok = in.shape.size() <= out.shape.size();
  for (size_t d = 0; ok && d < in.shape.size(); ++d)
    ok = in.shape[d] == 1 || in.shape[d] == out.shape[lead + d];
  if (!ok) {
    fail(node, "input 0 " + shape_text_compact(in.shape) + " does not broadcast to " +
                   shape_text_compact(out.shape));
  }
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    int64_t k = 0;
    for (size_t d = 0; d < in.shape.size(); ++d) k += (in.shape[d] == 1 ? 0 : c[lead + d]) * st[d];
    return k;
  });
}

// REDUCE_MAX / REDUCE_MIN: the result is one of the input's elements, so any ordered type works
// on its stored values.
template <typename T, bool kMax>
void extreme(const Value& in, Value& out, const std::vector<bool>& reduced) {
  const size_t rank = in.shape.size();
  std::vector<bool> seen(static_cast<size_t>(out.element_count()), false);
  T* y = out.as<T>();
  const T* x = in.as<T>();
  for_each_index(in.shape, [&](int64_t i, const std::vector<int32_t>& c) {
    int64_t k = 0;
    for (size_t d = 0; d < rank; ++d)
      if (!reduced[d]) k = k * in.shape[d] + c[d];
    const size_t j = static_cast<size_t>(k);
    if (!seen[j] || (kMax ? x[i] > y[j] : x[i] < y[j])) y[j] = x[i];
    seen[j] = true;
  });
}

template <bool kMax>
void reduce_extreme(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  check_bytes(node, "input 0", in);
  const std::vector<int64_t> axes = read_indices(node, input(node, inputs, 1, "axes"), "input 1");
  std::vector<bool> reduced(in.shape.size(), false);
  for (int64_t a : axes) reduced[resolve_axis(node, a, in.shape.size(), "axis")] = true;
  Shape expected;
  for (size_t d = 0; d < in.shape.size(); ++d) {
    if (!reduced[d])
      expected.push_back(in.shape[d]);
    else if (node.options.keep_dims)
      expected.push_back(1);
  }
  expect_shape(node, "output 0", out.shape, expected);
  out.data.assign(static_cast<size_t>(out.element_count()) * element_size(out.type), 0);
  switch (static_cast<TensorType>(in.type)) {
    case TensorType::Float32:
      return extreme<float, kMax>(in, out, reduced);
    case TensorType::Int8:
    case TensorType::Int4:
      return extreme<int8_t, kMax>(in, out, reduced);
    case TensorType::UInt8:
    case TensorType::UInt4:
      return extreme<uint8_t, kMax>(in, out, reduced);
    case TensorType::Int16:
      return extreme<int16_t, kMax>(in, out, reduced);
    case TensorType::Int32:
      return extreme<int32_t, kMax>(in, out, reduced);
    case TensorType::Int64:
      return extreme<int64_t, kMax>(in, out, reduced);
    default:
      fail(node, "input 0 has type " + tensor_type_name(Format::Circle, in.type) +
                     "; expected FLOAT32 or an integer type");
  }
}

// TFLite's nearest-neighbour source index (float scale; align_corners rounds half away from
// zero, otherwise floor; half-pixel centres shift by 0.5 and clamp at 0).
int32_t nearest(int32_t out_index, int32_t in_size, int32_t out_size, bool align_corners,
                bool half_pixel) {
  const float scale = align_corners && out_size > 1
                          ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                          : static_cast<float>(in_size) / static_cast<float>(out_size);
  const float pos = (static_cast<float>(out_index) + (half_pixel ? 0.5f : 0.0f)) * scale;
  int32_t i = static_cast<int32_t>(align_corners ? std::round(pos) : std::floor(pos));
  i = std::min(i, in_size - 1);
  return half_pixel ? std::max(i, 0) : i;
}

void resize_nearest_neighbor(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  check_rank4(node, in);
  const std::vector<int64_t> size = read_indices(node, input(node, inputs, 1, "size"), "input 1");
  if (size.size() != 2 || size[0] < 1 || size[1] < 1) {
    fail(node, "input 1 (size) must hold two sizes >= 1 (height, width)");
  }
  if (in.shape[1] < 1 || in.shape[2] < 1) {
    fail(node, "input 0 has shape " + shape_text_compact(in.shape) +
                   "; expected a height and width >= 1");
  }
  const int32_t oh = static_cast<int32_t>(size[0]), ow = static_cast<int32_t>(size[1]);
  expect_shape(node, "output 0", out.shape, {in.shape[0], oh, ow, in.shape[3]});
  const bool ac = node.options.align_corners, hp = node.options.half_pixel_centers;
  gather_elements(node, in, out, [&](const std::vector<int32_t>& c, const auto& st) {
    return c[0] * st[0] + nearest(c[1], in.shape[1], oh, ac, hp) * st[1] +
           nearest(c[2], in.shape[2], ow, ac, hp) * st[2] + c[3];
  });
}

// SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND on NHWC (or NHC, with a block of width 1), as TFLite
// orders the batches: output batch (i * block_w + j) * batch + b holds block offset (i, j).
struct Blocks {
  int64_t bh = 1, bw = 1;  // each and their product at most INT32_MAX (read_blocks)
  int64_t top = 0, left = 0, bottom = 0, right = 0;  // paddings (SPACE_TO_BATCH) or crops
};

Blocks read_blocks(const Node& node, const Inputs& inputs, const Value& in, const char* what) {
  if (in.shape.size() != 3 && in.shape.size() != 4) {
    fail(node, "input 0 has shape " + shape_text_compact(in.shape) + "; expected rank 3 or 4");
  }
  const size_t spatial = in.shape.size() - 2;
  const std::vector<int64_t> block =
      read_indices(node, input(node, inputs, 1, "block_shape"), "input 1 (block_shape)");
  const std::vector<int64_t> pads =
      read_indices(node, input(node, inputs, 2, what), std::string("input 2 (") + what + ")");
  if (block.size() != spatial || pads.size() != 2 * spatial) {
    fail(node, "input 1 (block_shape) and input 2 (" + std::string(what) + ") have " +
                   std::to_string(block.size()) + " and " + std::to_string(pads.size()) +
                   " values; expected " + std::to_string(spatial) + " and " +
                   std::to_string(2 * spatial) + " for input 0 " + shape_text_compact(in.shape));
  }
  // Bounded so that every shape computed from them fits int64 (a block of 65536 x 65536 would
  // otherwise wrap the batch arithmetic in int32).
  int64_t product = 1;
  for (int64_t b : block) {
    if (b < 1 || b > INT32_MAX)
      fail(node, "input 1 (block_shape) has entry " + std::to_string(b) + "; expected 1 .. " +
                     std::to_string(INT32_MAX));
    product *= b;
    if (product > INT32_MAX)
      fail(node, "input 1 (block_shape) multiplies out to more than " + std::to_string(INT32_MAX) +
                     " batches");
  }
  for (int64_t p : pads)
    if (p < 0 || p > INT32_MAX)
      fail(node, "input 2 (" + std::string(what) + ") has entry " + std::to_string(p) +
                     "; expected 0 .. " + std::to_string(INT32_MAX));
  Blocks r;
  r.bh = block[0];
  r.top = pads[0];
  r.bottom = pads[1];
  if (spatial == 2) {
    r.bw = block[1];
    r.left = pads[2];
    r.right = pads[3];
  }
  return r;
}

// Views an NHC shape as NH1C.
Shape as_4d(const Shape& s) {
  return s.size() == 4 ? s : Shape{s[0], s[1], 1, s[2]};
}

void space_to_batch_nd(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const Blocks b = read_blocks(node, inputs, in, "paddings");
  const Shape s = as_4d(in.shape);
  const int64_t ph = s[1] + b.top + b.bottom, pw = s[2] + b.left + b.right;
  if (ph % b.bh != 0 || pw % b.bw != 0) {
    fail(node, "the padded height and width " + std::to_string(ph) + "x" + std::to_string(pw) +
                   " are not multiples of the block " + std::to_string(b.bh) + "x" +
                   std::to_string(b.bw));
  }
  const int64_t batches = int64_t(s[0]) * b.bh * b.bw;
  if (batches > INT32_MAX || ph / b.bh > INT32_MAX || pw / b.bw > INT32_MAX)
    fail(node, "the output shape would have a dimension over " + std::to_string(INT32_MAX));
  Shape expected{static_cast<int32_t>(batches), static_cast<int32_t>(ph / b.bh),
                 static_cast<int32_t>(pw / b.bw), s[3]};
  if (in.shape.size() == 3) expected.erase(expected.begin() + 2);
  expect_shape(node, "output 0", out.shape, expected);
  check_bytes(node, "input 0", in);
  const size_t es = element_size(in.type);
  out.data.assign(static_cast<size_t>(out.element_count()) * es, 0);
  std::vector<uint8_t> fill(es, 0);
  if (!out.quant.zero_point.empty()) std::memcpy(fill.data(), &out.quant.zero_point[0], es);
  const Shape o = as_4d(out.shape);
  const std::vector<int64_t> st = strides_of(s);
  for_each_index(o, [&](int64_t i, const std::vector<int32_t>& c) {
    const int64_t batch = c[0] % s[0], block = c[0] / s[0];
    const int64_t h = c[1] * b.bh + block / b.bw - b.top;
    const int64_t w = c[2] * b.bw + block % b.bw - b.left;
    if (h < 0 || h >= s[1] || w < 0 || w >= s[2]) {
      std::memcpy(out.data.data() + static_cast<size_t>(i) * es, fill.data(), es);
    } else {
      copy_element(in, batch * st[0] + h * st[1] + w * st[2] + c[3], out, i);
    }
  });
}

void batch_to_space_nd(const Node& node, const Inputs& inputs, Outputs& outputs) {
  const Value& in = input(node, inputs, 0, "data");
  Value& out = output(node, outputs);
  const Blocks b = read_blocks(node, inputs, in, "crops");
  const Shape s = as_4d(in.shape);
  if (s[0] % (b.bh * b.bw) != 0) {
    fail(node, "the batch " + std::to_string(s[0]) + " of input 0 is not a multiple of the block " +
                   std::to_string(b.bh) + "x" + std::to_string(b.bw));
  }
  const int64_t oh = s[1] * b.bh - b.top - b.bottom, ow = s[2] * b.bw - b.left - b.right;
  if (oh < 0 || ow < 0) fail(node, "input 2 (crops) removes more than the input holds");
  if (oh > INT32_MAX || ow > INT32_MAX)
    fail(node, "the output shape would have a dimension over " + std::to_string(INT32_MAX));
  Shape expected{static_cast<int32_t>(s[0] / (b.bh * b.bw)), static_cast<int32_t>(oh),
                 static_cast<int32_t>(ow), s[3]};
  if (in.shape.size() == 3) expected.erase(expected.begin() + 2);
  expect_shape(node, "output 0", out.shape, expected);
  const int32_t out_batch = expected[0];
  Value view = out;
  view.shape = as_4d(out.shape);
  Value in4 = in;
  in4.shape = s;
  gather_elements(node, in4, view, [&](const std::vector<int32_t>& c, const auto& st) {
    const int64_t h = c[1] + b.top, w = c[2] + b.left;
    const int64_t block = (h % b.bh) * b.bw + w % b.bw;
    return (block * out_batch + c[0]) * st[0] + (h / b.bh) * st[1] + (w / b.bw) * st[2] + c[3];
  });
  out.data = std::move(view.data);
}

const std::vector<KernelEntry>& table() {
  static const std::vector<KernelEntry> entries = {
      {kReshape, reshape},
      {kSqueeze, squeeze},
      {kExpandDims, expand_dims},
      {kTranspose, transpose},
      {kConcatenation, concatenation},
      {kPack, pack},
      {kUnpack, unpack},
      {kSplit, split},
      {kSplitV, split_v},
      {kSlice, slice},
      {kStridedSlice, strided_slice},
      {kGather, gather},
      {kGatherNd, gather_nd},
      {kPad, pad},
      {kPadV2, pad},
      {kMirrorPad, mirror_pad},
      {kDepthToSpace, depth_to_space},
      {kSpaceToDepth, space_to_depth},
      {kTile, tile},
      {kReverseV2, reverse_v2},
      {kBroadcastTo, broadcast_to},
      {kBatchToSpaceNd, batch_to_space_nd},
      {kSpaceToBatchNd, space_to_batch_nd},
      {kReduceMax, reduce_extreme<true>},
      {kReduceMin, reduce_extreme<false>},
      {kResizeNearestNeighbor, resize_nearest_neighbor},
  };
  return entries;
}

bool same_params(const Value& a, const Value& b) {
  return a.type == b.type && a.quant == b.quant;
}

}  // namespace

Kernel find_generic_kernel(const Node& node, const std::vector<const Value*>& inputs,
                           const std::vector<Value*>& outputs) {
  const Kernel kernel = find_kernel(table(), node.code);
  if (!kernel || outputs.empty()) return nullptr;
  const OpProperty* property = op_property(node.code);
  const size_t data = property ? static_cast<size_t>(property->data_input) : 0;
  if (data >= inputs.size() || !inputs[data]) return nullptr;
  const Value& in = *inputs[data];
  if (element_size(in.type) == 0) return nullptr;
  for (const Value* out : outputs)
    if (!out || !same_params(*out, in)) return nullptr;
  // These kernels only move values: a fused activation (CONCATENATION's) would change them.
  if (node.options.activation != Activation::None) return nullptr;
  if (!property) return kernel;
  if (property->inputs_share_output) {
    for (const Value* v : inputs)
      if (!v || !same_params(*v, *outputs[0])) return nullptr;
  }
  for (int i : property->share_data_input)
    if (size_t(i) < inputs.size() && inputs[i] && !same_params(*inputs[i], in)) return nullptr;
  if (property->pads_with_zero_point && in.quant.zero_point.size() > 1) return nullptr;
  return kernel;
}

std::vector<int32_t> generic_kernel_codes() {
  return kernel_codes(table());
}

}  // namespace qimplant::exec
