// The one JSON parser for every JSON input (qparam.json, AIMET encodings, name maps, structure
// files). Objects keep the file's key order; the text is read in time linear in its size (the
// library's own object insertion searches every earlier key). Refused, with `where` (the file's
// role and name, "qparam file 'q.json'") leading the message:
//  - text that is not JSON, naming the line and column (and NaN / Infinity, which Python writes);
//  - a number beyond the range of a double (1e999);
//  - a key repeated in any object: the library would keep the last one silently;
//  - arrays and objects nested deeper than kMaxJsonDepth: nothing q-implant reads nests more than
//    a few levels, and the library's copy and print recurse once per level.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qimplant {

using Json = nlohmann::ordered_json;

inline constexpr size_t kMaxJsonDepth = 100;

// Phrases the refusal of a key given twice: `path` holds the keys (array elements as their
// index) from the root to the object that repeats `key`. Empty: "key \"k\" appears more than once
// in <path>; give each key once".
using DuplicateKeyMessage =
    std::function<std::string(const std::vector<std::string>& path, const std::string& key)>;

Json parse_json(const char* text, size_t size, const std::string& where,
                const DuplicateKeyMessage& duplicate_message = {});
inline Json parse_json(const std::string& text, const std::string& where,
                       const DuplicateKeyMessage& duplicate_message = {}) {
  return parse_json(text.data(), text.size(), where, duplicate_message);
}

}  // namespace qimplant
