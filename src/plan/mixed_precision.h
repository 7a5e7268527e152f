// Mixed precision: operators whose tensors stay float32 run in float next to quantized ones,
// with a DEQUANTIZE or QUANTIZE inserted at each boundary so that the model runs.
//
// Which tensors stay float: those asked to (`--keep-float`, a {"dtype": "float32"} entry in
// qparam.json: plan.keep_float) and, with --allow-float, every tensor left without parameters.
// An operator runs in float when one of its float32 outputs stays float (an operator without
// such outputs: when one of its run-time inputs does), else quantized. Promises:
// - a quantized tensor read by float operators gets one DEQUANTIZE (placed before its first
//   float reader), and every float reader reads its float copy "<name>_dequantized";
// - a float tensor read by quantized operators gets one QUANTIZE (before its first quantized
//   reader) into "<name>_quantized", whose parameters are the tensor's own: given in qparam.json
//   (the tensor then stays float for its float producer), propagated or derived. Without them
//   this throws Error naming the tensor, the operator, and the key to add to qparam.json;
// - constants: parameters derived for a constant that only float operators read are dropped
//   (it stays float); constants given in qparam.json stay as given (weight-only quantization);
// - graph inputs and outputs keep their names and indices, so signature defs stay valid;
// - an operator with both a float and a quantized output, and (without --allow-float) a
//   tensor left float that nobody asked to keep float, are errors.
// Runs after the float interface (plan/float_interface.h) and before buffer placement.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "resolve/key_match.h"

namespace qimplant {

struct MixedPrecisionOptions {
  bool allow_float = false;             // --allow-float: tensors without parameters stay float
  std::vector<std::string> keep_float;  // --keep-float: tensor keys, patterns, or op:TYPE
  const NameMap* name_map = nullptr;    // applied to --keep-float names as to qparam.json keys
  std::string model_path;               // for messages
};

// --keep-float: each item is read as a qparam.json key (an exact name, "#<sg>:<name>", "re:...",
// "glob:...", after the name map), or "op:TYPE" for the outputs of every operator of that type
// (case and '_' do not matter: op:softmax). Adds the float32 tensors computed at run time it
// names to plan.keep_float. Throws Error for an item that names no such tensor (with the closest
// names, or the model's operator types), an exact name of a constant or of a non-float tensor.
void resolve_keep_float(const ModelInfo& model, EditPlan& plan,
                        const MixedPrecisionOptions& options);

struct KeptFloat {
  TensorRef ref;
  std::string reason;  // "--keep-float 'x'", "no parameters (--allow-float)", ...
};

struct MixedPrecisionResult {
  std::vector<KeptFloat> kept;  // tensors of the input model that stay float32, model order
  size_t float_operators = 0;   // operators of the input model that run in float
  size_t inserted_operators = 0;
};

// Whether mixed precision applies: --allow-float or something kept float.
bool mixed_precision_requested(const EditPlan& plan, const MixedPrecisionOptions& options);

// Adds the boundary conversions to plan.structure (and moves or drops edits as said above).
MixedPrecisionResult plan_mixed_precision(const ModelInfo& model, EditPlan& plan,
                                          const MixedPrecisionOptions& options);

}  // namespace qimplant
