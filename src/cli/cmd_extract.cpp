// `q-implant extract quantized.model outdir/ [--tensors PATTERN]`: the implant's inverse.
// Parsing and printing only; the work is in src/extract/.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "extract/extract.h"

namespace qimplant::cli {

Subcommand add_extract_command(CLI::App& app) {
  struct Args {
    ExtractOptions options;
    bool verbose = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "extract",
      "write the quantization parameters of a quantized model as qparam.json + .npy files "
      "(values for constants), in the input format of the implant");
  sub->add_option("model", args->options.input, "quantized circle or tflite model")->required();
  sub->add_option("outdir", args->options.outdir,
                  "directory to write qparam.json and the npy files into (created if missing; "
                  "files of the same names are replaced)")
      ->required();
  sub->add_option("--tensors", args->options.tensors,
                  "only tensors whose names match: a glob ('conv*'), 'glob:...' or 're:...' "
                  "(full match)");
  sub->add_flag("--compact", args->options.compact,
                "write scale / zerop inline and all values into one values.npz");
  sub->add_flag("-v,--verbose", args->verbose, "print every tensor written");
  sub->add_flag("-q,--quiet", args->quiet, "print nothing but warnings");
  return {sub, [args] {
            const ExtractResult r = extract(args->options);
            for (const auto& s : r.skipped) {
              std::cerr << "q-implant: warning: skipped '" << s.tensor << "'";
              if (s.subgraph) std::cerr << " (subgraph " << s.subgraph << ")";
              std::cerr << ": " << s.reason << "\n";
            }
            if (args->quiet) return 0;
            size_t values = 0;
            for (const auto& t : r.tensors) {
              values += t.value;
              if (!args->verbose) continue;
              std::cout << "  '" << t.key << "': " << t.dtype;
              if (t.channels > 1) std::cout << ", per-channel x" << t.channels;
              if (t.value) std::cout << ", value";
              std::cout << "\n";
            }
            std::cout << "q-implant: wrote " << r.qparam_path << ": " << r.tensors.size()
                      << " tensor(s), " << values << " with values, " << r.npy_files
                      << " npy files";
            if (!r.skipped.empty()) std::cout << " (" << r.skipped.size() << " skipped)";
            std::cout << "\n";
            return 0;
          }};
}

}  // namespace qimplant::cli
