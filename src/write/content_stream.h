// Producing a buffer's new bytes slice by slice, for the writer.
//
// ContentStreamer hands the output bytes of a BufferContent to a sink in order, in slices of a few
// MiB, so that a buffer of any size is never whole in memory: `value` npy bytes go straight from
// their mapping, 4-bit values are packed into scratch, float data is quantized into scratch on up
// to `threads` threads while the previous slice goes to the sink on another (the sink is called
// for one slice at a time, in order, but not always from the calling thread). Each thread takes a
// disjoint range of elements of the slice, so the bytes never depend on the number of threads. Each
// slice's input pages are mapped in one call before use and dropped after, so the input is read
// once and does not stay in RSS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "io/mapped_file.h"
#include "plan/edit_plan.h"

namespace qimplant {

class ContentStreamer {
 public:
  using Sink = std::function<void(const uint8_t* data, size_t size)>;

  // `threads` = 0: the hardware's count (at most 4). 1 quantizes on the calling thread only.
  // `slice_elements` (tests make it small): elements per slice, rounded up to an even count.
  explicit ContentStreamer(unsigned threads = 0, size_t slice_elements = kSliceElements);

  // Calls `sink` with consecutive pieces whose sizes add up to content.size(). `model` is the
  // mapping that quantize recipes read from (their float data is in the input model). Throws
  // Error (starting with the recipe's context) at the first NaN of float data.
  void stream(const BufferContent& content, const MappedFile& model, const Sink& sink);

  unsigned threads() const { return threads_; }

  static constexpr size_t kSliceElements = size_t{2} << 20;  // 8 MiB of float32 per slice
  // Float data up to this size is read with pread, not through the mapping.
  static constexpr size_t kSmallBytes = size_t{256} << 10;

 private:
  // Quantizes elements [begin, end) of the recipe into `out` (packed for 4-bit types),
  // splitting the range between the threads; returns the first NaN's index or -1.
  int64_t quantize_slice(const QuantizeRecipe& r, const uint8_t* source, const RowLayout& layout,
                         const MappedFile& model, size_t begin, size_t end,
                         std::vector<uint8_t>& out);

  unsigned threads_;
  size_t slice_;
  // Output bytes of a slice: two, so that one slice is written while the next is quantized.
  std::vector<uint8_t> scratch_[2];
  std::vector<uint8_t> unpacked_;  // 4-bit values one per byte, before packing
  std::vector<uint8_t> small_;     // a small tensor's float data, read with pread
};

}  // namespace qimplant
