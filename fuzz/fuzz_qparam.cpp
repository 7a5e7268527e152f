// The parameter readers: qparam.json (plain and compact, with examples/conv2d's npy files next
// to it so that entries naming them are read), the --name-map file, the auto-detected parameter
// source (AIMET encodings in each layout, ONNX QDQ models: read_param_source and its graph) and
// the structure file of --match structure. The first byte's low two bits choose the reader
// (0: qparam.json, 1: name map, 2: parameter source, 3: structure file); the rest is the file.
#include <filesystem>

#include "fuzz_support.h"
#include "match/source_graph.h"
#include "qparam/param_source.h"
#include "qparam/qparam_file.h"
#include "resolve/key_match.h"
#include "util/error.h"

#ifndef QIMPLANT_EXAMPLE_DIR
#error "QIMPLANT_EXAMPLE_DIR must name examples/conv2d"
#endif

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  for (const auto& e : fs::directory_iterator(QIMPLANT_EXAMPLE_DIR))
    if (e.path().extension() == ".npy")
      fs::copy_file(e.path(), qimplant::fuzz::scratch_dir() + "/" + e.path().filename().string(),
                    fs::copy_options::overwrite_existing);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int reader = data[0] & 3;
  const std::string path = qimplant::fuzz::write_input("qparam.json", data + 1, size - 1);
  try {
    switch (reader) {
      case 0:
        (void)qimplant::read_qparam_file(path);
        break;
      case 1:
        (void)qimplant::read_name_map(path);
        break;
      case 2:
        (void)qimplant::read_param_source(path);
        (void)qimplant::read_param_source_with_graph(path, qimplant::ParamFormat::Auto);
        break;
      default:
        (void)qimplant::read_source_graph(path);
        break;
    }
  } catch (const qimplant::Error&) {
  }
  return 0;
}
