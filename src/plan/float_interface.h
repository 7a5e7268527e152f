// Keeping a quantized model's inputs and outputs float32 (`--input-type` / `--output-type`).
//
// For an input asked to be float32 whose tensor is planned quantized, the tensor stays float32
// as the graph input and a QUANTIZE operator, placed first, feeds a new quantized tensor
// ("<name>_quantized") to the operators that read it. For an output, the producer writes a new
// quantized tensor and a DEQUANTIZE operator, placed last, writes the float32 graph output. The
// interface tensors keep their names and indices, so signature defs stay valid.
// An int8 model can also get a uint8 input or output (and a uint8 model an int8 one): the
// interface tensor takes the other type with the same scale and the zero point shifted by 128
// (the same real values), and a QUANTIZE requantizes between it and the "<name>_quantized" twin.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "plan/edit_plan.h"

namespace qimplant {

struct InterfaceTypes {
  // One value for all inputs (outputs) or one per input (output) of the main subgraph:
  // "float32", the implanted type ("uint8", "int8", "int16"), which keeps it, or for an int8 /
  // uint8 tensor the other of the two. Empty: keep.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

// Adds the structural edits to `plan`; returns how many Quantize/Dequantize operators it adds.
// Throws Error for a count that matches neither one nor the number of inputs/outputs, or a type
// that is none of float32, the tensor's planned type and (int8 <-> uint8) its 8-bit twin.
size_t plan_float_interface(const ModelInfo& model, EditPlan& plan, const InterfaceTypes& types);

}  // namespace qimplant
