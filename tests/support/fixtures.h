// Models and qparam sets that several tests share.
#pragma once

#include <vector>

#include "support/model_builder.h"
#include "support/test_util.h"

namespace qimplant::test {

// ONE's README example: CONV_2D with ifm [1,2,2,2], ker [1,1,1,2], bias [1], ofm [1,2,2,1].
ModelBuilder conv2d_model(Format format);
// The README's qparam.json for it (0.npy .. 9.npy values), "value" given for ker and bias.
std::vector<QParamSpec> conv2d_qparams();

}  // namespace qimplant::test
