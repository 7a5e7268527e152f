// The inputs an evaluation runs on, and how they are fed to each model.
//
// Inputs belong to the float model: one float32 array per float model input, in the order of
// its subgraph-0 inputs. They come either from npy files given by input name (a float array of
// the input's exact shape is one sample; a leading extra dimension N holds N samples; every
// input must hold the same N) or from a seeded generator: uniform in [min, max], where min and
// max are the real range the quantized model's input can represent ((qmin - zp) * scale ..
// (qmax - zp) * scale) when that input is quantized or read only by a QUANTIZE, else [-1, 1].
// The generator is std::mt19937_64 seeded with the seed, 53 random bits per value, so the same
// seed gives the same inputs on every platform.
//
// A float value fed to a quantized input is quantized with that input's parameters as TFLite's
// QUANTIZE does: q = clamp(round_half_away(x / scale) + zero_point) to the type's range.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "exec/value.h"
#include "model/model_file.h"

namespace qimplant::eval {

struct InputFile {
  std::string name;  // float model input tensor name
  std::string path;  // npy file
};

struct InputSet {
  // samples[s][i]: the float data of float model input i in sample s (C order).
  std::vector<std::vector<std::vector<float>>> samples;
  // Where input i came from: the npy path, or "random [min, max]".
  std::vector<std::string> sources;
};

// For each float model input (subgraph 0, in order) the position of the quantized model input
// of the same name. Throws Error naming both files when an input has no counterpart of that
// name, the shapes differ or the models have different numbers of inputs.
std::vector<size_t> match_inputs(const ModelFile& float_model, const ModelFile& quantized);

// Reads the npy files; every float model input must be named exactly once. Throws Error naming
// the file and the input for an unknown or repeated name, a missing input, a non-float array, a
// shape that is neither the input's nor (N, input shape), or sample counts that disagree.
InputSet load_inputs(const ModelFile& float_model, const std::vector<InputFile>& files);

// The real range random values of float model input `index` are drawn from (see above).
std::pair<double, double> random_range(const ModelFile& float_model, const ModelFile& quantized,
                                       size_t index);

// `samples` (>= 1) seeded random samples. Throws Error for a float model input that is not
// float32 (it has no meaningful random range: give it with an npy file).
InputSet random_inputs(const ModelFile& float_model, const ModelFile& quantized, int64_t samples,
                       uint64_t seed);

// `data` as a value of `tensor` (float32 copied; quantized types quantized as stated above).
// Throws Error naming `file` and the tensor for a type it cannot feed or per-channel parameters.
exec::Value feed(const std::vector<float>& data, const TensorInfo& tensor, const ModelFile& file);

// The integer range of a quantized tensor type (4-bit types included); false for other types.
bool integer_range(int8_t type, int64_t* min, int64_t* max);

}  // namespace qimplant::eval
