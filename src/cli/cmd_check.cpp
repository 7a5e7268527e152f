// `q-implant check model`: the final float check and the rule check on any quantized model.
#include <iostream>
#include <memory>

#include "check/float_check.h"
#include "check/rule_check.h"
#include "cli/commands.h"
#include "model/model_file.h"
#include "report/report.h"
#include "util/error.h"

namespace qimplant::cli {

Subcommand add_check_command(CLI::App& app) {
  struct Args {
    std::string model, rules, report;
    bool quiet = false;
    bool json = false;
    bool allow_float = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "check", "check a quantized model against the target's rules (exit 1 on errors)");
  sub->add_option("model", args->model, "quantized .circle or .tflite model")->required();
  sub->add_option("--rules", args->rules, "target: one (default for circle) or tflite")
      ->check(CLI::IsMember({"one", "tflite"}));
  sub->add_option("--report", args->report, "also write the findings as JSON to this file");
  sub->add_flag("-q,--quiet", args->quiet, "print only errors");
  sub->add_flag("--json", args->json,
                "print the --report document on stdout instead of the findings (exit code "
                "unchanged)");
  sub->add_flag("--allow-float", args->allow_float,
                "mixed precision: accept operators that run in float (all of their run-time "
                "tensors float32); a float tensor entering a quantized operator is still an error");
  return {sub, [args]() {
            auto model = ModelFile::open(args->model);
            const ModelInfo& info = model->info();
            const Target target =
                args->rules.empty() ? default_target(info.format) : *parse_target(args->rules);
            const EditPlan none;
            const auto floats = find_float_tensors(info, none, args->allow_float);
            const auto findings = check_rules(info, none, target);
            size_t errors = 0;
            for (const auto& f : findings) errors += f.severity == Severity::Error;
            const size_t warnings = findings.size() - errors;
            const bool ok = errors == 0 && floats.empty();
            if (!args->report.empty() || args->json) {
              nlohmann::ordered_json r;
              r["model"] = args->model;
              r["format"] = format_name(info.format);
              r["target"] = target_name(target);
              r["ok"] = ok;
              r["float_tensors"] = float_tensors_json(floats);
              r["findings"] = findings_json(findings);
              if (!args->report.empty()) write_json_file(args->report, r);
              if (args->json) {
                std::cout << json_report_text(r);
                return ok ? 0 : 1;
              }
            }
            for (const auto& f : findings)
              if (f.severity == Severity::Error || !args->quiet)
                std::cout << describe_finding(info, f) << "\n";
            if (!floats.empty()) std::cout << describe_float_findings(info, floats) << "\n";
            std::cout << "q-implant check: " << args->model << " (" << format_name(info.format)
                      << ", " << target_name(target) << " rules): " << errors << " error(s), "
                      << warnings << " warning(s), " << floats.size() << " float tensor(s) "
                      << (ok ? "- ok" : "- not ok") << "\n";
            return ok ? 0 : 1;
          }};
}

}  // namespace qimplant::cli
