// The command-line options that shape an implant, registered once for the implant command and
// for `eval --implant`, so both accept the same flags with the same meaning.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "implant.h"

namespace qimplant::cli {

// What the options hold as typed on the command line, before apply_implant_flags.
struct ImplantFlags {
  std::string rounding = "half-even";
  bool no_propagate = false;
  std::vector<std::string> no_derive;
  std::string rules;
  bool no_check = false;
  bool no_requantize = false;
  std::string buffers = "auto";
  std::string param_format = "auto";
  std::string match = "name";
};

// Registers --rounding, --no-propagate, --allow-float, --keep-float, --no-derive, --rules,
// --input-type, --output-type, --force, --no-check, --buffers, --name-map, --param-format,
// --match and --structure on `app`; values go to `options` and `flags`, which must outlive
// parsing. Returns the options registered.
std::vector<CLI::Option*> add_implant_flags(CLI::App& app, ImplantOptions& options,
                                            ImplantFlags& flags);

// Sets the fields of `options` that the textual flags stand for.
void apply_implant_flags(const ImplantFlags& flags, ImplantOptions& options);

}  // namespace qimplant::cli
