#include "inspect/inspect.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/schema.h"
#include "model/shape.h"
#include "resolve/key_match.h"
#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

std::string float_text(float value) {
  char buf[64];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(value));
    if (std::strtof(buf, nullptr) == value) break;  // nan never compares equal: stays at %.9g
  }
  return buf;
}

namespace {

using json = nlohmann::ordered_json;

// "CONV_2D", "Conv2D" and "conv2d" all fold to "CONV2D".
std::string fold_op(const std::string& s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> schema_op_names(Format format) {
  std::vector<std::string> out;
  auto add = [&](auto schema) {
    using S = decltype(schema);
    for (int32_t op = S::op_min; op <= S::op_max; ++op) {
      const char* n = S::op_name(op);
      if (n && *n) out.push_back(n);
    }
  };
  if (format == Format::Circle) {
    add(Schema<Format::Circle>{});
  } else {
    add(Schema<Format::TFLite>{});
  }
  return out;
}

struct OpFilter {
  std::string folded;
  bool any_custom = false;
};

bool op_matches(const OpFilter& f, const std::string& name) {
  if (f.any_custom) return name.rfind("CUSTOM(", 0) == 0;
  return fold_op(name) == f.folded;
}

// Which operators and tensors of each subgraph the filter shows.
struct Selection {
  std::vector<std::vector<bool>> ops, tensors;
  bool filtered = false;
};

Selection select(const ModelInfo& model, const InspectFilter& filter) {
  std::optional<NamePattern> pattern;
  if (!filter.tensors.empty()) {
    pattern = NamePattern::parse(filter.tensors, NamePattern::Kind::Glob,
                                 "tensor filter '" + filter.tensors + "'");
  }
  std::vector<OpFilter> op_filters;
  if (!filter.ops.empty()) {
    const auto known = schema_op_names(model.format);
    std::vector<std::string> in_model;
    for (const auto& sg : model.subgraphs)
      for (const auto& op : sg.operators) in_model.push_back(operator_name(model, op));
    for (const auto& want : filter.ops) {
      OpFilter f;
      f.folded = fold_op(want);
      f.any_custom = f.folded == "CUSTOM";
      bool ok = f.any_custom;
      for (const auto& n : known) ok = ok || fold_op(n) == f.folded;
      for (const auto& n : in_model) ok = ok || fold_op(n) == f.folded;
      if (!ok) {
        const auto near = closest_names(want, known, 5);
        std::string hint;
        for (const auto& n : near) hint += (hint.empty() ? "" : ", ") + n;
        throw Error("operator type '" + want + "' is not a " + format_name(model.format) +
                    " operator" + (hint.empty() ? std::string() : "; closest: " + hint));
      }
      op_filters.push_back(f);
    }
  }

  Selection sel;
  sel.filtered = pattern.has_value() || !op_filters.empty();
  for (const auto& sg : model.subgraphs) {
    std::vector<bool> tensor_ok(sg.tensors.size(), true);
    if (pattern) {
      for (size_t t = 0; t < sg.tensors.size(); ++t) {
        const std::string& name = sg.tensors[t].name;
        tensor_ok[t] = name == filter.tensors || pattern->matches(name);
      }
    }
    std::vector<bool> ops(sg.operators.size(), false), tensors(sg.tensors.size(), false);
    for (size_t o = 0; o < sg.operators.size(); ++o) {
      const OperatorInfo& op = sg.operators[o];
      bool type_ok = op_filters.empty();
      const std::string name = operator_name(model, op);
      for (const auto& f : op_filters) type_ok = type_ok || op_matches(f, name);
      bool touches = !pattern;
      for (const auto* list : {&op.inputs, &op.outputs})
        for (int32_t i : *list) touches = touches || (i >= 0 && tensor_ok[i]);
      ops[o] = type_ok && touches;
      if (ops[o] && !op_filters.empty()) {
        for (const auto* list : {&op.inputs, &op.outputs})
          for (int32_t i : *list)
            if (i >= 0) tensors[i] = tensor_ok[i];
      }
    }
    if (op_filters.empty()) tensors = tensor_ok;
    sel.ops.push_back(std::move(ops));
    sel.tensors.push_back(std::move(tensors));
  }
  return sel;
}

std::string quant_text(const QuantParams& q) {
  if (q.empty()) return "";
  std::ostringstream os;
  if (q.scale.size() <= 1 && q.zero_point.size() <= 1) {
    os << "scale " << (q.scale.empty() ? "none" : float_text(q.scale[0])) << " zero_point "
       << (q.zero_point.empty() ? std::string("none") : std::to_string(q.zero_point[0]));
    return os.str();
  }
  os << "per-channel x" << q.scale.size() << " along dim " << q.quantized_dimension;
  if (!q.scale.empty()) {
    const auto [lo, hi] = std::minmax_element(q.scale.begin(), q.scale.end());
    os << ": scale " << float_text(*lo);
    if (*hi != *lo) os << " .. " << float_text(*hi);
  }
  if (!q.zero_point.empty()) {
    const auto [lo, hi] = std::minmax_element(q.zero_point.begin(), q.zero_point.end());
    os << ", zero_point " << *lo;
    if (*hi != *lo) os << " .. " << *hi;
  }
  if (q.zero_point.size() != q.scale.size()) os << " (" << q.zero_point.size() << " zero points)";
  return os.str();
}

std::string tensor_ref_text(const SubgraphInfo& sg, int32_t index) {
  if (index < 0) return "-";
  return "[" + std::to_string(index) + "] " + sg.tensors[index].name;
}

std::string ref_list(const SubgraphInfo& sg, const std::vector<int32_t>& refs) {
  std::string out;
  for (int32_t r : refs) out += (out.empty() ? "" : ", ") + tensor_ref_text(sg, r);
  return out.empty() ? "(none)" : out;
}

size_t count(const std::vector<bool>& v) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), true));
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string filter_text(const InspectFilter& f) {
  std::string out;
  if (!f.tensors.empty()) out += "tensors matching '" + f.tensors + "'";
  if (!f.ops.empty()) {
    if (!out.empty()) out += ", ";
    out += "operators of type";
    for (size_t i = 0; i < f.ops.size(); ++i) out += (i ? ", " : " ") + f.ops[i];
  }
  return out;
}

json tensor_refs_json(const SubgraphInfo& sg, const std::vector<int32_t>& refs) {
  json out = json::array();
  for (int32_t r : refs) {
    if (r < 0) {
      out.push_back(nullptr);
    } else {
      out.push_back({{"index", r}, {"name", sg.tensors[r].name}});
    }
  }
  return out;
}

// JSON numbers of a float32 in their shortest exact form.
json float_json(float f) {
  if (!std::isfinite(f)) return float_text(f);  // JSON has no nan/inf: a string says which
  return std::strtod(float_text(f).c_str(), nullptr);
}

}  // namespace

std::string inspect_text(const ModelInfo& model, const std::string& path,
                         const InspectFilter& filter) {
  const Selection sel = select(model, filter);
  std::ostringstream os;
  size_t tensors = 0, ops = 0;
  for (const auto& sg : model.subgraphs) {
    tensors += sg.tensors.size();
    ops += sg.operators.size();
  }
  os << "model '" << path << "': " << format_name(model.format) << ", version " << model.version
     << ", " << plural(model.subgraphs.size(), "subgraph") << ", " << plural(tensors, "tensor")
     << ", " << plural(ops, "operator") << ", " << plural(model.buffers.size(), "buffer") << "\n";
  if (sel.filtered) os << "showing " << filter_text(filter) << "\n";

  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    const SubgraphInfo& sg = model.subgraphs[s];
    os << "\nsubgraph " << s;
    if (!sg.name.empty()) os << " '" << sg.name << "'";
    os << ": " << plural(sg.tensors.size(), "tensor") << ", "
       << plural(sg.operators.size(), "operator") << "\n";
    os << "  inputs:  " << ref_list(sg, sg.inputs) << "\n";
    os << "  outputs: " << ref_list(sg, sg.outputs) << "\n";
    os << "  operators (execution order)";
    if (sel.filtered) os << ", " << count(sel.ops[s]) << " shown";
    os << ":\n";
    for (size_t o = 0; o < sg.operators.size(); ++o) {
      if (!sel.ops[s][o]) continue;
      const OperatorInfo& op = sg.operators[o];
      os << "    #" << o << " " << operator_name(model, op) << "\n";
      os << "        in:  " << ref_list(sg, op.inputs) << "\n";
      os << "        out: " << ref_list(sg, op.outputs) << "\n";
    }
    os << "  tensors";
    if (sel.filtered) os << ", " << count(sel.tensors[s]) << " shown";
    os << ":\n";
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      if (!sel.tensors[s][t]) continue;
      const TensorInfo& x = sg.tensors[t];
      os << "    [" << t << "] " << x.name << "  " << tensor_type_name(model.format, x.type) << " "
         << shape_text(x.shape);
      if (model.is_constant(x)) {
        os << "  const (buffer " << x.buffer << ", " << model.buffers[x.buffer].size << " bytes)";
      }
      if (x.is_variable) os << "  variable";
      const std::string q = quant_text(x.quant);
      if (!q.empty()) os << "  " << q;
      os << "\n";
    }
  }
  return os.str();
}

std::string inspect_json(const ModelInfo& model, const std::string& path,
                         const InspectFilter& filter) {
  const Selection sel = select(model, filter);
  json root;
  root["file"] = path;
  root["format"] = format_name(model.format);
  root["version"] = model.version;
  root["buffers"] = model.buffers.size();
  if (sel.filtered) {
    json f = json::object();
    if (!filter.tensors.empty()) f["tensors"] = filter.tensors;
    if (!filter.ops.empty()) f["ops"] = filter.ops;
    root["filter"] = f;
  }
  json subgraphs = json::array();
  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    const SubgraphInfo& sg = model.subgraphs[s];
    json g;
    g["index"] = s;
    g["name"] = sg.name;
    g["tensor_count"] = sg.tensors.size();
    g["operator_count"] = sg.operators.size();
    g["inputs"] = tensor_refs_json(sg, sg.inputs);
    g["outputs"] = tensor_refs_json(sg, sg.outputs);
    json ops = json::array();
    for (size_t o = 0; o < sg.operators.size(); ++o) {
      if (!sel.ops[s][o]) continue;
      const OperatorInfo& op = sg.operators[o];
      ops.push_back({{"index", o},
                     {"type", operator_name(model, op)},
                     {"inputs", tensor_refs_json(sg, op.inputs)},
                     {"outputs", tensor_refs_json(sg, op.outputs)}});
    }
    g["operators"] = std::move(ops);
    json tensors = json::array();
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      if (!sel.tensors[s][t]) continue;
      const TensorInfo& x = sg.tensors[t];
      json j;
      j["index"] = t;
      j["name"] = x.name;
      j["dtype"] = tensor_type_name(model.format, x.type);
      j["shape"] = x.shape;
      j["constant"] = model.is_constant(x);
      j["buffer"] = x.buffer;
      j["bytes"] = x.buffer < model.buffers.size() ? model.buffers[x.buffer].size : 0;
      j["variable"] = x.is_variable;
      if (x.quant.empty()) {
        j["quantization"] = nullptr;
      } else {
        json q;
        json scale = json::array();
        for (float f : x.quant.scale) scale.push_back(float_json(f));
        q["scale"] = std::move(scale);
        q["zero_point"] = x.quant.zero_point;
        q["quantized_dimension"] = x.quant.quantized_dimension;
        q["per_channel"] = x.quant.scale.size() > 1;
        j["quantization"] = std::move(q);
      }
      tensors.push_back(std::move(j));
    }
    g["tensors"] = std::move(tensors);
    subgraphs.push_back(std::move(g));
  }
  root["subgraphs"] = std::move(subgraphs);
  // Names are bytes from the model: replace invalid UTF-8 rather than fail on it.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace qimplant
