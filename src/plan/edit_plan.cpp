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
