#include "quant/pack4.h"

namespace qimplant {

void pack_4bit(const uint8_t* values, size_t count, uint8_t* out) {
  const size_t pairs = count / 2;
  for (size_t k = 0; k < pairs; ++k) {
    const unsigned lo = values[2 * k] & 0x0Fu, hi = values[2 * k + 1] & 0x0Fu;
    out[k] = static_cast<uint8_t>(lo | (hi << 4));
  }
  if (count % 2) out[pairs] = static_cast<uint8_t>(values[count - 1] & 0x0Fu);
}

void unpack_uint4(const uint8_t* packed, size_t count, uint8_t* out) {
  for (size_t i = 0; i < count; ++i) {
    const unsigned byte = packed[i / 2];
    out[i] = static_cast<uint8_t>((i % 2 ? byte >> 4 : byte) & 0x0Fu);
  }
}

void unpack_int4(const uint8_t* packed, size_t count, int8_t* out) {
  for (size_t i = 0; i < count; ++i) {
    const int nibble = static_cast<int>((i % 2 ? packed[i / 2] >> 4 : packed[i / 2]) & 0x0Fu);
    out[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
  }
}

}  // namespace qimplant
