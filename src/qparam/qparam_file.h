// Reading qparam.json and the .npy files it names into plain, checked entries.
//
// Everything that can be checked without the model is checked here: JSON shape and key types,
// dtype names, npy formats and dtypes, scale values (finite, > 0), zero points within the dtype's
// range, matching scale/zerop lengths. Checks against the model belong to the planner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "quant/qtype.h"

namespace qimplant {

struct QParamEntry {
  std::string key;  // as written in qparam.json
  QType dtype = QType::UInt8;
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  std::optional<int32_t> quantized_dimension;  // absent: 0 for per-tensor, required per-channel
  std::optional<npy::Array> value;             // quantized data for a constant, checked for dtype
  std::string scale_file, zerop_file, value_file;  // as written, for messages
  // {"dtype": "float32"}: the tensor stays float32 (mixed precision); no other field is read.
  bool keep_float = false;
};

struct QParamFile {
  std::string path;                  // the qparam.json path as given
  std::string dir;                   // the directory npy paths are relative to
  std::vector<QParamEntry> entries;  // in file order
};

// Throws Error naming qparam.json, the key (tensor name) and the field for every problem.
QParamFile read_qparam_file(const std::string& path);

// The path of an npy file named in qparam.json: relative to the json's directory unless absolute.
std::string resolve_npy_path(const std::string& json_dir, const std::string& name);

}  // namespace qimplant
