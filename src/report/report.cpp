#include "report/report.h"

#include "io/atomic_file.h"

namespace qimplant {

using nlohmann::ordered_json;

namespace {
const char* data_name(TensorEdit::Data d) {
  switch (d) {
    case TensorEdit::Data::FromValue:
      return "value";
    case TensorEdit::Data::Quantized:
      return "quantized";
    default:
      return "none";
  }
}
}  // namespace

ordered_json findings_json(const std::vector<Finding>& findings) {
  ordered_json out = ordered_json::array();
  for (const auto& f : findings) {
    ordered_json j;
    j["severity"] = f.severity == Severity::Error ? "error" : "warning";
    j["rule"] = f.rule;
    j["subgraph"] = f.subgraph;
    j["operator_index"] = f.op_index;
    j["operator"] = f.op;
    j["tensors"] = f.tensors;
    j["message"] = f.message;
    out.push_back(std::move(j));
  }
  return out;
}

ordered_json float_tensors_json(const std::vector<FloatFinding>& tensors) {
  ordered_json out = ordered_json::array();
  for (const auto& f : tensors) {
    ordered_json j;
    j["tensor"] = f.tensor;
    j["subgraph"] = f.ref.subgraph;
    j["producer"] = f.producer;
    j["users"] = f.users;
    if (!f.reason.empty()) j["reason"] = f.reason;
    out.push_back(std::move(j));
  }
  return out;
}

ordered_json implant_report(const ImplantOptions& options, const ImplantResult& result) {
  ordered_json r;
  r["input"] = options.input;
  r["qparam"] = options.qparam;
  r["output"] = options.dry_run ? ordered_json() : ordered_json(options.output);
  r["format"] = format_name(result.format);
  r["target"] = target_name(result.target);
  r["rounding"] = rounding_name(options.rounding);
  ordered_json changes = ordered_json::array();
  for (const auto& c : result.changes) {
    ordered_json j;
    j["tensor"] = c.tensor;
    j["subgraph"] = c.subgraph;
    j["change"] = origin_name(c.origin);
    j["source"] = c.source;
    j["from_type"] = c.from_type;
    j["to_type"] = c.to_type;
    j["scale"] = c.quant.scale;
    j["zero_point"] = c.quant.zero_point;
    j["quantized_dimension"] = c.quant.quantized_dimension;
    j["data"] = data_name(c.data);
    j["new_buffer"] = c.new_buffer;
    j["reexpressed"] = c.reexpressed.empty() ? ordered_json() : ordered_json(c.reexpressed);
    j["relayout"] = c.relayout.empty() ? ordered_json() : ordered_json(c.relayout);
    changes.push_back(std::move(j));
  }
  r["changes"] = std::move(changes);
  ordered_json operators = ordered_json::array();
  for (const auto& op : result.inserted_operators) {
    ordered_json j;
    j["operator"] = op.op;
    j["subgraph"] = op.subgraph;
    j["index"] = op.index;
    j["change"] = origin_name(EditOrigin::Inserted);
    j["inputs"] = op.inputs;
    j["outputs"] = op.outputs;
    j["reason"] = op.reason;
    operators.push_back(std::move(j));
  }
  r["operators"] = std::move(operators);
  ordered_json versions = ordered_json::array();
  for (const auto& v : result.version_changes)
    versions.push_back(
        {{"operator_code", v.code_index}, {"operator", v.op}, {"from", v.from}, {"to", v.to}});
  r["operator_versions"] = std::move(versions);
  r["float_operators"] = result.float_operators;
  r["float_tensors"] = float_tensors_json(result.float_tensors);
  r["findings"] = findings_json(result.findings);
  r["output_bytes"] = result.output_bytes;
  return r;
}

std::string json_report_text(const ordered_json& report) {
  // Model tensor names need not be UTF-8 (FlatBuffers does not check); JSON text must be, so
  // invalid bytes become U+FFFD rather than failing the report.
  return report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void write_json_file(const std::string& path, const ordered_json& report) {
  const std::string text = json_report_text(report);
  AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace qimplant
