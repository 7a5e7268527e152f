#include "cli/implant_flags.h"

#include "rules/target.h"

namespace qimplant::cli {

std::vector<CLI::Option*> add_implant_flags(CLI::App& app, ImplantOptions& o, ImplantFlags& f) {
  std::vector<CLI::Option*> added;
  added.push_back(app.add_option("--rounding", f.rounding,
                                 "how halves round when quantizing float constants: half-even "
                                 "(PyTorch) or half-away (TFLite)")
                      ->check(CLI::IsMember({"half-even", "half-away"}))
                      ->capture_default_str());
  added.push_back(app.add_flag(
      "--no-propagate", f.no_propagate,
      "do not carry parameters through value-preserving ops (Reshape, Transpose, ...)"));
  added.push_back(app.add_flag("--allow-float", o.allow_float,
                               "mixed precision: tensors without parameters stay float32 and "
                               "their operators run in float, with DEQUANTIZE / QUANTIZE "
                               "inserted at each boundary"));
  added.push_back(app.add_option("--keep-float", o.keep_float,
                                 "tensors that stay float32 (their operators run in float): "
                                 "names, #<sg>:<name>, re:/glob: patterns or op:TYPE (every "
                                 "output of that operator type), comma-separated")
                      ->delimiter(','));
  added.push_back(app.add_option("--no-derive", f.no_derive,
                                 "rules not to apply to what qparam.json leaves out: bias, fixed, "
                                 "same-scale, constants, all")
                      ->delimiter(',')
                      ->check(CLI::IsMember({"bias", "fixed", "same-scale", "constants", "all"})));
  added.push_back(app.add_option("--rules", f.rules,
                                 "target whose rules apply: one (default for circle) or tflite "
                                 "(default for tflite)")
                      ->check(CLI::IsMember({"one", "tflite"})));
  added.push_back(app.add_option("--input-type", o.interface.inputs,
                                 "keep model inputs float32 with a QUANTIZE after them: float32 "
                                 "for all inputs, or one type per input (float32 or the "
                                 "implanted type), comma-separated")
                      ->delimiter(','));
  added.push_back(
      app.add_option("--output-type", o.interface.outputs,
                     "keep model outputs float32 with a DEQUANTIZE before them (as --input-type)")
          ->delimiter(','));
  added.push_back(app.add_option("--activation-type", o.activation_type,
                                 "re-express every 8-bit activation (inputs and outputs "
                                 "included) as int8 or uint8: the same scale, zero point moved "
                                 "by 128")
                      ->check(CLI::IsMember({"int8", "uint8"})));
  added.push_back(app.add_flag("--no-requantize", f.no_requantize,
                               "refuse same-scale conflicts instead of inserting a "
                               "requantizing QUANTIZE where the kernel does not rescale"));
  added.push_back(app.add_flag("--force", o.force,
                               "write even when the rule check finds errors (they are printed)"));
  added.push_back(app.add_flag("--no-check", f.no_check, "skip the per-operator rule check"));
  added.push_back(app.add_option("--buffers", f.buffers,
                                 "where buffer data goes: inline (in the FlatBuffer, < 2 GB), "
                                 "external (after it, offset/size) or auto (the input's layout; "
                                 "external past 2 GB)")
                      ->check(CLI::IsMember({"auto", "inline", "external"}))
                      ->capture_default_str());
  added.push_back(app.add_option("--name-map", o.name_map,
                                 "JSON object mapping qparam.json keys to model tensor names, "
                                 "applied before lookup"));
  added.push_back(app.add_option("--param-format", f.param_format,
                                 "what the parameter file is: qparam (qparam.json, plain or "
                                 "compact), aimet (AIMET / QNN encodings 0.6.1, 1.0.0, 2.0.0), "
                                 "onnx (an ONNX QDQ model) or auto (from its content)")
                      ->check(CLI::IsMember({"auto", "qparam", "aimet", "onnx"}))
                      ->capture_default_str());
  added.push_back(app.add_option("--match", f.match,
                                 "how keys find their tensors: name (as written, or through "
                                 "--name-map) or structure (align the exporter's graph file with "
                                 "the model's operators; --name-map entries win)")
                      ->check(CLI::IsMember({"name", "structure"}))
                      ->capture_default_str());
  added.push_back(app.add_option("--structure", o.structure,
                                 "graph file for --match structure (default: the graph an ONNX "
                                 "QDQ model carries, else qparam.graph.json next to qparam.json)"));
  return added;
}

void apply_implant_flags(const ImplantFlags& f, ImplantOptions& o) {
  o.propagate = !f.no_propagate;
  o.match_structure = f.match == "structure";
  o.check_rules = !f.no_check;
  o.requantize = !f.no_requantize;
  for (const auto& d : f.no_derive) {
    const bool all = d == "all";
    if (all || d == "bias") o.derive.bias = false;
    if (all || d == "fixed") o.derive.fixed_outputs = false;
    if (all || d == "same-scale") o.derive.same_scale = false;
    if (all || d == "constants") o.derive.constants = false;
  }
  if (!f.rules.empty()) o.target = parse_target(f.rules);
  o.buffers = f.buffers == "inline"     ? BufferLayout::Inline
              : f.buffers == "external" ? BufferLayout::External
                                        : BufferLayout::Auto;
  o.param_format = parse_param_format(f.param_format).value_or(ParamFormat::Auto);
  o.rounding = f.rounding == "half-away" ? Rounding::HalfAwayFromZero : Rounding::HalfToEven;
}

}  // namespace qimplant::cli
