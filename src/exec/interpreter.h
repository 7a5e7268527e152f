// A small reference interpreter: runs one subgraph of a circle or tflite model on the CPU.
//
// Float32 operators run float kernels; quantized operators run integer-only kernels that follow
// TFLite's reference arithmetic bit for bit, so a quantized model computes here what a
// TFLite-compatible runtime computes. Operators without a kernel are reported by name when the
// interpreter is built, before anything runs. The ModelFile must outlive the Interpreter (constant
// data stays in its mapping).
#pragma once

#include <cstdint>
#include <vector>

#include "exec/graph.h"
#include "exec/kernels.h"
#include "exec/value.h"
#include "model/model_file.h"

namespace qimplant::exec {

// What a tiny model file may ask of the interpreter: each tensor at most max_tensor_elements
// elements, all tensors of the subgraph together at most max_total_elements, and the
// multiply-accumulates of its convolutions and fully connected layers at most max_work per run.
// Checked when the Interpreter is built, before anything is allocated; past a limit the
// constructor throws Error naming the file, the tensor or operator and the limit.
struct Limits {
  int64_t max_tensor_elements = int64_t{1} << 28;
  int64_t max_total_elements = int64_t{1} << 30;
  int64_t max_work = int64_t{1} << 36;
};
// The limits every Interpreter checks (fuzz targets lower them).
Limits& limits();

class Interpreter {
 public:
  // Throws Error naming the file and every operator (index and type) no kernel can run.
  explicit Interpreter(const ModelFile& file, uint32_t subgraph = 0);

  const Graph& graph() const { return graph_; }
  const SubgraphInfo& info() const { return graph_.info(); }

  // The value of a constant tensor as stored (4-bit unpacked), or of a model tensor's shape and
  // type filled with zeros when it has no data.
  Value tensor_value(int32_t tensor) const;

  // Runs the subgraph on `inputs`, one per subgraph input in order, each matching the input
  // tensor's type and shape (Error naming the input otherwise). Returns the value of every
  // tensor of the subgraph, indexed like the subgraph's tensors (constants included; tensors no
  // operator produced are left empty).
  std::vector<Value> run(const std::vector<Value>& inputs) const;

 private:
  Graph graph_;
  // The kernel of each node, chosen at construction from the model's types and parameters.
  std::vector<Kernel> kernels_;
};

}  // namespace qimplant::exec
