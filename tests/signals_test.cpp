// Interruptions and faults from the outside, on the real binary: SIGINT, SIGTERM and SIGHUP at
// several points of a write leave no file and exit 130 / 143 / 129; SIGKILL leaves none where the
// output directory supports O_TMPFILE; an input truncated while mapped is a clean error naming it.
// The writer is paused at each point by the QIMPLANT_TEST_PAUSE hook (io/signals.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace qimplant::test {
namespace {

const std::string kExample = std::string(QIMPLANT_SOURCE_DIR) + "/examples/conv2d/";

struct Child {
  pid_t pid = -1;
  std::string err_path;
};

// Starts the CLI with `args` in `dir`, stderr to a file, with `env` added.
Child spawn(const std::string& dir, const std::vector<std::string>& args,
            const std::vector<std::string>& env) {
  Child c;
  c.err_path = dir + "/../stderr-" + std::to_string(::getpid());
  c.pid = ::fork();
  if (c.pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(120);
    const int fd = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv{const_cast<char*>(QIMPLANT_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(QIMPLANT_CLI, argv.data());
    ::_exit(121);
  }
  return c;
}

bool wait_for_file(const std::string& path, pid_t pid) {
  for (int i = 0; i < 4000; ++i) {
    if (file_exists(path)) return true;
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // ended without pausing
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Exit code, or 256 + signal when killed.
int wait_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

std::string slurp(const std::string& path) {
  if (!file_exists(path)) return "";
  const auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// The output directory holds the inputs only, before and after.
struct Workspace {
  ScratchDir root;
  std::string dir, model, marker;
  Workspace() {
    dir = root.file("work");
    std::filesystem::create_directory(dir);
    model = dir + "/in.circle";
    std::filesystem::copy_file(kExample + "Conv2D_000.circle", model);
    marker = root.file("paused");
  }
  std::vector<std::string> args() const {
    return {"in.circle", kExample + "qparam.json", "out.circle"};
  }
};

bool tmpfile_supported(const std::string& dir) {
#ifdef O_TMPFILE
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
#else
  (void)dir;
  return false;
#endif
}

struct SignalCase {
  int sig;
  int code;
  const char* point;
  bool named;  // force the named-temporary fallback
};

class Interrupt : public ::testing::TestWithParam<SignalCase> {};

TEST_P(Interrupt, LeavesNothingAndExitsWithTheSignalCode) {
  const SignalCase& p = GetParam();
  Workspace s;
  if (!p.named && !tmpfile_supported(s.dir)) GTEST_SKIP() << "no O_TMPFILE here";
  const auto before = read_bytes(s.model);
  std::vector<std::string> env{"QIMPLANT_TEST_PAUSE=" + std::string(p.point) + ":" + s.marker};
  if (p.named) env.push_back("QIMPLANT_TEST_NO_TMPFILE=1");
  const Child c = spawn(s.dir, s.args(), env);
  ASSERT_TRUE(wait_for_file(s.marker, c.pid)) << slurp(c.err_path);
  if (p.named) {
    // The named temporary exists while paused (so the handler has something to remove).
    bool temp = false;
    for (const auto& n : list_dir(s.dir)) temp = temp || n.rfind(".out.circle.tmp-", 0) == 0;
    EXPECT_TRUE(temp);
  }
  ::kill(c.pid, p.sig);
  EXPECT_EQ(wait_status(c.pid), p.code) << slurp(c.err_path);
  EXPECT_EQ(list_dir(s.dir), std::vector<std::string>{"in.circle"});
  EXPECT_EQ(read_bytes(s.model), before);
}

std::vector<SignalCase> signal_cases() {
  std::vector<SignalCase> v;
  for (bool named : {false, true})
    for (const char* point : {"create", "write", "commit"}) {
      v.push_back({SIGINT, 130, point, named});
      v.push_back({SIGTERM, 143, point, named});
      v.push_back({SIGHUP, 129, point, named});
    }
  // SIGKILL cannot be handled: only the unnamed file guarantees nothing is left.
  for (const char* point : {"create", "write", "commit"})
    v.push_back({SIGKILL, 256 + SIGKILL, point, false});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Points, Interrupt, ::testing::ValuesIn(signal_cases()),
                         [](const auto& info) {
                           const SignalCase& p = info.param;
                           return std::string(p.sig == SIGINT    ? "SIGINT"
                                              : p.sig == SIGTERM ? "SIGTERM"
                                              : p.sig == SIGHUP  ? "SIGHUP"
                                                                 : "SIGKILL") +
                                  "_at_" + p.point + (p.named ? "_named" : "");
                         });

// Another process truncates an input while q-implant has it mapped: the model (whose float
// weights are quantized while the output is written: qparam.json gives `ker` no "value") and a
// value npy file.
struct Truncation {
  const char* name;
  const char* file;  // the input truncated, in the work directory
  bool ker_value;    // qparam.json keeps ker's "value" (4.npy)
  const char* message_start;
};

class InputChanged : public ::testing::TestWithParam<std::pair<Truncation, bool>> {};

TEST_P(InputChanged, TruncatedInputIsACleanErrorNamingIt) {
  const Truncation& t = GetParam().first;
  const bool named = GetParam().second;
  Workspace s;
  for (const auto& e : std::filesystem::directory_iterator(kExample))
    if (e.path().extension() == ".npy")
      std::filesystem::copy_file(e.path(), s.dir + "/" + e.path().filename().string());
  std::string qparam = slurp(kExample + "qparam.json");
  const std::string value = ",\n    \"value\": \"4.npy\"";
  if (!t.ker_value) {
    const size_t at = qparam.find(value);
    ASSERT_NE(at, std::string::npos);
    qparam.erase(at, value.size());
  }
  write_text(s.dir + "/qparam.json", qparam);
  const auto before = list_dir(s.dir);
  std::vector<std::string> env{"QIMPLANT_TEST_PAUSE=create:" + s.marker};
  if (named) env.push_back("QIMPLANT_TEST_NO_TMPFILE=1");
  const Child c = spawn(s.dir, {"in.circle", "qparam.json", "out.circle"}, env);
  ASSERT_TRUE(wait_for_file(s.marker, c.pid)) << slurp(c.err_path);
  ASSERT_EQ(::truncate((s.dir + "/" + t.file).c_str(), 0), 0);
  std::filesystem::remove(s.marker);
  EXPECT_EQ(wait_status(c.pid), 1);
  const std::string err = slurp(c.err_path);
  EXPECT_EQ(err.rfind(t.message_start, 0), 0u) << err;
  EXPECT_NE(err.find("': the file changed while being read (it was truncated or rewritten by "
                     "another process while mapped); nothing was written\n"),
            std::string::npos)
      << err;
  EXPECT_EQ(list_dir(s.dir), before);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, InputChanged,
    ::testing::Values(
        std::make_pair(Truncation{"model", "in.circle", false,
                                  "q-implant: error: model file 'in.circle'"},
                       false),
        std::make_pair(Truncation{"model", "in.circle", false,
                                  "q-implant: error: model file 'in.circle'"},
                       true),
        std::make_pair(Truncation{"npy", "4.npy", true, "q-implant: error: npy file '"}, false)),
    [](const auto& info) {
      return std::string(info.param.first.name) + (info.param.second ? "_named" : "");
    });

}  // namespace
}  // namespace qimplant::test
