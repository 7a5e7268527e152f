// The reference interpreter and eval: a fuzzed model evaluated against itself on one random
// sample, with the interpreter's limits lowered so that a run stays fast.
#include "eval/eval.h"
#include "exec/interpreter.h"
#include "fuzz_support.h"
#include "model/model_file.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& limits = qimplant::exec::limits();
  limits.max_tensor_elements = int64_t{1} << 18;
  limits.max_total_elements = int64_t{1} << 20;
  limits.max_work = int64_t{1} << 24;
  const bool tflite = size > 0 && (data[size - 1] & 1);
  const std::string path =
      qimplant::fuzz::write_input(tflite ? "m.tflite" : "m.circle", data, size);
  try {
    auto m = qimplant::ModelFile::open(path);
    qimplant::eval::EvalOptions o;
    o.float_model = o.quantized_model = path;
    o.samples = 1;
    o.per_tensor = size > 1 && (data[0] & 1);
    (void)qimplant::eval::evaluate(*m, *m, o);
  } catch (const qimplant::Error&) {
  }
  return 0;
}
