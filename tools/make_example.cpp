// Writes the bundled example into a directory: ONE's README Conv2D model (ifm, ker, bias, ofm)
// in circle form, and its qparam.json with 0.npy .. 9.npy. examples/conv2d/ was made with it;
// the test suite checks that the committed files still match what this writes.
#include <cstdio>
#include <exception>
#include <string>

#include "support/fixtures.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qimplant-make-example OUTDIR\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    qimplant::test::conv2d_model(qimplant::Format::Circle).save(dir + "/Conv2D_000.circle");
    qimplant::test::write_qparams(dir, qimplant::test::conv2d_qparams());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qimplant-make-example: %s\n", e.what());
    return 1;
  }
  return 0;
}
