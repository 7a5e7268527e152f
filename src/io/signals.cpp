#include "io/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

namespace qimplant::signals {
namespace {

// Fixed-size tables: a handler cannot allocate or lock. A slot is published by storing its
// `state` last (release) and read by the handler only when `state` is set (acquire).
constexpr int kPaths = 64;
constexpr int kMappings = 4096;
constexpr size_t kText = 4096;

struct PathSlot {
  std::atomic<int> state{0};  // 0 free, 1 reserved, 2 published
  char path[kText];
};
struct MappingSlot {
  std::atomic<int> state{0};
  uintptr_t start = 0, end = 0;
  char* message = nullptr;  // owned; replaced only while the slot is not published
  size_t length = 0;
};

PathSlot g_paths[kPaths];
MappingSlot* g_mappings = new MappingSlot[kMappings];  // never freed: handlers may run at exit
std::once_flag g_installed;
struct sigaction g_old_bus;

void remove_paths() {
  for (auto& slot : g_paths)
    if (slot.state.load(std::memory_order_acquire) == 2) ::unlink(slot.path);
}

void write_all(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(2, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void on_interrupt(int sig) {
  remove_paths();
  ::_exit(128 + sig);
}

void on_bus(int sig, siginfo_t* info, void* context) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kMappings; ++i) {
    MappingSlot& m = g_mappings[i];
    if (m.state.load(std::memory_order_acquire) != 2 || at < m.start || at >= m.end) continue;
    write_all(m.message, m.length);
    remove_paths();
    ::_exit(1);
  }
  // Not one of ours: behave as if this handler were not there.
  if (g_old_bus.sa_flags & SA_SIGINFO) {
    if (g_old_bus.sa_sigaction) g_old_bus.sa_sigaction(sig, info, context);
    return;
  }
  if (g_old_bus.sa_handler != SIG_DFL && g_old_bus.sa_handler != SIG_IGN) {
    g_old_bus.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

}  // namespace

void install() {
  std::call_once(g_installed, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
      struct sigaction sa {};
      sa.sa_handler = on_interrupt;
      sigemptyset(&sa.sa_mask);
      for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sa.sa_mask, s);
      ::sigaction(sig, &sa, nullptr);
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_old_bus);
  });
}

namespace {

template <class Slot>
int reserve(Slot* slots, int count) {
  for (int i = 0; i < count; ++i) {
    int expected = 0;
    if (slots[i].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return i;
  }
  return -1;
}

}  // namespace

int register_path(const std::string& path) {
  install();
  if (path.size() >= kText) return -1;
  const int i = reserve(g_paths, kPaths);
  if (i < 0) return -1;  // more outputs at once than slots: these are left on interruption
  std::memcpy(g_paths[i].path, path.c_str(), path.size() + 1);
  g_paths[i].state.store(2, std::memory_order_release);
  return i;
}

void unregister_path(int token) {
  if (token >= 0 && token < kPaths) g_paths[token].state.store(0, std::memory_order_release);
}

int register_mapping(const void* start, size_t size, const std::string& message) {
  install();
  const int i = reserve(g_mappings, kMappings);
  if (i < 0) return -1;  // a fault there is then an ordinary SIGBUS
  MappingSlot& m = g_mappings[i];
  delete[] m.message;
  m.length = message.size();
  m.message = new char[m.length];
  std::memcpy(m.message, message.data(), m.length);
  m.start = reinterpret_cast<uintptr_t>(start);
  m.end = m.start + size;
  m.state.store(2, std::memory_order_release);
  return i;
}

void unregister_mapping(int token) {
  if (token >= 0 && token < kMappings) {
    // The message stays allocated until the slot is reused (a handler may be reading it).
    g_mappings[token].state.store(0, std::memory_order_release);
  }
}

std::string mapping_message(const void* address) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  for (int i = 0; i < kMappings; ++i) {
    const MappingSlot& m = g_mappings[i];
    if (m.state.load(std::memory_order_acquire) != 2 || at < m.start || at >= m.end) continue;
    std::string text(m.message, m.length);
    const std::string prefix = "q-implant: error: ";
    if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  return "";
}

void test_pause(const char* point) {
  static std::atomic<bool> done{false};
  const char* spec = std::getenv("QIMPLANT_TEST_PAUSE");
  if (!spec) return;
  const char* colon = std::strchr(spec, ':');
  if (!colon || std::strncmp(spec, point, size_t(colon - spec)) != 0 ||
      std::strlen(point) != size_t(colon - spec))
    return;
  if (done.exchange(true)) return;
  const std::string marker = colon + 1;
  { std::ofstream(marker) << "paused at " << point << "\n"; }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::access(marker.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace qimplant::signals
