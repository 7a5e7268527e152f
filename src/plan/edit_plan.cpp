#include "plan/edit_plan.h"

#include <algorithm>
#include <cstring>

#include "quant/pack4.h"
#include "util/error.h"

namespace qimplant {

size_t BufferContent::size() const {
  if (view) return view_is_4bit ? view->nbytes / 2 + view->nbytes % 2 : view->nbytes;
  if (recipe) {
    size_t n = 1;
    for (int32_t d : recipe->shape) n *= static_cast<size_t>(d < 0 ? 0 : d);
    return storage_bytes(recipe->qtype, n);
  }
  return owned.size();
}

void BufferContent::write_to(uint8_t* out,
                             const std::function<void(const uint8_t*, size_t)>& done_with) const {
  constexpr size_t kSlice = 8u << 20;  // source bytes handled between page drops
  if (view) {
    // kSlice is even, so every slice but the last packs whole bytes.
    for (size_t at = 0; at < view->nbytes; at += kSlice) {
      const size_t n = std::min(kSlice, view->nbytes - at);
      if (view_is_4bit) {
        pack_4bit(view->data + at, n, out + at / 2);
      } else {
        std::memcpy(out + at, view->data + at, n);
      }
      if (done_with) done_with(view->data + at, n);
    }
  } else if (recipe) {
    const QuantizeRecipe& r = *recipe;
    // The planner never makes such a recipe (implant refuses it first); guard the indexing.
    if (r.quant.scale.empty() || r.quant.zero_point.size() != r.quant.scale.size())
      throw Error(r.context + ": " + std::to_string(r.quant.scale.size()) + " scale(s) and " +
                  std::to_string(r.quant.zero_point.size()) +
                  " zero point(s) cannot quantize the tensor's data; nothing was written");
    const RowLayout layout = row_layout(r.shape, r.quant);
    const bool packed = is_4bit(r.qtype);
    // Slices of about kSlice float bytes: each slice's pages are dropped once quantized, so a
    // large weight never sits in memory both as input and as output.
    const size_t row_bytes = layout.inner * 4;
    size_t step = row_bytes == 0 ? layout.rows : std::max<size_t>(1, kSlice / row_bytes);
    // 4-bit: each slice is quantized to one byte per element in `scratch`, then packed; an even
    // number of rows per slice when rows are odd-sized keeps every slice starting on a byte.
    if (packed && layout.inner % 2 == 1) step += step % 2;
    std::vector<uint8_t> scratch(packed ? std::min(layout.rows, step) * layout.inner : 0);
    for (size_t row = 0; row < layout.rows; row += step) {
      const size_t end = std::min(layout.rows, row + step);
      const int64_t nan_at =
          packed ? quantize_rows_into(r.source, layout, row, end, r.quant, r.qtype, r.rounding,
                                      scratch.data())
                 : quantize_rows(r.source, layout, row, end, r.quant, r.qtype, r.rounding, out);
      if (packed && nan_at < 0)
        pack_4bit(scratch.data(), (end - row) * layout.inner, out + row * layout.inner / 2);
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
  if (view_is_4bit != o.view_is_4bit) return false;
  // The source bytes (before any packing).
  const uint8_t* pa = view ? view->data : owned.data();
  const uint8_t* pb = o.view ? o.view->data : o.owned.data();
  const size_t na = view ? view->nbytes : owned.size();
  const size_t nb = o.view ? o.view->nbytes : o.owned.size();
  return na == nb && (na == 0 || std::memcmp(pa, pb, na) == 0);
}

std::pair<const uint8_t*, size_t> BufferContent::source_span() const {
  if (view) return {view->data, view->nbytes};
  if (recipe) return {recipe->source, recipe->source_size};
  return {nullptr, 0};
}

const char* origin_name(EditOrigin origin) {
  switch (origin) {
    case EditOrigin::Implanted:
      return "implanted";
    case EditOrigin::Propagated:
      return "propagated";
    case EditOrigin::Derived:
      return "derived";
    case EditOrigin::Inserted:
      return "inserted";
  }
  return "?";
}

TensorState planned_state(const ModelInfo& model, const EditPlan& plan, const TensorRef& ref) {
  if (const TensorEdit* e = plan.find(ref)) return {e->type, &e->quant};
  const TensorInfo& t = model.tensor(ref.subgraph, ref.tensor);
  return {t.type, &t.quant};
}

}  // namespace qimplant
