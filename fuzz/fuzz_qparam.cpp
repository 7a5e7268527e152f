// qparam.json (with its npy files resolved next to it) and the --name-map file. The first byte
// chooses which reader gets the rest.
#include "fuzz_support.h"
#include "plan/key_match.h"
#include "qparam/qparam_file.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool name_map = data[0] & 1;
  const std::string path = qimplant::fuzz::write_input("qparam.json", data + 1, size - 1);
  try {
    if (name_map) {
      (void)qimplant::read_name_map(path);
    } else {
      (void)qimplant::read_qparam_file(path);
    }
  } catch (const qimplant::Error&) {
  }
  return 0;
}
