#include "quant/qtype.h"

#include <algorithm>
#include <cctype>

namespace qimplant {

namespace {
constexpr QTypeInfo row(QType q, const char* name, TensorType t, char npy_kind) {
  const TensorTypeRow& r = tensor_type_row(t);
  return {q, name, t, r.min, r.max, r.bits, r.memory_bytes, npy_kind};
}

constexpr QTypeInfo kTypes[] = {
    row(QType::UInt8, "uint8", TensorType::UInt8, 'u'),
    row(QType::Int8, "int8", TensorType::Int8, 'i'),
    row(QType::Int16, "int16", TensorType::Int16, 'i'),
    row(QType::Int32, "int32", TensorType::Int32, 'i'),
    row(QType::Int64, "int64", TensorType::Int64, 'i'),
    row(QType::Int4, "int4", TensorType::Int4, 'i'),
    row(QType::UInt4, "uint4", TensorType::UInt4, 'u'),
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
