// Read-only, zero-copy access to a whole input file.
//
// MappedFile maps a regular file privately and read-only, so the bytes can be handed out as
// pointers without copying, and stay valid for as long as any shared_ptr to the MappedFile lives.
// Every failure to open or map is reported as qimplant::Error naming the file and its role.
// The file must not be truncated by someone else while it is mapped (that would raise SIGBUS on
// access; nothing in user space can prevent it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace qimplant {

class MappedFile {
 public:
  // Maps the whole of `path`. `what` names the file's role in messages: "model" gives
  // "model file 'x.circle': cannot open: No such file or directory". A `what` that already ends in
  // "file" is used as is ("npy file" gives "npy file '...'").
  // Only regular files are accepted (no directories, FIFOs or devices).
  static std::shared_ptr<const MappedFile> open(const std::string& path, const std::string& what);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // For an empty file nothing is mapped (mmap rejects length 0): data() then points to a static
  // zero byte, so it is never null and may be passed to memcpy/memcmp with size() == 0.
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Tells the kernel that [offset, offset + length) will not be read again soon, so that a large
  // input read once does not keep its pages in our RSS. Only whole pages inside the range are
  // dropped (plus the partial last page when the range reaches the end of the file), so bytes
  // outside it are never affected. The contents stay readable: the mapping is private, read-only
  // and file-backed, so a later access simply faults the page back in from the file. Purely
  // advisory: out-of-range parts are ignored, and so are madvise failures.
  void release(size_t offset, size_t length) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, bool mapped);

  std::string path_;
  const uint8_t* data_;
  size_t size_;
  bool mapped_;
};

}  // namespace qimplant
