#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace qimplant::eval {

void ErrorAccumulator::add(double ref, double got, double lsb) {
  const double err = std::fabs(ref - got);
  ++count_;
  max_abs_ = std::max(max_abs_, err);
  sum_abs_ += err;
  ref_energy_ += ref * ref;
  err_energy_ += err * err;
  if (lsb > 0) {
    ++lsb_count_;
    max_lsb_ = std::max(max_lsb_, err / lsb);
    sum_lsb_ += err / lsb;
  }
}

ErrorStats ErrorAccumulator::stats() const {
  ErrorStats s;
  s.count = count_;
  s.max_abs = max_abs_;
  s.mean_abs = count_ ? sum_abs_ / static_cast<double>(count_) : 0;
  s.ref_energy = ref_energy_;
  s.err_energy = err_energy_;
  s.snr_db = snr_db(ref_energy_, err_energy_);
  s.has_lsb = lsb_count_ > 0;
  s.max_lsb = max_lsb_;
  s.mean_lsb = lsb_count_ ? sum_lsb_ / static_cast<double>(lsb_count_) : 0;
  return s;
}

double snr_db(double signal_energy, double noise_energy) {
  if (noise_energy == 0) return std::numeric_limits<double>::infinity();
  if (signal_energy == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal_energy / noise_energy);
}

std::string format_snr(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", db);
  return text;
}

}  // namespace qimplant::eval
