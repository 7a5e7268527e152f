#include "write/model_writer.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "io/atomic_file.h"
#include "model/schema.h"
#include "plan/structure.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr size_t kMaxFlatBufferSize = 0x7fffffff;
constexpr size_t kBufferAlignment = 16;  // what the TFLite converter and luci use for data

// The external ("offset/size") layout, as the two converters write it (read in their sources,
// not copied):
// - TFLite: tensorflow/compiler/mlir/lite/flatbuffer_export.cc (Translator) builds each constant
//   Buffer as a placeholder with no data and offset = 1, size = 1 (so both uint64 fields are
//   present in the table), finishes the FlatBuffer, pads it to a 16-byte boundary, appends each
//   buffer's bytes followed by padding to the next 16-byte boundary (identical buffers once,
//   by fingerprint), then 16 zero bytes "for XNNPack" after the last buffer and a final 16-byte
//   pad, and patches every Buffer's offset (from the start of the file) and size in place
//   (UpdateBufferOffsets, mutate_offset / mutate_size). It switches to this layout when a buffer
//   or the finished model would pass flatbuffer_size_max = 2^31 (tensorflow/lite/core/macros.h).
// - ONE: compiler/luci/export/src/CircleExporterImpl.cpp (finalizeWithExtendedBuffer) does the
//   same for circle: FlatBuffer, pad to 16, then each buffer's data padded to 16, patching
//   Buffer.offset / Buffer.size with mutate_offset / mutate_size; it retries in this layout when
//   the model passes the size limit (check_size_limit).
// - Readers take offset > 1 as "external" (0 and the placeholder 1 mean inline). TFLite's
//   FlatBufferModel (tensorflow/lite/core/model_builder.cc) runs the verifier only on files under
//   flatbuffer_size_max, and nothing records where the FlatBuffer ends: data simply starts at
//   the offsets. q-implant's reader verifies the FlatBuffer up to the first external offset.
// q-implant writes the same layout: placeholders of 1 in the builder (uint64 table fields are
// fixed-width, so patching in place after Finish cannot change the FlatBuffer's size), offsets
// assigned once the size is known, data streamed after it. Untouched blocks that several buffers
// share (TFLite's dedup) stay shared.

// Thrown by build() when the inline result would pass the FlatBuffers limit (Auto then retries in
// the external layout; Inline reports it).
struct InlineTooLarge {
  size_t needed;
};

// One buffer whose bytes go after the FlatBuffer: new contents from the plan, or bytes already in
// the input mapping.
struct Placement {
  uint32_t index = 0;
  const BufferContent* content = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t offset = 0;
  bool shared = false;  // same input bytes as an earlier placement: points at its copy
};

uint64_t align_up(uint64_t n) {
  return (n + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
}

// The output's buffer sizes in order: the plan's new contents, else the input's.
size_t output_buffer_size(const ModelInfo& info, const EditPlan& plan, size_t i) {
  auto edited = plan.buffers.find(static_cast<uint32_t>(i));
  if (edited != plan.buffers.end()) return edited->second.size();
  return i < info.buffers.size() ? info.buffers[i].size : 0;
}

// Bytes of the FlatBuffer that are not buffer data (tables, names, shapes, quantization), with
// room for what the plan adds; generous on purpose.
size_t metadata_estimate(const ModelFile& input, const EditPlan& plan) {
  size_t inline_data = 0;
  for (const BufferInfo& b : input.info().buffers)
    if (!b.external) inline_data += b.size;
  size_t meta = input.flatbuffer_size() > inline_data ? input.flatbuffer_size() - inline_data : 0;
  for (const auto& [ref, edit] : plan.tensors) meta += 128 + edit.quant.scale.size() * 12;
  return meta + (64u << 10);
}

// What the inline result would weigh: metadata plus every buffer's data, aligned.
size_t inline_estimate(const ModelFile& input, const EditPlan& plan) {
  size_t total = metadata_estimate(input, plan);
  const size_t count = input.info().buffers.size() + plan.appended_buffers;
  for (size_t i = 0; i < count; ++i)
    total += output_buffer_size(input.info(), plan, i) + kBufferAlignment;
  return total;
}

// Operators may keep large custom options after the FlatBuffer too (large_custom_options_offset);
// those offsets would need the same relocation, which is not done yet.
template <Format F>
void refuse_external_custom_options(const ModelFile& input) {
  const auto* model = Schema<F>::root(input.file().data());
  if (!model->subgraphs()) return;
  for (flatbuffers::uoffset_t s = 0; s < model->subgraphs()->size(); ++s) {
    const auto* ops = model->subgraphs()->Get(s)->operators();
    if (!ops) continue;
    for (flatbuffers::uoffset_t o = 0; o < ops->size(); ++o) {
      if (ops->Get(o)->large_custom_options_offset() > 1) {
        throw Error("model file '" + input.path() + "': subgraph " + std::to_string(s) +
                    " operator " + std::to_string(o) +
                    " keeps its custom options outside the FlatBuffer "
                    "(large_custom_options_offset " +
                    std::to_string(ops->Get(o)->large_custom_options_offset()) +
                    "); writing such models is not supported yet");
      }
    }
  }
}

// Writes the final offset and size into each placeholder Buffer table of the finished FlatBuffer.
template <Format F>
void patch_offsets(flatbuffers::DetachedBuffer& fb, const std::vector<Placement>& placements) {
  using S = Schema<F>;
  uint8_t* base = fb.data();
  const auto* buffers = S::root(base)->buffers();
  for (const Placement& p : placements) {
    // The generated Buffer is a flatbuffers::Table (a private base, same address).
    const auto* table = reinterpret_cast<const flatbuffers::Table*>(buffers->Get(p.index));
    const std::pair<flatbuffers::voffset_t, uint64_t> fields[] = {
        {S::Buffer::VT_OFFSET, p.offset}, {S::Buffer::VT_SIZE, static_cast<uint64_t>(p.size)}};
    for (const auto& [field, value] : fields) {
      const uint8_t* at = table->GetAddressOf(field);
      if (!at) {
        throw Error("internal error: buffer " + std::to_string(p.index) +
                    " has no offset/size field to patch; nothing was written");
      }
      flatbuffers::WriteScalar<uint64_t>(base + (at - base), value);
    }
  }
}

template <Format F>
void apply_edit(typename Schema<F>::TensorT& t, const TensorEdit& e) {
  t.type = static_cast<decltype(t.type)>(e.type);
  if (!t.quantization) t.quantization.reset(new typename Schema<F>::QuantizationParametersT());
  t.quantization->scale = e.quant.scale;
  t.quantization->zero_point = e.quant.zero_point;
  t.quantization->quantized_dimension = e.quant.quantized_dimension;
  if (e.buffer) t.buffer = *e.buffer;
}

template <Format F>
flatbuffers::DetachedBuffer build(const ModelFile& input, const EditPlan& plan, bool external,
                                  std::vector<Placement>* placements, size_t reserve) {
  using S = Schema<F>;
  const auto* model = S::root(input.file().data());
  const ModelInfo& info = input.info();

  size_t estimate = metadata_estimate(input, plan);
  if (!external) {
    for (const auto& [index, content] : plan.buffers) estimate += content.size() + kBufferAlignment;
  }
  flatbuffers::FlatBufferBuilder fbb(std::min(estimate, kMaxFlatBufferSize));

  // Buffers first: the builder fills back to front, so the bulk data lands at the end of the
  // file, after all the metadata, as converters lay it out.
  std::vector<flatbuffers::Offset<typename S::Buffer>> buffers;
  const auto* in_buffers = model->buffers();
  const size_t total = info.buffers.size() + plan.appended_buffers;
  buffers.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    const typename S::Buffer* old = i < info.buffers.size() ? in_buffers->Get(i) : nullptr;
    auto edited = plan.buffers.find(static_cast<uint32_t>(i));
    const BufferContent* content = edited != plan.buffers.end() ? &edited->second : nullptr;
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool has_data = false;
    if (content) {
      size = content->size();
      has_data = true;
    } else if (old && (info.buffers[i].external || old->data())) {
      // Inline or after the FlatBuffer in the input: the reader located (and bounds-checked) it.
      data = info.buffers[i].data;
      size = info.buffers[i].size;
      has_data = true;
    }
    if (external) {
      // Placeholder offset/size of 1 (present, fixed-width), patched once the layout is known.
      if (has_data && size > 0) {
        placements->push_back({static_cast<uint32_t>(i), content, data, size, 0, false});
      }
      typename S::BufferBuilder b(fbb);
      if (has_data && size > 0) {
        b.add_offset(1);
        b.add_size(1);
      }
      buffers.push_back(b.Finish());
      continue;
    }
    if (fbb.GetSize() + reserve + size > kMaxFlatBufferSize) {
      throw InlineTooLarge{inline_estimate(input, plan)};
    }
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> vec;
    if (has_data) {
      fbb.ForceVectorAlignment(size, sizeof(uint8_t), kBufferAlignment);
      if (content) {
        uint8_t* out = nullptr;
        vec = fbb.CreateUninitializedVector(size, sizeof(uint8_t), &out);
        // Each source piece is read once: drop its pages (input mapping or npy file) from RSS.
        const MappedFile& from = content->view ? *content->view->storage : input.file();
        content->write_to(out, [&from](const uint8_t* p, size_t n) {
          if (p >= from.data() && n > 0) from.release(static_cast<size_t>(p - from.data()), n);
        });
      } else {
        vec = fbb.CreateVector(data, size);
        input.file().release(static_cast<size_t>(data - input.file().data()), size);
      }
    }
    // Inline output: data only (an external input's offset/size no longer apply).
    typename S::BufferBuilder b(fbb);
    if (has_data) b.add_data(vec);
    buffers.push_back(b.Finish());
  }
  auto buffers_vec = fbb.CreateVector(buffers);

  // Operator codes for operators the plan adds: reuse the model's, else append new ones.
  const StructureEdit& structure = plan.structure;
  std::vector<std::pair<int32_t, int32_t>> added_codes;  // builtin code, version
  auto opcode_index = [&](int32_t code, int32_t version) -> uint32_t {
    const int32_t existing = find_operator_code(info, code);
    if (existing >= 0) return static_cast<uint32_t>(existing);
    for (size_t k = 0; k < added_codes.size(); ++k)
      if (added_codes[k].first == code)
        return static_cast<uint32_t>(info.operator_codes.size() + k);
    added_codes.emplace_back(code, version);
    return static_cast<uint32_t>(info.operator_codes.size() + added_codes.size() - 1);
  };

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::SubGraph>>> subgraphs_vec;
  if (const auto* subgraphs = model->subgraphs()) {
    std::vector<flatbuffers::Offset<typename S::SubGraph>> subgraphs_out;
    for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
      std::unique_ptr<typename S::SubGraphT> sg(subgraphs->Get(s)->UnPack());
      for (const auto& t : structure.tensors) {
        if (t.subgraph != s) continue;
        auto nt = std::make_unique<typename S::TensorT>();
        nt->name = t.info.name;
        nt->shape = t.info.shape;
        nt->buffer = 0;
        sg->tensors.push_back(std::move(nt));
      }
      for (auto it = plan.tensors.lower_bound({s, 0});
           it != plan.tensors.end() && it->first.subgraph == s; ++it) {
        apply_edit<F>(*sg->tensors.at(it->first.tensor), it->second);
      }
      for (const auto& r : structure.rewires) {
        if (r.subgraph != s) continue;
        auto& op = *sg->operators.at(r.op);
        (r.output ? op.outputs : op.inputs).at(r.slot) = r.tensor;
      }
      std::vector<std::unique_ptr<typename S::OperatorT>> added(structure.operators.size());
      for (size_t k = 0; k < structure.operators.size(); ++k) {
        const auto& o = structure.operators[k];
        if (o.subgraph != s) continue;
        auto& op = added[k];
        op = std::make_unique<typename S::OperatorT>();
        op->opcode_index = opcode_index(o.builtin_code, o.version);
        op->inputs = o.inputs;
        op->outputs = o.outputs;
        if (o.builtin_code == static_cast<int32_t>(S::BuiltinOperator::BuiltinOperator_QUANTIZE))
          op->builtin_options.Set(typename S::QuantizeOptionsT());
        if (o.builtin_code == static_cast<int32_t>(S::BuiltinOperator::BuiltinOperator_DEQUANTIZE))
          op->builtin_options.Set(typename S::DequantizeOptionsT());
      }
      std::vector<std::unique_ptr<typename S::OperatorT>> ordered;
      for (const OperatorSlot& slot : operator_order(sg->operators.size(), structure, s))
        ordered.push_back(std::move((slot.added ? added : sg->operators)[slot.index]));
      sg->operators = std::move(ordered);
      subgraphs_out.push_back(S::SubGraph::Pack(fbb, sg.get()));
    }
    subgraphs_vec = fbb.CreateVector(subgraphs_out);
  }

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::OperatorCode>>> codes_vec;
  if (model->operator_codes() || !added_codes.empty()) {
    std::vector<flatbuffers::Offset<typename S::OperatorCode>> out;
    if (const auto* codes = model->operator_codes()) {
      for (const auto* c : *codes) {
        std::unique_ptr<typename S::OperatorCodeT> t(c->UnPack());
        out.push_back(S::OperatorCode::Pack(fbb, t.get()));
      }
    }
    for (const auto& [code, version] : added_codes) {
      // Old runtimes read only the one-byte field: fill both, with 127 ("see builtin_code")
      // when the code does not fit.
      typename S::OperatorCodeT t;
      t.builtin_code = static_cast<typename S::BuiltinOperator>(code);
      t.deprecated_builtin_code = static_cast<int8_t>(code < 127 ? code : 127);
      t.version = version;
      out.push_back(S::OperatorCode::Pack(fbb, &t));
    }
    codes_vec = fbb.CreateVector(out);
  }

  flatbuffers::Offset<flatbuffers::String> description;
  if (model->description()) description = fbb.CreateString(model->description());

  flatbuffers::Offset<flatbuffers::Vector<int32_t>> metadata_buffer;
  if (const auto* mb = model->metadata_buffer())
    metadata_buffer = fbb.CreateVector(mb->data(), mb->size());

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::Metadata>>> metadata_vec;
  if (const auto* md = model->metadata()) {
    std::vector<flatbuffers::Offset<typename S::Metadata>> out;
    for (const auto* m : *md) {
      std::unique_ptr<typename S::MetadataT> t(m->UnPack());
      out.push_back(S::Metadata::Pack(fbb, t.get()));
    }
    metadata_vec = fbb.CreateVector(out);
  }

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::SignatureDef>>> sigs_vec;
  if (const auto* sigs = model->signature_defs()) {
    std::vector<flatbuffers::Offset<typename S::SignatureDef>> out;
    for (const auto* sd : *sigs) {
      std::unique_ptr<typename S::SignatureDefT> t(sd->UnPack());
      out.push_back(S::SignatureDef::Pack(fbb, t.get()));
    }
    sigs_vec = fbb.CreateVector(out);
  }

  typename S::ModelBuilder mb(fbb);
  mb.add_version(model->version());
  if (model->operator_codes() || !added_codes.empty()) mb.add_operator_codes(codes_vec);
  if (model->subgraphs()) mb.add_subgraphs(subgraphs_vec);
  if (model->description()) mb.add_description(description);
  if (model->buffers() || plan.appended_buffers) mb.add_buffers(buffers_vec);
  if (model->metadata_buffer()) mb.add_metadata_buffer(metadata_buffer);
  if (model->metadata()) mb.add_metadata(metadata_vec);
  if (model->signature_defs()) mb.add_signature_defs(sigs_vec);
  fbb.Finish(mb.Finish(), S::identifier);

  // The edits must have produced a model the readers accept; check before anything is written.
  flatbuffers::Verifier verifier(fbb.GetBufferPointer(), fbb.GetSize(), 128, 100000000);
  if (!S::verify(verifier)) {
    throw Error(
        "internal error: the output model fails FlatBuffers verification; nothing was "
        "written");
  }
  return fbb.Release();
}

}  // namespace

const char* buffer_layout_name(BufferLayout layout) {
  switch (layout) {
    case BufferLayout::Auto:
      return "auto";
    case BufferLayout::Inline:
      return "inline";
    case BufferLayout::External:
      return "external";
  }
  return "?";
}

namespace {

flatbuffers::DetachedBuffer build_any(const ModelFile& input, const EditPlan& plan, bool external,
                                      std::vector<Placement>* placements) {
  const size_t reserve = metadata_estimate(input, plan);
  return input.format() == Format::Circle
             ? build<Format::Circle>(input, plan, external, placements, reserve)
             : build<Format::TFLite>(input, plan, external, placements, reserve);
}

// The FlatBuffer with placeholders, then every placement's bytes at its 16-byte aligned offset,
// streamed: untouched data is copied from the input mapping in slices (its pages dropped as they
// go), each new buffer is made in one reusable scratch buffer and written.
size_t write_external(const ModelFile& input, const EditPlan& plan,
                      const std::string& output_path) {
  std::vector<Placement> placements;
  flatbuffers::DetachedBuffer fb = build_any(input, plan, /*external=*/true, &placements);

  uint64_t at = align_up(fb.size());
  std::map<std::pair<const uint8_t*, size_t>, uint64_t> copied;  // input bytes -> output offset
  for (Placement& p : placements) {
    if (!p.content) {
      auto [it, fresh] = copied.emplace(std::make_pair(p.data, p.size), at);
      if (!fresh) {
        p.offset = it->second;
        p.shared = true;
        continue;
      }
    }
    p.offset = at;
    at = align_up(at + p.size);
  }
  // TFLite's converter leaves 16 zero bytes after the last buffer (XNNPack may read past a
  // weight's end); so does q-implant.
  const uint64_t total = placements.empty() ? at : at + kBufferAlignment;
  if (input.format() == Format::Circle) {
    patch_offsets<Format::Circle>(fb, placements);
  } else {
    patch_offsets<Format::TFLite>(fb, placements);
  }

  AtomicFile file(output_path);
  file.write(fb.data(), fb.size());
  uint64_t written = fb.size();
  static const uint8_t kZeros[kBufferAlignment] = {};
  auto pad_to = [&](uint64_t target) {
    while (written < target) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kBufferAlignment, target - written));
      file.write(kZeros, n);
      written += n;
    }
  };
  constexpr size_t kCopySlice = 8u << 20;
  const MappedFile& in = input.file();
  std::vector<uint8_t> scratch;
  for (const Placement& p : placements) {
    if (p.shared) continue;
    pad_to(p.offset);
    if (p.content) {
      scratch.resize(p.size);
      const MappedFile& from = p.content->view ? *p.content->view->storage : in;
      p.content->write_to(scratch.data(), [&from](const uint8_t* src, size_t n) {
        if (src >= from.data() && n > 0) from.release(static_cast<size_t>(src - from.data()), n);
      });
      file.write(scratch.data(), p.size);
    } else {
      for (size_t done = 0; done < p.size; done += kCopySlice) {
        const size_t n = std::min(kCopySlice, p.size - done);
        file.write(p.data + done, n);
        in.release(static_cast<size_t>(p.data + done - in.data()), n);
      }
    }
    written += p.size;
  }
  pad_to(total);
  file.commit();
  return static_cast<size_t>(total);
}

bool has_external_buffers(const ModelInfo& info) {
  for (const BufferInfo& b : info.buffers)
    if (b.external) return true;
  return false;
}

}  // namespace

size_t write_model(const ModelFile& input, const EditPlan& plan, const std::string& output_path,
                   const WriteOptions& options) {
  if (input.format() == Format::Circle) {
    refuse_external_custom_options<Format::Circle>(input);
  } else {
    refuse_external_custom_options<Format::TFLite>(input);
  }
  bool external = options.buffers == BufferLayout::External;
  if (options.buffers == BufferLayout::Auto) {
    const size_t threshold =
        options.external_threshold ? options.external_threshold : kMaxFlatBufferSize;
    external = has_external_buffers(input.info()) || inline_estimate(input, plan) > threshold;
  }
  if (!external) {
    try {
      flatbuffers::DetachedBuffer out = build_any(input, plan, /*external=*/false, nullptr);
      AtomicFile file(output_path);
      file.write(out.data(), out.size());
      file.commit();
      return out.size();
    } catch (const InlineTooLarge& e) {
      if (options.buffers == BufferLayout::Inline) {
        throw Error("output file '" + output_path +
                    "': with --buffers inline the model would need about " +
                    std::to_string(e.needed) + " bytes, over the FlatBuffers limit of " +
                    std::to_string(kMaxFlatBufferSize) +
                    " bytes; use --buffers external or auto; nothing was written");
      }
    }
  }
  return write_external(input, plan, output_path);
}

}  // namespace qimplant
