// Writing the edited model: every part of the input that the plan does not touch is carried
// over as it was (operators and options, operator codes, other tensors and buffers, signature
// defs, metadata, description, version, circle-only fields), in the input's format.
//
// The output is built in memory, verified with the FlatBuffers verifier, then written through a
// temporary file renamed over the output path, so a failure never leaves a partial file.
#pragma once

#include <cstddef>
#include <string>

#include "model/model_file.h"
#include "plan/edit_plan.h"

namespace qimplant {

// Returns the number of bytes written. Throws Error on any failure (nothing is left behind).
size_t write_model(const ModelFile& input, const EditPlan& plan, const std::string& output_path);

}  // namespace qimplant
