#include "util/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace qimplant {

Progress::Progress(std::FILE* out, Clock::duration delay, Clock::duration interval)
    : out_(out), start_(Clock::now()), delay_(delay), interval_(interval) {}

Progress::~Progress() {
  finish();
}

std::unique_ptr<Progress> Progress::for_stderr(bool quiet) {
  using std::chrono::milliseconds;
  const char* env = std::getenv("QIMPLANT_PROGRESS");
  const bool forced = env && std::strcmp(env, "1") == 0;
  const bool off = env && std::strcmp(env, "0") == 0;
  if (quiet || off || (!forced && !::isatty(STDERR_FILENO))) return std::make_unique<Progress>();
  return std::make_unique<Progress>(stderr, forced ? milliseconds(0) : milliseconds(1000),
                                    milliseconds(100));
}

void Progress::set_total(size_t buffers, uint64_t bytes) {
  buffers_ = buffers;
  bytes_ = bytes;
}

std::string Progress::line(size_t buffers_done, size_t buffers, uint64_t bytes_done,
                           uint64_t bytes) {
  const uint64_t mib = 1u << 20;
  return "q-implant: " + std::to_string(buffers_done) + "/" + std::to_string(buffers) +
         " buffers, " + std::to_string(bytes_done / mib) + " / " +
         std::to_string((bytes + mib - 1) / mib) + " MiB written";
}

void Progress::update(size_t buffers_done, uint64_t bytes_done) {
  if (!out_ || finished_) return;
  const Clock::time_point now = Clock::now();
  if (now - start_ < delay_) return;
  if (drew_once_ && now - last_ < interval_) return;
  last_ = now;
  drew_once_ = true;
  const std::string text = line(buffers_done, buffers_, bytes_done, bytes_);
  // Pad over the rest of a longer previous line (no terminal escapes needed).
  const size_t pad = drawn_ > text.size() ? drawn_ - text.size() : 0;
  std::fprintf(out_, "\r%s%*s", text.c_str(), static_cast<int>(pad), "");
  std::fflush(out_);
  drawn_ = std::max(drawn_, text.size());
}

void Progress::finish() {
  if (!out_ || finished_) return;
  finished_ = true;
  if (drawn_ == 0) return;
  std::fprintf(out_, "\r%*s\r", static_cast<int>(drawn_), "");
  std::fflush(out_);
}

}  // namespace qimplant
