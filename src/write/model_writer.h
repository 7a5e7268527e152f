// Writing the edited model: every part of the input that the plan does not touch is carried
// over as it was (operators and options, operator codes, other tensors and buffers, signature
// defs, metadata, description, version, circle-only fields), in the input's format.
//
// The FlatBuffer part is built in memory without the buffer data (inline, the data vectors are
// left uninitialised and never touched) and verified with the FlatBuffers verifier; the file is
// then streamed: builder bytes, and each buffer's data in slices at its place (inside the
// FlatBuffer, or after it in the external layout), so memory stays bounded by the metadata and a
// few slices whatever the model's size. Untouched buffers are copied by the kernel
// (copy_file_range) where it can. Everything goes through a temporary file renamed over the
// output path, so a failure never leaves a partial file.
#pragma once

#include <cstddef>
#include <string>

#include "model/model_file.h"
#include "plan/edit_plan.h"
#include "util/progress.h"

namespace qimplant {

// Where the output keeps buffer data (see README, "Large models"):
// - Inline: in the FlatBuffer (Buffer.data), 16-byte aligned; the whole file must stay under the
//   FlatBuffers 2 GB limit.
// - External: after the FlatBuffer; each Buffer table holds only offset (from the start of the
//   file) and size, each data block starts on a 16-byte boundary. Needed past 2 GB.
// - Auto: the input's layout (external if any input buffer is external), switching to external
//   when the inline result would pass the limit.
enum class BufferLayout { Auto, Inline, External };
const char* buffer_layout_name(BufferLayout layout);  // "auto" / "inline" / "external"

struct WriteOptions {
  BufferLayout buffers = BufferLayout::Auto;
  // The size above which Auto switches to External; 0 means the FlatBuffers limit. Tests set a
  // small value so that the external layout is exercised without gigabyte files.
  size_t external_threshold = 0;
  // Threads that quantize float data (0: the hardware's count, at most 4); the bytes written
  // are the same for any count.
  unsigned threads = 0;
  // Copy untouched input buffers with copy_file_range(2) where the kernel can (tests turn it
  // off to compare with the plain-write path).
  bool kernel_copy = true;
  // Shown while the data is written, when set (see util/progress.h).
  Progress* progress = nullptr;
};

// Returns the number of bytes written. Throws Error on any failure (nothing is left behind).
size_t write_model(const ModelFile& input, const EditPlan& plan, const std::string& output_path,
                   const WriteOptions& options = {});

}  // namespace qimplant
