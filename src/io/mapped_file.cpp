#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "io/signals.h"
#include "util/error.h"

namespace qimplant {
namespace {

const uint8_t kEmpty[1] = {0};

// Live mappings of this process, and how many it keeps before reading small files instead (well
// below the kernel's default vm.max_map_count of 65,530, which also counts the heap's areas).
std::atomic<size_t> live_mappings{0};
constexpr size_t kMaxMappings = 16384;
constexpr size_t kReadBelow = size_t{1} << 20;

std::string prefix(const std::string& path, const std::string& what) {
  const std::string suffix = "file";
  const bool has_file = what.size() >= suffix.size() &&
                        what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0;
  return (has_file ? what : what + " file") + " '" + path + "': ";
}

// Closes the descriptor on every exit path unless kept; the mapping keeps its own reference to
// the file.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int keep() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14 (uapi asm-generic/mman-common.h)
#endif

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path, const std::string& what,
                                                   bool keep_descriptor) {
  const std::string where = prefix(path, what);
  int fd;
  do {
    // O_NONBLOCK so that a FIFO given by mistake is rejected below instead of hanging the open
    // waiting for a writer; it has no effect on regular files.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw Error(where + "cannot open: " + std::strerror(errno));
  FdCloser closer(fd);

  struct stat st;
  if (::fstat(fd, &st) != 0) throw Error(where + "cannot stat: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(where + "is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw Error(where + "is not a regular file");

  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    return std::shared_ptr<const MappedFile>(new MappedFile(path, kEmpty, 0, false, -1));
  }
  // Every mapping is one kernel memory area, and a process may have about 65,000
  // (vm.max_map_count); a qparam.json of 100,000 tensors names more `value` files than that.
  // Past kMaxMappings live mappings, small files are read into memory instead.
  if (!keep_descriptor && size <= kReadBelow && live_mappings.load() >= kMaxMappings) {
    std::vector<uint8_t> bytes(size);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(where + "cannot read: " + std::strerror(errno));
      if (n == 0) throw Error(where + "the file changed while being read (it became shorter)");
      done += static_cast<size_t>(n);
    }
    return from_bytes(path, std::move(bytes));
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    throw Error(where + "cannot map " + std::to_string(size) +
                " bytes into memory: " + std::strerror(errno));
  }
  const int kept = keep_descriptor ? closer.keep() : -1;
  auto* file = new MappedFile(path, static_cast<const uint8_t*>(p), size, true, kept);
  // A read past a truncated file's new end raises SIGBUS; the handler prints this and exits.
  file->token_ = signals::register_mapping(
      p, size,
      "q-implant: error: " + where +
          "the file changed while being read (it was truncated or rewritten by another process "
          "while mapped); nothing was written\n");
  return std::shared_ptr<const MappedFile>(file);
}

MappedFile::MappedFile(std::string path, const uint8_t* data, size_t size, bool mapped, int fd)
    : path_(std::move(path)), data_(data), size_(size), mapped_(mapped), fd_(fd) {
  if (mapped_) ++live_mappings;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(const std::string& path,
                                                         std::vector<uint8_t> bytes) {
  static const uint8_t kEmpty = 0;
  std::shared_ptr<MappedFile> file(new MappedFile(path, &kEmpty, 0, false, -1));
  file->owned_ = std::move(bytes);
  if (!file->owned_.empty()) {
    file->data_ = file->owned_.data();
    file->size_ = file->owned_.size();
  }
  return file;
}

MappedFile::~MappedFile() {
  signals::unregister_mapping(token_);
  if (mapped_) {
    ::munmap(const_cast<uint8_t*>(data_), size_);
    --live_mappings;
  }
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::release(size_t offset, size_t length) const {
  if (!mapped_ || offset >= size_) return;
  const size_t end = length > size_ - offset ? size_ : offset + length;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Rounded outwards: dropping a page whose other bytes are still needed costs one refault from
  // the page cache, never the bytes themselves (read-only, private, file-backed).
  const size_t first = offset / page * page;
  const size_t last = (end + page - 1) / page * page;
  if (first >= last) return;
  ::madvise(const_cast<uint8_t*>(data_) + first, last - first, MADV_DONTNEED);
}

namespace {
// The pages covering [offset, offset + length) of a mapping of `size` bytes, rounded outwards:
// reading a little more than asked is harmless.
bool covering_pages(size_t offset, size_t length, size_t size, size_t* first, size_t* count) {
  if (offset >= size || length == 0) return false;
  const size_t end = length > size - offset ? size : offset + length;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  *first = offset / page * page;
  *count = (end + page - 1) / page * page - *first;
  return true;
}
}  // namespace

void MappedFile::prefetch(size_t offset, size_t length) const {
  size_t first, count;
  if (!mapped_ || !covering_pages(offset, length, size_, &first, &count)) return;
  uint8_t* at = const_cast<uint8_t*>(data_) + first;
  if (::madvise(at, count, MADV_POPULATE_READ) != 0) ::madvise(at, count, MADV_WILLNEED);
}

void MappedFile::read_ahead(size_t offset, size_t length) const {
  size_t first, count;
  if (!mapped_ || !covering_pages(offset, length, size_, &first, &count)) return;
  ::madvise(const_cast<uint8_t*>(data_) + first, count, MADV_WILLNEED);
}

}  // namespace qimplant
