// Packing 4-bit tensor data (int4, uint4) two elements per byte, in the order the runtimes read.
//
// The order, as the runtimes' sources define it (checked in their code, not copied):
// - TFLite, converter: tensorflow/compiler/mlir/lite/utils/low_bit_utils.{h,cc}
//   (PackInt4ValuesDensely) packs "low-bits-first": element 2k goes to the low nibble of byte k,
//   element 2k+1 to its high nibble; the buffer has (n + 1) / 2 bytes.
// - TFLite, kernels: tensorflow/lite/kernels/internal/portable_tensor_utils.cc
//   (UnpackDenseInt4IntoInt8) reads element 2k from the low nibble and 2k+1 from the high nibble,
//   sign-extending each; for an odd count the last byte's high nibble is ignored.
// - ONE, luci: compiler/luci/export/src/CircleTensorExporter.cpp (encodeOpBufferByDType for
//   loco::DataType::S4 and U4) writes the same order into (n + 1) / 2 bytes, leaving the last
//   high nibble 0 for an odd count; compiler/luci/import/src/Nodes/CircleConst.cpp (copy_data_4)
//   reads it back the same way (S4 sign-extended, U4 zero-extended) and expects (n + 1) / 2 bytes.
// So: low nibble = even element, high nibble = odd element, ceil(n / 2) bytes, a lone last element
// leaves the high nibble 0. Elements are counted in C (row-major) order of the tensor's shape.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qimplant {

// Packs `count` 4-bit values given one per byte (int8 or uint8; only the low 4 bits of each are
// used, so -8..7 and 0..15 both pack as their two's-complement nibble) into (count + 1) / 2 bytes.
void pack_4bit(const uint8_t* values, size_t count, uint8_t* out);

// Unpacks `count` elements from (count + 1) / 2 packed bytes, one per output byte: int4 values
// sign-extended to -8..7, uint4 values 0..15.
void unpack_int4(const uint8_t* packed, size_t count, int8_t* out);
void unpack_uint4(const uint8_t* packed, size_t count, uint8_t* out);

}  // namespace qimplant
