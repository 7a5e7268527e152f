// Models and qparam sets that several tests share.
#pragma once

#include <vector>

#include "support/model_builder.h"
#include "support/test_util.h"

namespace qimplant::test {

// ONE's README example: CONV_2D with ifm [1,2,2,2], ker [1,1,1,2], bias [1], ofm [1,2,2,1].
ModelBuilder conv2d_model(Format format);
// ONE's README qparam.json for it ("value" given for ker and bias), except that the bias
// parameters (5.npy, 6.npy) follow the bias rule: scale = ifm scale x ker scale, zero point 0.
// ONE's README has random numbers there, which the rule check rightly rejects.
std::vector<QParamSpec> conv2d_qparams();
// Exactly ONE's README values, bias included (the rule check reports them).
std::vector<QParamSpec> conv2d_qparams_one_readme();
// The same without the bias entry: q-implant derives it.
std::vector<QParamSpec> conv2d_qparams_derived_bias();

// Two inputs, two outputs: a = x + y, m = x * y, with a signature; int8 parameters for all four.
ModelBuilder two_by_two(Format format);
std::vector<QParamSpec> two_by_two_qparams();

}  // namespace qimplant::test
