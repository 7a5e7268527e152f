#include "io/atomic_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "io/signals.h"
#include "util/error.h"

namespace qimplant {
namespace {

// The umask without changing it: umask(2) can only be read by setting it, which would race with
// other threads creating files, so the kernel's report in /proc is preferred (Linux >= 4.7).
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, 6, "Umask:") == 0) {
      return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8)) & 0777;
    }
  }
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

}  // namespace

namespace {

// Nothing can be left behind by an unnamed file: it has no name until commit() links it.
// QIMPLANT_TEST_NO_TMPFILE makes tests take the named fallback on file systems that have it.
int open_unnamed(const std::string& dir) {
#ifdef O_TMPFILE
  if (std::getenv("QIMPLANT_TEST_NO_TMPFILE")) return -1;
  int fd;
  do {
    fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  return fd;
#else
  (void)dir;
  return -1;
#endif
}

}  // namespace

AtomicFile::AtomicFile(const std::string& final_path) : final_path_(final_path) {
  const size_t slash = final_path.rfind('/');
  const std::string base = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    throw Error("output file '" + final_path + "': not a file name");
  }
  if (slash == std::string::npos) {
    dir_ = ".";
  } else {
    dir_ = slash == 0 ? "/" : final_path.substr(0, slash);
  }
  temp_path_ = (slash == std::string::npos ? std::string() : final_path.substr(0, slash + 1)) +
               "." + base + ".tmp-XXXXXX";

  fd_ = open_unnamed(dir_);
  if (fd_ >= 0) {
    unnamed_ = true;
    signals::install();  // so that an interruption exits with 128 + the signal, as the fallback
    signals::test_pause("create");
    return;
  }
  std::vector<char> name(temp_path_.begin(), temp_path_.end());
  name.push_back('\0');
  // Blocked while the name is created and registered, so no interruption falls in between.
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  const int err = errno;
  if (fd_ >= 0) {
    temp_path_.assign(name.data());
    token_ = signals::register_path(temp_path_);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (fd_ < 0) {
    throw Error("output file '" + final_path_ + "': cannot create a temporary file in '" + dir_ +
                "': " + std::strerror(err));
  }
  signals::test_pause("create");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !unnamed_) ::unlink(temp_path_.c_str());
  signals::unregister_path(token_);
}

void AtomicFile::fail(const std::string& action, int err) const {
  throw Error("output file '" + final_path_ + "': " + action + ": " + std::strerror(err));
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw std::logic_error("AtomicFile::write after commit");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EFAULT) {
        // The source is an input mapping someone truncated: name that file, not the output.
        const std::string input = signals::mapping_message(p);
        if (!input.empty()) throw Error(input);
      }
      fail("cannot write", errno);
    }
    // write(2) returns 0 only for size 0 on regular files; guard so a broken file system cannot
    // make this loop forever.
    if (n == 0) fail("cannot write", EIO);
    p += n;
    size -= static_cast<size_t>(n);
    signals::test_pause("write");
  }
}

size_t AtomicFile::copy_from(int in_fd, uint64_t in_offset, size_t size) {
  if (fd_ < 0) throw std::logic_error("AtomicFile::copy_from after commit");
  size_t done = 0;
  while (done < size) {
    loff_t from = static_cast<loff_t>(in_offset + done);
    // At most 1 GiB per call: some kernels cap a single copy below SSIZE_MAX anyway.
    const size_t chunk = std::min<size_t>(size - done, size_t{1} << 30);
    const ssize_t n = ::copy_file_range(in_fd, &from, fd_, nullptr, chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Out of space or an I/O error on the output would fail a plain write just the same.
      if (errno == ENOSPC || errno == EDQUOT || errno == EIO || errno == EFBIG) {
        fail("cannot write", errno);
      }
      break;  // this pair of files cannot be copied by the kernel: the caller writes the rest
    }
    if (n == 0) break;  // the input ended early
    done += static_cast<size_t>(n);
    signals::test_pause("write");
  }
  return done;
}

void AtomicFile::commit() {
  if (fd_ < 0) throw std::logic_error("AtomicFile::commit called twice");
  // Many file systems report a full disk or an I/O error only here, or only at close.
  if (::fsync(fd_) != 0) fail("cannot write (fsync)", errno);
  if (::fchmod(fd_, 0666 & ~current_umask()) != 0) fail("cannot set file mode", errno);
  signals::test_pause("commit");
  if (unnamed_) {
    // linkat cannot replace an existing file, so the data gets a temporary name first (registered
    // before it exists, so an interruption removes it) and is renamed over the final path.
    std::vector<char> name(temp_path_.begin(), temp_path_.end());
    name.push_back('\0');
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    sigset_t block, old;
    sigemptyset(&block);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
    int err = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
      // A fresh name each time (mkstemp creates the file, which linkat needs absent).
      std::copy(temp_path_.begin(), temp_path_.end(), name.begin());
      pthread_sigmask(SIG_BLOCK, &block, &old);
      const int probe = ::mkostemp(name.data(), O_CLOEXEC);
      if (probe < 0) {
        err = errno;
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        break;
      }
      ::close(probe);
      ::unlink(name.data());
      token_ = signals::register_path(name.data());
      const int rc = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.data(), AT_SYMLINK_FOLLOW);
      err = rc == 0 ? 0 : errno;
      if (rc != 0) {
        signals::unregister_path(token_);
        token_ = -1;
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (err != EEXIST) break;
    }
    if (err != 0) fail("cannot link the written data into '" + dir_ + "'", err);
    temp_path_.assign(name.data());
    unnamed_ = false;  // from here the destructor removes the name if the rename fails
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot write (close)", errno);
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    fail("cannot rename '" + temp_path_ + "' to it", errno);
  }
  committed_ = true;
  signals::unregister_path(token_);
  token_ = -1;

  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace qimplant
