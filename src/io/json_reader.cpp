#include "io/json_reader.h"

#include <memory>
#include <string_view>
#include <unordered_set>

#include "util/error.h"

namespace qimplant {

namespace {

// "line L, column C" of byte `at` (both from 1).
std::string line_and_column(const char* text, size_t at) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// Where the nesting first goes past kMaxJsonDepth (only called for text that does).
size_t too_deep_at(const char* text, size_t size) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return size;
}

// Builds the document through the library's SAX interface: a hash set per large object finds
// repeated keys, and members are appended to the ordered map's vector directly, each key having
// been checked once.
class Builder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  bool null() { return put(Json(nullptr)) != nullptr; }
  bool boolean(bool v) { return put(Json(v)) != nullptr; }
  bool number_integer(number_integer_t v) { return put(Json(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return put(Json(v)) != nullptr; }
  bool number_float(number_float_t v, const string_t&) { return put(Json(v)) != nullptr; }
  bool string(string_t& v) { return put(Json(std::move(v))) != nullptr; }
  bool binary(binary_t& v) { return put(Json::binary(std::move(v))) != nullptr; }
  bool start_object(size_t) { return open(Json::object()); }
  bool start_array(size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    Frame& f = frames_.back();
    const auto& members = f.value->get_ref<const Json::object_t&>();
    // Objects of a few keys (a qparam entry) are searched; larger ones get a set of their keys.
    bool repeated = false;
    if (members.size() < 16) {
      for (const auto& m : members) repeated = repeated || m.first == k;
    } else {
      if (!f.keys) {
        f.keys = std::make_unique<std::unordered_set<std::string>>();
        for (const auto& m : members) f.keys->insert(m.first);
      }
      repeated = !f.keys->insert(k).second;
    }
    if (repeated) {
      duplicate_ = k;
      for (size_t i = 1; i < frames_.size(); ++i) duplicate_path_.push_back(frames_[i].name);
      return false;
    }
    key_ = std::move(k);
    return true;
  }

  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_id_ = e.id;
    error_ = e.what();
    return false;
  }

  Json root;
  std::string error_;
  int error_id_ = 0;
  bool too_deep_ = false;
  std::string duplicate_;
  std::vector<std::string> duplicate_path_;

 private:
  struct Frame {
    Json* value;
    std::string name;  // the key or index of this container in its parent
    std::unique_ptr<std::unordered_set<std::string>> keys;
  };

  // Appends `v` to the open container (or makes it the root) and returns where it now lives.
  // Pointers to open containers stay valid: only the innermost one grows.
  Json* put(Json&& v, std::string* name = nullptr) {
    if (frames_.empty()) {
      root = std::move(v);
      return &root;
    }
    Json& parent = *frames_.back().value;
    if (parent.is_array()) {
      auto& items = parent.get_ref<Json::array_t&>();
      if (name) *name = std::to_string(items.size());
      items.push_back(std::move(v));
      return &items.back();
    }
    auto& members = static_cast<Json::object_t::Container&>(parent.get_ref<Json::object_t&>());
    if (name) *name = key_;
    members.emplace_back(std::move(key_), std::move(v));
    return &members.back().second;
  }

  bool open(Json&& v) {
    if (frames_.size() >= kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    std::string name;
    Json* at = put(std::move(v), &name);
    frames_.push_back({at, std::move(name), nullptr});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  std::vector<Frame> frames_;
  std::string key_;
};

// The library's message without its "[json.exception.parse_error.101] " prefix.
std::string without_prefix(std::string msg) {
  if (auto p = msg.find("] "); msg.rfind("[json.exception", 0) == 0 && p != std::string::npos)
    msg = msg.substr(p + 2);
  return msg;
}

}  // namespace

Json parse_json(const char* text, size_t size, const std::string& where,
                const DuplicateKeyMessage& duplicate_message) {
  Builder b;
  const std::string_view all(text, size);
  bool ok = false;
  try {
    ok = Json::sax_parse(text, text + size, &b);
  } catch (const Json::exception& e) {  // the SAX interface reports through parse_error
    b.error_id_ = e.id;
    b.error_ = e.what();
  }
  if (ok) return std::move(b.root);
  if (b.too_deep_) {
    throw Error(where + ": malformed JSON: arrays and objects nested more than " +
                std::to_string(kMaxJsonDepth) + " deep at " +
                line_and_column(text, too_deep_at(text, size)) +
                " (q-implant's inputs nest a few levels)");
  }
  if (!b.duplicate_.empty()) {
    if (duplicate_message)
      throw Error(where + ": " + duplicate_message(b.duplicate_path_, b.duplicate_));
    std::string in = "the top-level object";
    if (!b.duplicate_path_.empty()) {
      in = "\"";
      for (size_t i = 0; i < b.duplicate_path_.size(); ++i)
        in += (i ? "/" : "") + printable(b.duplicate_path_[i], true);
      in += "\"";
    }
    throw Error(where + ": key \"" + printable(b.duplicate_, true) +
                "\" appears more than once in " + in + "; give each key once");
  }
  std::string msg = without_prefix(b.error_);
  if (b.error_id_ == 406) {
    // out_of_range 406 ("number overflow parsing '1e999'") carries no position: the first
    // occurrence of the number gives it.
    const size_t open = msg.find('\'');
    const size_t close = open == std::string::npos ? open : msg.find('\'', open + 1);
    if (close != std::string::npos && close > open + 1) {
      const size_t at = all.find(msg.substr(open + 1, close - open - 1));
      if (at != std::string_view::npos) msg += " at " + line_and_column(text, at);
    }
    msg += ": the number is outside the range of a double";
  }
  // Python's json.dump writes NaN and Infinity, for which JSON has no spelling.
  for (const char* word : {"NaN", "Infinity"})
    if (all.find(word) != std::string_view::npos)
      msg += std::string(" (the file contains ") + word +
             ", which is not JSON: a value that is not a finite number)";
  throw Error(where + ": malformed JSON: " + msg);
}

}  // namespace qimplant
