#include "quant/qtype.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace qimplant {

namespace {
const QTypeInfo kTypes[] = {
    {QType::UInt8, "uint8", TensorType::UInt8, 0, 255, 8, 1, 'u'},
    {QType::Int8, "int8", TensorType::Int8, -128, 127, 8, 1, 'i'},
    {QType::Int16, "int16", TensorType::Int16, -32768, 32767, 16, 2, 'i'},
    {QType::Int32, "int32", TensorType::Int32, std::numeric_limits<int32_t>::min(),
     std::numeric_limits<int32_t>::max(), 32, 4, 'i'},
    {QType::Int64, "int64", TensorType::Int64, std::numeric_limits<int64_t>::min(),
     std::numeric_limits<int64_t>::max(), 64, 8, 'i'},
    {QType::Int4, "int4", TensorType::Int4, -8, 7, 4, 1, 'i'},
    {QType::UInt4, "uint4", TensorType::UInt4, 0, 15, 4, 1, 'u'},
};
}  // namespace

const QTypeInfo& qtype_info(QType t) {
  for (const auto& info : kTypes)
    if (info.qtype == t) return info;
  return kTypes[0];
}

size_t storage_bytes(QType t, size_t count) {
  const int bits = qtype_info(t).bits;
  return bits == 4 ? count / 2 + count % 2 : count * static_cast<size_t>(bits / 8);
}

std::optional<QType> parse_qtype(const std::string& text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& info : kTypes)
    if (lower == info.name) return info.qtype;
  return std::nullopt;
}

std::string qtype_names() {
  std::string out;
  for (const auto& info : kTypes) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

}  // namespace qimplant
