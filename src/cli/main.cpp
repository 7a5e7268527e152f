// q-implant command line: argument parsing and printing only; the work is in the library.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/implant_flags.h"
#include "cli/man_page.h"
#include "implant.h"
#include "report/report.h"
#include "report/text.h"
#include "util/error.h"
#include "util/progress.h"

namespace {

std::string quant_text(const qimplant::QuantParams& q) {
  std::ostringstream os;
  os.precision(7);
  if (q.scale.size() == 1) {
    os << "scale " << q.scale[0] << " zero_point " << q.zero_point[0];
  } else {
    os << "per-channel x" << q.scale.size() << " along dim " << q.quantized_dimension << " (scale "
       << q.scale.front() << " .. " << q.scale.back() << ")";
  }
  return os.str();
}

void print_result(const qimplant::ImplantOptions& o, const qimplant::ImplantResult& r,
                  bool verbose) {
  for (const auto& c : r.changes) {
    if (!verbose) continue;
    std::string data;
    if (c.data == qimplant::TensorEdit::Data::FromValue) data = ", data from value";
    if (c.data == qimplant::TensorEdit::Data::Quantized) data = ", data quantized from float";
    if (c.new_buffer) data += " (new buffer: the old one is shared)";
    std::cout << "  " << qimplant::origin_name(c.origin) << "  '" << c.tensor << "'";
    if (r.subgraph_count > 1) std::cout << " (subgraph " << c.subgraph << ")";
    std::cout << ": " << c.from_type << " -> " << c.to_type << ", " << quant_text(c.quant) << data;
    if (c.origin == qimplant::EditOrigin::Propagated) std::cout << ", from '" << c.source << "'";
    if (c.origin == qimplant::EditOrigin::Derived) std::cout << " [" << c.source << "]";
    if (!c.reexpressed.empty()) std::cout << " [re-expressed: " << c.reexpressed << "]";
    if (!c.relayout.empty()) std::cout << " [" << c.relayout << "]";
    std::cout << "\n";
  }
  for (const auto& f : r.float_tensors) {
    std::cout << "  kept float  '" << f.tensor << "'";
    if (r.subgraph_count > 1) std::cout << " (subgraph " << f.ref.subgraph << ")";
    std::cout << ": " << f.reason << "\n";
  }
  for (const auto& op : r.inserted_operators) {
    if (!verbose) break;
    std::cout << "  inserted  " << op.op << " (operator " << op.index;
    if (r.subgraph_count > 1) std::cout << " of subgraph " << op.subgraph;
    std::cout << "):";
    for (const auto& t : op.inputs) std::cout << " '" << t << "'";
    std::cout << " ->";
    for (const auto& t : op.outputs) std::cout << " '" << t << "'";
    std::cout << " [" << op.reason << "]\n";
  }
  for (const auto& v : r.version_changes) {
    if (!verbose) break;
    std::cout << "  version  " << v.op << " (operator code " << v.code_index << "): " << v.from
              << " -> " << v.to << " [TFLite's versioning table for the new operand types]\n";
  }
  std::cout << qimplant::summary_line(o, r) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "q-implant: write quantization parameters (qparam.json + .npy) into a circle or tflite "
      "model.\n\nUsage: q-implant input.circle qparam.json output.circle [options]",
      "q-implant"};
  app.set_version_flag("--version", std::string("q-implant ") + QIMPLANT_VERSION);

  qimplant::ImplantOptions o;
  std::string pos_input, pos_param, pos_output;
  app.add_option("input", pos_input, "fp32 model (.circle or .tflite)");
  app.add_option("qparam", pos_param, "qparam.json (npy paths are relative to its directory)");
  app.add_option("output", pos_output, "quantized model to write (same format as the input)");
  app.add_option("--input", o.input, "same as the first positional argument");
  app.add_option("--param,--qparam", o.qparam, "same as the second positional argument");
  app.add_option("--output", o.output, "same as the third positional argument");
  qimplant::cli::ImplantFlags flags;
  qimplant::cli::add_implant_flags(app, o, flags);
  app.add_flag("--in-place", o.in_place, "allow the output to be the input file");
  app.add_flag("--dry-run", o.dry_run, "check everything and report, but write nothing");
  std::string report;
  app.add_option("--report", report,
                 "write a JSON report of every change and finding to this file");
  bool verbose = false, quiet = false, json = false;
  app.add_flag("-v,--verbose", verbose,
               "print every tensor changed, and every rule-check finding on its own line");
  app.add_flag("--json", json,
               "print the report (as --report writes it) on stdout instead of the summary");
  app.add_flag("-q,--quiet", quiet, "print nothing on success");
  // Hidden, for tests: the size at which --buffers auto switches to external.
  app.add_option("--external-threshold-for-tests", o.external_threshold_for_tests)->group("");

  // Subcommands register here; each is chosen by its name as the first argument.
  std::vector<qimplant::cli::Subcommand> subcommands;
  subcommands.push_back(qimplant::cli::add_inspect_command(app));
  subcommands.push_back(qimplant::cli::add_names_command(app));
  subcommands.push_back(qimplant::cli::add_extract_command(app));
  subcommands.push_back(qimplant::cli::add_check_command(app));
  subcommands.push_back(qimplant::cli::add_eval_command(app));
  subcommands.push_back(qimplant::cli::add_convert_params_command(app));
  app.require_subcommand(0, 1);
  // Hidden, for the build: writes the man page from this very app definition (cli/man_page.h).
  app.add_option_function<std::string>(
         "--man-page",
         [&app](const std::string& path) {
           std::ofstream out(path);
           out << qimplant::cli::man_page(app, QIMPLANT_VERSION);
           if (!out.flush()) throw CLI::FileError("cannot write the man page to " + path);
           throw CLI::Success();
         })
      ->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error exits 2, as documented (CLI11 uses 100+).
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (auto& sub : subcommands) {
    if (!sub.app->parsed()) continue;
    try {
      return sub.run();
    } catch (const qimplant::Error& e) {
      std::cerr << "q-implant: error: " << qimplant::printable(e.what()) << "\n";
    } catch (const std::bad_alloc&) {
      std::cerr << "q-implant: error: out of memory\n";
    } catch (const std::exception& e) {
      std::cerr << "q-implant: internal error: " << qimplant::printable(e.what()) << "\n";
    }
    return 1;
  }

  auto pick = [](std::string& opt, const std::string& pos, const char* name) {
    if (!opt.empty() && !pos.empty() && opt != pos) {
      throw CLI::ValidationError(std::string(name) +
                                 " given twice, as an option and as a "
                                 "positional argument");
    }
    if (opt.empty()) opt = pos;
    if (opt.empty()) throw CLI::RequiredError(name);
  };
  try {
    pick(o.input, pos_input, "input");
    pick(o.qparam, pos_param, "qparam");
    if (!o.dry_run || !pos_output.empty() || !o.output.empty())
      pick(o.output, pos_output, "output");
  } catch (const CLI::ParseError& e) {
    std::cerr << "q-implant: " << e.what() << "\nRun with --help for usage.\n";
    return 2;
  }
  qimplant::cli::apply_implant_flags(flags, o);

  const auto progress = qimplant::Progress::for_stderr(quiet);
  o.progress = progress.get();
  // Once implant() returns the output exists: a failure after that (writing the report) must not
  // claim that nothing was written.
  bool output_written = false;
  const auto written_note = [&] {
    return output_written ? "; the output '" + o.output + "' was written" : std::string();
  };
  try {
    const qimplant::ImplantResult result = qimplant::implant(o);
    output_written = !o.dry_run;
    // Findings the rule check repeats over many tensors are grouped unless -v; --report and
    // --json keep every one.
    std::vector<qimplant::Finding> shown;
    for (const auto& f : result.findings)
      if (!quiet || f.severity == qimplant::Severity::Error) shown.push_back(f);
    for (const auto& line : qimplant::finding_lines(shown, verbose))
      std::cerr << "q-implant: " << qimplant::printable(line) << "\n";
    if (!report.empty()) qimplant::write_json_file(report, qimplant::implant_report(o, result));
    if (json) {
      std::cout << qimplant::json_report_text(qimplant::implant_report(o, result));
    } else if (!quiet) {
      print_result(o, result, verbose);
    }
    return 0;
  } catch (const qimplant::Error& e) {
    std::cerr << "q-implant: error: " << qimplant::printable(e.what()) << written_note() << "\n";
  } catch (const std::bad_alloc&) {
    std::cerr << "q-implant: error: out of memory"
              << (output_written ? written_note() : "; nothing was written") << "\n";
  } catch (const std::exception& e) {
    std::cerr << "q-implant: internal error: " << qimplant::printable(e.what())
              << (output_written ? written_note() : "; nothing was written") << "\n";
  }
  return 1;
}
