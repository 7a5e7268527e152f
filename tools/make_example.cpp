// Writes the bundled examples: ONE's README Conv2D model (ifm, ker, bias, ofm) in circle form
// with its qparam.json + npy files (OUTDIR/conv2d), and the same model with a qparam.json that
// leaves the bias out for q-implant to derive (OUTDIR/conv2d-derived-bias). examples/ was made
// with it; the test suite checks that the committed files still match what this writes.
#include <sys/stat.h>

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
    using namespace qimplant::test;
    const std::string root = argv[1];
    const std::string plain = root + "/conv2d", derived = root + "/conv2d-derived-bias";
    mkdir(plain.c_str(), 0755);
    mkdir(derived.c_str(), 0755);
    conv2d_model(qimplant::Format::Circle).save(plain + "/Conv2D_000.circle");
    write_qparams(plain, conv2d_qparams());
    conv2d_model(qimplant::Format::Circle).save(derived + "/Conv2D_000.circle");
    write_qparams(derived, conv2d_qparams_derived_bias());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qimplant-make-example: %s\n", e.what());
    return 1;
  }
  return 0;
}
