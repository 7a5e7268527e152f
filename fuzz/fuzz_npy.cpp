// The npy reader: header parsing, dtypes, shapes, data size, conversions.
#include "fuzz_support.h"
#include "io/npy.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = qimplant::fuzz::write_input("in.npy", data, size);
  try {
    const qimplant::npy::Array a = qimplant::npy::load(path);
    (void)qimplant::npy::describe(a);
    try {
      (void)qimplant::npy::to_float32(a);
    } catch (const qimplant::Error&) {
    }
    try {
      (void)qimplant::npy::to_int64(a);
    } catch (const qimplant::Error&) {
    }
  } catch (const qimplant::Error&) {
  }
  return 0;
}
