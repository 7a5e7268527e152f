#include "eval/diagnose.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "eval/constants.h"
#include "eval/inputs.h"
#include "model/op_properties.h"
#include "schema/circle_generated.h"

namespace qimplant::eval {
namespace {

constexpr int32_t kConv2D = circle::BuiltinOperator_CONV_2D;
constexpr int32_t kDepthwise = circle::BuiltinOperator_DEPTHWISE_CONV_2D;
constexpr int32_t kFullyConnected = circle::BuiltinOperator_FULLY_CONNECTED;
// A fitted factor explains nothing when it has almost as many elements to fit as freedom to
// fit them (a one-element bias always fits): at least this many elements per factor.
constexpr size_t kMinPerFactor = 4;

std::string num(double v, int digits = 4) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, v);
  return text;
}

// A fitted factor is only as exact as the rounding of the data it was fitted on.
std::string factor(double k) {
  return num(k, 3);
}

std::vector<double> channel_steps(const std::vector<int32_t>& shape, const QuantParams& quant,
                                  size_t count) {
  std::vector<double> steps(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t c = quant.scale.size() > 1
                         ? static_cast<size_t>(channel_of(shape, quant.quantized_dimension,
                                                          static_cast<int64_t>(i)))
                         : 0;
    steps[i] = c < quant.scale.size() ? quant.scale[c] : 0.0;
  }
  return steps;
}

ErrorStats compare(const std::vector<double>& ref, const std::vector<double>& got,
                   const std::vector<double>& steps) {
  ErrorAccumulator acc;
  for (size_t i = 0; i < ref.size(); ++i) acc.add(ref[i], got[i], steps[i]);
  return acc.stats();
}

bool matches(const ErrorStats& s) {
  return s.has_lsb && s.max_lsb <= kTolerance;
}

std::string error_text(const ErrorStats& s) {
  std::string t = num(s.max_abs);
  if (s.has_lsb) t += " (" + num(s.max_lsb) + " LSB)";
  return t;
}

std::string as_stored_text(const ErrorStats& s) {
  return "as stored the error is up to " + error_text(s) + ", SNR " + format_snr(s.snr_db) + " dB";
}

// Which operator reads each tensor as its weight, for the layouts to try.
std::map<int32_t, int32_t> weight_readers(const SubgraphInfo& g) {
  std::map<int32_t, int32_t> readers;
  for (const auto& op : g.operators) {
    const OpProperty* p = op_property(op.builtin_code);
    if (!p || p->weight_input < 0 || static_cast<size_t>(p->weight_input) >= op.inputs.size())
      continue;
    const int32_t w = op.inputs[static_cast<size_t>(p->weight_input)];
    if (w >= 0) readers.emplace(w, op.builtin_code);
  }
  return readers;
}

const char* model_layout(int32_t code) {
  return code == kConv2D ? "OHWI" : code == kDepthwise ? "[1, H, W, C]" : "[out, in]";
}

const char* op_text(int32_t code) {
  return code == kConv2D ? "CONV_2D" : code == kDepthwise ? "DEPTHWISE_CONV_2D" : "FULLY_CONNECTED";
}

}  // namespace

std::vector<Layout> candidate_layouts(int32_t code, size_t rank) {
  if ((code == kConv2D) && rank == 4) return {{"OIHW", {0, 3, 1, 2}}, {"HWIO", {1, 2, 3, 0}}};
  if (code == kDepthwise && rank == 4) return {{"[C, 1, H, W]", {3, 0, 1, 2}}};
  if (code == kFullyConnected && rank == 2) return {{"[in, out]", {1, 0}}};
  return {};
}

std::vector<int64_t> reread_in_layout(const std::vector<int64_t>& stored,
                                      const std::vector<int32_t>& shape, const Layout& layout) {
  const size_t rank = shape.size();
  // Strides of the mistaken layout, expressed per model dimension.
  std::vector<int64_t> stride_of_model_dim(rank, 0);
  int64_t stride = 1;
  for (size_t k = rank; k-- > 0;) {
    const size_t d = static_cast<size_t>(layout.perm[k]);
    stride_of_model_dim[d] = stride;
    stride *= shape[d];
  }
  std::vector<int64_t> out(stored.size());
  std::vector<int64_t> index(rank, 0);
  for (size_t i = 0; i < stored.size(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += index[d] * stride_of_model_dim[d];
    out[i] = stored[static_cast<size_t>(src)];
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

ConstantDiagnosis diagnose_constants(const ModelFile& float_model, const ModelFile& quantized) {
  ConstantDiagnosis result;
  if (float_model.info().subgraphs.empty() || quantized.info().subgraphs.empty()) return result;
  const SubgraphInfo& fg = float_model.info().subgraphs[0];
  const SubgraphInfo& qg = quantized.info().subgraphs[0];
  std::map<std::string, const TensorInfo*> float_constants;
  for (const auto& t : fg.tensors) {
    if (t.type == TensorType::Float32 && float_model.info().is_constant(t))
      float_constants.emplace(t.name, &t);
  }
  const auto readers = weight_readers(qg);
  for (size_t ti = 0; ti < qg.tensors.size(); ++ti) {
    const TensorInfo& qt = qg.tensors[ti];
    int64_t lo, hi;
    if (!integer_range(qt.type, &lo, &hi) || qt.quant.scale.empty() ||
        !quantized.info().is_constant(qt))
      continue;
    const auto f = float_constants.find(qt.name);
    if (f == float_constants.end() || f->second->shape != qt.shape) continue;
    // Per-channel parameters that do not fit the shape are the rule check's to report.
    const int32_t dim = qt.quant.quantized_dimension;
    if (qt.quant.scale.size() > 1 &&
        (dim < 0 || static_cast<size_t>(dim) >= qt.shape.size() ||
         static_cast<size_t>(qt.shape[static_cast<size_t>(dim)]) != qt.quant.scale.size()))
      continue;
    const std::vector<double> ref = float_data(float_model, *f->second);
    const std::vector<int64_t> stored = integer_data(quantized, qt);
    const std::vector<double> steps = channel_steps(qt.shape, qt.quant, stored.size());
    const std::vector<double> got = dequantize(stored, qt.shape, qt.quant);
    ConstantFinding finding;
    finding.tensor = qt.name;
    finding.as_stored = compare(ref, got, steps);
    result.compared.push_back({qt.name, finding.as_stored});
    if (matches(finding.as_stored)) continue;
    const std::string what = "constant '" + qt.name + "'";

    const auto reader = readers.find(static_cast<int32_t>(ti));
    if (reader != readers.end()) {
      for (const Layout& layout : candidate_layouts(reader->second, qt.shape.size())) {
        const std::vector<int64_t> reread = reread_in_layout(stored, qt.shape, layout);
        if (reread == stored) continue;  // the layouts agree for this shape
        const ErrorStats s = compare(ref, dequantize(reread, qt.shape, qt.quant), steps);
        if (!matches(s) || (finding.kind == "layout" && s.max_lsb >= finding.fixed.max_lsb))
          continue;
        finding.kind = "layout";
        finding.layout = layout.name;
        finding.fixed = s;
        finding.message = "weight '" + qt.name + "' of " + op_text(reader->second) +
                          " looks like layout " + layout.name + " written into the model's " +
                          model_layout(reader->second) + ": read as " + layout.name +
                          " and transposed, it matches the float weight within " + error_text(s) +
                          "; " + as_stored_text(finding.as_stored);
      }
      if (!finding.kind.empty()) {
        result.findings.push_back(finding);
        continue;
      }
    }

    if (std::any_of(qt.quant.zero_point.begin(), qt.quant.zero_point.end(),
                    [](int64_t z) { return z != 0; })) {
      QuantParams negated = qt.quant;
      for (auto& z : negated.zero_point) z = -z;
      const ErrorStats s = compare(ref, dequantize(stored, qt.shape, negated), steps);
      if (matches(s)) {
        finding.kind = "zero_point";
        finding.fixed = s;
        finding.message = what + ": its zero point looks negated: with zero point " +
                          std::to_string(negated.zero_point[0]) +
                          (negated.zero_point.size() > 1 ? " (and the others negated)" : "") +
                          " instead of " + std::to_string(qt.quant.zero_point[0]) +
                          " it matches the float constant within " + error_text(s) + "; " +
                          as_stored_text(finding.as_stored);
        result.findings.push_back(finding);
        continue;
      }
    }

    // Least-squares factors k minimising sum (ref - k * got)^2, for the tensor and per channel.
    const size_t channels = std::max<size_t>(1, qt.quant.scale.size());
    std::vector<double> fg_sum(channels, 0), gg_sum(channels, 0);
    double fg_all = 0, gg_all = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const size_t c = channels > 1
                           ? static_cast<size_t>(channel_of(qt.shape, qt.quant.quantized_dimension,
                                                            static_cast<int64_t>(i)))
                           : 0;
      fg_sum[c] += ref[i] * got[i];
      gg_sum[c] += got[i] * got[i];
      fg_all += ref[i] * got[i];
      gg_all += got[i] * got[i];
    }
    auto try_factors = [&](const std::vector<double>& k) {
      std::vector<double> scaled(got.size()), scaled_steps(got.size());
      for (size_t i = 0; i < got.size(); ++i) {
        const size_t c = k.size() > 1
                             ? static_cast<size_t>(channel_of(
                                   qt.shape, qt.quant.quantized_dimension, static_cast<int64_t>(i)))
                             : 0;
        scaled[i] = got[i] * k[c];
        scaled_steps[i] = steps[i] * k[c];
      }
      return compare(ref, scaled, scaled_steps);
    };
    auto big = [](double k) { return k > 0 && (k < 0.5 || k > 2.0); };
    if (gg_all > 0 && big(fg_all / gg_all) && ref.size() >= kMinPerFactor) {
      const double k = fg_all / gg_all;
      const ErrorStats s = try_factors({k});
      if (matches(s)) {
        finding.kind = "scale";
        finding.factor = k;
        finding.fixed = s;
        finding.message = what + ": its scale looks off by a factor of " + factor(k) +
                          " (the float values are " + factor(k) +
                          " x the dequantized ones): with scale x " + factor(k) +
                          " it matches the float constant within " + error_text(s) + "; " +
                          as_stored_text(finding.as_stored);
        result.findings.push_back(finding);
        continue;
      }
    }
    if (channels > 1 && ref.size() >= kMinPerFactor * channels) {
      std::vector<double> k(channels, 1.0);
      bool usable = true, any_big = false;
      for (size_t c = 0; c < channels; ++c) {
        if (gg_sum[c] > 0) k[c] = fg_sum[c] / gg_sum[c];
        usable = usable && k[c] > 0;
        any_big = any_big || big(k[c]);
      }
      const ErrorStats s = usable && any_big ? try_factors(k) : ErrorStats{};
      if (usable && any_big && matches(s)) {
        const auto [kmin, kmax] = std::minmax_element(k.begin(), k.end());
        finding.kind = "scale";
        finding.factor = fg_all / gg_all;
        finding.fixed = s;
        finding.message = what + ": its per-channel scales look off by factors " + factor(*kmin) +
                          " .. " + factor(*kmax) + " (scales of another tensor or layer?): " +
                          "rescaled per channel it matches the float constant within " +
                          error_text(s) + "; " + as_stored_text(finding.as_stored);
        result.findings.push_back(finding);
        continue;
      }
    }

    int64_t at_limits = 0;
    for (int64_t q : stored) at_limits += q == lo || q == hi;
    finding.kind = "mismatch";
    finding.message = what + " dequantized differs from the float constant: error up to " +
                      error_text(finding.as_stored) + ", SNR " +
                      format_snr(finding.as_stored.snr_db) + " dB";
    const double share = stored.empty() ? 0 : double(at_limits) / double(stored.size());
    if (share > 0.01) {
      finding.message += "; " + num(100.0 * share) +
                         "% of its values sit at the type's limits (clipped: the scale may be too "
                         "small)";
    }
    finding.message += "; no mistaken layout, negated zero point or scale factor explains it";
    result.findings.push_back(finding);
  }
  return result;
}

}  // namespace qimplant::eval
