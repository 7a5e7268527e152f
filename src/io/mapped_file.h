// Read-only, zero-copy access to a whole input file.
//
// MappedFile maps a regular file privately and read-only, so the bytes can be handed out as
// pointers without copying, and stay valid for as long as any shared_ptr to the MappedFile lives.
// Every failure to open or map is reported as qimplant::Error naming the file and its role.
// If someone else truncates the file while it is mapped, a read past the new end raises SIGBUS:
// the handler of io/signals.h then reports "<what> '<path>': the file changed while being read"
// and exits 1, removing any output in progress (data handed to write(2) straight from the
// mapping fails with EFAULT instead; the writer reports the same message as an Error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qimplant {

class MappedFile {
 public:
  // Maps the whole of `path`. `what` names the file's role in messages: "model" gives
  // "model file 'x.circle': cannot open: No such file or directory". A `what` that already ends in
  // "file" is used as is ("npy file" gives "npy file '...'").
  // Only regular files are accepted (no directories, FIFOs or devices).
  // With `keep_descriptor` the file stays open for fd() (for copy_file_range); otherwise it is
  // closed once mapped, so that thousands of mapped npy files do not use up descriptors.
  static std::shared_ptr<const MappedFile> open(const std::string& path, const std::string& what,
                                                bool keep_descriptor = false);

  // Bytes already in memory (an npz member, an inline array), handed out like a mapping so
  // that npy::Array and the writer treat them as any other file; `path` is for messages.
  static std::shared_ptr<const MappedFile> from_bytes(const std::string& path,
                                                      std::vector<uint8_t> bytes);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // For an empty file nothing is mapped (mmap rejects length 0): data() then points to a static
  // zero byte, so it is never null and may be passed to memcpy/memcmp with size() == 0.
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // The open descriptor when opened with keep_descriptor (and the file is not empty), else -1.
  int fd() const { return fd_; }

  // Tells the kernel that [offset, offset + length) will not be read again soon, so that a large
  // input read once does not keep its pages in our RSS. Every page the range touches is dropped,
  // also one it shares with bytes outside it (thousands of small tensors each sharing pages with
  // their neighbours would otherwise all stay resident). The contents stay readable: the mapping
  // is private, read-only and file-backed, so a later access simply faults the page back in from
  // the page cache. Purely advisory: out-of-range parts are ignored, and so are madvise failures.
  void release(size_t offset, size_t length) const;

  // Tells the kernel that [offset, offset + length) is about to be read: the pages are mapped in
  // one call (MADV_POPULATE_READ, Linux 5.14; older kernels get MADV_WILLNEED, a read-ahead)
  // instead of one page fault per few pages. Advisory like release(): failures are ignored.
  void prefetch(size_t offset, size_t length) const;
  // Starts reading [offset, offset + length) from disk in the background (MADV_WILLNEED) without
  // mapping it, so that a later prefetch() finds it in the page cache.
  void read_ahead(size_t offset, size_t length) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, bool mapped, int fd);

  std::string path_;
  const uint8_t* data_;
  size_t size_;
  bool mapped_;
  int fd_;
  std::vector<uint8_t> owned_;  // from_bytes: the bytes data_ points into
  int token_ = -1;              // io/signals.h registration of the mapping
};

}  // namespace qimplant
