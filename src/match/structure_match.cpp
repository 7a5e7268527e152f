#include "match/structure_match.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "exec/graph.h"
#include "model/op_properties.h"
#include "model/shape.h"
#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant {

namespace {

using namespace circle;

// Which builtin operators a source op kind can have become. Kinds marked `glue` may also have no
// operator at all (the converter folded them away); `commutative` kinds may have their two inputs
// swapped by the converter.
struct KindInfo {
  std::vector<int32_t> codes;
  bool glue = false;
  bool commutative = false;
};

const std::map<std::string, KindInfo>& kind_table() {
  static const std::map<std::string, KindInfo> table = {
      {"conv2d", {{BuiltinOperator_CONV_2D}}},
      {"depthwise_conv2d", {{BuiltinOperator_DEPTHWISE_CONV_2D}}},
      {"conv_transpose2d", {{BuiltinOperator_TRANSPOSE_CONV}}},
      {"linear", {{BuiltinOperator_FULLY_CONNECTED}}},
      {"add", {{BuiltinOperator_ADD}, false, true}},
      {"sub", {{BuiltinOperator_SUB}}},
      {"mul", {{BuiltinOperator_MUL}, false, true}},
      {"cat", {{BuiltinOperator_CONCATENATION}}},
      {"relu", {{BuiltinOperator_RELU}}},
      {"relu6", {{BuiltinOperator_RELU6}}},
      {"relu_n1_to_1", {{BuiltinOperator_RELU_N1_TO_1}}},
      // Hardtanh(0, 6) is ReLU6 and Hardtanh(-1, 1) is ReLU_N1_TO_1; the file does not say which.
      {"hardtanh", {{BuiltinOperator_RELU6, BuiltinOperator_RELU_N1_TO_1}}},
      {"sigmoid", {{BuiltinOperator_LOGISTIC}}},
      {"tanh", {{BuiltinOperator_TANH}}},
      {"softmax", {{BuiltinOperator_SOFTMAX}}},
      {"hardswish", {{BuiltinOperator_HARD_SWISH}}},
      {"leaky_relu", {{BuiltinOperator_LEAKY_RELU}}},
      {"max_pool2d", {{BuiltinOperator_MAX_POOL_2D}}},
      // Global average pooling becomes MEAN or AVERAGE_POOL_2D depending on the converter.
      {"avg_pool2d", {{BuiltinOperator_AVERAGE_POOL_2D, BuiltinOperator_MEAN}}},
      {"mean", {{BuiltinOperator_MEAN, BuiltinOperator_AVERAGE_POOL_2D}}},
      {"flatten", {{BuiltinOperator_RESHAPE, BuiltinOperator_SQUEEZE}, true}},
      {"reshape",
       {{BuiltinOperator_RESHAPE, BuiltinOperator_SQUEEZE, BuiltinOperator_EXPAND_DIMS}, true}},
      {"transpose", {{BuiltinOperator_TRANSPOSE}, true}},
      {"pad", {{BuiltinOperator_PAD, BuiltinOperator_PADV2, BuiltinOperator_MIRROR_PAD}, true}},
      {"identity", {{}, true}},
  };
  return table;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// An unknown kind matches the builtin operator of that name.
std::optional<int32_t> builtin_by_name(const std::string& kind) {
  const std::string want = lower(kind);
  for (int32_t c = BuiltinOperator_MIN; c <= BuiltinOperator_MAX; ++c) {
    const char* name = EnumNameBuiltinOperator(static_cast<BuiltinOperator>(c));
    if (name && *name && lower(name) == want) return c;
  }
  return std::nullopt;
}

int32_t activation_code(exec::Activation a) {
  switch (a) {
    case exec::Activation::Relu:
      return BuiltinOperator_RELU;
    case exec::Activation::Relu6:
      return BuiltinOperator_RELU6;
    case exec::Activation::ReluN1To1:
      return BuiltinOperator_RELU_N1_TO_1;
    case exec::Activation::Tanh:
      return BuiltinOperator_TANH;
    default:
      return -1;
  }
}

// A model operator, or the activation fused into one, as a node of the aligned graph.
struct MNode {
  int32_t code = 0;
  std::string name;             // "#3 CONV_2D", "RELU fused into #3 CONV_2D"
  int op = -1;                  // model operator index
  bool fused = false;           // the activation fused into `op`
  bool glue = false;            // converter_inserted
  std::vector<int> in;          // data inputs (values)
  std::vector<int> in_operand;  // their operand positions in the operator
  int out = -1;
  int weight = -1, bias = -1;  // tensor indices; -1: none
  int weight_operand = -1, bias_operand = -1;
};

// A source node, or the activation its producer fused into it.
struct SNode {
  int node = 0;      // index into graph.nodes
  bool act = false;  // the activation split off node `node`
  std::string kind;
  KindInfo info;
  std::vector<int> in;  // source values
  int out = -1;
  std::string label;  // "node 3 (conv2d 'conv1')"
};

using Reach = std::unordered_set<int>;

class Matcher {
 public:
  Matcher(const ModelFile& file, const SourceGraph& g, const std::vector<std::string>* wanted)
      : file_(file), info_(file.info()), g_(g) {
    if (wanted) {
      wanted_.emplace();
      for (const auto& k : *wanted) wanted_->insert(k);
    }
    where_ = "structure file '" + g.path + "' against model '" + file.path() + "'";
  }

  StructureMatch run() {
    if (info_.subgraphs.empty()) throw Error(where_ + ": the model has no subgraph");
    build_model();
    build_source();
    initial_candidates();
    narrow();
    return assemble();
  }

 private:
  // ---- the model side ------------------------------------------------------------------------
  void build_model() {
    const exec::Graph graph = exec::load_graph(file_, 0);
    const SubgraphInfo& sg = info_.subgraphs[0];
    tensors_ = static_cast<int>(sg.tensors.size());
    int next_virtual = tensors_;
    for (const exec::Node& n : graph.nodes) {
      MNode m;
      m.code = n.code;
      m.op = static_cast<int>(n.index);
      m.name = "#" + std::to_string(n.index) + " " + n.type_name;
      const OpProperty* p = op_property(n.code);
      m.glue = p && p->converter_inserted;
      std::set<int> skip;
      if (p) {
        skip.insert(p->index_inputs.begin(), p->index_inputs.end());
        if (p->weight_input >= 0) skip.insert(p->weight_input);
        if (p->bias_input >= 0) skip.insert(p->bias_input);
        auto operand = [&](int at, int& tensor, int& operand_at) {
          if (at >= 0 && at < static_cast<int>(n.inputs.size()) && n.inputs[at] >= 0) {
            tensor = n.inputs[at];
            operand_at = at;
          }
        };
        operand(p->weight_input, m.weight, m.weight_operand);
        operand(p->bias_input, m.bias, m.bias_operand);
      }
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const int t = n.inputs[i];
        if (t < 0 || t >= tensors_ || skip.count(static_cast<int>(i))) continue;
        if (info_.is_constant(sg.tensors[t])) continue;
        m.in.push_back(t);
        m.in_operand.push_back(static_cast<int>(i));
      }
      const int out = n.outputs.empty() ? -1 : n.outputs[0];
      const int32_t act = activation_code(n.options.activation);
      if (act >= 0 && out >= 0) {
        m.out = next_virtual++;
        virtual_of_.push_back(static_cast<int>(mnodes_.size()));
        MNode a;
        a.code = act;
        a.op = m.op;
        a.fused = true;
        a.name = std::string(EnumNameBuiltinOperator(static_cast<BuiltinOperator>(act))) +
                 " fused into " + m.name;
        a.in = {m.out};
        a.in_operand = {-1};
        a.out = out;
        mnodes_.push_back(std::move(m));
        mnodes_.push_back(std::move(a));
      } else {
        m.out = out;
        mnodes_.push_back(std::move(m));
      }
    }
    consumers_.assign(static_cast<size_t>(next_virtual), {});
    for (size_t i = 0; i < mnodes_.size(); ++i)
      for (int v : mnodes_[i].in) consumers_[static_cast<size_t>(v)].push_back(static_cast<int>(i));
  }

  std::string value_name(int v) const {
    if (v < tensors_) return "'" + info_.tensor(0, static_cast<uint32_t>(v)).name + "'";
    return "(the value before the activation fused into " +
           mnodes_[static_cast<size_t>(virtual_of_[static_cast<size_t>(v - tensors_)])].name + ")";
  }

  // `from`, and every value reached from it through converter-inserted operators.
  Reach reach(const std::vector<int>& from) const {
    Reach r(from.begin(), from.end());
    std::vector<int> todo(from.begin(), from.end());
    while (!todo.empty()) {
      const int v = todo.back();
      todo.pop_back();
      for (int c : consumers_[static_cast<size_t>(v)]) {
        const MNode& m = mnodes_[static_cast<size_t>(c)];
        if (m.glue && m.out >= 0 && r.insert(m.out).second) todo.push_back(m.out);
      }
    }
    return r;
  }

  // The converter-inserted operators between `from` and `to`, for reasons.
  std::string through(const std::vector<int>& from, int to) const {
    std::map<int, int> parent;  // value -> glue node that made it
    std::vector<int> todo(from.begin(), from.end());
    std::set<int> seen(from.begin(), from.end());
    if (seen.count(to)) return "";
    while (!todo.empty()) {
      const int v = todo.back();
      todo.pop_back();
      for (int c : consumers_[static_cast<size_t>(v)]) {
        const MNode& m = mnodes_[static_cast<size_t>(c)];
        if (!m.glue || m.out < 0 || !seen.insert(m.out).second) continue;
        parent[m.out] = c;
        todo.push_back(m.out);
      }
    }
    std::vector<std::string> path;
    for (int v = to; parent.count(v);) {
      const MNode& m = mnodes_[static_cast<size_t>(parent[v])];
      path.push_back(m.name);
      v = m.in.empty() ? -1 : m.in[0];
    }
    std::string out;
    for (auto it = path.rbegin(); it != path.rend(); ++it) out += (out.empty() ? "" : ", ") + *it;
    return out.empty() ? "" : " through " + out;
  }

  // ---- the source side -----------------------------------------------------------------------
  int source_value(const std::string& key) {
    auto [it, fresh] = svalue_.emplace(key, static_cast<int>(skeys_.size()));
    if (fresh) skeys_.push_back(key);
    return it->second;
  }

  void build_source() {
    for (const auto& k : g_.inputs) source_value(k);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const SourceNode& n = g_.nodes[i];
      SNode s;
      s.node = static_cast<int>(i);
      s.kind = n.op;
      s.label = "node " + std::to_string(i) + " (" + n.op + " '" + n.output + "'" +
                (n.type.empty() ? std::string() : ", " + n.type) + ")";
      const auto& table = kind_table();
      if (auto it = table.find(lower(n.op)); it != table.end()) {
        s.info = it->second;
      } else if (auto code = builtin_by_name(n.op)) {
        s.info.codes = {*code};
      } else {
        std::string known;
        for (const auto& k : source_op_kinds()) known += (known.empty() ? "" : ", ") + k;
        throw Error(where_ + ": " + s.label + ": unknown op kind '" + n.op + "' (expected one of " +
                    known + ", or a builtin operator name)");
      }
      for (const auto& k : n.inputs) s.in.push_back(source_value(k));
      main_of_.push_back(static_cast<int>(snodes_.size()));
      if (!n.activation.empty()) {
        const int pre = static_cast<int>(skeys_.size());
        skeys_.push_back("");  // a value without a key
        s.out = pre;
        SNode a;
        a.node = s.node;
        a.act = true;
        a.kind = n.activation;
        a.info = kind_table().at(n.activation);
        a.in = {pre};
        a.out = source_value(n.output);
        a.label = "the " + n.activation + " fused into " + s.label;
        snodes_.push_back(std::move(s));
        act_of_.push_back(static_cast<int>(snodes_.size()));
        snodes_.push_back(std::move(a));
      } else {
        s.out = source_value(n.output);
        snodes_.push_back(std::move(s));
        act_of_.push_back(-1);
      }
    }
    producer_.assign(skeys_.size(), -1);
    sconsumers_.assign(skeys_.size(), {});
    for (size_t s = 0; s < snodes_.size(); ++s) {
      producer_[static_cast<size_t>(snodes_[s].out)] = static_cast<int>(s);
      for (size_t p = 0; p < snodes_[s].in.size(); ++p)
        sconsumers_[static_cast<size_t>(snodes_[s].in[p])].push_back(
            {static_cast<int>(s), static_cast<int>(p)});
    }
    // Graph inputs by position when both sides have as many; otherwise any model input.
    const auto& model_inputs = info_.subgraphs[0].inputs;
    for (size_t i = 0; i < g_.inputs.size(); ++i) {
      std::vector<int> v;
      if (g_.inputs.size() == model_inputs.size())
        v = {model_inputs[i]};
      else
        v.assign(model_inputs.begin(), model_inputs.end());
      input_values_[svalue_.at(g_.inputs[i])] = v;
    }
  }

  // ---- candidates ----------------------------------------------------------------------------
  void reject(size_t s, int o, const std::string& why) {
    why_.emplace(std::make_pair(static_cast<int>(s), o), why);
  }

  void initial_candidates() {
    cand_.assign(snodes_.size(), {});
    kind_count_.assign(snodes_.size(), 0);
    for (size_t s = 0; s < snodes_.size(); ++s) {
      const SNode& sn = snodes_[s];
      const SourceNode& n = g_.nodes[static_cast<size_t>(sn.node)];
      for (size_t o = 0; o < mnodes_.size(); ++o) {
        const MNode& m = mnodes_[o];
        if (std::find(sn.info.codes.begin(), sn.info.codes.end(), m.code) == sn.info.codes.end())
          continue;
        ++kind_count_[s];
        const int oi = static_cast<int>(o);
        if (!sn.act && !n.weight_shape.empty()) {
          if (m.weight < 0) {
            reject(s, oi, m.name + " has no weight operand");
            continue;
          }
          const auto& ws = info_.tensor(0, static_cast<uint32_t>(m.weight)).shape;
          const std::vector<int64_t> shape(ws.begin(), ws.end());
          if (shape != n.weight_shape) {
            reject(s, oi,
                   m.name + " has weight '" +
                       info_.tensor(0, static_cast<uint32_t>(m.weight)).name + "' of shape " +
                       shape_text_compact(shape) + ", the node's is " +
                       shape_text_compact(n.weight_shape));
            continue;
          }
        }
        if (!sn.in.empty() && m.in.size() != sn.in.size()) {
          reject(s, oi,
                 m.name + " has " + std::to_string(m.in.size()) + " data input(s), the node " +
                     std::to_string(sn.in.size()));
          continue;
        }
        cand_[s].push_back(oi);
      }
    }
  }

  bool failed(int s) const {
    return cand_[static_cast<size_t>(s)].empty() && !snodes_[static_cast<size_t>(s)].info.glue;
  }

  // The model values a source value may be; nullopt when nothing constrains it (its producer
  // failed to match: the error is reported there, not again downstream).
  std::optional<std::vector<int>> values_of(int v) const {
    if (auto it = input_values_.find(v); it != input_values_.end()) return it->second;
    const int p = producer_[static_cast<size_t>(v)];
    if (p < 0 || failed(p)) return std::nullopt;
    const SNode& sn = snodes_[static_cast<size_t>(p)];
    std::vector<int> out;
    for (int o : cand_[static_cast<size_t>(p)]) out.push_back(mnodes_[static_cast<size_t>(o)].out);
    if (sn.info.glue) {
      // Also folded away: then it is its input.
      if (sn.in.empty()) return std::nullopt;
      auto in = values_of(sn.in[0]);
      if (!in) return std::nullopt;
      out.insert(out.end(), in->begin(), in->end());
    }
    return out;
  }

  static bool fits_inputs(const MNode& m, const SNode& sn,
                          const std::vector<std::optional<Reach>>& r) {
    if (sn.in.empty()) return true;
    if (m.in.size() != sn.in.size()) return false;
    auto ok = [&](size_t p, int value) { return !r[p] || r[p]->count(value); };
    bool straight = true;
    for (size_t p = 0; p < sn.in.size(); ++p) straight = straight && ok(p, m.in[p]);
    if (straight) return true;
    return sn.info.commutative && sn.in.size() == 2 && ok(0, m.in[1]) && ok(1, m.in[0]);
  }

  // Whether some candidate of source node `c` (input position `p`) reads a value of `r`.
  bool feeds(int c, int p, const Reach& r, int depth = 0) const {
    const SNode& cn = snodes_[static_cast<size_t>(c)];
    if (failed(c) || depth > 64) return true;
    for (int o : cand_[static_cast<size_t>(c)]) {
      const MNode& m = mnodes_[static_cast<size_t>(o)];
      if (m.in.size() != cn.in.size()) continue;
      if (r.count(m.in[static_cast<size_t>(p)])) return true;
      if (cn.info.commutative && m.in.size() == 2 && r.count(m.in[1 - static_cast<size_t>(p)]))
        return true;
    }
    if (cn.info.glue) {
      // Folded away: its consumers read the value itself.
      for (const auto& [c2, p2] : sconsumers_[static_cast<size_t>(cn.out)])
        if (!feeds(c2, p2, r, depth + 1)) return false;
      return true;
    }
    return false;
  }

  bool remove_if(size_t s, const std::function<std::string(int)>& why_not) {
    auto& c = cand_[s];
    const size_t before = c.size();
    c.erase(std::remove_if(c.begin(), c.end(),
                           [&](int o) {
                             const std::string why = why_not(o);
                             if (why.empty()) return false;
                             reject(s, o, why);
                             return true;
                           }),
            c.end());
    return c.size() != before;
  }

  void narrow() {
    const auto& model_outputs = info_.subgraphs[0].outputs;
    std::map<int, size_t> output_position;
    if (g_.outputs.size() == model_outputs.size())
      for (size_t j = 0; j < g_.outputs.size(); ++j) output_position[svalue_.at(g_.outputs[j])] = j;

    for (int round = 0; round < 1000; ++round) {
      bool changed = false;
      // Forward: each data input must come from what its producer can be.
      for (size_t s = 0; s < snodes_.size(); ++s) {
        const SNode& sn = snodes_[s];
        std::vector<std::optional<Reach>> r;
        for (int v : sn.in) {
          auto vals = values_of(v);
          r.push_back(vals ? std::optional<Reach>(reach(*vals)) : std::nullopt);
        }
        changed |= remove_if(s, [&](int o) -> std::string {
          const MNode& m = mnodes_[static_cast<size_t>(o)];
          if (fits_inputs(m, sn, r)) return "";
          std::string ins;
          for (size_t p = 0; p < sn.in.size(); ++p)
            ins += (p ? ", " : "") + std::string("'") + skeys_[static_cast<size_t>(sn.in[p])] + "'";
          std::string reads;
          for (size_t p = 0; p < m.in.size(); ++p) reads += (p ? ", " : "") + value_name(m.in[p]);
          return m.name + " reads " + reads + ", which the node's input(s) " + ins +
                 " cannot be (connectivity)";
        });
      }
      // Backward: what a candidate makes must reach each consumer, and the graph outputs.
      for (size_t s = snodes_.size(); s-- > 0;) {
        const SNode& sn = snodes_[s];
        const auto& users = sconsumers_[static_cast<size_t>(sn.out)];
        auto out_at = output_position.find(sn.out);
        if (users.empty() && out_at == output_position.end()) continue;
        changed |= remove_if(s, [&](int o) -> std::string {
          const Reach r = reach({mnodes_[static_cast<size_t>(o)].out});
          for (const auto& [c, p] : users) {
            if (!feeds(c, p, r)) {
              return "the output of " + mnodes_[static_cast<size_t>(o)].name + " does not feed " +
                     snodes_[static_cast<size_t>(c)].label + " (connectivity)";
            }
          }
          if (out_at != output_position.end() && !sn.info.glue &&
              !r.count(model_outputs[out_at->second])) {
            return mnodes_[static_cast<size_t>(o)].name + " does not make model output " +
                   std::to_string(out_at->second) + " " +
                   value_name(model_outputs[out_at->second]) +
                   ", and the node makes graph output " + std::to_string(out_at->second);
          }
          return "";
        });
      }
      // One source node per model operator: a node that can only be one operator takes it.
      std::map<int, int> taken;
      for (size_t s = 0; s < snodes_.size(); ++s)
        if (cand_[s].size() == 1) taken.emplace(cand_[s][0], static_cast<int>(s));
      for (size_t s = 0; s < snodes_.size(); ++s) {
        if (cand_[s].size() < 2) continue;
        changed |= remove_if(s, [&](int o) -> std::string {
          auto it = taken.find(o);
          if (it == taken.end()) return "";
          return mnodes_[static_cast<size_t>(o)].name + " is " +
                 snodes_[static_cast<size_t>(it->second)].label + "'s (its only candidate)";
        });
      }
      if (!changed) break;
    }
  }

  // ---- the result ----------------------------------------------------------------------------
  bool is_wanted(const std::string& key) const { return !wanted_ || wanted_->count(key); }

  std::string lookup_of(int tensor, std::string& problem) const {
    const std::string& name = info_.tensor(0, static_cast<uint32_t>(tensor)).name;
    size_t here = 0, elsewhere = 0;
    for (uint32_t s = 0; s < info_.subgraphs.size(); ++s)
      for (const auto& t : info_.subgraphs[s].tensors)
        if (t.name == name) ++(s == 0 ? here : elsewhere);
    if (here > 1) {
      problem = "its model tensor '" + name +
                "' shares its name with another tensor of subgraph 0, so no key can name it";
      return "";
    }
    return elsewhere ? "#0:" + name : name;
  }

  void add(StructureMatch& out, const std::string& key, int tensor, const std::string& reason) {
    if (key.empty()) return;
    std::string problem;
    StructureEntry e;
    e.key = key;
    e.tensor = {0, static_cast<uint32_t>(tensor)};
    e.lookup = lookup_of(tensor, problem);
    e.reason = reason;
    if (!problem.empty()) {
      fail(key, "key '" + key + "': " + reason + ", but " + problem);
      return;
    }
    out.entries.push_back(std::move(e));
  }

  // A problem with `key`: an error when qparam.json has the key, else a note.
  void fail(const std::string& key, const std::string& message) {
    (is_wanted(key) ? errors_ : notes_).push_back(message);
  }
  void fail_node(const std::vector<std::string>& keys, const std::string& message) {
    bool any = false;
    for (const auto& k : keys) any = any || (!k.empty() && is_wanted(k));
    (any ? errors_ : notes_).push_back(message);
  }

  std::string rejections(size_t s) const {
    std::string out;
    size_t shown = 0, total = 0;
    for (const auto& [so, why] : why_) {
      if (so.first != static_cast<int>(s)) continue;
      ++total;
      if (shown < 4) {
        out += "\n      " + why;
        ++shown;
      }
    }
    if (total > shown) out += "\n      ... and " + std::to_string(total - shown) + " more";
    return out;
  }

  std::string kind_names(const SNode& sn) const {
    std::string out;
    for (int32_t c : sn.info.codes)
      out += (out.empty() ? "" : "/") +
             std::string(EnumNameBuiltinOperator(static_cast<BuiltinOperator>(c)));
    return out.empty() ? "(none)" : out;
  }

  std::string evidence(size_t s, int o) const {
    const SNode& sn = snodes_[s];
    const MNode& m = mnodes_[static_cast<size_t>(o)];
    const SourceNode& n = g_.nodes[static_cast<size_t>(sn.node)];
    std::string e =
        "kind " + sn.kind + " -> " + EnumNameBuiltinOperator(static_cast<BuiltinOperator>(m.code));
    if (!sn.act && !n.weight_shape.empty())
      e += ", weight shape " + shape_text_compact(n.weight_shape);
    for (size_t p = 0; p < sn.in.size() && p < m.in.size(); ++p) {
      const std::string& key = skeys_[static_cast<size_t>(sn.in[p])];
      if (key.empty()) continue;  // the value before a fused activation
      auto vals = values_of(sn.in[p]);
      // Commutative operators may read them swapped; name the operand this input reaches.
      size_t q = p;
      if (vals && sn.info.commutative && m.in.size() == 2 && !reach(*vals).count(m.in[p]))
        q = 1 - p;
      e += ", input '" + key + "' is " + value_name(m.in[q]) +
           (vals ? through(*vals, m.in[q]) : std::string());
    }
    if (kind_count_[s] > 1)
      e += "; the only fit of the model's " + std::to_string(kind_count_[s]) + " " +
           kind_names(sn) + " operators";
    return e;
  }

  StructureMatch assemble() {
    StructureMatch out;
    out.graph_path = g_.path;
    for (const auto& k : g_.inputs) {
      const auto& v = input_values_.at(svalue_.at(k));
      if (v.size() == 1) {
        size_t pos = 0;
        while (g_.inputs[pos] != k) ++pos;
        add(out, k, v[0],
            "graph input " + std::to_string(pos) + " of the source graph is model input " +
                std::to_string(pos) + " " + value_name(v[0]));
      } else {
        fail(k, "key '" + k + "' (a graph input): the source graph has " +
                    std::to_string(g_.inputs.size()) + " input(s), the model " +
                    std::to_string(info_.subgraphs[0].inputs.size()) +
                    ", so inputs cannot be paired by position");
      }
    }
    // Ambiguous nodes with the same candidates are reported together.
    std::map<std::vector<int>, std::vector<size_t>> ambiguous;
    std::map<int, size_t> owner;
    for (size_t s = 0; s < snodes_.size(); ++s) {
      const SNode& sn = snodes_[s];
      const SourceNode& n = g_.nodes[static_cast<size_t>(sn.node)];
      const bool final_node = act_of_[static_cast<size_t>(sn.node)] < 0 || sn.act;
      std::vector<std::string> keys;
      if (final_node) keys.push_back(n.output);
      if (!sn.act) keys.insert(keys.end(), {n.weight, n.bias});
      const auto& c = cand_[s];
      if (c.empty()) {
        if (sn.info.glue) {
          if (final_node)
            fail(n.output, "key '" + n.output + "': " + sn.label +
                               " has no operator in the model (the converter left it out), so "
                               "its output has no tensor of its own");
          continue;
        }
        std::string msg = "key(s) " + quoted(keys) + ": no operator of the model fits " + sn.label +
                          "; the model has " + std::to_string(kind_count_[s]) + " " +
                          kind_names(sn) + " operator(s)";
        const std::string why = rejections(s);
        msg += why.empty() ? "" : ":" + why;
        fail_node(keys, msg);
        continue;
      }
      if (c.size() > 1) {
        ambiguous[c].push_back(s);
        continue;
      }
      const int o = c[0];
      const MNode& m = mnodes_[static_cast<size_t>(o)];
      if (auto [it, fresh] = owner.emplace(o, s); !fresh) {
        fail_node(keys, "key(s) " + quoted(keys) + ": " + snodes_[it->second].label + " and " +
                            sn.label + " both can only be " + m.name +
                            " (the model has fewer such operators than the source graph)");
        continue;
      }
      const std::string head = sn.label + " is " + m.name + ": " + evidence(s, o);
      if (final_node) {
        if (m.out < 0) {
          fail(n.output, "key '" + n.output + "': " + m.name + " has no output");
        } else if (m.out >= tensors_) {
          fail(n.output, "key '" + n.output + "': " + head +
                             "; but the model fused the activation that follows into it, so its "
                             "output before the activation has no tensor (the activation's key "
                             "carries the output's parameters)");
        } else {
          std::string r = head;
          if (sn.act) {
            const size_t main = static_cast<size_t>(main_of_[static_cast<size_t>(sn.node)]);
            if (cand_[main].size() == 1)
              r = snodes_[main].label + " is " + mnodes_[static_cast<size_t>(cand_[main][0])].name +
                  ": " + evidence(main, cand_[main][0]) + "; its " + sn.kind + " is " + m.name;
          }
          add(out, n.output, m.out, r);
        }
      }
      if (!sn.act) {
        if (!n.weight.empty()) {
          if (m.weight < 0)
            fail(n.weight, "key '" + n.weight + "': " + head + "; but it has no weight operand");
          else
            add(out, n.weight, m.weight,
                "weight (operand " + std::to_string(m.weight_operand) + ") of " + m.name + "; " +
                    head);
        }
        if (!n.bias.empty()) {
          if (m.bias < 0)
            fail(n.bias, "key '" + n.bias + "': " + head + "; but it has no bias operand");
          else
            add(out, n.bias, m.bias,
                "bias (operand " + std::to_string(m.bias_operand) + ") of " + m.name + "; " + head);
        }
      }
    }
    for (const auto& [c, nodes] : ambiguous) {
      std::vector<std::string> keys, labels;
      for (size_t s : nodes) {
        const SNode& sn = snodes_[s];
        const SourceNode& n = g_.nodes[static_cast<size_t>(sn.node)];
        if (act_of_[static_cast<size_t>(sn.node)] < 0 || sn.act) keys.push_back(n.output);
        if (!sn.act) {
          if (!n.weight.empty()) keys.push_back(n.weight);
          if (!n.bias.empty()) keys.push_back(n.bias);
        }
        labels.push_back(sn.label);
      }
      std::string cands;
      for (int o : c) {
        const MNode& m = mnodes_[static_cast<size_t>(o)];
        cands += (cands.empty() ? "" : ", ") + m.name +
                 (m.out >= 0 ? " (output " + value_name(m.out) + ")" : std::string());
      }
      std::string who;
      for (const auto& l : labels) who += (who.empty() ? "" : ", ") + l;
      fail_node(keys, "key(s) " + quoted(keys) + " are ambiguous: " + who + " could each be " +
                          cands +
                          "; kind, weight shape and connectivity do not tell them apart (map "
                          "these keys with --name-map; it wins over the structure match)");
    }
    if (!errors_.empty()) {
      std::string msg = where_ + ": " + std::to_string(errors_.size()) +
                        " key problem(s), nothing matched by structure is used:";
      for (const auto& e : errors_) msg += "\n  " + e;
      throw Error(msg);
    }
    out.notes = notes_;
    return out;
  }

  static std::string quoted(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys)
      if (!k.empty()) out += (out.empty() ? "'" : ", '") + k + "'";
    return out;
  }

  const ModelFile& file_;
  const ModelInfo& info_;
  const SourceGraph& g_;
  std::optional<std::set<std::string>> wanted_;
  std::string where_;

  int tensors_ = 0;
  std::vector<MNode> mnodes_;
  std::vector<int> virtual_of_;  // virtual value - tensors_ -> the node that makes it
  std::vector<std::vector<int>> consumers_;

  std::vector<SNode> snodes_;
  std::unordered_map<std::string, int> svalue_;
  std::vector<std::string> skeys_;  // "" for values without a key
  std::vector<int> producer_;
  std::vector<std::vector<std::pair<int, int>>> sconsumers_;
  std::vector<int> main_of_, act_of_;  // per graph node: its SNode, its activation's (or -1)
  std::map<int, std::vector<int>> input_values_;

  std::vector<std::vector<int>> cand_;
  std::vector<size_t> kind_count_;
  std::map<std::pair<int, int>, std::string> why_;
  std::vector<std::string> errors_, notes_;
};

}  // namespace

const StructureEntry* StructureMatch::find(const std::string& key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

NameMap StructureMatch::name_map() const {
  NameMap map;
  map.path = "structure match of '" + graph_path + "'";
  for (const auto& e : entries) map.add(e.key, e.lookup);
  return map;
}

StructureMatch match_structure(const ModelFile& model, const SourceGraph& graph,
                               const std::vector<std::string>* wanted) {
  return Matcher(model, graph, wanted).run();
}

std::string default_structure_path(const std::string& qparam_path) {
  const auto slash = qparam_path.find_last_of('/');
  return (slash == std::string::npos ? std::string() : qparam_path.substr(0, slash + 1)) +
         "qparam.graph.json";
}

StructureMatch match_structure_for(const ModelFile& model, const QParamFile& qparams,
                                   const std::string& structure_path, const NameMap* name_map,
                                   const SourceGraph* carried) {
  std::optional<SourceGraph> from_file;
  if (!structure_path.empty() || !carried)
    from_file = read_source_graph(structure_path.empty() ? default_structure_path(qparams.path)
                                                         : structure_path);
  const SourceGraph& graph = from_file ? *from_file : *carried;
  std::vector<std::string> wanted;
  for (const auto& e : qparams.entries)
    if (!name_map || !name_map->find(e.key)) wanted.push_back(e.key);
  StructureMatch m = match_structure(model, graph, &wanted);
  // Keys the explicit map settles are left to it.
  if (name_map) {
    m.entries.erase(std::remove_if(m.entries.begin(), m.entries.end(),
                                   [&](const StructureEntry& e) { return name_map->find(e.key); }),
                    m.entries.end());
  }
  return m;
}

}  // namespace qimplant
