// The edits q-implant will make to a model, decided before anything is written.
//
// Planning stages (planner, propagation) fill it; the check reads it over the model; the writer
// applies it. Tensor edits are keyed by tensor so every stage sees the tensor's planned state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "model/model.h"
#include "quant/quantize.h"

namespace qimplant {

enum class EditOrigin {
  Implanted,   // given in qparam.json
  Propagated,  // inherited through a value-preserving operator
  Derived,     // determined by an operator rule (bias, fixed range, same-scale, constant)
  Inserted,    // a tensor q-implant added (float interface, mixed-precision boundary)
};
const char* origin_name(EditOrigin origin);

struct TensorEdit {
  int8_t type = 0;  // new TensorType
  QuantParams quant;
  EditOrigin origin = EditOrigin::Implanted;
  std::string source;              // the qparam.json key, or the tensor it was propagated from
  std::optional<uint32_t> buffer;  // a different buffer index for the tensor, if it moves
  enum class Data { None, FromValue, Quantized } data = Data::None;
  // Why the tensor was moved to the other 8-bit type with the same real values, if it was
  // (plan/reexpress.h); empty otherwise.
  std::string reexpressed;
  // How a "value" in its producer's layout was moved to the model's (qparam/value_layout.h);
  // empty otherwise.
  std::string relayout;
};

// How a buffer's new bytes are made. Quantizing from float is deferred to the writer, which
// quantizes straight into the output: a gigabyte model is then never held twice.
struct QuantizeRecipe {
  const uint8_t* source = nullptr;  // float32 data in the input mapping
  size_t source_size = 0;
  std::vector<int32_t> shape;
  QuantParams quant;
  QType qtype = QType::Int8;
  Rounding rounding = Rounding::HalfToEven;
  std::string context;  // who asked for it, to start the NaN message
};

// New contents of a buffer: bytes owned here, a zero-copy view into a value npy file, or a
// quantization recipe. 4-bit data (int4 / uint4) is packed two per byte on the way out: a view
// with `view_is_4bit` and a recipe of a 4-bit qtype give (count + 1) / 2 bytes (quant/pack4.h).
struct BufferContent {
  std::vector<uint8_t> owned;
  std::optional<npy::Array> view;
  std::optional<QuantizeRecipe> recipe;
  bool view_is_4bit = false;  // `view` holds one 4-bit value per byte (int8 / uint8 npy)

  size_t size() const;
  // Whether two contents give the same bytes (for buffers several edited tensors share).
  bool same_bytes(const BufferContent& other) const;
};

// Changes to the graph itself: tensors and operators added (the Quantize / Dequantize of a
// float interface or of a mixed-precision boundary), operands moved to other tensors. Indices of
// added tensors follow the subgraph's existing ones in order; rewires name operators by their
// index in the input model.
struct StructureEdit {
  struct Tensor {
    uint32_t subgraph = 0;
    TensorInfo info;  // final type and quantization; buffer 0 (not a constant)
  };
  struct Operator {
    uint32_t subgraph = 0;
    int32_t builtin_code = 0;
    std::vector<int32_t> inputs, outputs;
    bool prepend = false;  // before every existing operator, else after all of them
    // >= 0: just before this operator of the input model (then `prepend` does not apply).
    int32_t before = -1;
    std::string reason;  // why it was added, for -v and the report
  };
  struct Rewire {
    uint32_t subgraph = 0;
    uint32_t op = 0;
    bool output = false;
    uint32_t slot = 0;
    int32_t tensor = 0;
  };
  std::vector<Tensor> tensors;
  std::vector<Operator> operators;
  std::vector<Rewire> rewires;
  bool empty() const { return tensors.empty() && operators.empty() && rewires.empty(); }
};

struct EditPlan {
  std::map<TensorRef, TensorEdit> tensors;
  // Tensors asked to stay float32 (a {"dtype": "float32"} entry, --keep-float), with who asked,
  // for messages. An edit such a tensor also has gives the parameters of its quantized copy
  // for quantized consumers (plan/mixed_precision.h).
  std::map<TensorRef, std::string> keep_float;
  StructureEdit structure;
  // Buffer index -> new contents. Indices at or past the model's buffer count are appended, in
  // order, without gaps.
  std::map<uint32_t, BufferContent> buffers;
  uint32_t appended_buffers = 0;
  // Quantized bytes decided for constant tensors, not yet given a buffer (see place_new_data).
  std::vector<std::pair<TensorRef, BufferContent>> new_data;
  // The version of each operator code, the appended ones included, once types are decided
  // (operator_code_versions in plan/structure.h); empty: the input's versions.
  std::vector<int32_t> operator_versions;

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
