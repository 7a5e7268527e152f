// Errors q-implant reports to its users.
//
// Every failure caused by the user's input (model, qparam.json, .npy files, options) is thrown as
// qimplant::Error whose message is complete on its own: it names the file, the tensor and the
// field, and says what was expected and what was found. The CLI prints it as one line and exits
// non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace qimplant {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Names in models and parameter files can hold control characters; messages show them escaped
// (\xNN) so that one message stays one line on the terminal. A multi-line report keeps its own
// line breaks unless `escape_line_breaks`, which a name inside a one-line message needs.
inline std::string printable(const std::string& text, bool escape_line_breaks = false) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (escape_line_breaks && (c == '\n' || c == '\t' || c == '\r')) {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r";
    } else if ((c < 0x20 && c != '\n') || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace qimplant
