// Every parameter format q-implant reads, behind one call that returns the same checked
// QParamFile the pipeline has always read from qparam.json.
//
// Auto-detection looks at the content, not the name: JSON whose top level has
// "activation_encodings", "param_encodings" or a list "encodings" is AIMET / QNN encodings
// (qparam/aimet.h); other JSON is qparam.json (plain or compact, qparam/qparam_file.h); a
// protobuf that parses as an ONNX ModelProto is an ONNX QDQ model (qparam/onnx_qdq.h).
// --param-format forces one.
#pragma once

#include <optional>
#include <string>

#include "match/source_graph.h"
#include "qparam/qparam_file.h"

namespace qimplant {

enum class ParamFormat { Auto, QParam, Aimet, Onnx };

std::optional<ParamFormat> parse_param_format(const std::string& text);  // auto|qparam|aimet|onnx
const char* param_format_name(ParamFormat f);

// The format `path` holds (never Auto); throws Error when it is none of them.
ParamFormat detect_param_format(const std::string& path);

// Throws Error naming the file, the entry, the field, expected and found.
// `depth` applies to qparam.json (the other formats hold their arrays in the one file).
QParamFile read_param_source(const std::string& path, ParamFormat format = ParamFormat::Auto,
                             QParamDepth depth = QParamDepth::Full);

// The entries and, when the source carries one (ONNX QDQ models), the producer's graph for
// `--match structure`: nullopt for JSON formats (their graph lives in a separate
// qparam.graph.json). The file is read once.
struct ParamSource {
  QParamFile qparams;
  std::optional<SourceGraph> graph;
};
ParamSource read_param_source_with_graph(const std::string& path,
                                         ParamFormat format = ParamFormat::Auto,
                                         QParamDepth depth = QParamDepth::Full);

}  // namespace qimplant
