#include "qparam/min_max.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace qimplant {

namespace {

struct Grid {
  int64_t qmin, qmax;
  bool symmetric;
};

Grid grid_for(QType qtype, bool is_constant) {
  const QTypeInfo& qi = qtype_info(qtype);
  const bool is_signed = qi.npy_kind == 'i';
  if (qtype == QType::Int16 || (is_constant && is_signed)) {
    return {-qi.max, qi.max, true};  // narrow: -127..127, -32767..32767, -7..7
  }
  return {qi.min, qi.max, false};
}

// GetAsymmetricQuantizationParams: float arithmetic, std::round (half away from zero).
void tflite_asymmetric(float mn, float mx, const Grid& g, float* scale, int64_t* zp) {
  const float qmin = static_cast<float>(g.qmin), qmax = static_cast<float>(g.qmax);
  mn = std::min(mn, 0.0f);
  mx = std::max(mx, 0.0f);
  *scale = (mx - mn) / (qmax - qmin);
  float from_min = qmin;
  if (*scale != 0) from_min = qmin - mn / *scale;
  if (from_min < qmin) {
    *zp = g.qmin;
  } else if (from_min > qmax) {
    *zp = g.qmax;
  } else {
    *zp = static_cast<int64_t>(std::round(from_min));
  }
}

// compute_asym_scale_zp on the type's grid: double arithmetic, ranges of one sign pinned to
// the grid's end, scale at least 1e-5.
void one_asymmetric(float mn, float mx, const Grid& g, float* scale, int64_t* zp) {
  const double qmin = static_cast<double>(g.qmin), qmax = static_cast<double>(g.qmax);
  const double rmin = std::fmin(0, mn), rmax = std::fmax(0, mx);
  double s = (rmax - rmin) / (qmax - qmin);
  double z = 0;
  if (mn >= 0) {
    z = qmin;
    s = mx / (qmax - qmin);
  } else if (mx < 0) {
    z = qmax;
    s = -mn / (qmax - qmin);
  } else {
    z = std::round(qmin - rmin / s);
  }
  if (s < 1e-5) {
    s = 1e-5;
    z = std::round(qmin - rmin / s);
  }
  *scale = static_cast<float>(s);
  *zp = static_cast<int64_t>(std::clamp(z, qmin, qmax));
}

}  // namespace

RangeParams params_from_range(const std::vector<float>& min, const std::vector<float>& max,
                              QType qtype, bool is_constant, Target target,
                              const std::string& where) {
  const QTypeInfo& qi = qtype_info(qtype);
  if (qtype == QType::Int32 || qtype == QType::Int64) {
    throw Error(where + ": \"min\": a range gives no " + qi.name +
                " parameters (expected uint8, int8, int16, int4 or uint4; int32 / int64 biases "
                "take scale and zerop, or are derived when left out)");
  }
  const Grid g = grid_for(qtype, is_constant);
  RangeParams out;
  out.rule = std::string(target_name(target)) + " " + (g.symmetric ? "symmetric " : "asymmetric ") +
             qi.name + " [" + std::to_string(g.qmin) + ", " + std::to_string(g.qmax) + "]" +
             (is_constant ? " (constant)" : "");
  for (size_t i = 0; i < min.size(); ++i) {
    float scale = 0;
    int64_t zp = 0;
    if (g.symmetric) {
      const float half = std::max(std::fabs(min[i]), std::fabs(max[i]));
      if (target == Target::TFLite) {
        scale = half / static_cast<float>(g.qmax);
      } else {
        scale = static_cast<float>(std::max(static_cast<double>(half) / g.qmax, 1e-8));
      }
    } else if (target == Target::TFLite) {
      tflite_asymmetric(min[i], max[i], g, &scale, &zp);
    } else {
      one_asymmetric(min[i], max[i], g, &scale, &zp);
    }
    if (!(scale > 0) || !std::isfinite(scale)) {
      throw Error(where + ": \"min\" / \"max\": channel " + std::to_string(i) + " has range [" +
                  std::to_string(min[i]) + ", " + std::to_string(max[i]) + "], which gives " +
                  target_name(target) + " a scale of " + std::to_string(scale) +
                  " (expected a range holding a nonzero value)");
    }
    out.scale.push_back(scale);
    out.zero_point.push_back(zp);
  }
  return out;
}

QParamEntry resolve_range(const QParamEntry& e, bool is_constant, Target target,
                          const std::string& where) {
  QParamEntry out = e;
  RangeParams p = params_from_range(e.range_min, e.range_max, e.dtype, is_constant, target, where);
  out.scale = std::move(p.scale);
  out.zero_point = std::move(p.zero_point);
  out.range_rule = std::move(p.rule);
  out.range_min.clear();
  out.range_max.clear();
  return out;
}

}  // namespace qimplant
