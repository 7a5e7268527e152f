#include "write/content_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <system_error>
#include <thread>

#include "quant/pack4.h"
#include "quant/qtype.h"
#include "util/error.h"

namespace qimplant {

namespace {

// Below this many elements per thread, starting a thread costs more than it saves.
constexpr size_t kMinElementsPerThread = size_t{1} << 18;

// Where `p` lies in `file`'s mapping, for page advice; false when it is not in it.
bool offset_in(const MappedFile& file, const uint8_t* p, size_t* offset) {
  const auto base = reinterpret_cast<uintptr_t>(file.data());
  const auto at = reinterpret_cast<uintptr_t>(p);
  if (at < base || at - base >= file.size()) return false;
  *offset = static_cast<size_t>(at - base);
  return true;
}

// Reads `size` bytes at `offset` of `fd` into `out`; false (and the caller uses the mapping) on
// any failure or short read, so an odd file never changes the bytes, only the way they are read.
bool read_exactly(int fd, size_t offset, size_t size, std::vector<uint8_t>& out) {
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ContentStreamer::ContentStreamer(unsigned threads, size_t slice_elements)
    : threads_(threads), slice_(std::max<size_t>(2, slice_elements + slice_elements % 2)) {
  if (threads_ == 0) threads_ = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
}

int64_t ContentStreamer::quantize_slice(const QuantizeRecipe& r, const uint8_t* source,
                                        const RowLayout& layout, const MappedFile& model,
                                        size_t begin, size_t end, std::vector<uint8_t>& scratch) {
  const bool packed = is_4bit(r.qtype);
  const size_t unit = static_cast<size_t>(qtype_info(r.qtype).unpacked_size);
  const size_t n = end - begin;
  scratch.resize(packed ? (n + 1) / 2 : n * unit);
  if (packed) unpacked_.resize(n);
  size_t source_offset = 0;
  const bool in_model = offset_in(model, source, &source_offset);

  // One part per thread; every boundary is even, so each part of a 4-bit slice packs whole bytes.
  const size_t parts = std::max<size_t>(1, std::min<size_t>(threads_, n / kMinElementsPerThread));
  std::vector<int64_t> nan_at(parts, -1);
  auto run = [&](size_t part) {
    const size_t b = begin + ((n * part / parts) & ~size_t{1});
    const size_t e = part + 1 == parts ? end : begin + ((n * (part + 1) / parts) & ~size_t{1});
    if (in_model) model.prefetch(source_offset + b * 4, (e - b) * 4);
    uint8_t* out = packed ? unpacked_.data() + (b - begin) : scratch.data() + (b - begin) * unit;
    nan_at[part] = quantize_elements(source, layout, b, e, r.quant, r.qtype, r.rounding, out);
    if (packed && nan_at[part] < 0) pack_4bit(out, e - b, scratch.data() + (b - begin) / 2);
  };
  std::vector<std::thread> workers;
  for (size_t part = 1; part < parts; ++part) {
    try {
      workers.emplace_back(run, part);
    } catch (const std::system_error&) {
      run(part);  // no thread to be had: do that part here
    }
  }
  run(0);
  for (std::thread& t : workers) t.join();
  for (int64_t at : nan_at)
    if (at >= 0) return at;
  return -1;
}

void ContentStreamer::stream(const BufferContent& content, const MappedFile& model,
                             const Sink& sink) {
  if (content.view) {
    const npy::Array& v = *content.view;
    const MappedFile& file = *v.storage;
    size_t base = 0;
    const bool mapped = offset_in(file, v.data, &base);
    const size_t step = slice_ * 4;  // even, so every slice but the last packs whole bytes
    for (size_t at = 0; at < v.nbytes; at += step) {
      const size_t n = std::min(step, v.nbytes - at);
      if (mapped) file.prefetch(base + at, n);
      if (content.view_is_4bit) {
        scratch_[0].resize((n + 1) / 2);
        pack_4bit(v.data + at, n, scratch_[0].data());
        sink(scratch_[0].data(), scratch_[0].size());
      } else {
        sink(v.data + at, n);
      }
      if (mapped) file.release(base + at, n);
    }
    return;
  }
  if (content.recipe) {
    const QuantizeRecipe& r = *content.recipe;
    const RowLayout layout = row_layout(r.shape, r.quant);
    const size_t count = layout.rows * layout.inner;
    size_t source_offset = 0;
    bool in_model = offset_in(model, r.source, &source_offset);
    const uint8_t* source = r.source;
    // A small tensor's floats are read with pread into a reused buffer rather than through the
    // mapping: its pages share large page-cache folios with its neighbours, and mapping them
    // (fault-around, whole folios) for a few KiB would map most of a many-tensor model.
    if (in_model && model.fd() >= 0 && count * 4 <= kSmallBytes &&
        read_exactly(model.fd(), source_offset, count * 4, small_)) {
      source = small_.data();
      in_model = false;
    }
    // While slice k is handed to the sink on a helper thread, slice k + 1 is quantized here. The
    // future's destructor waits for the helper, so it never outlives the scratch or the sink,
    // also when a NaN error unwinds.
    std::future<void> writing;
    int cur = 0;
    for (size_t begin = 0; begin < count; begin += slice_) {
      const size_t end = std::min(count, begin + slice_);
      // The next slice is read from disk while this one is converted (a no-op when cached).
      if (in_model && end < count)
        model.read_ahead(source_offset + end * 4, std::min(slice_, count - end) * 4);
      const int64_t nan_at = quantize_slice(r, source, layout, model, begin, end, scratch_[cur]);
      if (nan_at >= 0) {
        throw Error(r.context + ": the tensor's float data has NaN at element " +
                    std::to_string(nan_at) +
                    "; it cannot be quantized (give \"value\" or fix the model); nothing was "
                    "written");
      }
      if (in_model) model.release(source_offset + begin * 4, (end - begin) * 4);
      if (writing.valid()) writing.get();  // the previous slice is out (or its error is thrown)
      const std::vector<uint8_t>& out = scratch_[cur];
      if (threads_ > 1 && end < count) {
        try {
          writing = std::async(std::launch::async, [&sink, &out] { sink(out.data(), out.size()); });
        } catch (const std::system_error&) {
          sink(out.data(), out.size());  // no thread to be had
        }
      } else {
        sink(out.data(), out.size());  // the last slice (or one thread): nothing to overlap
      }
      cur ^= 1;
    }
    if (writing.valid()) writing.get();
    return;
  }
  if (!content.owned.empty()) sink(content.owned.data(), content.owned.size());
}

}  // namespace qimplant
