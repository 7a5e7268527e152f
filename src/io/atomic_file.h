// Writing an output file so that it either appears complete or not at all.
//
// AtomicFile writes into an unnamed file in the final path's directory (Linux O_TMPFILE) and only
// on commit(), after the data is on disk, gives it a name (linkat) and renames it over the final
// path, so that not even SIGKILL can leave a partial file behind. Where the file system has no
// O_TMPFILE it writes a named temporary file `.<basename>.tmp-XXXXXX` instead, which SIGINT,
// SIGTERM and SIGHUP remove before exiting (io/signals.h); only SIGKILL can leave that one. If
// commit() is never reached (an error, an exception unwinding through the writer) the temporary
// file is removed and whatever was at the final path before is left untouched. Failures are
// reported as qimplant::Error naming the output path. An existing final path that is a symlink is
// replaced by the new file; its target is not written through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qimplant {

class AtomicFile {
 public:
  // Creates the file in the directory of `final_path` (same directory, so that the final rename
  // never crosses file systems).
  explicit AtomicFile(const std::string& final_path);
  // Removes the temporary file unless commit() succeeded. Never throws.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The temporary file's descriptor, for callers that write it themselves. -1 after commit().
  int fd() const { return fd_; }
  const std::string& final_path() const { return final_path_; }
  // The named temporary file, or (O_TMPFILE) the pattern its name takes at commit().
  const std::string& temp_path() const { return temp_path_; }

  // Writes all `size` bytes (retrying partial writes and EINTR).
  void write(const void* data, size_t size);

  // Appends `size` bytes of the file open as `in_fd`, from `in_offset`, with copy_file_range(2):
  // the kernel copies (or shares) the data without it passing through user space. Returns how
  // many bytes were copied: fewer than `size` (possibly 0) when the kernel cannot copy between
  // these files (EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, ...) or the input ends early; the caller
  // writes the rest itself. Throws Error only for failures of the output (such as ENOSPC, EIO).
  size_t copy_from(int in_fd, uint64_t in_offset, size_t size);

  // fsync, give the file the mode a newly created file would get (0666 minus the umask, where
  // mkstemp would have left 0600), close, rename over the final path, then fsync the directory
  // (best effort) so the rename itself survives a crash. If any step up to the rename fails the
  // temporary file is removed by the destructor and the final path is untouched.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& action, int err) const;

  std::string final_path_;
  std::string dir_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  bool unnamed_ = false;  // O_TMPFILE: no name on disk until commit()
  int token_ = -1;        // the registered name (io/signals.h)
};

// True when both paths exist and name the same file (same device and inode), following symlinks,
// so that writing the output over an input is caught whether they are aliased by a symlink, a hard
// link or just a different spelling of the path.
bool same_file(const std::string& a, const std::string& b);

}  // namespace qimplant
