#include "implant.h"

#include <malloc.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "check/quant_params.h"
#include "io/atomic_file.h"
#include "match/structure_match.h"
#include "model/model_file.h"
#include "plan/buffer_placement.h"
#include "plan/float_interface.h"
#include "plan/mixed_precision.h"
#include "plan/planner.h"
#include "plan/propagate.h"
#include "plan/reexpress.h"
#include "plan/requantize.h"
#include "plan/structure.h"
#include "qparam/param_source.h"
#include "qparam/qparam_file.h"
#include "report/text.h"
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
  // Freed once planned: the plan holds what it needs (parameters, `value` arrays), and the
  // entries would otherwise stay in memory through the write (13 MB for 12,100 keys).
  auto source = std::make_unique<ParamSource>(
      read_param_source_with_graph(options.qparam, options.param_format));
  const QParamFile& qparams = source->qparams;
  // The parsed JSON is gone, but malloc keeps its pages (160 MB for 100,000 keys): give them back.
  ::malloc_trim(0);

  PlanOptions plan_options;
  plan_options.rounding = options.rounding;
  plan_options.target = options.target;
  NameMap name_map;
  if (!options.name_map.empty()) {
    name_map = read_name_map(options.name_map);
    plan_options.name_map = &name_map;
  }
  NameMap structure_map;
  if (options.match_structure) {
    structure_map = match_structure_for(*model, qparams, options.structure, plan_options.name_map,
                                        source->graph ? &*source->graph : nullptr)
                        .name_map();
    plan_options.structure_map = &structure_map;
  } else if (!options.structure.empty()) {
    throw Error("--structure '" + options.structure + "' is only read with --match structure");
  }
  EditPlan plan = plan_implant(info, options.input, qparams, plan_options);
  source.reset();
  ::malloc_trim(0);
  MixedPrecisionOptions mixed;
  mixed.allow_float = options.allow_float;
  mixed.keep_float = options.keep_float;
  mixed.name_map = plan_options.name_map;
  mixed.model_path = options.input;
  resolve_keep_float(info, plan, mixed);
  DeriveOptions derive = options.derive;
  derive.rounding = options.rounding;
  derive.model_path = options.input;
  derive.target = options.target.value_or(default_target(info.format));
  // Each round can enable the next (a derived weight makes its bias derivable, a propagated
  // tensor feeds a Concat); every round adds at least one edit, so this ends.
  for (;;) {
    size_t added = 0;
    if (options.propagate) added += propagate_through_value_ops(info, plan);
    added += derive_missing(info, plan, derive);
    if (added == 0) break;
  }
  ReexpressOptions reexpress;
  reexpress.target = derive.target;
  reexpress.activation_type = options.activation_type;
  reexpress_types(info, plan, reexpress);
  plan_float_interface(info, plan, options.interface);
  if (options.requantize) plan_requantize(info, plan, derive.target);
  const bool is_mixed = mixed_precision_requested(plan, mixed);
  const MixedPrecisionResult mixed_result = plan_mixed_precision(info, plan, mixed);
  place_new_data(info, plan);
  // Checks look at the graph as it will be written, added operators included.
  // A copy only when operators or tensors are added: on 100,000 tensors it costs 40 MB.
  std::optional<ModelInfo> restructured;
  if (!plan.structure.empty()) restructured = with_structure(info, plan);
  const ModelInfo& planned = restructured ? *restructured : info;
  plan.operator_versions = operator_code_versions(planned, plan);

  ImplantResult result;
  result.format = info.format;
  result.subgraph_count = info.subgraphs.size();
  for (uint32_t i = 0; i < info.operator_codes.size(); ++i) {
    if (plan.operator_versions[i] <= info.operator_codes[i].version) continue;
    OperatorInfo op;
    op.opcode_index = i;
    result.version_changes.push_back(
        {i, operator_name(info, op), info.operator_codes[i].version, plan.operator_versions[i]});
  }
  // Mixed precision leaves float tensors only around float operators; anything else is a bug
  // this check still catches.
  const auto float_findings = find_float_tensors(planned, plan, is_mixed);
  if (!float_findings.empty()) {
    throw Error("model file '" + options.input +
                "': " + describe_float_findings(planned, float_findings) + "\nnothing was written");
  }
  if (is_mixed) {
    std::map<TensorRef, const FloatFinding*> around;
    const auto all_float = find_float_tensors(planned, plan);
    for (const auto& f : all_float) around[f.ref] = &f;
    for (const KeptFloat& k : mixed_result.kept) {
      FloatFinding f;
      if (auto it = around.find(k.ref); it != around.end()) f = *it->second;
      f.ref = k.ref;
      f.tensor = planned.tensor(k.ref.subgraph, k.ref.tensor).name;
      f.reason = k.reason;
      result.float_tensors.push_back(std::move(f));
    }
    result.float_operators = mixed_result.float_operators;
  }
  for (uint32_t s = 0; s < planned.subgraphs.size(); ++s) {
    const auto order = operator_order(info.subgraphs[s].operators.size(), plan.structure, s);
    for (uint32_t i = 0; i < order.size(); ++i) {
      if (!order[i].added) continue;
      const auto& added = plan.structure.operators[order[i].index];
      const OperatorInfo& op = planned.subgraphs[s].operators[i];
      InsertedOperator r;
      r.subgraph = s;
      r.index = i;
      r.op = operator_name(planned, op);
      for (int32_t t : added.inputs) r.inputs.push_back(planned.tensor(s, t).name);
      for (int32_t t : added.outputs) r.outputs.push_back(planned.tensor(s, t).name);
      r.reason = added.reason;
      result.inserted_operators.push_back(std::move(r));
    }
  }
  result.target = derive.target;
  if (options.check_rules) {
    result.findings = check_rules(planned, plan, derive.target);
    // One line per rule and message (report/text.h), so a mistake repeated over many tensors
    // does not bury the others.
    std::vector<Finding> error_findings;
    for (const auto& f : result.findings)
      if (f.severity == Severity::Error) error_findings.push_back(f);
    const size_t error_count = error_findings.size();
    std::string errors;
    for (const auto& line : finding_lines(
             error_findings, false, [&](const Finding& f) { return describe_finding(planned, f); }))
      errors += "\n  " + line;
    if (error_count && !options.force) {
      throw Error("model file '" + options.input + "': the quantized model breaks " +
                  std::to_string(error_count) + " rule(s) of the " + target_name(derive.target) +
                  " target (choose the target with --rules; --force writes anyway):" + errors +
                  "\nnothing was written");
    }
  }
  // --force writes a model that breaks the target's rules, never one whose parameters cannot be
  // used at all: quantizing data with them would divide by a zero scale or index a missing one.
  for (const auto& [ref, edit] : plan.tensors) {
    const TensorInfo& t = planned.tensor(ref.subgraph, ref.tensor);
    const auto problems = quant_params_problems(edit.type, t.shape, edit.quant);
    const bool no_scale = edit.data == TensorEdit::Data::Quantized && edit.quant.scale.empty();
    if (problems.empty() && !no_scale) continue;
    throw Error("model file '" + options.input + "': tensor '" + t.name + "': the planned " +
                tensor_type_name(info.format, edit.type) + " parameters cannot be written (" +
                (no_scale ? std::string("no scale to quantize its data with") : problems[0]) +
                "), not even with --force; nothing was written");
  }
  if (!options.dry_run) {
    WriteOptions write_options;
    write_options.buffers = options.buffers;
    write_options.external_threshold = options.external_threshold_for_tests;
    write_options.threads = options.write_threads;
    write_options.progress = options.progress;
    result.output_bytes = write_model(*model, plan, options.output, write_options);
  }
  // Recorded after the write, taking the plan's parameters (the plan is not used again), so that
  // no copy of them is in memory beside the writer's.
  for (auto& [ref, edit] : plan.tensors) {
    const TensorInfo& t = planned.tensor(ref.subgraph, ref.tensor);
    ChangeRecord c;
    c.tensor = t.name;
    c.subgraph = ref.subgraph;
    c.origin = edit.origin;
    c.source = edit.source;
    const bool added = ref.tensor >= info.subgraphs[ref.subgraph].tensors.size();
    c.from_type = added ? "(new tensor)" : tensor_type_name(info.format, t.type);
    c.to_type = tensor_type_name(info.format, edit.type);
    c.quant = std::move(edit.quant);
    c.data = edit.data;
    c.new_buffer = edit.buffer.has_value();
    c.reexpressed = edit.reexpressed;
    c.relayout = edit.relayout;
    result.changes.push_back(std::move(c));
  }
  return result;
}

}  // namespace qimplant
