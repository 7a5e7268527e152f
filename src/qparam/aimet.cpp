#include "qparam/aimet.h"

#include <cmath>
#include <map>
#include <sstream>

#include "util/error.h"
#include "util/json_text.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

std::string show(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& entry, const std::string& field,
                         const std::string& what) const {
    throw Error("encodings file '" + path_ + "': " + entry +
                (field.empty() ? "" : ": \"" + field + "\"") + ": " + what);
  }

  const json& need(const json& obj, const std::string& entry, const std::string& field) const {
    auto it = obj.find(field);
    if (it == obj.end()) fail(entry, field, "missing");
    return *it;
  }

  double number(const json& v, const std::string& entry, const std::string& field) const {
    if (!v.is_number()) fail(entry, field, "expected a number, found " + json_type_name(v));
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(entry, field, "expected a finite number, found " + show(d));
    return d;
  }

  int64_t integer(const json& v, const std::string& entry, const std::string& field) const {
    const double d = number(v, entry, field);
    if (d != std::floor(d) || std::fabs(d) > 9.0e15)
      fail(entry, field, "expected an integer, found " + show(d));
    return static_cast<int64_t>(d);
  }

  std::vector<double> numbers(const json& v, const std::string& entry,
                              const std::string& field) const {
    std::vector<double> out;
    if (v.is_array()) {
      if (v.empty()) fail(entry, field, "expected at least one value, found an empty list");
      for (const json& x : v) out.push_back(number(x, entry, field));
    } else {
      out.push_back(number(v, entry, field));
    }
    return out;
  }

  bool truth(const json& v, const std::string& entry, const std::string& field) const {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_string()) {
      if (v == "True" || v == "true") return true;
      if (v == "False" || v == "false") return false;
    }
    fail(entry, field, "expected \"True\" or \"False\", found " + v.dump());
  }

  // Legacy (0.6.1 / 1.0.0) channels → q-implant's dtype and zero points. The unsigned grid is
  // kept for 4 and 8 bits unless the encoding is the signed symmetric one (offset -2^(bw-1) on
  // every channel); 16 and 32 bits have only signed types here, so their zero points move by
  // 2^(bw-1): the same real values either way.
  QParamEntry from_legacy(const std::string& entry, const std::string& name, int64_t bw, bool sym,
                          const std::vector<double>& scale, const std::vector<int64_t>& offset) {
    QParamEntry e;
    e.key = name;
    if (bw != 4 && bw != 8 && bw != 16 && bw != 32)
      fail(entry, "bitwidth",
           "is " + std::to_string(bw) + ", which has no tensor type (expected 4, 8, 16 or 32)");
    const int64_t half = int64_t(1) << (bw - 1);
    const int64_t top = (int64_t(1) << bw) - 1;
    for (size_t i = 0; i < offset.size(); ++i) {
      if (-offset[i] < 0 || -offset[i] > top)
        fail(entry, "offset",
             "[" + std::to_string(i) + "] is " + std::to_string(offset[i]) + ", outside the " +
                 std::to_string(bw) + "-bit grid (expected -" + std::to_string(top) +
                 " .. 0: AIMET's offset is minus the zero point on the "
                 "unsigned grid); the bitwidth and the offset disagree");
    }
    bool signed_sym = sym;
    for (int64_t o : offset) signed_sym = signed_sym && o == -half;
    const bool is_signed = bw >= 16 || signed_sym;
    e.dtype = bw == 4    ? (is_signed ? QType::Int4 : QType::UInt4)
              : bw == 8  ? (is_signed ? QType::Int8 : QType::UInt8)
              : bw == 16 ? QType::Int16
                         : QType::Int32;
    for (size_t i = 0; i < scale.size(); ++i) {
      e.scale.push_back(static_cast<float>(scale[i]));
      e.zero_point.push_back(-offset[i] - (is_signed ? half : 0));
    }
    if (scale.size() > 1) e.quantized_dimension_auto = true;
    check_entry(e, "encodings file '" + path_ + "': " + entry);
    return e;
  }

  void add(QParamFile& file, QParamEntry e, const std::string& entry) {
    auto it = seen_.find(e.key);
    if (it != seen_.end()) {
      const QParamEntry& prev = file.entries[it->second.first];
      if (prev.dtype != e.dtype || prev.scale != e.scale || prev.zero_point != e.zero_point)
        fail(entry, "",
             "the name is also in " + it->second.second + " with other values (" +
                 qtype_info(prev.dtype).name + " scale " + show(prev.scale[0]) + " zero point " +
                 std::to_string(prev.zero_point[0]) + " there, " + qtype_info(e.dtype).name +
                 " scale " + show(e.scale[0]) + " zero point " + std::to_string(e.zero_point[0]) +
                 " here); expected one encoding per tensor");
      return;
    }
    seen_.emplace(e.key, std::make_pair(file.entries.size(), entry));
    file.entries.push_back(std::move(e));
  }

  // 0.4.0 .. 0.6.1: {name: [encoding per channel]}.
  void read_dict_section(QParamFile& file, const json& section, const std::string& sname) {
    if (!section.is_object())
      fail(sname, "",
           "expected an object mapping tensor names to lists of encodings (version "
           "0.6.1), found " +
               json_type_name(section));
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string entry = sname + " '" + it.key() + "'";
      const json& list = it.value();
      if (!list.is_array() || list.empty())
        fail(entry, "",
             "expected a non-empty list of encodings (one per channel), found " +
                 json_type_name(list));
      int64_t bw = 0;
      bool sym = false;
      std::vector<double> scale;
      std::vector<int64_t> offset;
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string at = entry + "[" + std::to_string(i) + "]";
        const json& enc = list[i];
        if (!enc.is_object())
          fail(at, "", "expected an encoding object, found " + json_type_name(enc));
        if (auto d = enc.find("dtype"); d != enc.end() && *d != "int")
          fail(at, "dtype",
               "is " + d->dump() +
                   "; only integer encodings (\"int\") have a "
                   "quantized tensor type");
        const int64_t b = integer(need(enc, at, "bitwidth"), at, "bitwidth");
        const bool s = truth(need(enc, at, "is_symmetric"), at, "is_symmetric");
        if (i > 0 && (b != bw || s != sym))
          fail(at, b != bw ? "bitwidth" : "is_symmetric",
               "differs from the first channel's (" + std::to_string(bw) + " bits, symmetric " +
                   (sym ? "True" : "False") + "); expected one bitwidth and symmetry per tensor");
        bw = b;
        sym = s;
        for (const char* f : {"min", "max"})
          if (enc.contains(f)) number(enc.at(f), at, f);
        scale.push_back(number(need(enc, at, "scale"), at, "scale"));
        offset.push_back(integer(need(enc, at, "offset"), at, "offset"));
      }
      add(file, from_legacy(entry, it.key(), bw, sym, scale, offset), entry);
    }
  }

  // 1.0.0: [{name, dtype, enc_type, bw, is_sym, scale[], offset[]}].
  void read_list_section(QParamFile& file, const json& section, const std::string& sname) {
    if (!section.is_array())
      fail(sname, "",
           "expected a list of encodings (version 1.0.0), found " + json_type_name(section));
    for (size_t i = 0; i < section.size(); ++i) {
      const json& enc = section[i];
      std::string entry = sname + "[" + std::to_string(i) + "]";
      if (!enc.is_object())
        fail(entry, "", "expected an encoding object, found " + json_type_name(enc));
      const json& name = need(enc, entry, "name");
      if (!name.is_string())
        fail(entry, "name", "expected a string, found " + json_type_name(name));
      entry = sname + " '" + name.get<std::string>() + "'";
      const json& dtype = need(enc, entry, "dtype");
      if (dtype != "INT")
        fail(entry, "dtype",
             "is " + dtype.dump() +
                 "; only \"INT\" encodings have a quantized "
                 "tensor type");
      const json& type = need(enc, entry, "enc_type");
      if (type != "PER_TENSOR" && type != "PER_CHANNEL")
        fail(entry, "enc_type",
             "is " + type.dump() +
                 ", which q-implant cannot represent (expected PER_TENSOR or "
                 "PER_CHANNEL; per-block, LPBQ and vector encodings have no circle / tflite form)");
      const int64_t bw = integer(need(enc, entry, "bw"), entry, "bw");
      const bool sym = truth(need(enc, entry, "is_sym"), entry, "is_sym");
      const std::vector<double> scale = numbers(need(enc, entry, "scale"), entry, "scale");
      std::vector<int64_t> offset;
      const json& off = need(enc, entry, "offset");
      if (off.is_array()) {
        for (const json& o : off) offset.push_back(integer(o, entry, "offset"));
      } else {
        offset.push_back(integer(off, entry, "offset"));
      }
      if (offset.size() != scale.size())
        fail(entry, "offset",
             "has " + std::to_string(offset.size()) + " values, expected " +
                 std::to_string(scale.size()) + " (one per scale)");
      if (type == "PER_TENSOR" && scale.size() != 1)
        fail(entry, "scale",
             "has " + std::to_string(scale.size()) + " values, expected 1 for enc_type PER_TENSOR");
      add(file, from_legacy(entry, name.get<std::string>(), bw, sym, scale, offset), entry);
    }
  }

  // 2.0.0: ONNX terms: a zero point on output_dtype's own grid.
  void read_v2(QParamFile& file, const json& list) {
    if (!list.is_array())
      fail("encodings", "", "expected a list (version 2.0.0), found " + json_type_name(list));
    for (size_t i = 0; i < list.size(); ++i) {
      const json& enc = list[i];
      std::string entry = "encodings[" + std::to_string(i) + "]";
      if (!enc.is_object())
        fail(entry, "", "expected an encoding object, found " + json_type_name(enc));
      const json& name = need(enc, entry, "name");
      if (!name.is_string())
        fail(entry, "name", "expected a string, found " + json_type_name(name));
      entry = "encodings '" + name.get<std::string>() + "'";
      if (enc.contains("block_size"))
        fail(entry, "block_size",
             "block-wise encodings have no circle / tflite form "
             "(expected per-tensor or per-axis)");
      const json& od = need(enc, entry, "output_dtype");
      if (!od.is_string())
        fail(entry, "output_dtype", "expected a string, found " + json_type_name(od));
      const std::string t = od.get<std::string>();
      int64_t shift = 0;
      std::optional<QType> qtype = parse_qtype(t);
      if (t == "uint16") {
        qtype = QType::Int16;  // same real values on the int16 grid
        shift = 32768;
      }
      if (!qtype || qtype == QType::Int64)
        fail(entry, "output_dtype",
             "is '" + t +
                 "', which has no quantized tensor type here "
                 "(expected int4, uint4, int8, uint8, int16, uint16 or int32)");
      QParamEntry e;
      e.key = name.get<std::string>();
      e.dtype = *qtype;
      for (double s : numbers(need(enc, entry, "y_scale"), entry, "y_scale"))
        e.scale.push_back(static_cast<float>(s));
      if (enc.contains("y_zero_point")) {
        const json& zp = enc.at("y_zero_point");
        if (zp.is_array()) {
          for (const json& z : zp)
            e.zero_point.push_back(integer(z, entry, "y_zero_point") - shift);
        } else {
          e.zero_point.push_back(integer(zp, entry, "y_zero_point") - shift);
        }
        if (e.zero_point.size() == 1 && e.scale.size() > 1)
          e.zero_point.assign(e.scale.size(), e.zero_point[0]);
      } else {
        e.zero_point.assign(e.scale.size(), -shift);
      }
      if (e.zero_point.size() != e.scale.size())
        fail(entry, "y_zero_point",
             "has " + std::to_string(e.zero_point.size()) + " values, expected " +
                 std::to_string(e.scale.size()) + " (one per y_scale)");
      if (e.scale.size() > 1) {
        if (!enc.contains("axis"))
          fail(entry, "axis",
               "missing: y_scale has " + std::to_string(e.scale.size()) + " values (per-axis)");
        integer(enc.at("axis"), entry, "axis");
        e.quantized_dimension_auto = true;
      }
      check_entry(e, "encodings file '" + path_ + "': " + entry);
      add(file, std::move(e), entry);
    }
  }

 private:
  const std::string& path_;
  std::map<std::string, std::pair<size_t, std::string>> seen_;
};

}  // namespace

bool is_aimet_encodings(const json& root) {
  return root.is_object() &&
         (root.contains("activation_encodings") || root.contains("param_encodings") ||
          (root.contains("encodings") && root.at("encodings").is_array()));
}

QParamFile read_aimet_encodings(const std::string& path, const json& root) {
  QParamFile file;
  file.path = path;
  Reader r(path);
  std::string version = "0.4.0";  // the spec: files without a version follow 0.4.0
  if (auto v = root.find("version"); v != root.end()) {
    if (!v->is_string())
      r.fail("version", "", "expected a string such as \"1.0.0\", found " + v->dump());
    version = v->get<std::string>();
  }
  const bool v2 = root.contains("encodings");
  const bool listed = version.rfind("1.", 0) == 0;
  const bool legacy = version == "0.4.0" || version == "0.5.0" || version == "0.6.1";
  if (v2) {
    if (version.rfind("2.", 0) != 0 && root.contains("version"))
      r.fail("version", "",
             "is \"" + version +
                 "\", but the file has the 2.0.0 layout "
                 "(\"encodings\"); expected \"2.0.0\"");
    r.read_v2(file, root.at("encodings"));
    file.format = "AIMET encodings 2.0.0";
    return file;
  }
  if (!listed && !legacy)
    r.fail("version", "",
           "is \"" + version +
               "\", an unknown encodings version (expected "
               "0.4.0, 0.5.0, 0.6.1, 1.0.0 or 2.0.0)");
  for (const char* section : {"param_encodings", "activation_encodings"}) {
    auto it = root.find(section);
    if (it == root.end()) continue;
    if (listed) {
      r.read_list_section(file, *it, section);
    } else {
      r.read_dict_section(file, *it, section);
    }
  }
  file.format = "AIMET encodings " + version;
  return file;
}

}  // namespace qimplant
