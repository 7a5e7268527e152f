// Opening a model file: map it, recognise the format by its file identifier, verify it with the
// FlatBuffers verifier and describe it as a ModelInfo. Nothing is copied but metadata; buffer
// bytes stay in the mapping for the lifetime of the ModelFile.
#pragma once

#include <memory>
#include <string>

#include "io/mapped_file.h"
#include "model/model.h"

namespace qimplant {

class ModelFile {
 public:
  // Throws Error naming the file for: missing/unreadable file, not a circle/tflite model,
  // truncated or corrupt FlatBuffer, buffers pointing outside the file.
  static std::unique_ptr<ModelFile> open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  Format format() const { return info_.format; }
  const ModelInfo& info() const { return info_; }
  const MappedFile& file() const { return *file_; }
  // Size of the FlatBuffer part (for external-buffer models, data follows it).
  size_t flatbuffer_size() const { return flatbuffer_size_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  ModelInfo info_;
  size_t flatbuffer_size_ = 0;
};

}  // namespace qimplant
