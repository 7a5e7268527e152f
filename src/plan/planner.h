// Checking each qparam.json entry against the model and deciding its edits.
//
// For every entry: the tensor exists (once), is float32, the parameters fit its shape, and a
// given "value" fits its data; constants get their quantized bytes (from "value" or quantized
// from the float data). A buffer that other, unlisted tensors also use is never changed under
// them: the listed tensor gets a buffer of its own.
#pragma once

#include <string>

#include "model/model.h"
#include "plan/edit_plan.h"
#include "qparam/qparam_file.h"
#include "quant/quantize.h"
#include "resolve/key_match.h"
#include "rules/target.h"

#include <optional>

namespace qimplant {

struct PlanOptions {
  Rounding rounding = Rounding::HalfToEven;
  // Applied to qparam.json keys before lookup; keys may also be patterns (resolve/key_match.h).
  const NameMap* name_map = nullptr;
  // Whose nudging turns qparam.json "min" / "max" into parameters; default: by the format.
  std::optional<Target> target;
  // --match structure: consulted for keys name_map does not have.
  const NameMap* structure_map = nullptr;
};

// Throws Error naming the qparam file, the tensor and the field for every mismatch.
EditPlan plan_implant(const ModelInfo& model, const std::string& model_path,
                      const QParamFile& qparams, const PlanOptions& options);

}  // namespace qimplant
