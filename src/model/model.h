// A format-neutral, read-only picture of a circle or tflite model.
//
// Everything the planning stages need (names, types, shapes, graph structure, quantization,
// where each buffer's bytes are) and nothing else: buffer bytes are not copied, they are spans into
// the mapped file. Both formats share the TensorType and BuiltinOperator numbering for everything
// q-implant edits, so raw schema values are kept as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "model/tensor_type.h"

namespace qimplant {

enum class Format { Circle, TFLite };
const char* format_name(Format format);  // "circle" / "tflite"

// Schema spelling of a raw TensorType value of `format` ("FLOAT32", "INT8", ...).
std::string tensor_type_name(Format format, int8_t type);

struct QuantParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  bool empty() const { return scale.empty() && zero_point.empty(); }
  bool operator==(const QuantParams& o) const {
    return scale == o.scale && zero_point == o.zero_point &&
           (scale.size() <= 1 || quantized_dimension == o.quantized_dimension);
  }
  bool operator!=(const QuantParams& o) const { return !(*this == o); }
};

struct TensorInfo {
  std::string name;
  int8_t type = 0;
  std::vector<int32_t> shape;
  uint32_t buffer = 0;
  QuantParams quant;
  bool is_variable = false;
  int64_t element_count() const;
};

struct OperatorInfo {
  uint32_t opcode_index = 0;
  int32_t builtin_code = 0;     // resolved from builtin_code / deprecated_builtin_code
  std::vector<int32_t> inputs;  // -1 marks an omitted optional operand
  std::vector<int32_t> outputs;
};

struct SubgraphInfo {
  std::string name;
  std::vector<TensorInfo> tensors;
  std::vector<OperatorInfo> operators;  // in execution order, as stored
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
};

struct OperatorCodeInfo {
  int32_t builtin_code = 0;
  std::string custom_code;
  int32_t version = 1;
};

// Where a buffer's bytes live: inline in the FlatBuffer, or after it (offset/size, > 2 GB models).
struct BufferInfo {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool external = false;
};

// One tensor of a model: its subgraph and its index there.
struct TensorRef {
  uint32_t subgraph = 0;
  uint32_t tensor = 0;
  bool operator==(const TensorRef& o) const { return subgraph == o.subgraph && tensor == o.tensor; }
  bool operator<(const TensorRef& o) const {
    return subgraph != o.subgraph ? subgraph < o.subgraph : tensor < o.tensor;
  }
};

struct ModelInfo {
  Format format = Format::Circle;
  uint32_t version = 0;
  std::vector<OperatorCodeInfo> operator_codes;
  std::vector<SubgraphInfo> subgraphs;
  std::vector<BufferInfo> buffers;

  const TensorInfo& tensor(uint32_t subgraph, uint32_t index) const {
    return subgraphs[subgraph].tensors[index];
  }
  // A tensor is constant when its buffer holds bytes.
  bool is_constant(const TensorInfo& t) const {
    return t.buffer != 0 && t.buffer < buffers.size() && buffers[t.buffer].size > 0;
  }
};

// The name users see for an operator: "CONV_2D", circle-only names, or "CUSTOM(name)".
std::string operator_name(const ModelInfo& model, const OperatorInfo& op);

}  // namespace qimplant
