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

#include "io/json_reader.h"
#include "io/npy.h"
#include "quant/qtype.h"

namespace qimplant {

struct QParamEntry {
  std::string key;  // as written in qparam.json
  QType dtype = QType::UInt8;
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  std::optional<int32_t> quantized_dimension;  // absent: 0 for per-tensor, required per-channel
  // Set by readers whose channel axis is the producer's layout (AIMET, ONNX: OIHW, [C,1,H,W]):
  // the planner takes dimension 0 when its size is the channel count, else the last dimension
  // (TFLite / circle depthwise weights [1, H, W, C]), else it is an error.
  bool quantized_dimension_auto = false;
  std::optional<npy::Array> value;  // quantized data for a constant, checked for dtype
  // Set by readers whose "value" is in the producer's layout (ONNX: a Conv's OIHW weight), as
  // axis letters, with the per-axis axis in that layout: the planner moves both to the layout
  // of the model operator that reads the tensor (qparam/value_layout.h). Empty: model layout.
  std::string value_layout;
  std::optional<int32_t> layout_axis;
  std::string scale_file, zerop_file, value_file;  // as written, for messages
  // {"dtype": "float32"}: the tensor stays float32 (mixed precision); no other field is read.
  bool keep_float = false;
  // "min" / "max" given instead of scale / zerop (one value per channel): scale and zero_point
  // stay empty until resolve_range (qparam/min_max.h) computes them for the target, once the
  // model says whether the tensor is a constant.
  std::vector<float> range_min, range_max;
  bool has_range() const { return !range_min.empty(); }
  std::string range_rule;  // how they were computed, once resolved (for -v and messages)
};

struct QParamFile {
  std::string path;                  // the qparam.json path as given
  std::string dir;                   // the directory npy paths are relative to
  std::vector<QParamEntry> entries;  // in file order
  // What the parameters were read from, for messages and reports: "qparam.json",
  // "AIMET encodings 1.0.0", "ONNX QDQ (opset 13)".
  std::string format = "qparam.json";
};

// How much of each entry is read. Keys: the keys, their dtype and whether they give "value"
// (value_file set, value left empty); no npy file is opened and no parameter is checked. `names`
// needs only that, and on a model of 100,000 tensors opening every npy file is most of its time.
enum class QParamDepth { Full, Keys };

// Throws Error naming qparam.json, the key (tensor name) and the field for every problem.
// Besides ONE's plain form (npy paths), "scale", "zerop", "min" and "max" may be numbers or
// arrays of numbers given inline, and any npy path may name a member of an .npz archive as
// "weights.npz:conv1.weight".
QParamFile read_qparam_file(const std::string& path, QParamDepth depth = QParamDepth::Full);

// The two halves of read_qparam_file, for a caller that looks at the parsed text before knowing
// it is qparam.json (format detection parses it once): the parse, refusing repeated keys in
// qparam.json's words, and the reading of the parsed root.
Json parse_qparam_json(const std::string& path);
QParamFile read_qparam_json(const std::string& path, const Json& root,
                            QParamDepth depth = QParamDepth::Full);

// The checks read_qparam_file makes on an entry's parameters (scale finite and > 0, zero points
// in range, equal lengths, quantized_dimension given for per-channel, min <= max, no NaN), for
// entries other readers (AIMET, ONNX) build; throws Error starting with `where` + the field.
void check_entry(const QParamEntry& e, const std::string& where);

// The path of an npy file named in qparam.json: relative to the json's directory unless absolute.
std::string resolve_npy_path(const std::string& json_dir, const std::string& name);

}  // namespace qimplant
