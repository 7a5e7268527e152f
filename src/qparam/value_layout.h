// Moving integer weights from their producer's layout to the model's.
//
// Layouts are strings of axis letters, one per dimension: O output channels, I input channels
// per group, H and W the kernel's size (ONNX Conv "OIHW", ConvTranspose "IOHW", MatMul "IO";
// the model's are op_properties' weight_layout: CONV_2D "OHWI", DEPTHWISE_CONV_2D "IHWO",
// FULLY_CONNECTED "OI"). An ONNX depthwise weight [C*M, 1, kH, kW] is "OIHW" with I = 1, so it
// becomes [1, kH, kW, C*M] under DEPTHWISE_CONV_2D's "IHWO" by the same letter matching.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "qparam/qparam_file.h"

namespace qimplant {

// perm[i] = the dimension of `from` that becomes dimension i of `to`; nullopt when the two are
// not the same letters in another order.
std::optional<std::vector<int>> layout_permutation(const std::string& from, const std::string& to);

std::vector<int64_t> permute_shape(const std::vector<int64_t>& shape, const std::vector<int>& perm);

// An entry whose value is in a producer's layout (e.value_layout not empty), as the model
// tensor `ref` needs it: the layout is that of the model operators reading the tensor as their
// weight (several must agree), the value is transposed when the layouts differ (even when the
// shapes happen to be equal: a [3, 3, 3, 3] OIHW weight), and a per-axis entry's axis
// (e.layout_axis) is moved with it. Returns what it did, for the change list ("" when the data
// kept its order). When no operator reads the tensor as a weight, a value of the tensor's shape
// is taken as it is. Throws Error starting with `where`, naming the tensor, the shape expected
// and found, when no layout fits, or when several fit with different orders (ambiguous).
std::string move_value_to_model_layout(const ModelInfo& model, const TensorRef& ref, QParamEntry& e,
                                       const std::string& where);

}  // namespace qimplant
