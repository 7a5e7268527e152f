#include "write/model_writer.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "io/atomic_file.h"
#include "model/schema.h"
#include "plan/structure.h"
#include "util/error.h"
#include "write/content_stream.h"

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

// One buffer's data, written around the FlatBuffer builder's bytes: new contents from the plan,
// or bytes already in the input. In the external layout it goes after the FlatBuffer; inline, the
// builder holds an uninitialised vector for it (never touched, so never resident) that the
// writer fills from the source while streaming the file.
struct Placement {
  uint32_t index = 0;
  const BufferContent* content = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t offset = 0;                // in the output file
  flatbuffers::uoffset_t vector = 0;  // inline: the data vector's offset from the builder's end
  bool shared = false;                // same bytes as an earlier placement: points at its copy
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

// What the writer cannot copy: operators may keep large custom options after the FlatBuffer
// (large_custom_options_offset), offsets that would need the same relocation, which is not done
// yet; and union fields whose table is missing (see below).
template <Format F>
void refuse_unwritable(const ModelFile& input) {
  const auto* model = Schema<F>::root(input.file().data());
  if (!model->subgraphs()) return;
  for (flatbuffers::uoffset_t s = 0; s < model->subgraphs()->size(); ++s) {
    const auto* ops = model->subgraphs()->Get(s)->operators();
    for (flatbuffers::uoffset_t o = 0; ops && o < ops->size(); ++o) {
      const auto* op = ops->Get(o);
      // The verifier accepts a union whose type is set but whose table is absent; the object API
      // the writer copies subgraphs with (UnPack, then Pack) dereferences the missing table.
      const auto missing = [&](const std::string& field, const char* type) {
        return Error("model file '" + input.path() + "': subgraph " + std::to_string(s) +
                     " operator " + std::to_string(o) + ": " + field + "_type is " + type +
                     " but the " + field +
                     " table is absent; the model cannot be rewritten "
                     "(set " +
                     field + "_type to NONE or give the table)");
      };
      if (op->builtin_options_type() != decltype(op->builtin_options_type())(0) &&
          !op->builtin_options())
        throw missing("builtin_options", EnumNameBuiltinOptions(op->builtin_options_type()));
      if (op->builtin_options_2_type() != decltype(op->builtin_options_2_type())(0) &&
          !op->builtin_options_2())
        throw missing("builtin_options_2", EnumNameBuiltinOptions2(op->builtin_options_2_type()));
      if (op->large_custom_options_offset() > 1) {
        throw Error("model file '" + input.path() + "': subgraph " + std::to_string(s) +
                    " operator " + std::to_string(o) +
                    " keeps its custom options outside the FlatBuffer "
                    "(large_custom_options_offset " +
                    std::to_string(ops->Get(o)->large_custom_options_offset()) +
                    "); writing such models is not supported yet");
      }
    }
    const auto* tensors = model->subgraphs()->Get(s)->tensors();
    if (!tensors) continue;
    for (flatbuffers::uoffset_t t = 0; t < tensors->size(); ++t) {
      const auto* tensor = tensors->Get(t);
      const auto missing = [&](const std::string& field, const char* type) {
        return Error("model file '" + input.path() + "': subgraph " + std::to_string(s) +
                     " tensor " + std::to_string(t) + ": " + field + "_type is " + type +
                     " but the " + field +
                     " table is absent; the model cannot be rewritten "
                     "(set " +
                     field + "_type to NONE or give the table)");
      };
      if (const auto* q = tensor->quantization()) {
        if (q->details_type() != decltype(q->details_type())(0) && !q->details())
          throw missing("quantization.details", EnumNameQuantizationDetails(q->details_type()));
      }
      const auto* sparsity = tensor->sparsity();
      if (!sparsity || !sparsity->dim_metadata()) continue;
      for (const auto* dm : *sparsity->dim_metadata()) {
        if (!dm) continue;
        if (dm->array_segments_type() != decltype(dm->array_segments_type())(0) &&
            !dm->array_segments())
          throw missing("sparsity.dim_metadata.array_segments",
                        EnumNameSparseIndexVector(dm->array_segments_type()));
        if (dm->array_indices_type() != decltype(dm->array_indices_type())(0) &&
            !dm->array_indices())
          throw missing("sparsity.dim_metadata.array_indices",
                        EnumNameSparseIndexVector(dm->array_indices_type()));
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
void set_quant(typename Schema<F>::TensorT& t, const QuantParams& quant) {
  if (!t.quantization) t.quantization.reset(new typename Schema<F>::QuantizationParametersT());
  t.quantization->scale = quant.scale;
  t.quantization->zero_point = quant.zero_point;
  t.quantization->quantized_dimension = quant.quantized_dimension;
}

template <Format F>
void apply_edit(typename Schema<F>::TensorT& t, const TensorEdit& e) {
  t.type = static_cast<decltype(t.type)>(e.type);
  set_quant<F>(t, e.quant);
  if (e.buffer) t.buffer = *e.buffer;
}

template <Format F>
flatbuffers::DetachedBuffer build(const ModelFile& input, const EditPlan& plan, bool external,
                                  std::vector<Placement>* placements, size_t reserve) {
  using S = Schema<F>;
  const auto* model = S::root(input.file().data());
  const ModelInfo& info = input.info();

  // Inline, room for every data vector: the builder must never grow, since growing copies (and
  // so touches) the uninitialised data vectors.
  const size_t estimate = external ? metadata_estimate(input, plan) : inline_estimate(input, plan);
  flatbuffers::FlatBufferBuilder fbb(std::min(estimate, kMaxFlatBufferSize));

  // Buffers first: the builder fills back to front, so the bulk data lands at the end of the
  // file, after all the metadata, as converters lay it out.
  std::vector<flatbuffers::Offset<typename S::Buffer>> buffers;
  const size_t total = info.buffers.size() + plan.appended_buffers;
  buffers.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    auto edited = plan.buffers.find(static_cast<uint32_t>(i));
    const BufferContent* content = edited != plan.buffers.end() ? &edited->second : nullptr;
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool has_data = false;
    if (content) {
      size = content->size();
      has_data = true;
    } else if (i < info.buffers.size() && info.buffers[i].data) {
      // Inline or after the FlatBuffer in the input: the reader located (and bounds-checked) it.
      // (Read from the info, not the input's Buffer table: those tables lie between the data
      // and reading them would map the input back in.)
      data = info.buffers[i].data;
      size = info.buffers[i].size;
      has_data = true;
    }
    if (external) {
      // Placeholder offset/size of 1 (present, fixed-width), patched once the layout is known.
      if (has_data && size > 0)
        placements->push_back({static_cast<uint32_t>(i), content, data, size});
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
      uint8_t* unused = nullptr;
      vec = fbb.CreateUninitializedVector(size, sizeof(uint8_t), &unused);
      if (size > 0)
        placements->push_back({static_cast<uint32_t>(i), content, data, size, 0, vec.o});
    }
    // Inline output: data only (an external input's offset/size no longer apply).
    typename S::BufferBuilder b(fbb);
    if (has_data) b.add_data(vec);
    buffers.push_back(b.Finish());
  }
  auto buffers_vec = fbb.CreateVector(buffers);

  // Operator codes for operators the plan adds: reuse the model's, else append new ones.
  const StructureEdit& structure = plan.structure;
  std::vector<OperatorCodeInfo> added_codes;
  const std::vector<uint32_t> added_opcode = added_operator_codes(info, structure, added_codes);
  auto code_version = [&](size_t index, int32_t own) {
    return index < plan.operator_versions.size() ? plan.operator_versions[index] : own;
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
        // As the plan describes it (what the checks read); an edit of it follows.
        nt->type = static_cast<decltype(nt->type)>(t.info.type);
        if (!t.info.quant.empty()) set_quant<F>(*nt, t.info.quant);
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
        op->opcode_index = added_opcode[k];
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
        t->version = code_version(out.size(), t->version);
        out.push_back(S::OperatorCode::Pack(fbb, t.get()));
      }
    }
    for (const OperatorCodeInfo& added : added_codes) {
      const int32_t code = added.builtin_code;
      // Old runtimes read only the one-byte field: fill both, with 127 ("see builtin_code")
      // when the code does not fit.
      typename S::OperatorCodeT t;
      t.builtin_code = static_cast<typename S::BuiltinOperator>(code);
      t.deprecated_builtin_code = static_cast<int8_t>(code < 127 ? code : 127);
      t.version = code_version(out.size(), added.version);
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

// Two new contents that are sure to give the same bytes without reading them: the same float
// data quantized alike, or small owned bytes. (Equal `value` files are not compared: that would
// read both.)
bool same_new_bytes(const BufferContent& a, const BufferContent& b) {
  if (a.view || b.view) return false;
  return a.same_bytes(b);
}

// Gives each placement its offset after the FlatBuffer: every block on a 16-byte boundary;
// untouched input blocks that several buffers share, and equal new contents, written once.
// Returns the end of the data, before the final 16 zero bytes.
uint64_t lay_out_external(std::vector<Placement>& placements, uint64_t start) {
  uint64_t at = align_up(start);
  std::map<std::pair<const uint8_t*, size_t>, uint64_t> copied;  // input bytes -> output offset
  std::map<size_t, std::vector<const Placement*>> made;          // new contents by size
  for (Placement& p : placements) {
    if (!p.content) {
      auto [it, fresh] = copied.emplace(std::make_pair(p.data, p.size), at);
      if (!fresh) {
        p.offset = it->second;
        p.shared = true;
        continue;
      }
    } else {
      std::vector<const Placement*>& same_size = made[p.size];
      auto earlier = std::find_if(same_size.begin(), same_size.end(), [&](const Placement* q) {
        return same_new_bytes(*q->content, *p.content);
      });
      if (earlier != same_size.end()) {
        p.offset = (*earlier)->offset;
        p.shared = true;
        continue;
      }
      same_size.push_back(&p);
    }
    p.offset = at;
    at = align_up(at + p.size);
  }
  return at;
}

// Streams the output file: the builder's bytes `fb` where no placement is, each placement's data
// at its offset (new contents slice by slice, untouched input bytes copied by the kernel where it
// can, else from the mapping), zero padding between blocks past the FlatBuffer, up to `total`.
class OutputStream {
 public:
  OutputStream(const ModelFile& input, const WriteOptions& options, AtomicFile& file)
      : input_(input), options_(options), file_(file), streamer_(options.threads) {}

  void write(const uint8_t* fb, size_t fb_size, std::vector<const Placement*> blocks,
             uint64_t total) {
    std::sort(blocks.begin(), blocks.end(),
              [](const Placement* a, const Placement* b) { return a->offset < b->offset; });
    // The line is cleared on every exit, so that an error message starts on a clean line.
    struct ClearOnExit {
      Progress* progress;
      ~ClearOnExit() {
        if (progress) progress->finish();
      }
    } clear{options_.progress};
    if (options_.progress) options_.progress->set_total(blocks.size(), total);
    for (size_t k = 0; k < blocks.size(); ++k) {
      const Placement& p = *blocks[k];
      fill_to(fb, fb_size, p.offset);
      if (p.content) {
        streamer_.stream(*p.content, input_.file(), [this](const uint8_t* data, size_t n) {
          put(data, n);
          report(blocks_done_);
        });
      } else {
        copy_input(p.data, p.size);
      }
      report(++blocks_done_);
    }
    fill_to(fb, fb_size, total);
  }

 private:
  void put(const uint8_t* data, size_t n) {
    file_.write(data, n);
    at_ += n;
  }

  void report(size_t blocks) {
    if (options_.progress) options_.progress->update(blocks, at_);
  }

  // Builder bytes up to `target` while they last, zeros after them.
  void fill_to(const uint8_t* fb, size_t fb_size, uint64_t target) {
    static const uint8_t kZeros[4096] = {};
    if (at_ < fb_size)
      put(fb + at_, static_cast<size_t>(std::min<uint64_t>(target, fb_size) - at_));
    while (at_ < target)
      put(kZeros, static_cast<size_t>(std::min<uint64_t>(sizeof kZeros, target - at_)));
  }

  // Untouched input bytes: copy_file_range from the input's descriptor (the bytes never enter
  // this process), falling back to writes from the mapping for whatever the kernel did not copy.
  void copy_input(const uint8_t* data, size_t size) {
    const MappedFile& in = input_.file();
    const size_t offset = static_cast<size_t>(data - in.data());
    size_t done = 0;
    if (options_.kernel_copy && in.fd() >= 0) {
      done = file_.copy_from(in.fd(), offset, size);
      at_ += done;
      report(blocks_done_);
    }
    constexpr size_t kSlice = 8u << 20;
    while (done < size) {
      const size_t n = std::min(kSlice, size - done);
      in.prefetch(offset + done, n);
      put(data + done, n);
      in.release(offset + done, n);
      done += n;
      report(blocks_done_);
    }
  }

  const ModelFile& input_;
  const WriteOptions& options_;
  AtomicFile& file_;
  ContentStreamer streamer_;
  uint64_t at_ = 0;
  size_t blocks_done_ = 0;
};

bool has_external_buffers(const ModelInfo& info) {
  for (const BufferInfo& b : info.buffers)
    if (b.external) return true;
  return false;
}

// The FlatBuffer with placeholders, then every placement's bytes at its 16-byte aligned offset.
size_t write_external(const ModelFile& input, const EditPlan& plan, const std::string& output_path,
                      const WriteOptions& options) {
  std::vector<Placement> placements;
  flatbuffers::DetachedBuffer fb = build_any(input, plan, /*external=*/true, &placements);
  const uint64_t end = lay_out_external(placements, fb.size());
  // TFLite's converter leaves 16 zero bytes after the last buffer (XNNPack may read past a
  // weight's end); so does q-implant.
  const uint64_t total = placements.empty() ? end : end + kBufferAlignment;
  if (input.format() == Format::Circle) {
    patch_offsets<Format::Circle>(fb, placements);
  } else {
    patch_offsets<Format::TFLite>(fb, placements);
  }
  std::vector<const Placement*> blocks;
  for (const Placement& p : placements)
    if (!p.shared) blocks.push_back(&p);
  AtomicFile file(output_path);
  OutputStream(input, options, file).write(fb.data(), fb.size(), std::move(blocks), total);
  file.commit();
  return static_cast<size_t>(total);
}

// The FlatBuffer with every data vector left uninitialised, written with the data filled in.
size_t write_inline(const ModelFile& input, const EditPlan& plan, const std::string& output_path,
                    const WriteOptions& options) {
  std::vector<Placement> placements;
  flatbuffers::DetachedBuffer fb = build_any(input, plan, /*external=*/false, &placements);
  std::vector<const Placement*> blocks;
  for (Placement& p : placements) {
    // An Offset counts from the end of the finished buffer; the data follows the length field.
    p.offset = fb.size() - p.vector + sizeof(flatbuffers::uoffset_t);
    blocks.push_back(&p);
  }
  AtomicFile file(output_path);
  OutputStream(input, options, file).write(fb.data(), fb.size(), std::move(blocks), fb.size());
  file.commit();
  return fb.size();
}

}  // namespace

size_t write_model(const ModelFile& input, const EditPlan& plan, const std::string& output_path,
                   const WriteOptions& options) {
  if (input.format() == Format::Circle) {
    refuse_unwritable<Format::Circle>(input);
  } else {
    refuse_unwritable<Format::TFLite>(input);
  }
  bool external = options.buffers == BufferLayout::External;
  if (options.buffers == BufferLayout::Auto) {
    const size_t threshold =
        options.external_threshold ? options.external_threshold : kMaxFlatBufferSize;
    external = has_external_buffers(input.info()) || inline_estimate(input, plan) > threshold;
  }
  if (!external) {
    try {
      return write_inline(input, plan, output_path, options);
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
  return write_external(input, plan, output_path, options);
}

}  // namespace qimplant
