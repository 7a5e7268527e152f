#include "exec/graph.h"

#include <string>

#include "model/schema.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {

// BuiltinOperator and enum values are shared by both schemas for everything read here, so the
// switch uses circle's names for both formats.
class OptionsReader {
 public:
  OptionsReader(const ModelFile& file, uint32_t subgraph, Node& node)
      : file_(file), subgraph_(subgraph), node_(node) {}

  template <typename Op>
  void read(const Op& op) {
    using namespace circle;
    OpOptions& o = node_.options;
    switch (node_.code) {
      case BuiltinOperator_CONV_2D:
        if (const auto* x = op.builtin_options_as_Conv2DOptions()) {
          o.padding = padding(x->padding());
          o.stride_w = x->stride_w();
          o.stride_h = x->stride_h();
          o.dilation_w = x->dilation_w_factor();
          o.dilation_h = x->dilation_h_factor();
          o.activation = activation(x->fused_activation_function());
        }
        break;
      case BuiltinOperator_DEPTHWISE_CONV_2D:
        if (const auto* x = op.builtin_options_as_DepthwiseConv2DOptions()) {
          o.padding = padding(x->padding());
          o.stride_w = x->stride_w();
          o.stride_h = x->stride_h();
          o.dilation_w = x->dilation_w_factor();
          o.dilation_h = x->dilation_h_factor();
          o.depth_multiplier = x->depth_multiplier();
          o.activation = activation(x->fused_activation_function());
        }
        break;
      case BuiltinOperator_FULLY_CONNECTED:
        if (const auto* x = op.builtin_options_as_FullyConnectedOptions()) {
          o.activation = activation(x->fused_activation_function());
          o.keep_dims = x->keep_num_dims();
          const int format = static_cast<int>(x->weights_format());
          if (format != 0) {
            fail("weights_format is " + std::to_string(format) + " (" +
                 enum_name(EnumNameFullyConnectedOptionsWeightsFormat(
                     static_cast<FullyConnectedOptionsWeightsFormat>(format))) +
                 "); the reference interpreter runs only DEFAULT (0) weights");
          }
        }
        break;
      case BuiltinOperator_AVERAGE_POOL_2D:
      case BuiltinOperator_MAX_POOL_2D:
      case BuiltinOperator_L2_POOL_2D:
        if (const auto* x = op.builtin_options_as_Pool2DOptions()) {
          o.padding = padding(x->padding());
          o.stride_w = x->stride_w();
          o.stride_h = x->stride_h();
          o.filter_w = x->filter_width();
          o.filter_h = x->filter_height();
          o.activation = activation(x->fused_activation_function());
        }
        break;
      case BuiltinOperator_ADD:
        if (const auto* x = op.builtin_options_as_AddOptions())
          o.activation = activation(x->fused_activation_function());
        break;
      case BuiltinOperator_SUB:
        if (const auto* x = op.builtin_options_as_SubOptions())
          o.activation = activation(x->fused_activation_function());
        break;
      case BuiltinOperator_MUL:
        if (const auto* x = op.builtin_options_as_MulOptions())
          o.activation = activation(x->fused_activation_function());
        break;
      case BuiltinOperator_DIV:
        if (const auto* x = op.builtin_options_as_DivOptions())
          o.activation = activation(x->fused_activation_function());
        break;
      case BuiltinOperator_CONCATENATION:
        if (const auto* x = op.builtin_options_as_ConcatenationOptions()) {
          o.axis = x->axis();
          o.activation = activation(x->fused_activation_function());
        }
        break;
      case BuiltinOperator_SOFTMAX:
        if (const auto* x = op.builtin_options_as_SoftmaxOptions()) o.beta = x->beta();
        break;
      case BuiltinOperator_RESHAPE:
        if (const auto* x = op.builtin_options_as_ReshapeOptions()) {
          if (const auto* s = x->new_shape()) o.new_shape.assign(s->begin(), s->end());
        }
        break;
      case BuiltinOperator_SQUEEZE:
        if (const auto* x = op.builtin_options_as_SqueezeOptions()) {
          if (const auto* s = x->squeeze_dims()) o.squeeze_dims.assign(s->begin(), s->end());
        }
        break;
      case BuiltinOperator_MEAN:
      case BuiltinOperator_SUM:
      case BuiltinOperator_REDUCE_MAX:
      case BuiltinOperator_REDUCE_MIN:
      case BuiltinOperator_REDUCE_PROD:
      case BuiltinOperator_REDUCE_ANY:
        if (const auto* x = op.builtin_options_as_ReducerOptions()) o.keep_dims = x->keep_dims();
        break;
      case BuiltinOperator_PACK:
        if (const auto* x = op.builtin_options_as_PackOptions()) {
          o.num = x->values_count();
          o.axis = x->axis();
        }
        break;
      case BuiltinOperator_UNPACK:
        if (const auto* x = op.builtin_options_as_UnpackOptions()) {
          o.num = x->num();
          o.axis = x->axis();
        }
        break;
      case BuiltinOperator_SPLIT:
        if (const auto* x = op.builtin_options_as_SplitOptions()) o.num = x->num_splits();
        break;
      case BuiltinOperator_SPLIT_V:
        if (const auto* x = op.builtin_options_as_SplitVOptions()) o.num = x->num_splits();
        break;
      case BuiltinOperator_GATHER:
        if (const auto* x = op.builtin_options_as_GatherOptions()) {
          o.axis = x->axis();
          o.batch_dims = x->batch_dims();
        }
        break;
      case BuiltinOperator_DEPTH_TO_SPACE:
        if (const auto* x = op.builtin_options_as_DepthToSpaceOptions())
          o.block_size = x->block_size();
        break;
      case BuiltinOperator_SPACE_TO_DEPTH:
        if (const auto* x = op.builtin_options_as_SpaceToDepthOptions())
          o.block_size = x->block_size();
        break;
      case BuiltinOperator_LEAKY_RELU:
        if (const auto* x = op.builtin_options_as_LeakyReluOptions()) o.alpha = x->alpha();
        break;
      case BuiltinOperator_RESIZE_BILINEAR:
        if (const auto* x = op.builtin_options_as_ResizeBilinearOptions()) {
          o.align_corners = x->align_corners();
          o.half_pixel_centers = x->half_pixel_centers();
        }
        break;
      case BuiltinOperator_RESIZE_NEAREST_NEIGHBOR:
        if (const auto* x = op.builtin_options_as_ResizeNearestNeighborOptions()) {
          o.align_corners = x->align_corners();
          o.half_pixel_centers = x->half_pixel_centers();
        }
        break;
      case BuiltinOperator_STRIDED_SLICE:
        if (const auto* x = op.builtin_options_as_StridedSliceOptions()) {
          o.begin_mask = x->begin_mask();
          o.end_mask = x->end_mask();
          o.ellipsis_mask = x->ellipsis_mask();
          o.new_axis_mask = x->new_axis_mask();
          o.shrink_axis_mask = x->shrink_axis_mask();
          o.offset = x->offset();
        }
        break;
      case BuiltinOperator_MIRROR_PAD:
        if (const auto* x = op.builtin_options_as_MirrorPadOptions()) {
          const int mode = static_cast<int>(x->mode());
          if (mode != MirrorPadMode_REFLECT && mode != MirrorPadMode_SYMMETRIC)
            fail("mode is " + std::to_string(mode) + "; expected REFLECT (0) or SYMMETRIC (1)");
          o.mirror_symmetric = mode == MirrorPadMode_SYMMETRIC;
        }
        break;
      default:
        break;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("model file '" + file_.path() + "': subgraph " + std::to_string(subgraph_) +
                ", operator " + std::to_string(node_.index) + " (" + node_.type_name +
                "): " + what);
  }

  static std::string enum_name(const char* name) { return name && *name ? name : "unknown"; }

  template <typename E>
  Padding padding(E value) const {
    const int v = static_cast<int>(value);
    if (v == circle::Padding_SAME) return Padding::Same;
    if (v == circle::Padding_VALID) return Padding::Valid;
    fail("padding is " + std::to_string(v) + "; expected SAME (0) or VALID (1)");
  }

  template <typename E>
  Activation activation(E value) const {
    const int v = static_cast<int>(value);
    if (v < 0 || v > static_cast<int>(Activation::SignBit)) {
      fail("fused_activation_function is " + std::to_string(v) +
           "; expected a value of ActivationFunctionType (0..5)");
    }
    return static_cast<Activation>(v);
  }

  const ModelFile& file_;
  uint32_t subgraph_;
  Node& node_;
};

template <Format F>
void read_options(const ModelFile& file, uint32_t subgraph, Graph& graph) {
  const auto* model = Schema<F>::root(file.file().data());
  const auto* ops = model->subgraphs()->Get(subgraph)->operators();
  for (Node& node : graph.nodes) {
    OptionsReader reader(file, subgraph, node);
    reader.read(*ops->Get(node.index));
  }
}

}  // namespace

Graph load_graph(const ModelFile& file, uint32_t subgraph) {
  const ModelInfo& info = file.info();
  if (subgraph >= info.subgraphs.size()) {
    throw Error("model file '" + file.path() + "': subgraph " + std::to_string(subgraph) +
                " does not exist (the model has " + std::to_string(info.subgraphs.size()) +
                " subgraphs)");
  }
  Graph graph;
  graph.file = &file;
  graph.subgraph = subgraph;
  const SubgraphInfo& sg = info.subgraphs[subgraph];
  for (size_t i = 0; i < sg.operators.size(); ++i) {
    const OperatorInfo& op = sg.operators[i];
    Node node;
    node.index = static_cast<uint32_t>(i);
    node.code = op.builtin_code;
    node.type_name = operator_name(info, op);
    node.inputs = op.inputs;
    node.outputs = op.outputs;
    graph.nodes.push_back(std::move(node));
  }
  if (file.format() == Format::Circle)
    read_options<Format::Circle>(file, subgraph, graph);
  else
    read_options<Format::TFLite>(file, subgraph, graph);
  return graph;
}

}  // namespace qimplant::exec
