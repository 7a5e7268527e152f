#include "match/source_graph.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "util/error.h"
#include "util/json_text.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

const std::vector<std::string> kActivations = {"", "relu", "relu6", "relu_n1_to_1"};

class Reader {
 public:
  explicit Reader(const std::string& path) : where_("structure file '" + path + "'") {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

  std::string string_field(const json& object, const char* field, const std::string& at,
                           bool required) const {
    auto it = object.find(field);
    if (it == object.end()) {
      if (required) fail(at + "the field \"" + field + "\" is missing");
      return {};
    }
    if (!it->is_string())
      fail(at + "field \"" + field + "\": expected a string, found " + json_type_name(*it));
    return it->get<std::string>();
  }

  std::vector<std::string> key_list(const json& object, const char* field, const std::string& at,
                                    bool required) const {
    auto it = object.find(field);
    if (it == object.end()) {
      if (required) fail(at + "the field \"" + field + "\" is missing");
      return {};
    }
    if (!it->is_array()) {
      fail(at + "field \"" + field + "\": expected an array of qparam.json keys, found " +
           json_type_name(*it));
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        fail(at + "field \"" + field + "\" element " + std::to_string(i) +
             ": expected a key (a non-empty string), found " + json_type_name(v));
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }

 private:
  std::string where_;
};

}  // namespace

const std::vector<std::string>& source_op_kinds() {
  static const std::vector<std::string> kinds = {"conv2d",
                                                 "depthwise_conv2d",
                                                 "conv_transpose2d",
                                                 "linear",
                                                 "add",
                                                 "sub",
                                                 "mul",
                                                 "cat",
                                                 "relu",
                                                 "relu6",
                                                 "hardtanh",
                                                 "sigmoid",
                                                 "tanh",
                                                 "softmax",
                                                 "hardswish",
                                                 "leaky_relu",
                                                 "max_pool2d",
                                                 "avg_pool2d",
                                                 "mean",
                                                 "flatten",
                                                 "reshape",
                                                 "transpose",
                                                 "pad",
                                                 "identity"};
  return kinds;
}

SourceGraph read_source_graph(const std::string& path) {
  const Reader r(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.fail(std::string("cannot open: ") + std::strerror(errno) +
           " (the exporter writes it next to qparam.json; --structure names another file)");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) r.fail(std::string("cannot read: ") + std::strerror(errno));
  const json root = parse_json(buf.str(), "structure file '" + path + "'");
  if (!root.is_object()) r.fail("expected a JSON object, found " + json_type_name(root));

  const std::string format = r.string_field(root, "format", "", true);
  if (format != "qimplant-graph")
    r.fail("field \"format\": expected \"qimplant-graph\", found \"" + format + "\"");
  auto version = root.find("version");
  if (version == root.end()) r.fail("the field \"version\" is missing");
  if (!version->is_number_integer() || version->get<int64_t>() != 1) {
    r.fail("field \"version\": this q-implant reads version 1, found " + json_type_name(*version));
  }

  SourceGraph g;
  g.path = path;
  g.producer = r.string_field(root, "producer", "", false);
  g.inputs = r.key_list(root, "inputs", "", true);
  g.outputs = r.key_list(root, "outputs", "", true);
  auto nodes = root.find("nodes");
  if (nodes == root.end()) r.fail("the field \"nodes\" is missing");
  if (!nodes->is_array())
    r.fail("field \"nodes\": expected an array, found " + json_type_name(*nodes));

  // Where each activation key comes from, to check the graph is in execution order.
  std::map<std::string, std::string> produced;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (!produced.emplace(g.inputs[i], "graph input " + std::to_string(i)).second)
      r.fail("field \"inputs\": key '" + g.inputs[i] + "' is listed twice");
  }
  std::set<std::string> constants;
  for (size_t n = 0; n < nodes->size(); ++n) {
    const json& j = (*nodes)[n];
    const std::string at = "node " + std::to_string(n) + ": ";
    if (!j.is_object()) r.fail(at + "expected an object, found " + json_type_name(j));
    SourceNode node;
    node.op = r.string_field(j, "op", at, true);
    if (node.op.empty()) r.fail(at + "field \"op\" is empty");
    node.output = r.string_field(j, "output", at, true);
    if (node.output.empty()) r.fail(at + "field \"output\" is empty");
    const std::string at_named =
        "node " + std::to_string(n) + " (" + node.op + " '" + node.output + "'): ";
    node.inputs = r.key_list(j, "inputs", at_named, false);
    node.weight = r.string_field(j, "weight", at_named, false);
    node.bias = r.string_field(j, "bias", at_named, false);
    node.activation = r.string_field(j, "activation", at_named, false);
    node.module = r.string_field(j, "module", at_named, false);
    node.type = r.string_field(j, "type", at_named, false);
    bool known_activation = false;
    for (const auto& a : kActivations) known_activation = known_activation || a == node.activation;
    if (!known_activation) {
      r.fail(at_named +
             "field \"activation\": expected \"\", \"relu\", \"relu6\" or "
             "\"relu_n1_to_1\", found \"" +
             node.activation + "\"");
    }
    if (auto ws = j.find("weight_shape"); ws != j.end()) {
      if (!ws->is_array())
        r.fail(at_named + "field \"weight_shape\": expected an array, found " +
               json_type_name(*ws));
      for (size_t d = 0; d < ws->size(); ++d) {
        const json& v = (*ws)[d];
        if (!v.is_number_integer() || v.get<int64_t>() < 0) {
          r.fail(at_named + "field \"weight_shape\" element " + std::to_string(d) +
                 ": expected a non-negative integer, found " + json_type_name(v));
        }
        node.weight_shape.push_back(v.get<int64_t>());
      }
      if (node.weight.empty() && !node.weight_shape.empty())
        r.fail(at_named + "field \"weight_shape\" is given without \"weight\"");
    }
    for (const auto& in_key : node.inputs) {
      if (!produced.count(in_key)) {
        r.fail(at_named + "input '" + in_key +
               "' is neither a graph input nor the output of an earlier node (nodes must be in "
               "execution order)");
      }
    }
    if (auto [it, fresh] = produced.emplace(node.output, at_named.substr(0, at_named.size() - 2));
        !fresh) {
      r.fail(at_named + "key '" + node.output + "' is already the output of " + it->second +
             "; every activation key names one tensor");
    }
    for (const std::string* c : {&node.weight, &node.bias}) {
      if (c->empty()) continue;
      if (produced.count(*c) || !constants.insert(*c).second)
        r.fail(at_named + "key '" + *c + "' is used for two tensors");
    }
    if (!node.bias.empty() && node.bias == node.weight)
      r.fail(at_named + "weight and bias are the same key '" + node.bias + "'");
    g.nodes.push_back(std::move(node));
  }
  for (const auto& c : constants) {
    if (produced.count(c)) r.fail("key '" + c + "' is both a constant and an activation");
  }
  for (const auto& out_key : g.outputs) {
    if (!produced.count(out_key)) {
      r.fail("field \"outputs\": key '" + out_key +
             "' is neither a graph input nor the output of a node");
    }
  }
  return g;
}

void write_source_graph(const SourceGraph& g, const std::string& path) {
  json root;
  root["format"] = "qimplant-graph";
  root["version"] = 1;
  if (!g.producer.empty()) root["producer"] = g.producer;
  root["inputs"] = g.inputs;
  root["outputs"] = g.outputs;
  json nodes = json::array();
  for (const auto& n : g.nodes) {
    json j;
    j["op"] = n.op;
    j["output"] = n.output;
    j["inputs"] = n.inputs;
    if (!n.weight.empty()) j["weight"] = n.weight;
    if (!n.bias.empty()) j["bias"] = n.bias;
    if (!n.weight_shape.empty()) j["weight_shape"] = n.weight_shape;
    if (!n.activation.empty()) j["activation"] = n.activation;
    if (!n.module.empty()) j["module"] = n.module;
    if (!n.type.empty()) j["type"] = n.type;
    nodes.push_back(std::move(j));
  }
  root["nodes"] = std::move(nodes);
  const std::string text = root.dump(2) + "\n";
  AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace qimplant
