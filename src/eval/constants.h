// Reading constant tensors of a model as numbers, for comparing weights without running anything.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_file.h"

namespace qimplant::eval {

// The stored integers of a constant of an integer type (4-bit unpacked), C order. Throws Error
// naming the file and tensor when its buffer does not hold element_count() elements.
std::vector<int64_t> integer_data(const ModelFile& file, const TensorInfo& tensor);
// The data of a float32 constant, C order (same checks).
std::vector<double> float_data(const ModelFile& file, const TensorInfo& tensor);

// Index of the quantization channel of C-order element `i` of `shape` along `dim`.
int64_t channel_of(const std::vector<int32_t>& shape, int32_t dim, int64_t i);

// The real values (q - zero_point[c]) * scale[c], c the element's channel (one parameter pair
// for all when the tensor is per-tensor).
std::vector<double> dequantize(const std::vector<int64_t>& q, const std::vector<int32_t>& shape,
                               const QuantParams& quant);

}  // namespace qimplant::eval
