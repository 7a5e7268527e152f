#include "implant.h"

#include <sys/stat.h>

#include "io/atomic_file.h"
#include "model/model_file.h"
#include "plan/buffer_placement.h"
#include "plan/float_interface.h"
#include "plan/planner.h"
#include "plan/propagate.h"
#include "plan/structure.h"
#include "qparam/qparam_file.h"
#include "util/error.h"
#include "write/model_writer.h"

namespace qimplant {

ImplantResult implant(const ImplantOptions& options) {
  if (!options.dry_run && !options.in_place && same_file(options.input, options.output)) {
    throw Error("output '" + options.output + "' is the input model '" + options.input +
                "'; refusing to overwrite the input (pass --in-place to do that on purpose)");
  }
  auto model = ModelFile::open(options.input);
  const ModelInfo& info = model->info();
  const QParamFile qparams = read_qparam_file(options.qparam);

  PlanOptions plan_options;
  plan_options.rounding = options.rounding;
  NameMap name_map;
  if (!options.name_map.empty()) {
    name_map = read_name_map(options.name_map);
    plan_options.name_map = &name_map;
  }
  EditPlan plan = plan_implant(info, options.input, qparams, plan_options);
  DeriveOptions derive = options.derive;
  derive.rounding = options.rounding;
  derive.target = options.target.value_or(default_target(info.format));
  // Each round can enable the next (a derived weight makes its bias derivable, a propagated
  // tensor feeds a Concat); every round adds at least one edit, so this ends.
  for (;;) {
    size_t added = 0;
    if (options.propagate) added += propagate_through_value_ops(info, plan);
    added += derive_missing(info, plan, derive);
    if (added == 0) break;
  }
  plan_float_interface(info, plan, options.interface);
  place_new_data(info, plan);
  // Checks look at the graph as it will be written, added operators included.
  const ModelInfo planned = with_structure(info, plan);

  ImplantResult result;
  result.format = info.format;
  result.subgraph_count = info.subgraphs.size();
  result.float_tensors = find_float_tensors(planned, plan);
  if (!result.float_tensors.empty() && !options.allow_float) {
    throw Error("model file '" + options.input + "': " +
                describe_float_findings(planned, result.float_tensors) + "\nnothing was written");
  }
  result.target = derive.target;
  if (options.check_rules) {
    result.findings = check_rules(planned, plan, derive.target);
    std::string errors;
    size_t error_count = 0;
    for (const auto& f : result.findings) {
      if (f.severity != Severity::Error) continue;
      ++error_count;
      errors += "\n  " + describe_finding(planned, f);
    }
    if (error_count && !options.force) {
      throw Error("model file '" + options.input + "': the quantized model breaks " +
                  std::to_string(error_count) + " rule(s) of the " + target_name(derive.target) +
                  " target (choose the target with --rules; --force writes anyway):" + errors +
                  "\nnothing was written");
    }
  }
  for (const auto& [ref, edit] : plan.tensors) {
    const TensorInfo& t = planned.tensor(ref.subgraph, ref.tensor);
    ChangeRecord c;
    c.tensor = t.name;
    c.subgraph = ref.subgraph;
    c.origin = edit.origin;
    c.source = edit.source;
    const bool added = ref.tensor >= info.subgraphs[ref.subgraph].tensors.size();
    c.from_type = added ? "(new tensor)" : tensor_type_name(info.format, t.type);
    c.to_type = tensor_type_name(info.format, edit.type);
    c.quant = edit.quant;
    c.data = edit.data;
    c.new_buffer = edit.buffer.has_value();
    result.changes.push_back(std::move(c));
  }
  if (!options.dry_run) {
    WriteOptions write_options;
    write_options.buffers = options.buffers;
    write_options.external_threshold = options.external_threshold_for_tests;
    write_options.threads = options.write_threads;
    write_options.progress = options.progress;
    result.output_bytes = write_model(*model, plan, options.output, write_options);
  }
  return result;
}

}  // namespace qimplant
