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
