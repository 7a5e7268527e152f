// eval_table() and eval_json() of eval.h: the same figures for people and for programs.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/eval.h"

namespace qimplant::eval {
namespace {

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

nlohmann::ordered_json snr_json(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  return db;
}

nlohmann::ordered_json stats_json(const ErrorStats& s) {
  nlohmann::ordered_json j;
  j["count"] = s.count;
  j["max_abs_error"] = s.max_abs;
  j["mean_abs_error"] = s.mean_abs;
  j["snr_db"] = snr_json(s.snr_db);
  j["max_error_lsb"] = s.has_lsb ? nlohmann::ordered_json(s.max_lsb) : nullptr;
  j["mean_error_lsb"] = s.has_lsb ? nlohmann::ordered_json(s.mean_lsb) : nullptr;
  return j;
}

nlohmann::ordered_json comparison_json(const TensorComparison& c) {
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["float_type"] = c.float_type;
  j["quantized_type"] = c.quantized_type;
  j["shape"] = c.shape;
  j["constant"] = c.constant;
  const nlohmann::ordered_json stats = stats_json(c.stats);
  for (const auto& [k, v] : stats.items()) j[k] = v;
  return j;
}

void table(std::ostringstream& os, const std::vector<TensorComparison>& rows) {
  std::vector<std::vector<std::string>> cells{{"tensor", "float", "quantized", "max abs err",
                                               "mean abs err", "SNR dB", "max LSB", "mean LSB"}};
  for (const auto& r : rows) {
    const ErrorStats& s = r.stats;
    cells.push_back({r.name + (r.constant ? " (const)" : ""), r.float_type, r.quantized_type,
                     num(s.max_abs), num(s.mean_abs), format_snr(s.snr_db),
                     s.has_lsb ? num(s.max_lsb) : "-", s.has_lsb ? num(s.mean_lsb) : "-"});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : cells) {
    std::string line = "  ";
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    os << line << "\n";
  }
}

}  // namespace

std::string eval_table(const EvalResult& r) {
  std::ostringstream os;
  os << "q-implant eval: " << r.float_model << " vs " << r.quantized_model << ", " << r.samples
     << " sample(s)";
  if (r.random_inputs) os << " (random, seed " << r.seed << ")";
  os << "\n";
  for (size_t i = 0; i < r.input_names.size(); ++i)
    os << "  input '" << r.input_names[i] << "': " << r.input_sources[i] << "\n";
  os << "graph outputs:\n";
  table(os, r.outputs);
  if (!r.tensors.empty()) {
    os << "tensors in both models:\n";
    table(os, r.tensors);
  }
  for (const auto& f : r.constants.findings) os << "warning: " << f.message << "\n";
  for (const auto& f : r.ranges) os << "warning: " << f.message << "\n";
  return os.str();
}

nlohmann::ordered_json eval_json(const EvalResult& r, const Thresholds& thresholds) {
  nlohmann::ordered_json j;
  j["float_model"] = r.float_model;
  j["quantized_model"] = r.quantized_model;
  j["samples"] = r.samples;
  j["random_inputs"] = r.random_inputs;
  if (r.random_inputs) j["seed"] = r.seed;
  j["inputs"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.input_names.size(); ++i)
    j["inputs"].push_back({{"name", r.input_names[i]}, {"source", r.input_sources[i]}});
  j["outputs"] = nlohmann::ordered_json::array();
  for (const auto& o : r.outputs) j["outputs"].push_back(comparison_json(o));
  j["tensors"] = nlohmann::ordered_json::array();
  for (const auto& t : r.tensors) j["tensors"].push_back(comparison_json(t));
  j["constants"] = nlohmann::ordered_json::array();
  for (const auto& c : r.constants.compared) {
    nlohmann::ordered_json e{{"name", c.tensor}};
    const nlohmann::ordered_json stats = stats_json(c.stats);
    for (const auto& [k, v] : stats.items()) e[k] = v;
    j["constants"].push_back(e);
  }
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : r.constants.findings) {
    nlohmann::ordered_json e{{"tensor", f.tensor}, {"kind", f.kind}};
    if (f.kind == "layout") e["layout"] = f.layout;
    if (f.kind == "scale") e["factor"] = f.factor;
    e["as_stored"] = stats_json(f.as_stored);
    if (f.kind != "mismatch") e["fixed"] = stats_json(f.fixed);
    e["message"] = f.message;
    j["findings"].push_back(e);
  }
  j["range_findings"] = nlohmann::ordered_json::array();
  for (const auto& f : r.ranges) {
    j["range_findings"].push_back({{"tensor", f.tensor},
                                   {"kind", f.kind},
                                   {"float_min", f.float_min},
                                   {"float_max", f.float_max},
                                   {"range_min", f.range_min},
                                   {"range_max", f.range_max},
                                   {"at_limits", f.at_limits},
                                   {"factor", f.factor},
                                   {"message", f.message}});
  }
  nlohmann::ordered_json t;
  t["max_error"] = thresholds.max_error ? nlohmann::ordered_json(*thresholds.max_error) : nullptr;
  t["min_snr_db"] =
      thresholds.min_snr_db ? nlohmann::ordered_json(*thresholds.min_snr_db) : nullptr;
  const std::string missed = check_thresholds(r, thresholds);
  t["passed"] = missed.empty();
  if (!missed.empty()) t["missed"] = missed;
  j["thresholds"] = t;
  return j;
}

}  // namespace qimplant::eval
