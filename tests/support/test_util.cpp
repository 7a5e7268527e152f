#include "support/test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "io/npy.h"

namespace qimplant::test {

namespace {
void remove_tree(const std::string& path) {
  for (const auto& name : list_dir(path)) {
    const std::string p = path + "/" + name;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      remove_tree(p);
    } else {
      unlink(p.c_str());
    }
  }
  rmdir(path.c_str());
}
}  // namespace

ScratchDir::ScratchDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/qimplant-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

ScratchDir::~ScratchDir() {
  remove_tree(path_);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  return out;
}

int run_command(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

nlohmann::json decode_with_flatc(const std::string& model_path, const std::string& schema) {
  ScratchDir out;
  std::string log;
  const std::string cmd = std::string(QIMPLANT_FLATC) + " --json --strict-json --raw-binary " +
                          "--defaults-json -o " + out.path() + " " + QIMPLANT_SCHEMA_DIR + "/" +
                          schema + ".fbs -- " + model_path;
  if (run_command(cmd, &log) != 0) throw std::runtime_error("flatc failed: " + log);
  const auto files = list_dir(out.path());
  if (files.size() != 1) throw std::runtime_error("flatc wrote no json: " + log);
  std::ifstream in(out.file(files[0]));
  return nlohmann::json::parse(in);
}

std::string write_qparams(const std::string& dir, const std::vector<QParamSpec>& specs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  int n = 0;
  for (const auto& s : specs) {
    nlohmann::ordered_json e;
    e["dtype"] = s.dtype;
    const std::string scale = std::to_string(n++) + ".npy";
    npy::save(dir + "/" + scale, s.scale, {static_cast<int64_t>(s.scale.size())});
    e["scale"] = scale;
    const std::string zerop = std::to_string(n++) + ".npy";
    npy::save(dir + "/" + zerop, s.zerop, {static_cast<int64_t>(s.zerop.size())});
    e["zerop"] = zerop;
    if (s.write_dimension) e["quantized_dimension"] = s.quantized_dimension;
    if (!s.value_descr.empty()) {
      const std::string value = std::to_string(n++) + ".npy";
      npy::save(dir + "/" + value, s.value_descr, s.value_shape, s.value_bytes.data(),
                s.value_bytes.size());
      e["value"] = value;
    }
    j[s.name] = e;
  }
  const std::string path = dir + "/qparam.json";
  write_text(path, j.dump(2));
  return path;
}

}  // namespace qimplant::test
