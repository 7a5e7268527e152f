// Reading and writing NumPy .npy files.
//
// load() accepts format versions 1.0, 2.0 and 3.0 holding a C-ordered little-endian array of
// bool, signed or unsigned integers of 1 to 8 bytes, or float16/32/64, and rejects everything
// else with a message saying what was found and how to fix it. The data is not copied: Array
// points into a read-only mapping of the file that it keeps alive. The header must describe the
// data exactly (no missing or trailing bytes). Every error is a qimplant::Error whose message
// starts with "npy file '<path>': ".
//
// save() writes version 1.0 (2.0 only if the header would not fit), padded so that the data
// starts at a multiple of 64 bytes as numpy does, atomically (see AtomicFile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"

namespace qimplant {
namespace npy {

struct Array {
  std::string path;
  std::string descr;  // as written in the header, e.g. "<f4" or "|u1"
  char kind = 0;      // 'b' bool, 'i' signed integer, 'u' unsigned integer, 'f' floating point
  int item_size = 0;  // bytes per element
  // Both are always false for arrays returned by load(), which rejects big-endian data and
  // Fortran order; they are kept so that code handling an Array never has to assume it.
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;  // empty for a 0-d array
  // The elements, C order, native (little-endian) byte order. Not necessarily aligned for the
  // element type: read with memcpy. Never null after load(), even when nbytes is 0.
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const MappedFile> storage;  // keeps `data` valid

  // Number of elements: the product of shape, 1 for a 0-d array.
  size_t count() const;
};

Array load(const std::string& path);
// The same for bytes already open (an npz member); `path` names them in messages.
Array load(std::shared_ptr<const MappedFile> file, const std::string& path);

// Element values converted for use as quantization parameters. Both throw qimplant::Error
// naming the file when the dtype is not acceptable or a value cannot be represented.
//
// Accepts float16 (exact), float32 and float64. A finite float64 that overflows float32, or a
// nonzero one that would become 0, is an error naming the element; inf and nan pass through.
std::vector<float> to_float32(const Array& array);
// Accepts every signed and unsigned integer type (not bool); a uint64 above INT64_MAX is an error.
std::vector<int64_t> to_int64(const Array& array);

// numpy's name of the element type: "float32", "int64", "uint8", "bool", ...
std::string dtype_name(const Array& array);
// For messages: "float32 array of shape (2, 3)", "0-d int64 array".
std::string describe(const Array& array);
// Python tuple notation as numpy prints shapes: "()", "(3,)", "(1, 2, 3)".
std::string format_shape(const std::vector<int64_t>& shape);

// Writes `nbytes` bytes of `data` as an array of `descr` (one of the descrs load() accepts) and
// `shape`; nbytes must be exactly product(shape) times the item size.
void save(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
          const void* data, size_t nbytes);
// values.size() must equal product(shape). descrs: '<f4', '<i8', '<i4', '<i2', '|i1', '|u1'.
void save(const std::string& path, const std::vector<float>& values,
          const std::vector<int64_t>& shape);
void save(const std::string& path, const std::vector<int64_t>& values,
          const std::vector<int64_t>& shape);
void save(const std::string& path, const std::vector<int32_t>& values,
          const std::vector<int64_t>& shape);
void save(const std::string& path, const std::vector<int16_t>& values,
          const std::vector<int64_t>& shape);
void save(const std::string& path, const std::vector<int8_t>& values,
          const std::vector<int64_t>& shape);
void save(const std::string& path, const std::vector<uint8_t>& values,
          const std::vector<int64_t>& shape);

}  // namespace npy
}  // namespace qimplant
