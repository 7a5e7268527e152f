// The q-implant(1) man page, written from the CLI11 definition of the command line itself: the
// options, their help text, value types, allowed values and defaults are the ones --help shows,
// so the page cannot drift from the tool. The build runs `q-implant --man-page FILE` (hidden).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace qimplant::cli {

// roff (man(7)) text for `app` and its subcommands; `version` goes into the page footer.
std::string man_page(const CLI::App& app, const std::string& version);

}  // namespace qimplant::cli
