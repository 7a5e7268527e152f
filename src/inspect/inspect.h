// Describing what a model holds, for people (text) and for programs (JSON).
//
// Per subgraph: its inputs and outputs, the operators in execution order with their input and
// output tensors, and every tensor with dtype, shape, whether it is a constant (and its buffer),
// and its quantization (per-tensor values, or per-channel length and dimension with a summary in
// text; every value in JSON). Works on any model ModelFile opens: circle or tflite, float or
// quantized. Reads only; float values print in their shortest form that reads back exactly.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"

namespace qimplant {

struct InspectFilter {
  // Tensor names to show: "re:<regex>", "glob:<glob>", or plain text read as a glob ("conv*";
  // a plain name without wildcards is that name; a name equal to the text always matches).
  // Operators are shown when they read or write such a tensor. Empty: every tensor.
  std::string tensors;
  // Operator types to show ("CONV_2D"; case and '_' do not matter, so "conv2d" works; "CUSTOM"
  // matches every custom operator). Tensors are then those the shown operators use. Empty: all.
  std::vector<std::string> ops;
};

// Both throw Error for an invalid pattern and for an operator type the model's schema does not
// know (with the closest type names).
std::string inspect_text(const ModelInfo& model, const std::string& path,
                         const InspectFilter& filter);
std::string inspect_json(const ModelInfo& model, const std::string& path,
                         const InspectFilter& filter);

// Shortest decimal text that reads back as exactly `value` ("0.27102426", not
// "0.2710242569446564").
std::string float_text(float value);

}  // namespace qimplant
