// ONNX QDQ models (QuantizeLinear / DequantizeLinear pairs) → checked QParamFile entries and
// the producer's graph for `--match structure`.
//
// Read with the protobuf classes of Debian's libonnx (onnx/onnx_pb.h, onnx_proto); opsets 10
// through 21 of the default domain. What becomes an entry (keys are ONNX tensor names):
// - every tensor entering a QuantizeLinear: its y_scale and y_zero_point (constants:
//   initializers or Constant nodes), per tensor or per axis (`axis`, default 1, negative counted
//   from the end); the dtype is the zero point's element type, uint8 when it is absent (the
//   operator's definition, onnx/defs/quantization/defs.cc); a float initializer so quantized is
//   a weight that q-implant quantizes itself;
// - every integer constant entering a DequantizeLinear directly (a weight or bias exported
//   already quantized): its scale, zero point and the integers as "value" (ONNX layout).
// Per-axis parameters take the channel dimension from the model (quantized_dimension_auto),
// since ONNX's layouts (OIHW, NCHW) are not circle's.
// Refused, naming the file, the node and the input: a file that does not parse, an opset
// outside 10..21, a scale or zero point that is not a constant, block-wise quantization
// (opset 21 block_size), a tensor quantized twice with different parameters, external data.
#pragma once

#include <string>

#include "match/source_graph.h"
#include "qparam/qparam_file.h"

namespace qimplant {

struct OnnxQdq {
  QParamFile qparams;
  // The graph with the QDQ pairs taken out (each DequantizeLinear output replaced by the tensor
  // its QuantizeLinear read), Conv + Relu fused as the converters fuse them; keys as above.
  SourceGraph graph;
};

OnnxQdq read_onnx_qdq(const std::string& path);

// The first bytes of an ONNX ModelProto: field 1 (ir_version, varint) or another ModelProto
// field tag, never '{' or the npy / zip magic. Only a hint for auto-detection.
bool looks_like_onnx(const uint8_t* data, size_t size);

}  // namespace qimplant
