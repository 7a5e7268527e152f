#include "qparam/value_layout.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "io/mapped_file.h"
#include "model/op_properties.h"
#include "util/error.h"

namespace qimplant {

namespace {

std::string dims_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// The order the elements end up in: the source dimensions of size > 1, in target order.
// Two permutations with the same key move no element differently on this shape.
std::vector<int> order_key(const std::vector<int64_t>& shape, const std::vector<int>& perm) {
  std::vector<int> key;
  for (int p : perm)
    if (shape[static_cast<size_t>(p)] != 1) key.push_back(p);
  return key;
}

bool is_identity_order(const std::vector<int64_t>& shape, const std::vector<int>& perm) {
  const std::vector<int> key = order_key(shape, perm);
  return std::is_sorted(key.begin(), key.end());
}

npy::Array transposed(const npy::Array& v, const std::vector<int>& perm) {
  const size_t rank = v.shape.size();
  const std::vector<int64_t> out_shape = permute_shape(v.shape, perm);
  // Strides of the source, read in target order.
  std::vector<size_t> src_stride(rank, 1);
  for (size_t d = rank; d-- > 1;)
    src_stride[d - 1] = src_stride[d] * static_cast<size_t>(v.shape[d]);
  std::vector<size_t> stride(rank);
  for (size_t i = 0; i < rank; ++i) stride[i] = src_stride[static_cast<size_t>(perm[i])];
  const size_t item = static_cast<size_t>(v.item_size);
  const size_t count = v.count();
  std::vector<uint8_t> bytes(count * item);
  std::vector<int64_t> index(rank, 0);
  size_t from = 0;
  for (size_t k = 0; k < count; ++k) {
    std::memcpy(bytes.data() + k * item, v.data + from * item, item);
    for (size_t d = rank; d-- > 0;) {  // next index in target order
      from += stride[d];
      if (++index[d] < out_shape[d]) break;
      from -= stride[d] * static_cast<size_t>(out_shape[d]);
      index[d] = 0;
    }
  }
  npy::Array a = v;
  a.shape = out_shape;
  a.storage = MappedFile::from_bytes(v.path, std::move(bytes));
  a.data = a.storage->data();
  a.nbytes = a.storage->size();
  return a;
}

}  // namespace

std::optional<std::vector<int>> layout_permutation(const std::string& from, const std::string& to) {
  if (from.size() != to.size()) return std::nullopt;
  std::vector<int> perm;
  for (char c : to) {
    const size_t at = from.find(c);
    if (at == std::string::npos || from.find(c, at + 1) != std::string::npos) return std::nullopt;
    perm.push_back(static_cast<int>(at));
  }
  return perm;
}

std::vector<int64_t> permute_shape(const std::vector<int64_t>& shape,
                                   const std::vector<int>& perm) {
  std::vector<int64_t> out;
  for (int p : perm) out.push_back(shape[static_cast<size_t>(p)]);
  return out;
}

std::string move_value_to_model_layout(const ModelInfo& model, const TensorRef& ref, QParamEntry& e,
                                       const std::string& where) {
  if (!e.value || e.value_layout.empty()) return "";
  const npy::Array& v = *e.value;
  const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
  const std::vector<int64_t> want(t.shape.begin(), t.shape.end());
  // A layout of another rank says nothing about this value; the planner compares shapes.
  if (e.value_layout.size() != v.shape.size()) return "";
  const std::string found = "\"value\" '" + v.path + "' has shape " + dims_text(v.shape) +
                            " in the producer's layout " + e.value_layout;

  // Which layouts the model reads the tensor in: those of the operators taking it as weight.
  std::map<std::string, std::string> layouts;  // layout -> first operator, for messages
  const SubgraphInfo& sg = model.subgraphs[ref.subgraph];
  for (size_t i = 0; i < sg.operators.size(); ++i) {
    const OperatorInfo& op = sg.operators[i];
    const OpProperty* p = op_property(op.builtin_code);
    if (!p || p->weight_input < 0 || p->weight_layout.empty()) continue;
    const size_t w = static_cast<size_t>(p->weight_input);
    if (w < op.inputs.size() && op.inputs[w] == static_cast<int32_t>(ref.tensor))
      layouts.emplace(p->weight_layout, "#" + std::to_string(i) + " " + operator_name(model, op));
  }
  if (layouts.empty()) {
    if (v.shape == want) return "";
    throw Error(where + ": " + found + ", expected the tensor's shape " + dims_text(want) +
                "; no operator of the model reads the tensor as its weight, so the layout to "
                "move it to is unknown");
  }

  struct Fit {
    std::string layout, op;
    std::vector<int> perm;
  };
  std::vector<Fit> fits;
  std::string tried;
  for (const auto& [layout, op] : layouts) {
    const auto perm = layout_permutation(e.value_layout, layout);
    if (!perm) {
      tried += "; " + op + " reads it in layout " + layout + ", which is not a reordering of " +
               e.value_layout;
      continue;
    }
    const std::vector<int64_t> moved = permute_shape(v.shape, *perm);
    if (moved != want) {
      tried +=
          "; as the weight of " + op + " (layout " + layout + ") it would be " + dims_text(moved);
      continue;
    }
    fits.push_back({layout, op, *perm});
  }
  if (fits.empty())
    throw Error(where + ": " + found + ", expected the tensor's shape " + dims_text(want) + tried);
  for (const Fit& f : fits)
    if (order_key(v.shape, f.perm) != order_key(v.shape, fits[0].perm))
      throw Error(where + ": " + found + " fits the tensor's shape " + dims_text(want) +
                  " both as the weight of " + fits[0].op + " (layout " + fits[0].layout +
                  ") and of " + f.op + " (layout " + f.layout +
                  "), which order its elements differently (ambiguous)");
  const Fit& fit = fits[0];
  std::string what;
  const std::string from_text = e.value_layout + " " + dims_text(v.shape);
  if (!is_identity_order(v.shape, fit.perm)) {
    e.value = transposed(v, fit.perm);
    what = "value moved from the producer's layout " + from_text + " to " + fit.layout + " " +
           dims_text(want) + " (the weight layout of " + fit.op + ")";
  } else if (v.shape != want) {
    // Only dimensions of size 1 move (a 1x1 kernel): the same bytes, the model's shape.
    e.value->shape = want;
    what = "value reshaped from the producer's layout " + from_text + " to " + fit.layout + " " +
           dims_text(want) + " (the weight layout of " + fit.op +
           "; the element order is the same)";
  }
  if (e.scale.size() > 1 && e.layout_axis) {
    const int axis = *e.layout_axis;
    const auto at = std::find(fit.perm.begin(), fit.perm.end(), axis);
    if (at != fit.perm.end()) {
      const int32_t moved = static_cast<int32_t>(at - fit.perm.begin());
      e.quantized_dimension = moved;
      e.quantized_dimension_auto = false;
      if (moved != axis || !what.empty())
        what += std::string(what.empty() ? "" : ", ") + "per-axis axis " + std::to_string(axis) +
                " -> quantized_dimension " + std::to_string(moved);
    }
  }
  return what;
}

}  // namespace qimplant
