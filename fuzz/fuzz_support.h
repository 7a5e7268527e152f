// Shared by the libFuzzer targets: the input as a file (the readers take paths), and the rule
// every target enforces: qimplant::Error is the expected outcome of bad input; any other
// exception escapes and libFuzzer reports it, as it reports crashes and sanitizer findings.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace qimplant::fuzz {

// A per-process scratch directory under $TMPDIR (or /tmp), made once.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string d =
        std::string(t && *t ? t : "/tmp") + "/qimplant-fuzz-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace qimplant::fuzz
