#include "exec/interpreter.h"

#include <algorithm>
#include <string>

#include "check/quant_params.h"
#include "exec/fixed_point.h"
#include "model/op_properties.h"
#include "model/shape.h"
#include "quant/pack4.h"
#include "util/error.h"

namespace qimplant::exec {

namespace {

// The float table applies when every operand that carries values (not shapes, axes or
// indices) and every output is float32.
bool all_float(const Node& node, const std::vector<const Value*>& inputs,
               const std::vector<Value*>& outputs) {
  const OpProperty* property = op_property(node.code);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) continue;
    const bool index = property && property->is_index_input(i);
    if (!index && !(inputs[i]->type == TensorType::Float32)) return false;
  }
  for (const Value* v : outputs)
    if (!v || !(v->type == TensorType::Float32)) return false;
  return true;
}

std::string code_names(const ModelInfo& info, const std::vector<int32_t>& codes) {
  std::vector<std::string> names;
  for (int32_t c : codes) {
    OperatorInfo op;
    op.opcode_index = static_cast<uint32_t>(-1);  // name from the code alone
    op.builtin_code = c;
    names.push_back(operator_name(info, op));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

Limits& limits() {
  static Limits l;
  return l;
}

namespace {

// The declared shapes against the limits, and every constant's buffer against its shape, before
// any Value is made: a 500-byte file can declare a 64 GiB tensor.
void check_sizes(const ModelFile& file, const SubgraphInfo& sg, const Graph& graph) {
  const Limits& lim = limits();
  const std::string prefix = "model file '" + file.path() + "': ";
  int64_t total = 0;
  std::vector<int64_t> counts(sg.tensors.size(), 0);
  for (size_t i = 0; i < sg.tensors.size(); ++i) {
    const TensorInfo& t = sg.tensors[i];
    const std::string where = prefix + "tensor " + std::to_string(i) + " '" + t.name + "'";
    const int64_t n = t.element_count();
    counts[i] = n;
    // Dynamic shapes are refused where a value is made (tensor_value).
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int32_t d) { return d < 0; })) continue;
    if (file.info().is_constant(t) && element_size(t.type) != 0) {
      const BufferInfo& b = file.info().buffers[t.buffer];
      const bool packed = is_4bit(t.type);
      const uint64_t need = packed ? (uint64_t(n) + 1) / 2 : uint64_t(n) * element_size(t.type);
      const bool overflow = !packed && uint64_t(n) > UINT64_MAX / element_size(t.type);
      if (overflow || b.size != need) {
        throw Error(where + ": buffer " + std::to_string(t.buffer) + " holds " +
                    std::to_string(b.size) + " bytes; expected " +
                    (overflow ? std::string("more than 2^64") : std::to_string(need)) +
                    " for shape " + shape_text_compact(t.shape) + " of " +
                    tensor_type_name(file.format(), t.type));
      }
    }
    const auto problems = quant_params_problems(t.type, t.shape, t.quant);
    if (!problems.empty())
      throw Error(where + ": " + tensor_type_name(file.format(), t.type) + " tensor " +
                  problems[0]);
    if (n > lim.max_tensor_elements) {
      throw Error(where + " has shape " + shape_text_compact(t.shape) + " (" +
                  (n == INT64_MAX ? std::string("more than 2^63") : std::to_string(n)) +
                  " elements); eval's reference interpreter holds at most " +
                  std::to_string(lim.max_tensor_elements) + " elements per tensor");
    }
    total += n;
    if (total > lim.max_total_elements) {
      throw Error(prefix + "subgraph " + std::to_string(graph.subgraph) + ": its tensors hold " +
                  "more than " + std::to_string(lim.max_total_elements) +
                  " elements together (reached at tensor " + std::to_string(i) + " '" + t.name +
                  "'), eval's limit for one model");
    }
  }
  // Convolutions and fully connected layers: each output element reads a whole filter row.
  int64_t work = 0;
  for (const Node& node : graph.nodes) {
    int64_t per_output = 1;
    if (node.inputs.size() > 1 && node.inputs[1] >= 0 &&
        !sg.tensors[node.inputs[1]].shape.empty()) {
      const auto& w = sg.tensors[node.inputs[1]].shape;
      const int64_t rows = w[0] > 0 ? w[0] : 1;
      per_output = std::max<int64_t>(1, counts[node.inputs[1]] / rows);
    }
    for (int32_t o : node.outputs) {
      if (o < 0) continue;
      int64_t w = 0;
      if (__builtin_mul_overflow(counts[o], per_output, &w) ||
          __builtin_add_overflow(work, w, &work) || work > lim.max_work) {
        throw Error(prefix + describe(node) + ": running the subgraph would take more than " +
                    std::to_string(lim.max_work) +
                    " multiply-accumulates per sample, eval's limit for one model");
      }
    }
  }
}

}  // namespace

Interpreter::Interpreter(const ModelFile& file, uint32_t subgraph)
    : graph_(load_graph(file, subgraph)) {
  const SubgraphInfo& sg = info();
  check_sizes(file, sg, graph_);
  // Kernels are chosen from the model's types and parameters alone, so shape-only values stand
  // in for the operands here.
  std::vector<Value> shapes(sg.tensors.size());
  for (size_t t = 0; t < sg.tensors.size(); ++t) {
    shapes[t].type = sg.tensors[t].type;
    shapes[t].shape = sg.tensors[t].shape;
    shapes[t].quant = sg.tensors[t].quant;
  }
  std::string missing;
  size_t missing_count = 0;
  for (const Node& node : graph_.nodes) {
    std::vector<const Value*> inputs;
    std::vector<Value*> outputs;
    for (int32_t t : node.inputs) inputs.push_back(t < 0 ? nullptr : &shapes[t]);
    for (int32_t t : node.outputs) outputs.push_back(t < 0 ? nullptr : &shapes[t]);
    const bool is_float = all_float(node, inputs, outputs);
    Kernel kernel = find_generic_kernel(node, inputs, outputs);
    if (!kernel) kernel = is_float ? find_float_kernel(node.code) : find_integer_kernel(node.code);
    if (!kernel) {
      auto add = [&](const std::vector<int32_t>& tensors) {
        std::string s;
        for (int32_t t : tensors)
          s += (s.empty() ? "" : ", ") +
               (t < 0 ? std::string("none") : tensor_type_name(file.format(), sg.tensors[t].type));
        return s;
      };
      missing += (missing.empty() ? "" : "; ") + describe(node) + " with inputs (" +
                 add(node.inputs) + ") and outputs (" + add(node.outputs) + ")";
      ++missing_count;
    }
    kernels_.push_back(kernel);
  }
  if (missing_count > 0) {
    std::vector<int32_t> float_codes = float_kernel_codes();
    std::vector<int32_t> int_codes = integer_kernel_codes();
    std::vector<int32_t> generic_codes = generic_kernel_codes();
    throw Error(
        "model file '" + file.path() + "': subgraph " + std::to_string(subgraph) + ": " +
        std::to_string(missing_count) + " operator" + (missing_count == 1 ? "" : "s") +
        " the reference interpreter has no kernel for: " + missing + ". It runs float32 " +
        code_names(file.info(), float_codes) + "; quantized " +
        (int_codes.empty() ? std::string("(none yet)") : code_names(file.info(), int_codes)) +
        "; and for any type " + code_names(file.info(), generic_codes) +
        " when the output keeps the data input's type and parameters");
  }
}

Value Interpreter::tensor_value(int32_t index) const {
  const SubgraphInfo& sg = info();
  const ModelFile& file = *graph_.file;
  if (index < 0 || static_cast<size_t>(index) >= sg.tensors.size()) {
    throw Error("model file '" + file.path() + "': tensor " + std::to_string(index) +
                " does not exist (subgraph " + std::to_string(graph_.subgraph) + " has " +
                std::to_string(sg.tensors.size()) + " tensors)");
  }
  const TensorInfo& t = sg.tensors[index];
  const std::string where =
      "model file '" + file.path() + "': tensor " + std::to_string(index) + " '" + t.name + "'";
  for (int32_t d : t.shape) {
    if (d < 0) {
      throw Error(where + " has shape " + shape_text_compact(t.shape) +
                  "; the reference interpreter needs static shapes (no dimension < 0)");
    }
  }
  if (element_size(t.type) == 0) {
    throw Error(where + " has type " + tensor_type_name(file.format(), t.type) +
                ", which the reference interpreter cannot hold");
  }
  Value v = make_value(t.type, t.shape, t.quant);
  if (!file.info().is_constant(t)) return v;
  const BufferInfo& b = file.info().buffers[t.buffer];
  const size_t n = static_cast<size_t>(v.element_count());
  const size_t expected = is_4bit(t.type) ? (n + 1) / 2 : n * element_size(t.type);
  if (b.size != expected) {
    throw Error(where + ": buffer " + std::to_string(t.buffer) + " holds " +
                std::to_string(b.size) + " bytes; expected " + std::to_string(expected) +
                " for shape " + shape_text_compact(t.shape) + " of " +
                tensor_type_name(file.format(), t.type));
  }
  if (t.type == TensorType::Int4)
    unpack_int4(b.data, n, v.as<int8_t>());
  else if (t.type == TensorType::UInt4)
    unpack_uint4(b.data, n, v.as<uint8_t>());
  else if (n > 0)
    std::memcpy(v.data.data(), b.data, expected);
  return v;
}

std::vector<Value> Interpreter::run(const std::vector<Value>& inputs) const {
  const SubgraphInfo& sg = info();
  const ModelFile& file = *graph_.file;
  const Format format = file.format();
  const std::string prefix = "model file '" + file.path() + "': ";
  if (inputs.size() != sg.inputs.size()) {
    throw Error(prefix + "subgraph " + std::to_string(graph_.subgraph) + " takes " +
                std::to_string(sg.inputs.size()) + " inputs; " + std::to_string(inputs.size()) +
                " given");
  }
  std::vector<Value> values(sg.tensors.size());
  std::vector<bool> have(sg.tensors.size(), false);
  for (size_t t = 0; t < sg.tensors.size(); ++t) {
    if (file.info().is_constant(sg.tensors[t]) || sg.tensors[t].is_variable) {
      values[t] = tensor_value(static_cast<int32_t>(t));
      have[t] = true;
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int32_t t = sg.inputs[i];
    if (t < 0) {
      throw Error(prefix + "subgraph " + std::to_string(graph_.subgraph) + " input " +
                  std::to_string(i) + " refers to no tensor (-1)");
    }
    const TensorInfo& info = sg.tensors[t];
    const Value& in = inputs[i];
    const std::string name = prefix + "input " + std::to_string(i) + " (tensor " +
                             std::to_string(t) + " '" + info.name + "')";
    if (in.type != info.type) {
      throw Error(name + " is given as " + tensor_type_name(format, in.type) + "; expected " +
                  tensor_type_name(format, info.type));
    }
    if (in.shape != info.shape) {
      throw Error(name + " is given with shape " + shape_text_compact(in.shape) + "; expected " +
                  shape_text_compact(info.shape));
    }
    const size_t bytes = static_cast<size_t>(in.element_count()) * element_size(in.type);
    if (in.data.size() != bytes) {
      throw Error(name + " holds " + std::to_string(in.data.size()) + " bytes; expected " +
                  std::to_string(bytes) + " for shape " + shape_text_compact(in.shape) + " of " +
                  tensor_type_name(format, in.type));
    }
    values[t] = in;
    values[t].quant = info.quant;
    have[t] = true;
  }
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    std::vector<const Value*> in;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int32_t t = node.inputs[i];
      if (t < 0) {
        in.push_back(nullptr);
        continue;
      }
      if (!have[t]) {
        throw Error(prefix + describe(node) + ": input " + std::to_string(i) + " (tensor " +
                    std::to_string(t) + " '" + sg.tensors[t].name +
                    "') has no value: it is not a graph input, not a constant, and no earlier "
                    "operator produces it");
      }
      in.push_back(&values[t]);
    }
    std::vector<Value*> out;
    for (int32_t t : node.outputs) {
      if (t < 0) {
        out.push_back(nullptr);
        continue;
      }
      values[t] = make_value(sg.tensors[t].type, sg.tensors[t].shape, sg.tensors[t].quant);
      out.push_back(&values[t]);
    }
    try {
      kernels_[n](node, in, out);
    } catch (const MultiplierError& e) {
      throw Error(prefix + describe(node) + ": " + e.what());
    } catch (const Error& e) {
      throw Error(prefix + e.what());
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const int32_t t = node.outputs[o];
      if (t < 0) continue;
      const Value& v = values[t];
      const size_t bytes = static_cast<size_t>(v.element_count()) * element_size(v.type);
      if (v.type != sg.tensors[t].type || v.shape != sg.tensors[t].shape ||
          v.data.size() != bytes) {
        throw Error(prefix + describe(node) + ": output " + std::to_string(o) + " (tensor " +
                    std::to_string(t) + " '" + sg.tensors[t].name + "') came out as " +
                    tensor_type_name(format, v.type) + " " + shape_text_compact(v.shape) +
                    " with " + std::to_string(v.data.size()) + " bytes; expected " +
                    tensor_type_name(format, sg.tensors[t].type) + " " +
                    shape_text_compact(sg.tensors[t].shape) + " (an internal error of the kernel)");
      }
      have[t] = true;
    }
  }
  return values;
}

}  // namespace qimplant::exec
