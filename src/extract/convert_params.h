// `q-implant convert-params INPUT OUTDIR`: any parameter source (qparam/param_source.h) written
// as ONE's plain qparam.json + one npy per field, so that ONE's own q-implant reads it too.
//
// The entries keep their order and values exactly (float32 scales, int64 zero points, value
// bytes), so implanting the converted file gives the same model, byte for byte, as implanting
// the source. What the plain format cannot say is settled here: per-channel entries whose
// dimension the source leaves to the model (AIMET, ONNX) and "min" / "max" entries need the
// tensor. With `model` they are resolved against it (exact key, as the planner resolves them);
// without it, the channel dimension is 0 and a range is taken as a weight when it has several
// channels, else as an activation. Each such decision is listed in `notes`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qparam/param_source.h"
#include "rules/target.h"

namespace qimplant {

struct ConvertParamsOptions {
  std::string input;
  std::string outdir;
  ParamFormat format = ParamFormat::Auto;
  std::string model;             // optional: resolves channel dimensions and ranges
  std::optional<Target> target;  // min / max nudging; default by the model's format, else ONE
};

struct ConvertParamsResult {
  std::string source_format;  // QParamFile::format
  std::string qparam_path;
  size_t entries = 0, npy_files = 0;
  std::vector<std::string> notes;
};

ConvertParamsResult convert_params(const ConvertParamsOptions& options);

}  // namespace qimplant
