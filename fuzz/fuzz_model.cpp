// The model reader: verification, ModelInfo, inspect (text and JSON), check.
#include "check/float_check.h"
#include "check/rule_check.h"
#include "fuzz_support.h"
#include "inspect/inspect.h"
#include "model/model_file.h"
#include "rules/target.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The format follows the file identifier; both extensions are tried by alternating.
  const bool tflite = size > 0 && (data[size - 1] & 1);
  const std::string path =
      qimplant::fuzz::write_input(tflite ? "m.tflite" : "m.circle", data, size);
  try {
    auto m = qimplant::ModelFile::open(path);
    const qimplant::ModelInfo& info = m->info();
    for (const auto& sg : info.subgraphs)
      for (const auto& t : sg.tensors) (void)t.element_count();
    (void)qimplant::inspect_text(info, path, {});
    (void)qimplant::inspect_json(info, path, {});
    const qimplant::EditPlan none;
    for (qimplant::Target target : {qimplant::Target::ONE, qimplant::Target::TFLite}) {
      const auto findings = qimplant::check_rules(info, none, target);
      for (const auto& f : findings) (void)qimplant::describe_finding(info, f);
    }
    (void)qimplant::find_float_tensors(info, none, false);
  } catch (const qimplant::Error&) {
  }
  return 0;
}
