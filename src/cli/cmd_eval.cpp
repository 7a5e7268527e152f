// `q-implant eval float.model quantized.model` (or `--implant qparam.json`): run both models in
// the reference interpreter and report how far the quantized one is from the float one.
// Parsing and printing only; the work is in src/eval/.
#include <iostream>
#include <memory>
#include <string>

#include "check/rule_check.h"
#include "cli/commands.h"
#include "cli/implant_flags.h"
#include "eval/eval.h"
#include "report/text.h"

namespace qimplant::cli {

Subcommand add_eval_command(CLI::App& app) {
  struct Args {
    eval::EvalOptions options;
    std::vector<std::string> inputs;
    std::string implant, implant_output;
    ImplantOptions implant_options;  // the implant flags below, used with --implant
    ImplantFlags implant_flags;
    std::vector<CLI::Option*> implant_flag_options;
    double max_error = 0, min_snr = 0;
    bool json = false;
    CLI::Option *max_error_opt = nullptr, *min_snr_opt = nullptr;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "eval",
      "run the float and the quantized model on the same inputs and compare them (exit 1 when "
      "a --max-error / --min-snr threshold is missed)");
  sub->add_option("float", args->options.float_model, "fp32 .circle or .tflite model")->required();
  sub->add_option("quantized", args->options.quantized_model,
                  "quantized model made from it (or use --implant)");
  auto* input =
      sub->add_option("--input", args->inputs,
                      "NAME=FILE.npy: float32 data for the float model's input NAME, of its shape "
                      "(one sample) or (N, shape) (N samples); give every input, or none for "
                      "random samples")
          ->check([](const std::string& s) {
            const auto eq = s.find('=');
            return eq == std::string::npos || eq == 0 || eq + 1 == s.size()
                       ? "expected NAME=FILE.npy, found '" + s + "'"
                       : std::string();
          });
  sub->add_option("--samples", args->options.samples,
                  "number of random samples, uniform in each input's range (default 8)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->excludes(input);
  sub->add_option("--seed", args->options.seed, "seed of the random samples (default 0)")
      ->excludes(input);
  sub->add_flag("--per-tensor", args->options.per_tensor,
                "also compare every tensor present in both models (by name and shape)");
  sub->add_flag("--json", args->json, "print the results as JSON instead of a table");
  args->max_error_opt =
      sub->add_option("--max-error", args->max_error,
                      "fail (exit 1) when a graph output's max abs error exceeds this (real units)")
          ->check(CLI::NonNegativeNumber);
  args->min_snr_opt = sub->add_option("--min-snr", args->min_snr,
                                      "fail (exit 1) when a graph output's SNR is below this (dB)");
  sub->add_option("--implant", args->implant,
                  "qparam.json: implant it into the float model first (into a temporary file) "
                  "and evaluate the result");
  sub->add_option("--implant-output", args->implant_output,
                  "with --implant: keep the implanted model at this path");
  args->implant_flag_options = add_implant_flags(*sub, args->implant_options, args->implant_flags);
  for (CLI::Option* opt : args->implant_flag_options)
    opt->group("Implant options (with --implant)");
  return {sub, [args]() {
            eval::EvalOptions& o = args->options;
            if (args->implant.empty() == o.quantized_model.empty()) {
              std::cerr << "q-implant eval: give either the quantized model or --implant "
                           "qparam.json, not "
                        << (args->implant.empty() ? "neither" : "both")
                        << "\nRun with --help for usage.\n";
              return 2;
            }
            if (!args->implant_output.empty() && args->implant.empty()) {
              std::cerr << "q-implant eval: --implant-output needs --implant\n";
              return 2;
            }
            for (const CLI::Option* opt : args->implant_flag_options) {
              if (opt->count() > 0 && args->implant.empty()) {
                std::cerr << "q-implant eval: " << opt->get_name() << " needs --implant\n";
                return 2;
              }
            }
            for (const auto& s : args->inputs) {
              const auto eq = s.find('=');
              o.inputs.push_back({s.substr(0, eq), s.substr(eq + 1)});
            }
            eval::Thresholds thresholds;
            if (*args->max_error_opt) thresholds.max_error = args->max_error;
            if (*args->min_snr_opt) thresholds.min_snr_db = args->min_snr;
            eval::EvalResult result;
            if (args->implant.empty()) {
              result = eval::evaluate(o);
            } else {
              ImplantOptions implant = args->implant_options;
              apply_implant_flags(args->implant_flags, implant);
              implant.input = o.float_model;
              implant.qparam = args->implant;
              implant.output = args->implant_output;
              ImplantResult implanted;
              result = eval::evaluate_implant(implant, o, &implanted);
              for (const auto& line : finding_lines(implanted.findings, false))
                std::cerr << "q-implant: implant: " << line << "\n";
            }
            if (args->json) {
              // Names that are not UTF-8 get U+FFFD, as in the --report file.
              std::cout << eval::eval_json(result, thresholds)
                               .dump(2, ' ', false,
                                     nlohmann::ordered_json::error_handler_t::replace)
                        << "\n";
            } else {
              std::cout << eval::eval_table(result);
            }
            const std::string missed = eval::check_thresholds(result, thresholds);
            if (!missed.empty()) {
              std::cerr << "q-implant eval: threshold missed: " << missed << "\n";
              return 1;
            }
            return 0;
          }};
}

}  // namespace qimplant::cli
