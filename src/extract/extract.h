// The inverse of the implant: a quantized model -> qparam.json + .npy files, in the input format
// of the implant, so that implanting them into the float model gives the quantized model back.
//
// Every tensor of a q-implant dtype (uint8, int8, int16, int32, int64, int4, uint4) that has a
// scale is written: dtype, scale (float32 npy), zerop (int64 npy), quantized_dimension, and for
// constants "value" (the buffer's bytes in the tensor's shape and dtype; 4-bit data unpacked to
// one int8 / uint8 per element, as the implant reads it). A tensor the implant could not
// take back (no zero point, a scale <= 0, a name that cannot be a key, ...) is skipped and listed
// with the reason. Keys are tensor names, "#<subgraph>:<name>" for a name found in several
// subgraphs.
//
// npy files are named by the tensor's place in the model, "s<subgraph>_t<tensor>_<field>.npy"
// (field: scale, zerop, value): stable (a tensor gets the same names in every run, whatever
// --tensors selects, and `inspect` shows the same indices) and safe (no byte of a tensor name,
// which may hold '/', "..", or anything, reaches the file system).
//
// Constants are listed in the order of their buffers: the implant gives new buffers in entry
// order, so this order reproduces the quantized model's buffer numbering exactly. qparam.json is
// written last and atomically: a failed run never leaves a qparam.json naming missing files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace qimplant {

struct ExtractOptions {
  std::string input;   // quantized model
  std::string outdir;  // created if missing; qparam.json and npy files there are overwritten
  // Only tensors whose names match: "re:<regex>", "glob:<glob>", or plain text read as a glob
  // (a plain name without wildcards is that name). Empty: every quantized tensor.
  std::string tensors;
  // The compact form: scale and zerop inline as arrays, every value in one values.npz
  // ("value": "values.npz:s0_t3_value"), so a model with hundreds of tensors gives two files.
  bool compact = false;
};

struct ExtractedTensor {
  std::string key;  // the qparam.json key
  uint32_t subgraph = 0;
  uint32_t tensor = 0;
  std::string dtype;    // "int8", ...
  size_t channels = 1;  // number of scales
  bool value = false;   // a constant: "value" written
};

struct SkippedTensor {
  std::string tensor;
  uint32_t subgraph = 0;
  std::string reason;
};

struct ExtractResult {
  Format format = Format::Circle;
  std::string qparam_path;
  std::vector<ExtractedTensor> tensors;  // qparam.json order
  std::vector<SkippedTensor> skipped;
  size_t npy_files = 0;
};

// Throws Error naming the model or output file for: an unreadable model, no quantized tensor (or
// none matching --tensors), an invalid pattern, an output directory that cannot be made or
// written.
ExtractResult extract(const ExtractOptions& options);

// Creates `dir` (and its parents) unless it is a directory already; throws Error naming it.
void make_directory(const std::string& dir);

}  // namespace qimplant
