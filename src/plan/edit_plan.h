// The edits q-implant will make to a model, decided before anything is written.
//
// Planning stages (planner, propagation) fill it; the check reads it over the model; the writer
// applies it. Tensor edits are keyed by tensor so every stage sees the tensor's planned state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "model/model.h"
#include "plan/resolve.h"

namespace qimplant {

enum class EditOrigin {
  Implanted,   // given in qparam.json
  Propagated,  // inherited through a value-preserving operator
  Derived,     // determined by an operator rule (bias, fixed range, same-scale, constant)
};
const char* origin_name(EditOrigin origin);

struct TensorEdit {
  int8_t type = 0;  // new TensorType
  QuantParams quant;
  EditOrigin origin = EditOrigin::Implanted;
  std::string source;  // the qparam.json key, or the tensor it was propagated from
  std::optional<uint32_t> buffer;  // a different buffer index for the tensor, if it moves
  enum class Data { None, FromValue, Quantized } data = Data::None;
};

// New contents of a buffer: bytes owned here, or a zero-copy view into a value npy file.
struct BufferContent {
  std::vector<uint8_t> owned;
  std::optional<npy::Array> view;
  const uint8_t* data() const { return view ? view->data : owned.data(); }
  size_t size() const { return view ? view->nbytes : owned.size(); }
};

struct EditPlan {
  std::map<TensorRef, TensorEdit> tensors;
  // Buffer index -> new contents. Indices at or past the model's buffer count are appended, in
  // order, without gaps.
  std::map<uint32_t, BufferContent> buffers;
  uint32_t appended_buffers = 0;
  // Quantized bytes decided for constant tensors, not yet given a buffer (see place_new_data).
  std::vector<std::pair<TensorRef, BufferContent>> new_data;

  const TensorEdit* find(const TensorRef& ref) const {
    auto it = tensors.find(ref);
    return it == tensors.end() ? nullptr : &it->second;
  }
};

// The planned type and quantization of a tensor: its edit if any, else what the model has.
struct TensorState {
  int8_t type;
  const QuantParams* quant;
};
TensorState planned_state(const ModelInfo& model, const EditPlan& plan, const TensorRef& ref);

}  // namespace qimplant
