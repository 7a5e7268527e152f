// The library's entry point: implant qparam.json into a model, end to end.
//
//   parse inputs -> plan against the model -> propagate -> check -> write
//
// Nothing is written unless every stage succeeds; the input model is only ever read.
#pragma once

#include <string>
#include <vector>

#include <optional>

#include "check/float_check.h"
#include "check/rule_check.h"
#include "derive/derive.h"
#include "model/model.h"
#include "plan/edit_plan.h"
#include "plan/float_interface.h"
#include "qparam/param_source.h"
#include "quant/quantize.h"
#include "write/model_writer.h"

namespace qimplant {

struct ImplantOptions {
  std::string input;
  std::string qparam;
  std::string output;
  // What `qparam` holds (--param-format): qparam.json, AIMET encodings or an ONNX QDQ model;
  // Auto detects it from the content (qparam/param_source.h).
  ParamFormat param_format = ParamFormat::Auto;
  Rounding rounding = Rounding::HalfToEven;
  bool propagate = true;
  // Mixed precision (plan/mixed_precision.h): tensors left without parameters stay float32 and
  // their operators run in float, with conversions inserted at each boundary.
  bool allow_float = false;
  // --keep-float: tensors (names, patterns, op:TYPE) that stay float32 even with parameters.
  std::vector<std::string> keep_float;
  bool in_place = false;  // allow output == input
  bool dry_run = false;   // plan and check, write nothing
  std::string name_map;   // --name-map map.json: qparam key -> model name, applied first
  // --match structure: keys find their tensors by aligning the exporter's graph file with the
  // model (src/match/); --name-map entries win. `structure`: the graph file (default
  // qparam.graph.json next to qparam.json).
  bool match_structure = false;
  std::string structure;
  // Which rules fill in what qparam.json leaves out (rounding and target are set from the
  // fields above and below).
  DeriveOptions derive;
  std::optional<Target> target;  // default: by the model's format
  InterfaceTypes interface;      // --input-type / --output-type
  bool check_rules = true;       // run the per-operator rule check
  // --activation-type int8|uint8: every 8-bit activation in that type (plan/reexpress.h).
  std::string activation_type;
  // Same-scale conflicts get a requantizing QUANTIZE where the kernel does not rescale
  // (plan/requantize.h); --no-requantize leaves them to the rule check.
  bool requantize = true;
  bool force = false;  // write even when the rule check finds errors
  // Where the output keeps buffer data (--buffers): the input's layout by default, external
  // when the inline result would pass the FlatBuffers 2 GB limit.
  BufferLayout buffers = BufferLayout::Auto;
  // Test-only: the size above which Auto switches to external (0 = the FlatBuffers limit).
  size_t external_threshold_for_tests = 0;
  unsigned write_threads = 0;    // threads quantizing float data (0: hardware's, at most 4)
  Progress* progress = nullptr;  // shown while the output is written, when set
};

// One line of what changed, for people and for reports.
struct ChangeRecord {
  std::string tensor;
  uint32_t subgraph = 0;
  EditOrigin origin = EditOrigin::Implanted;
  std::string source;  // qparam key or tensor propagated from
  std::string from_type, to_type;
  QuantParams quant;
  TensorEdit::Data data = TensorEdit::Data::None;
  bool new_buffer = false;
  std::string reexpressed;  // why it took the other 8-bit type (plan/reexpress.h), if it did
  std::string relayout;     // how its value was moved to the model's layout, if it was
};

// An operator q-implant added (float interface, mixed-precision boundary).
struct InsertedOperator {
  uint32_t subgraph = 0;
  uint32_t index = 0;  // in the output model
  std::string op;      // "QUANTIZE"
  std::vector<std::string> inputs, outputs;
  std::string reason;
};

// An operator code whose version the implant raised for its operators' new operand types
// (TFLite's versioning table, model/op_version.h).
struct VersionChange {
  uint32_t code_index = 0;  // in the model's operator codes
  std::string op;           // "CONV_2D"
  int32_t from = 1, to = 1;
};

struct ImplantResult {
  Format format = Format::Circle;
  std::vector<ChangeRecord> changes;  // model order
  // Tensors that stay float32 (mixed precision: allow_float or keep_float), with the reason.
  std::vector<FloatFinding> float_tensors;
  std::vector<InsertedOperator> inserted_operators;  // output order
  std::vector<VersionChange> version_changes;        // operator code order
  size_t float_operators = 0;                        // input operators that run in float
  Target target = Target::ONE;
  std::vector<Finding> findings;  // rule check: warnings, and errors when forced
  size_t output_bytes = 0;
  size_t subgraph_count = 0;
};

// Throws Error with a complete, user-facing message on any problem.
ImplantResult implant(const ImplantOptions& options);

}  // namespace qimplant
