#include "io/npz.h"

#include <zip.h>

#include <algorithm>

#include "io/mapped_file.h"
#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

namespace {

zip_t* as_zip(void* p) {
  return static_cast<zip_t*>(p);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::shared_ptr<NpzArchive> NpzArchive::open(const std::string& path) {
  // Mapped first so that a missing file, a directory or a FIFO gets the usual message.
  MappedFile::open(path, "npz file");
  int code = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (z == nullptr) {
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    const std::string why = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw Error("npz file '" + path + "': not a readable zip archive (" + why +
                "); expected an archive written by numpy.savez");
  }
  std::shared_ptr<NpzArchive> a(new NpzArchive());
  a->path_ = path;
  a->zip_ = z;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    std::string s = name;
    if (ends_with(s, ".npy")) s.resize(s.size() - 4);
    a->names_.push_back(s);
  }
  return a;
}

NpzArchive::~NpzArchive() {
  if (zip_ != nullptr) zip_discard(as_zip(zip_));
}

npy::Array NpzArchive::member(const std::string& name) const {
  zip_t* z = as_zip(zip_);
  const std::string label = path_ + ":" + name;
  zip_int64_t index = zip_name_locate(z, (name + ".npy").c_str(), 0);
  if (index < 0) index = zip_name_locate(z, name.c_str(), 0);
  if (index < 0) {
    auto best = closest_names(name, names_, 3);
    if (best.empty())
      best.assign(names_.begin(), names_.begin() + std::min<size_t>(names_.size(), 5));
    std::string hint;
    for (const auto& b : best) hint += (hint.empty() ? "" : ", ") + ("'" + b + "'");
    throw Error("npz file '" + path_ + "': no member '" + name + "'" +
                (hint.empty() ? std::string(" (the archive is empty)") : "; closest: " + hint));
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &st) != 0 ||
      !(st.valid & ZIP_STAT_SIZE)) {
    throw Error("npz file '" + path_ + "': member '" + name + "': cannot read its size (" +
                zip_strerror(z) + ")");
  }
  zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0);
  if (f == nullptr) {
    throw Error("npz file '" + path_ + "': member '" + name + "': cannot open (" + zip_strerror(z) +
                ")");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
  const zip_int64_t got = bytes.empty() ? 0 : zip_fread(f, bytes.data(), bytes.size());
  const std::string why = got < 0 ? zip_file_strerror(f) : "";
  zip_fclose(f);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) {
    throw Error("npz file '" + path_ + "': member '" + name + "': truncated or corrupt (" +
                (why.empty()
                     ? "read " + std::to_string(got) + " of " + std::to_string(st.size) + " bytes"
                     : why) +
                ")");
  }
  return npy::load(MappedFile::from_bytes(label, std::move(bytes)), label);
}

bool split_npz_ref(const std::string& ref, std::string* archive, std::string* member) {
  const auto at = ref.find(".npz:");
  if (at == std::string::npos) return false;
  *archive = ref.substr(0, at + 4);
  *member = ref.substr(at + 5);
  return true;
}

const NpzArchive& NpzCache::get(const std::string& path) {
  auto it = open_.find(path);
  if (it == open_.end()) it = open_.emplace(path, NpzArchive::open(path)).first;
  return *it->second;
}

}  // namespace qimplant
