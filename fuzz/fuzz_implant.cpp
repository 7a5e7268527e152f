// The implant end to end on a fuzzed model with examples/conv2d's qparam.json: planning,
// derivation, the float interface, mixed precision, the rule check and the writer. The first
// byte chooses options (bit 0: --input-type float32, 1: --output-type float32, 2: --allow-float,
// 3: --keep-float op:SOFTMAX, 4: --force, 5: --buffers external, 7: tflite file name).
#include "fuzz_support.h"
#include "implant.h"
#include "util/error.h"

#ifndef QIMPLANT_EXAMPLE_DIR
#error "QIMPLANT_EXAMPLE_DIR must name examples/conv2d"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const bool tflite = control & 0x80;
  qimplant::ImplantOptions o;
  o.input = qimplant::fuzz::write_input(tflite ? "in.tflite" : "in.circle", data + 1, size - 1);
  o.qparam = std::string(QIMPLANT_EXAMPLE_DIR) + "/qparam.json";
  o.output = qimplant::fuzz::scratch_dir() + (tflite ? "/out.tflite" : "/out.circle");
  if (control & 1) o.interface.inputs = {"float32"};
  if (control & 2) o.interface.outputs = {"float32"};
  o.allow_float = control & 4;
  if (control & 8) o.keep_float = {"op:SOFTMAX"};
  o.force = control & 16;
  if (control & 32) o.buffers = qimplant::BufferLayout::External;
  try {
    (void)qimplant::implant(o);
  } catch (const qimplant::Error&) {
  }
  return 0;
}
