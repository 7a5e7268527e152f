// Implants a model through the installed library: consumer MODEL QPARAM OUTPUT.
#include <cstdio>

#include <qimplant/implant.h>
#include <qimplant/util/error.h>
#include <qimplant/version.h>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  qimplant::ImplantOptions options;
  options.input = argv[1];
  options.qparam = argv[2];
  options.output = argv[3];
  try {
    const qimplant::ImplantResult result = qimplant::implant(options);
    std::printf("qimplant %s: %zu change(s), %zu bytes\n", QIMPLANT_VERSION, result.changes.size(),
                result.output_bytes);
    return result.changes.empty() ? 1 : 0;
  } catch (const qimplant::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
