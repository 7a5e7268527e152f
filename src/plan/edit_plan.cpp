#include "plan/edit_plan.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace qimplant {

size_t BufferContent::size() const {
  if (view) return view->nbytes;
  if (recipe) {
    size_t n = 1;
    for (int32_t d : recipe->shape) n *= static_cast<size_t>(d < 0 ? 0 : d);
    return n * static_cast<size_t>(qtype_info(recipe->qtype).size);
  }
  return owned.size();
}

void BufferContent::write_to(
    uint8_t* out, const std::function<void(const uint8_t*, size_t)>& done_with) const {
  constexpr size_t kSlice = 8u << 20;  // source bytes handled between page drops
  if (view) {
    for (size_t at = 0; at < view->nbytes; at += kSlice) {
      const size_t n = std::min(kSlice, view->nbytes - at);
      std::memcpy(out + at, view->data + at, n);
      if (done_with) done_with(view->data + at, n);
    }
  } else if (recipe) {
    const QuantizeRecipe& r = *recipe;
    const RowLayout layout = row_layout(r.shape, r.quant);
    // Slices of about kSlice float bytes: each slice's pages are dropped once quantized, so a
    // large weight never sits in memory both as input and as output.
    const size_t row_bytes = layout.inner * 4;
    const size_t step = row_bytes == 0 ? layout.rows : std::max<size_t>(1, kSlice / row_bytes);
    for (size_t row = 0; row < layout.rows; row += step) {
      const size_t end = std::min(layout.rows, row + step);
      const int64_t nan_at =
          quantize_rows(r.source, layout, row, end, r.quant, r.qtype, r.rounding, out);
      if (nan_at >= 0) {
        throw Error(r.context + ": the tensor's float data has NaN at element " +
                    std::to_string(nan_at) +
                    "; it cannot be quantized (give \"value\" or fix the model); nothing was "
                    "written");
      }
      if (done_with) done_with(r.source + row * row_bytes, (end - row) * row_bytes);
    }
  } else if (!owned.empty()) {
    std::memcpy(out, owned.data(), owned.size());
  }
}

bool BufferContent::same_bytes(const BufferContent& o) const {
  if (recipe && o.recipe) {
    const QuantizeRecipe &a = *recipe, &b = *o.recipe;
    return a.source == b.source && a.shape == b.shape && a.quant == b.quant &&
           a.quant.quantized_dimension == b.quant.quantized_dimension && a.qtype == b.qtype &&
           a.rounding == b.rounding;
  }
  if (recipe || o.recipe) return false;  // conservative: a new buffer is always correct
  const uint8_t* pa = view ? view->data : owned.data();
  const uint8_t* pb = o.view ? o.view->data : o.owned.data();
  return size() == o.size() && (size() == 0 || std::memcmp(pa, pb, size()) == 0);
}

std::pair<const uint8_t*, size_t> BufferContent::source_span() const {
  if (view) return {view->data, view->nbytes};
  if (recipe) return {recipe->source, recipe->source_size};
  return {nullptr, 0};
}

const char* origin_name(EditOrigin origin) {
  switch (origin) {
    case EditOrigin::Implanted: return "implanted";
    case EditOrigin::Propagated: return "propagated";
    case EditOrigin::Derived: return "derived";
  }
  return "?";
}

TensorState planned_state(const ModelInfo& model, const EditPlan& plan, const TensorRef& ref) {
  if (const TensorEdit* e = plan.find(ref)) return {e->type, &e->quant};
  const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
  return {t.type, &t.quant};
}

}  // namespace qimplant
