#include "extract/extract.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <system_error>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "model/shape.h"
#include "quant/pack4.h"
#include "quant/qtype.h"
#include "resolve/key_match.h"
#include "resolve/resolve.h"
#include "util/error.h"
#include "util/similar.h"

#include <zip.h>

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

const char* npy_descr(QType q) {
  switch (q) {
    case QType::UInt8:
      return "|u1";
    case QType::Int8:
      return "|i1";
    case QType::Int16:
      return "<i2";
    case QType::Int32:
      return "<i4";
    case QType::Int64:
      return "<i8";
    case QType::Int4:  // unpacked, one element per byte, as the implant's "value" takes it
      return "|i1";
    case QType::UInt4:
      return "|u1";
  }
  return "|u1";
}

// nlohmann refuses to write invalid UTF-8; ask it, so the check is exactly its own.
bool json_writable(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

struct Candidate {
  TensorRef ref;
  QType qtype;
  std::string key;
  bool constant = false;
};

// Why the implant could not take this tensor's parameters back, or "" when it can.
std::string unusable(const ModelInfo& model, const TensorInfo& t, QType q) {
  const QTypeInfo& qi = qtype_info(q);
  const QuantParams& p = t.quant;
  if (p.zero_point.empty()) return "it has scales but no zero points";
  if (p.zero_point.size() != p.scale.size()) {
    return "it has " + std::to_string(p.scale.size()) + " scales but " +
           std::to_string(p.zero_point.size()) + " zero points";
  }
  for (size_t i = 0; i < p.scale.size(); ++i) {
    if (!std::isfinite(p.scale[i]) || !(p.scale[i] > 0.0f))
      return "scale[" + std::to_string(i) + "] is not a finite value > 0";
  }
  for (size_t i = 0; i < p.zero_point.size(); ++i) {
    if (p.zero_point[i] < qi.min || p.zero_point[i] > qi.max) {
      return "zero_point[" + std::to_string(i) + "] = " + std::to_string(p.zero_point[i]) +
             " is outside the range of " + qi.name;
    }
  }
  const int64_t rank = static_cast<int64_t>(t.shape.size());
  if (p.scale.size() > 1) {
    const int32_t dim = p.quantized_dimension;
    if (dim < 0 || dim >= rank || t.shape[dim] != static_cast<int64_t>(p.scale.size())) {
      return "its " + std::to_string(p.scale.size()) + " per-channel scales along dimension " +
             std::to_string(dim) + " do not fit its shape " + shape_text(t.shape);
    }
  }
  if (model.is_constant(t)) {
    const size_t want = storage_bytes(q, static_cast<size_t>(t.element_count()));
    if (model.buffers[t.buffer].size != want) {
      return "its buffer holds " + std::to_string(model.buffers[t.buffer].size) +
             " bytes, expected " + std::to_string(want) + " for shape " + shape_text(t.shape) +
             " of " + qi.name;
    }
  }
  if (!json_writable(t.name)) return "its name is not valid UTF-8, so it cannot be a JSON key";
  return "";
}

// An uncompressed .npz (numpy.savez's layout) of the npy files given; libzip writes it to a
// temporary file and renames it on zip_close.
void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members) {
  int code = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (z == nullptr) throw Error("output file '" + path + "': cannot create the npz archive");
  for (const auto& [name, file] : members) {
    zip_source_t* src = zip_source_file(z, file.c_str(), 0, -1);
    const zip_int64_t i =
        src ? zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE) : -1;
    if (i < 0) {
      if (src) zip_source_free(src);
      const std::string why = zip_strerror(z);
      zip_discard(z);
      throw Error("output file '" + path + "': cannot add '" + name + "': " + why);
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
  }
  if (zip_close(z) != 0) {
    const std::string why = zip_strerror(z);
    zip_discard(z);
    throw Error("output file '" + path + "': cannot write: " + why);
  }
}

}  // namespace

void make_directory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  if (std::filesystem::exists(dir, ec))
    throw Error("output directory '" + dir + "': exists and is not a directory");
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("output directory '" + dir + "': cannot create: " + ec.message());
}

ExtractResult extract(const ExtractOptions& options) {
  auto file = ModelFile::open(options.input);
  const ModelInfo& model = file->info();
  const TensorResolver resolver(model);
  std::optional<NamePattern> pattern;
  if (!options.tensors.empty()) {
    pattern = NamePattern::parse(options.tensors, NamePattern::Kind::Glob,
                                 "tensor filter '" + options.tensors + "'");
  }

  ExtractResult result;
  result.format = model.format;
  std::vector<Candidate> chosen;
  std::vector<std::string> quantized_names;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const auto& tensors = model.subgraphs[s].tensors;
    for (uint32_t i = 0; i < tensors.size(); ++i) {
      const TensorInfo& t = tensors[i];
      if (t.quant.scale.empty()) continue;
      const auto q = qtype_of(t.type);
      if (!q) {
        // Quantized, but in a type the implant does not write (uint16, float16, ...).
        if (t.type != TensorType::Float32) {
          if (!pattern || t.name == options.tensors || pattern->matches(t.name)) {
            result.skipped.push_back({t.name, s,
                                      "its type " + tensor_type_name(model.format, t.type) +
                                          " is not one of " + qtype_names()});
          }
        }
        continue;
      }
      quantized_names.push_back(t.name);
      if (pattern && t.name != options.tensors && !pattern->matches(t.name)) continue;
      const std::string why = unusable(model, t, *q);
      if (!why.empty()) {
        result.skipped.push_back({t.name, s, why});
        continue;
      }
      Candidate c{{s, i}, *q, t.name, model.is_constant(t)};
      const auto& same = resolver.find(t.name);
      if (same.size() > 1) {
        size_t here = 0;
        for (const auto& r : same) here += r.subgraph == s;
        if (here > 1) {
          result.skipped.push_back({t.name, s,
                                    "subgraph " + std::to_string(s) + " has " +
                                        std::to_string(here) +
                                        " tensors of this name, so no key can name this one"});
          continue;
        }
        c.key = "#" + std::to_string(s) + ":" + t.name;
        if (!resolver.find(c.key).empty()) {
          result.skipped.push_back(
              {t.name, s, "its qualified key '" + c.key + "' is also the name of another tensor"});
          continue;
        }
      }
      chosen.push_back(std::move(c));
    }
  }
  if (chosen.empty()) {
    std::string why;
    if (quantized_names.empty()) {
      why = "has no quantized tensors (" + qtype_names() + " with a scale); nothing to extract";
    } else if (pattern) {
      const auto near = closest_names(options.tensors, quantized_names, 5);
      std::string hint;
      for (const auto& n : near) hint += (hint.empty() ? "'" : ", '") + n + "'";
      why = "has " + std::to_string(quantized_names.size()) +
            " quantized tensor(s), but none that can be extracted matches '" + options.tensors +
            "'" + (hint.empty() ? std::string() : "; closest names: " + hint);
    } else {
      why = "has no quantized tensor whose parameters the implant could take back";
    }
    for (const auto& s : result.skipped) why += "\n  skipped '" + s.tensor + "': " + s.reason;
    throw Error("model file '" + options.input + "' " + why);
  }

  // Constants keep their slots in model order, but take them in buffer order (see header).
  std::vector<size_t> slots;
  std::vector<Candidate> constants;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (!chosen[i].constant) continue;
    slots.push_back(i);
    constants.push_back(chosen[i]);
  }
  std::stable_sort(constants.begin(), constants.end(), [&](const Candidate& a, const Candidate& b) {
    return model.tensor(a.ref.subgraph, a.ref.tensor).buffer <
           model.tensor(b.ref.subgraph, b.ref.tensor).buffer;
  });
  for (size_t k = 0; k < slots.size(); ++k) chosen[slots[k]] = constants[k];

  make_directory(options.outdir);
  const std::string dir = options.outdir.empty() ? "." : options.outdir;
  json root = json::object();
  std::vector<std::pair<std::string, std::string>> npz_members;  // --compact: name, npy file
  for (const Candidate& c : chosen) {
    const TensorInfo& t = model.tensor(c.ref.subgraph, c.ref.tensor);
    const QTypeInfo& qi = qtype_info(c.qtype);
    const std::string stem =
        "s" + std::to_string(c.ref.subgraph) + "_t" + std::to_string(c.ref.tensor) + "_";
    const std::vector<int64_t> channels{static_cast<int64_t>(t.quant.scale.size())};
    json e;
    e["dtype"] = qi.name;
    if (options.compact) {
      // Inline numbers: a float32 printed as the shortest double that reads back as itself.
      json scales = json::array(), zeros = json::array();
      for (float v : t.quant.scale) scales.push_back(static_cast<double>(v));
      for (int64_t v : t.quant.zero_point) zeros.push_back(v);
      e["scale"] = std::move(scales);
      e["zerop"] = std::move(zeros);
    } else {
      npy::save(dir + "/" + stem + "scale.npy", t.quant.scale, channels);
      e["scale"] = stem + "scale.npy";
      npy::save(dir + "/" + stem + "zerop.npy", t.quant.zero_point, channels);
      e["zerop"] = stem + "zerop.npy";
      result.npy_files += 2;
    }
    // Out of range only for a per-tensor dimension the runtime ignores; the implant wants 0.
    const int32_t dim = t.quant.quantized_dimension;
    const bool dim_ok = dim == 0 || (dim > 0 && dim < static_cast<int32_t>(t.shape.size()));
    e["quantized_dimension"] = dim_ok ? dim : 0;
    if (c.constant) {
      const BufferInfo& b = model.buffers[t.buffer];
      const std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
      const std::string path = dir + "/" + stem + "value.npy";
      if (is_4bit(c.qtype)) {
        const size_t count = static_cast<size_t>(t.element_count());
        std::vector<uint8_t> unpacked(count);
        if (c.qtype == QType::Int4) {
          unpack_int4(b.data, count, reinterpret_cast<int8_t*>(unpacked.data()));
        } else {
          unpack_uint4(b.data, count, unpacked.data());
        }
        npy::save(path, npy_descr(c.qtype), shape, unpacked.data(), unpacked.size());
      } else {
        npy::save(path, npy_descr(c.qtype), shape, b.data, b.size);
      }
      if (options.compact) {
        npz_members.push_back({stem + "value", path});
        e["value"] = "values.npz:" + stem + "value";
      } else {
        e["value"] = stem + "value.npy";
        result.npy_files += 1;
      }
    }
    root[c.key] = std::move(e);
    result.tensors.push_back(
        {c.key, c.ref.subgraph, c.ref.tensor, qi.name, t.quant.scale.size(), c.constant});
  }

  if (!npz_members.empty()) {
    write_npz(dir + "/values.npz", npz_members);
    for (const auto& m : npz_members) std::filesystem::remove(m.second);
    result.npy_files += 1;
  }
  result.qparam_path = dir + "/qparam.json";
  AtomicFile out(result.qparam_path);
  const std::string text = root.dump(2) + "\n";
  out.write(text.data(), text.size());
  out.commit();
  return result;
}

}  // namespace qimplant
