// Reading arrays out of NumPy .npz archives (np.savez / np.savez_compressed: a zip of .npy files).
//
// The archive is read with libzip (stored and deflated members); each member is decompressed
// into memory and parsed by npy::load, so it is checked exactly as an .npy file on disk. Errors
// name the archive and the member: "npz file 'w.npz': member 'conv1.weight': ...".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/npy.h"

namespace qimplant {

class NpzArchive {
 public:
  static std::shared_ptr<NpzArchive> open(const std::string& path);
  ~NpzArchive();
  NpzArchive(const NpzArchive&) = delete;
  NpzArchive& operator=(const NpzArchive&) = delete;

  // `name` as np.savez keys it ("conv1.weight"); the ".npy" suffix of the member is optional.
  // A missing member is an error listing the closest member names.
  npy::Array member(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }  // without ".npy"
  const std::string& path() const { return path_; }

 private:
  NpzArchive() = default;
  std::string path_;
  void* zip_ = nullptr;  // zip_t*, kept out of the header
  std::vector<std::string> names_;
};

// Splits "weights.npz:conv1.weight" into the archive and the member; false when `ref` does not
// name an npz member (no ".npz:" in it).
bool split_npz_ref(const std::string& ref, std::string* archive, std::string* member);

// Opens each archive once for a whole qparam.json.
class NpzCache {
 public:
  const NpzArchive& get(const std::string& path);

 private:
  std::map<std::string, std::shared_ptr<NpzArchive>> open_;
};

}  // namespace qimplant
