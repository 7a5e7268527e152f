// How a JSON value is named in messages ("a string (\"x\")", "an integer (3)", ...).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace qimplant {

inline std::string json_type_name(const nlohmann::ordered_json& j) {
  using value_t = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case value_t::null:
      return "null";
    case value_t::object:
      return "an object";
    case value_t::array:
      return "an array";
    case value_t::string:
      return "a string (" + j.dump() + ")";
    case value_t::boolean:
      return "a boolean (" + j.dump() + ")";
    case value_t::number_integer:
    case value_t::number_unsigned:
      return "an integer (" + j.dump() + ")";
    case value_t::number_float:
      return "a number (" + j.dump() + ")";
    default:
      return "an unsupported value";
  }
}

}  // namespace qimplant

namespace qimplant {

// The text of an exception nlohmann's parser threw for `text`, without the library's
// "[json.exception...]" prefix. parse_error carries its own line and column; a number outside the
// double range (out_of_range 406, "number overflow parsing '1e999'") carries none, so the line and
// column of the first occurrence of the number are added.
inline std::string json_parse_error_text(const nlohmann::ordered_json::exception& e,
                                         const std::string& text) {
  std::string msg = e.what();
  if (auto p = msg.find("] "); msg.rfind("[json.exception", 0) == 0 && p != std::string::npos)
    msg = msg.substr(p + 2);
  if (e.id != 406) return msg;
  const size_t open = msg.find('\'');
  const size_t close = open == std::string::npos ? open : msg.find('\'', open + 1);
  std::string where;
  if (close != std::string::npos) {
    const std::string token = msg.substr(open + 1, close - open - 1);
    const size_t at = token.empty() ? std::string::npos : text.find(token);
    if (at != std::string::npos) {
      size_t line = 1, column = 1;
      for (size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      where = " at line " + std::to_string(line) + ", column " + std::to_string(column);
    }
  }
  return msg + where + ": the number is outside the range of a double";
}

// json_parse_error_text, plus a hint when the text holds NaN or Infinity: Python's json.dump
// writes them, and JSON has no spelling for them.
inline std::string json_error_with_hints(const nlohmann::ordered_json::exception& e,
                                         const std::string& text) {
  std::string msg = json_parse_error_text(e, text);
  for (const char* word : {"NaN", "Infinity"})
    if (text.find(word) != std::string::npos)
      msg += std::string(" (the file contains ") + word +
             ", which is not JSON: a value that is not a finite number)";
  return msg;
}

}  // namespace qimplant
