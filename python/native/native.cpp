// qimplant_native: the q-implant commands run inside Python (pybind11), for qimplant.api.
//
// run(args) takes the arguments the binary would (["inspect", "m.circle", "--json"], or the
// implant's "model qparam output --json ...") and returns (exit status, stdout, stderr) as the
// binary would produce them: the subcommands are the binary's own (cli/commands.h, registered
// and run by the same functions), the implant takes the same option table (cli/implant_flags)
// and prints the same report and lines (report/report.h, report/text.h). So qimplant.api reads
// the same JSON and the same one-line messages whichever it uses.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <iostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/implant_flags.h"
#include "implant.h"
#include "report/report.h"
#include "report/text.h"
#include "util/error.h"

namespace {

// std::cout / std::cerr into strings for the duration of one command.
class Capture {
 public:
  Capture() : out_(std::cout.rdbuf(out.rdbuf())), err_(std::cerr.rdbuf(err.rdbuf())) {}
  ~Capture() {
    std::cout.rdbuf(out_);
    std::cerr.rdbuf(err_);
  }
  std::ostringstream out, err;

 private:
  std::streambuf* out_;
  std::streambuf* err_;
};

int parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }
  return -1;
}

// The implant command: the options of the binary's implant that concern its result (the
// shared implant flags, --in-place, --dry-run, --report, --json, -q, -v).
int implant_command(const std::vector<std::string>& args) {
  CLI::App app{"q-implant", "q-implant"};
  qimplant::ImplantOptions o;
  app.add_option("input", o.input)->required();
  app.add_option("qparam", o.qparam)->required();
  app.add_option("output", o.output);
  qimplant::cli::ImplantFlags flags;
  qimplant::cli::add_implant_flags(app, o, flags);
  app.add_flag("--in-place", o.in_place);
  app.add_flag("--dry-run", o.dry_run);
  std::string report;
  bool json = false, quiet = false, verbose = false;
  app.add_option("--report", report);
  app.add_flag("--json", json);
  app.add_flag("-q,--quiet", quiet);
  app.add_flag("-v,--verbose", verbose);
  if (const int status = parse(app, args); status >= 0) return status;
  if (o.output.empty() && !o.dry_run) {
    std::cerr << "q-implant: output is required\nRun with --help for usage.\n";
    return 2;
  }
  qimplant::cli::apply_implant_flags(flags, o);
  const qimplant::ImplantResult result = qimplant::implant(o);
  std::vector<qimplant::Finding> shown;
  for (const auto& f : result.findings)
    if (!quiet || f.severity == qimplant::Severity::Error) shown.push_back(f);
  for (const auto& line : qimplant::finding_lines(shown, verbose))
    std::cerr << "q-implant: " << qimplant::printable(line) << "\n";
  if (!report.empty()) qimplant::write_json_file(report, qimplant::implant_report(o, result));
  if (json) {
    std::cout << qimplant::implant_report(o, result).dump(2) << "\n";
  } else if (!quiet) {
    std::cout << qimplant::summary_line(o, result) << "\n";
  }
  return 0;
}

int subcommand(const std::vector<std::string>& args) {
  CLI::App app{"q-implant", "q-implant"};
  std::vector<qimplant::cli::Subcommand> subcommands = {
      qimplant::cli::add_inspect_command(app), qimplant::cli::add_names_command(app),
      qimplant::cli::add_extract_command(app), qimplant::cli::add_check_command(app),
      qimplant::cli::add_eval_command(app)};
  app.require_subcommand(1, 1);
  if (const int status = parse(app, args); status >= 0) return status;
  for (auto& sub : subcommands)
    if (sub.app->parsed()) return sub.run();
  return 2;
}

bool is_subcommand(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  for (const char* name : {"inspect", "names", "extract", "check", "eval"})
    if (args[0] == name) return true;
  return false;
}

std::tuple<int, std::string, std::string> run(const std::vector<std::string>& args) {
  Capture capture;
  int status = 1;
  try {
    status = is_subcommand(args) ? subcommand(args) : implant_command(args);
  } catch (const qimplant::Error& e) {
    std::cerr << "q-implant: error: " << qimplant::printable(e.what()) << "\n";
  } catch (const std::bad_alloc&) {
    std::cerr << "q-implant: error: out of memory; nothing was written\n";
  } catch (const std::exception& e) {
    std::cerr << "q-implant: internal error: " << qimplant::printable(e.what()) << "\n";
  }
  return {status, capture.out.str(), capture.err.str()};
}

}  // namespace

PYBIND11_MODULE(qimplant_native, m) {
  m.doc() = "q-implant's commands in-process (see qimplant.api)";
  m.attr("__version__") = QIMPLANT_VERSION;
  m.def(
      "run",
      [](const std::vector<std::string>& args) {
        pybind11::gil_scoped_release release;
        return run(args);
      },
      pybind11::arg("args"),
      "Runs q-implant with `args` (without the program name); returns (status, stdout, "
      "stderr) as the binary gives them.");
}
