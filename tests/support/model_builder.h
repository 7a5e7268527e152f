// Builds small circle / tflite models in code for tests: tensors, constants, operators with
// builtin options, several subgraphs, metadata and signature defs.
//
// Builtin options: op() gives an operator the defaults of its kind (VALID padding, stride 1, a
// 2x2 pool window, CONCATENATION axis -1, MEAN keep_dims, SOFTMAX beta 1, ...). options(op, o)
// replaces them by `o`, an exec::OpOptions (exec/graph.h, the struct the interpreter reads them
// into), written as that operator's options table: only the fields its table has are used, e.g.
//   exec::OpOptions o;
//   o.padding = exec::Padding::Same; o.stride_w = o.stride_h = 2;
//   o.activation = exec::Activation::Relu;
//   b.options(conv, o);
// so what a test writes is what load_graph must read back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exec/graph.h"
#include "model/model.h"

namespace qimplant::test {

class ModelBuilder {
 public:
  explicit ModelBuilder(Format format);

  // Subgraph 0 exists from the start; add_subgraph adds one and makes it current.
  uint32_t add_subgraph(const std::string& name = "");
  void use_subgraph(uint32_t index) { current_ = index; }

  int32_t tensor(const std::string& name, std::vector<int32_t> shape,
                 TensorType type = TensorType::Float32);
  int32_t constant(const std::string& name, std::vector<int32_t> shape,
                   const std::vector<float>& values);
  int32_t constant_i32(const std::string& name, std::vector<int32_t> shape,
                       const std::vector<int32_t>& values);
  int32_t constant_bytes(const std::string& name, std::vector<int32_t> shape, TensorType type,
                         std::vector<uint8_t> bytes);
  // `tensor` reads the same buffer as `other` (both in the current subgraph).
  void share_buffer(int32_t tensor, int32_t other);
  void set_type(int32_t tensor, TensorType type);
  void set_quant(int32_t tensor, std::vector<float> scale, std::vector<int64_t> zero_point,
                 int32_t dim = 0);

  // Adds an operator with the default options of its kind; returns its index.
  int32_t op(int32_t builtin_code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
             const std::string& custom_code = "");
  // finish() throws std::logic_error when `op`'s kind has no options table written here.
  void options(int32_t op, const exec::OpOptions& options);
  // FULLY_CONNECTED's raw weights_format (0 = DEFAULT), for models the interpreter must refuse.
  void weights_format(int32_t op, int8_t format);
  void inputs(std::vector<int32_t> tensors);
  void outputs(std::vector<int32_t> tensors);

  void description(const std::string& text) { description_ = text; }
  void metadata(const std::string& name, std::vector<uint8_t> bytes);
  void signature(const std::string& key, std::vector<std::pair<std::string, int32_t>> inputs,
                 std::vector<std::pair<std::string, int32_t>> outputs);

  std::vector<uint8_t> finish() const;
  void save(const std::string& path) const;

  struct Tensor {
    std::string name;
    std::vector<int32_t> shape;
    TensorType type;
    uint32_t buffer = 0;
    std::vector<float> scale;
    std::vector<int64_t> zero_point;
    int32_t dim = 0;
  };
  struct Op {
    int32_t code;
    std::vector<int32_t> inputs, outputs;
    std::string custom;
    std::optional<exec::OpOptions> options;
    int8_t weights_format = 0;
  };
  struct Subgraph {
    std::string name;
    std::vector<Tensor> tensors;
    std::vector<Op> ops;
    std::vector<int32_t> inputs, outputs;
  };
  struct Signature {
    std::string key;
    std::vector<std::pair<std::string, int32_t>> inputs, outputs;
    uint32_t subgraph;
  };

 private:
  Format format_;
  uint32_t current_ = 0;
  std::vector<Subgraph> subgraphs_;
  std::vector<std::vector<uint8_t>> buffers_;  // buffer 0 is the empty sentinel
  std::string description_ = "q-implant test model";
  std::vector<std::pair<std::string, uint32_t>> metadata_;
  std::vector<Signature> signatures_;
};

}  // namespace qimplant::test
