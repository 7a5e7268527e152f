// A one-line progress display for long writes: "q-implant: 3/33 buffers, 812 / 3072 MiB written".
//
// The line is rewritten in place with '\r', at most once per `interval`, and only once `delay`
// has passed since the start (short runs print nothing); finish() clears it, so the terminal is
// left as it was. The caller decides whether to show progress at all (stderr a terminal, not
// --quiet): a disabled Progress does nothing. Not thread-safe: one writer thread updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace qimplant {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  // Disabled: every call is a no-op.
  Progress() = default;
  Progress(std::FILE* out, Clock::duration delay, Clock::duration interval);
  ~Progress();  // finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // The command line's choice for stderr: shown when stderr is a terminal, after 1 s, at most 10
  // times a second; never under `quiet`. The environment variable QIMPLANT_PROGRESS overrides the
  // terminal test: "1" shows it from the start even when stderr is not a terminal (tests), "0"
  // never shows it.
  static std::unique_ptr<Progress> for_stderr(bool quiet);

  bool enabled() const { return out_ != nullptr; }
  // What the run will do in total; shown as the denominators.
  void set_total(size_t buffers, uint64_t bytes);
  // Reports the state so far; draws the line when the interval has passed since the last one.
  void update(size_t buffers_done, uint64_t bytes_done);
  // Clears the line if one was drawn. Later updates draw nothing.
  void finish();

  // The text of the line, for tests.
  static std::string line(size_t buffers_done, size_t buffers, uint64_t bytes_done, uint64_t bytes);

 private:
  std::FILE* out_ = nullptr;
  Clock::time_point start_{}, last_{};
  Clock::duration delay_{}, interval_{};
  size_t buffers_ = 0;
  uint64_t bytes_ = 0;
  size_t drawn_ = 0;  // length of the line on screen, 0 when none
  bool drew_once_ = false;
  bool finished_ = false;
};

}  // namespace qimplant
