#include "check/quant_params.h"

#include <cmath>
#include <sstream>

namespace qimplant {
namespace {

// Integer range of the quantized element types; false for types that carry no affine
// parameters a runtime would use (float, bool, string, ...).
bool integer_range(int8_t type, int64_t& lo, int64_t& hi) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::UInt8:
      lo = 0, hi = 255;
      return true;
    case TensorType::Int8:
      lo = -128, hi = 127;
      return true;
    case TensorType::Int16:
      lo = -32768, hi = 32767;
      return true;
    case TensorType::UInt16:
      lo = 0, hi = 65535;
      return true;
    case TensorType::Int32:
      lo = INT32_MIN, hi = INT32_MAX;
      return true;
    case TensorType::Int64:
      lo = INT64_MIN, hi = INT64_MAX;
      return true;
    case TensorType::Int4:
      lo = -8, hi = 7;
      return true;
    case TensorType::UInt4:
      lo = 0, hi = 15;
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::string> quant_params_problems(int8_t type, const std::vector<int32_t>& shape,
                                               const QuantParams& q) {
  std::vector<std::string> out;
  int64_t lo = 0, hi = 0;
  if (q.empty() || !integer_range(type, lo, hi)) return out;
  std::ostringstream os;
  os.precision(9);
  if (q.scale.empty()) {
    out.push_back("has " + std::to_string(q.zero_point.size()) +
                  " zero point(s) but no scale; a quantized tensor needs a scale");
    return out;
  }
  if (q.zero_point.size() != q.scale.size()) {
    out.push_back("has " + std::to_string(q.scale.size()) + " scale(s) but " +
                  std::to_string(q.zero_point.size()) +
                  " zero point(s); each scale needs its zero point");
  }
  for (size_t i = 0; i < q.scale.size(); ++i) {
    const float s = q.scale[i];
    if (std::isfinite(s) && s > 0) continue;
    os.str("");
    os << "scale" << (q.scale.size() > 1 ? " " + std::to_string(i) : std::string()) << " is " << s
       << "; expected a finite scale > 0";
    out.push_back(os.str());
    break;  // one is enough to say the vector is unusable
  }
  for (size_t i = 0; i < q.zero_point.size(); ++i) {
    const int64_t z = q.zero_point[i];
    if (z >= lo && z <= hi) continue;
    out.push_back("zero point" +
                  (q.zero_point.size() > 1 ? " " + std::to_string(i) : std::string()) + " is " +
                  std::to_string(z) + "; expected a value of " +
                  tensor_type_name(Format::Circle, type) + " [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    break;
  }
  if (q.scale.size() > 1) {
    const int32_t d = q.quantized_dimension;
    if (d < 0 || size_t(d) >= shape.size()) {
      out.push_back("has " + std::to_string(q.scale.size()) +
                    " per-channel scales along quantized_dimension " + std::to_string(d) +
                    ", which the tensor's rank " + std::to_string(shape.size()) + " does not have");
    } else if (int64_t(shape[size_t(d)]) != int64_t(q.scale.size())) {
      out.push_back("has " + std::to_string(q.scale.size()) +
                    " per-channel scales along dimension " + std::to_string(d) + ", which has " +
                    std::to_string(shape[size_t(d)]) +
                    " channel(s); expected one scale per channel");
    }
  }
  return out;
}

}  // namespace qimplant
