#include "plan/edit_plan.h"

namespace qimplant {

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
