#include "qparam/param_source.h"

#include <cctype>
#include <cstring>

#include <nlohmann/json.hpp>

#include "io/json_reader.h"
#include "io/mapped_file.h"
#include "qparam/aimet.h"
#include "qparam/onnx_qdq.h"
#include "util/error.h"
#include "util/json_text.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

std::string text_of(const std::string& path) {
  const auto mapped = MappedFile::open(path, "parameter file");
  return std::string(reinterpret_cast<const char*>(mapped->data()), mapped->size());
}

}  // namespace

std::optional<ParamFormat> parse_param_format(const std::string& text) {
  if (text == "auto") return ParamFormat::Auto;
  if (text == "qparam") return ParamFormat::QParam;
  if (text == "aimet") return ParamFormat::Aimet;
  if (text == "onnx") return ParamFormat::Onnx;
  return std::nullopt;
}

const char* param_format_name(ParamFormat f) {
  switch (f) {
    case ParamFormat::Auto:
      return "auto";
    case ParamFormat::QParam:
      return "qparam";
    case ParamFormat::Aimet:
      return "aimet";
    case ParamFormat::Onnx:
      return "onnx";
  }
  return "?";
}

namespace {

// JSON or ONNX, from the first bytes; throws Error when it is neither.
bool looks_like_json(const std::string& path) {
  // Opened as "qparam file" so that a missing file, a directory or a FIFO reads as before.
  const auto mapped = MappedFile::open(path, "qparam file");
  const uint8_t* d = mapped->data();
  const size_t n = mapped->size();
  size_t i = 0;
  if (n >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) i = 3;  // UTF-8 BOM
  while (i < n && std::isspace(d[i])) ++i;
  // Text that starts like JSON (or nothing) is JSON: qparam.json's reader names its problems.
  if (i == n || std::strchr("{[\"-0123456789tfn", d[i]) != nullptr) return true;
  if (looks_like_onnx(d, n)) return false;
  throw Error("parameter file '" + path +
              "': neither JSON (qparam.json, AIMET encodings) nor an ONNX model (expected one "
              "of them; --param-format names the format)");
}

QParamFile read_aimet(const std::string& path, const json& root) {
  if (!is_aimet_encodings(root))
    throw Error("encodings file '" + path +
                "': no \"activation_encodings\", \"param_encodings\" or \"encodings\" list "
                "(expected an AIMET encodings layout: 0.6.1, 1.0.0 or 2.0.0)");
  return read_aimet_encodings(path, root);
}

}  // namespace

ParamFormat detect_param_format(const std::string& path) {
  if (!looks_like_json(path)) return ParamFormat::Onnx;
  try {
    if (is_aimet_encodings(parse_qparam_json(path))) return ParamFormat::Aimet;
  } catch (const Error&) {
  }
  return ParamFormat::QParam;
}

QParamFile read_param_source(const std::string& path, ParamFormat format, QParamDepth depth) {
  if (format == ParamFormat::Auto) {
    if (!looks_like_json(path)) return read_onnx_qdq(path).qparams;
    // Parsed once: a 100,000-key qparam.json takes half a second to parse. A text that does not
    // parse, or repeats a key, is refused in qparam.json's words, as the format it most likely is.
    const json root = parse_qparam_json(path);
    if (is_aimet_encodings(root)) return read_aimet(path, root);
    return read_qparam_json(path, root, depth);
  }
  switch (format) {
    case ParamFormat::QParam:
      return read_qparam_file(path, depth);
    case ParamFormat::Aimet:
      return read_aimet(path, parse_json(text_of(path), "encodings file '" + path + "'"));
    case ParamFormat::Onnx:
      return read_onnx_qdq(path).qparams;
    case ParamFormat::Auto:
      break;
  }
  throw Error("parameter file '" + path + "': no format");
}

ParamSource read_param_source_with_graph(const std::string& path, ParamFormat format,
                                         QParamDepth depth) {
  if (format == ParamFormat::Auto && !looks_like_json(path)) format = ParamFormat::Onnx;
  ParamSource out;
  if (format == ParamFormat::Onnx) {
    OnnxQdq q = read_onnx_qdq(path);
    out.qparams = std::move(q.qparams);
    out.graph = std::move(q.graph);
  } else {
    out.qparams = read_param_source(path, format, depth);
  }
  return out;
}

}  // namespace qimplant
