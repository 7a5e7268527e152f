// What the three kernel tables share: operator codes by name, operand aliases, the one way a
// kernel message is built, and table lookup. Internal to src/exec's kernel files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernels.h"
#include "model/shape.h"
#include "schema/circle_generated.h"

namespace qimplant::exec {

// BuiltinOperator values the kernels name; equal in the circle and tflite schemas.
namespace ops {
constexpr int32_t kAdd = circle::BuiltinOperator_ADD;
constexpr int32_t kAveragePool2D = circle::BuiltinOperator_AVERAGE_POOL_2D;
constexpr int32_t kBatchToSpaceNd = circle::BuiltinOperator_BATCH_TO_SPACE_ND;
constexpr int32_t kBroadcastTo = circle::BuiltinOperator_BROADCAST_TO;
constexpr int32_t kConcatenation = circle::BuiltinOperator_CONCATENATION;
constexpr int32_t kConv2D = circle::BuiltinOperator_CONV_2D;
constexpr int32_t kDepthToSpace = circle::BuiltinOperator_DEPTH_TO_SPACE;
constexpr int32_t kDepthwiseConv2D = circle::BuiltinOperator_DEPTHWISE_CONV_2D;
constexpr int32_t kDequantize = circle::BuiltinOperator_DEQUANTIZE;
constexpr int32_t kDiv = circle::BuiltinOperator_DIV;
constexpr int32_t kExpandDims = circle::BuiltinOperator_EXPAND_DIMS;
constexpr int32_t kFullyConnected = circle::BuiltinOperator_FULLY_CONNECTED;
constexpr int32_t kGather = circle::BuiltinOperator_GATHER;
constexpr int32_t kGatherNd = circle::BuiltinOperator_GATHER_ND;
constexpr int32_t kLeakyRelu = circle::BuiltinOperator_LEAKY_RELU;
constexpr int32_t kLogistic = circle::BuiltinOperator_LOGISTIC;
constexpr int32_t kMaxPool2D = circle::BuiltinOperator_MAX_POOL_2D;
constexpr int32_t kMean = circle::BuiltinOperator_MEAN;
constexpr int32_t kMirrorPad = circle::BuiltinOperator_MIRROR_PAD;
constexpr int32_t kMul = circle::BuiltinOperator_MUL;
constexpr int32_t kPack = circle::BuiltinOperator_PACK;
constexpr int32_t kPad = circle::BuiltinOperator_PAD;
constexpr int32_t kPadV2 = circle::BuiltinOperator_PADV2;
constexpr int32_t kQuantize = circle::BuiltinOperator_QUANTIZE;
constexpr int32_t kReduceMax = circle::BuiltinOperator_REDUCE_MAX;
constexpr int32_t kReduceMin = circle::BuiltinOperator_REDUCE_MIN;
constexpr int32_t kRelu = circle::BuiltinOperator_RELU;
constexpr int32_t kRelu6 = circle::BuiltinOperator_RELU6;
constexpr int32_t kReluN1To1 = circle::BuiltinOperator_RELU_N1_TO_1;
constexpr int32_t kReshape = circle::BuiltinOperator_RESHAPE;
constexpr int32_t kResizeNearestNeighbor = circle::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR;
constexpr int32_t kReverseV2 = circle::BuiltinOperator_REVERSE_V2;
constexpr int32_t kSlice = circle::BuiltinOperator_SLICE;
constexpr int32_t kSoftmax = circle::BuiltinOperator_SOFTMAX;
constexpr int32_t kSpaceToBatchNd = circle::BuiltinOperator_SPACE_TO_BATCH_ND;
constexpr int32_t kSpaceToDepth = circle::BuiltinOperator_SPACE_TO_DEPTH;
constexpr int32_t kSplit = circle::BuiltinOperator_SPLIT;
constexpr int32_t kSplitV = circle::BuiltinOperator_SPLIT_V;
constexpr int32_t kSqueeze = circle::BuiltinOperator_SQUEEZE;
constexpr int32_t kStridedSlice = circle::BuiltinOperator_STRIDED_SLICE;
constexpr int32_t kSub = circle::BuiltinOperator_SUB;
constexpr int32_t kSum = circle::BuiltinOperator_SUM;
constexpr int32_t kTanh = circle::BuiltinOperator_TANH;
constexpr int32_t kTile = circle::BuiltinOperator_TILE;
constexpr int32_t kTranspose = circle::BuiltinOperator_TRANSPOSE;
constexpr int32_t kUnpack = circle::BuiltinOperator_UNPACK;
}  // namespace ops

using Inputs = std::vector<const Value*>;
using Outputs = std::vector<Value*>;
using Shape = std::vector<int32_t>;

// Throws Error "operator i (TYPE): message".
[[noreturn]] void fail(const Node& node, const std::string& message);
std::string type_str(int8_t type);  // "INT8"

// TFLite's output size and leading padding for one spatial dimension under the node's SAME /
// VALID padding (the float and the integer kernels alike). Refuses a stride, dilation or filter
// below 1 and a padded extent past int32, naming `what` ("height", "width").
struct Spatial {
  int32_t out = 0;
  int32_t pad = 0;
};
Spatial spatial(const Node& node, const char* what, int32_t in, int32_t filter, int32_t stride,
                int32_t dilation);

struct KernelEntry {
  int32_t code;
  Kernel kernel;
};
Kernel find_kernel(const std::vector<KernelEntry>& table, int32_t code);
std::vector<int32_t> kernel_codes(const std::vector<KernelEntry>& table);

}  // namespace qimplant::exec
