// `q-implant names model qparam.json [--name-map map.json] [--match structure [--write-map m]]`:
// what each qparam.json key resolves to (with the structure match's reason), and the closest
// model names for those that do not. Writes nothing but --write-map; exit 1 when any key does
// not resolve. Matching is src/resolve/key_match; this file only prints it. qparam.json is read
// for its keys only (QParamDepth::Keys): its npy files are the implant's and `check`'s to read.
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/atomic_file.h"
#include "match/structure_match.h"
#include "model/model_file.h"
#include "qparam/param_source.h"
#include "resolve/key_match.h"
#include "util/error.h"

namespace qimplant::cli {

namespace {

std::string list(const TensorResolver& resolver, const ModelInfo& model,
                 const std::vector<TensorRef>& refs, bool types, size_t limit) {
  std::string out;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i == limit) {
      out += ", ... (" + std::to_string(refs.size() - limit) + " more; -v lists all)";
      break;
    }
    out += (i ? ", " : "") + resolver.describe(refs[i]);
    if (types) {
      out +=
          " " + tensor_type_name(model.format, model.tensor(refs[i].subgraph, refs[i].tensor).type);
    }
  }
  return out;
}

}  // namespace

Subcommand add_names_command(CLI::App& app) {
  struct Args {
    std::string model, qparam, name_map, match = "name", structure, write_map;
    bool verbose = false;
    std::string param_format = "auto";
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "names",
      "show what each qparam.json key resolves to in the model (exact names, '#<sg>:<name>', "
      "'re:...' and 'glob:...' patterns, --name-map), and the closest names for keys that do "
      "not; reads qparam.json's keys, not its npy files; writes nothing, exits 1 when a key "
      "does not resolve");
  sub->add_option("model", args->model, "circle or tflite model")->required();
  sub->add_option("qparam", args->qparam, "qparam.json")->required();
  sub->add_option("--name-map", args->name_map,
                  "JSON object mapping qparam.json keys to model tensor names");
  sub->add_option("--match", args->match,
                  "how keys find their tensors: name, or structure (the exporter's graph file "
                  "aligned with the model; --name-map entries win)")
      ->check(CLI::IsMember({"name", "structure"}))
      ->capture_default_str();
  sub->add_option("--structure", args->structure,
                  "graph file for --match structure (default: the graph an ONNX QDQ model "
                  "carries, else qparam.graph.json next to qparam.json)");
  sub->add_option("--write-map", args->write_map,
                  "with --match structure: write the keys' tensors as a --name-map file (the "
                  "explicit --name-map entries included), for review");
  sub->add_flag("-v,--verbose", args->verbose, "list every tensor a pattern matches");
  sub->add_option("--param-format", args->param_format,
                  "qparam, aimet, onnx or auto (from the file's content)")
      ->check(CLI::IsMember({"auto", "qparam", "aimet", "onnx"}))
      ->capture_default_str();
  return {
      sub, [args] {
        auto model = ModelFile::open(args->model);
        const ModelInfo& info = model->info();
        const ParamSource source = read_param_source_with_graph(
            args->qparam, parse_param_format(args->param_format).value_or(ParamFormat::Auto),
            QParamDepth::Keys);
        const QParamFile& qparams = source.qparams;
        NameMap map;
        if (!args->name_map.empty()) map = read_name_map(args->name_map);
        const NameMap* explicit_map = args->name_map.empty() ? nullptr : &map;
        const bool by_structure = args->match == "structure";
        if (!by_structure && (!args->structure.empty() || !args->write_map.empty())) {
          throw Error(std::string(args->structure.empty() ? "--write-map" : "--structure") +
                      " is only used with --match structure");
        }
        StructureMatch structure;
        NameMap structure_map;
        if (by_structure) {
          structure = match_structure_for(*model, qparams, args->structure, explicit_map,
                                          source.graph ? &*source.graph : nullptr);
          structure_map = structure.name_map();
        }
        std::unordered_map<std::string, const std::string*> reason_of;  // key -> match evidence
        for (const auto& e : structure.entries) reason_of.emplace(e.key, &e.reason);
        const TensorResolver resolver(info);
        std::vector<std::string> keys;
        for (const auto& e : qparams.entries) keys.push_back(e.key);
        const auto matches = match_keys({info, resolver, args->model, args->qparam, explicit_map,
                                         by_structure ? &structure_map : nullptr},
                                        keys, suggest_kinds(qparams));
        const size_t limit = args->verbose ? static_cast<size_t>(-1) : 10;

        std::cout << "qparam file '" << args->qparam << "' against model '" << args->model << "' ("
                  << format_name(info.format) << ", " << info.subgraphs.size() << " subgraph(s))";
        if (!args->name_map.empty()) std::cout << " with name map '" << args->name_map << "'";
        if (by_structure) std::cout << " matched by structure ('" << structure.graph_path << "')";
        std::cout << ":\n";
        size_t resolved = 0, tensors = 0;
        std::set<std::string> used;
        for (const auto& m : matches) {
          if (m.mapped) used.insert(m.key);
          if (!m.ok()) {
            std::cout << "  FAIL  '" << m.key << "'";
            if (m.mapped) std::cout << " (mapped to '" << m.lookup << "')";
            std::cout << "\n        " << m.error << "\n";
            continue;
          }
          ++resolved;
          tensors += m.tensors.size();
          std::cout << "  ok    '" << m.key << "'";
          if (m.by_structure)
            std::cout << " -> by structure";
          else if (m.mapped)
            std::cout << " -> mapped to '" << m.lookup << "'";
          if (m.form == KeyForm::Regex || m.form == KeyForm::Glob) {
            std::cout << " (" << key_form_name(m.form) << ") -> " << m.tensors.size()
                      << " tensor(s)";
            if (!m.tensors.empty())
              std::cout << ": " << list(resolver, info, m.tensors, false, limit);
            std::cout << "\n";
            if (!m.overridden.empty())
              std::cout << "        taken by exact keys instead: "
                        << list(resolver, info, m.overridden, false, limit) << "\n";
            if (!m.not_float.empty())
              std::cout << "        not float32, left alone: "
                        << list(resolver, info, m.not_float, true, limit) << "\n";
          } else {
            std::cout << " -> " << resolver.describe(m.tensors.front()) << "\n";
          }
          if (m.by_structure) {
            if (const auto it = reason_of.find(m.key); it != reason_of.end())
              std::cout << "        " << *it->second << "\n";
          }
        }
        for (const auto& note : structure.notes) std::cout << "  note  " << note << "\n";
        if (!args->write_map.empty()) {
          // Keys in qparam.json order; explicit entries as given, the rest as matched.
          nlohmann::ordered_json out = nlohmann::ordered_json::object();
          for (const auto& m : matches)
            if (m.mapped) out[m.key] = m.lookup;
          const std::string text = out.dump(2) + "\n";
          AtomicFile file(args->write_map);
          file.write(text.data(), text.size());
          file.commit();
          std::cout << "wrote name map '" << args->write_map << "' (" << out.size() << " key(s))\n";
        }
        if (!args->name_map.empty()) {
          std::vector<std::string> unused;
          for (const auto& [k, v] : map.entries())
            if (!used.count(k)) unused.push_back("'" + k + "'");
          if (!unused.empty()) {
            std::cout << "  name map entries no key uses: ";
            for (size_t i = 0; i < unused.size(); ++i) std::cout << (i ? ", " : "") << unused[i];
            std::cout << "\n";
          }
        }
        std::cout << "q-implant names: " << resolved << " of " << matches.size()
                  << " key(s) resolve, claiming " << tensors << " tensor(s)\n";
        return resolved == matches.size() ? 0 : 1;
      }};
}

}  // namespace qimplant::cli
