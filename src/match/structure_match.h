// Matching qparam.json keys to model tensors by structure (`--match structure`).
//
// The source graph (match/source_graph.h) is aligned with the operators of the model's first
// subgraph. Evidence, all of which must agree: the operator kind (a source kind stands for a few
// builtin operators), the weight shape (in the model's layout, as the exporter writes it),
// connectivity (which matched tensor each data input comes from, walking through operators a
// converter inserts: TRANSPOSE, RESHAPE, PAD, QUANTIZE, ..., op_properties' converter_inserted),
// and graph inputs and outputs by position. A fused activation is split off its operator on both
// sides first, so a ReLU fused into a convolution on one side lines up with a separate RELU on
// the other. Candidates are narrowed until nothing changes: by inputs, by consumers, and one model
// operator per source node. A node left with several candidates is ambiguous, with none
// impossible: both are errors naming the keys and the candidates. Execution order lists the
// nodes but never breaks a tie (converters reorder parallel branches), so nothing is a guess.
#pragma once

#include <string>
#include <vector>

#include "match/source_graph.h"
#include "model/model.h"
#include "model/model_file.h"
#include "qparam/qparam_file.h"
#include "resolve/key_match.h"

namespace qimplant {

struct StructureEntry {
  std::string key;     // qparam.json key, as the source graph names it
  TensorRef tensor;    // the model tensor it describes
  std::string lookup;  // the tensor as a key: its name, or "#0:<name>" when other subgraphs have it
  std::string reason;  // which node matched which operator, by what evidence
};

struct StructureMatch {
  std::string graph_path;
  std::vector<StructureEntry> entries;  // graph inputs, then each node's output, weight, bias
  // Keys the match leaves without a tensor that qparam.json does not need (not in `wanted`).
  std::vector<std::string> notes;
  const StructureEntry* find(const std::string& key) const;
  // The entries as a name map (path: "structure match of '<graph path>'").
  NameMap name_map() const;
};

// Matches every key of `graph` against `model` (subgraph 0). `wanted`: the keys qparam.json has;
// a key it does not list may stay unmatched (a note); nullptr wants every key. Throws one Error
// naming the structure file, the model and every wanted key that is ambiguous (with its
// candidates) or cannot be matched (with why each operator of its kind was ruled out).
StructureMatch match_structure(const ModelFile& model, const SourceGraph& graph,
                               const std::vector<std::string>* wanted);

// "qparam.graph.json" in the directory of `qparam_path`.
std::string default_structure_path(const std::string& qparam_path);

// What `--match structure` does: matches the keys of `qparams` that `name_map` (optional) does
// not map (an explicit entry wins, and is not matched at all, so it can settle what the
// structure leaves ambiguous) against the graph of `structure_path` when given, else the graph
// the parameter file carries (`carried`: an ONNX QDQ model's), else default_structure_path's.
StructureMatch match_structure_for(const ModelFile& model, const QParamFile& qparams,
                                   const std::string& structure_path, const NameMap* name_map,
                                   const SourceGraph* carried = nullptr);

}  // namespace qimplant
