// The subcommands of the q-implant binary (inspect, names, extract, check, ...).
//
// Each one registers itself on the top-level CLI11 app and returns what main() runs when it was
// chosen. The top-level app itself is the implant command, so the original
// `q-implant input qparam.json output` form keeps working.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace qimplant::cli {

struct Subcommand {
  CLI::App* app = nullptr;
  // Returns the exit status. May throw qimplant::Error; main() prints it and returns 1.
  std::function<int()> run;
};

// q-implant inspect model [--json] [--tensors PATTERN] [--op TYPE]   (cmd_inspect.cpp)
Subcommand add_inspect_command(CLI::App& app);
// q-implant names model qparam.json [--name-map map.json]            (cmd_names.cpp)
Subcommand add_names_command(CLI::App& app);
// q-implant extract quantized.model outdir/ [--tensors PATTERN]      (cmd_extract.cpp)
Subcommand add_extract_command(CLI::App& app);
// check.cpp: `q-implant check model` (rule check + float check, --report).
Subcommand add_check_command(CLI::App& app);
// q-implant eval float.model (quantized.model | --implant qparam.json) [...]  (cmd_eval.cpp)
Subcommand add_eval_command(CLI::App& app);
// q-implant convert-params INPUT OUTDIR [--param-format F] [--model M]  (cmd_convert_params.cpp)
Subcommand add_convert_params_command(CLI::App& app);

}  // namespace qimplant::cli
