#include "qparam/qparam_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

const char* const kKnownKeys[] = {"dtype", "scale", "zerop", "quantized_dimension", "value"};

std::string json_type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string (" + j.dump() + ")";
    case json::value_t::boolean: return "a boolean (" + j.dump() + ")";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer (" + j.dump() + ")";
    case json::value_t::number_float: return "a number (" + j.dump() + ")";
    default: return "an unsupported value";
  }
}

class EntryReader {
 public:
  EntryReader(const QParamFile& file, const std::string& key) : file_(file), key_(key) {}

  std::string where(const std::string& field) const {
    return "qparam file '" + file_.path + "': tensor '" + key_ + "': \"" + field + "\"";
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
    const std::string path = resolve_npy_path(file_.dir, name);
    try {
      return npy::load(path);
    } catch (const Error& e) {
      fail(field, e.what());
    }
  }

  QParamEntry read(const json& obj) const {
    if (!obj.is_object()) {
      throw Error("qparam file '" + file_.path + "': tensor '" + key_ +
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
    auto qtype = parse_qtype(dtype);
    if (!qtype) fail("dtype", "unknown dtype '" + dtype + "', expected one of " + qtype_names());
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
    if (e.scale.empty()) fail("scale", "npy file '" + scale.path + "' is empty, expected at least one scale");
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
      if (it->is_number_unsigned() ? it->get<uint64_t>() > 1000u
                                   : (it->get<int64_t>() < 0 || it->get<int64_t>() > 1000))
        fail("quantized_dimension", "expected a dimension index >= 0, found " + it->dump());
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
      if (value.kind != qi.npy_kind || value.item_size != qi.size) {
        fail("value", "npy file '" + value.path + "': expected " + qi.name +
                          " data (the entry's dtype), found " + npy::describe(value));
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

  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("qparam file '" + path + "': cannot open: " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error("qparam file '" + path + "': cannot read: " + std::strerror(errno));
  const std::string text = buf.str();

  // Duplicate keys are almost always a copy-paste slip; nlohmann would keep the last silently.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second) duplicate = k;
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text, on_event);
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    if (auto p = msg.find("] "); msg.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      msg = msg.substr(p + 2);
    throw Error("qparam file '" + path + "': malformed JSON: " + msg);
  }
  if (!duplicate.empty())
    throw Error("qparam file '" + path + "': tensor '" + duplicate +
                "' appears more than once; give each tensor one entry");
  if (!root.is_object()) {
    throw Error("qparam file '" + path +
                "': expected a JSON object mapping tensor names to parameters, found " +
                json_type_name(root));
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    EntryReader reader(file, it.key());
    file.entries.push_back(reader.read(it.value()));
  }
  return file;
}

}  // namespace qimplant
