// Error statistics between a reference (the float model) and a candidate (the quantized model).
//
// Values are accumulated element by element, over every sample, so one ErrorStats describes a
// tensor across the whole evaluation:
//   max / mean absolute error   in real units;
//   SNR in dB                   10 * log10(sum ref^2 / sum (ref - got)^2): +inf when the
//                               candidate is exact, -inf when the reference is all zero but
//                               the candidate is not;
//   max / mean error in LSB     |ref - got| / scale, with the quantized tensor's scale of that
//                               element (per channel where the tensor is per-channel); absent
//                               when the candidate tensor carries no scale.
#pragma once

#include <cstdint>
#include <string>

namespace qimplant::eval {

struct ErrorStats {
  int64_t count = 0;
  double max_abs = 0;
  double mean_abs = 0;
  double snr_db = 0;
  bool has_lsb = false;
  double max_lsb = 0;
  double mean_lsb = 0;
  double ref_energy = 0;  // sum ref^2
  double err_energy = 0;  // sum (ref - got)^2
};

class ErrorAccumulator {
 public:
  // `lsb` is the quantization step of this element of the candidate; <= 0 means it has none
  // (then no LSB figure is reported for the whole tensor unless another element had one).
  void add(double ref, double got, double lsb = 0);
  ErrorStats stats() const;

 private:
  int64_t count_ = 0, lsb_count_ = 0;
  double max_abs_ = 0, sum_abs_ = 0, max_lsb_ = 0, sum_lsb_ = 0;
  double ref_energy_ = 0, err_energy_ = 0;
};

// 10 * log10(signal / noise) with the infinities described above (0 / 0 is +inf: exact).
double snr_db(double signal_energy, double noise_energy);

// "41.3", "inf", "-inf": how tables print an SNR.
std::string format_snr(double db);

}  // namespace qimplant::eval
