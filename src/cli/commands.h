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

}  // namespace qimplant::cli
