#include "eval/eval.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "eval/constants.h"
#include "exec/interpreter.h"
#include "io/npy.h"
#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant::eval {
namespace {

constexpr int32_t kDequantize = circle::BuiltinOperator_DEQUANTIZE;

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

const SubgraphInfo& main_graph(const ModelFile& file) {
  if (file.info().subgraphs.empty()) throw Error("model '" + file.path() + "' has no subgraph");
  return file.info().subgraphs[0];
}

// The quantization step of each element of the quantized model's tensor `index`: its own scale
// (per channel), or for a float tensor written by a DEQUANTIZE the scale of what it reads.
std::vector<double> lsb_steps(const SubgraphInfo& g, int32_t index, size_t count) {
  const TensorInfo* t = &g.tensors[static_cast<size_t>(index)];
  if (t->quant.scale.empty()) {
    for (const auto& op : g.operators) {
      if (op.builtin_code == kDequantize && op.outputs.size() == 1 && op.outputs[0] == index &&
          !op.inputs.empty() && op.inputs[0] >= 0)
        t = &g.tensors[static_cast<size_t>(op.inputs[0])];
    }
  }
  std::vector<double> steps(count, 0.0);
  if (t->quant.scale.empty() || t->shape != g.tensors[static_cast<size_t>(index)].shape)
    return steps;
  for (size_t i = 0; i < count; ++i) {
    const size_t c = t->quant.scale.size() > 1
                         ? static_cast<size_t>(channel_of(t->shape, t->quant.quantized_dimension,
                                                          static_cast<int64_t>(i)))
                         : 0;
    steps[i] = c < t->quant.scale.size() ? t->quant.scale[c] : 0.0;
  }
  return steps;
}

struct Pair {
  int32_t float_tensor = -1, quantized_tensor = -1;
  std::vector<double> steps;
  ErrorAccumulator acc;
  TensorComparison report;
  // For a computed per-tensor quantized tensor: its integer and real range, what the float
  // model computed there and how many quantized values sat at the limits.
  bool ranged = false;
  int64_t qmin = 0, qmax = 0;
  double step = 0, range_min = 0, range_max = 0;
  double float_min = HUGE_VAL, float_max = -HUGE_VAL;
  int64_t at_limits = 0, quantized_count = 0;
};

Pair pair_of(const ModelFile& f, const ModelFile& q, int32_t ft, int32_t qt) {
  const SubgraphInfo& fg = f.info().subgraphs[0];
  const SubgraphInfo& qg = q.info().subgraphs[0];
  const TensorInfo& a = fg.tensors[static_cast<size_t>(ft)];
  const TensorInfo& b = qg.tensors[static_cast<size_t>(qt)];
  Pair p;
  p.float_tensor = ft;
  p.quantized_tensor = qt;
  p.steps = lsb_steps(qg, qt, static_cast<size_t>(std::max<int64_t>(0, b.element_count())));
  p.report.name = a.name;
  p.report.constant = q.info().is_constant(b);
  p.report.float_type = tensor_type_name(f.format(), a.type);
  p.report.quantized_type = tensor_type_name(q.format(), b.type);
  p.report.shape = b.shape;
  if (!p.report.constant && b.quant.scale.size() == 1 && integer_range(b.type, &p.qmin, &p.qmax)) {
    const double zp = b.quant.zero_point.empty() ? 0.0 : static_cast<double>(b.quant.zero_point[0]);
    p.ranged = true;
    p.step = b.quant.scale[0];
    p.range_min = (static_cast<double>(p.qmin) - zp) * p.step;
    p.range_max = (static_cast<double>(p.qmax) - zp) * p.step;
  }
  return p;
}

void accumulate(Pair& p, const std::vector<exec::Value>& fv, const std::vector<exec::Value>& qv) {
  const exec::Value& a = fv[static_cast<size_t>(p.float_tensor)];
  const exec::Value& b = qv[static_cast<size_t>(p.quantized_tensor)];
  if (a.data.empty() || b.data.empty() || a.element_count() != b.element_count()) return;
  const int64_t n = a.element_count();
  for (int64_t i = 0; i < n; ++i) {
    const double ref = exec::real_value(a, i);
    p.acc.add(ref, exec::real_value(b, i),
              static_cast<size_t>(i) < p.steps.size() ? p.steps[static_cast<size_t>(i)] : 0.0);
    if (!p.ranged) continue;
    p.float_min = std::min(p.float_min, ref);
    p.float_max = std::max(p.float_max, ref);
    const double q = exec::element_as_double(b, i);
    p.at_limits += q <= static_cast<double>(p.qmin) || q >= static_cast<double>(p.qmax);
    ++p.quantized_count;
  }
}

std::optional<RangeFinding> range_finding(const Pair& p, const ModelFile& quantized) {
  if (!p.ranged || p.quantized_count == 0) return std::nullopt;
  RangeFinding r;
  r.tensor = p.report.name;
  r.float_min = p.float_min;
  r.float_max = p.float_max;
  r.range_min = p.range_min;
  r.range_max = p.range_max;
  r.at_limits = static_cast<double>(p.at_limits) / static_cast<double>(p.quantized_count);
  const TensorInfo& t =
      quantized.info().subgraphs[0].tensors[static_cast<size_t>(p.quantized_tensor)];
  const std::string what = "tensor '" + r.tensor + "' (" + p.report.quantized_type + ", scale " +
                           num(p.step) + ", zero point " +
                           std::to_string(t.quant.zero_point.empty() ? 0 : t.quant.zero_point[0]) +
                           ") represents [" + num(r.range_min) + ", " + num(r.range_max) + "]";
  const bool passes = r.float_max > r.range_max + p.step || r.float_min < r.range_min - p.step;
  if (passes && r.at_limits > 0.01) {
    r.kind = "clipped";
    r.factor = std::max(r.range_max > 0 ? r.float_max / r.range_max : 0.0,
                        r.range_min < 0 ? r.float_min / r.range_min : 0.0);
    r.message = what + " but the float model's values there reach [" + num(r.float_min) + ", " +
                num(r.float_max) + "]: " + num(100.0 * r.at_limits) +
                "% of its values sit at the limits (clipped); its scale looks too small by a "
                "factor of about " +
                num(r.factor);
    return r;
  }
  const double span = r.float_max - r.float_min;
  if (span > 0 && r.range_max - r.range_min > 10.0 * span) {
    r.kind = "coarse";
    r.factor = (r.range_max - r.range_min) / span;
    r.message = what + " but the float model's values there stay within [" + num(r.float_min) +
                ", " + num(r.float_max) + "], " + num(100.0 / r.factor) +
                "% of that range: its scale looks too large by a factor of about " + num(r.factor) +
                " (precision is lost)";
    return r;
  }
  return std::nullopt;
}

}  // namespace

EvalResult evaluate(const EvalOptions& options) {
  const auto f = ModelFile::open(options.float_model);
  const auto q = ModelFile::open(options.quantized_model);
  return evaluate(*f, *q, options);
}

EvalResult evaluate(const ModelFile& float_model, const ModelFile& quantized,
                    const EvalOptions& options) {
  const SubgraphInfo& fg = main_graph(float_model);
  const SubgraphInfo& qg = main_graph(quantized);
  // First: the interpreters refuse what they cannot run and shapes past their limits before
  // anything below allocates for a declared shape.
  const exec::Interpreter float_run(float_model);
  const exec::Interpreter quantized_run(quantized);
  const std::vector<size_t> input_match = match_inputs(float_model, quantized);

  // Outputs by name, before anything runs, so a mismatch is reported at once.
  std::vector<Pair> outputs;
  for (int32_t ft : fg.outputs) {
    const TensorInfo& a = fg.tensors[static_cast<size_t>(ft)];
    int32_t found = -1;
    for (int32_t qt : qg.outputs)
      if (qg.tensors[static_cast<size_t>(qt)].name == a.name) found = qt;
    if (found < 0) {
      std::string names;
      for (int32_t qt : qg.outputs)
        names += (names.empty() ? "'" : ", '") + qg.tensors[static_cast<size_t>(qt)].name + "'";
      throw Error("quantized model '" + quantized.path() + "' has no output named '" + a.name +
                  "' (an output of float model '" + float_model.path() +
                  "'); its outputs: " + (names.empty() ? "none" : names));
    }
    const TensorInfo& b = qg.tensors[static_cast<size_t>(found)];
    if (a.shape != b.shape) {
      throw Error("output '" + a.name + "': float model '" + float_model.path() + "' has shape " +
                  npy::format_shape({a.shape.begin(), a.shape.end()}) + ", quantized model '" +
                  quantized.path() + "' has shape " +
                  npy::format_shape({b.shape.begin(), b.shape.end()}));
    }
    outputs.push_back(pair_of(float_model, quantized, ft, found));
  }

  std::vector<Pair> tensors;
  if (options.per_tensor) {
    std::map<std::string, int32_t> float_by_name;
    std::map<std::string, int> float_name_count;
    for (size_t i = 0; i < fg.tensors.size(); ++i) {
      float_by_name.emplace(fg.tensors[i].name, static_cast<int32_t>(i));
      ++float_name_count[fg.tensors[i].name];
    }
    std::map<std::string, int> quantized_name_count;
    for (const auto& t : qg.tensors) ++quantized_name_count[t.name];
    for (size_t i = 0; i < qg.tensors.size(); ++i) {
      const TensorInfo& b = qg.tensors[i];
      const auto it = float_by_name.find(b.name);
      // A name used twice in a model does not say which tensor it means: leave it out.
      if (it == float_by_name.end() || float_name_count[b.name] != 1 ||
          quantized_name_count[b.name] != 1)
        continue;
      if (fg.tensors[static_cast<size_t>(it->second)].shape != b.shape) continue;
      tensors.push_back(pair_of(float_model, quantized, it->second, static_cast<int32_t>(i)));
    }
  }

  EvalResult result;
  result.float_model = float_model.path();
  result.quantized_model = quantized.path();
  result.random_inputs = options.inputs.empty();
  result.seed = options.seed;
  const InputSet set = result.random_inputs
                           ? random_inputs(float_model, quantized, options.samples, options.seed)
                           : load_inputs(float_model, options.inputs);
  result.samples = static_cast<int64_t>(set.samples.size());
  for (int32_t t : fg.inputs) result.input_names.push_back(fg.tensors[static_cast<size_t>(t)].name);
  result.input_sources = set.sources;

  for (const auto& sample : set.samples) {
    std::vector<exec::Value> float_in, quantized_in(qg.inputs.size());
    for (size_t i = 0; i < fg.inputs.size(); ++i) {
      float_in.push_back(
          feed(sample[i], fg.tensors[static_cast<size_t>(fg.inputs[i])], float_model));
      quantized_in[input_match[i]] =
          feed(sample[i], qg.tensors[static_cast<size_t>(qg.inputs[input_match[i]])], quantized);
    }
    const std::vector<exec::Value> fv = float_run.run(float_in);
    const std::vector<exec::Value> qv = quantized_run.run(quantized_in);
    for (auto& p : outputs) accumulate(p, fv, qv);
    for (auto& p : tensors) accumulate(p, fv, qv);
  }
  for (auto& p : outputs) {
    p.report.stats = p.acc.stats();
    result.outputs.push_back(p.report);
    if (!options.per_tensor) {
      if (auto r = range_finding(p, quantized)) result.ranges.push_back(*r);
    }
  }
  for (auto& p : tensors) {
    p.report.stats = p.acc.stats();
    if (p.report.stats.count > 0) result.tensors.push_back(p.report);
    if (auto r = range_finding(p, quantized)) result.ranges.push_back(*r);
  }
  result.constants = diagnose_constants(float_model, quantized);
  return result;
}

EvalResult evaluate_implant(ImplantOptions implant_options, const EvalOptions& options,
                            ImplantResult* implant_result) {
  ImplantOptions& o = implant_options;
  std::string dir;
  if (o.output.empty()) {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/q-implant-eval-XXXXXX";
    if (!mkdtemp(pattern.data()))
      throw Error("cannot create a temporary directory '" + pattern + "' for the implanted model");
    dir = pattern;
    const auto dot = o.input.rfind('.');
    const auto slash = o.input.rfind('/');
    const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    o.output = dir + "/quantized" + (has_ext ? o.input.substr(dot) : ".circle");
  }
  // Removes the temporary model however evaluation ends.
  struct Cleanup {
    std::string dir, file;
    ~Cleanup() {
      if (dir.empty()) return;
      unlink(file.c_str());
      rmdir(dir.c_str());
    }
  } cleanup{dir, o.output};
  o.dry_run = false;
  ImplantResult r = qimplant::implant(o);
  if (implant_result) *implant_result = r;
  EvalOptions eval_options = options;
  eval_options.float_model = o.input;
  eval_options.quantized_model = o.output;
  EvalResult result = evaluate(eval_options);
  if (!dir.empty()) result.quantized_model = "(implanted from " + o.qparam + ")";
  return result;
}

std::string check_thresholds(const EvalResult& result, const Thresholds& thresholds) {
  std::string missed;
  for (const auto& o : result.outputs) {
    if (thresholds.max_error && !(o.stats.max_abs <= *thresholds.max_error)) {
      missed += (missed.empty() ? "" : "; ") + std::string("output '") + o.name +
                "': max abs error " + num(o.stats.max_abs) + " > --max-error " +
                num(*thresholds.max_error);
    }
    if (thresholds.min_snr_db && !(o.stats.snr_db >= *thresholds.min_snr_db)) {
      missed += (missed.empty() ? "" : "; ") + std::string("output '") + o.name + "': SNR " +
                format_snr(o.stats.snr_db) + " dB < --min-snr " + num(*thresholds.min_snr_db) +
                " dB";
    }
  }
  return missed;
}

}  // namespace qimplant::eval
