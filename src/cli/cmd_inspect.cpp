// `q-implant inspect model [--json] [--tensors PATTERN] [--op TYPE]`: what a model holds.
// Parsing and printing only; the description is built by src/inspect/.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "inspect/inspect.h"
#include "model/model_file.h"

namespace qimplant::cli {

Subcommand add_inspect_command(CLI::App& app) {
  struct Args {
    std::string model;
    bool json = false;
    InspectFilter filter;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "inspect",
      "print a model's subgraphs: inputs and outputs, operators in execution order with their "
      "tensors, and every tensor with dtype, shape, constness and quantization");
  sub->add_option("model", args->model, "circle or tflite model (float or quantized)")->required();
  sub->add_flag("--json", args->json, "print the same as JSON");
  sub->add_option("--tensors", args->filter.tensors,
                  "show tensors whose names match: a glob ('conv*'), 'glob:...' or 're:...' "
                  "(full match); operators are those that use them");
  sub->add_option("--op", args->filter.ops,
                  "show operators of this type (CONV_2D, conv2d, CUSTOM; repeat or separate "
                  "with commas); tensors are those they use")
      ->delimiter(',')
      ->allow_extra_args(false);
  return {sub, [args] {
            auto model = ModelFile::open(args->model);
            std::cout << (args->json ? inspect_json(model->info(), args->model, args->filter)
                                     : inspect_text(model->info(), args->model, args->filter));
            return 0;
          }};
}

}  // namespace qimplant::cli
