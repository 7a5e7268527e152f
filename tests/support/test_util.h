// Small helpers shared by the tests: a scratch directory per test, qparam.json and npy writing,
// reading whole files back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qimplant::test {

// A fresh directory, removed with everything in it when the object goes.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_text(const std::string& path, const std::string& text);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::string& path);
bool file_exists(const std::string& path);
// Names of the entries of a directory (for "nothing left behind" checks).
std::vector<std::string> list_dir(const std::string& path);

// One qparam.json entry, written with its npy files into a directory.
struct QParamSpec {
  std::string name;
  std::string dtype;
  std::vector<float> scale;
  std::vector<int64_t> zerop;
  int quantized_dimension = 0;
  bool write_dimension = true;
  // Raw value npy: descr ("|u1", "<i4"...), shape, bytes; empty descr means no "value".
  std::string value_descr;
  std::vector<int64_t> value_shape;
  std::vector<uint8_t> value_bytes;
};

// Decodes a model to JSON with flatc and the project's schema: a reader independent of ours.
// `schema` is "circle" or "tflite"; throws if flatc fails.
nlohmann::json decode_with_flatc(const std::string& model_path, const std::string& schema);

// Runs a shell command, returns its exit status; stdout+stderr go to `output`.
int run_command(const std::string& command, std::string* output);

// Writes <dir>/qparam.json and numbered npy files; returns the json path.
std::string write_qparams(const std::string& dir, const std::vector<QParamSpec>& specs);

}  // namespace qimplant::test
