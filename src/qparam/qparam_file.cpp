#include "qparam/qparam_file.h"

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/json_text.h"

#include "io/mapped_file.h"
#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

const char* const kKnownKeys[] = {"dtype", "scale", "zerop", "quantized_dimension", "value"};

// A key from qparam.json as messages show it: control characters escaped, so that a stray "\n"
// in a key cannot break the one-line message.
std::string printable(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

bool is_float32_name(const std::string& dtype) {
  std::string lower;
  for (char c : dtype) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "float32";
}

class EntryReader {
 public:
  EntryReader(const QParamFile& file, const std::string& key) : file_(file), key_(key) {}

  std::string where(const std::string& field) const {
    return "qparam file '" + file_.path + "': tensor '" + printable(key_) + "': \"" +
           printable(field) + "\"";
  }

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(where(field) + ": " + what);
  }

  std::string get_string(const json& obj, const std::string& field) const {
    auto it = obj.find(field);
    if (it == obj.end()) fail(field, "missing (expected a string)");
    if (!it->is_string()) fail(field, "expected a string, found " + json_type_name(*it));
    return it->get<std::string>();
  }

  npy::Array load_npy(const std::string& field, const std::string& name) const {
    // "" would resolve to the json's directory and fail as "is a directory", which hides the slip.
    if (name.empty()) fail(field, "expected the path of an .npy file, found an empty string");
    const std::string path = resolve_npy_path(file_.dir, name);
    try {
      return npy::load(path);
    } catch (const Error& e) {
      fail(field, e.what());
    }
  }

  QParamEntry read(const json& obj) const {
    if (!obj.is_object()) {
      throw Error("qparam file '" + file_.path + "': tensor '" + printable(key_) +
                  "': expected an object with \"dtype\", \"scale\", \"zerop\", found " +
                  json_type_name(obj));
    }
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known = false;
      for (const char* k : kKnownKeys) known = known || it.key() == k;
      if (!known) {
        std::vector<std::string> candidates(std::begin(kKnownKeys), std::end(kKnownKeys));
        auto best = closest_names(it.key(), candidates, 1);
        std::string hint = best.empty() ? "" : " (did you mean \"" + best[0] + "\"?)";
        fail(it.key(), "unknown key" + hint +
                           "; expected dtype, scale, zerop, quantized_dimension and value");
      }
    }

    QParamEntry e;
    e.key = key_;
    const std::string dtype = get_string(obj, "dtype");
    if (is_float32_name(dtype)) {
      // An opt-out of quantization, not parameters: anything else in it would be ignored.
      for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (it.key() == "dtype") continue;
        fail(it.key(),
             "a \"dtype\": \"float32\" entry keeps the tensor float32 and takes no "
             "other key; remove \"" +
                 it.key() +
                 "\" (to give the parameters of its "
                 "quantized copy, give a quantized entry and name the tensor in --keep-float)");
      }
      e.keep_float = true;
      return e;
    }
    auto qtype = parse_qtype(dtype);
    if (!qtype)
      fail("dtype", "unknown dtype '" + dtype + "', expected one of " + qtype_names() +
                        ", or float32 to keep the tensor float");
    e.dtype = *qtype;
    const QTypeInfo& qi = qtype_info(e.dtype);

    e.scale_file = get_string(obj, "scale");
    e.zerop_file = get_string(obj, "zerop");

    const npy::Array scale = load_npy("scale", e.scale_file);
    if (scale.shape.size() > 1)
      fail("scale", "npy file '" + scale.path + "': expected a 1-D float32 array, found " +
                        npy::describe(scale));
    try {
      e.scale = npy::to_float32(scale);
    } catch (const Error& err) {
      fail("scale", std::string(err.what()) + " (expected float32)");
    }
    if (e.scale.empty())
      fail("scale", "npy file '" + scale.path + "' is empty, expected at least one scale");
    for (size_t i = 0; i < e.scale.size(); ++i) {
      const float s = e.scale[i];
      if (!std::isfinite(s) || !(s > 0.0f)) {
        std::ostringstream os;
        os << s;
        fail("scale", "npy file '" + scale.path + "': scale[" + std::to_string(i) + "] is " +
                          os.str() + ", expected a finite value > 0");
      }
    }

    const npy::Array zerop = load_npy("zerop", e.zerop_file);
    if (zerop.shape.size() > 1)
      fail("zerop", "npy file '" + zerop.path + "': expected a 1-D int64 array, found " +
                        npy::describe(zerop));
    try {
      e.zero_point = npy::to_int64(zerop);
    } catch (const Error& err) {
      fail("zerop", std::string(err.what()) + " (expected int64)");
    }
    if (e.zero_point.size() != e.scale.size()) {
      fail("zerop", "npy file '" + zerop.path + "' has " + std::to_string(e.zero_point.size()) +
                        " zero points, expected " + std::to_string(e.scale.size()) +
                        " (one per scale in '" + scale.path + "')");
    }
    for (size_t i = 0; i < e.zero_point.size(); ++i) {
      const int64_t z = e.zero_point[i];
      if (z < qi.min || z > qi.max) {
        fail("zerop", "npy file '" + zerop.path + "': zerop[" + std::to_string(i) + "] is " +
                          std::to_string(z) + ", outside the range of " + qi.name + " [" +
                          std::to_string(qi.min) + ", " + std::to_string(qi.max) + "]");
      }
    }

    if (auto it = obj.find("quantized_dimension"); it != obj.end()) {
      if (!it->is_number_integer() && !it->is_number_unsigned())
        fail("quantized_dimension", "expected an integer, found " + json_type_name(*it));
      if (!it->is_number_unsigned() && it->get<int64_t>() < 0)
        fail("quantized_dimension", "expected a dimension index >= 0, found " + it->dump());
      // The planner checks it against the tensor's rank; this only keeps it in int32 range.
      if (it->get<uint64_t>() > 1000u)
        fail("quantized_dimension",
             "expected a dimension index smaller than the tensor's rank, found " + it->dump());
      e.quantized_dimension = it->get<int32_t>();
    } else if (e.scale.size() > 1) {
      fail("quantized_dimension",
           "missing: required because \"scale\" ('" + scale.path + "') has " +
               std::to_string(e.scale.size()) +
               " values (per-channel); give the index of the channel dimension");
    }

    if (auto it = obj.find("value"); it != obj.end()) {
      if (!it->is_string()) fail("value", "expected a string, found " + json_type_name(*it));
      e.value_file = it->get<std::string>();
      npy::Array value = load_npy("value", e.value_file);
      if (value.kind != qi.npy_kind || value.item_size != qi.unpacked_size) {
        fail("value", "npy file '" + value.path + "': expected " +
                          (is_4bit(e.dtype) ? std::string(qi.npy_kind == 'i' ? "int8" : "uint8") +
                                                  " data holding " + qi.name + " values"
                                            : std::string(qi.name) + " data") +
                          " (the entry's dtype), found " + npy::describe(value));
      }
      if (is_4bit(e.dtype)) {
        // One 4-bit value per byte; each must fit, or packing would change it.
        for (size_t i = 0; i < value.nbytes; ++i) {
          const int64_t v = qi.npy_kind == 'i' ? int64_t(static_cast<int8_t>(value.data[i]))
                                               : int64_t(value.data[i]);
          if (v < qi.min || v > qi.max) {
            fail("value", "npy file '" + value.path + "': element " + std::to_string(i) + " is " +
                              std::to_string(v) + ", outside the range of " + qi.name + " [" +
                              std::to_string(qi.min) + ", " + std::to_string(qi.max) + "]");
          }
        }
      }
      e.value = std::move(value);
    }
    return e;
  }

 private:
  const QParamFile& file_;
  const std::string& key_;
};

}  // namespace

std::string resolve_npy_path(const std::string& json_dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  if (json_dir.empty() || json_dir == ".") return name;
  return json_dir + "/" + name;
}

QParamFile read_qparam_file(const std::string& path) {
  QParamFile file;
  file.path = path;
  const auto slash = path.find_last_of('/');
  file.dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (file.dir == "/") file.dir = "";  // "/" + name must not become "//name"

  // Mapped like the other inputs: a directory, FIFO or device given by mistake is named as such
  // (an ifstream opens a directory and reads nothing, which looked like malformed JSON).
  const auto mapped = MappedFile::open(path, "qparam file");
  const std::string text(reinterpret_cast<const char*>(mapped->data()), mapped->size());

  // Duplicate keys are almost always a copy-paste slip; nlohmann would keep the last silently.
  // One set of keys per open object, so that a key repeated inside an entry is caught too.
  std::vector<std::set<std::string>> open_objects;
  std::string entry_key;                      // the tensor key being parsed (depth 1)
  std::string duplicate, duplicate_in_entry;  // first repeated key; its tensor if inside an entry
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == json::parse_event_t::key && !open_objects.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (depth == 1) entry_key = k;
      if (!open_objects.back().insert(k).second && duplicate.empty() && depth <= 2) {
        duplicate = k;
        if (depth == 2) duplicate_in_entry = entry_key;
      }
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text, on_event);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond the double range (1e999).
    throw Error("qparam file '" + path + "': malformed JSON: " + json_parse_error_text(e, text));
  }
  if (!root.is_object()) {
    throw Error("qparam file '" + path +
                "': expected a JSON object mapping tensor names to parameters, found " +
                json_type_name(root));
  }
  if (!duplicate.empty() && duplicate_in_entry.empty())
    throw Error("qparam file '" + path + "': tensor '" + printable(duplicate) +
                "' appears more than once; give each tensor one entry");
  if (!duplicate.empty())
    throw Error("qparam file '" + path + "': tensor '" + printable(duplicate_in_entry) + "': \"" +
                printable(duplicate) +
                "\": appears more than once in the entry; give each key once");
  for (auto it = root.begin(); it != root.end(); ++it) {
    EntryReader reader(file, it.key());
    file.entries.push_back(reader.read(it.value()));
  }
  return file;
}

}  // namespace qimplant
