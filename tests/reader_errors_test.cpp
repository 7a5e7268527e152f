// "internal error" is not reachable from any input. For every reader (npy, npz, the model file,
// qparam.json in its plain and compact forms, the name map, AIMET encodings in each layout, ONNX
// QDQ models, the structure file) a valid input is mutated in every way its format allows: each
// JSON value replaced by every JSON type, by numbers outside double / int64 range, by strings that
// are not UTF-8, by deep nesting; members removed; files truncated; header bytes changed. The CLI
// must answer each mutation with exit 0, or exit 1 and one "q-implant: error: " line naming the
// mutated file (or the rule check's findings); never "internal error", never a signal.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <zip.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/test_util.h"

namespace qimplant::test {
namespace {

using ojson = nlohmann::ordered_json;

const std::string kConv = std::string(QIMPLANT_SOURCE_DIR) + "/examples/conv2d/";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  const auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// One reader's input: the files of a valid invocation, which of them is mutated, the arguments.
struct Scenario {
  std::string name;
  std::map<std::string, std::string> files;  // relative name -> contents
  std::string target;                        // the file mutated
  std::vector<std::string> args;             // relative to the scratch directory
  bool json = false;
};

// --- mutations -----------------------------------------------------------------------------

using Mutation = std::pair<std::string, std::string>;  // description, new contents

void collect_paths(const ojson& j, const ojson::json_pointer& at,
                   std::vector<ojson::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) collect_paths(it.value(), at / it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) collect_paths(j[i], at / i, out);
  }
}

// Raw JSON text put in place of one value: every JSON type, numbers that overflow double or
// int64 or are denormal, strings that are empty, hold NUL or are not UTF-8, empty and nested
// containers.
std::vector<std::string> substitutes() {
  return {"null",
          "true",
          "0",
          "-1",
          "0.5",
          "1e300",
          "4.9e-324",
          "1e999",
          "-1e999",
          "18446744073709551616",
          "-9223372036854775809",
          "\"\"",
          "\"x\"",
          "\"\\u0000\"",
          "\"\xff\xfe\"",
          "[]",
          "[1e999]",
          "{}",
          "{\"\": {}}",
          std::string(20000, '[') + std::string(20000, ']')};
}

std::vector<Mutation> json_mutations(const std::string& text) {
  std::vector<Mutation> m;
  const ojson root = ojson::parse(text);
  std::vector<ojson::json_pointer> paths;
  collect_paths(root, ojson::json_pointer(), paths);
  const std::string mark = "\"@@q-implant-substitute@@\"";
  for (const auto& p : paths) {
    ojson copy = root;
    copy[p] = "@@q-implant-substitute@@";
    const std::string dumped = copy.dump(1);
    const size_t at = dumped.find(mark);
    for (const std::string& s : substitutes())
      m.push_back({"'" + p.to_string() + "' = " + s.substr(0, 24),
                   dumped.substr(0, at) + s + dumped.substr(at + mark.size())});
    if (p.empty()) continue;
    // The member removed, and the key itself made invalid (not UTF-8) or a duplicate.
    ojson removed = root;
    removed[p.parent_pointer()].is_object()
        ? (void)removed[p.parent_pointer()].erase(p.back())
        : (void)removed[p.parent_pointer()].erase(std::stoul(p.back()));
    m.push_back({"'" + p.to_string() + "' removed", removed.dump(1)});
  }
  for (size_t cut : {size_t{0}, size_t{1}, text.size() / 3, text.size() / 2, text.size() - 1})
    if (cut < text.size())
      m.push_back({"truncated to " + std::to_string(cut), text.substr(0, cut)});
  m.push_back({"a key not UTF-8", "{\"\xc3\x28\": {}}"});
  m.push_back({"a repeated top-level key", "{\"a\": {}, \"a\": {}}"});
  m.push_back({"a UTF-8 BOM and nothing", "\xEF\xBB\xBF"});
  return m;
}

std::vector<Mutation> binary_mutations(const std::string& bytes) {
  std::vector<Mutation> m;
  const size_t n = bytes.size();
  std::set<size_t> cuts = {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 16, 24, 32, 64, n / 2, n - 1};
  for (size_t c : cuts)
    if (c < n) m.push_back({"truncated to " + std::to_string(c), bytes.substr(0, c)});
  // Every byte of the first 160 (headers, FlatBuffer tables, protobuf tags), then 48 spread
  // over the rest, set to 0x00, 0xFF and 0x7F.
  std::set<size_t> at;
  for (size_t i = 0; i < std::min<size_t>(n, 160); ++i) at.insert(i);
  for (size_t k = 0; k < 48 && n > 160; ++k) at.insert(160 + (n - 160) * k / 48);
  for (size_t i : at) {
    for (unsigned char v : {0x00, 0xFF, 0x7F}) {
      if (static_cast<unsigned char>(bytes[i]) == v) continue;
      std::string b = bytes;
      b[i] = static_cast<char>(v);
      m.push_back({"byte " + std::to_string(i) + " = " + std::to_string(v), b});
    }
  }
  m.push_back({"doubled", bytes + bytes});
  return m;
}

// --- the base inputs -----------------------------------------------------------------------

std::map<std::string, std::string> conv_files() {
  std::map<std::string, std::string> f;
  f["model.circle"] = slurp(kConv + "Conv2D_000.circle");
  for (int i = 0; i < 10; ++i)
    f[std::to_string(i) + ".npy"] = slurp(kConv + std::to_string(i) + ".npy");
  f["qparam.json"] = slurp(kConv + "qparam.json");
  return f;
}

std::vector<std::string> implant_args(const std::string& params) {
  return {"model.circle", params, "out.circle"};
}

std::string npz_of(const ScratchDir& dir, const std::map<std::string, std::string>& members) {
  const std::string path = dir.file("w.npz");
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) return "";
  for (const auto& [name, bytes] : members) {
    void* copy = malloc(bytes.size());
    std::copy(bytes.begin(), bytes.end(), static_cast<char*>(copy));
    zip_source_t* src = zip_source_buffer(z, copy, bytes.size(), 1);
    zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
  }
  zip_close(z);
  return slurp(path);
}

void initializer(onnx::GraphProto* g, const std::string& name, int type, std::vector<int64_t> dims,
                 const std::vector<double>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  for (double v : values) {
    if (type == onnx::TensorProto::FLOAT)
      t->add_float_data(static_cast<float>(v));
    else
      t->add_int32_data(static_cast<int32_t>(v));
  }
}

void node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
          const std::string& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out);
  for (auto& s : in) n->add_input(s);
  n->add_output(out);
}

// examples/conv2d as a QDQ graph (names as in the circle model).
std::string qdq_model() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->add_input()->set_name("ifm");
  g->add_output()->set_name("out_dq");
  initializer(g, "ifm_s", onnx::TensorProto::FLOAT, {}, {0.27102426});
  initializer(g, "ifm_z", onnx::TensorProto::UINT8, {}, {216});
  initializer(g, "ker", onnx::TensorProto::FLOAT, {1, 2, 1, 1}, {0.311261, 0.920864});
  initializer(g, "ker_s", onnx::TensorProto::FLOAT, {1}, {0.00725090});
  initializer(g, "ker_z", onnx::TensorProto::INT8, {1}, {0});
  initializer(g, "bias", onnx::TensorProto::INT32, {1}, {256});
  initializer(g, "bias_s", onnx::TensorProto::FLOAT, {}, {0.27102426 * 0.00725090});
  initializer(g, "ofm_s", onnx::TensorProto::FLOAT, {}, {0.83054835});
  initializer(g, "ofm_z", onnx::TensorProto::UINT8, {}, {7});
  node(g, "QuantizeLinear", {"ifm", "ifm_s", "ifm_z"}, "ifm_q");
  node(g, "DequantizeLinear", {"ifm_q", "ifm_s", "ifm_z"}, "ifm_dq");
  node(g, "QuantizeLinear", {"ker", "ker_s", "ker_z"}, "ker_q");
  node(g, "DequantizeLinear", {"ker_q", "ker_s", "ker_z"}, "ker_dq");
  node(g, "DequantizeLinear", {"bias", "bias_s"}, "bias_dq");
  node(g, "Conv", {"ifm_dq", "ker_dq", "bias_dq"}, "ofm");
  node(g, "QuantizeLinear", {"ofm", "ofm_s", "ofm_z"}, "ofm_q");
  node(g, "DequantizeLinear", {"ofm_q", "ofm_s", "ofm_z"}, "out_dq");
  return m.SerializeAsString();
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> s;
  const auto conv = conv_files();
  s.push_back({"qparam_json", conv, "qparam.json", implant_args("qparam.json"), true});
  for (const char* npy : {"0.npy", "1.npy", "4.npy", "7.npy"})
    s.push_back({std::string("npy_") + npy[0], conv, npy, implant_args("qparam.json"), false});
  s.push_back({"model_implant", conv, "model.circle", implant_args("qparam.json"), false});
  s.push_back(
      {"model_check", conv, "model.circle", {"check", "--allow-float", "model.circle"}, false});
  s.push_back(
      {"model_inspect", conv, "model.circle", {"inspect", "--json", "model.circle"}, false});
  s.push_back(
      {"model_eval", conv, "model.circle", {"eval", "model.circle", "model.circle"}, false});

  // Compact qparam.json: inline numbers, npz members.
  auto compact = conv;
  {
    ScratchDir tmp;
    compact["w.npz"] = npz_of(tmp, {{"ker", conv.at("4.npy")}, {"bias", conv.at("7.npy")}});
  }
  const ojson c = {
      {"ifm", {{"dtype", "uint8"}, {"scale", 0.27102426}, {"zerop", 216}}},
      {"ker",
       {{"dtype", "uint8"}, {"scale", {0.00725090}}, {"zerop", {128}}, {"value", "w.npz:ker"}}},
      {"bias",
       {{"dtype", "int32"},
        {"scale", 0.27102426 * 0.00725090},
        {"zerop", 0},
        {"value", "w.npz:bias"}}},
      {"ofm", {{"dtype", "uint8"}, {"min", -1.5}, {"max", 4.0}}}};
  compact["compact.json"] = c.dump(1);
  s.push_back({"compact_json", compact, "compact.json", implant_args("compact.json"), true});
  s.push_back({"npz", compact, "w.npz", implant_args("compact.json"), false});

  // The name map.
  auto mapped = conv;
  mapped["map.json"] = ojson{{"ifm", "ifm"}, {"re:^k(.*)$", "ker"}, {"ofm", "ofm"}}.dump(1);
  auto map_args = implant_args("qparam.json");
  map_args.insert(map_args.end(), {"--name-map", "map.json"});
  s.push_back({"name_map", mapped, "map.json", map_args, true});

  // AIMET encodings, each layout.
  auto enc061 = [](double scale, int offset) {
    return ojson::array({{{"bitwidth", 8},
                          {"dtype", "int"},
                          {"is_symmetric", "False"},
                          {"max", 1.0},
                          {"min", -1.0},
                          {"offset", offset},
                          {"scale", scale}}});
  };
  ojson v061 = {{"version", "0.6.1"},
                {"activation_encodings",
                 {{"ifm", enc061(0.27102426, -216)}, {"ofm", enc061(0.83054835, -7)}}},
                {"param_encodings", {{"ker", enc061(0.44855267, -103)}}}};
  auto enc100 = [](const std::string& name, double scale, int offset) {
    return ojson{{"name", name},    {"dtype", "INT"},   {"enc_type", "PER_TENSOR"}, {"bw", 8},
                 {"is_sym", false}, {"scale", {scale}}, {"offset", {offset}}};
  };
  ojson v100 = {
      {"version", "1.0.0"},
      {"activation_encodings", {enc100("ifm", 0.27102426, -216), enc100("ofm", 0.83054835, -7)}},
      {"param_encodings", {enc100("ker", 0.44855267, -103)}}};
  ojson v200 = {
      {"version", "2.0.0"},
      {"encodings",
       {{{"name", "ifm"}, {"output_dtype", "uint8"}, {"y_scale", 0.27}, {"y_zero_point", 216}},
        {{"name", "ker"}, {"output_dtype", "int8"}, {"y_scale", {0.0073}}, {"axis", 0}},
        {{"name", "ofm"}, {"output_dtype", "uint8"}, {"y_scale", 0.83}, {"y_zero_point", 7}}}}};
  int k = 0;
  for (const ojson* v : {&v061, &v100, &v200}) {
    auto files = conv;
    files["model.encodings"] = v->dump(1);
    auto args = implant_args("model.encodings");
    args.insert(args.end(), {"--param-format", "aimet"});
    s.push_back({"aimet_" + std::to_string(k++), files, "model.encodings", args, true});
  }

  // ONNX QDQ.
  auto onnx_files = conv;
  onnx_files["model.onnx"] = qdq_model();
  s.push_back({"onnx_qdq", onnx_files, "model.onnx", implant_args("model.onnx"), false});

  // The structure file (--match structure): the conv under the exporter's names.
  auto structure = conv;
  const ojson renamed = {{"x", ojson::parse(conv.at("qparam.json"))["ifm"]},
                         {"conv.weight", ojson::parse(conv.at("qparam.json"))["ker"]},
                         {"conv.bias", ojson::parse(conv.at("qparam.json"))["bias"]},
                         {"conv", ojson::parse(conv.at("qparam.json"))["ofm"]}};
  structure["qparam.json"] = renamed.dump(1);
  structure["qparam.graph.json"] = ojson{{"format", "qimplant-graph"},
                                         {"version", 1},
                                         {"inputs", {"x"}},
                                         {"outputs", {"conv"}},
                                         {"nodes",
                                          {{{"op", "conv2d"},
                                            {"output", "conv"},
                                            {"inputs", {"x"}},
                                            {"weight", "conv.weight"},
                                            {"bias", "conv.bias"},
                                            {"weight_shape", {1, 1, 1, 2}}}}}}
                                       .dump(1);
  auto st_args = implant_args("qparam.json");
  st_args.insert(st_args.end(), {"--match", "structure"});
  s.push_back({"structure", structure, "qparam.graph.json", st_args, true});
  return s;
}

// --- the walk ------------------------------------------------------------------------------

class ReaderErrors : public ::testing::TestWithParam<Scenario> {};

TEST_P(ReaderErrors, EveryMutationIsAnsweredByAMessageNamingTheFile) {
  const Scenario& sc = GetParam();
  ScratchDir dir;
  for (const auto& [name, bytes] : sc.files)
    write_bytes(dir.file(name), {bytes.begin(), bytes.end()});
  std::string cmd = "cd " + quote(dir.path()) + " && " + quote(QIMPLANT_CLI);
  for (const auto& a : sc.args) cmd += " " + quote(a);
  cmd += " 2>&1";

  // The base input works: mutations start from a valid invocation.
  std::string out;
  ASSERT_EQ(run_command(cmd, &out), 0) << sc.name << ": the base input fails:\n" << out;

  const std::string original = sc.files.at(sc.target);
  const auto mutations = sc.json ? json_mutations(original) : binary_mutations(original);
  const std::string named = "'" + sc.target + "'";
  std::vector<std::string> failures;
  size_t errors = 0, other_file = 0;
  for (const auto& [what, bytes] : mutations) {
    write_bytes(dir.file(sc.target), {bytes.begin(), bytes.end()});
    const int status = run_command(cmd, &out);
    std::string problem;
    if (out.find("internal error") != std::string::npos) {
      problem = "internal error";
    } else if (status != 0 && status != 1) {
      problem = "exit status " + std::to_string(status);
    } else if (status == 1) {
      ++errors;
      // The rule check's findings (parameters that read fine but break a rule) are answers
      // too; otherwise the message names the mutated file, or the input whose content it
      // contradicts now (a float tensor left in the model when an entry is removed).
      const size_t at = out.find("q-implant: error: ");
      if (out.find("error [") != std::string::npos) {
      } else if (at == std::string::npos) {
        problem = "exit 1 without a message";
      } else {
        const std::string message = out.substr(at);
        bool names = false;
        for (const auto& f : sc.files)
          names = names || message.find("'" + f.first + "'") != std::string::npos ||
                  message.find("/" + f.first + "'") != std::string::npos;
        if (!names) problem = "the message names no input file";
        if (message.find(named) == std::string::npos) ++other_file;
      }
    }
    if (!problem.empty()) failures.push_back(what + ": " + problem + "\n    " + out);
  }
  write_bytes(dir.file(sc.target), {original.begin(), original.end()});
  std::ostringstream report;
  for (size_t i = 0; i < failures.size() && i < 12; ++i) report << failures[i] << "\n";
  EXPECT_TRUE(failures.empty()) << sc.name << ": " << failures.size() << " of " << mutations.size()
                                << " mutations of " << sc.target << ":\n"
                                << report.str();
  // The walk reached the readers' refusals, not only inputs that still work.
  EXPECT_GT(errors, mutations.size() / 4) << sc.name;
  // ... and most refusals are about the mutated file itself.
  EXPECT_LT(other_file, errors / 4 + 1) << sc.name;
}

INSTANTIATE_TEST_SUITE_P(Readers, ReaderErrors, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qimplant::test
