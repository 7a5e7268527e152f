// Giving the quantized bytes of constants their buffers, once every stage has decided them.
//
// A tensor keeps its buffer index when every tensor reading that buffer is edited (several
// edited tensors with equal bytes keep sharing it); otherwise it gets a new buffer appended to
// the model, so an unlisted tensor never sees its data change.
#pragma once

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

// Moves plan.new_data into plan.buffers, setting TensorEdit::buffer where a tensor moves.
void place_new_data(const ModelInfo& model, EditPlan& plan);

}  // namespace qimplant
