#include "qparam/qparam_file.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/json_text.h"

#include "io/json_reader.h"
#include "io/mapped_file.h"
#include "io/npz.h"
#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

const char* const kKnownKeys[] = {"dtype", "scale", "zerop", "quantized_dimension",
                                  "value", "min",   "max"};
const char* const kInlinePath = "(inline)";

bool is_float32_name(const std::string& dtype) {
  std::string lower;
  for (char c : dtype) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "float32";
}

// How messages name where an array came from.
std::string origin(const npy::Array& a) {
  if (a.path == kInlinePath) return "the inline value";
  return "npy file '" + a.path + "'";
}

// "npy file 'p'" → "'p'", as older messages quote a file ("one per scale in 'p'").
std::string quote_path(const std::string& from) {
  const std::string head = "npy file ";
  return from.rfind(head, 0) == 0 ? from.substr(head.size()) : from;
}

class EntryReader {
 public:
  EntryReader(const QParamFile& file, const std::string& key, NpzCache& npz, QParamDepth depth)
      : file_(file), key_(key), npz_(npz), depth_(depth) {}

  std::string where(const std::string& field) const {
    return "qparam file '" + file_.path + "': tensor '" + printable(key_, true) + "': \"" +
           printable(field, true) + "\"";
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

  // An npy path, or "archive.npz:member".
  npy::Array load_ref(const std::string& field, const std::string& name) const {
    // "" would resolve to the json's directory and fail as "is a directory", which hides the slip.
    if (name.empty()) fail(field, "expected the path of an .npy file, found an empty string");
    std::string archive, member;
    try {
      if (split_npz_ref(name, &archive, &member)) {
        if (member.empty())
          fail(field, "'" + name + "' names no member; expected \"" + archive + ":<array name>\"");
        return npz_.get(resolve_npy_path(file_.dir, archive)).member(member);
      }
      return npy::load(resolve_npy_path(file_.dir, name));
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("qparam file", 0) == 0) throw;
      fail(field, e.what());
    }
  }

  // A numeric field: a path (npy or npz member), a number or an array of numbers.
  npy::Array load_numbers(const json& value, const std::string& field, std::string* written) const {
    if (value.is_string()) {
      *written = value.get<std::string>();
      return load_ref(field, *written);
    }
    *written = value.dump();
    if (written->size() > 60) *written = written->substr(0, 57) + "...";
    std::vector<const json*> items;
    if (value.is_number()) {
      items.push_back(&value);
    } else if (value.is_array()) {
      if (value.empty()) fail(field, "expected at least one number, found an empty array");
      for (const json& v : value) {
        if (!v.is_number())
          fail(field,
               "expected an array of numbers, found an element that is " + json_type_name(v));
        items.push_back(&v);
      }
    } else {
      fail(field,
           "expected an npy path, a number or an array of numbers, found " + json_type_name(value));
    }
    bool integers = true;
    for (const json* v : items) integers = integers && !v->is_number_float();
    std::vector<uint8_t> bytes(items.size() * 8);
    for (size_t i = 0; i < items.size(); ++i) {
      if (integers) {
        if (items[i]->is_number_unsigned() && items[i]->get<uint64_t>() > uint64_t(INT64_MAX))
          fail(field, "element " + std::to_string(i) + " is " + items[i]->dump() +
                          ", beyond the int64 range");
        const int64_t x = items[i]->get<int64_t>();
        std::memcpy(bytes.data() + 8 * i, &x, 8);
      } else {
        const double x = items[i]->get<double>();
        std::memcpy(bytes.data() + 8 * i, &x, 8);
      }
    }
    npy::Array a;
    a.path = kInlinePath;
    a.descr = integers ? "<i8" : "<f8";
    a.kind = integers ? 'i' : 'f';
    a.item_size = 8;
    if (value.is_array()) a.shape = {static_cast<int64_t>(items.size())};
    a.storage = MappedFile::from_bytes(kInlinePath, std::move(bytes));
    a.data = a.storage->data();
    a.nbytes = a.storage->size();
    return a;
  }

  std::vector<float> floats(const json& obj, const std::string& field, std::string* written,
                            std::string* from) const {
    const npy::Array arr = load_numbers(obj.at(field), field, written);
    *from = origin(arr);
    if (arr.shape.size() > 1)
      fail(field, *from + ": expected a 1-D float32 array, found " + npy::describe(arr));
    try {
      if (arr.kind == 'i' && arr.path == kInlinePath) {
        std::vector<float> out;
        for (int64_t v : npy::to_int64(arr)) out.push_back(static_cast<float>(v));
        return out;
      }
      return npy::to_float32(arr);
    } catch (const Error& err) {
      fail(field, std::string(err.what()) + " (expected float32)");
    }
  }

  QParamEntry read(const json& obj) const {
    if (!obj.is_object()) {
      throw Error("qparam file '" + file_.path + "': tensor '" + printable(key_, true) +
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
                           "; expected dtype, scale, zerop (or min and max), "
                           "quantized_dimension and value");
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
    if (depth_ == QParamDepth::Keys) {
      if (auto it = obj.find("value"); it != obj.end())
        e.value_file = it->is_string() ? it->get<std::string>() : it->dump();
      return e;
    }

    const bool has_min = obj.contains("min"), has_max = obj.contains("max");
    const bool has_scale = obj.contains("scale"), has_zerop = obj.contains("zerop");
    std::string scale_from;
    if (has_min || has_max) {
      if (has_scale || has_zerop)
        fail(has_scale ? "scale" : "zerop",
             "give either \"scale\" and \"zerop\" or \"min\" and \"max\", not both");
      if (!has_min) fail("min", "missing: \"max\" is given, expected \"min\" with it");
      if (!has_max) fail("max", "missing: \"min\" is given, expected \"max\" with it");
      std::string wmin, wmax, fmin, fmax;
      e.range_min = floats(obj, "min", &wmin, &fmin);
      e.range_max = floats(obj, "max", &wmax, &fmax);
      if (e.range_min.empty()) fail("min", fmin + " is empty, expected at least one value");
      if (e.range_max.size() != e.range_min.size())
        fail("max", fmax + " has " + std::to_string(e.range_max.size()) + " values, expected " +
                        std::to_string(e.range_min.size()) + " (one per \"min\" value)");
      e.scale_file = wmin;
      e.zerop_file = wmax;
      scale_from = fmin;
    } else {
      if (!has_scale)
        fail("scale", "missing (expected a string naming an npy file, a number or an array)");
      if (!has_zerop)
        fail("zerop", "missing (expected a string naming an npy file, a number or an array)");
      std::string zerop_from;
      e.scale = floats(obj, "scale", &e.scale_file, &scale_from);
      const npy::Array zerop = load_numbers(obj.at("zerop"), "zerop", &e.zerop_file);
      zerop_from = origin(zerop);
      if (zerop.shape.size() > 1)
        fail("zerop", zerop_from + ": expected a 1-D int64 array, found " + npy::describe(zerop));
      try {
        e.zero_point = npy::to_int64(zerop);
      } catch (const Error& err) {
        fail("zerop", std::string(err.what()) + " (expected int64)");
      }
      if (e.scale.empty()) fail("scale", scale_from + " is empty, expected at least one scale");
      for (size_t i = 0; i < e.scale.size(); ++i) {
        const float s = e.scale[i];
        if (!std::isfinite(s) || !(s > 0.0f)) {
          std::ostringstream os;
          os << s;
          fail("scale", scale_from + ": scale[" + std::to_string(i) + "] is " + os.str() +
                            ", expected a finite value > 0");
        }
      }
      if (e.zero_point.size() != e.scale.size()) {
        fail("zerop", zerop_from + " has " + std::to_string(e.zero_point.size()) +
                          " zero points, expected " + std::to_string(e.scale.size()) +
                          " (one per scale in " + quote_path(scale_from) + ")");
      }
      for (size_t i = 0; i < e.zero_point.size(); ++i) {
        const int64_t z = e.zero_point[i];
        if (z < qi.min || z > qi.max) {
          fail("zerop", zerop_from + ": zerop[" + std::to_string(i) + "] is " + std::to_string(z) +
                            ", outside the range of " + qi.name + " [" + std::to_string(qi.min) +
                            ", " + std::to_string(qi.max) + "]");
        }
      }
    }
    const size_t channels = e.has_range() ? e.range_min.size() : e.scale.size();

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
    } else if (channels > 1) {
      fail("quantized_dimension",
           "missing: required because \"" + std::string(e.has_range() ? "min" : "scale") + "\" (" +
               quote_path(scale_from) + ") has " + std::to_string(channels) +
               " values (per-channel); give the index of the channel dimension");
    }
    check_entry(e, "qparam file '" + file_.path + "': tensor '" + printable(key_, true) + "'");

    if (auto it = obj.find("value"); it != obj.end()) {
      if (!it->is_string()) fail("value", "expected a string, found " + json_type_name(*it));
      e.value_file = it->get<std::string>();
      npy::Array value = load_ref("value", e.value_file);
      if (value.kind != qi.npy_kind || value.item_size != qi.unpacked_size) {
        fail("value", origin(value) + ": expected " +
                          (is_4bit(e.dtype) ? std::string(qi.npy_kind == 'i' ? "int8" : "uint8") +
                                                  " data holding " + qi.name + " values"
                                            : std::string(qi.name) + " data") +
                          " (the entry's dtype), found " + npy::describe(value));
      }
      if (e.has_range())
        fail("value",
             "\"min\" / \"max\" describe a range to quantize into; an entry with "
             "\"value\" (data already quantized) needs the \"scale\" and \"zerop\" "
             "it was quantized with");
      if (is_4bit(e.dtype)) {
        // One 4-bit value per byte; each must fit, or packing would change it.
        for (size_t i = 0; i < value.nbytes; ++i) {
          const int64_t v = qi.npy_kind == 'i' ? int64_t(static_cast<int8_t>(value.data[i]))
                                               : int64_t(value.data[i]);
          if (v < qi.min || v > qi.max) {
            fail("value", origin(value) + ": element " + std::to_string(i) + " is " +
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
  NpzCache& npz_;
  QParamDepth depth_;
};

}  // namespace

void check_entry(const QParamEntry& e, const std::string& where) {
  auto fail = [&](const std::string& field, const std::string& what) {
    throw Error(where + ": \"" + field + "\": " + what);
  };
  auto show = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  if (e.keep_float) return;
  const QTypeInfo& qi = qtype_info(e.dtype);
  for (size_t i = 0; i < e.scale.size(); ++i) {
    const float s = e.scale[i];
    if (!std::isfinite(s) || !(s > 0.0f))
      fail("scale",
           "scale[" + std::to_string(i) + "] is " + show(s) + ", expected a finite value > 0");
  }
  if (e.zero_point.size() != e.scale.size())
    fail("zerop", std::to_string(e.zero_point.size()) + " zero points, expected " +
                      std::to_string(e.scale.size()) + " (one per scale)");
  for (size_t i = 0; i < e.zero_point.size(); ++i) {
    const int64_t z = e.zero_point[i];
    if (z < qi.min || z > qi.max)
      fail("zerop", "zerop[" + std::to_string(i) + "] is " + std::to_string(z) +
                        ", outside the range of " + qi.name + " [" + std::to_string(qi.min) + ", " +
                        std::to_string(qi.max) + "]");
  }
  if (e.range_min.size() != e.range_max.size())
    fail("max", std::to_string(e.range_max.size()) + " values, expected " +
                    std::to_string(e.range_min.size()) + " (one per \"min\" value)");
  for (size_t i = 0; i < e.range_min.size(); ++i) {
    const float lo = e.range_min[i], hi = e.range_max[i];
    if (!std::isfinite(lo))
      fail("min", "min[" + std::to_string(i) + "] is " + show(lo) + ", expected a finite value");
    if (!std::isfinite(hi))
      fail("max", "max[" + std::to_string(i) + "] is " + show(hi) + ", expected a finite value");
    if (lo > hi)
      fail("min", "min[" + std::to_string(i) + "] is " + show(lo) + ", above max[" +
                      std::to_string(i) + "] = " + show(hi) + " (expected min <= max)");
  }
  const size_t channels = e.has_range() ? e.range_min.size() : e.scale.size();
  if (channels > 1 && !e.quantized_dimension && !e.quantized_dimension_auto)
    fail("quantized_dimension",
         "missing: required for " + std::to_string(channels) + " per-channel values");
}

std::string resolve_npy_path(const std::string& json_dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  if (json_dir.empty() || json_dir == ".") return name;
  return json_dir + "/" + name;
}

Json parse_qparam_json(const std::string& path) {
  // Mapped like the other inputs: a directory, FIFO or device given by mistake is named as such
  // (an ifstream opens a directory and reads nothing, which looked like malformed JSON).
  const auto mapped = MappedFile::open(path, "qparam file");
  // Duplicate keys are almost always a copy-paste slip: a tensor given twice, or a field given
  // twice inside one tensor's entry.
  return parse_json(
      reinterpret_cast<const char*>(mapped->data()), mapped->size(), "qparam file '" + path + "'",
      [](const std::vector<std::string>& at, const std::string& key) {
        if (at.empty())
          return "tensor '" + printable(key, true) +
                 "' appears more than once; give each tensor one entry";
        return "tensor '" + printable(at[0], true) + "': \"" + (at.size() == 1 ? "" : "...\": \"") +
               printable(key, true) + "\": appears more than once in the entry; give each key once";
      });
}

QParamFile read_qparam_json(const std::string& path, const Json& root, QParamDepth depth) {
  QParamFile file;
  file.path = path;
  const auto slash = path.find_last_of('/');
  file.dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (file.dir == "/") file.dir = "";  // "/" + name must not become "//name"
  if (!root.is_object()) {
    throw Error("qparam file '" + path +
                "': expected a JSON object mapping tensor names to parameters, found " +
                json_type_name(root));
  }
  NpzCache npz;
  file.entries.reserve(root.size());
  for (auto it = root.begin(); it != root.end(); ++it) {
    EntryReader reader(file, it.key(), npz, depth);
    file.entries.push_back(reader.read(it.value()));
  }
  return file;
}

QParamFile read_qparam_file(const std::string& path, QParamDepth depth) {
  return read_qparam_json(path, parse_qparam_json(path), depth);
}

}  // namespace qimplant
