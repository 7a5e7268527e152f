#include "write/model_writer.h"

#include <algorithm>

#include "io/atomic_file.h"
#include "model/schema.h"
#include "util/error.h"

namespace qimplant {

namespace {

constexpr size_t kMaxFlatBufferSize = 0x7fffffff;
constexpr size_t kBufferAlignment = 16;  // what the TFLite converter and luci use for data

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
flatbuffers::DetachedBuffer build(const ModelFile& input, const EditPlan& plan) {
  using S = Schema<F>;
  const auto* model = S::root(input.file().data());
  const ModelInfo& info = input.info();

  size_t estimate = input.flatbuffer_size() + 1024;
  for (const auto& [index, content] : plan.buffers) estimate += content.size() + kBufferAlignment;
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
    } else if (old && old->offset() > 1) {
      throw Error("model file '" + input.path() + "': buffer " + std::to_string(i) +
                  " is stored outside the FlatBuffer (offset/size); writing such models is not "
                  "supported yet");
    } else if (old && old->data()) {
      data = old->data()->data();
      size = old->data()->size();
      has_data = true;
    }
    if (size > kMaxFlatBufferSize - fbb.GetSize()) {
      throw Error("output model would exceed the 2 GB FlatBuffer limit; external buffer layout "
                  "is not supported yet");
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
    typename S::BufferBuilder b(fbb);
    if (has_data) b.add_data(vec);
    if (old) {
      b.add_offset(old->offset());
      b.add_size(old->size());
    }
    buffers.push_back(b.Finish());
  }
  auto buffers_vec = fbb.CreateVector(buffers);

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::SubGraph>>> subgraphs_vec;
  if (const auto* subgraphs = model->subgraphs()) {
    std::vector<flatbuffers::Offset<typename S::SubGraph>> subgraphs_out;
    for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
      std::unique_ptr<typename S::SubGraphT> sg(subgraphs->Get(s)->UnPack());
      for (auto it = plan.tensors.lower_bound({s, 0});
           it != plan.tensors.end() && it->first.subgraph == s; ++it) {
        apply_edit<F>(*sg->tensors.at(it->first.tensor), it->second);
      }
      subgraphs_out.push_back(S::SubGraph::Pack(fbb, sg.get()));
    }
    subgraphs_vec = fbb.CreateVector(subgraphs_out);
  }

  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<typename S::OperatorCode>>> codes_vec;
  if (const auto* codes = model->operator_codes()) {
    std::vector<flatbuffers::Offset<typename S::OperatorCode>> out;
    for (const auto* c : *codes) {
      std::unique_ptr<typename S::OperatorCodeT> t(c->UnPack());
      out.push_back(S::OperatorCode::Pack(fbb, t.get()));
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
  if (model->operator_codes()) mb.add_operator_codes(codes_vec);
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
    throw Error("internal error: the output model fails FlatBuffers verification; nothing was "
                "written");
  }
  return fbb.Release();
}

}  // namespace

size_t write_model(const ModelFile& input, const EditPlan& plan, const std::string& output_path) {
  flatbuffers::DetachedBuffer out = input.format() == Format::Circle
                                        ? build<Format::Circle>(input, plan)
                                        : build<Format::TFLite>(input, plan);
  AtomicFile file(output_path);
  file.write(out.data(), out.size());
  file.commit();
  return out.size();
}

}  // namespace qimplant
