// AIMET / QNN encodings files → checked QParamFile entries.
//
// Three layouts, told apart by their content:
// - "0.6.1" (and the earlier 0.4.0 / 0.5.0 without "quantizer_args"): objects
//   "activation_encodings" / "param_encodings" mapping a tensor name to a list of encodings
//   {bitwidth, dtype "int", is_symmetric "True"/"False", min, max, offset, scale}, one per
//   channel (quic/aimet Docs/api_docs/quantization_encoding_specification.rst);
// - "1.0.0": the same two sections as lists of {name, dtype "INT", enc_type PER_TENSOR /
//   PER_CHANNEL, bw, is_sym, scale[], offset[]} (aimet_torch/experimental/v2/quantsim/
//   export_utils.py, _get_activation_encodings / _get_param_encodings);
// - "2.0.0": {"encodings": [{name, output_dtype, y_scale, y_zero_point, axis}]}, ONNX
//   QuantizeLinear's own terms (zero point, not offset; absent zero point = 0).
// Offsets of 0.6.1 and 1.0.0 are AIMET's "legacy" ones: the internal offset (= -zero point)
// shifted by qmin (encoding.py _to_legacy_format), i.e. real = (q + offset) * scale with q on
// the unsigned grid 0 .. 2^bw - 1. A signed symmetric int8 weight therefore carries offset
// -128: its zero point is 0 on the int8 grid. Parameter encodings carry no integer data; the
// float constants are quantized by q-implant itself (planner, "quantize from float").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "qparam/qparam_file.h"

namespace qimplant {

// True when `root` looks like an AIMET encodings file (has "activation_encodings",
// "param_encodings" or a list "encodings").
bool is_aimet_encodings(const nlohmann::ordered_json& root);

// Throws Error naming the file, the entry (section and tensor name), the field, what was
// expected and what was found: unknown version or layout, float / per-block / LPBQ / vector
// encodings, bitwidths without a tensor type, offsets outside the bitwidth's grid, lists mixing
// bitwidths or symmetry, a name in both sections with different values, NaN.
QParamFile read_aimet_encodings(const std::string& path, const nlohmann::ordered_json& root);

}  // namespace qimplant
