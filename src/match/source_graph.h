// The graph a set of quantization parameters was computed on, as its producer saw it.
//
// `--match structure` aligns this graph with the model's operators to find, for every qparam
// key, the model tensor it describes, when the converter between the two renamed tensors. Two
// producers fill it: the PyTorch exporter (python/qimplant/torch.py) writes it as a JSON file
// next to qparam.json (format below), and the ONNX QDQ reader builds it from the ONNX graph.
//
// File format ("qparam.graph.json" beside qparam.json, unless --structure names another file):
//   {
//     "format": "qimplant-graph", "version": 1,
//     "producer": "qimplant.torch 0.1.0 (torch 1.13.1)",     // free text, for messages
//     "inputs":  ["quant"],             // activation keys of the graph inputs, model order
//     "outputs": ["fc2"],               // activation keys of the graph outputs
//     "nodes": [                        // execution order
//       {"op": "conv2d", "output": "conv1", "inputs": ["quant"],
//        "weight": "conv1.weight", "bias": "conv1.bias",
//        "weight_shape": [8, 3, 3, 3],  // as the weight's value npy holds it (model layout)
//        "activation": "relu",          // fused into this node by the producer; "" or absent: none
//        "module": "conv1", "type": "QuantizedConvReLU2d"}   // optional, for messages
//     ]
//   }
// Keys (output, inputs, weight, bias) are qparam.json keys; a key may be named here and have
// no qparam.json entry (a tensor the producer did not quantize). "op" is one of the kinds of
// `source_op_kinds()`; an unknown kind is kept as written and matches only an operator of the
// same name (case-insensitive TFLite builtin name, e.g. "GATHER").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qimplant {

struct SourceNode {
  std::string op;                     // a kind of source_op_kinds(), or a builtin operator name
  std::string output;                 // activation key of the node's output
  std::vector<std::string> inputs;    // activation keys of its data inputs, operand order
  std::string weight, bias;           // constant keys; empty when none
  std::vector<int64_t> weight_shape;  // empty when unknown
  std::string activation;             // fused activation: "", "relu", "relu6", "relu_n1_to_1"
  std::string module, type;           // producer's own names, for messages
};

struct SourceGraph {
  std::string path;  // where it was read from, for messages
  std::string producer;
  std::vector<std::string> inputs, outputs;
  std::vector<SourceNode> nodes;  // execution order
};

// The op kinds producers write: "conv2d", "depthwise_conv2d", "conv_transpose2d", "linear",
// "add", "sub", "mul", "cat", "relu", "relu6", "hardtanh", "sigmoid", "tanh", "softmax",
// "hardswish", "leaky_relu", "max_pool2d", "avg_pool2d", "mean", "flatten", "reshape",
// "transpose", "pad", "identity".
const std::vector<std::string>& source_op_kinds();

// Throws Error naming the file, the node index and the field for every problem (not JSON, wrong
// format or version, a field of the wrong type, a key used as the output of two nodes, an input
// that is neither a graph input nor an earlier node's output, an unknown activation, a key used
// both as a constant and as an activation).
// Fields the format does not define are ignored, so producers may add their own.
SourceGraph read_source_graph(const std::string& path);

// Writes `graph` in the format above (atomically: complete or not at all); read_source_graph
// reads it back equal. Throws Error naming `path` when it cannot be written.
void write_source_graph(const SourceGraph& graph, const std::string& path);

}  // namespace qimplant
