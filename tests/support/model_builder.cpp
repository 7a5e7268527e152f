#include "support/model_builder.h"

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "model/schema.h"

namespace qimplant::test {

ModelBuilder::ModelBuilder(Format format) : format_(format) {
  subgraphs_.emplace_back();
  buffers_.emplace_back();
}

uint32_t ModelBuilder::add_subgraph(const std::string& name) {
  subgraphs_.emplace_back();
  subgraphs_.back().name = name;
  current_ = static_cast<uint32_t>(subgraphs_.size() - 1);
  return current_;
}

int32_t ModelBuilder::tensor(const std::string& name, std::vector<int32_t> shape, TensorType type) {
  auto& sg = subgraphs_[current_];
  sg.tensors.push_back({name, std::move(shape), type});
  return static_cast<int32_t>(sg.tensors.size() - 1);
}

int32_t ModelBuilder::constant_bytes(const std::string& name, std::vector<int32_t> shape,
                                     TensorType type, std::vector<uint8_t> bytes) {
  const int32_t t = tensor(name, std::move(shape), type);
  buffers_.push_back(std::move(bytes));
  subgraphs_[current_].tensors[t].buffer = static_cast<uint32_t>(buffers_.size() - 1);
  return t;
}

int32_t ModelBuilder::constant(const std::string& name, std::vector<int32_t> shape,
                               const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return constant_bytes(name, std::move(shape), TensorType::Float32, std::move(bytes));
}

int32_t ModelBuilder::constant_i32(const std::string& name, std::vector<int32_t> shape,
                                   const std::vector<int32_t>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return constant_bytes(name, std::move(shape), TensorType::Int32, std::move(bytes));
}

void ModelBuilder::share_buffer(int32_t t, int32_t other) {
  auto& ts = subgraphs_[current_].tensors;
  ts[t].buffer = ts[other].buffer;
}

void ModelBuilder::set_type(int32_t t, TensorType type) {
  subgraphs_[current_].tensors[t].type = type;
}

void ModelBuilder::set_quant(int32_t t, std::vector<float> scale, std::vector<int64_t> zp,
                             int32_t dim) {
  auto& x = subgraphs_[current_].tensors[t];
  x.scale = std::move(scale);
  x.zero_point = std::move(zp);
  x.dim = dim;
}

int32_t ModelBuilder::op(int32_t code, std::vector<int32_t> in, std::vector<int32_t> out,
                         const std::string& custom) {
  auto& sg = subgraphs_[current_];
  sg.ops.push_back({code, std::move(in), std::move(out), custom});
  return static_cast<int32_t>(sg.ops.size() - 1);
}

void ModelBuilder::options(int32_t op, const exec::OpOptions& o) {
  subgraphs_[current_].ops.at(static_cast<size_t>(op)).options = o;
}

void ModelBuilder::weights_format(int32_t op, int8_t format) {
  auto& x = subgraphs_[current_].ops.at(static_cast<size_t>(op));
  if (!x.options) x.options = exec::OpOptions();
  x.weights_format = format;
}

void ModelBuilder::inputs(std::vector<int32_t> t) {
  subgraphs_[current_].inputs = std::move(t);
}
void ModelBuilder::outputs(std::vector<int32_t> t) {
  subgraphs_[current_].outputs = std::move(t);
}

void ModelBuilder::metadata(const std::string& name, std::vector<uint8_t> bytes) {
  buffers_.push_back(std::move(bytes));
  metadata_.emplace_back(name, static_cast<uint32_t>(buffers_.size() - 1));
}

void ModelBuilder::signature(const std::string& key,
                             std::vector<std::pair<std::string, int32_t>> in,
                             std::vector<std::pair<std::string, int32_t>> out) {
  signatures_.push_back({key, std::move(in), std::move(out), current_});
}

namespace {

// Default options for the operators the tests use, so runtimes find what they expect.
template <typename NS_Operator, typename Options>
void set_options(NS_Operator& op, Options&& value) {
  op.builtin_options.Set(std::forward<Options>(value));
}

// The options table type behind OperatorT's union accessor, e.g. OPTIONS_T(Conv2DOptions) is
// circle::Conv2DOptionsT or tflite::Conv2DOptionsT: one template writes both formats.
#define OPTIONS_T(Name) \
  std::remove_pointer_t<decltype(std::declval<OperatorT&>().builtin_options.As##Name())>

template <typename T, typename V>
void assign_enum(T& field, V value) {
  field = static_cast<T>(value);
}

// Writes `o` as the options table of an operator of kind `code` (both schemas share the codes
// and the enum values used here).
template <typename OperatorT>
void write_options(OperatorT& op, int32_t code, const exec::OpOptions& o, int8_t weights_format) {
  using namespace circle;
  const int8_t act = static_cast<int8_t>(o.activation);
  const int8_t padding = o.padding == exec::Padding::Same ? Padding_SAME : Padding_VALID;
  switch (code) {
    case BuiltinOperator_CONV_2D: {
      OPTIONS_T(Conv2DOptions) x;
      assign_enum(x.padding, padding);
      x.stride_w = o.stride_w;
      x.stride_h = o.stride_h;
      x.dilation_w_factor = o.dilation_w;
      x.dilation_h_factor = o.dilation_h;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_DEPTHWISE_CONV_2D: {
      OPTIONS_T(DepthwiseConv2DOptions) x;
      assign_enum(x.padding, padding);
      x.stride_w = o.stride_w;
      x.stride_h = o.stride_h;
      x.dilation_w_factor = o.dilation_w;
      x.dilation_h_factor = o.dilation_h;
      x.depth_multiplier = o.depth_multiplier;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_FULLY_CONNECTED: {
      OPTIONS_T(FullyConnectedOptions) x;
      assign_enum(x.fused_activation_function, act);
      x.keep_num_dims = o.keep_dims;
      assign_enum(x.weights_format, weights_format);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_AVERAGE_POOL_2D:
    case BuiltinOperator_MAX_POOL_2D:
    case BuiltinOperator_L2_POOL_2D: {
      OPTIONS_T(Pool2DOptions) x;
      assign_enum(x.padding, padding);
      x.stride_w = o.stride_w;
      x.stride_h = o.stride_h;
      x.filter_width = o.filter_w;
      x.filter_height = o.filter_h;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_ADD: {
      OPTIONS_T(AddOptions) x;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SUB: {
      OPTIONS_T(SubOptions) x;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_MUL: {
      OPTIONS_T(MulOptions) x;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_CONCATENATION: {
      OPTIONS_T(ConcatenationOptions) x;
      x.axis = o.axis;
      assign_enum(x.fused_activation_function, act);
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SOFTMAX: {
      OPTIONS_T(SoftmaxOptions) x;
      x.beta = o.beta;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_RESHAPE: {
      OPTIONS_T(ReshapeOptions) x;
      x.new_shape = o.new_shape;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SQUEEZE: {
      OPTIONS_T(SqueezeOptions) x;
      x.squeeze_dims = o.squeeze_dims;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_MEAN:
    case BuiltinOperator_SUM:
    case BuiltinOperator_REDUCE_MAX:
    case BuiltinOperator_REDUCE_MIN:
    case BuiltinOperator_REDUCE_PROD: {
      OPTIONS_T(ReducerOptions) x;
      x.keep_dims = o.keep_dims;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_PACK: {
      OPTIONS_T(PackOptions) x;
      x.values_count = o.num;
      x.axis = o.axis;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_UNPACK: {
      OPTIONS_T(UnpackOptions) x;
      x.num = o.num;
      x.axis = o.axis;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SPLIT: {
      OPTIONS_T(SplitOptions) x;
      x.num_splits = o.num;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SPLIT_V: {
      OPTIONS_T(SplitVOptions) x;
      x.num_splits = o.num;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_GATHER: {
      OPTIONS_T(GatherOptions) x;
      x.axis = o.axis;
      x.batch_dims = o.batch_dims;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_DEPTH_TO_SPACE: {
      OPTIONS_T(DepthToSpaceOptions) x;
      x.block_size = o.block_size;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_SPACE_TO_DEPTH: {
      OPTIONS_T(SpaceToDepthOptions) x;
      x.block_size = o.block_size;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_LEAKY_RELU: {
      OPTIONS_T(LeakyReluOptions) x;
      x.alpha = o.alpha;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_RESIZE_BILINEAR: {
      OPTIONS_T(ResizeBilinearOptions) x;
      x.align_corners = o.align_corners;
      x.half_pixel_centers = o.half_pixel_centers;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_RESIZE_NEAREST_NEIGHBOR: {
      OPTIONS_T(ResizeNearestNeighborOptions) x;
      x.align_corners = o.align_corners;
      x.half_pixel_centers = o.half_pixel_centers;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_STRIDED_SLICE: {
      OPTIONS_T(StridedSliceOptions) x;
      x.begin_mask = o.begin_mask;
      x.end_mask = o.end_mask;
      x.ellipsis_mask = o.ellipsis_mask;
      x.new_axis_mask = o.new_axis_mask;
      x.shrink_axis_mask = o.shrink_axis_mask;
      x.offset = o.offset;
      set_options(op, std::move(x));
      return;
    }
    case BuiltinOperator_MIRROR_PAD: {
      OPTIONS_T(MirrorPadOptions) x;
      assign_enum(x.mode, o.mirror_symmetric ? MirrorPadMode_SYMMETRIC : MirrorPadMode_REFLECT);
      set_options(op, std::move(x));
      return;
    }
    default:
      throw std::logic_error("ModelBuilder::options: no options table written for operator code " +
                             std::to_string(code));
  }
}
#undef OPTIONS_T

template <Format F>
struct Build;

#define QIMPLANT_DEFINE_BUILD(FMT, NS)                                                             \
  template <>                                                                                      \
  struct Build<FMT> {                                                                              \
    static void options(NS::OperatorT& op, int32_t code) {                                         \
      switch (code) {                                                                              \
        case NS::BuiltinOperator_CONV_2D: {                                                        \
          NS::Conv2DOptionsT o;                                                                    \
          o.padding = NS::Padding_VALID;                                                           \
          o.stride_w = o.stride_h = 1;                                                             \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_DEPTHWISE_CONV_2D: {                                              \
          NS::DepthwiseConv2DOptionsT o;                                                           \
          o.padding = NS::Padding_VALID;                                                           \
          o.stride_w = o.stride_h = 1;                                                             \
          o.depth_multiplier = 1;                                                                  \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_FULLY_CONNECTED:                                                  \
          set_options(op, NS::FullyConnectedOptionsT());                                           \
          break;                                                                                   \
        case NS::BuiltinOperator_ADD:                                                              \
          set_options(op, NS::AddOptionsT());                                                      \
          break;                                                                                   \
        case NS::BuiltinOperator_MUL:                                                              \
          set_options(op, NS::MulOptionsT());                                                      \
          break;                                                                                   \
        case NS::BuiltinOperator_AVERAGE_POOL_2D:                                                  \
        case NS::BuiltinOperator_MAX_POOL_2D: {                                                    \
          NS::Pool2DOptionsT o;                                                                    \
          o.padding = NS::Padding_VALID;                                                           \
          o.stride_w = o.stride_h = 1;                                                             \
          o.filter_width = o.filter_height = 2;                                                    \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_CONCATENATION: {                                                  \
          NS::ConcatenationOptionsT o;                                                             \
          o.axis = -1;                                                                             \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_MEAN: {                                                           \
          NS::ReducerOptionsT o;                                                                   \
          o.keep_dims = true;                                                                      \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_PAD:                                                              \
          set_options(op, NS::PadOptionsT());                                                      \
          break;                                                                                   \
        case NS::BuiltinOperator_RESHAPE:                                                          \
          set_options(op, NS::ReshapeOptionsT());                                                  \
          break;                                                                                   \
        case NS::BuiltinOperator_SOFTMAX: {                                                        \
          NS::SoftmaxOptionsT o;                                                                   \
          o.beta = 1.0f;                                                                           \
          set_options(op, std::move(o));                                                           \
          break;                                                                                   \
        }                                                                                          \
        case NS::BuiltinOperator_TRANSPOSE:                                                        \
          set_options(op, NS::TransposeOptionsT());                                                \
          break;                                                                                   \
        default:                                                                                   \
          break;                                                                                   \
      }                                                                                            \
    }                                                                                              \
    static std::vector<uint8_t> run(const ModelBuilder& b,                                         \
                                    const std::vector<ModelBuilder::Subgraph>& subgraphs,          \
                                    const std::vector<std::vector<uint8_t>>& buffers,              \
                                    const std::string& description,                                \
                                    const std::vector<std::pair<std::string, uint32_t>>& md,       \
                                    const std::vector<ModelBuilder::Signature>& sigs) {            \
      (void)b;                                                                                     \
      NS::ModelT m;                                                                                \
      m.version = 3;                                                                               \
      m.description = description;                                                                 \
      std::vector<std::pair<int32_t, std::string>> codes;                                          \
      for (const auto& sg : subgraphs) {                                                           \
        auto g = std::make_unique<NS::SubGraphT>();                                                \
        g->name = sg.name;                                                                         \
        for (const auto& t : sg.tensors) {                                                         \
          auto x = std::make_unique<NS::TensorT>();                                                \
          x->name = t.name;                                                                        \
          x->shape = t.shape;                                                                      \
          x->type = static_cast<NS::TensorType>(t.type);                                           \
          x->buffer = t.buffer;                                                                    \
          if (!t.scale.empty()) {                                                                  \
            x->quantization = std::make_unique<NS::QuantizationParametersT>();                     \
            x->quantization->scale = t.scale;                                                      \
            x->quantization->zero_point = t.zero_point;                                            \
            x->quantization->quantized_dimension = t.dim;                                          \
          }                                                                                        \
          g->tensors.push_back(std::move(x));                                                      \
        }                                                                                          \
        for (const auto& o : sg.ops) {                                                             \
          auto x = std::make_unique<NS::OperatorT>();                                              \
          std::pair<int32_t, std::string> key{o.code, o.custom};                                   \
          size_t idx = 0;                                                                          \
          while (idx < codes.size() && codes[idx] != key) ++idx;                                   \
          if (idx == codes.size()) codes.push_back(key);                                           \
          x->opcode_index = static_cast<uint32_t>(idx);                                            \
          x->inputs = o.inputs;                                                                    \
          x->outputs = o.outputs;                                                                  \
          if (o.options)                                                                           \
            write_options(*x, o.code, *o.options, o.weights_format);                               \
          else                                                                                     \
            options(*x, o.code);                                                                   \
          g->operators.push_back(std::move(x));                                                    \
        }                                                                                          \
        g->inputs = sg.inputs;                                                                     \
        g->outputs = sg.outputs;                                                                   \
        m.subgraphs.push_back(std::move(g));                                                       \
      }                                                                                            \
      for (const auto& [code, custom] : codes) {                                                   \
        auto c = std::make_unique<NS::OperatorCodeT>();                                            \
        c->builtin_code = static_cast<NS::BuiltinOperator>(code);                                  \
        c->deprecated_builtin_code = static_cast<int8_t>(code < 127 ? code : 127);                 \
        c->custom_code = custom;                                                                   \
        c->version = 1;                                                                            \
        m.operator_codes.push_back(std::move(c));                                                  \
      }                                                                                            \
      for (const auto& data : buffers) {                                                           \
        auto x = std::make_unique<NS::BufferT>();                                                  \
        x->data = data;                                                                            \
        m.buffers.push_back(std::move(x));                                                         \
      }                                                                                            \
      for (const auto& [name, buffer] : md) {                                                      \
        auto x = std::make_unique<NS::MetadataT>();                                                \
        x->name = name;                                                                            \
        x->buffer = buffer;                                                                        \
        m.metadata.push_back(std::move(x));                                                        \
      }                                                                                            \
      for (const auto& s : sigs) {                                                                 \
        auto x = std::make_unique<NS::SignatureDefT>();                                            \
        x->signature_key = s.key;                                                                  \
        x->subgraph_index = s.subgraph;                                                            \
        for (const auto& [n, i] : s.inputs) {                                                      \
          auto tm = std::make_unique<NS::TensorMapT>();                                            \
          tm->name = n;                                                                            \
          tm->tensor_index = static_cast<uint32_t>(i);                                             \
          x->inputs.push_back(std::move(tm));                                                      \
        }                                                                                          \
        for (const auto& [n, i] : s.outputs) {                                                     \
          auto tm = std::make_unique<NS::TensorMapT>();                                            \
          tm->name = n;                                                                            \
          tm->tensor_index = static_cast<uint32_t>(i);                                             \
          x->outputs.push_back(std::move(tm));                                                     \
        }                                                                                          \
        m.signature_defs.push_back(std::move(x));                                                  \
      }                                                                                            \
      flatbuffers::FlatBufferBuilder fbb;                                                          \
      NS::FinishModelBuffer(fbb, NS::Model::Pack(fbb, &m));                                        \
      return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()); \
    }                                                                                              \
  };

QIMPLANT_DEFINE_BUILD(Format::Circle, circle)
QIMPLANT_DEFINE_BUILD(Format::TFLite, tflite)
#undef QIMPLANT_DEFINE_BUILD

}  // namespace

std::vector<uint8_t> ModelBuilder::finish() const {
  if (format_ == Format::Circle)
    return Build<Format::Circle>::run(*this, subgraphs_, buffers_, description_, metadata_,
                                      signatures_);
  return Build<Format::TFLite>::run(*this, subgraphs_, buffers_, description_, metadata_,
                                    signatures_);
}

void ModelBuilder::save(const std::string& path) const {
  const auto bytes = finish();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace qimplant::test
