// The kernel tables of the reference interpreter.
//
// A kernel reads its inputs and fills outputs that the interpreter has already sized from the
// model (type, shape and quantization of each output tensor). It throws Error naming the operator
// (index and type) when its operands are not what it can compute: a wrong rank, a type it does not
// implement, parameters out of range. Kernels never guess.
//
// Three tables, chosen by the interpreter in this order:
//   generic  - ops that only move values (RESHAPE, TRANSPOSE, CONCATENATION of equal parameters,
//              ...): any element type;                                     (kernels_generic.cpp)
//   float    - float32 in, float32 out;                                      (kernels_float.cpp)
//   integer  - everything with quantized operands, following the integer-only arithmetic of
//              TFLite's reference kernels (bit-exact), plus QUANTIZE / DEQUANTIZE.
//              (kernels_int.cpp)
#pragma once

#include <cstdint>
#include <vector>

#include "exec/graph.h"
#include "exec/value.h"

namespace qimplant::exec {

// inputs[i] is nullptr for an omitted optional operand.
using Kernel = void (*)(const Node& node, const std::vector<const Value*>& inputs,
                        std::vector<Value*>& outputs);

// A generic kernel applies when `node`'s operands allow it (for instance CONCATENATION only when
// every input shares the output's type and parameters); nullptr otherwise.
Kernel find_generic_kernel(const Node& node, const std::vector<const Value*>& inputs,
                           const std::vector<Value*>& outputs);
Kernel find_float_kernel(int32_t code);
Kernel find_integer_kernel(int32_t code);

// Codes each table knows, for messages ("the interpreter runs: ...") and tests.
std::vector<int32_t> generic_kernel_codes();
std::vector<int32_t> float_kernel_codes();
std::vector<int32_t> integer_kernel_codes();

// "operator 3 (CONV_2D)": how every kernel message starts.
std::string describe(const Node& node);

}  // namespace qimplant::exec
