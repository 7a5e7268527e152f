// One subgraph of a model as the reference interpreter runs it.
//
// The model IR (model/model.h) leaves builtin options out because no quantization stage needs
// them; execution does. load_graph reads every option the kernels use from the FlatBuffer, in
// either format, into one plain OpOptions, so kernels never touch generated schema code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/model_file.h"

namespace qimplant::exec {

enum class Padding { Same, Valid };

// Values of the schemas' ActivationFunctionType.
enum class Activation : int8_t {
  None = 0,
  Relu = 1,
  ReluN1To1 = 2,
  Relu6 = 3,
  Tanh = 4,
  SignBit = 5,
};

// An operator stored without an options table keeps these defaults.
struct OpOptions {
  Padding padding = Padding::Valid;
  int32_t stride_w = 1, stride_h = 1;
  int32_t dilation_w = 1, dilation_h = 1;
  int32_t filter_w = 1, filter_h = 1;  // pooling window
  int32_t depth_multiplier = 1;        // DEPTHWISE_CONV_2D (0 in some writers: derive it)
  int32_t axis = 0;                    // CONCATENATION, PACK, UNPACK, GATHER, SPLIT ...
  int32_t num = 0;                     // PACK values_count, UNPACK num, SPLIT(_V) num_splits
  bool keep_dims = false;              // MEAN / reducers; FULLY_CONNECTED keep_num_dims
  float beta = 1.0f;                   // SOFTMAX
  float alpha = 0.0f;                  // LEAKY_RELU
  Activation activation = Activation::None;
  std::vector<int32_t> new_shape;                          // RESHAPE without a shape operand
  std::vector<int32_t> squeeze_dims;                       // SQUEEZE
  int32_t block_size = 0;                                  // DEPTH_TO_SPACE / SPACE_TO_DEPTH
  bool align_corners = false, half_pixel_centers = false;  // RESIZE_*
  int32_t batch_dims = 0;                                  // GATHER
  // STRIDED_SLICE: bit i of a mask refers to dimension i, as the schema defines them.
  int32_t begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_axis_mask = 0;
  bool offset = false;            // STRIDED_SLICE: end is relative to begin
  bool mirror_symmetric = false;  // MIRROR_PAD: SYMMETRIC (true) or REFLECT (false)
};

struct Node {
  uint32_t index = 0;           // position in the subgraph's operator list
  int32_t code = 0;             // BuiltinOperator
  std::string type_name;        // as operator_name() spells it: "CONV_2D", "CUSTOM(x)"
  std::vector<int32_t> inputs;  // -1 = omitted optional operand
  std::vector<int32_t> outputs;
  OpOptions options;
};

struct Graph {
  const ModelFile* file = nullptr;
  uint32_t subgraph = 0;
  std::vector<Node> nodes;  // execution order as stored in the model
  const SubgraphInfo& info() const { return file->info().subgraphs[subgraph]; }
};

// Throws Error naming the file when `subgraph` does not exist.
Graph load_graph(const ModelFile& file, uint32_t subgraph = 0);

}  // namespace qimplant::exec
