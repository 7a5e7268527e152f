#include "qparam/onnx_qdq.h"

#include <onnx/onnx_pb.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "io/mapped_file.h"
#include "model/op_properties.h"
#include "qparam/value_layout.h"
#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant {

namespace {

using TP = onnx::TensorProto;

// A constant's values, widened, with its element type and shape.
struct Constant {
  int32_t type = 0;
  std::vector<int64_t> dims;
  std::vector<double> values;
};

const char* type_name(int32_t t) {
  switch (t) {
    case TP::FLOAT:
      return "float32";
    case TP::UINT8:
      return "uint8";
    case TP::INT8:
      return "int8";
    case TP::UINT16:
      return "uint16";
    case TP::INT16:
      return "int16";
    case TP::INT32:
      return "int32";
    case TP::INT64:
      return "int64";
    case TP::DOUBLE:
      return "float64";
    case TP::FLOAT16:
      return "float16";
    case TP::BOOL:
      return "bool";
  }
  return "unsupported";
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("ONNX file '" + path_ + "': " + what);
  }

  std::string node_label(const onnx::NodeProto& n, int index) const {
    return n.op_type() + " node " + std::to_string(index) +
           (n.name().empty() ? "" : " '" + n.name() + "'");
  }

  template <typename T>
  static void from_raw(const std::string& raw, std::vector<double>* out) {
    const size_t n = raw.size() / sizeof(T);
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
      (*out)[i] = static_cast<double>(v);
    }
  }

  Constant decode(const TP& t, const std::string& who) const {
    if (t.data_location() == TP::EXTERNAL)
      fail(who + ": tensor '" + t.name() +
           "' keeps its data in an external file, which is not read (expected the data "
           "inside the model: onnx.save without save_as_external_data)");
    Constant c;
    c.type = t.data_type();
    c.dims.assign(t.dims().begin(), t.dims().end());
    const std::string& raw = t.raw_data();
    const bool has_raw = t.has_raw_data();
    switch (c.type) {
      case TP::FLOAT:
        if (has_raw)
          from_raw<float>(raw, &c.values);
        else
          c.values.assign(t.float_data().begin(), t.float_data().end());
        break;
      case TP::DOUBLE:
        if (has_raw)
          from_raw<double>(raw, &c.values);
        else
          c.values.assign(t.double_data().begin(), t.double_data().end());
        break;
      case TP::UINT8:
        if (has_raw)
          from_raw<uint8_t>(raw, &c.values);
        else
          c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case TP::INT8:
        if (has_raw)
          from_raw<int8_t>(raw, &c.values);
        else
          c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case TP::UINT16:
        if (has_raw)
          from_raw<uint16_t>(raw, &c.values);
        else
          c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case TP::INT16:
        if (has_raw)
          from_raw<int16_t>(raw, &c.values);
        else
          c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case TP::INT32:
        if (has_raw)
          from_raw<int32_t>(raw, &c.values);
        else
          c.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case TP::INT64:
        if (has_raw)
          from_raw<int64_t>(raw, &c.values);
        else
          c.values.assign(t.int64_data().begin(), t.int64_data().end());
        break;
      default:
        c.values.clear();
        return c;  // not needed as a number (strings, bools, float16 shape helpers)
    }
    size_t count = 1;
    for (int64_t d : c.dims) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
    if (c.values.size() != count)
      fail(who + ": tensor '" + t.name() + "' has " + std::to_string(c.values.size()) +
           " values for dims of " + std::to_string(count) + " elements");
    return c;
  }

  const std::string& path_;
};

bool is_qdq_passthrough(const std::string& op) {
  return op == "Cast" || op == "Clip";
}

// `weight`: input 1 traced back through its DequantizeLinear (the constant it reads).
std::string source_kind(const onnx::NodeProto& n, const std::map<std::string, Constant>& consts,
                        const std::string& weight) {
  const std::string& op = n.op_type();
  if (op == "Conv") {
    int64_t group = 1;
    for (const auto& a : n.attribute())
      if (a.name() == "group") group = a.i();
    if (group > 1 && n.input_size() > 1) {
      auto w = consts.find(weight);
      if (w != consts.end() && w->second.dims.size() == 4 && w->second.dims[1] == 1 &&
          w->second.dims[0] % group == 0)
        return "depthwise_conv2d";
    }
    return "conv2d";
  }
  if (op == "MatMul" && !consts.count(weight)) return "BATCH_MATMUL";
  static const std::map<std::string, std::string> kinds = {{"ConvTranspose", "conv_transpose2d"},
                                                           {"Gemm", "linear"},
                                                           {"MatMul", "linear"},
                                                           {"Relu", "relu"},
                                                           {"Add", "add"},
                                                           {"Sub", "sub"},
                                                           {"Mul", "mul"},
                                                           {"Concat", "cat"},
                                                           {"MaxPool", "max_pool2d"},
                                                           {"AveragePool", "avg_pool2d"},
                                                           {"GlobalAveragePool", "mean"},
                                                           {"ReduceMean", "mean"},
                                                           {"Flatten", "flatten"},
                                                           {"Reshape", "reshape"},
                                                           {"Transpose", "transpose"},
                                                           {"Pad", "pad"},
                                                           {"Sigmoid", "sigmoid"},
                                                           {"Tanh", "tanh"},
                                                           {"Softmax", "softmax"},
                                                           {"HardSwish", "hardswish"},
                                                           {"LeakyRelu", "leaky_relu"},
                                                           {"Identity", "identity"},
                                                           {"Dropout", "identity"},
                                                           {"Clip", "hardtanh"}};
  auto it = kinds.find(op);
  if (it != kinds.end()) return it->second;
  std::string upper;
  for (char c : op) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}

// Clip(0, 6) and Clip(0, inf) are ReLU6 and ReLU; constant bounds only.
std::string clip_kind(const onnx::NodeProto& n, const std::map<std::string, Constant>& consts) {
  double lo = -INFINITY, hi = INFINITY;
  for (const auto& a : n.attribute()) {
    if (a.name() == "min") lo = a.f();
    if (a.name() == "max") hi = a.f();
  }
  auto bound = [&](int i, double* out) {
    if (n.input_size() > i && !n.input(i).empty()) {
      auto it = consts.find(n.input(i));
      if (it != consts.end() && it->second.values.size() == 1) *out = it->second.values[0];
    }
  };
  bound(1, &lo);
  bound(2, &hi);
  if (lo == 0 && hi == 6) return "relu6";
  if (lo == 0 && std::isinf(hi)) return "relu";
  if (lo == -1 && hi == 1) return "relu_n1_to_1";
  return "hardtanh";
}

// The weight's layout in ONNX (value_layout.h's letters): Conv [M, C/group, kH, kW],
// ConvTranspose [C, M/group, kH, kW], Gemm's B [N, K] with transB, else [K, N], MatMul's B [K, N]
// (onnx/defs/nn/defs.cc, onnx/defs/math/defs.cc).
std::string onnx_weight_layout(const onnx::NodeProto& n) {
  const std::string& op = n.op_type();
  if (op == "Conv") return "OIHW";
  if (op == "ConvTranspose") return "IOHW";
  if (op == "MatMul") return "IO";
  if (op == "Gemm") {
    for (const auto& a : n.attribute())
      if (a.name() == "transB" && a.i() != 0) return "OI";
    return "IO";
  }
  return "";
}

// The weight layout of the operator a source kind becomes (the operator table's).
std::string model_weight_layout(const std::string& kind) {
  using namespace circle;
  int32_t code = -1;
  if (kind == "conv2d") code = BuiltinOperator_CONV_2D;
  if (kind == "depthwise_conv2d") code = BuiltinOperator_DEPTHWISE_CONV_2D;
  if (kind == "conv_transpose2d") code = BuiltinOperator_TRANSPOSE_CONV;
  if (kind == "linear") code = BuiltinOperator_FULLY_CONNECTED;
  const OpProperty* p = code < 0 ? nullptr : op_property(code);
  return p ? p->weight_layout : std::string();
}

}  // namespace

bool looks_like_onnx(const uint8_t* data, size_t size) {
  // ModelProto fields are 1..20; a protobuf tag is (field << 3) | wire type. onnx.save writes
  // ir_version (field 1, varint) first: 0x08.
  if (size < 2) return false;
  const uint8_t tag = data[0];
  const int field = tag >> 3, wire = tag & 7;
  return field >= 1 && field <= 20 && (wire == 0 || wire == 2);
}

OnnxQdq read_onnx_qdq(const std::string& path) {
  Reader r(path);
  const auto mapped = MappedFile::open(path, "ONNX file");
  if (mapped->size() > static_cast<size_t>(INT_MAX))
    r.fail("is " + std::to_string(mapped->size()) +
           " bytes; protobuf parses at most 2 GB (expected a model with external data "
           "removed or smaller)");
  onnx::ModelProto model;
  if (!model.ParseFromArray(mapped->data(), static_cast<int>(mapped->size())))
    r.fail(
        "does not parse as an ONNX ModelProto (expected a .onnx model written by "
        "onnx.save / torch.onnx.export)");
  if (!model.has_graph()) r.fail("has no graph (expected an ONNX model)");
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 10 || opset > 21)
    r.fail("opset_import: default-domain opset is " +
           (opset < 0 ? std::string("missing") : std::to_string(opset)) +
           ", expected 10 through 21 (QuantizeLinear / DequantizeLinear exist from opset 10)");

  const onnx::GraphProto& g = model.graph();
  OnnxQdq out;
  out.qparams.path = path;
  out.qparams.format = "ONNX QDQ (opset " + std::to_string(opset) + ")";
  out.graph.path = path;
  out.graph.producer = model.producer_name() + " " + model.producer_version() + " (ONNX opset " +
                       std::to_string(opset) + ")";

  // Constants: initializers, Constant nodes, and outputs of nodes computed from constants only
  // (shape arithmetic), which are no data flow for the structure either.
  std::map<std::string, Constant> consts;
  std::map<std::string, std::string> const_origin;  // for messages
  for (const auto& t : g.initializer()) {
    consts[t.name()] = r.decode(t, "initializer");
    const_origin[t.name()] = "initializer";
  }
  std::set<std::string> derived_consts;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() == "Constant") {
      for (const auto& a : n.attribute())
        if (a.name() == "value" && a.has_t() && n.output_size() == 1) {
          consts[n.output(0)] = r.decode(a.t(), r.node_label(n, i));
          const_origin[n.output(0)] = "Constant node";
        }
      continue;
    }
    if (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear") continue;
    bool all_const = n.input_size() > 0;
    for (const auto& in : n.input())
      all_const = all_const && (in.empty() || consts.count(in) || derived_consts.count(in));
    if (!all_const) continue;
    for (const auto& o : n.output()) derived_consts.insert(o);
    // Exporters build some zero points this way (torch: a bias's int32 zero point is
    // Cast(ConstantOfShape(shape))); evaluate those two so that they count as constants.
    if (n.output_size() == 1 && n.input_size() >= 1 && consts.count(n.input(0))) {
      const Constant& in = consts.at(n.input(0));
      if (n.op_type() == "Cast" || n.op_type() == "Identity") {
        Constant c = in;
        for (const auto& a : n.attribute())
          if (a.name() == "to") c.type = static_cast<int32_t>(a.i());
        consts[n.output(0)] = c;
      } else if (n.op_type() == "ConstantOfShape") {
        Constant c;
        c.type = TP::FLOAT;
        double fill = 0;
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) {
            const Constant v = r.decode(a.t(), r.node_label(n, i));
            c.type = v.type;
            if (!v.values.empty()) fill = v.values[0];
          }
        size_t count = 1;
        for (double d : in.values) {
          c.dims.push_back(static_cast<int64_t>(d));
          count *= static_cast<size_t>(std::max(0.0, d));
        }
        if (count <= (size_t(1) << 24)) {
          c.values.assign(count, fill);
          consts[n.output(0)] = c;
        }
      }
    }
  }

  std::map<std::string, const onnx::NodeProto*> producer;
  std::map<std::string, int> consumers;
  for (const auto& n : g.node()) {
    for (const auto& o : n.output()) producer[o] = &n;
    for (const auto& in : n.input())
      if (!in.empty()) ++consumers[in];
  }

  std::map<std::string, size_t> entry_of;
  auto params = [&](const onnx::NodeProto& n, int index, QParamEntry* e, int32_t* zp_type) {
    const std::string who = r.node_label(n, index);
    if (n.input_size() < 2 || n.input(1).empty())
      r.fail(who + ": has no scale input (expected x, y_scale[, y_zero_point])");
    auto sc = consts.find(n.input(1));
    if (sc == consts.end())
      r.fail(who + ": input 1 (scale) '" + n.input(1) +
             "' is not a constant (expected an initializer or a Constant node: q-implant "
             "needs the parameters themselves)");
    if (sc->second.type != TP::FLOAT)
      r.fail(who + ": input 1 (scale) '" + n.input(1) + "' is " + type_name(sc->second.type) +
             ", expected float32");
    int64_t axis = 1;
    for (const auto& a : n.attribute()) {
      if (a.name() == "axis") axis = a.i();
      if (a.name() == "block_size" && a.i() != 0)
        r.fail(who + ": block_size is " + std::to_string(a.i()) +
               ": block-wise quantization has no circle / tflite form (expected per-tensor or "
               "per-axis)");
    }
    *zp_type = TP::UINT8;
    std::vector<double> zp;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      auto z = consts.find(n.input(2));
      if (z == consts.end())
        r.fail(who + ": input 2 (zero point) '" + n.input(2) + "' is not a constant");
      *zp_type = z->second.type;
      zp = z->second.values;
    } else {
      for (const auto& a : n.attribute())
        if (a.name() == "output_dtype" && a.i() != 0) *zp_type = static_cast<int32_t>(a.i());
    }
    std::optional<QType> qtype = parse_qtype(type_name(*zp_type));
    if (!qtype || *qtype == QType::Int64)
      r.fail(who + ": the zero point's type is " + type_name(*zp_type) +
             ", which q-implant cannot write (expected uint8, int8, int16 or int32)");
    e->dtype = *qtype;
    for (double s : sc->second.values) e->scale.push_back(static_cast<float>(s));
    if (zp.empty()) zp.assign(e->scale.size(), 0);
    if (zp.size() != e->scale.size())
      r.fail(who + ": zero point '" + n.input(2) + "' has " + std::to_string(zp.size()) +
             " values, expected " + std::to_string(e->scale.size()) + " (one per scale)");
    for (double z : zp) e->zero_point.push_back(static_cast<int64_t>(z));
    if (e->scale.size() > 1) {
      // The axis is in ONNX's layout; the model's channel dimension is found by the planner,
      // from the layout change when the value is moved (qparam/value_layout.h), else by shape.
      e->quantized_dimension_auto = true;
      if (auto x = consts.find(n.input(0)); x != consts.end()) {
        const int64_t rank = static_cast<int64_t>(x->second.dims.size());
        if (axis < -rank || axis >= rank)
          r.fail(who + ": axis is " + std::to_string(axis) + ", but '" + n.input(0) +
                 "' has rank " + std::to_string(rank) + " (expected " + std::to_string(-rank) +
                 ".." + std::to_string(rank - 1) + ")");
        e->layout_axis = static_cast<int32_t>(axis < 0 ? axis + rank : axis);
      }
    }
    check_entry(*e, "ONNX file '" + path + "': " + who + ": tensor '" + n.input(0) + "'");
  };
  auto add = [&](QParamEntry e, const std::string& who) {
    auto it = entry_of.find(e.key);
    if (it != entry_of.end()) {
      const QParamEntry& p = out.qparams.entries[it->second];
      if (p.dtype != e.dtype || p.scale != e.scale || p.zero_point != e.zero_point)
        r.fail(who + ": tensor '" + e.key +
               "' is quantized twice with different parameters (expected one scale and zero "
               "point per tensor)");
      return;
    }
    entry_of[e.key] = out.qparams.entries.size();
    out.qparams.entries.push_back(std::move(e));
  };

  // Where a DequantizeLinear's output really comes from: the tensor its QuantizeLinear read
  // (through Cast / Clip that exporters put between them), or the integer constant it reads.
  std::map<std::string, std::string> alias;
  std::set<const onnx::NodeProto*> qdq_nodes;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    const std::string who = r.node_label(n, i);
    const bool qdq = n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear";
    // Both operators have exactly one output, y (ONNX operator definitions, opsets 10-21).
    if (qdq && (n.output_size() != 1 || n.output(0).empty()))
      r.fail(who + ": has " + std::to_string(n.output_size()) +
             " output(s), expected exactly one (y)");
    if (n.op_type() == "QuantizeLinear") {
      if (n.input_size() < 1 || n.input(0).empty()) r.fail(who + ": has no input x");
      QParamEntry e;
      e.key = n.input(0);
      int32_t zt = 0;
      params(n, i, &e, &zt);
      add(std::move(e), who);
      qdq_nodes.insert(&n);
    } else if (n.op_type() == "DequantizeLinear") {
      if (n.input_size() < 1 || n.input(0).empty()) r.fail(who + ": has no input x");
      qdq_nodes.insert(&n);
      std::string x = n.input(0);
      // Walk back over Cast / Clip to the QuantizeLinear.
      const onnx::NodeProto* p = producer.count(x) ? producer[x] : nullptr;
      while (p != nullptr && is_qdq_passthrough(p->op_type()) && p->input_size() > 0) {
        qdq_nodes.insert(p);
        x = p->input(0);
        p = producer.count(x) ? producer[x] : nullptr;
      }
      if (p != nullptr && p->op_type() == "QuantizeLinear") {
        alias[n.output(0)] = p->input(0);
        continue;
      }
      auto c = consts.find(n.input(0));
      if (c == consts.end()) continue;  // dequantizing something computed: nothing to take
      QParamEntry e;
      e.key = n.input(0);
      int32_t zt = 0;
      params(n, i, &e, &zt);
      if (c->second.type != zt && n.input_size() > 2)
        r.fail(who + ": x '" + n.input(0) + "' is " + type_name(c->second.type) +
               " but its zero point is " + type_name(zt) + " (expected the same type)");
      std::optional<QType> vt = parse_qtype(type_name(c->second.type));
      if (!vt || *vt == QType::Int64)
        r.fail(who + ": x '" + n.input(0) + "' is " + type_name(c->second.type) +
               ", expected an 8, 16 or 32-bit integer constant");
      e.dtype = *vt;
      const QTypeInfo& qi = qtype_info(e.dtype);
      std::vector<uint8_t> bytes(c->second.values.size() * qi.unpacked_size);
      for (size_t k = 0; k < c->second.values.size(); ++k) {
        const int64_t v = static_cast<int64_t>(c->second.values[k]);
        std::memcpy(bytes.data() + k * qi.unpacked_size, &v, qi.unpacked_size);  // little-endian
      }
      npy::Array a;
      a.path = path + ":" + n.input(0);
      a.descr = std::string(qi.unpacked_size == 1 ? "|" : "<") + qi.npy_kind +
                std::to_string(qi.unpacked_size);
      a.kind = qi.npy_kind;
      a.item_size = qi.unpacked_size;
      a.shape = c->second.dims;
      a.storage = MappedFile::from_bytes(a.path, std::move(bytes));
      a.data = a.storage->data();
      a.nbytes = a.storage->size();
      e.value_file = a.path;
      e.value = std::move(a);
      alias[n.output(0)] = n.input(0);
      add(std::move(e), who);
    }
  }
  auto origin = [&](std::string t) {
    for (int guard = 0; guard < 64 && alias.count(t); ++guard) t = alias[t];
    return t;
  };

  // The structure without the QDQ pairs.
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  for (const auto& in : g.input())
    if (!initializers.count(in.name())) out.graph.inputs.push_back(in.name());
  for (const auto& o : g.output()) out.graph.outputs.push_back(origin(o.name()));
  std::set<std::string> quantized_inputs;  // tensors some QuantizeLinear reads
  for (const auto& n : g.node())
    if (n.op_type() == "QuantizeLinear") quantized_inputs.insert(n.input(0));
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (qdq_nodes.count(&n) || n.op_type() == "Constant" || n.output_size() == 0) continue;
    if (derived_consts.count(n.output(0))) continue;
    SourceNode s;
    s.op = n.op_type() == "Clip"
               ? clip_kind(n, consts)
               : source_kind(n, consts, n.input_size() > 1 ? origin(n.input(1)) : std::string());
    s.type = n.op_type();
    s.module = n.name();
    s.output = n.output(0);
    const bool weighted = s.op == "conv2d" || s.op == "depthwise_conv2d" ||
                          s.op == "conv_transpose2d" || s.op == "linear";
    for (int k = 0; k < n.input_size(); ++k) {
      const std::string in = origin(n.input(k));
      if (n.input(k).empty()) continue;
      if (weighted && k == 1) {
        s.weight = in;
        if (auto c = consts.find(in); c != consts.end()) {
          // The structure match compares weight shapes in the model's layout.
          const std::string from = onnx_weight_layout(n);
          const std::string to = model_weight_layout(s.op);
          const auto perm = layout_permutation(from, to);
          if (perm && c->second.dims.size() == from.size()) {
            s.weight_shape = permute_shape(c->second.dims, *perm);
            // An integer weight handed over as it is: the planner moves it to the model's
            // layout (the float ones q-implant quantizes are already there).
            if (auto it = entry_of.find(in); it != entry_of.end()) {
              QParamEntry& e = out.qparams.entries[it->second];
              if (e.value) e.value_layout = from;
            }
          } else {
            s.weight_shape = c->second.dims;
          }
        }
        continue;
      }
      if (weighted && k == 2) {
        s.bias = in;
        continue;
      }
      if (consts.count(in) || derived_consts.count(in)) continue;
      s.inputs.push_back(in);
    }
    // An activation right after the op whose output nothing else reads or quantizes is fused
    // into it, as the converters fuse it (conv + ReLU → CONV_2D with fused RELU).
    const bool is_act = s.op == "relu" || s.op == "relu6" || s.op == "relu_n1_to_1";
    if (is_act && s.inputs.size() == 1 && !out.graph.nodes.empty()) {
      SourceNode& prev = out.graph.nodes.back();
      const bool fusable = prev.op == "conv2d" || prev.op == "depthwise_conv2d" ||
                           prev.op == "linear" || prev.op == "add" || prev.op == "sub" ||
                           prev.op == "mul" || prev.op == "conv_transpose2d";
      if (fusable && prev.output == s.inputs[0] && prev.activation.empty() &&
          consumers[prev.output] == 1 && !quantized_inputs.count(prev.output)) {
        prev.output = s.output;
        prev.activation = s.op;
        continue;
      }
    }
    out.graph.nodes.push_back(std::move(s));
  }
  return out;
}

}  // namespace qimplant
