// `q-implant convert-params INPUT OUTDIR`: any parameter source → plain qparam.json + npy.
// Parsing and printing only; the work is in src/extract/convert_params.cpp.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "extract/convert_params.h"

namespace qimplant::cli {

Subcommand add_convert_params_command(CLI::App& app) {
  struct Args {
    ConvertParamsOptions options;
    std::string format = "auto", rules;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "convert-params",
      "write qparam.json (compact), AIMET encodings or an ONNX QDQ model as ONE's plain "
      "qparam.json + one npy per field");
  sub->add_option("input", args->options.input, "parameter file")->required();
  sub->add_option("outdir", args->options.outdir,
                  "directory for qparam.json and the npy files (created if missing)")
      ->required();
  sub->add_option("--param-format", args->format, "qparam, aimet, onnx or auto")
      ->check(CLI::IsMember({"auto", "qparam", "aimet", "onnx"}))
      ->capture_default_str();
  sub->add_option("--model", args->options.model,
                  "the float model: resolves per-channel dimensions and min / max ranges by "
                  "its tensors");
  sub->add_option("--rules", args->rules, "whose nudging turns min / max into parameters")
      ->check(CLI::IsMember({"one", "tflite"}));
  sub->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  return {sub, [args] {
            args->options.format = parse_param_format(args->format).value_or(ParamFormat::Auto);
            if (!args->rules.empty()) args->options.target = parse_target(args->rules);
            const ConvertParamsResult r = convert_params(args->options);
            if (args->quiet) return 0;
            for (const auto& n : r.notes) std::cout << "  " << n << "\n";
            std::cout << "q-implant: wrote " << r.qparam_path << " from " << r.source_format << ": "
                      << r.entries << " tensor(s), " << r.npy_files << " npy files\n";
            return 0;
          }};
}

}  // namespace qimplant::cli
